use std::collections::BTreeMap;
use std::sync::Arc;

use burn::data::dataloader::DataLoader;
use burn::module::Module;
use burn::optim::{AdamConfig, AdamWConfig};
use burn::tensor::Device;
use burn::train::checkpoint::{Checkpointer, FileCheckpointer};
use burn::train::metric::{Adaptor, LearningRateMetric, LossInput, LossMetric};
use burn::train::{ExecutionStrategy, Interrupter, Learner, LearnerSummary, MultiDeviceOptim, SupervisedTraining};

use super::config::{Optimizer, TrainingConfig};
use super::divergence::DivergenceGuard;
use super::grad_norm::GradNormMetric;
use super::progress_renderer::{ProgressOutput, ProgressRenderer};
use super::quiet_renderer::QuietRenderer;
use super::resume::{ModelCheckpointer, ResumableLoader, discard_logs_after, latest_checkpoint, resume_dir};
use super::schedule::learning_rate_schedule;
use super::sealed_checkpoint::{
    CheckpointWriteFailure, SealedCheckpointer, checkpoint_file, damage_of, newest_intact_checkpoint,
};
use super::selection::{NoImprovementStopping, selected_epoch};
use super::task::{StepTimes, TaskModel, Trainable};
use super::training_clock::TrainingClock;
use crate::CoreError;
use crate::training::{BitsPerByteMetric, CarriedStatePartMetric, ShuffledStatePartMetric};
use retrofit_runtime::curves::{Curves, Series};
use retrofit_runtime::run_dir::RunDir;
use retrofit_runtime::{MetricSet, Quantity, RuntimeError, Split};

/// A metric the Learner logs, by its Learner name, and what it measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LearnerMetric {
    /// The name burn's Learner logs it under (`Loss`, `Bits Per Byte`, ...).
    pub learner_name: &'static str,
    pub quantity: Quantity,
    /// What tells it apart from another metric of the same quantity, after the quantity's stem in
    /// its key (`valid_state_gain_bits_per_byte_shuffled`); `None` for most.
    pub variant: Option<&'static str>,
}

impl LearnerMetric {
    const fn of(learner_name: &'static str, quantity: Quantity) -> Self {
        Self { learner_name, quantity, variant: None }
    }

    pub const LOSS: Self = Self::of("Loss", Quantity::Loss);
    pub const LEARNING_RATE: Self = Self::of("Learning Rate", Quantity::LearningRate);
    pub const GRAD_NORM: Self = Self::of(GradNormMetric::NAME, Quantity::GradNorm);
    pub const BITS_PER_BYTE: Self = Self::of(BitsPerByteMetric::NAME, Quantity::BitsPerByte);
    pub const ACCURACY: Self = Self::of("Accuracy", Quantity::Accuracy);
    /// Validation only: reset minus carried bits per byte (`valid_state_gain_bits_per_byte`).
    pub const CARRIED_STATE_PART: Self = Self::of(CarriedStatePartMetric::NAME, Quantity::BitsPerByteGain);
    /// Validation only: another stream's state minus carried bits per byte
    /// (`valid_state_gain_bits_per_byte_shuffled`).
    pub const SHUFFLED_STATE_PART: Self = Self {
        learner_name: ShuffledStatePartMetric::NAME,
        quantity: Quantity::BitsPerByteGain,
        variant: Some("shuffled"),
    };

    /// Its name in curves (`bits_per_byte`, `state_gain_bits_per_byte_shuffled`).
    pub fn stem(&self) -> String {
        match self.variant {
            Some(variant) => format!("{}_{variant}", self.quantity.stem()),
            None => self.quantity.stem().to_string(),
        }
    }

    /// Its key in summaries (`valid_bits_per_byte`, `valid_state_gain_bits_per_byte_shuffled`).
    pub fn key(&self, split: Split) -> String {
        format!("{}_{}", split.prefix(), self.stem())
    }
}

/// Per-epoch values of every metric, as the Learner logged them (epoch means).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricHistory {
    /// `train_loss`, `train_grad_norm`, `valid_accuracy`, ... → what it measures and one value
    /// per epoch.
    pub per_epoch: BTreeMap<String, (Quantity, Vec<f64>)>,
}

