//! Stage 6, the recurrent generator: a frozen pre-trained base (GPT-2, Llama or Qwen2) with
//! trainable inserted blocks, a logit bias and one recurrent connection (`config::Recurrence`:
//! none, a token GRU, or something carried from window to window: a state vector, memory slots,
//! the previous window, a Transformer-XL cache, memory tokens; each in a file of its own),
//! trained and evaluated identically so that the variants can be compared.

mod checkpoint;
mod config;
mod connection;
mod diagnostics;
mod error;
mod inserted;
mod memory;
mod memory_tokens;
mod model;
mod previous_window;
mod sample;
mod schedule;
mod segment_state;
mod state;
mod task;
mod xl_cache;

pub use checkpoint::{
    CHECKPOINT_MANIFEST, CHECKPOINT_WEIGHTS, CheckpointManifest, base_fingerprint, load_checkpoint, save_checkpoint,
    start_from_checkpoint,
};
pub use config::{
    BaseShape, EvalSplit, InsertionConfig, Recurrence, RecurrentDataConfig, RecurrentGeneratorConfig, Schedule,
    TrainedParts,
};
pub use connection::{Connection, LEGACY_NAMES, PreviousWindow, TASK_PREFIX, XlCacheReader};
pub use diagnostics::{StateDiagnostics, state_diagnostics, successive_and_other};
pub use error::RecurrentError;
pub use inserted::{BlockExtra, BlockPrefix, InsertedBlock, WindowInputs};
pub use memory::MemoryState;
pub use memory_tokens::MemoryTokens;
pub use model::{RecurrentLm, StreamLoss, WindowPass};
pub use sample::{WindowedText, sample_ids};
pub use schedule::{Layer, LayerSchedule};
pub use segment_state::SegmentState;
pub use state::StreamState;
pub use task::{CarriedState, RecurrentLanguageModeling};
pub use xl_cache::{LayerKeys, XlCache};

use retrofit_core::base::{BaseFormat, load_base};
use retrofit_core::decoder::Decoder;
use retrofit_core::language_model::{
    GainInterval, LmData, StateCarry, StreamEvaluation, TokenizedCorpus, ValidStateParts, evaluate_streams,
    paired_gain_interval, train_language_model,
};
use retrofit_core::training::count_parameters;
use retrofit_runtime::device::ResolvedDevice;
use retrofit_runtime::gpu_memory::peak_gpu_memory_bytes;
use retrofit_runtime::memory::peak_host_memory_bytes;
use retrofit_runtime::metric::MetricSet;
use retrofit_runtime::run_dir::RunDir;
use retrofit_runtime::summary::{ParameterCounts, RunClock, RunSummary};
use retrofit_runtime::{Quantity, Split};
use serde::{Deserialize, Serialize};

/// The stage's name: its results go to `results/recurrent-generator/`.
pub const STAGE: &str = "recurrent-generator";

/// The run's checkpoint directory (trainable part only).
pub const CHECKPOINT_DIR: &str = "checkpoint";

/// The run's loss by window index, state carried and reset.
pub const WINDOW_LOSS_FILE: &str = "window_loss.json";

/// `window_loss.json`: the final evaluation with the state carried, reset and shuffled between
/// streams (what the ladder pairs a rung's windows with the control's from).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WindowLoss {
    /// `valid` or `test`.
    pub split: EvalSplit,
    /// Windows of one training step (the back-propagation horizon).
    pub bptt_windows: usize,
    pub carried: StreamEvaluation,
    pub reset: StreamEvaluation,
    /// Reset minus carried, in bits per byte (positive: the state helps), with its 95% paired
    /// bootstrap interval over the windows.
    pub gain: GainInterval,
    /// With every stream reading another stream's state ([`StateCarry::Shuffled`]): for the
    /// recurrences that carry a state, evaluated in 2 streams or more (`None` otherwise, and in
    /// runs made before it existed).
    #[serde(default)]
    pub shuffled: Option<StreamEvaluation>,
    /// Shuffled minus carried, in bits per byte (positive: the state knows something of its own
    /// stream), with its 95% paired bootstrap interval over the windows.
    #[serde(default)]
    pub shuffle_gain: Option<GainInterval>,
}

impl WindowLoss {
    /// The split the evaluation read.
    pub fn split(&self) -> Split {
        match self.split {
            EvalSplit::Valid => Split::Valid,
            EvalSplit::Test => Split::Test,
        }
    }

    /// Mean loss (state carried) of the windows within the back-propagation horizon (window
    /// index below `bptt_windows`).
    pub fn loss_within_horizon(&self) -> Option<f64> {
        self.carried.loss_of_windows(0..self.bptt_windows)
    }

    /// ... and of the windows beyond it.
    pub fn loss_beyond_horizon(&self) -> Option<f64> {
        self.carried.loss_of_windows(self.bptt_windows..usize::MAX)
    }

