//! The generation loop every family shares: a left-padded batch of prompts continued through a
//! key/value cache, one token per step for every row.

use burn::tensor::{Bool, Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use super::cache::KvCache;
use super::sampling::{Sampler, SamplingConfig};
use super::stop::StopRule;
use crate::decoder::Decoder;

/// What to generate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GenerationConfig {
    /// Most new tokens per prompt.
    pub max_new_tokens: usize,
    pub sampling: SamplingConfig,
    /// Id put in the padding positions: masked, so its value never matters, but it must be in
    /// the vocabulary. `None` uses id 0; callers with a tokenizer pass its pad id.
    pub pad_id: Option<u32>,
    /// A row ends at the first of these ids (kept as its last token); empty: never early.
    pub stop_ids: Vec<u32>,
}

impl Default for GenerationConfig {
    fn default() -> Self {
        Self { max_new_tokens: 32, sampling: SamplingConfig::default(), pad_id: None, stop_ids: Vec::new() }
    }
}

/// Why [`generate`] could not run; each displays as one line.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GenerationError {
    #[error("every prompt needs at least one token")]
    EmptyPrompt,
    #[error(
        "{tokens} tokens ({prompt} of prompt + {new} to generate) do not fit the model's {positions} positions: \
         shorten the prompt or generate fewer tokens"
    )]
    TooLong { tokens: usize, prompt: usize, new: usize, positions: usize },
    #[error(
        "token id {id} (prompt or pad id) is outside the model's vocabulary of {vocab}: use the model's own tokenizer"
    )]
    TokenOutOfVocabulary { id: u32, vocab: usize },
    #[error("cannot read the logits back: {0}")]
    TensorRead(String),
    #[error("{0}")]
    Sampling(String),
}

/// Generates up to `config.max_new_tokens` for each prompt. Prompts of different lengths are
/// left-padded; padded keys are masked and positions count real tokens only, as Hugging Face
/// does, so each row continues exactly as it would alone. Returns the new tokens of each prompt
/// (a row that met a stop id ends with it).
pub fn generate(
    model: &impl Decoder,
    prompts: &[Vec<u32>],
    config: &GenerationConfig,
    device: &Device,
) -> Result<Vec<Vec<u32>>, GenerationError> {
    config.sampling.validate().map_err(GenerationError::Sampling)?;
    if prompts.is_empty() || prompts.iter().any(Vec::is_empty) {
        return Err(GenerationError::EmptyPrompt);
    }
    let pad_id = config.pad_id.unwrap_or(0);
    let vocab = model.vocab_size();
    if let Some(&id) = prompts.iter().flatten().chain([&pad_id]).find(|&&id| id as usize >= vocab) {
        return Err(GenerationError::TokenOutOfVocabulary { id, vocab });
    }
    let longest = prompts.iter().map(Vec::len).max().unwrap_or(0);
    let total = longest + config.max_new_tokens;
    if total > model.max_positions() {
        return Err(GenerationError::TooLong {
            tokens: total,
            prompt: longest,
            new: config.max_new_tokens,
            positions: model.max_positions(),
        });
    }
    let batch = prompts.len();
    let mut ids = Vec::with_capacity(batch * longest);
    let mut padded = Vec::with_capacity(batch * total);
    let mut positions = Vec::with_capacity(batch * longest);
    let mut next_position = Vec::with_capacity(batch);
    for prompt in prompts {
        let pad = longest - prompt.len();
        ids.extend(std::iter::repeat_n(i64::from(pad_id), pad).chain(prompt.iter().map(|&id| i64::from(id))));
        // The key mask of every position the generation will reach: the row's left padding.
        padded.extend((0..total).map(|i| i < pad));
        positions.extend((0..longest).map(|i| i.saturating_sub(pad) as i64));
        next_position.push(prompt.len() as i64);
    }
    // Known here, not on the device: prompts of one length need no key mask at all; otherwise one
    // mask of every position, [batch, total], built once and sliced to the keys seen each step.
    let any_padded = prompts.iter().any(|prompt| prompt.len() < longest);
    let padding: Option<Tensor<2, Bool>> =
        any_padded.then(|| Tensor::from_data(TensorData::new(padded, [batch, total]), device));
    let mut input: Tensor<2, Int> = Tensor::from_data(TensorData::new(ids, [batch, longest]), device);
    let mut input_positions: Tensor<2, Int> = Tensor::from_data(TensorData::new(positions, [batch, longest]), device);
    let mut cache = KvCache::new(model.n_layer());
    let mut samplers: Vec<Sampler> = (0..batch)
        .map(|row| {
            Sampler::new(SamplingConfig { seed: config.sampling.seed.wrapping_add(row as u64), ..config.sampling })
        })
        .collect();
    let mut stop = StopRule::new(batch, &config.stop_ids);
    let mut generated = vec![Vec::with_capacity(config.max_new_tokens); batch];
    for step in 0..config.max_new_tokens {
        // The keys of this step: the prompt, then one more position a step.
        let keys = longest + step;
        let step_padding = padding.as_ref().map(|padding| padding.clone().slice([0..batch, 0..keys]));
        let hidden = model.hidden(input, input_positions, step_padding, &mut cache);
        if step == 0 {
            // The prompt is in: from here every new position is written in place.
            cache.reserve(total);
        }
        let [_, seq, d_model] = hidden.dims();
        let last = hidden.slice([0..batch, seq - 1..seq, 0..d_model]);
        let logits = model.head(last); // [batch, 1, vocab]
        let logits: Vec<f32> =
            logits.try_into_vec_as::<f32>().map_err(|error| GenerationError::TensorRead(error.to_string()))?;
        let mut chosen = Vec::with_capacity(batch);
        for (row, sampler) in samplers.iter_mut().enumerate() {
            let token = sampler.choose(&logits[row * vocab..(row + 1) * vocab]);
            if stop.is_running(row) {
                generated[row].push(token);
                stop.observe(row, token);
            }
            chosen.push(i64::from(token));
        }
        if stop.all_finished() {
            break;
        }
        input = Tensor::from_data(TensorData::new(chosen, [batch, 1]), device);
        input_positions = Tensor::from_data(TensorData::new(next_position.clone(), [batch, 1]), device);
        for position in &mut next_position {
            *position += 1;
        }
    }
    Ok(generated)
}
