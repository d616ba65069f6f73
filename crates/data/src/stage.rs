//! Stage 1, the data stage: load what a config names and compute its statistics.

use std::sync::Arc;

use retrofit_runtime::run_dir::RunDir;
use retrofit_runtime::summary::{RunClock, RunSummary, Throughput};
use retrofit_runtime::{MetricSet, Quantity};
use serde::{Deserialize, Serialize};

use crate::DataError;
use crate::lm_batch::ContiguousWindows;
use crate::source::{DataSource, load_labelled, load_language_corpus};
use crate::stats::{DataStats, SplitStats};
use crate::tokenizer::{TextTokenizer, TokenizerConfig};

/// The data stage's config (`configs/data.toml`); defaults are the embedded Alice corpus with
/// GPT-2 BPE.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataStageConfig {
    pub source: DataSource,
    pub tokenizer: TokenizerConfig,
    /// Language-model context: every split must hold at least one window of `context + 1` tokens.
    pub context: usize,
    /// Classification: longest sequence a batch keeps (longer ones are truncated).
    pub max_length: usize,
    /// Seed of every random split.
    pub seed: u64,
}

impl Default for DataStageConfig {
    fn default() -> Self {
        Self {
            source: DataSource::default(),
            tokenizer: TokenizerConfig::default(),
            context: 256,
            max_length: 512,
            seed: 0,
        }
    }
}

/// Loads the configured data and computes its statistics. `progress` is told each phase.
pub fn describe_data(config: &DataStageConfig, progress: &dyn Fn(&str)) -> Result<DataStats, DataError> {
    if config.source.is_labelled() {
        progress("reading and tokenizing labelled examples");
        let data = load_labelled(&config.source, &config.tokenizer, config.seed)?;
        for (name, examples) in data.splits.named() {
            if examples.is_empty() {
                tracing::warn!(
                    "the {name} split of {} is empty: a training stage will refuse it (change {})",
                    config.source.describe(),
                    split_key(name)
                );
            }
        }
        let splits = data
            .splits
            .named()
            .iter()
            .enumerate()
            .map(|(index, (name, examples))| {
                SplitStats::labelled(name, examples, data.split_bytes.map(|bytes| bytes[index]), config.max_length)
            })
            .collect();
        return Ok(DataStats {
            source: config.source.describe(),
            tokenizer: data.vocabulary.name().to_string(),
            vocab_size: data.vocabulary.size(),
            splits,
        });
    }
    progress("reading corpus");
    let corpus = load_language_corpus(&config.source)?;
    progress("building tokenizer");
    // Only a word-level vocabulary reads the training text (a line at a time).
    let train_text = String::from_utf8_lossy(&corpus.train);
    let tokenizer = TextTokenizer::from_config(&config.tokenizer, train_text.lines())?;
    let mut splits = Vec::new();
    for (name, bytes) in corpus.named() {
        progress(&format!("tokenizing {name} ({} bytes)", bytes.len()));
        let tokens = Arc::new(tokenizer.encode_corpus(bytes)?);
        ContiguousWindows::new(&format!("{} {name} split", config.source.describe()), tokens.clone(), config.context)?;
        splits.push(SplitStats::running_text(name, bytes.len(), tokens.len(), config.context));
    }
    Ok(DataStats {
        source: config.source.describe(),
        tokenizer: tokenizer.name().to_string(),
        vocab_size: tokenizer.vocab_size(),
        splits,
    })
}

/// The setting that sizes a held-out split of a labelled source (`data.source.valid_fraction`).
pub fn split_key(split: &str) -> String {
    match split {
        "valid" | "test" => format!("data.source.{split}_fraction"),
        _ => "data.source (more examples)".to_string(),
    }
}

/// The stage's name: its results go to `results/data/`.
pub const STAGE: &str = "data";

/// The statistics file of a run.
pub const STATS_FILE: &str = "stats.json";

/// The data stage from config to summary: computes the statistics, writes `stats.json` into the
/// run directory and returns the run's summary (counts as metrics; no model, no device).
pub fn run(
    config: &DataStageConfig,
    run_dir: &RunDir,
    progress: &dyn Fn(&str),
) -> Result<(DataStats, RunSummary), DataError> {
    let clock = RunClock::start();
    let stats = describe_data(config, progress)?;
    run_dir.write_json(STATS_FILE, &stats)?;
    let wall_time_s = clock.elapsed_s();
    let mut metrics = MetricSet::new();
    metrics.insert("vocab_size", Quantity::Count, stats.vocab_size as f64);
    for split in &stats.splits {
        metrics.insert(format!("{}_tokens", split.split), Quantity::Count, split.tokens as f64);
        if let Some(examples) = split.examples {
            metrics.insert(format!("{}_examples", split.split), Quantity::Count, examples as f64);
        }
        if let Some(bytes_per_token) = split.bytes_per_token {
            metrics.insert(format!("{}_bytes_per_token", split.split), Quantity::BytesPerToken, bytes_per_token);
        }
    }
    let summary = RunSummary {
        data: format!("{} ({})", stats.source, stats.tokenizer),
        wall_time_s,
        throughput: Some(Throughput {
            value: stats.total_tokens() as f64 / wall_time_s.max(1e-9),
            unit: "tokens/s".to_string(),
        }),
        best_metrics: metrics.clone(),
        final_metrics: metrics,
        ..RunSummary::finish(run_dir, "cpu", config.seed, config)?
    };
    Ok((stats, summary))
}