impl MetricHistory {
    /// Epochs logged (fewer than configured when the stopping rule ended the run).
    pub fn epochs(&self) -> usize {
        self.per_epoch.values().map(|(_, values)| values.len()).max().unwrap_or(0)
    }

    /// Last value of each metric.
    pub fn final_values(&self) -> MetricSet {
        let mut set = MetricSet::new();
        for (name, (quantity, values)) in &self.per_epoch {
            if let Some(&value) = values.last() {
                set.insert(name.clone(), *quantity, value);
            }
        }
        set
    }

    /// The value of each metric at `epoch` (1-based).
    pub fn values_at(&self, epoch: usize) -> MetricSet {
        let mut set = MetricSet::new();
        for (name, (quantity, values)) in &self.per_epoch {
            if let Some(&value) = epoch.checked_sub(1).and_then(|index| values.get(index)) {
                set.insert(name.clone(), *quantity, value);
            }
        }
        set
    }

    /// The epoch model selection chose: the first with the lowest validation loss (`None`
    /// without validation losses).
    pub fn selected_epoch(&self) -> Option<usize> {
        self.per_epoch.get(&Split::Valid.key(Quantity::Loss)).and_then(|(_, losses)| selected_epoch(losses))
    }

    /// Best value of each metric over the epochs, by its quantity's direction.
    pub fn best_values(&self) -> MetricSet {
        let mut set = MetricSet::new();
        for (name, (quantity, values)) in &self.per_epoch {
            if let Some(best) = values.iter().copied().reduce(|a, b| quantity.better(a, b)) {
                set.insert(name.clone(), *quantity, best);
            }
        }
        set
    }
}

/// What a training run produced.
#[derive(Debug)]
pub struct TrainingReport<M> {
    /// The selected model (the weights of the epoch with the lowest validation loss, restored
    /// from its checkpoint when a later epoch ended the run), without autodiff (ready for
    /// evaluation).
    pub model: M,
    /// The epoch whose weights `model` holds (see [`MetricHistory::selected_epoch`]).
    pub selected_epoch: usize,
    /// Seconds spent in the Learner (training and validation epochs), over the run's legs: a
    /// resumed run adds the time its earlier legs spent on the epochs it kept.
    pub wall_time_s: f64,
    /// Of them, the earlier legs' (0 for a run that started in this process).
    pub earlier_legs_s: f64,
    /// Median seconds of a training step (see [`StepTimes`]).
    pub median_step_s: Option<f64>,
    pub history: MetricHistory,
}

impl<M> TrainingReport<M> {
    /// The metrics of the selected epoch (with `median_step_s`) and the best metrics, for the
    /// run's summary.
    pub fn summary_metrics(&self) -> (MetricSet, MetricSet) {
        let mut final_metrics = self.history.values_at(self.selected_epoch);
        if let Some(median) = self.median_step_s {
            final_metrics.insert("median_step_s", Quantity::Seconds, median);
        }
        (final_metrics, self.history.best_values())
    }
}

/// The Learner's execution strategy for `devices` (the main one first): one device alone, or
/// data-parallel over several (burn's multi-device strategy: each device trains on its share of
/// the batches, the gradients are gathered and the optimizer steps on the main device).
pub fn execution_strategy(devices: &[Device]) -> ExecutionStrategy {
    match devices {
        [] => ExecutionStrategy::single(Device::default()),
        [one] => ExecutionStrategy::single(one.clone()),
        many => ExecutionStrategy::multi(many.to_vec(), MultiDeviceOptim::OptimMainDevice),
    }
}

