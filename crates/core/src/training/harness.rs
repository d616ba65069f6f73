use std::collections::BTreeMap;
use std::sync::Arc;

use burn::data::dataloader::DataLoader;
use burn::lr_scheduler::linear::LinearLrSchedulerConfig;
use burn::optim::{AdamConfig, AdamWConfig};
use burn::train::metric::{Adaptor, LearningRateMetric, LossInput, LossMetric};
use burn::train::{Learner, LearnerSummary, SupervisedTraining};

use super::config::{OptimizerKind, TrainingConfig};
use super::grad_norm::GradNormMetric;
use super::quiet_renderer::QuietRenderer;
use super::task::{StepTimes, TaskModel, Trainable};
use crate::CoreError;
use crate::run_dir::RunDir;
use crate::summary::RunClock;

/// Per-epoch values of every metric, as the Learner logged them (epoch means).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricHistory {
    /// `train_loss`, `train_grad_norm`, `valid_accuracy`, ... → one value per epoch.
    pub per_epoch: BTreeMap<String, Vec<f64>>,
}

impl MetricHistory {
    /// Last value of each metric.
    pub fn final_values(&self) -> BTreeMap<String, f64> {
        self.per_epoch
            .iter()
            .filter_map(|(name, values)| values.last().map(|&value| (name.clone(), value)))
            .collect()
    }

    /// Best value of each metric over the epochs: highest for accuracy, lowest otherwise.
    pub fn best_values(&self) -> BTreeMap<String, f64> {
        self.per_epoch
            .iter()
            .filter(|(_, values)| !values.is_empty())
            .map(|(name, values)| {
                let higher_is_better = name.ends_with("accuracy");
                let best = values.iter().copied().fold(
                    if higher_is_better { f64::NEG_INFINITY } else { f64::INFINITY },
                    |best, value| if higher_is_better { best.max(value) } else { best.min(value) },
                );
                (name.clone(), best)
            })
            .collect()
    }
}

/// What a training run produced.
#[derive(Debug)]
pub struct TrainingReport<M> {
    /// The trained model, without autodiff (ready for evaluation).
    pub model: M,
    /// Seconds spent in the Learner (training and validation epochs).
    pub wall_time_s: f64,
    /// Median seconds of a training step (see [`StepTimes`]).
    pub median_step_s: Option<f64>,
    pub history: MetricHistory,
}

impl<M> TrainingReport<M> {
    /// The run's final metrics (with `median_step_s`) and best metrics, for its summary.
    pub fn summary_metrics(&self) -> (BTreeMap<String, f64>, BTreeMap<String, f64>) {
        let mut final_metrics = self.history.final_values();
        if let Some(median) = self.median_step_s {
            final_metrics.insert("median_step_s".to_string(), median);
        }
        (final_metrics, self.history.best_values())
    }
}

/// Trains `model` (built on an autodiff device) with burn's Learner: the configured optimizer,
/// linear warm-up, global gradient clipping, and the metrics loss, learning rate and gradient
/// norm plus whatever `register_metrics` adds (named in `metric_names` so that they are read back
/// into the history). Logs and checkpoints go into the run directory.
pub fn train<M>(
    config: &TrainingConfig,
    run_dir: &RunDir,
    model: M,
    train_loader: Arc<dyn DataLoader<M::Batch>>,
    valid_loader: Arc<dyn DataLoader<M::Batch>>,
    register_metrics: impl FnOnce(SupervisedTraining<Trainable<M>>) -> SupervisedTraining<Trainable<M>>,
    metric_names: &[&str],
) -> Result<TrainingReport<M>, CoreError>
where
    M: TaskModel,
    M::Output: Adaptor<LossInput>,
{
    if config.epochs == 0 || config.batch_size == 0 {
        return Err(CoreError::Training("epochs and batch_size must be at least 1".to_string()));
    }
    let optimizer = match config.optimizer {
        OptimizerKind::Adam => AdamConfig::new().with_epsilon(1e-8).init(),
        OptimizerKind::Adamw => AdamWConfig::new()
            .with_epsilon(1e-8)
            .with_weight_decay(config.weight_decay as f32)
            .init(),
    };
    let step_times = StepTimes::default();
    let trainable = Trainable { model, max_grad_norm: config.clip_grad_norm, step_times: step_times.clone() };
    let learner = if config.warmup_steps > 0 {
        let warmup = LinearLrSchedulerConfig::new(
            config.learning_rate / config.warmup_steps as f64,
            config.learning_rate,
            config.warmup_steps,
        )
        .init()
        .map_err(CoreError::Training)?;
        Learner::new(trainable, optimizer, warmup)
    } else {
        Learner::new(trainable, optimizer, config.learning_rate)
    };

    let training = SupervisedTraining::new(run_dir.path(), train_loader, valid_loader)
        .metrics((LossMetric::new(),))
        .metric_train_numeric(LearningRateMetric::new())
        .metric_train_numeric(GradNormMetric::default())
        .num_epochs(config.epochs)
        .with_application_logger(None)
        .renderer(Box::new(QuietRenderer));
    let training = if M::CHECKPOINT_WHOLE_MODEL { training.with_default_checkpointers() } else { training };
    let training = register_metrics(training);

    let clock = RunClock::start();
    let result = training.launch(learner);
    let wall_time_s = clock.elapsed_s();
    if let Some(error) = result.error {
        return Err(CoreError::Training(error.to_string()));
    }

    let mut names = vec!["Loss", "Learning Rate", GradNormMetric::NAME];
    names.extend_from_slice(metric_names);
    let history = read_history(run_dir, &names)?;
    Ok(TrainingReport { model: result.model.model, wall_time_s, median_step_s: step_times.median(), history })
}

fn read_history(run_dir: &RunDir, names: &[&str]) -> Result<MetricHistory, CoreError> {
    let summary = LearnerSummary::new(run_dir.path(), names).map_err(CoreError::Training)?;
    let mut per_epoch = BTreeMap::new();
    for (split, metrics) in [("train", &summary.metrics.train), ("valid", &summary.metrics.valid)] {
        for metric in metrics {
            let name = format!("{split}_{}", metric.name.to_lowercase().replace(' ', "_"));
            per_epoch.insert(name, metric.entries.iter().map(|entry| entry.value).collect());
        }
    }
    Ok(MetricHistory { per_epoch })
}
