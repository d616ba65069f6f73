use retrofit_data::DataError;
use retrofit_runtime::RuntimeError;

use crate::hf_checkpoint::LoadError;

/// Errors of the shared models and training. Each displays as one line that says what to do,
/// and keeps its cause.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Load(#[from] LoadError),
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
    /// Ctrl-C stopped the run; it can go on from its last epoch checkpoint.
    #[error("{}", interrupted_message(.run, *.checkpoint))]
    Interrupted { run: std::path::PathBuf, checkpoint: Option<usize> },
    /// `--resume` found checkpoints, but none whose files are all intact.
    #[error("no complete checkpoint to resume from in {}: {detail} ({damaged} damaged epoch(s)); start the run again without --resume", .dir.display())]
    NoIntactCheckpoint { dir: std::path::PathBuf, detail: String, damaged: usize },
    /// An epoch's checkpoint could not be written (disk full, permissions): the run stopped.
    #[error("cannot write the checkpoint {}: {cause}; the run stopped{}", .path.display(), resume_hint(.run, *.previous))]
    CheckpointWrite { path: std::path::PathBuf, cause: String, run: std::path::PathBuf, previous: Option<usize> },
    /// The checkpoint of the epoch model selection chose cannot be read back.
    #[error("cannot restore the selected epoch's weights from {}: {detail}", .path.display())]
    SelectedCheckpoint { path: std::path::PathBuf, detail: String },
    #[error("cannot read the Learner's metric logs: {0}")]
    MetricLogs(String),
    #[error("cannot read a tensor back from the device: {0}")]
    TensorRead(String),
}

fn resume_hint(run: &std::path::Path, previous: Option<usize>) -> String {
    match previous {
        Some(epoch) => format!("; fix the cause and go on from epoch {epoch} with `--resume {}`", run.display()),
        None => String::new(),
    }
}

fn interrupted_message(run: &std::path::Path, checkpoint: Option<usize>) -> String {
    match checkpoint {
        Some(epoch) => {
            format!("interrupted: the run can go on from the end of epoch {epoch} with `--resume {}`", run.display())
        }
        None => format!(
            "interrupted before the first epoch ended: nothing to resume; remove {} and start again",
            run.display()
        ),
    }
}

impl CoreError {
    /// A setting `key` that breaks `rule`.
    pub fn setting(key: impl Into<String>, rule: impl Into<String>) -> Self {
        Self::InvalidSetting { key: key.into(), rule: rule.into() }
    }
}