/// Trains `model` (built on an autodiff device of `devices[0]`; data-parallel when `devices`
/// holds several) with burn's Learner: the configured optimizer,
/// linear warm-up, global gradient clipping, and the metrics loss, learning rate and gradient
/// norm plus whatever `register_metrics` adds (listed in `task_metrics` so that they are read back
/// into the history). Logs and checkpoints (every epoch, `<run>/resume/`) go into the run
/// directory; a run directory that holds checkpoints (a killed or interrupted run opened again)
/// resumes from the last one (see [`super::resume`]).
// Each argument is a separate input of the run (settings, directory, devices, model, data, metrics).
#[allow(clippy::too_many_arguments)]
pub fn train<M>(
    config: &TrainingConfig,
    run_dir: &RunDir,
    devices: &[Device],
    model: M,
    train_loader: Arc<dyn DataLoader<M::Batch>>,
    valid_loader: Arc<dyn DataLoader<M::Batch>>,
    register_metrics: impl FnOnce(SupervisedTraining<Trainable<M>>) -> SupervisedTraining<Trainable<M>>,
    task_metrics: &[LearnerMetric],
) -> Result<TrainingReport<M>, CoreError>
where
    M: TaskModel,
    M::Output: Adaptor<LossInput>,
{
    let optimizer = match config.optimizer {
        Optimizer::Adam => AdamConfig::new().with_epsilon(1e-8).init(),
        Optimizer::AdamW { weight_decay } => {
            AdamWConfig::new().with_epsilon(1e-8).with_weight_decay(weight_decay as f32).init()
        }
    };
    let resume_from = resume_point(config, run_dir)?;
    let first_epoch = resume_from.unwrap_or(0);
    let steps_per_epoch = train_loader.num_items().div_ceil(config.batch_size);
    let train_loader: Arc<dyn DataLoader<M::Batch>> =
        Arc::new(ResumableLoader::new(train_loader, config.seed, first_epoch));
    let step_times = StepTimes::after(first_epoch * steps_per_epoch);
    retrofit_runtime::interrupt::install_ctrl_c_handler();
    let interrupter = Interrupter::new();
    let guard = DivergenceGuard::new(interrupter.clone());
    let trainable =
        Trainable { model, max_grad_norm: config.clip_grad_norm, step_times: step_times.clone(), guard: guard.clone() };
    let learner = Learner::new(trainable, optimizer, learning_rate_schedule(config, config.epochs * steps_per_epoch)?);

    let training = SupervisedTraining::new(run_dir.path(), train_loader, valid_loader)
        .metrics((LossMetric::new(),))
        .metric_train_numeric(LearningRateMetric::new())
        .metric_train_numeric(GradNormMetric::default())
        .num_epochs(config.epochs)
        .with_interrupter(interrupter.clone())
        .with_application_logger(None)
        .renderer(if retrofit_runtime::progress::is_quiet() {
            Box::new(QuietRenderer)
        } else {
            Box::new(ProgressRenderer::new(ProgressOutput::detect()))
        });
    let write_failure = CheckpointWriteFailure::default();
    let clock = TrainingClock::resumed(&resume_dir(run_dir.path()), resume_from);
    let training = with_checkpointers(training, run_dir, &interrupter, &write_failure, clock);
    let training = match resume_from {
        Some(epoch) => training.checkpoint(epoch),
        None => training,
    };
    // The stopping rule: no better validation loss (mean over the epoch) for `patience` epochs,
    // read from the logs, so that a resumed run keeps its state.
    let training = match config.patience {
        Some(patience) => {
            training.early_stopping(NoImprovementStopping::new(LearnerMetric::LOSS.learner_name, patience))
        }
        None => training,
    };
    let training = register_metrics(training);
    let training =
        if devices.len() > 1 { training.with_training_strategy(execution_strategy(devices).into()) } else { training };

    let result = training.launch(learner);
    let wall_time_s = clock.elapsed_s();
    launch_outcome(run_dir, &write_failure, &guard, result.error.map(|error| error.to_string()))?;
    let (model, selected, history) = selected_model(run_dir, config, task_metrics, result.model)?;
    Ok(TrainingReport {
        model,
        selected_epoch: selected,
        wall_time_s,
        earlier_legs_s: clock.earlier_legs_s(),
        median_step_s: step_times.median(),
        history,
    })
}

