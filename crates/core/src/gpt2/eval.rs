//! Zero-shot evaluation of a language model on a text: token perplexity with a sliding window
//! (the method of Hugging Face's perplexity guide) and bits per byte.

use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use super::loader::Gpt2Error;
use super::model::Gpt2;

/// The result of evaluating a text.
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
    /// `nll / (ln 2 * bytes)`.
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
            bits_per_byte: nll_nats / (std::f64::consts::LN_2 * bytes.max(1) as f64),
        }
    }
}

/// Windows of at most `context` tokens starting every `stride` tokens; each window scores only
/// the tokens that no earlier window scored, so every token after the first is predicted once,
/// with up to `context - stride` tokens of history.
pub fn evaluate_text(model: &Gpt2, ids: &[u32], bytes: usize, context: usize, stride: usize, device: &Device) -> Result<TextEvaluation, Gpt2Error> {
    let context = context.min(model.n_positions);
    if ids.len() < 2 || stride == 0 || stride > context {
        return Err(Gpt2Error::Usage(format!(
            "evaluation needs at least 2 tokens (got {}) and 0 < stride ({stride}) <= context ({context})",
            ids.len()
        )));
    }
    let mut nll = 0.0f64;
    let mut scored_until = 1; // token 0 is never predicted
    let mut begin = 0;
    while scored_until < ids.len() {
        // A window must hold the token before its first target.
        begin = begin.min(scored_until - 1);
        let end = (begin + context).min(ids.len());
        let window = &ids[begin..end];
        let input: Tensor<2, Int> = Tensor::from_data(TensorData::new(window.iter().map(|&id| i64::from(id)).collect::<Vec<_>>(), [1, window.len()]), device);
        let log_probs = log_softmax(model.forward(input), 2); // [1, len, vocab]
        // Position p predicts token p + 1; score targets scored_until..end.
        let first = scored_until - begin - 1;
        let count = end - scored_until;
        let targets: Tensor<3, Int> = Tensor::from_data(
            TensorData::new(ids[scored_until..end].iter().map(|&id| i64::from(id)).collect::<Vec<_>>(), [1, count, 1]),
            device,
        );
        let [_, _, vocab] = log_probs.dims();
        let picked = log_probs.slice([0..1, first..first + count, 0..vocab]).gather(2, targets);
        nll -= f64::from(picked.sum().into_scalar::<f32>());
        scored_until = end;
        begin += stride;
    }
    Ok(TextEvaluation::from_nll(nll, ids.len() - 1, bytes))
}
