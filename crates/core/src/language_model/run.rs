//! Training a [`CausalLm`] with the harness and summarising the run.

use crate::CoreError;
use crate::device::ResolvedDevice;
use crate::run_dir::RunDir;
use crate::summary::{RunClock, RunSummary, Throughput};
use crate::training::{BitsPerByteMetric, TrainingConfig, count_parameters, train};

use super::data::{LanguageModelDataConfig, LmData};
use super::task::{CausalLm, LanguageModeling};

/// Trains `model` (built on `device`'s autodiff device) on `data` with the metrics loss, bits per
/// byte, learning rate and gradient norm; the summary adds `valid_perplexity = exp(valid_loss)`
/// and training tokens per second (over the Learner's time, validation included). Returns the summary and the trained model.
pub fn train_language_model<M: CausalLm, C: serde::Serialize>(
    run_dir: &RunDir,
    device: &ResolvedDevice,
    data: &LmData,
    data_config: &LanguageModelDataConfig,
    training: &TrainingConfig,
    config: &C,
    model: M,
) -> Result<(RunSummary, M), CoreError> {
    let clock = RunClock::start();
    let task = LanguageModeling { lm: model };
    let parameters = count_parameters(&task);
    tracing::info!(total = parameters.total, trainable = parameters.trainable, data = %data.description, "training language model");
    let report = train(
        training,
        run_dir,
        task,
        data.train.clone(),
        data.valid.clone(),
        |training| training.metrics((BitsPerByteMetric::default(),)),
        &[BitsPerByteMetric::NAME],
    )?;
    let (mut final_metrics, mut best_metrics) = report.summary_metrics();
    for metrics in [&mut final_metrics, &mut best_metrics] {
        if let Some(&loss) = metrics.get("valid_loss") {
            metrics.insert("valid_perplexity".to_string(), loss.exp());
        }
    }
    let trained_tokens = data_config.train_windows * data_config.context * training.epochs;
    let summary = RunSummary {
        data: format!("{}; validation: {} tokens, {} bytes", data.description, data.valid_tokens, data.valid_bytes),
        parameters,
        wall_time_s: clock.elapsed_s(),
        throughput: Some(Throughput { value: trained_tokens as f64 / report.wall_time_s.max(1e-9), unit: "tokens/s".to_string() }),
        final_metrics,
        best_metrics,
        ..RunSummary::finish(run_dir, &device.name, training.seed, config)?
    };
    Ok((summary, report.model.lm))
}