/// The epoch the run resumes after (`None`: a new run), its logs after it discarded; the
/// settings checked first.
fn resume_point(config: &TrainingConfig, run_dir: &RunDir) -> Result<Option<usize>, CoreError> {
    if config.epochs == 0 || config.batch_size == 0 {
        return Err(CoreError::setting("training", "epochs and batch_size must be at least 1"));
    }
    if config.patience == Some(0) {
        return Err(CoreError::setting("training.patience", "must be at least 1 epoch, or \"off\""));
    }
    let resume_from = newest_intact_checkpoint(run_dir.path())?;
    if let Some(epoch) = resume_from {
        if epoch >= config.epochs {
            return Err(CoreError::setting(
                "training.epochs",
                format!("the run already trained {epoch} epochs; its config asks for {}", config.epochs),
            ));
        }
        discard_logs_after(run_dir.path(), epoch)
            .map_err(|cause| RuntimeError::Write { path: run_dir.path().to_path_buf(), cause })?;
        tracing::info!(epoch, "resuming from the checkpoint of epoch {epoch}");
    }
    Ok(resume_from)
}

/// The Learner's checkpointers: model (trainable part), optimizer and scheduler, each sealed so
/// that a damaged file is recognised on resume, and a failed write stops the run.
fn with_checkpointers<M>(
    training: SupervisedTraining<Trainable<M>>,
    run_dir: &RunDir,
    interrupter: &Interrupter,
    write_failure: &CheckpointWriteFailure,
    clock: TrainingClock,
) -> SupervisedTraining<Trainable<M>>
where
    M: TaskModel,
    M::Output: Adaptor<LossInput>,
{
    let checkpoints = resume_dir(run_dir.path());
    let (stop, failure) = (interrupter, write_failure);
    let model = ModelCheckpointer::new(&checkpoints, M::FROZEN_PREFIX, M::RENAMED_PREFIXES);
    let optim = FileCheckpointer::new(&checkpoints, "optim");
    let scheduler = FileCheckpointer::new(&checkpoints, "scheduler");
    training.with_custom_checkpointers(
        SealedCheckpointer::new(model, &checkpoints, "model", stop.clone(), failure.clone()).with_clock(clock),
        SealedCheckpointer::new(optim, &checkpoints, "optim", stop.clone(), failure.clone()),
        SealedCheckpointer::new(scheduler, &checkpoints, "scheduler", stop.clone(), failure.clone()),
    )
}

/// Why a launched training did not end as it should: a checkpoint that could not be written, a
/// diverged loss, Ctrl-C, or the Learner's own error.
fn launch_outcome(
    run_dir: &RunDir,
    write_failure: &CheckpointWriteFailure,
    guard: &DivergenceGuard,
    learner_error: Option<String>,
) -> Result<(), CoreError> {
    if let Some((path, cause)) = write_failure.get() {
        return Err(CoreError::CheckpointWrite {
            path,
            cause,
            run: run_dir.path().to_path_buf(),
            previous: newest_intact_checkpoint(run_dir.path()).ok().flatten(),
        });
    }
    if let Some(divergence) = guard.diverged() {
        return Err(CoreError::Diverged(divergence));
    }
    if retrofit_runtime::interrupt::stop_requested() {
        return Err(CoreError::Interrupted {
            run: run_dir.path().to_path_buf(),
            checkpoint: latest_checkpoint(run_dir.path()),
        });
    }
    match learner_error {
        Some(error) => Err(CoreError::Learner(error)),
        None => Ok(()),
    }
}

/// The metric history read back from the Learner's logs, the curves written, and the model of
/// the selected epoch (lowest validation loss; the last epoch's weights when it is the last).
fn selected_model<M: TaskModel>(
    run_dir: &RunDir,
    config: &TrainingConfig,
    task_metrics: &[LearnerMetric],
    trained: Trainable<M>,
) -> Result<(M, usize, MetricHistory), CoreError> {
    let mut metrics = vec![LearnerMetric::LOSS, LearnerMetric::LEARNING_RATE, LearnerMetric::GRAD_NORM];
    metrics.extend_from_slice(task_metrics);
    let history = read_history(run_dir, &metrics)?;
    let curves = read_curves(run_dir, &metrics, &history, config.epochs);
    if let Err(error) = curves.write(run_dir) {
        tracing::warn!(%error, "cannot write the training curves");
    }
    let epochs_run = history.epochs();
    let selected = history.selected_epoch().unwrap_or(epochs_run);
    let model = if selected == epochs_run {
        trained.model
    } else {
        tracing::info!(selected, epochs_run, "reporting the model of epoch {selected} (lowest validation loss)");
        restore_epoch(trained, run_dir, selected)?.model
    };
    Ok((model, selected, history))
}

