use std::path::PathBuf;

use retrofit_core::CoreError;
use retrofit_core::gpt2::Gpt2Error;
use retrofit_data::DataError;

/// Errors of the recurrent generator; each displays as one line.
#[derive(Debug, thiserror::Error)]
pub enum RecurrentError {
    #[error("cannot read or write {path}: {cause}")]
    Io { path: PathBuf, cause: std::io::Error },
    #[error("checkpoint {path}: {message}")]
    Checkpoint { path: PathBuf, message: String },
    #[error("checkpoint {checkpoint} belongs to the base {expected}, whose files differ from {given}: load it onto the base it was trained on")]
    WrongBase { checkpoint: PathBuf, expected: PathBuf, given: PathBuf },
    #[error("base model: {0}")]
    Base(#[from] Gpt2Error),
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error(transparent)]
    Data(#[from] DataError),
}

impl From<RecurrentError> for CoreError {
    fn from(error: RecurrentError) -> Self {
        match error {
            RecurrentError::Core(error) => error,
            RecurrentError::Data(error) => CoreError::Data(error),
            other => CoreError::Model(other.to_string()),
        }
    }
}
