//! Evaluation of language models on held-out text, with one bits-per-byte formula
//! ([`bits_per_byte`]) for everything: consecutive windows read as parallel streams (a state
//! carried along each, or reset every window), with the loss by window index; and sliding-window
//! perplexity of a plain causal model (the method of Hugging Face's perplexity guide).

use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use super::task::{CausalLm, token_nll};
use crate::CoreError;
use crate::training::bits_per_byte;

/// Whether a model that carries a state from window to window keeps it, starts every window
/// from its initial state, or reads another stream's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StateCarry {
    /// Each stream reads the state its own previous window left.
    Carried,
    /// Every window starts from the initial state.
    Reset,
    /// Before every window the states move one stream up: stream `s` reads the state that
    /// stream `s + 1` (the last: stream 0) left, a state of the same kind built from other text.
    /// What carried does better than this is what the state knows of its own stream.
    Shuffled,
}

/// A model that reads text as consecutive windows of a fixed length.
pub trait WindowedLm {
    /// Tokens per window.
    fn context(&self) -> usize;

    /// Negative log-likelihood of every target: each row holds `n * context` tokens read as
    /// `n` consecutive windows.
    ///
    /// # Shapes
    /// - `inputs`, `targets`: `[batch, n * context]`
    /// - output: `[batch, n * context]`
    fn stream_nll(&self, inputs: Tensor<2, Int>, targets: Tensor<2, Int>, carry: StateCarry) -> Tensor<2>;
}

/// The result of one pass over the evaluated text, read as parallel streams.
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
    /// Summed NLL (nats) of every window, stream by stream: `[streams * windows_per_stream]`,
    /// window `w` of stream `s` at `s * windows_per_stream + w` (for paired bootstraps).
    pub window_nll: Vec<f64>,
    /// UTF-8 bytes of every window's targets, in the same order.
    pub window_bytes: Vec<usize>,
    /// Mean NLL per token at position `p` inside the window (0: the first target, predicted from
    /// one token of the window), over every window: the cold start of a window.
    #[serde(default)]
    pub loss_by_position: Vec<f64>,
    /// The targets only a memory of earlier windows can predict from the text, against the rest.
    #[serde(default)]
    pub recall: RecallLoss,
}

/// Targets split by where the text last showed them: a *recall* target is a token that occurred
/// in its stream before the current window and not inside it up to that position (the window's
/// inputs so far), so a model that sees only the window cannot copy it; every other target is
/// *local*.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct RecallLoss {
    pub recall_tokens: usize,
    /// Mean NLL of the recall targets (nats).
    pub recall_loss: f64,
    pub local_tokens: usize,
    pub local_loss: f64,
}

impl RecallLoss {
    /// Which targets are recall targets, for `streams` rows of `windows * context` targets
    /// (row-major, as the NLL), each row's text starting at `starts[row]` in `ids`.
    pub fn recall_targets(ids: &[u32], starts: &[usize], windows: usize, context: usize) -> Vec<bool> {
        let mut recall = Vec::with_capacity(starts.len() * windows * context);
        for &start in starts {
            let mut before = std::collections::HashSet::new();
            for window in 0..windows {
                let first = start + window * context;
                let mut inside = std::collections::HashSet::new();
                for position in 0..context {
                    inside.insert(ids[first + position]);
                    let target = ids[first + position + 1];
                    recall.push(before.contains(&target) && !inside.contains(&target));
                }
                before.extend(ids[first..first + context].iter().copied());
            }
        }
        recall
    }

    /// Mean NLL of each class of target.
    pub fn of(nll: &[f64], recall: &[bool]) -> Self {
        let (mut recall_sum, mut recall_tokens, mut local_sum, mut local_tokens) = (0.0, 0, 0.0, 0);
        for (&value, &is_recall) in nll.iter().zip(recall) {
            if is_recall {
                recall_sum += value;
                recall_tokens += 1;
            } else {
                local_sum += value;
                local_tokens += 1;
            }
        }
        let mean = |sum: f64, count: usize| if count == 0 { f64::NAN } else { sum / count as f64 };
        Self {
            recall_tokens,
            recall_loss: mean(recall_sum, recall_tokens),
            local_tokens,
            local_loss: mean(local_sum, local_tokens),
        }
    }
}

impl StreamEvaluation {
    /// Mean NLL per token of the windows at index `range` along every stream (e.g. within the
    /// trained back-propagation horizon, and beyond it); `None` if the range holds no window.
    pub fn loss_of_windows(&self, range: std::ops::Range<usize>) -> Option<f64> {
        let range = range.start.min(self.windows_per_stream)..range.end.min(self.windows_per_stream);
        if range.is_empty() {
            return None;
        }
        let total: f64 = (0..self.streams)
            .flat_map(|stream| range.clone().map(move |window| stream * self.windows_per_stream + window))
            .map(|cell| self.window_nll[cell])
            .sum();
        let context = self.tokens / (self.streams * self.windows_per_stream);
        Some(total / (self.streams * range.len() * context) as f64)
    }
}

