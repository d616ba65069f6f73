use std::path::PathBuf;

/// Errors of the data stage. Each displays as one line that says what is wrong and what to do.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("data path {0} does not exist: check the path (or run the matching `just fetch-*` recipe)")]
    Missing(PathBuf),
    #[error("cannot read {path}: {cause}")]
    Read { path: PathBuf, cause: std::io::Error },
    #[error("{path} is not a valid {format} file: {message}")]
    Corrupt { path: PathBuf, format: &'static str, message: String },
    #[error("{path} is not the expected IMDb pickle (sequences, labels, i2w, w2i): {message}")]
    PickleStructure { path: PathBuf, message: String },
    #[error("{path}, line {line}: {message}")]
    Csv { path: PathBuf, line: u64, message: String },
    #[error("{0} holds no text: give a non-empty corpus")]
    Empty(PathBuf),
    #[error("{path} is not UTF-8 text (invalid byte at offset {offset})")]
    NotUtf8 { path: PathBuf, offset: usize },
    #[error(
        "{what} has {tokens} tokens, fewer than one context window of {needed} (context + 1): use a longer text or a shorter context"
    )]
    TooShort { what: String, tokens: usize, needed: usize },
    #[error(
        "{what} has {tokens} tokens, too few for {streams} streams of {steps} steps of {chunk} tokens: use a longer text, fewer steps (data.steps_per_epoch, data.valid_steps), a smaller batch or a shorter context"
    )]
    StreamsTooShort { what: String, tokens: usize, streams: usize, steps: usize, chunk: usize },
    #[error("bad split: {0}")]
    Split(String),
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error(transparent)]
    Runtime(#[from] retrofit_runtime::RuntimeError),
}
