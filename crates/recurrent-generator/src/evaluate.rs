//! The final evaluation: the validation text read as parallel streams of consecutive windows,
//! the state carried along each stream (or reset every window), with the loss by window index.

use burn::tensor::{Device, Int, Tensor, TensorData};
use retrofit_core::training::bits_per_byte;
use retrofit_data::lm_batch::LmBatcher;
use serde::{Deserialize, Serialize};

use crate::error::RecurrentError;
use crate::model::RecurrentGpt2;

/// The result of one pass over the evaluated text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamEvaluation {
    pub streams: usize,
    pub windows_per_stream: usize,
    /// Target tokens and their UTF-8 bytes.
    pub tokens: usize,
    pub bytes: usize,
    /// Summed negative log-likelihood (nats).
    pub nll_nats: f64,
    /// Mean NLL per token (nats).
    pub loss: f64,
    pub perplexity: f64,
    pub bits_per_byte: f64,
    /// Mean NLL per token of window `i` of every stream.
    pub loss_by_window: Vec<f64>,
}

/// Evaluates `model` (without autodiff) on `ids` cut into `streams` equal consecutive parts of
/// whole windows (at most `max_windows` each, 0: no limit).
pub fn evaluate_streams(
    model: &RecurrentGpt2,
    ids: &[u32],
    batcher: &LmBatcher,
    streams: usize,
    max_windows: usize,
    reset_state: bool,
    device: &Device,
) -> Result<StreamEvaluation, RecurrentError> {
    let context = model.context;
    let streams = streams.max(1);
    let mut windows = ids.len().saturating_sub(1) / (streams * context);
    if max_windows > 0 {
        windows = windows.min(max_windows);
    }
    if windows == 0 {
        return Err(RecurrentError::Core(retrofit_core::CoreError::Training(format!(
            "the validation split ({} tokens) is shorter than {streams} streams of one window of {context} tokens: lower data.eval_streams or data.context",
            ids.len()
        ))));
    }
    let length = windows * context;
    let (mut inputs, mut targets, mut bytes) = (Vec::with_capacity(streams * length), Vec::with_capacity(streams * length), 0);
    for stream in 0..streams {
        let start = stream * length;
        inputs.extend(ids[start..start + length].iter().map(|&id| i64::from(id)));
        targets.extend(ids[start + 1..=start + length].iter().map(|&id| i64::from(id)));
        bytes += batcher.bytes_of(&ids[start + 1..=start + length]);
    }
    let inputs: Tensor<2, Int> = Tensor::from_data(TensorData::new(inputs, [streams, length]), device);
    let targets: Tensor<2, Int> = Tensor::from_data(TensorData::new(targets, [streams, length]), device);
    let nll = model.segment_nll(inputs, targets, reset_state); // [streams, length]
    let by_window: Vec<f32> = nll
        .clone()
        .reshape([streams, windows, context])
        .mean_dim(2)
        .mean_dim(0)
        .reshape([windows])
        .try_into_vec_as::<f32>()
        .map_err(|error| RecurrentError::Core(retrofit_core::CoreError::Training(error.to_string())))?;
    let nll_nats = f64::from(nll.sum().into_scalar::<f32>());
    let tokens = streams * length;
    let loss = nll_nats / tokens as f64;
    Ok(StreamEvaluation {
        streams,
        windows_per_stream: windows,
        tokens,
        bytes,
        nll_nats,
        loss,
        perplexity: loss.exp(),
        bits_per_byte: bits_per_byte(nll_nats, bytes),
        loss_by_window: by_window.into_iter().map(f64::from).collect(),
    })
}
