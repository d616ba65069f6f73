//! Generation with a key/value cache for a batch of prompts, left-padded.

use burn::tensor::{Bool, Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use super::loader::Gpt2Error;
use super::model::{Gpt2, KvCache};
use super::sampling::{Sampler, SamplingConfig};

/// What to generate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GenerationConfig {
    pub max_new_tokens: usize,
    pub sampling: SamplingConfig,
    /// Id put in the padding positions (masked, so its value never matters).
    pub pad_id: u32,
}

impl Default for GenerationConfig {
    fn default() -> Self {
        Self { max_new_tokens: 32, sampling: SamplingConfig::default(), pad_id: 50_256 }
    }
}

/// A causal model that generation drives step by step through a key/value cache (GPT-2, Llama).
pub trait CachedLm {
    fn n_layer(&self) -> usize;
    /// Longest sequence the model takes.
    fn max_positions(&self) -> usize;
    /// Final hidden states (after the final norm) of `ids`, continuing `cache`.
    ///
    /// # Shapes
    /// - `ids`, `positions`: `[batch, seq]`
    /// - `padding`: `[batch, seen + seq]`, `true` at padded positions (left padding)
    /// - output: `[batch, seq, d_model]`
    fn hidden(
        &self,
        ids: Tensor<2, Int>,
        positions: Tensor<2, Int>,
        padding: Option<Tensor<2, Bool>>,
        cache: &mut KvCache,
    ) -> Tensor<3>;
    /// `[batch, seq, d_model]` → `[batch, seq, vocab]`
    fn head(&self, hidden: Tensor<3>) -> Tensor<3>;
}

/// Why [`generate_tokens`] could not run; each family turns it into its own error.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GenerationError {
    #[error("every prompt needs at least one token")]
    EmptyPrompt,
    #[error("{tokens} tokens ({prompt} of prompt + {new} to generate) do not fit the model's {positions} positions")]
    TooLong { tokens: usize, prompt: usize, new: usize, positions: usize },
    #[error("cannot read the logits back: {0}")]
    TensorRead(String),
    #[error("{0}")]
    Sampling(String),
}

impl From<GenerationError> for Gpt2Error {
    fn from(error: GenerationError) -> Self {
        match error {
            GenerationError::TooLong { tokens, prompt, new, positions } => {
                Gpt2Error::TooLong { tokens, prompt, new, positions }
            }
            other => Gpt2Error::Usage(other.to_string()),
        }
    }
}

/// Generates `max_new_tokens` for each prompt. Prompts of different lengths are left-padded;
/// padded keys are masked and positions count real tokens only, as Hugging Face does, so each row
/// continues exactly as it would alone. Returns the new tokens of each prompt.
pub fn generate(
    model: &Gpt2,
    prompts: &[Vec<u32>],
    config: &GenerationConfig,
    device: &Device,
) -> Result<Vec<Vec<u32>>, Gpt2Error> {
    Ok(generate_tokens(model, prompts, config, device)?)
}

/// The generation loop of every family (see [`generate`]).
pub fn generate_tokens(
    model: &impl CachedLm,
    prompts: &[Vec<u32>],
    config: &GenerationConfig,
    device: &Device,
) -> Result<Vec<Vec<u32>>, GenerationError> {
    config.sampling.validate().map_err(GenerationError::Sampling)?;
    let longest = prompts.iter().map(Vec::len).max().unwrap_or(0);
    if prompts.is_empty() || prompts.iter().any(Vec::is_empty) {
        return Err(GenerationError::EmptyPrompt);
    }
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
        let [_, seq, n_embd] = hidden.dims();
        let last = hidden.slice([0..batch, seq - 1..seq, 0..n_embd]);
        let logits = model.head(last); // [batch, 1, vocab]
        let vocab = logits.dims()[2];
        let logits: Vec<f32> =
            logits.try_into_vec_as::<f32>().map_err(|error| GenerationError::TensorRead(error.to_string()))?;
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
        padding = Tensor::cat(
            vec![padding, Tensor::<2, Bool>::from_data(TensorData::new(vec![false; batch], [batch, 1]), device)],
            1,
        );
    }
    Ok(generated)
}

impl CachedLm for Gpt2 {
    fn n_layer(&self) -> usize {
        self.h.len()
    }

    fn max_positions(&self) -> usize {
        self.n_positions
    }

    fn hidden(
        &self,
        ids: Tensor<2, Int>,
        positions: Tensor<2, Int>,
        padding: Option<Tensor<2, Bool>>,
        cache: &mut KvCache,
    ) -> Tensor<3> {
        Gpt2::hidden(self, ids, positions, padding, cache)
    }

    fn head(&self, hidden: Tensor<3>) -> Tensor<3> {
        Gpt2::head(self, hidden)
    }
}
