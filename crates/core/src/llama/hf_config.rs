//! `config.json` as transformers writes it for the Llama family (Llama, Qwen2): the fields that
//! shape the model, read once for every family that shares Llama's module tree; each family
//! applies its own defaults.

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use super::config::LlamaConfig;
use crate::hf_checkpoint::LoadError;

/// The architecture fields of a Llama-family `config.json`; `None` where the file leaves them
/// to the family's defaults.
#[derive(Debug, Deserialize)]
pub(crate) struct HfLlamaFamilyConfig {
    model_type: Option<String>,
    vocab_size: usize,
    hidden_size: usize,
    intermediate_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    #[serde(default)]
    num_key_value_heads: Option<usize>,
    #[serde(default)]
    head_dim: Option<usize>,
    #[serde(default)]
    max_position_embeddings: Option<usize>,
    #[serde(default)]
    rms_norm_eps: Option<f64>,
    #[serde(default)]
    hidden_act: Option<String>,
    /// transformers 4.x.
    #[serde(default)]
    rope_theta: Option<f64>,
    /// transformers 4.x: `null` or an object with `rope_type` (or `type`).
    #[serde(default)]
    rope_scaling: Option<Value>,
    /// transformers 5.x: `{"rope_type": "default", "rope_theta": ...}`.
    #[serde(default)]
    rope_parameters: Option<Value>,
    #[serde(default)]
    tie_word_embeddings: Option<bool>,
    /// Llama: biases on q, k, v and o.
    #[serde(default)]
    attention_bias: bool,
    /// Llama: biases on gate, up and down.
    #[serde(default)]
    mlp_bias: bool,
    /// Qwen2: sliding-window attention in some layers.
    #[serde(default)]
    use_sliding_window: bool,
    /// transformers 5.x: `"full_attention"` or `"sliding_attention"` per layer.
    #[serde(default)]
    layer_types: Option<Vec<String>>,
}

/// A family's values for what a `config.json` leaves out.
pub(crate) struct FamilyDefaults {
    pub max_position_embeddings: usize,
    pub rms_norm_eps: f64,
    pub rope_theta: f64,
}

impl HfLlamaFamilyConfig {
    /// The architecture as Llama's config, `defaults` where the file is silent; biases as the
    /// file's `attention_bias` and `mlp_bias` say.
    pub fn llama_config(&self, defaults: &FamilyDefaults) -> Result<LlamaConfig, LoadError> {
        Ok(LlamaConfig {
            vocab_size: self.vocab_size,
            hidden_size: self.hidden_size,
            intermediate_size: self.intermediate_size,
            num_hidden_layers: self.num_hidden_layers,
            num_attention_heads: self.num_attention_heads,
            num_key_value_heads: self.num_key_value_heads,
            head_dim: self.head_dim,
            max_position_embeddings: self.max_position_embeddings.unwrap_or(defaults.max_position_embeddings),
            rms_norm_eps: self.rms_norm_eps.unwrap_or(defaults.rms_norm_eps),
            rope_theta: self.rope_theta(defaults.rope_theta)?,
            tie_word_embeddings: self.tie_word_embeddings.unwrap_or(false),
            attention_bias: self.attention_bias,
            qkv_bias: false,
            mlp_bias: self.mlp_bias,
        })
    }

    /// Parses `text` (the contents of `path`), which must name `model_type` (or none) and SiLU.
    pub fn parse(text: &str, path: &Path, model_type: &'static str) -> Result<Self, LoadError> {
        let hf: Self =
            serde_json::from_str(text).map_err(|source| LoadError::Config { path: path.to_path_buf(), source })?;
        if let Some(found) = hf.model_type.as_deref().filter(|found| *found != model_type) {
            return Err(LoadError::ModelType { expected: model_type, found: found.to_string() });
        }
        // transformers maps both names to SiLU.
        match hf.hidden_act.as_deref() {
            None | Some("silu" | "swish") => Ok(hf),
            Some(other) => Err(LoadError::Unsupported {
                field: "hidden_act",
                value: other.to_string(),
                why: "the MLP is SwiGLU with silu",
            }),
        }
    }

    /// Whether any layer uses sliding-window attention.
    pub fn slides(&self) -> bool {
        self.use_sliding_window || self.layer_types.iter().flatten().any(|kind| kind != "full_attention")
    }

    /// The rotary base: `rope_parameters.rope_theta` (transformers 5.x), else `rope_theta` (4.x),
    /// else `default`; any rotary variant but the default one is refused.
    pub fn rope_theta(&self, default: f64) -> Result<f64, LoadError> {
        if let Some(scaling) = &self.rope_scaling {
            check_rope("rope_scaling", scaling)?;
        }
        let mut theta = self.rope_theta;
        if let Some(parameters) = &self.rope_parameters {
            check_rope("rope_parameters", parameters)?;
            if let Some(from_parameters) = parameters.get("rope_theta").and_then(Value::as_f64) {
                theta = Some(from_parameters);
            }
        }
        Ok(theta.unwrap_or(default))
    }
}

/// The rope type named by a `rope_scaling` / `rope_parameters` object (`rope_type`, or the older
/// `type`); absent means the default.
fn rope_type(object: &Value) -> Option<&str> {
    object.get("rope_type").or_else(|| object.get("type")).and_then(Value::as_str)
}

/// Refuses any rotary variant but the default one. `rope_parameters` without a type is the
/// default (it only carries `rope_theta`); a `rope_scaling` object always scales something.
fn check_rope(field: &'static str, value: &Value) -> Result<(), LoadError> {
    let untyped_is_default = field == "rope_parameters";
    match (value, rope_type(value)) {
        (Value::Null, _) | (_, Some("default")) => Ok(()),
        (_, None) if untyped_is_default => Ok(()),
        (_, found) => Err(LoadError::Unsupported {
            field,
            value: format!("{} ({value})", found.unwrap_or("unnamed")),
            why: "only the default rotary embedding is supported",
        }),
    }
}
