//! Generation with a key/value cache for a batch of prompts, left-padded, choosing tokens with
//! GPT-2's [`Sampler`] (greedy, temperature, top-k, top-p).

use burn::tensor::{Bool, Device, Int, Tensor, TensorData};

use super::error::LlamaError;
use super::model::Llama;
use crate::gpt2::{GenerationConfig, KvCache, Sampler, SamplingConfig};

/// Generates `max_new_tokens` for each prompt. Prompts of different lengths are left-padded with
/// `config.pad_id` (which must be a valid id of the vocabulary); padded keys are masked and each
/// row's positions count its real tokens only, as transformers' `generate` does, so each row
/// continues exactly as it would alone. Returns the new tokens of each prompt.
pub fn generate(
    model: &Llama,
    prompts: &[Vec<u32>],
    config: &GenerationConfig,
    device: &Device,
) -> Result<Vec<Vec<u32>>, LlamaError> {
    if prompts.is_empty() || prompts.iter().any(Vec::is_empty) {
        return Err(LlamaError::Usage("every prompt needs at least one token".to_string()));
    }
    let vocab = model.vocab_size();
    if let Some(&id) = prompts.iter().flatten().chain([&config.pad_id]).find(|&&id| id as usize >= vocab) {
        return Err(LlamaError::Usage(format!(
            "token id {id} (prompt or pad_id) is outside the model's vocabulary of {vocab}"
        )));
    }
    let longest = prompts.iter().map(Vec::len).max().unwrap_or(0);
    let total = longest + config.max_new_tokens;
    if total > model.max_position_embeddings {
        return Err(LlamaError::TooLong {
            tokens: total,
            prompt: longest,
            new: config.max_new_tokens,
            positions: model.max_position_embeddings,
        });
    }
    let batch = prompts.len();
    let mut ids = Vec::with_capacity(batch * longest);
    let mut padded = Vec::with_capacity(batch * longest);
    let mut positions = Vec::with_capacity(batch * longest);
    let mut next_position = Vec::with_capacity(batch);
    for prompt in prompts {
        let pad = longest - prompt.len();
        ids.extend(std::iter::repeat_n(i64::from(config.pad_id), pad).chain(prompt.iter().map(|&id| i64::from(id))));
        padded.extend((0..longest).map(|i| i < pad));
        positions.extend((0..longest).map(|i| i.saturating_sub(pad) as i64));
        next_position.push(prompt.len() as i64);
    }
    let mut padding: Tensor<2, Bool> = Tensor::from_data(TensorData::new(padded, [batch, longest]), device);
    let mut input: Tensor<2, Int> = Tensor::from_data(TensorData::new(ids, [batch, longest]), device);
    let mut input_positions: Tensor<2, Int> = Tensor::from_data(TensorData::new(positions, [batch, longest]), device);
    let mut cache = KvCache::new(model.n_layer());
    let mut samplers: Vec<Sampler> = (0..batch)
        .map(|row| {
            Sampler::new(SamplingConfig { seed: config.sampling.seed.wrapping_add(row as u64), ..config.sampling })
        })
        .collect();
    let mut generated = vec![Vec::with_capacity(config.max_new_tokens); batch];
    for _ in 0..config.max_new_tokens {
        let hidden = model.hidden(input, input_positions, Some(padding.clone()), &mut cache);
        let [_, seq, d_model] = hidden.dims();
        let logits = model.head(hidden.slice([0..batch, seq - 1..seq, 0..d_model])); // [batch, 1, vocab]
        let logits: Vec<f32> =
            logits.try_into_vec_as::<f32>().map_err(|error| LlamaError::TensorData(error.to_string()))?;
        let mut chosen = Vec::with_capacity(batch);
        for (row, sampler) in samplers.iter_mut().enumerate() {
            let token = sampler.choose(&logits[row * vocab..(row + 1) * vocab]);
            generated[row].push(token);
            chosen.push(i64::from(token));
        }
        input = Tensor::from_data(TensorData::new(chosen, [batch, 1]), device);
        input_positions = Tensor::from_data(TensorData::new(next_position.clone(), [batch, 1]), device);
        for position in &mut next_position {
            *position += 1;
        }
        let no_padding = Tensor::<2, Bool>::from_data(TensorData::new(vec![false; batch], [batch, 1]), device);
        padding = Tensor::cat(vec![padding, no_padding], 1);
    }
    Ok(generated)
}
