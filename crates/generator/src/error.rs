use std::path::PathBuf;

use retrofit_core::CoreError;
use retrofit_core::gpt2::Gpt2Error;
use retrofit_data::DataError;
use retrofit_runtime::RuntimeError;

/// Errors of saving, loading and sampling a trained generator; each displays as one line.
#[derive(Debug, thiserror::Error)]
pub enum GeneratorError {
    #[error("{0} is not a generator run (no config.toml and model/): pass --run results/generator/<run>")]
    NotARun(PathBuf),
    #[error("cannot save or load weights {path}: {message}")]
    Weights { path: PathBuf, message: String },
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error(transparent)]
    Gpt2(#[from] Gpt2Error),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}
