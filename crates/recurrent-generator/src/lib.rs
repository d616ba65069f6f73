//! Stage 6, the recurrent generator: a frozen pre-trained base (GPT-2 or Llama family) with trainable inserted blocks,
//! a logit bias and a recurrent connection (none, a token GRU, or a state carried from window
//! to window), trained and evaluated identically so that the variants can be compared.

mod checkpoint;
mod config;
mod error;
mod inserted;
mod model;
mod task;

pub use checkpoint::{
    CHECKPOINT_MANIFEST, CHECKPOINT_WEIGHTS, CheckpointManifest, base_fingerprint, load_checkpoint, save_checkpoint,
};
pub use config::{InsertionConfig, Recurrence, RecurrentDataConfig, RecurrentGeneratorConfig, Schedule};
pub use error::RecurrentError;
pub use inserted::{InsertedBlock, TokenGru};
pub use model::{RecurrentLm, SegmentState};
pub use task::RecurrentLanguageModeling;

use retrofit_core::base::load_base;
use retrofit_core::language_model::{
    LmData, StateCarry, StreamEvaluation, TokenizedCorpus, evaluate_streams, train_language_model,
};
use retrofit_core::training::count_parameters;
use retrofit_runtime::device::ResolvedDevice;
use retrofit_runtime::memory::peak_host_memory_bytes;
use retrofit_runtime::run_dir::RunDir;
use retrofit_runtime::summary::{ParameterCounts, RunClock, RunSummary};
use retrofit_runtime::{Quantity, Split};
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

/// Trains the trainable part on the frozen base (unless `schedule = "zero-shot"`), saves it, and
/// evaluates on the validation split with the state carried and reset.
pub fn run(
    config: &RecurrentGeneratorConfig,
    run_dir: &RunDir,
    device: &ResolvedDevice,
) -> Result<RunSummary, RecurrentError> {
    let clock = RunClock::start();
    let train_device = match config.schedule {
        Schedule::Train => device.device.clone().autodiff(),
        Schedule::ZeroShot => device.device.clone(),
    };
    if !config.base.join("config.json").is_file() {
        return Err(RecurrentError::NoBase(config.base.clone()));
    }
    let (base, base_config) = load_base(&config.base, &train_device)?;
    let tokenizer = base_config.load_tokenizer(&config.base)?;
    tracing::info!(base = %config.base.display(), family = %base.family(), "frozen base loaded");
    let corpus = TokenizedCorpus::load(&config.data.source, tokenizer)?;
    device.device.seed(config.training.seed);
    let model = RecurrentLm::new(base, &config.model, config.data.context, &train_device)?;
    let description = format!("{}, base {}", corpus.description, config.base.display());

    let (mut summary, model, corpus) = match config.schedule {
        Schedule::Train => {
            let data = LmData::new(corpus, config.data.plan(), &config.training)?;
            let task = RecurrentLanguageModeling { model };
            let (summary, task) = train_language_model(run_dir, device, &data, &config.training, config, task)?;
            save_checkpoint(&task.model, config, &run_dir.path().join(CHECKPOINT_DIR))?;
            (summary, task.model, data.corpus)
        }
        Schedule::ZeroShot => {
            let parameters = ParameterCounts { trainable: 0, ..count_parameters(&model) };
            (
                RunSummary { parameters, ..RunSummary::finish(run_dir, &device.name, config.training.seed, config)? },
                model,
                corpus,
            )
        }
    };

    let evaluate = |carry| {
        let bytes_of = |ids: &[u32]| corpus.batcher.bytes_of(ids);
        evaluate_streams(
            &model,
            &corpus.valid_ids,
            bytes_of,
            config.data.eval_streams,
            config.data.eval_windows,
            carry,
            &device.device,
        )
    };
    let carried = evaluate(StateCarry::Carried)?;
    let reset = if model.segment.is_some() { evaluate(StateCarry::Reset)? } else { carried.clone() };
    let metrics = &mut summary.final_metrics;
    metrics.insert_split(Split::Valid, Quantity::Loss, carried.loss);
    metrics.insert_split(Split::Valid, Quantity::Perplexity, carried.perplexity);
    metrics.insert_split(Split::Valid, Quantity::BitsPerByte, carried.bits_per_byte);
    metrics.insert("valid_bits_per_byte_reset", Quantity::BitsPerByte, reset.bits_per_byte);
    metrics.insert(
        Quantity::BitsPerByteGain.stem(),
        Quantity::BitsPerByteGain,
        reset.bits_per_byte - carried.bits_per_byte,
    );
    run_dir.write_json(WINDOW_LOSS_FILE, &WindowLoss { carried: carried.clone(), reset })?;
    Ok(RunSummary {
        data: format!(
            "{description}; validation: {} streams x {} windows of {}, {} bytes",
            carried.streams, carried.windows_per_stream, config.data.context, carried.bytes
        ),
        wall_time_s: clock.elapsed_s(),
        peak_memory_bytes: peak_host_memory_bytes(),
        ..summary
    })
}
