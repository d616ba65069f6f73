//! Stage 2, the attention classifier: token embeddings (optionally plus position embeddings),
//! one self-attention layer (simple or multi-head), pooling over the sequence, a linear layer.

mod config;
mod model;

pub use config::{AttentionClassifierConfig, AttentionClassifierModelConfig, AttentionKind};
pub use model::{AttentionClassifier, SelfAttention};

use retrofit_core::CoreError;
use retrofit_core::classification::run_classifier;
use retrofit_runtime::device::ResolvedDevice;
use retrofit_runtime::run_dir::RunDir;
use retrofit_runtime::summary::RunSummary;

/// The stage's name: its results go to `results/attention-classifier/`.
pub const STAGE: &str = "attention-classifier";

/// Trains and evaluates the configured classifier into `run_dir`.
pub fn run(
    config: &AttentionClassifierConfig,
    run_dir: &RunDir,
    device: &ResolvedDevice,
) -> Result<RunSummary, CoreError> {
    run_classifier(run_dir, device, &config.data, &config.training, config, |vocab_size, device| {
        config.model.init(vocab_size, config.data.max_length, device)
    })
}
