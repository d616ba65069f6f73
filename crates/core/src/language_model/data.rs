//! The data side of every language-model stage: a corpus read, split and tokenized once, cut
//! into random training examples and contiguous validation examples of whole windows.

use retrofit_data::seeds::{SeedPurpose, derive_seed};
use std::sync::Arc;

use burn::data::dataloader::{DataLoader, DataLoaderBuilder};
use burn::data::dataset::Dataset;
use burn::data::dataset::transform::PartialDataset;
use retrofit_data::lm_batch::{ContiguousWindows, LmBatch, LmBatcher, RandomWindows};
use retrofit_data::source::{DataSource, load_language_corpus};
use retrofit_data::streams::{StreamChunk, StreamChunks, StreamSchedule};
use retrofit_data::tokenizer::{TextTokenizer, TokenizerConfig};
use serde::{Deserialize, Serialize};

use super::epoch_loader::{EpochDataset, EpochLoader};
use crate::CoreError;
use crate::training::TrainingConfig;

/// Data settings of a stage that trains a language model from scratch (`[data]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LanguageModelDataConfig {
    pub source: DataSource,
    /// `bytes` (vocabulary 256) or `gpt2`.
    pub tokenizer: TokenizerConfig,
    /// Tokens a window predicts (the model sees `context` inputs).
    pub context: usize,
    /// Random training windows per epoch (an epoch is `train_windows / batch_size` steps), drawn
    /// anew every epoch.
    pub train_windows: usize,
    /// Contiguous validation windows evaluated after each epoch, from the start of the
    /// validation split, or `"all"`.
    #[serde(with = "retrofit_runtime::setting::all")]
    pub valid_windows: Option<usize>,
}

impl Default for LanguageModelDataConfig {
    fn default() -> Self {
        Self {
            source: DataSource::default(),
            tokenizer: TokenizerConfig::Bytes,
            context: 256,
            train_windows: 3_200,
            valid_windows: None,
        }
    }
}

impl LanguageModelDataConfig {
    /// The example plan: one window per example.
    pub fn plan(&self) -> ExamplePlan {
        ExamplePlan {
            example_tokens: self.context,
            order: TrainOrder::RandomWindows { examples: self.train_windows },
            valid_examples: self.valid_windows,
        }
    }
}

/// A corpus read, split and tokenized.
pub struct TokenizedCorpus {
    pub tokenizer: TextTokenizer,
    pub batcher: LmBatcher,
    pub train_ids: Arc<Vec<u32>>,
    pub valid_ids: Arc<Vec<u32>>,
    pub test_ids: Arc<Vec<u32>>,
    /// e.g. `text data/alice29.txt (bytes)`.
    pub description: String,
    source: String,
}

impl TokenizedCorpus {
    /// Reads and splits `source` and tokenizes every split with `tokenizer`.
    pub fn load(source: &DataSource, tokenizer: TextTokenizer) -> Result<Self, CoreError> {
        let splits = load_language_corpus(source)?;
        let batcher = LmBatcher::new(tokenizer.token_byte_lengths()?);
        Ok(Self {
            train_ids: Arc::new(tokenizer.encode_corpus(&splits.train)?),
            valid_ids: Arc::new(tokenizer.encode_corpus(&splits.valid)?),
            test_ids: Arc::new(tokenizer.encode_corpus(&splits.test)?),
            description: format!("{} ({})", source.describe(), tokenizer.name()),
            source: source.describe(),
            tokenizer,
            batcher,
        })
    }
}

/// How a corpus is cut into training examples of `example_tokens` consecutive targets (a window,
/// or several consecutive windows for a model that carries a state between them), and how many
/// validation examples the Learner evaluates after each epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExamplePlan {
    pub example_tokens: usize,
    pub order: TrainOrder,
    /// Validation examples: windows from the start of the validation split (random windows), or
    /// steps of its streams read from their start (streams); `None`: all.
    pub valid_examples: Option<usize>,
}

/// The order in which training reads the training split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrainOrder {
    /// `examples` independent examples at random offsets, drawn anew every epoch (seed + epoch).
    RandomWindows { examples: usize },
    /// `batch_size` contiguous streams, one per batch row, read in order from an offset drawn
    /// every epoch (seed + epoch), `steps` steps an epoch (`None`: all that fit): each step
    /// continues from where the previous one stopped (stateful truncated BPTT).
    Streams { steps: Option<usize> },
}

/// Loaders and facts of a tokenized corpus, cut by an [`ExamplePlan`].
pub struct LmData {
    pub train: Arc<dyn DataLoader<LmBatch>>,
    pub valid: Arc<dyn DataLoader<LmBatch>>,
    pub corpus: TokenizedCorpus,
    pub plan: ExamplePlan,
    /// Training examples (rows) per epoch.
    pub train_examples: usize,
    /// Target tokens and UTF-8 bytes that validation covers.
    pub valid_tokens: usize,
    pub valid_bytes: usize,
}

