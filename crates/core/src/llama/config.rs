//! The architecture fields of a Hugging Face Llama `config.json`, in both the transformers 4.x
//! form (`rope_theta`, `rope_scaling` at the top level) and the 5.x form (`rope_parameters`).

use std::path::Path;

use burn::nn::{EmbeddingConfig, LinearConfig, RmsNormConfig};
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use super::hf_config::{FamilyDefaults, HfLlamaFamilyConfig};
use super::model::{Llama, LlamaAttention, LlamaDecoderLayer, LlamaMlp, LlamaModel};
use super::rotary::RotaryTables;
use crate::hf_checkpoint::{HfConfig, LoadError};

/// The `model_type` this module reads.
pub const LLAMA_MODEL_TYPE: &str = "llama";

/// A Llama-family architecture. Field names are Hugging Face's; `rope_theta` is read from either
/// place transformers writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LlamaConfig {
    pub vocab_size: usize,
    /// `d_model`.
    pub hidden_size: usize,
    /// Width of the SwiGLU feed-forward layer.
    pub intermediate_size: usize,
    pub num_hidden_layers: usize,
    /// Query heads.
    pub num_attention_heads: usize,
    /// Key/value heads (grouped-query attention); `None` means one per query head.
    pub num_key_value_heads: Option<usize>,
    /// Width of one head; `None` means `hidden_size / num_attention_heads`.
    pub head_dim: Option<usize>,
    /// Longest sequence the rotary tables cover.
    pub max_position_embeddings: usize,
    pub rms_norm_eps: f64,
    /// Base of the rotary frequencies.
    pub rope_theta: f64,
    /// `true`: the output head is `model.embed_tokens` (no `lm_head.weight` of its own).
    pub tie_word_embeddings: bool,
    /// Biases on the query, key, value and output projections.
    pub attention_bias: bool,
    /// Biases on the query, key and value projections only (Qwen2's layout).
    #[serde(default)]
    pub qkv_bias: bool,
    /// Biases on the gate, up and down projections.
    pub mlp_bias: bool,
}

/// Llama's defaults for what its `config.json` may leave out.
const DEFAULT_MAX_POSITIONS: usize = 2048;
const DEFAULT_RMS_NORM_EPS: f64 = 1e-6;
const DEFAULT_ROPE_THETA: f64 = 10_000.0;

impl HfConfig for LlamaConfig {
    fn parse(text: &str, path: &Path) -> Result<Self, LoadError> {
        let hf = HfLlamaFamilyConfig::parse(text, path, LLAMA_MODEL_TYPE)?;
        let defaults = FamilyDefaults {
            max_position_embeddings: DEFAULT_MAX_POSITIONS,
            rms_norm_eps: DEFAULT_RMS_NORM_EPS,
            rope_theta: DEFAULT_ROPE_THETA,
        };
        let config = hf.llama_config(&defaults)?;
        config.validate()?;
        Ok(config)
    }
}

impl LlamaConfig {
    /// SmolLM2-135M(-Instruct): 30 layers of 576, 9 query heads and 3 key/value heads of 64,
    /// SwiGLU 1536, vocabulary 49,152, rope_theta 100,000, 8,192 positions, tied head.
    pub fn smollm2_135m() -> Self {
        Self {
            vocab_size: 49_152,
            hidden_size: 576,
            intermediate_size: 1536,
            num_hidden_layers: 30,
            num_attention_heads: 9,
            num_key_value_heads: Some(3),
            head_dim: Some(64),
            max_position_embeddings: 8192,
            rms_norm_eps: 1e-5,
            rope_theta: 100_000.0,
            tie_word_embeddings: true,
            attention_bias: false,
            qkv_bias: false,
            mlp_bias: false,
        }
    }

