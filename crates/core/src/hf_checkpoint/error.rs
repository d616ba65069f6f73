//! What can go wrong reading a Hugging Face model directory; each displays as one line and
//! keeps its cause.

use std::path::PathBuf;

use burn::store::SafetensorsStoreError;
use retrofit_data::DataError;

/// An error of reading a model directory: its `config.json`, its weights or its tokenizer.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{path} is missing: a model directory needs config.json, model.safetensors and its tokenizer ({source})")]
    Missing {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a model config: {source}")]
    Config {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path} names no model_type: supported are {supported}")]
    NoModelType { path: PathBuf, supported: String },
    #[error("{path}: model_type `{found}` is not supported: supported are {supported}")]
    UnsupportedModelType { path: PathBuf, found: String, supported: String },
    #[error("config.json has model_type `{found}`, not `{expected}`: load it with retrofit_core::base::load_base")]
    ModelType { expected: &'static str, found: String },
    #[error("{field} `{value}` is not supported: {why}")]
    Unsupported { field: &'static str, value: String, why: &'static str },
    #[error("{family} config: {rule}")]
    Invalid { family: &'static str, rule: String },
    #[error("cannot read weights {path}: {source}")]
    Weights {
        path: PathBuf,
        #[source]
        source: SafetensorsStoreError,
    },
    #[error("weights {path}: no tensor `{tensor}` ({count} missing in all): the checkpoint does not match config.json")]
    MissingTensor { path: PathBuf, tensor: String, count: usize },
    #[error("weights {path}: unexpected tensor `{tensor}`: the checkpoint does not match config.json")]
    UnexpectedTensor { path: PathBuf, tensor: String },
    #[error("weights {path}: tensor `{tensor}`: {message}")]
    TensorMismatch { path: PathBuf, tensor: String, message: String },
    #[error(
        "weights {path}: the head is tied to the token embedding but lm_head.weight differs from it (max |difference| \
         {difference}): {hint}"
    )]
    TiedHeadDiffers { path: PathBuf, difference: f32, hint: &'static str },
    #[error(
        "tokenizer vocabulary ({tokenizer}) differs from the model's vocab_size ({model}): use the tokenizer that \
         belongs to the model"
    )]
    TokenizerMismatch { tokenizer: usize, model: usize },
    #[error("{path} is not a tokenizer description: {source}")]
    TokenizerFile {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path}: eos_token_id must be a token id or a list of them, not {value}")]
    EndOfSequence { path: PathBuf, value: String },
    #[error(transparent)]
    Data(#[from] DataError),
}

impl LoadError {
    /// A rule of a family's architecture that its `config.json` breaks.
    pub fn invalid(family: &'static str, rule: impl Into<String>) -> Self {
        Self::Invalid { family, rule: rule.into() }
    }
}
