//! The data side of every language-model stage: a corpus read, split and tokenized once, cut
//! into random training examples and contiguous validation examples of whole windows.

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

/// Data settings of a stage that trains a language model from scratch (`[data]`).
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
            train_examples: self.train_windows,
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

/// How a corpus is cut into examples: `example_tokens` consecutive targets each (a window, or
/// several consecutive windows for a model that carries a state between them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExamplePlan {
    pub example_tokens: usize,
    /// Random training examples per epoch.
    pub train_examples: usize,
    /// Contiguous validation examples from the start of the validation split (`None`: all).
    pub valid_examples: Option<usize>,
}

/// Loaders and facts of a tokenized corpus, cut by an [`ExamplePlan`].
pub struct LmData {
    pub train: Arc<dyn DataLoader<LmBatch>>,
    pub valid: Arc<dyn DataLoader<LmBatch>>,
    pub corpus: TokenizedCorpus,
    pub plan: ExamplePlan,
    /// Target tokens and UTF-8 bytes that validation covers.
    pub valid_tokens: usize,
    pub valid_bytes: usize,
}

impl LmData {
    /// Builds the loaders of `corpus` for `plan`.
    pub fn new(corpus: TokenizedCorpus, plan: ExamplePlan, training: &TrainingConfig) -> Result<Self, CoreError> {
        if plan.train_examples == 0 {
            return Err(CoreError::setting("data", "at least 1 training example (window) per epoch is needed"));
        }
        if plan.valid_examples == Some(0) {
            return Err(CoreError::setting("data", "at least 1 validation example (window) is needed, or \"all\""));
        }
        let describe = |split: &str| format!("the {split} split of {}", corpus.source);
        let train = RandomWindows::new(
            &describe("train"),
            corpus.train_ids.clone(),
            plan.example_tokens,
            plan.train_examples,
            training.seed,
        )?;
        let all_valid = ContiguousWindows::new(&describe("valid"), corpus.valid_ids.clone(), plan.example_tokens)?;
        let valid_examples = plan.valid_examples.map_or(all_valid.len(), |count| count.min(all_valid.len()));
        let valid_tokens = valid_examples * plan.example_tokens;
        let valid_bytes = corpus.batcher.bytes_of(&corpus.valid_ids[1..=valid_tokens]);
        let valid = PartialDataset::new(all_valid, 0, valid_examples);
        debug_assert_eq!(valid.len(), valid_examples);
        let loader = || {
            DataLoaderBuilder::new(corpus.batcher.clone()).batch_size(training.batch_size).num_workers(training.workers)
        };
        Ok(Self { train: loader().build(train), valid: loader().build(valid), corpus, plan, valid_tokens, valid_bytes })
    }

    /// Training tokens (targets) per epoch.
    pub fn train_tokens_per_epoch(&self) -> usize {
        self.plan.train_examples * self.plan.example_tokens
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