    /// Checks what the architecture needs.
    pub fn validate(&self) -> Result<(), LoadError> {
        let invalid = |message: String| Err(LoadError::invalid("Llama", message));
        let heads = self.num_attention_heads;
        let kv_heads = self.key_value_heads();
        if heads == 0 || kv_heads == 0 || !heads.is_multiple_of(kv_heads) {
            return invalid(format!("num_key_value_heads {kv_heads} must divide num_attention_heads {heads}"));
        }
        if self.head_dim.is_none() && !self.hidden_size.is_multiple_of(heads) {
            return invalid(format!("num_attention_heads {heads} must divide hidden_size {}", self.hidden_size));
        }
        if self.head_dim() == 0 || !self.head_dim().is_multiple_of(2) {
            return invalid(format!("head_dim {} must be even and positive (rotary pairs)", self.head_dim()));
        }
        let sizes = [self.vocab_size, self.hidden_size, self.intermediate_size, self.num_hidden_layers];
        if sizes.contains(&0) || self.max_position_embeddings == 0 {
            return invalid(
                "vocab_size, hidden_size, intermediate_size, num_hidden_layers and max_position_embeddings must be \
                 positive"
                    .to_string(),
            );
        }
        let positive = |value: f64| value.is_finite() && value > 0.0;
        if !positive(self.rms_norm_eps) || !positive(self.rope_theta) {
            return invalid(format!(
                "rms_norm_eps ({}) and rope_theta ({}) must be positive",
                self.rms_norm_eps, self.rope_theta
            ));
        }
        Ok(())
    }

    /// Key/value heads (grouped-query attention).
    pub fn key_value_heads(&self) -> usize {
        self.num_key_value_heads.unwrap_or(self.num_attention_heads)
    }

    /// Width of one attention head.
    pub fn head_dim(&self) -> usize {
        self.head_dim.unwrap_or(self.hidden_size / self.num_attention_heads.max(1))
    }

    /// A model of this shape with burn's default initialisation (to be overwritten by loaded
    /// weights), rotary tables computed.
    pub fn init(&self, device: &Device) -> Llama {
        let d_model = self.hidden_size;
        let q_width = self.num_attention_heads * self.head_dim();
        let kv_width = self.key_value_heads() * self.head_dim();
        let linear =
            |d_in: usize, d_out: usize, bias: bool| LinearConfig::new(d_in, d_out).with_bias(bias).init(device);
        let rms_norm = || RmsNormConfig::new(d_model).with_epsilon(self.rms_norm_eps).init(device);
        let layer = || LlamaDecoderLayer {
            self_attn: LlamaAttention {
                q_proj: linear(d_model, q_width, self.attention_bias || self.qkv_bias),
                k_proj: linear(d_model, kv_width, self.attention_bias || self.qkv_bias),
                v_proj: linear(d_model, kv_width, self.attention_bias || self.qkv_bias),
                o_proj: linear(q_width, d_model, self.attention_bias),
                n_head: self.num_attention_heads,
                n_kv_head: self.key_value_heads(),
                head_dim: self.head_dim(),
            },
            mlp: LlamaMlp {
                gate_proj: linear(d_model, self.intermediate_size, self.mlp_bias),
                up_proj: linear(d_model, self.intermediate_size, self.mlp_bias),
                down_proj: linear(self.intermediate_size, d_model, self.mlp_bias),
            },
            input_layernorm: rms_norm(),
            post_attention_layernorm: rms_norm(),
        };
        Llama {
            model: LlamaModel {
                embed_tokens: EmbeddingConfig::new(self.vocab_size, d_model).init(device),
                layers: (0..self.num_hidden_layers).map(|_| layer()).collect(),
                norm: rms_norm(),
            },
            lm_head: (!self.tie_word_embeddings).then(|| linear(d_model, self.vocab_size, false)),
            rotary: RotaryTables::new(self.head_dim(), self.max_position_embeddings, self.rope_theta, device),
            max_position_embeddings: self.max_position_embeddings,
        }
    }
}
