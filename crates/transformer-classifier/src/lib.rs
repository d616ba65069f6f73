//! Stage 4, the transformer classifier (former's CTransformer): token and position embeddings,
//! a stack of transformer blocks, pooling over the sequence, a linear layer.

mod config;
mod model;

pub use config::{TransformerClassifierConfig, TransformerClassifierModelConfig};
pub use model::TransformerClassifier;

use retrofit_core::CoreError;
use retrofit_core::classification::run_classifier;
use retrofit_runtime::device::ResolvedDevice;
use retrofit_runtime::run_dir::RunDir;
use retrofit_runtime::summary::RunSummary;

/// The stage's name: its results go to `results/transformer-classifier/`.
pub const STAGE: &str = "transformer-classifier";

/// Trains and evaluates the configured classifier into `run_dir`.
pub fn run(
    config: &TransformerClassifierConfig,
    run_dir: &RunDir,
    device: &ResolvedDevice,
) -> Result<RunSummary, CoreError> {
    run_classifier(run_dir, device, &config.data, &config.training, config, |vocab_size, device| {
        config.model.init(vocab_size, config.data.max_length, device)
    })
}
