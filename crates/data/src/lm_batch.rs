//! Language-model batches: random windows of the training tokens, contiguous windows for
//! evaluation. A window holds `context + 1` tokens: inputs are the first `context`, targets the
//! last `context`.

use crate::seeds::{SeedPurpose, derive_seed};
use std::sync::Arc;

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::{Dataset, DatasetError};
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::DataError;
use crate::streams::StreamStep;

/// One batch of windows.
#[derive(Debug, Clone)]
pub struct LmBatch {
    /// `[batch, context]`
    pub inputs: Tensor<2, Int>,
    /// The next token at every input position. `[batch, context]`
    pub targets: Tensor<2, Int>,
    /// UTF-8 bytes the targets stand for (for bits per byte).
    pub target_bytes: usize,
    /// Independent windows, or chunks of contiguous streams (see [`crate::streams`]).
    pub stream: StreamStep,
}

/// Stacks windows of `context + 1` tokens into an [`LmBatch`], counting the bytes of the targets.
#[derive(Debug, Clone, Default)]
pub struct LmBatcher {
    /// Bytes of each token id (see `TextTokenizer::token_byte_lengths`); empty: one byte each.
    pub token_bytes: Arc<Vec<u32>>,
}

impl LmBatcher {
    pub fn new(token_bytes: Vec<u32>) -> Self {
        Self { token_bytes: Arc::new(token_bytes) }
    }

    /// Bytes that `ids` stand for.
    pub fn bytes_of(&self, ids: &[u32]) -> usize {
        if self.token_bytes.is_empty() {
            return ids.len();
        }
        ids.iter().map(|&id| self.token_bytes.get(id as usize).copied().unwrap_or(0) as usize).sum()
    }
}

impl Batcher<Vec<u32>, LmBatch> for LmBatcher {
    fn batch(&self, windows: Vec<Vec<u32>>, device: &Device) -> LmBatch {
        let batch = windows.len();
        let context = windows.first().map_or(0, |window| window.len().saturating_sub(1));
        let mut inputs = Vec::with_capacity(batch * context);
        let mut targets = Vec::with_capacity(batch * context);
        let mut target_bytes = 0;
        for window in &windows {
            target_bytes += self.bytes_of(&window[1..=context]);
            inputs.extend(window[..context].iter().map(|&id| i64::from(id)));
            targets.extend(window[1..=context].iter().map(|&id| i64::from(id)));
        }
        LmBatch {
            inputs: Tensor::from_data(TensorData::new(inputs, [batch, context]), device),
            targets: Tensor::from_data(TensorData::new(targets, [batch, context]), device),
            target_bytes,
            stream: StreamStep::Independent,
        }
    }
}

fn check_length(what: &str, tokens: &[u32], context: usize) -> Result<(), DataError> {
    if context == 0 || tokens.len() < context + 1 {
        return Err(DataError::TooShort { what: what.to_string(), tokens: tokens.len(), needed: context + 1 });
    }
    Ok(())
}

fn out_of_range(index: usize, len: usize) -> DatasetError {
    DatasetError::new(std::io::Error::other(format!("window {index} out of range ({len} windows)")))
}

/// `count` windows at seeded random offsets (window `i` is always the same for one seed).
#[derive(Debug, Clone)]
pub struct RandomWindows {
    tokens: Arc<Vec<u32>>,
    context: usize,
    count: usize,
    seed: u64,
}

impl RandomWindows {
    /// `what` names the split in the error for a too-short corpus.
    pub fn new(what: &str, tokens: Arc<Vec<u32>>, context: usize, count: usize, seed: u64) -> Result<Self, DataError> {
        check_length(what, &tokens, context)?;
        Ok(Self { tokens, context, count, seed })
    }
}

impl Dataset<Vec<u32>> for RandomWindows {
    fn get(&self, index: usize) -> Result<Vec<u32>, DatasetError> {
        if index >= self.count {
            return Err(out_of_range(index, self.count));
        }
        let mut rng = StdRng::seed_from_u64(derive_seed(self.seed, SeedPurpose::Window, index as u64));
        let start = rng.random_range(0..=self.tokens.len() - self.context - 1);
        Ok(self.tokens[start..start + self.context + 1].to_vec())
    }

    fn len(&self) -> usize {
        self.count
    }
}

/// Consecutive windows that together cover the tokens: window `i` predicts tokens
/// `i * context + 1 ..= (i + 1) * context`; a final partial window is left out.
#[derive(Debug, Clone)]
pub struct ContiguousWindows {
    tokens: Arc<Vec<u32>>,
    context: usize,
}

impl ContiguousWindows {
    pub fn new(what: &str, tokens: Arc<Vec<u32>>, context: usize) -> Result<Self, DataError> {
        check_length(what, &tokens, context)?;
        Ok(Self { tokens, context })
    }

    /// Number of target tokens the windows cover.
    pub fn covered_tokens(&self) -> usize {
        self.len() * self.context
    }
}

impl Dataset<Vec<u32>> for ContiguousWindows {
    fn get(&self, index: usize) -> Result<Vec<u32>, DatasetError> {
        if index >= self.len() {
            return Err(out_of_range(index, self.len()));
        }
        let start = index * self.context;
        Ok(self.tokens[start..start + self.context + 1].to_vec())
    }

    fn len(&self) -> usize {
        (self.tokens.len() - 1) / self.context
    }
}
