use retrofit_data::DataError;
use retrofit_runtime::RuntimeError;

use crate::gpt2::Gpt2Error;

/// Errors of the shared models and training. Each displays as one line that says what to do,
/// and keeps its cause.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Gpt2(#[from] Gpt2Error),
    /// A setting that breaks a rule of the model or the run, e.g. heads that do not divide the
    /// width.
    #[error("{key}: {rule}")]
    InvalidSetting { key: String, rule: String },
    #[error("the warm-up schedule cannot be built: {0}")]
    Schedule(String),
    #[error("training failed: {0}")]
    Learner(String),
    #[error("{0}")]
    Diverged(crate::training::Divergence),
    #[error("cannot read the Learner's metric logs: {0}")]
    MetricLogs(String),
    #[error("cannot read a tensor back from the device: {0}")]
    TensorRead(String),
}

impl CoreError {
    /// A setting `key` that breaks `rule`.
    pub fn setting(key: impl Into<String>, rule: impl Into<String>) -> Self {
        Self::InvalidSetting { key: key.into(), rule: rule.into() }
    }
}
