//! Continuing a prompt with a trained generator.

use burn::tensor::{Device, Int, Tensor, TensorData};
use retrofit_core::generation::{GenerationConfig, Sampler, SamplingConfig, StopReason, generate};
use retrofit_core::language_model::CausalLm;
use retrofit_data::tokenizer::TextTokenizer;

use crate::error::GeneratorError;
use crate::model::Generator;

/// New token ids after `prompt`: `tokens` of them, or fewer when one of `stop_ids` comes (kept
/// as the last; empty: never early). The `gpt2` architecture decodes with its key/value cache
/// when prompt and new tokens fit its positions; otherwise (and for `former`) each new token
/// recomputes the last `context` tokens.
pub fn continue_ids(
    model: &Generator,
    prompt: &[u32],
    tokens: usize,
    sampling: SamplingConfig,
    stop_ids: &[u32],
    device: &Device,
) -> Result<Vec<u32>, GeneratorError> {
    if prompt.is_empty() {
        return Err(GeneratorError::Usage("the prompt needs at least one token".to_string()));
    }
    if let Generator::Gpt2(gpt2) = model
        && prompt.len() + tokens <= gpt2.n_positions
    {
        let config = GenerationConfig {
            max_new_tokens: tokens,
            sampling,
            stop_ids: stop_ids.to_vec(),
            ..GenerationConfig::default()
        };
        return Ok(generate(gpt2, &[prompt.to_vec()], &config, device)?.remove(0));
    }
    // Recompute the last `context` tokens for every new one.
    let context = model.context();
    let mut sampler = Sampler::new(sampling);
    let mut ids = prompt.to_vec();
    for _ in 0..tokens {
        let window = &ids[ids.len().saturating_sub(context)..];
        let input: Tensor<2, Int> = Tensor::from_data(
            TensorData::new(window.iter().map(|&id| i64::from(id)).collect::<Vec<_>>(), [1, window.len()]),
            device,
        );
        let logits = model.logits(input); // [1, seq, vocab]
        let [_, seq, vocab] = logits.dims();
        let last = logits
            .slice([0..1, seq - 1..seq, 0..vocab])
            .try_into_vec_as::<f32>()
            .map_err(|error| GeneratorError::Usage(error.to_string()))?;
        let token = sampler.choose(&last);
        ids.push(token);
        if stop_ids.contains(&token) {
            break;
        }
    }
    Ok(ids.split_off(prompt.len()))
}

/// The prompt followed by up to `tokens` generated tokens, as text: generation stops at the
/// tokenizer's end-of-text token (GPT-2 BPE's `<|endoftext|>`; bytes have none), which is not
/// written.
pub fn sample_text(
    model: &Generator,
    tokenizer: &TextTokenizer,
    prompt: &str,
    tokens: usize,
    sampling: SamplingConfig,
    device: &Device,
) -> Result<String, GeneratorError> {
    let prompt_ids = tokenizer.encode(prompt)?;
    let stop_ids: Vec<u32> = tokenizer.end_of_text_id().into_iter().collect();
    let new = continue_ids(model, &prompt_ids, tokens, sampling, &stop_ids, device)?;
    let text = StopReason::of(&new, &stop_ids).text_tokens(&new);
    Ok(format!("{prompt}{}", tokenizer.decode(text)?))
}
