//! Generation for Llama: the vocabulary check of its prompts, then the loop every family shares
//! (`crate::gpt2::generate_tokens`: key/value cache, left padding, greedy / temperature / top-k /
//! top-p).

use burn::tensor::{Bool, Device, Int, Tensor};

use super::error::LlamaError;
use super::model::Llama;
use crate::gpt2::{CachedLm, GenerationConfig, GenerationError, KvCache, generate_tokens};

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
    let vocab = model.vocab_size();
    if let Some(&id) = prompts.iter().flatten().chain([&config.pad_id]).find(|&&id| id as usize >= vocab) {
        return Err(LlamaError::Usage(format!(
            "token id {id} (prompt or pad_id) is outside the model's vocabulary of {vocab}"
        )));
    }
    Ok(generate_tokens(model, prompts, config, device)?)
}

impl From<GenerationError> for LlamaError {
    fn from(error: GenerationError) -> Self {
        match error {
            GenerationError::TooLong { tokens, prompt, new, positions } => {
                LlamaError::TooLong { tokens, prompt, new, positions }
            }
            GenerationError::TensorRead(message) => LlamaError::TensorData(message),
            other => LlamaError::Usage(other.to_string()),
        }
    }
}

impl CachedLm for Llama {
    fn n_layer(&self) -> usize {
        Llama::n_layer(self)
    }

    fn max_positions(&self) -> usize {
        self.max_position_embeddings
    }

    fn hidden(
        &self,
        ids: Tensor<2, Int>,
        positions: Tensor<2, Int>,
        padding: Option<Tensor<2, Bool>>,
        cache: &mut KvCache,
    ) -> Tensor<3> {
        Llama::hidden(self, ids, positions, padding, cache)
    }

    fn head(&self, hidden: Tensor<3>) -> Tensor<3> {
        Llama::head(self, hidden)
    }
}
