//! Contiguous streams for stateful training and evaluation (truncated back-propagation through
//! time across steps, as Transformer-XL and the Block-Recurrent Transformer train): the tokens are
//! cut into `streams` equal contiguous parts, one per batch row; step `t` of a pass reads the
//! `t`-th chunk of every stream, so a model can carry a state from one step to the next.

use crate::seeds::{SeedPurpose, derive_seed};
use std::sync::Arc;

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::{Dataset, DatasetError};
use burn::tensor::Device;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::DataError;
use crate::lm_batch::{LmBatch, LmBatcher};

/// Where a batch stands in its streams: what a model that carries a state does with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StreamStep {
    /// Rows are independent windows: every row starts from a fresh state.
    #[default]
    Independent,
    /// The first chunk of every stream of a pass: start from a fresh state.
    First,
    /// Row `b` continues row `b` of the previous batch: start from the state it left.
    Next,
}

/// One stream's chunk: `chunk + 1` tokens (inputs are the first `chunk`, targets the last).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamChunk {
    pub tokens: Vec<u32>,
    /// Whether this is its stream's first chunk in the pass.
    pub first: bool,
}

/// `tokens` cut into `streams` contiguous streams of `stream_len` tokens; each stream is read
/// from `offset` on, `chunk` targets a step, for `steps` steps. Item `t * streams + b` is chunk
/// `t` of stream `b`, so that batches of `streams` items in order are the steps.
#[derive(Debug, Clone)]
pub struct StreamChunks {
    tokens: Arc<Vec<u32>>,
    streams: usize,
    chunk: usize,
    stream_len: usize,
    offset: usize,
    steps: usize,
}

impl StreamChunks {
    /// Tokens of each of `streams` equal streams of `tokens` (a remainder at the end is unused).
    pub fn stream_len(tokens: usize, streams: usize) -> usize {
        tokens / streams.max(1)
    }

    /// Steps of `chunk` targets that fit in a stream of `stream_len` tokens read from `offset`.
    pub fn steps_that_fit(stream_len: usize, chunk: usize, offset: usize) -> usize {
        stream_len.saturating_sub(offset + 1) / chunk.max(1)
    }

    /// `what` names the split in errors; `steps: None` reads as many chunks as fit.
    pub fn new(
        what: &str,
        tokens: Arc<Vec<u32>>,
        streams: usize,
        chunk: usize,
        offset: usize,
        steps: Option<usize>,
    ) -> Result<Self, DataError> {
        let stream_len = Self::stream_len(tokens.len(), streams);
        let fit = Self::steps_that_fit(stream_len, chunk, offset);
        let steps = steps.unwrap_or(fit);
        if streams == 0 || chunk == 0 || steps == 0 || steps > fit {
            return Err(DataError::StreamsTooShort {
                what: what.to_string(),
                tokens: tokens.len(),
                streams,
                steps: steps.max(1),
                chunk,
            });
        }
        Ok(Self { tokens, streams, chunk, stream_len, offset, steps })
    }

    /// Steps of the pass (batches of `streams` items).
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// Streams (batch rows).
    pub fn streams(&self) -> usize {
        self.streams
    }

    /// Where stream `stream`'s chunk `step` starts in the tokens.
    pub fn start(&self, step: usize, stream: usize) -> usize {
        stream * self.stream_len + self.offset + step * self.chunk
    }
}

impl Dataset<StreamChunk> for StreamChunks {
    fn get(&self, index: usize) -> Result<StreamChunk, DatasetError> {
        if index >= self.len() {
            return Err(DatasetError::new(std::io::Error::other(format!(
                "stream chunk {index} out of range ({} chunks)",
                self.len()
            ))));
        }
        let (step, stream) = (index / self.streams, index % self.streams);
        let start = self.start(step, stream);
        Ok(StreamChunk { tokens: self.tokens[start..start + self.chunk + 1].to_vec(), first: step == 0 })
    }

    fn len(&self) -> usize {
        self.steps * self.streams
    }
}

/// How training reads a split as streams: `streams` rows, `chunk` targets a step, and either
/// every chunk but one (`steps: None`; the one left is room for the offset) or `steps` steps,
/// from a random offset anywhere they fit. Each epoch draws its offset from `seed` and the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamSchedule {
    pub streams: usize,
    pub chunk: usize,
    pub steps: Option<usize>,
    pub seed: u64,
}

impl StreamSchedule {
    /// The streams of epoch `epoch` (0-based) over `tokens`.
    pub fn epoch(&self, what: &str, tokens: Arc<Vec<u32>>, epoch: usize) -> Result<StreamChunks, DataError> {
        let stream_len = StreamChunks::stream_len(tokens.len(), self.streams);
        let all = StreamChunks::steps_that_fit(stream_len, self.chunk, 0);
        let steps = match self.steps {
            Some(steps) => steps,
            // Leave one chunk of room for the offset when there is more than one.
            None if all > 1 => all - 1,
            None => all,
        };
        let room = stream_len.saturating_sub(steps * self.chunk + 1);
        let mut rng = StdRng::seed_from_u64(derive_seed(self.seed, SeedPurpose::StreamsEpoch, epoch as u64 + 1));
        let offset = if room == 0 { 0 } else { rng.random_range(0..=room) };
        StreamChunks::new(what, tokens, self.streams, self.chunk, offset, Some(steps))
    }
}

impl Batcher<StreamChunk, LmBatch> for LmBatcher {
    fn batch(&self, chunks: Vec<StreamChunk>, device: &Device) -> LmBatch {
        let first = chunks.iter().all(|chunk| chunk.first);
        let windows = chunks.into_iter().map(|chunk| chunk.tokens).collect();
        let batch: LmBatch = Batcher::<Vec<u32>, LmBatch>::batch(self, windows, device);
        LmBatch { stream: if first { StreamStep::First } else { StreamStep::Next }, ..batch }
    }
}
