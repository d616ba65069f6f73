//! A non-finite loss stops training at its step with a typed error, and the step's update is
//! skipped; the live progress renderer and the quiet one both train.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use burn::module::Module;
use burn::nn::{Embedding, EmbeddingConfig};
use burn::tensor::{Int, Tensor};
use retrofit_core::CoreError;
use retrofit_core::language_model::{CausalLm, LanguageModelDataConfig, LanguageModeling, load_lm_data};
use retrofit_core::training::{BitsPerByteMetric, LearnerMetric, TrainingConfig, train};
use retrofit_data::source::DataSource;
use retrofit_runtime::device::libtorch_cpu;
use retrofit_runtime::run_dir::RunDir;

/// Next-byte logits from a table; the `poison_at`-th call returns NaN logits.
#[derive(Module, Debug)]
struct Table {
    logits: Embedding,
    #[module(skip)]
    calls: Arc<AtomicUsize>,
    #[module(skip)]
    poison_at: Option<usize>,
}

impl CausalLm for Table {
    fn logits(&self, inputs: Tensor<2, Int>) -> Tensor<3> {
        let call = self.calls.fetch_add(1, Ordering::Relaxed) + 1;
        let logits = self.logits.forward(inputs);
        if Some(call) == self.poison_at { logits.add_scalar(f32::NAN) } else { logits }
    }
}

fn data(training: &TrainingConfig) -> retrofit_core::language_model::LmData {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let config = LanguageModelDataConfig {
        source: DataSource::default().relative_to(&root),
        context: 16,
        train_windows: 64,
        valid_windows: Some(4),
        ..LanguageModelDataConfig::default()
    };
    load_lm_data(&config, training).unwrap()
}

fn run(poison_at: Option<usize>) -> Result<(), CoreError> {
    let training = TrainingConfig { batch_size: 8, epochs: 1, learning_rate: 1e-2, ..TrainingConfig::default() };
    let data = data(&training);
    let device = libtorch_cpu().autodiff();
    let model = Table { logits: EmbeddingConfig::new(256, 256).init(&device), calls: Arc::default(), poison_at };
    let results = tempfile::tempdir().unwrap();
    let run_dir = RunDir::create(results.path(), "test", "run").unwrap();
    train(
        &training,
        &run_dir,
        &[libtorch_cpu()],
        LanguageModeling { lm: model },
        data.train.clone(),
        data.valid.clone(),
        |training| training.metrics((BitsPerByteMetric::default(),)),
        &[LearnerMetric::BITS_PER_BYTE],
    )
    .map(|_| ())
}

#[test]
fn a_nan_loss_stops_the_run_at_its_step() {
    match run(Some(3)) {
        Err(CoreError::Diverged(divergence)) => {
            assert_eq!(divergence.step, 3);
            assert!(divergence.loss.is_nan());
            let message = CoreError::Diverged(divergence).to_string();
            assert!(message.starts_with("training diverged at step 3: loss NaN"), "{message}");
        }
        other => panic!("expected a divergence at step 3, got {other:?}"),
    }
}

#[test]
fn a_finite_run_trains_to_its_end() {
    run(None).unwrap();
}
