use std::path::PathBuf;

use retrofit_core::CoreError;
use retrofit_core::base::BaseError;
use retrofit_core::hf_checkpoint::LoadError;
use retrofit_data::DataError;
use retrofit_runtime::RuntimeError;

/// Errors of the recurrent generator; each displays as one line and keeps its cause.
#[derive(Debug, thiserror::Error)]
pub enum RecurrentError {
    #[error(
        "no base model at {0} (config.json missing): run `just fetch-smollm2` or `just fetch-distilgpt2`, or set base to a generator run's model/ (configs/generator-gpt2.toml)"
    )]
    NoBase(PathBuf),
    #[error("cannot read or write {path}: {cause}")]
    Io { path: PathBuf, cause: std::io::Error },
    #[error("checkpoint {path}: {message}")]
    Checkpoint { path: PathBuf, message: String },
    #[error(
        "checkpoint {checkpoint} belongs to the base {expected}, whose files differ from {given}: load it onto the base it was trained on"
    )]
    WrongBase { checkpoint: PathBuf, expected: PathBuf, given: PathBuf },
    #[error(
        "the run started on a base with fingerprint {recorded}, but {base} now has {now}: resume it on the base it started on (its files were replaced?)"
    )]
    BaseChanged { base: PathBuf, recorded: String, now: String },
    #[error("base model: {0}")]
    Base(#[from] BaseError),
    #[error("base model: {0}")]
    BaseLoad(#[from] LoadError),
    #[error("{0}")]
    Usage(String),
    #[error("cannot read a tensor back from the device: {0}")]
    TensorRead(String),
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}
