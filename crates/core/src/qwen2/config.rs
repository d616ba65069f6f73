//! The architecture fields of a Hugging Face Qwen2 `config.json`.

use std::path::Path;

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::hf_checkpoint::{self, LoadError};
use crate::llama::{self, HfLlamaFamilyConfig, Llama, LlamaConfig};

/// The `model_type` this module reads.
pub const QWEN2_MODEL_TYPE: &str = "qwen2";

/// A Qwen2 architecture. Field names are Hugging Face's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Qwen2Config {
    pub vocab_size: usize,
    /// `d_model`.
    pub hidden_size: usize,
    /// Width of the SwiGLU feed-forward layer.
    pub intermediate_size: usize,
    pub num_hidden_layers: usize,
    /// Query heads.
    pub num_attention_heads: usize,
    /// Key/value heads (grouped-query attention).
    pub num_key_value_heads: usize,
    /// Width of one head; `None` means `hidden_size / num_attention_heads`.
    pub head_dim: Option<usize>,
    pub max_position_embeddings: usize,
    pub rms_norm_eps: f64,
    /// Base of the rotary frequencies.
    pub rope_theta: f64,
    /// `true`: the output head is `model.embed_tokens`.
    pub tie_word_embeddings: bool,
}

/// Qwen2's defaults for what its `config.json` may leave out.
const DEFAULT_MAX_POSITIONS: usize = 32_768;
const DEFAULT_RMS_NORM_EPS: f64 = 1e-6;
const DEFAULT_ROPE_THETA: f64 = 10_000.0;

impl Qwen2Config {
    /// Reads and checks `dir/config.json`.
    pub fn from_dir(dir: &Path) -> Result<Self, LoadError> {
        let (path, text) = hf_checkpoint::read_config(dir)?;
        Self::parse(&text, &path)
    }

    /// Parses and checks the text of a Hugging Face `config.json`.
    pub fn from_json(text: &str) -> Result<Self, LoadError> {
        Self::parse(text, Path::new("config.json"))
    }

    fn parse(text: &str, path: &Path) -> Result<Self, LoadError> {
        let hf = HfLlamaFamilyConfig::parse(text, path, QWEN2_MODEL_TYPE)?;
        if hf.slides() {
            return Err(LoadError::Unsupported {
                field: "use_sliding_window",
                value: "true".to_string(),
                why: "only full attention in every layer is supported",
            });
        }
        let config = Self {
            vocab_size: hf.vocab_size,
            hidden_size: hf.hidden_size,
            intermediate_size: hf.intermediate_size,
            num_hidden_layers: hf.num_hidden_layers,
            num_attention_heads: hf.num_attention_heads,
            num_key_value_heads: hf.num_key_value_heads.unwrap_or(hf.num_attention_heads),
            head_dim: hf.head_dim,
            max_position_embeddings: hf.max_position_embeddings.unwrap_or(DEFAULT_MAX_POSITIONS),
            rms_norm_eps: hf.rms_norm_eps.unwrap_or(DEFAULT_RMS_NORM_EPS),
            rope_theta: hf.rope_theta(DEFAULT_ROPE_THETA)?,
            tie_word_embeddings: hf.tie_word_embeddings.unwrap_or(false),
        };
        config.llama().validate()?;
        Ok(config)
    }

    /// The same architecture in Llama's terms: biases on q, k and v, none elsewhere.
    pub fn llama(&self) -> LlamaConfig {
        LlamaConfig {
            vocab_size: self.vocab_size,
            hidden_size: self.hidden_size,
            intermediate_size: self.intermediate_size,
            num_hidden_layers: self.num_hidden_layers,
            num_attention_heads: self.num_attention_heads,
            num_key_value_heads: Some(self.num_key_value_heads),
            head_dim: self.head_dim,
            max_position_embeddings: self.max_position_embeddings,
            rms_norm_eps: self.rms_norm_eps,
            rope_theta: self.rope_theta,
            tie_word_embeddings: self.tie_word_embeddings,
            attention_bias: false,
            qkv_bias: true,
            mlp_bias: false,
        }
    }
}

/// Loads `dir/config.json` and `dir/model.safetensors` onto `device`.
pub fn load_qwen2(dir: &Path, device: &Device) -> Result<(Llama, Qwen2Config), LoadError> {
    let config = Qwen2Config::from_dir(dir)?;
    Ok((llama::load_llama_weights(dir, &config.llama(), device)?, config))
}