/// `trainable` with the weights of `epoch`'s checkpoint (the Learner keeps the best epoch's).
fn restore_epoch<M: TaskModel>(
    trainable: Trainable<M>,
    run_dir: &RunDir,
    epoch: usize,
) -> Result<Trainable<M>, CoreError> {
    let dir = resume_dir(run_dir.path());
    let file = checkpoint_file(&dir, "model", epoch);
    if let Some(damage) = damage_of(&file) {
        return Err(CoreError::SelectedCheckpoint { path: file, detail: damage });
    }
    let record = ModelCheckpointer::new(&dir, M::FROZEN_PREFIX, M::RENAMED_PREFIXES)
        .restore(epoch)
        .map_err(|error| CoreError::SelectedCheckpoint { path: file, detail: error.to_string() })?;
    Ok(trainable.load_record(record))
}

fn read_history(run_dir: &RunDir, metrics: &[LearnerMetric]) -> Result<MetricHistory, CoreError> {
    let names: Vec<&str> = metrics.iter().map(|metric| metric.learner_name).collect();
    let summary = LearnerSummary::new(run_dir.path(), &names).map_err(CoreError::MetricLogs)?;
    let mut per_epoch = BTreeMap::new();
    for (split, logged) in [(Split::Train, &summary.metrics.train), (Split::Valid, &summary.metrics.valid)] {
        for metric in logged {
            let Some(known) = metrics.iter().find(|known| known.learner_name == metric.name) else { continue };
            let values = metric.entries.iter().map(|entry| entry.value).collect();
            per_epoch.insert(known.key(split), (known.quantity, values));
        }
    }
    Ok(MetricHistory { per_epoch })
}

/// The value of one step's line of a Learner log (`value,items`); `None` for other lines, such as
/// the epoch's closing `value,final`.
pub fn step_value(line: &str) -> Option<f32> {
    let (value, items) = line.split_once(',')?;
    items.trim().parse::<usize>().ok()?;
    value.trim().parse().ok()
}

/// Training values per step from the Learner's logs (`train/epoch-N/<Metric_Name>.log`, a
/// `value,...` line per step) and validation values per epoch from `history`.
fn read_curves(run_dir: &RunDir, metrics: &[LearnerMetric], history: &MetricHistory, epochs: usize) -> Curves {
    let mut curves = Curves::default();
    // Epochs that ran (fewer than `epochs` when the stopping rule ended the run).
    let epochs_run = (1..=epochs).filter(|epoch| run_dir.path().join(format!("train/epoch-{epoch}")).is_dir()).count();
    for metric in metrics {
        let file = format!("{}.log", metric.learner_name.replace(' ', "_"));
        let mut values = Vec::new();
        for epoch in 1..=epochs {
            let Ok(text) = std::fs::read_to_string(run_dir.path().join(format!("train/epoch-{epoch}")).join(&file))
            else {
                continue;
            };
            values.extend(text.lines().filter_map(step_value));
        }
        if !values.is_empty() {
            curves.train.insert(metric.stem(), Series { quantity: metric.quantity, values });
        }
        if let Some((quantity, values)) = history.per_epoch.get(&metric.key(Split::Valid)) {
            let values = values.iter().map(|&value| value as f32).collect();
            curves.valid.insert(metric.stem(), Series { quantity: *quantity, values });
        }
    }
    let steps = curves.train.values().map(|series| series.values.len()).max().unwrap_or(0);
    curves.steps_per_epoch = steps / epochs_run.max(1);
    curves
}
