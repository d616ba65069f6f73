//! What both classifier stages share: their data settings, loaders with length buckets, the
//! cross-entropy task, test-set accuracy and the run from config to `summary.json`.

use std::sync::Arc;

use burn::data::dataloader::{DataLoader, DataLoaderBuilder};
use burn::data::dataset::InMemDataset;
use burn::data::dataset::transform::SelectionDataset;
use burn::module::{Module, ModuleDisplay};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::tensor::{Bool, Device, Int, Tensor};
use burn::train::ClassificationOutput;
use burn::train::metric::AccuracyMetric;
use retrofit_data::classification_batch::{ClassificationBatch, ClassificationBatcher, length_bucketed_order};
use retrofit_data::labelled::LabelledIds;
use retrofit_data::source::{DataSource, load_labelled};
use retrofit_data::tokenizer::TokenizerConfig;
use serde::{Deserialize, Serialize};

use crate::CoreError;
use crate::training::{LearnerMetric, TaskModel, TrainingConfig, count_parameters, train};
use retrofit_runtime::device::ResolvedDevice;
use retrofit_runtime::run_dir::RunDir;
use retrofit_runtime::summary::{RunClock, RunSummary, Throughput};
use retrofit_runtime::{Quantity, Split};

/// Data settings of a classifier stage (`[data]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClassificationDataConfig {
    pub source: DataSource,
    pub tokenizer: TokenizerConfig,
    /// Longest sequence a batch keeps; longer examples are truncated.
    pub max_length: usize,
}

impl Default for ClassificationDataConfig {
    fn default() -> Self {
        Self {
            source: DataSource::embedded_sample(),
            tokenizer: TokenizerConfig::Word { max_vocab: 50_000 },
            max_length: 512,
        }
    }
}

/// A model that maps padded token sequences to class logits.
pub trait SequenceClassifier: Module + ModuleDisplay + 'static {
    /// # Shapes
    /// - `tokens`: `[batch, seq]`
    /// - `padding_mask`: `[batch, seq]`, `true` at padded positions; `None`: nothing padded
    /// - output: `[batch, classes]`
    fn logits(&self, tokens: Tensor<2, Int>, padding_mask: Option<Tensor<2, Bool>>) -> Tensor<2>;
}

/// Cross-entropy classification of a [`SequenceClassifier`], the task the Learner trains.
#[derive(Module, Debug)]
pub struct Classification<M: Module> {
    pub classifier: M,
}

impl<M: SequenceClassifier> TaskModel for Classification<M> {
    type Batch = ClassificationBatch;
    type Output = ClassificationOutput;

    fn forward_task(&self, batch: ClassificationBatch) -> (Tensor<1>, ClassificationOutput) {
        let logits = self.classifier.logits(batch.tokens, batch.padding_mask);
        let loss = CrossEntropyLossConfig::new().init(&logits.device()).forward(logits.clone(), batch.labels.clone());
        (loss.clone(), ClassificationOutput::new(loss, logits, batch.labels))
    }
}

/// Loaders and facts of a labelled data set.
pub struct ClassifierData {
    pub train: Arc<dyn DataLoader<ClassificationBatch>>,
    pub valid: Arc<dyn DataLoader<ClassificationBatch>>,
    pub test: Arc<dyn DataLoader<ClassificationBatch>>,
    pub vocab_size: usize,
    pub train_examples: usize,
    /// e.g. `csv data/sentiment-sample.csv (word)`.
    pub description: String,
}