    /// Writes this evaluation into a summary's metrics, under the keys of the comparison table
    /// (`<split>_bits_per_byte`, `<split>_bits_per_byte_reset`, `bits_per_byte_gain[_low|_high]`,
    /// `<split>_loss_{recall,local}`, `<split>_loss_{within,beyond}_horizon`).
    pub fn record(&self, metrics: &mut MetricSet) {
        let (split, carried) = (self.split(), &self.carried);
        metrics.insert_split(split, Quantity::Loss, carried.loss);
        metrics.insert_split(split, Quantity::Perplexity, carried.perplexity);
        metrics.insert_split(split, Quantity::BitsPerByte, carried.bits_per_byte);
        let reset_key = format!("{}_reset", split.key(Quantity::BitsPerByte));
        metrics.insert(reset_key, Quantity::BitsPerByte, self.reset.bits_per_byte);
        let gain = Quantity::BitsPerByteGain;
        metrics.insert(gain.stem(), gain, self.gain.gain);
        metrics.insert(format!("{}_low", gain.stem()), gain, self.gain.low);
        metrics.insert(format!("{}_high", gain.stem()), gain, self.gain.high);
        if let (Some(shuffled), Some(shuffle_gain)) = (&self.shuffled, &self.shuffle_gain) {
            let shuffled_key = format!("{}_shuffled", split.key(Quantity::BitsPerByte));
            metrics.insert(shuffled_key, Quantity::BitsPerByte, shuffled.bits_per_byte);
            metrics.insert(format!("shuffled_{}", gain.stem()), gain, shuffle_gain.gain);
            metrics.insert(format!("shuffled_{}_low", gain.stem()), gain, shuffle_gain.low);
            metrics.insert(format!("shuffled_{}_high", gain.stem()), gain, shuffle_gain.high);
        }
        let loss = split.key(Quantity::Loss);
        for (class, value) in [("recall", carried.recall.recall_loss), ("local", carried.recall.local_loss)] {
            if value.is_finite() {
                metrics.insert(format!("{loss}_{class}"), Quantity::Loss, value);
            }
        }
        for (name, value) in [("within", self.loss_within_horizon()), ("beyond", self.loss_beyond_horizon())] {
            if let Some(value) = value {
                metrics.insert(format!("{loss}_{name}_horizon"), Quantity::Loss, value);
            }
        }
    }
}

/// The run's record of the base it started on (`config.json` and weights, SHA-256).
pub const BASE_FINGERPRINT_FILE: &str = "base.sha256";

/// Records the base's fingerprint when a run starts; when it resumes, refuses a base whose files
/// changed since (the inserted blocks would be trained half on one base, half on another).
fn check_base_fingerprint(base: &std::path::Path, run_dir: &RunDir) -> Result<(), RecurrentError> {
    let now = base_fingerprint(base)?;
    let record = run_dir.path().join(BASE_FINGERPRINT_FILE);
    match std::fs::read_to_string(&record) {
        Ok(recorded) if recorded.trim() != now => {
            Err(RecurrentError::BaseChanged { base: base.to_path_buf(), recorded: recorded.trim().to_string(), now })
        }
        Ok(_) => Ok(()),
        Err(_) => std::fs::write(&record, now + "\n").map_err(|cause| RecurrentError::Io { path: record, cause }),
    }
}

/// Resamples of the carried-minus-reset interval.
pub const BOOTSTRAP_RESAMPLES: usize = 2_000;

/// Trains the trainable part on the frozen base (unless `schedule = "zero-shot"`) with the
/// validation split for the stopping rule, saves it, and evaluates on `data.eval_split` (the test
/// split by default) with the state carried and reset.
pub fn run(
    config: &RecurrentGeneratorConfig,
    run_dir: &RunDir,
    device: &ResolvedDevice,
) -> Result<RunSummary, RecurrentError> {
    let clock = RunClock::start();
    check_run_settings(config, device)?;
    let train_device = match config.schedule {
        Schedule::Train => device.device.clone().autodiff(),
        Schedule::ZeroShot => device.device.clone(),
    };
    if !config.base.join("config.json").is_file() {
        return Err(RecurrentError::NoBase(config.base.clone()));
    }
    if config.schedule == Schedule::Train {
        check_base_fingerprint(&config.base, run_dir)?;
    }
    let (base, base_config) = load_base(&config.base, &train_device)?;
    let tokenizer = base_config.load_tokenizer(&config.base)?;
    tracing::info!(base = %config.base.display(), family = %base.family(), "frozen base loaded");
    let corpus = TokenizedCorpus::load(&config.data.source, tokenizer)?;
    device.device.seed(config.training.seed);
    let model = RecurrentLm::new(base, &config.model, config.data.context, &train_device)?;
    let model = match &config.model.init_from {
        Some(checkpoint) => start_from_checkpoint(model, checkpoint, &config.base)?,
        None => model,
    };
    let model = match config.model.train {
        TrainedParts::All => model,
        TrainedParts::Connection => model.with_inserted_frozen(),
    };
    let description = format!("{}, base {}", corpus.description, config.base.display());
    let (mut summary, model, corpus) = train_or_take(config, run_dir, device, model, corpus)?;
    let window_loss = evaluate(config, &model, &corpus, device)?;
    window_loss.record(&mut summary.final_metrics);
    run_dir.write_json(WINDOW_LOSS_FILE, &window_loss)?;
    let carried = &window_loss.carried;
    Ok(RunSummary {
        data: format!(
            "{description}; {}: {} streams x {} windows of {}, {} bytes",
            window_loss.split().prefix(),
            carried.streams,
            carried.windows_per_stream,
            config.data.context,
            carried.bytes
        ),
        // A resumed run's training summary holds its earlier legs' time.
        wall_time_s: clock.elapsed_s() + summary.earlier_legs_s,
        peak_memory_bytes: peak_host_memory_bytes(),
        peak_gpu_memory_bytes: peak_gpu_memory_bytes(),
        base_precision: Some(BaseFormat::of(model.base.dtype()).to_string()),
        ..summary
    })
}

