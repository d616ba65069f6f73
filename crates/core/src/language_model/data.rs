//! What the language-model stages share on the data side: the `[data]` settings, random training
//! windows and contiguous validation windows.

use std::path::PathBuf;
use std::sync::Arc;

use burn::data::dataloader::{DataLoader, DataLoaderBuilder};
use burn::data::dataset::Dataset;
use burn::data::dataset::transform::PartialDataset;
use retrofit_data::lm_batch::{ContiguousWindows, LmBatch, LmBatcher, RandomWindows};
use retrofit_data::source::{DataSource, load_language_corpus};
use retrofit_data::tokenizer::{TextTokenizer, TokenizerConfig};
use serde::{Deserialize, Serialize};

use crate::CoreError;
use crate::training::TrainingConfig;

/// The text shipped with the repository (Alice in Wonderland, public domain).
pub const EMBEDDED_TEXT: &str = "data/alice29.txt";

/// Data settings of a language-model stage (`[data]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LanguageModelDataConfig {
    pub source: DataSource,
    /// `bytes` (vocabulary 256) or `gpt2`.
    pub tokenizer: TokenizerConfig,
    /// Tokens a window predicts (the model sees `context` inputs).
    pub context: usize,
    /// Random training windows per epoch (an epoch is `train_windows / batch_size` steps).
    pub train_windows: usize,
    /// Contiguous validation windows evaluated after each epoch, from the start of the
    /// validation split; 0 evaluates all of it.
    pub valid_windows: usize,
}

impl Default for LanguageModelDataConfig {
    fn default() -> Self {
        Self {
            source: DataSource::Text { path: PathBuf::from(EMBEDDED_TEXT), valid_fraction: 0.05, test_fraction: 0.05 },
            tokenizer: TokenizerConfig::Bytes,
            context: 256,
            train_windows: 3_200,
            valid_windows: 0,
        }
    }
}

/// Loaders and facts of a tokenized corpus.
pub struct LmData {
    pub train: Arc<dyn DataLoader<LmBatch>>,
    pub valid: Arc<dyn DataLoader<LmBatch>>,
    pub tokenizer: TextTokenizer,
    pub vocab_size: usize,
    /// Tokens of the training split.
    pub train_tokens: usize,
    /// Target tokens and UTF-8 bytes that validation covers.
    pub valid_tokens: usize,
    pub valid_bytes: usize,
    /// e.g. `text data/alice29.txt (bytes)`.
    pub description: String,
}

/// Reads, splits and tokenizes the corpus and builds the loaders.
pub fn load_lm_data(config: &LanguageModelDataConfig, training: &TrainingConfig) -> Result<LmData, CoreError> {
    let splits = load_language_corpus(&config.source)?;
    let tokenizer = TextTokenizer::from_config(&config.tokenizer, std::iter::empty())?;
    let batcher = LmBatcher::new(tokenizer.token_byte_lengths()?);
    let describe = |split: &str| format!("the {split} split of {}", config.source.describe());
    let train_ids = Arc::new(tokenizer.encode_corpus(&splits.train)?);
    let valid_ids = Arc::new(tokenizer.encode_corpus(&splits.valid)?);
    if config.train_windows == 0 {
        return Err(CoreError::Training("data.train_windows must be at least 1".to_string()));
    }
    let train = RandomWindows::new(&describe("train"), train_ids.clone(), config.context, config.train_windows, training.seed)?;
    let all_valid = ContiguousWindows::new(&describe("valid"), valid_ids.clone(), config.context)?;
    let valid_windows = if config.valid_windows == 0 { all_valid.len() } else { config.valid_windows.min(all_valid.len()) };
    let valid_tokens = valid_windows * config.context;
    let valid_bytes = batcher.bytes_of(&valid_ids[1..=valid_tokens]);
    let valid = PartialDataset::new(all_valid, 0, valid_windows);
    debug_assert_eq!(valid.len(), valid_windows);
    let loader = || DataLoaderBuilder::new(batcher.clone()).batch_size(training.batch_size).num_workers(training.workers);
    Ok(LmData {
        train: loader().build(train),
        valid: loader().build(valid),
        vocab_size: tokenizer.vocab_size(),
        train_tokens: train_ids.len(),
        valid_tokens,
        valid_bytes,
        description: format!("{} ({})", config.source.describe(), tokenizer.name()),
        tokenizer,
    })
}
