//! The architecture fields of a Hugging Face Qwen2 `config.json`.

use std::path::Path;

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::hf_checkpoint::{HfConfig, LoadError};
use crate::llama::{self, FamilyDefaults, HfLlamaFamilyConfig, Llama, LlamaConfig};

/// The `model_type` this module reads.
pub const QWEN2_MODEL_TYPE: &str = "qwen2";

/// A Qwen2 architecture: Llama's shape with biases on the query, key and value projections
/// only, read from Qwen2's keys with Qwen2's defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Qwen2Config(LlamaConfig);

impl HfConfig for Qwen2Config {
    fn parse(text: &str, path: &Path) -> Result<Self, LoadError> {
        let hf = HfLlamaFamilyConfig::parse(text, path, QWEN2_MODEL_TYPE)?;
        if hf.slides() {
            return Err(LoadError::Unsupported {
                field: "use_sliding_window",
                value: "true".to_string(),
                why: "only full attention in every layer is supported",
            });
        }
        let defaults = FamilyDefaults { max_position_embeddings: 32_768, rms_norm_eps: 1e-6, rope_theta: 10_000.0 };
        let llama =
            LlamaConfig { attention_bias: false, qkv_bias: true, mlp_bias: false, ..hf.llama_config(&defaults)? };
        llama.validate()?;
        Ok(Self(llama))
    }
}

impl Qwen2Config {
    /// The same architecture in Llama's terms.
    pub fn llama(&self) -> &LlamaConfig {
        &self.0
    }
}

/// Loads `dir/config.json` and `dir/model.safetensors` onto `device`.
pub fn load_qwen2(dir: &Path, device: &Device) -> Result<(Llama, Qwen2Config), LoadError> {
    let config = Qwen2Config::from_dir(dir)?;
    Ok((llama::load_llama_weights(dir, config.llama(), device)?, config))
}
