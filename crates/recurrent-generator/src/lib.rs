//! Stage 6, the recurrent generator: a frozen pre-trained GPT-2 with trainable inserted blocks,
//! a logit bias and a recurrent connection (none, a token GRU, or a state carried from window
//! to window), trained and evaluated identically so that the variants can be compared.

mod checkpoint;
mod config;
mod error;
mod evaluate;
mod inserted;
mod model;
mod task;

pub use checkpoint::{CHECKPOINT_MANIFEST, CHECKPOINT_WEIGHTS, CheckpointManifest, base_fingerprint, load_checkpoint, save_checkpoint};
pub use config::{InsertionConfig, Recurrence, RecurrentDataConfig, RecurrentGeneratorConfig};
pub use error::RecurrentError;
pub use evaluate::{StreamEvaluation, evaluate_streams};
pub use inserted::InsertedBlock;
pub use model::{RecurrentGpt2, SegmentState};
pub use task::RecurrentLanguageModeling;

use std::sync::Arc;

use burn::data::dataloader::DataLoaderBuilder;
use burn::data::dataset::Dataset;
use burn::data::dataset::transform::PartialDataset;
use retrofit_core::CoreError;
use retrofit_core::device::ResolvedDevice;
use retrofit_core::gpt2::{load_gpt2, load_tokenizer};
use retrofit_core::run_dir::RunDir;
use retrofit_core::summary::{ParameterCounts, RunClock, RunSummary, Throughput};
use retrofit_core::training::{BitsPerByteMetric, count_parameters, train};
use retrofit_data::lm_batch::{ContiguousWindows, LmBatcher, RandomWindows};
use retrofit_data::source::load_language_corpus;
use serde::Serialize;

/// The stage's name: its results go to `results/recurrent-generator/`.
pub const STAGE: &str = "recurrent-generator";

/// The run's checkpoint directory (trainable part only).
pub const CHECKPOINT_DIR: &str = "checkpoint";

/// The run's loss by window index, state carried and reset.
pub const WINDOW_LOSS_FILE: &str = "window_loss.json";

/// `window_loss.json`.
#[derive(Debug, Clone, Serialize)]
pub struct WindowLoss {
    pub carried: StreamEvaluation,
    pub reset: StreamEvaluation,
}

/// Trains the trainable part on the frozen base (unless `training.epochs = 0`), saves it, and
/// evaluates on the validation split with the state carried and reset.
pub fn run(config: &RecurrentGeneratorConfig, run_dir: &RunDir, device: &ResolvedDevice) -> Result<RunSummary, CoreError> {
    let clock = RunClock::start();
    let training = &config.training;
    let train_device = if training.epochs > 0 { device.device.clone().autodiff() } else { device.device.clone() };
    if !config.base.join("config.json").is_file() {
        return Err(CoreError::Model(format!(
            "no GPT-2 base at {} (config.json missing): run `just fetch-distilgpt2`, or set base to a generator run's model/ (configs/generator-gpt2.toml)",
            config.base.display()
        )));
    }
    let (base, base_config) = load_gpt2(&config.base, &train_device).map_err(RecurrentError::from)?;
    let tokenizer = load_tokenizer(&config.base, &base_config).map_err(RecurrentError::from)?;
    let batcher = LmBatcher::new(tokenizer.token_byte_lengths()?);
    let splits = load_language_corpus(&config.data.source)?;
    let train_ids = Arc::new(tokenizer.encode_corpus(&splits.train)?);
    let valid_ids = Arc::new(tokenizer.encode_corpus(&splits.valid)?);
    device.device.seed(training.seed);
    let model = RecurrentGpt2::new(base, &config.model, config.data.context, &train_device)?;
    let mut parameters = count_parameters(&model);
    let description = format!("{} ({}, base {})", config.data.source.describe(), tokenizer.name(), config.base.display());
    tracing::info!(total = parameters.total, trainable = parameters.trainable, data = %description, "recurrent generator");

    let mut final_metrics = std::collections::BTreeMap::new();
    let mut best_metrics = std::collections::BTreeMap::new();
    let mut throughput = None;
    let model = if training.epochs > 0 {
        let example = config.data.context * config.data.bptt_windows.max(1);
        let describe = |split: &str| format!("the {split} split of {}", config.data.source.describe());
        let train_set = RandomWindows::new(&describe("train"), train_ids.clone(), example, config.data.train_examples, training.seed)?;
        let all_valid = ContiguousWindows::new(&describe("valid"), valid_ids.clone(), example)?;
        let valid_examples = if config.data.valid_examples == 0 { all_valid.len() } else { config.data.valid_examples.min(all_valid.len()) };
        let valid_set = PartialDataset::new(all_valid, 0, valid_examples);
        let loader = || DataLoaderBuilder::new(batcher.clone()).batch_size(training.batch_size).num_workers(training.workers);
        let report = train(
            training,
            run_dir,
            RecurrentLanguageModeling { model },
            loader().build(train_set),
            loader().build(valid_set),
            |training| training.metrics((BitsPerByteMetric::default(),)),
            &[BitsPerByteMetric::NAME],
        )?;
        (final_metrics, best_metrics) = report.summary_metrics();
        let tokens = config.data.train_examples * example * training.epochs;
        throughput = Some(Throughput { value: tokens as f64 / report.wall_time_s.max(1e-9), unit: "tokens/s".to_string() });
        save_checkpoint(&report.model.model, config, &run_dir.path().join(CHECKPOINT_DIR))?;
        report.model.model
    } else {
        parameters = ParameterCounts { trainable: 0, ..parameters };
        model
    };

    let evaluate = |reset| evaluate_streams(&model, &valid_ids, &batcher, config.data.eval_streams, config.data.eval_windows, reset, &device.device);
    let carried = evaluate(false)?;
    let reset = if model.segment.is_some() { evaluate(true)? } else { carried.clone() };
    for (key, value) in [
        ("valid_loss", carried.loss),
        ("valid_perplexity", carried.perplexity),
        ("valid_bits_per_byte", carried.bits_per_byte),
        ("valid_bits_per_byte_reset", reset.bits_per_byte),
        ("state_gain_bits_per_byte", reset.bits_per_byte - carried.bits_per_byte),
    ] {
        final_metrics.insert(key.to_string(), value);
    }
    run_dir.write_json(WINDOW_LOSS_FILE, &WindowLoss { carried: carried.clone(), reset })?;
    Ok(RunSummary {
        data: format!("{description}; validation: {} streams x {} windows of {}, {} bytes", carried.streams, carried.windows_per_stream, config.data.context, carried.bytes),
        parameters,
        wall_time_s: clock.elapsed_s(),
        throughput,
        final_metrics,
        best_metrics,
        ..RunSummary::finish(run_dir, &device.name, training.seed, config)?
    })
}