/// Evaluates `model` (without autodiff) on `ids` cut into `streams` equal consecutive parts of
/// whole windows (at most `max_windows` each; `None`: as many as fit).
pub fn evaluate_streams(
    model: &impl WindowedLm,
    ids: &[u32],
    bytes_of: impl Fn(&[u32]) -> usize,
    streams: usize,
    max_windows: Option<usize>,
    carry: StateCarry,
    device: &Device,
) -> Result<StreamEvaluation, CoreError> {
    let context = model.context();
    if streams == 0 {
        return Err(CoreError::setting("data.eval_streams", "must be at least 1"));
    }
    let mut windows = ids.len().saturating_sub(1) / (streams * context);
    if let Some(max_windows) = max_windows {
        windows = windows.min(max_windows);
    }
    if windows == 0 {
        return Err(CoreError::setting(
            "data.eval_streams",
            format!(
                "the evaluated text ({} tokens) is shorter than {streams} streams of one window of {context} tokens: lower data.eval_streams or data.context",
                ids.len()
            ),
        ));
    }
    let length = windows * context;
    let (mut inputs, mut targets) = (Vec::with_capacity(streams * length), Vec::with_capacity(streams * length));
    let mut window_bytes = Vec::with_capacity(streams * windows);
    // Streams are equal consecutive parts of the text (as training's streams are).
    let stream_len = ids.len().saturating_sub(1) / streams;
    for stream in 0..streams {
        let start = stream * stream_len;
        inputs.extend(ids[start..start + length].iter().map(|&id| i64::from(id)));
        targets.extend(ids[start + 1..=start + length].iter().map(|&id| i64::from(id)));
        for window in 0..windows {
            let first = start + window * context + 1;
            window_bytes.push(bytes_of(&ids[first..first + context]));
        }
    }
    let bytes = window_bytes.iter().sum();
    let inputs: Tensor<2, Int> = Tensor::from_data(TensorData::new(inputs, [streams, length]), device);
    let targets: Tensor<2, Int> = Tensor::from_data(TensorData::new(targets, [streams, length]), device);
    let nll: Vec<f64> = model
        .stream_nll(inputs, targets, carry) // [streams, length]
        .try_into_vec_as::<f32>()
        .map_err(|error| CoreError::TensorRead(error.to_string()))?
        .into_iter()
        .map(f64::from)
        .collect();
    let window_nll: Vec<f64> = nll.chunks(context).map(|window| window.iter().sum()).collect();
    let loss_by_position: Vec<f64> = (0..context)
        .map(|position| nll.iter().skip(position).step_by(context).sum::<f64>() / (streams * windows) as f64)
        .collect();
    let starts: Vec<usize> = (0..streams).map(|stream| stream * stream_len).collect();
    let recall = RecallLoss::of(&nll, &RecallLoss::recall_targets(ids, &starts, windows, context));
    let by_window: Vec<f64> = (0..windows)
        .map(|window| {
            (0..streams).map(|stream| window_nll[stream * windows + window]).sum::<f64>() / (streams * context) as f64
        })
        .collect();
    let nll_nats: f64 = window_nll.iter().sum();
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
        loss_by_window: by_window,
        window_nll,
        window_bytes,
        loss_by_position,
        recall,
    })
}

/// The result of evaluating a text with a sliding window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TextEvaluation {
    /// Summed negative log-likelihood in nats of the predicted tokens.
    pub nll_nats: f64,
    /// Tokens predicted (all but the first).
    pub predicted_tokens: usize,
    /// UTF-8 bytes of the evaluated text.
    pub bytes: usize,
    /// `exp(nll / predicted_tokens)`.
    pub perplexity: f64,
    /// See [`bits_per_byte`].
    pub bits_per_byte: f64,
}

impl TextEvaluation {
    /// Perplexity and bits per byte from a summed NLL.
    pub fn from_nll(nll_nats: f64, predicted_tokens: usize, bytes: usize) -> Self {
        Self {
            nll_nats,
            predicted_tokens,
            bytes,
            perplexity: (nll_nats / predicted_tokens.max(1) as f64).exp(),
            bits_per_byte: bits_per_byte(nll_nats, bytes),
        }
    }
}

/// Windows of at most `context` tokens starting every `stride` tokens; each window scores only
/// the tokens that no earlier window scored, so every token after the first is predicted once,
/// with up to `context - stride` tokens of history. `context` must fit the model.
pub fn evaluate_text(
    model: &impl CausalLm,
    ids: &[u32],
    bytes: usize,
    context: usize,
    stride: usize,
    device: &Device,
) -> Result<TextEvaluation, CoreError> {
    if ids.len() < 2 {
        return Err(CoreError::setting("text", format!("evaluation needs at least 2 tokens (got {})", ids.len())));
    }
    if stride == 0 || stride > context {
        return Err(CoreError::setting(
            "stride",
            format!("must be between 1 and the context ({context}), got {stride}"),
        ));
    }
    let mut nll = 0.0f64;
    let mut scored_until = 1; // token 0 is never predicted
    let mut begin = 0;
    while scored_until < ids.len() {
        // A window must hold the token before its first target.
        begin = begin.min(scored_until - 1);
        let end = (begin + context).min(ids.len());
        let tensor = |ids: &[u32]| -> Tensor<2, Int> {
            Tensor::from_data(
                TensorData::new(ids.iter().map(|&id| i64::from(id)).collect::<Vec<_>>(), [1, ids.len()]),
                device,
            )
        };
        let window = &ids[begin..end];
        // Position p predicts token p + 1; score targets scored_until..end.
        let first = scored_until - begin - 1;
        let count = end - scored_until;
        let logits = model.logits(tensor(&window[..window.len() - 1])); // [1, len - 1, vocab]
        let [_, _, vocab] = logits.dims();
        let logits = logits.slice([0..1, first..first + count, 0..vocab]);
        nll += f64::from(token_nll(logits, tensor(&ids[scored_until..end])).sum().into_scalar::<f32>());
        scored_until = end;
        begin += stride;
    }
    Ok(TextEvaluation::from_nll(nll, ids.len() - 1, bytes))
}
