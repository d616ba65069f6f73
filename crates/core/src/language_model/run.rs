//! Training a language-model task with the harness and summarising the run: the one training
//! path of the generator and the recurrent generator.

use burn::train::metric::{Adaptor, LossInput};
use retrofit_data::lm_batch::LmBatch;
use retrofit_runtime::device::ResolvedDevice;
use retrofit_runtime::run_dir::RunDir;
use retrofit_runtime::summary::{RunClock, RunSummary, Throughput};
use retrofit_runtime::{Quantity, Split};

use super::data::LmData;
use super::task::LmOutput;
use crate::CoreError;
use crate::training::{
    BitsPerByteMetric, CarriedStatePartMetric, LearnerMetric, ShuffledStatePartMetric, TaskModel, TrainingConfig,
    count_parameters, train,
};

/// What validation measures of a carried state every epoch, beside the loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValidStateParts {
    /// Nothing (a model that carries no state).
    None,
    /// Reset − carried ([`CarriedStatePartMetric`]): the task's validation output carries the
    /// reset NLL.
    Reset,
    /// ... and another stream's state − carried ([`ShuffledStatePartMetric`]): the output also
    /// carries the shuffled NLL.
    ResetAndShuffled,
}

/// Trains `task` (built on `device`'s autodiff device) on `data` with the metrics loss, bits per
/// byte, learning rate and gradient norm, and the validation metrics of the carried state's
/// `parts`; the summary adds `valid_perplexity = exp(valid_loss)`
/// and training tokens per second (over the Learner's time, validation included). Returns the
/// summary and the selected task (the lowest validation loss's epoch, without autodiff).
pub fn train_language_model<T, C>(
    run_dir: &RunDir,
    device: &ResolvedDevice,
    data: &LmData,
    training: &TrainingConfig,
    config: &C,
    task: T,
    parts: ValidStateParts,
) -> Result<(RunSummary, T), CoreError>
where
    T: TaskModel<Batch = LmBatch, Output = LmOutput>,
    LmOutput: Adaptor<LossInput>,
    C: serde::Serialize,
{
    let clock = RunClock::start();
    let parameters = count_parameters(&task);
    tracing::info!(total = parameters.total, trainable = parameters.trainable, data = %data.corpus.description, "training language model");
    let report = train(
        training,
        run_dir,
        &device.devices,
        task,
        data.train.clone(),
        data.valid.clone(),
        |training| {
            let training = training.metrics((BitsPerByteMetric::default(),));
            match parts {
                ValidStateParts::None => training,
                ValidStateParts::Reset => training.metric_valid_numeric(CarriedStatePartMetric::default()),
                ValidStateParts::ResetAndShuffled => training
                    .metric_valid_numeric(CarriedStatePartMetric::default())
                    .metric_valid_numeric(ShuffledStatePartMetric::default()),
            }
        },
        match parts {
            ValidStateParts::None => &[LearnerMetric::BITS_PER_BYTE],
            ValidStateParts::Reset => &[LearnerMetric::BITS_PER_BYTE, LearnerMetric::CARRIED_STATE_PART],
            ValidStateParts::ResetAndShuffled => {
                &[LearnerMetric::BITS_PER_BYTE, LearnerMetric::CARRIED_STATE_PART, LearnerMetric::SHUFFLED_STATE_PART]
            }
        },
    )?;
    let (mut final_metrics, mut best_metrics) = report.summary_metrics();
    let loss_key = Split::Valid.key(Quantity::Loss);
    for metrics in [&mut final_metrics, &mut best_metrics] {
        if let Some(loss) = metrics.get(&loss_key) {
            metrics.insert_split(Split::Valid, Quantity::Perplexity, loss.exp());
        }
    }
    let trained_tokens = data.train_tokens_per_epoch() * report.history.epochs();
    let summary = RunSummary {
        data: data.describe(),
        epochs_trained: Some(report.history.epochs()),
        selected_epoch: Some(report.selected_epoch),
        parameters,
        wall_time_s: clock.elapsed_s() + report.earlier_legs_s,
        earlier_legs_s: report.earlier_legs_s,
        throughput: Some(Throughput {
            value: trained_tokens as f64 / report.wall_time_s.max(1e-9),
            unit: "tokens/s".to_string(),
        }),
        final_metrics,
        best_metrics,
        ..RunSummary::finish(run_dir, &device.name, training.seed, config)?
    };
    Ok((summary, report.model))
}