/// Loads and tokenizes the data, and builds loaders whose batches group similar lengths.
pub fn load_classifier_data(
    config: &ClassificationDataConfig,
    training: &TrainingConfig,
) -> Result<ClassifierData, CoreError> {
    if config.max_length == 0 {
        return Err(CoreError::setting("data.max_length", "must be at least 1 (the longest sequence a batch keeps)"));
    }
    let data = load_labelled(&config.source, &config.tokenizer, training.seed)?;
    let batcher = ClassificationBatcher { pad_id: data.vocabulary.pad_id(), max_length: config.max_length };
    let loader = |examples: &[LabelledIds], seed: u64| {
        let lengths: Vec<usize> = examples.iter().map(|example| example.ids.len()).collect();
        let order = length_bucketed_order(&lengths, training.batch_size, seed);
        let dataset = SelectionDataset::from_indices_checked(InMemDataset::new(examples.to_vec()), order);
        DataLoaderBuilder::new(batcher).batch_size(training.batch_size).num_workers(training.workers).build(dataset)
    };
    for (name, examples) in data.splits.named() {
        if examples.is_empty() {
            return Err(CoreError::setting(
                retrofit_data::stage::split_key(name),
                format!(
                    "the {name} split of {} is empty: use more data or a larger fraction",
                    config.source.describe()
                ),
            ));
        }
    }
    Ok(ClassifierData {
        train: loader(&data.splits.train, training.seed),
        valid: loader(&data.splits.valid, training.seed),
        test: loader(&data.splits.test, training.seed),
        vocab_size: data.vocabulary.size(),
        train_examples: data.splits.train.len(),
        description: format!("{} ({})", config.source.describe(), data.vocabulary.name()),
    })
}

/// Percentage of correctly classified examples of a loader (as burn's accuracy metric).
pub fn accuracy<M: SequenceClassifier>(
    classifier: &M,
    loader: &Arc<dyn DataLoader<ClassificationBatch>>,
    device: &Device,
) -> Result<f64, CoreError> {
    let loader = loader.to_device(device);
    let (mut correct, mut total) = (0usize, 0usize);
    for batch in loader.iter() {
        let batch = batch.map_err(|error| CoreError::TensorRead(format!("test data: {error}")))?;
        let predictions = classifier.logits(batch.tokens, batch.padding_mask).argmax(1).squeeze_dim::<1>(1);
        total += batch.labels.dims()[0];
        correct += predictions.equal(batch.labels).int().sum().into_scalar::<i64>() as usize;
    }
    Ok(100.0 * correct as f64 / total.max(1) as f64)
}

/// A classifier stage from config to `summary.json`: load data, build the model with the
/// vocabulary size, train with the Learner (metrics loss, accuracy, learning rate, gradient
/// norm), measure test accuracy, write the summary.
pub fn run_classifier<M, C>(
    run_dir: &RunDir,
    device: &ResolvedDevice,
    data_config: &ClassificationDataConfig,
    training: &TrainingConfig,
    config: &C,
    build: impl FnOnce(usize, &Device) -> Result<M, CoreError>,
) -> Result<RunSummary, CoreError>
where
    M: SequenceClassifier,
    C: Serialize,
{
    let clock = RunClock::start();
    let data = load_classifier_data(data_config, training)?;
    device.device.seed(training.seed);
    let autodiff = device.device.clone().autodiff();
    let task = Classification { classifier: build(data.vocab_size, &autodiff)? };
    let parameters = count_parameters(&task);
    tracing::info!(total = parameters.total, trainable = parameters.trainable, data = %data.description, "training classifier");

    let report = train(
        training,
        run_dir,
        &device.devices,
        task,
        data.train.clone(),
        data.valid.clone(),
        |training| training.metrics((AccuracyMetric::new(),)),
        &[LearnerMetric::ACCURACY],
    )?;
    let (mut final_metrics, best_metrics) = report.summary_metrics();
    let test_accuracy = accuracy(&report.model.classifier, &data.test, &device.device)?;
    final_metrics.insert_split(Split::Test, Quantity::Accuracy, test_accuracy);
    let examples = (data.train_examples * report.history.epochs()) as f64;
    Ok(RunSummary {
        epochs_trained: Some(report.history.epochs()),
        selected_epoch: Some(report.selected_epoch),
        data: data.description,
        parameters,
        wall_time_s: clock.elapsed_s() + report.earlier_legs_s,
        earlier_legs_s: report.earlier_legs_s,
        throughput: Some(Throughput { value: examples / report.wall_time_s.max(1e-9), unit: "examples/s".to_string() }),
        final_metrics,
        best_metrics,
        ..RunSummary::finish(run_dir, &device.name, training.seed, config)?
    })
}
