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
    BitsPerByteMetric, CarriedStatePartMetric, LearnerMetric, TaskModel, TrainingConfig, count_parameters, train,
};

/// Trains `task` (built on `device`'s autodiff device) on `data` with the metrics loss, bits per
/// byte, learning rate and gradient norm, and with `carried_state_part` the validation metric of
/// [`CarriedStatePartMetric`] (the task's validation output must then carry the reset NLL); the summary adds `valid_perplexity = exp(valid_loss)`
/// and training tokens per second (over the Learner's time, validation included). Returns the
/// summary and the selected task (the lowest validation loss's epoch, without autodiff).
pub fn train_language_model<T, C>(
    run_dir: &RunDir,
    device: &ResolvedDevice,
    data: &LmData,
    training: &TrainingConfig,
    config: &C,
    task: T,
    carried_state_part: bool,
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
            if carried_state_part { training.metric_valid_numeric(CarriedStatePartMetric::default()) } else { training }
        },
        if carried_state_part {
            &[LearnerMetric::BITS_PER_BYTE, LearnerMetric::CARRIED_STATE_PART]
        } else {
            &[LearnerMetric::BITS_PER_BYTE]
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
