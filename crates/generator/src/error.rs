use std::path::PathBuf;

use retrofit_core::CoreError;
use retrofit_core::generation::GenerationError;
use retrofit_core::gpt2::ExportError;
use retrofit_core::hf_checkpoint::LoadError;
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
    Load(#[from] LoadError),
    #[error(transparent)]
    Export(#[from] ExportError),
    #[error(transparent)]
    Generation(#[from] GenerationError),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}
