//! Why a learned state stays unused, measured on a trained model: whether what a window writes
//! says anything about its stream (the summaries and states of a stream's successive windows,
//! against those of another stream at the same window: what a shuffled state hands over), how
//! much the carried state changes the final residual stream, and the inserted blocks' gates.
//! `recurrent-generator states --run ...` writes it as `state_diagnostics.json`.

use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::error::RecurrentError;
use crate::model::RecurrentLm;
use crate::state::StreamState;

/// What [`state_diagnostics`] measures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateDiagnostics {
    /// The model's recurrence (`model.recurrence`'s spelling).
    pub recurrence: String,
    pub streams: usize,
    pub windows: usize,
    /// Window summaries (the mean of a window's final hidden states, centred on the mean over
    /// every window and stream; what `segment-state` writes from): mean cosine similarity
    /// between a stream's successive windows.
    pub summary_cosine_successive: f64,
    /// The same between stream `s` and stream `s + 1` at the same window.
    pub summary_cosine_other_stream: f64,
    /// The carried state a window reads (flattened, centred as the summaries), from the second
    /// window on: between a stream's successive windows (`None`: a cache, which holds positions,
    /// not a state).
    pub state_cosine_successive: Option<f64>,
    /// The same between stream `s` and stream `s + 1` at the same window.
    pub state_cosine_other_stream: Option<f64>,
    /// From the second window on, the root mean square of (final hidden states reading the
    /// carried state - the same reading the stream's start), relative to the root mean square of
    /// the first: how much of the residual stream the state changes (`None`: nothing carried).
    pub hidden_change: Option<f64>,
    /// Each inserted block's gate (`mult`), in order.
    pub gates: Vec<f64>,
}

/// Reads `ids` as `streams` equal consecutive parts of whole windows (at most `max_windows`
/// each; as evaluation lays them out), the state carried, and measures [`StateDiagnostics`].
pub fn state_diagnostics(
    model: &RecurrentLm,
    ids: &[u32],
    streams: usize,
    max_windows: Option<usize>,
    device: &Device,
) -> Result<StateDiagnostics, RecurrentError> {
    let context = model.context;
    if streams < 2 {
        return Err(RecurrentError::Usage("state diagnostics compare streams: pass at least 2".into()));
    }
    let stream_len = ids.len().saturating_sub(1) / streams;
    let windows = max_windows.map_or(stream_len / context, |most| most.min(stream_len / context));
    if windows < 3 {
        return Err(RecurrentError::Usage(format!(
            "state diagnostics need 3 windows of {context} tokens per stream; the text holds {windows} for {streams} streams"
        )));
    }
    let rows: Vec<i64> = (0..streams)
        .flat_map(|stream| ids[stream * stream_len..][..windows * context].iter().map(|&id| i64::from(id)))
        .collect();
    let inputs: Tensor<2, Int> = Tensor::from_data(TensorData::new(rows, [streams, windows * context]), device);
    let start = model.initial_state(streams, device);
    let mut state = start.clone();
    let (mut summaries, mut states, mut changes) = (Vec::new(), Vec::new(), Vec::new());
    for window in 0..windows {
        let ids = inputs.clone().slice([0..streams, window * context..(window + 1) * context]);
        let pass = model.forward_window(ids.clone(), state.as_ref());
        if window > 0 && model.carries_state() {
            let fresh = model.forward_window(ids, start.as_ref()).hidden;
            changes.push(rms(pass.hidden.clone() - fresh) / rms(pass.hidden.clone()));
            if let Some(flat) = state.as_ref().and_then(flattened) {
                states.push(rows_of(flat)?);
            }
        }
        let [_, _, d_model] = pass.hidden.dims();
        summaries.push(rows_of(pass.hidden.mean_dim(1).reshape([streams, d_model]))?);
        state = pass.next.map(StreamState::detach);
    }
    let (summary_cosine_successive, summary_cosine_other_stream) = successive_and_other(&summaries);
    let (state_cosine_successive, state_cosine_other_stream) = if states.len() >= 2 {
        let (successive, other) = successive_and_other(&states);
        (Some(successive), Some(other))
    } else {
        (None, None)
    };
    let gates = model.inserted.iter().map(|block| block.mult.val().into_scalar::<f32>().into()).collect();
    Ok(StateDiagnostics {
        recurrence: model.recurrence().name().to_string(),
        streams,
        windows,
        summary_cosine_successive,
        summary_cosine_other_stream,
        state_cosine_successive,
        state_cosine_other_stream,
        hidden_change: (!changes.is_empty()).then(|| changes.iter().sum::<f64>() / changes.len() as f64),
        gates,
    })
}

/// A carried vector or memory, one row per stream (`None`: a cache). `[streams, size]`
fn flattened(state: &StreamState) -> Option<Tensor<2>> {
    match state {
        StreamState::Vector(vector) => Some(vector.clone()),
        StreamState::Memory(memory) | StreamState::MemoryTokens(memory) => {
            let [streams, slots, d_model] = memory.dims();
            Some(memory.clone().reshape([streams, slots * d_model]))
        }
        StreamState::PreviousWindow { .. } | StreamState::Cache(_) => None,
    }
}

fn rows_of(tensor: Tensor<2>) -> Result<Vec<Vec<f64>>, RecurrentError> {
    let [_, width] = tensor.dims();
    let values = tensor.try_into_vec_as::<f32>().map_err(|error| RecurrentError::TensorRead(error.to_string()))?;
    Ok(values.chunks(width).map(|row| row.iter().map(|&value| f64::from(value)).collect()).collect())
}

fn rms<const D: usize>(tensor: Tensor<D>) -> f64 {
    f64::from(tensor.powi_scalar(2).mean().into_scalar::<f32>()).sqrt()
}

/// Of `by_window[w][s]` (window `w`, stream `s`) centred on their mean: the mean cosine
/// similarity of `(w, s)` with `(w + 1, s)`, and of `(w, s)` with `(w, s + 1)` (the last stream
/// with the first).
pub fn successive_and_other(by_window: &[Vec<Vec<f64>>]) -> (f64, f64) {
    let count = by_window.iter().map(Vec::len).sum::<usize>().max(1) as f64;
    let width = by_window.first().and_then(|rows| rows.first()).map_or(0, Vec::len);
    let mut mean = vec![0.0; width];
    for row in by_window.iter().flatten() {
        for (total, value) in mean.iter_mut().zip(row) {
            *total += value / count;
        }
    }
    let centred: Vec<Vec<Vec<f64>>> = by_window
        .iter()
        .map(|rows| rows.iter().map(|row| row.iter().zip(&mean).map(|(value, mean)| value - mean).collect()).collect())
        .collect();
    let cosine = |a: &[f64], b: &[f64]| {
        let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
        let norms = a.iter().map(|x| x * x).sum::<f64>().sqrt() * b.iter().map(|y| y * y).sum::<f64>().sqrt();
        if norms > 0.0 { dot / norms } else { 0.0 }
    };
    let average = |pairs: Vec<f64>| pairs.iter().sum::<f64>() / pairs.len().max(1) as f64;
    let successive =
        centred.windows(2).flat_map(|pair| pair[0].iter().zip(&pair[1]).map(|(a, b)| cosine(a, b))).collect();
    let other = centred
        .iter()
        .flat_map(|rows| (0..rows.len()).map(|s| cosine(&rows[s], &rows[(s + 1) % rows.len()])).collect::<Vec<_>>())
        .collect();
    (average(successive), average(other))
}
