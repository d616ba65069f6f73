//! Errors of reading, loading and running a Llama-family checkpoint; each displays as one line.

use std::path::PathBuf;

use burn::store::SafetensorsStoreError;
use retrofit_data::DataError;

/// What went wrong with a Llama-family model directory or its use.
#[derive(Debug, thiserror::Error)]
pub enum LlamaError {
    #[error("{path} is missing: a Llama model directory needs config.json and model.safetensors ({source})")]
    Missing {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a Llama config: {source}")]
    Config {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("config.json has model_type `{found}`, not `llama`: load it with retrofit_core::base::load_base")]
    ModelType { found: String },
    #[error("rope scaling `{rope_type}` is not supported (only the default rotary embedding is): {field} = {value}")]
    UnsupportedRopeScaling { rope_type: String, field: &'static str, value: String },
    #[error("hidden_act `{0}` is not supported: Llama's MLP is SwiGLU with silu")]
    UnsupportedActivation(String),
    #[error("Llama config: {0}")]
    Invalid(String),
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
        "weights {path}: config.json ties the head to the embedding (tie_word_embeddings = true) but lm_head.weight \
         differs from model.embed_tokens.weight: set tie_word_embeddings to false to use the separate head"
    )]
    TiedHeadDiffers { path: PathBuf },
    #[error(
        "tokenizer vocabulary ({tokenizer}) differs from the model's vocab_size ({model}): use the tokenizer that \
         belongs to the model"
    )]
    TokenizerMismatch { tokenizer: usize, model: usize },
    #[error(
        "{tokens} tokens ({prompt} of prompt + {new} to generate) do not fit the model's {positions} positions: \
         shorten the prompt or generate fewer tokens"
    )]
    TooLong { tokens: usize, prompt: usize, new: usize, positions: usize },
    #[error("{0}")]
    Usage(String),
    #[error("cannot read a tensor back: {0}")]
    TensorData(String),
    #[error(transparent)]
    Data(#[from] DataError),
}