/// Settings the run cannot start with.
fn check_run_settings(config: &RecurrentGeneratorConfig, device: &ResolvedDevice) -> Result<(), RecurrentError> {
    if config.data.bptt_windows == 0 {
        return Err(RecurrentError::from(retrofit_core::CoreError::setting(
            "data.bptt_windows",
            "must be at least 1 (the windows of one stream a training step reads)",
        )));
    }
    if device.is_data_parallel() && config.schedule == Schedule::Train {
        return Err(RecurrentError::from(retrofit_core::CoreError::setting(
            "--device",
            format!(
                "{}: stage 6 trains on streams whose state passes from one step to the next, which data-parallel training would split between devices; train on one device",
                device.name
            ),
        )));
    }
    Ok(())
}

/// Trains `model` (with the validation split for the stopping rule) and saves its trainable
/// part, or, for `schedule = "zero-shot"`, takes it as initialised.
fn train_or_take(
    config: &RecurrentGeneratorConfig,
    run_dir: &RunDir,
    device: &ResolvedDevice,
    model: RecurrentLm,
    corpus: TokenizedCorpus,
) -> Result<(RunSummary, RecurrentLm, TokenizedCorpus), RecurrentError> {
    Ok(match config.schedule {
        Schedule::Train => {
            let data = LmData::new(corpus, config.data.plan(), &config.training)?;
            // A recurrence that carries a state is also read reset on validation (and with
            // another stream's state where asked): its parts per epoch.
            let parts = match (model.carries_state(), config.data.valid_shuffled_part) {
                (false, _) => ValidStateParts::None,
                (true, false) => ValidStateParts::Reset,
                (true, true) => ValidStateParts::ResetAndShuffled,
            };
            let task = RecurrentLanguageModeling::new(model, parts);
            let (summary, task) = train_language_model(run_dir, device, &data, &config.training, config, task, parts)?;
            save_checkpoint(&task.model, config, &run_dir.path().join(CHECKPOINT_DIR))?;
            (summary, task.model, data.corpus)
        }
        Schedule::ZeroShot => {
            let parameters = ParameterCounts { trainable: 0, ..count_parameters(&model) };
            let summary = RunSummary::finish(run_dir, &device.name, config.training.seed, config)?;
            (RunSummary { parameters, ..summary }, model, corpus)
        }
    })
}

/// Evaluates `model` on `data.eval_split` with the state carried and, where it carries one,
/// reset and (with 2 streams or more) shuffled between streams, and the paired intervals of the
/// differences from carried.
fn evaluate(
    config: &RecurrentGeneratorConfig,
    model: &RecurrentLm,
    corpus: &TokenizedCorpus,
    device: &ResolvedDevice,
) -> Result<WindowLoss, RecurrentError> {
    let eval_ids = match config.data.eval_split {
        EvalSplit::Valid => &corpus.valid_ids,
        EvalSplit::Test => &corpus.test_ids,
    };
    let evaluate = |carry| {
        let bytes_of = |ids: &[u32]| corpus.batcher.bytes_of(ids);
        evaluate_streams(
            model,
            eval_ids,
            bytes_of,
            config.data.eval_streams,
            config.data.eval_windows,
            carry,
            &device.device,
        )
    };
    let carried = evaluate(StateCarry::Carried)?;
    let reset = if model.carries_state() { evaluate(StateCarry::Reset)? } else { carried.clone() };
    let gain = paired_gain_interval(&carried, &reset, 0.95, BOOTSTRAP_RESAMPLES, config.training.seed)?;
    let (shuffled, shuffle_gain) = if model.carries_state() && config.data.eval_streams >= 2 {
        let shuffled = evaluate(StateCarry::Shuffled)?;
        let shuffle_gain = paired_gain_interval(&carried, &shuffled, 0.95, BOOTSTRAP_RESAMPLES, config.training.seed)?;
        (Some(shuffled), Some(shuffle_gain))
    } else {
        (None, None)
    };
    Ok(WindowLoss {
        split: config.data.eval_split,
        bptt_windows: config.data.bptt_windows,
        carried,
        reset,
        gain,
        shuffled,
        shuffle_gain,
    })
}
