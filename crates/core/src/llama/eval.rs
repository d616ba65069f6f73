//! Zero-shot evaluation of a Llama model on a text: token perplexity with a sliding window (the
//! method of Hugging Face's perplexity guide, as for GPT-2) and bits per byte.

use burn::tensor::{Device, Int, Tensor, TensorData};

use super::error::LlamaError;
use super::model::Llama;
use crate::fused_softmax::log_softmax;
use crate::gpt2::TextEvaluation;
use crate::training::bits_per_byte;

/// Windows of at most `context` tokens starting every `stride` tokens; each window scores only
/// the tokens that no earlier window scored, so every token after the first is predicted once,
/// with up to `context - stride` tokens of history. `bytes` is the UTF-8 length of the text that
/// `ids` encode.
pub fn evaluate_text(
    model: &Llama,
    ids: &[u32],
    bytes: usize,
    context: usize,
    stride: usize,
    device: &Device,
) -> Result<TextEvaluation, LlamaError> {
    let context = context.min(model.max_position_embeddings);
    if ids.len() < 2 || stride == 0 || stride > context {
        return Err(LlamaError::Usage(format!(
            "evaluation needs at least 2 tokens (got {}) and 0 < stride ({stride}) <= context ({context})",
            ids.len()
        )));
    }
    if let Some(&id) = ids.iter().find(|&&id| id as usize >= model.vocab_size()) {
        return Err(LlamaError::Usage(format!(
            "token id {id} is outside the model's vocabulary of {}",
            model.vocab_size()
        )));
    }
    let tensor = |values: &[u32], shape: [usize; 2]| -> Tensor<2, Int> {
        Tensor::from_data(
            TensorData::new(values.iter().map(|&id| i64::from(id)).collect::<Vec<_>>(), shape),
            device,
        )
    };
    let mut nll = 0.0f64;
    let mut scored_until = 1; // token 0 is never predicted
    let mut begin = 0;
    while scored_until < ids.len() {
        // A window must hold the token before its first target.
        begin = begin.min(scored_until - 1);
        let end = (begin + context).min(ids.len());
        let window = &ids[begin..end];
        let log_probs = log_softmax(model.forward(tensor(window, [1, window.len()])), 2); // [1, len, vocab]
        // Position p predicts token p + 1; score targets scored_until..end.
        let first = scored_until - begin - 1;
        let count = end - scored_until;
        let targets = tensor(&ids[scored_until..end], [1, count]).reshape([1, count, 1]);
        let [_, _, vocab] = log_probs.dims();
        let picked = log_probs
            .slice([0..1, first..first + count, 0..vocab])
            .gather(2, targets);
        nll -= f64::from(picked.sum().into_scalar::<f32>());
        scored_until = end;
        begin += stride;
    }
    let predicted = ids.len() - 1;
    Ok(TextEvaluation {
        bits_per_byte: bits_per_byte(nll, bytes),
        ..TextEvaluation::from_nll(nll, predicted, bytes)
    })
}
