//! Writing a Llama as a Hugging Face directory (`config.json`, `model.safetensors`, the
//! tokenizer), so that the loader here (and transformers' `LlamaForCausalLM`) loads it: what lets
//! the generator stage pre-train a small rotary base for the recurrent generator.

use std::path::Path;

use burn::store::{BurnToPyTorchAdapter, ModuleSnapshot, SafetensorsStore};
use retrofit_data::tokenizer::TokenizerConfig;
use serde_json::json;

use super::config::{LLAMA_MODEL_TYPE, LlamaConfig};
use super::model::Llama;
use crate::hf_checkpoint::{ExportError, write_config, write_tokenizer};

/// Writes `model` (of `config`'s shape) into `dir` (created if needed): `config.json` in the
/// transformers 4.x form (`rope_theta` at the top level), `model.safetensors` with HF's keys
/// (the module tree already has HF's names; burn's `[in, out]` linear weights are written
/// `[out, in]` and the RMSNorms' `gamma` as `weight`, by burn's PyTorch adapter; a tied head is
/// not stored; the rotary tables are constants and are not either), and the tokenizer.
pub fn export_llama(
    model: &Llama,
    config: &LlamaConfig,
    tokenizer: &TokenizerConfig,
    dir: &Path,
) -> Result<(), ExportError> {
    let mut hf_config = serde_json::to_value(config)?;
    if let Some(fields) = hf_config.as_object_mut() {
        // Ours only (Qwen2's layout): a Llama has none.
        fields.remove("qkv_bias");
        for (key, value) in [
            ("num_key_value_heads", json!(config.key_value_heads())),
            ("head_dim", json!(config.head_dim())),
            ("model_type", json!(LLAMA_MODEL_TYPE)),
            ("architectures", json!(["LlamaForCausalLM"])),
            ("hidden_act", json!("silu")),
            ("bos_token_id", serde_json::Value::Null),
            ("eos_token_id", serde_json::Value::Null),
            ("torch_dtype", json!("float32")),
        ] {
            fields.insert(key.to_string(), value);
        }
    }
    write_config(dir, &hf_config)?;
    let weights = dir.join("model.safetensors");
    let mut store = SafetensorsStore::from_file(weights.clone()).with_to_adapter(BurnToPyTorchAdapter).overwrite(true);
    model.save_into(&mut store).map_err(|source| ExportError::Weights { path: weights.clone(), source })?;
    write_tokenizer(tokenizer, dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::load_base;
    use crate::decoder::Decoder;
    use burn::tensor::{Device, Distribution, Int, Tensor};

    #[test]
    fn an_exported_llama_loads_back_as_the_same_model() {
        let device = Device::default();
        let config = LlamaConfig {
            vocab_size: 256,
            hidden_size: 32,
            intermediate_size: 48,
            num_hidden_layers: 2,
            num_attention_heads: 4,
            num_key_value_heads: Some(2),
            head_dim: None,
            max_position_embeddings: 64,
            rope_theta: 10_000.0,
            ..LlamaConfig::smollm2_135m()
        };
        let model = config.init(&device);
        let dir = tempfile::tempdir().unwrap();
        export_llama(&model, &config, &TokenizerConfig::Bytes, dir.path()).unwrap();
        let (loaded, _) = load_base(dir.path(), &device).unwrap();
        let ids = Tensor::<2>::random([2, 20], Distribution::Uniform(0.0, 255.0), &device).int();
        let ids: Tensor<2, Int> = ids.clamp(0, 255);
        let difference = (model.forward(ids.clone()) - loaded.forward(ids)).abs().max().into_scalar::<f32>();
        assert_eq!(difference, 0.0);
        let tokenizer =
            crate::hf_checkpoint::load_tokenizer(dir.path(), 256, crate::hf_checkpoint::TokenizerFallback::Required);
        assert!(tokenizer.is_ok(), "{tokenizer:?}");
    }
}