impl LmData {
    /// Builds the loaders of `corpus` for `plan`.
    pub fn new(corpus: TokenizedCorpus, plan: ExamplePlan, training: &TrainingConfig) -> Result<Self, CoreError> {
        if plan.valid_examples == Some(0) {
            return Err(CoreError::setting("data", "at least 1 validation example (window) is needed, or \"all\""));
        }
        let describe = |split: &str| format!("the {split} split of {}", corpus.source);
        let device = burn::tensor::Device::default();
        let seed = training.seed;
        let tokens = plan.example_tokens;
        let batcher = corpus.batcher.clone();
        let (train, train_examples): (Arc<dyn DataLoader<LmBatch>>, usize) = match plan.order {
            TrainOrder::RandomWindows { examples } => {
                if examples == 0 {
                    return Err(CoreError::setting("data", "at least 1 training example (window) per epoch is needed"));
                }
                // Checked once here, so that drawing an epoch cannot fail.
                RandomWindows::new(&describe("train"), corpus.train_ids.clone(), tokens, examples, seed)?;
                let (what, ids) = (describe("train"), corpus.train_ids.clone());
                let make: EpochDataset<Vec<u32>> = Arc::new(move |epoch| {
                    let seed = derive_seed(seed, SeedPurpose::WindowsEpoch, epoch as u64);
                    Arc::new(RandomWindows::new(&what, ids.clone(), tokens, examples, seed).expect("checked above"))
                });
                (Arc::new(EpochLoader::new(make, batcher.clone(), training.batch_size, device.clone(), 0)), examples)
            }
            TrainOrder::Streams { steps } => {
                if steps == Some(0) {
                    return Err(CoreError::setting("data.steps_per_epoch", "must be at least 1, or \"all\""));
                }
                let schedule = StreamSchedule { streams: training.batch_size, chunk: tokens, steps, seed };
                let first = schedule.epoch(&describe("train"), corpus.train_ids.clone(), 0)?;
                let examples = first.len();
                let (what, ids) = (describe("train"), corpus.train_ids.clone());
                let make: EpochDataset<StreamChunk> = Arc::new(move |epoch| {
                    Arc::new(schedule.epoch(&what, ids.clone(), epoch).expect("every epoch has the first's length"))
                });
                (Arc::new(EpochLoader::new(make, batcher.clone(), training.batch_size, device.clone(), 0)), examples)
            }
        };
        let (valid, valid_examples, valid_bytes): (Arc<dyn DataLoader<LmBatch>>, usize, usize) = match plan.order {
            TrainOrder::RandomWindows { .. } => {
                let all_valid = ContiguousWindows::new(&describe("valid"), corpus.valid_ids.clone(), tokens)?;
                let examples = plan.valid_examples.map_or(all_valid.len(), |count| count.min(all_valid.len()));
                let bytes = corpus.batcher.bytes_of(&corpus.valid_ids[1..=examples * tokens]);
                let valid = PartialDataset::new(all_valid, 0, examples);
                let loader =
                    DataLoaderBuilder::new(batcher).batch_size(training.batch_size).num_workers(training.workers);
                (loader.build(valid), examples, bytes)
            }
            TrainOrder::Streams { .. } => {
                let streams = training.batch_size;
                let fit =
                    StreamChunks::steps_that_fit(StreamChunks::stream_len(corpus.valid_ids.len(), streams), tokens, 0);
                let steps = plan.valid_examples.map(|count| count.min(fit.max(1)));
                let chunks =
                    StreamChunks::new(&describe("valid"), corpus.valid_ids.clone(), streams, tokens, 0, steps)?;
                let bytes = (0..chunks.steps())
                    .flat_map(|step| (0..streams).map(move |stream| (step, stream)))
                    .map(|(step, stream)| {
                        let start = chunks.start(step, stream);
                        corpus.batcher.bytes_of(&corpus.valid_ids[start + 1..=start + tokens])
                    })
                    .sum();
                let examples = chunks.len();
                let chunks: Arc<dyn Dataset<StreamChunk>> = Arc::new(chunks);
                let make: EpochDataset<StreamChunk> = Arc::new(move |_| chunks.clone());
                (Arc::new(EpochLoader::new(make, batcher, streams, device, 0)), examples, bytes)
            }
        };
        Ok(Self { train, valid, corpus, plan, train_examples, valid_tokens: valid_examples * tokens, valid_bytes })
    }

    /// Training tokens (targets) per epoch.
    pub fn train_tokens_per_epoch(&self) -> usize {
        self.train_examples * self.plan.example_tokens
    }

    /// e.g. `text data/alice29.txt (bytes); validation: 16384 tokens, 16384 bytes`.
    pub fn describe(&self) -> String {
        format!("{}; validation: {} tokens, {} bytes", self.corpus.description, self.valid_tokens, self.valid_bytes)
    }
}

/// The corpus of `config`, tokenized with its tokenizer, cut into one window per example.
pub fn load_lm_data(config: &LanguageModelDataConfig, training: &TrainingConfig) -> Result<LmData, CoreError> {
    let tokenizer = TextTokenizer::from_config(&config.tokenizer, std::iter::empty())?;
    LmData::new(TokenizedCorpus::load(&config.source, tokenizer)?, config.plan(), training)
}
