//! Writing a model as a Hugging Face GPT-2 directory (`config.json`, `model.safetensors`, the
//! tokenizer), so that anything that loads GPT-2 checkpoints (our loader, transformers) loads it.

use std::path::Path;

use burn::store::{ModuleSnapshot, SafetensorsStore};
use retrofit_data::tokenizer::TokenizerConfig;
use serde_json::json;

use super::config::Gpt2Config;
use super::model::Gpt2;
pub use crate::hf_checkpoint::ExportError;
use crate::hf_checkpoint::{write_config, write_tokenizer};

/// Module path → HF key: the inverse of the loader's remapping (burn's LayerNorm `gamma`/`beta`
/// are HF's `weight`/`bias`; `GPT2LMHeadModel` nests the model under `transformer.`).
const EXPORT_REMAPPING: [(&str, &str); 3] = [(r"^", "transformer."), (r"\.gamma$", ".weight"), (r"\.beta$", ".bias")];

/// Writes `model` into `dir` (created if needed): `config.json` with the fields transformers
/// needs for `GPT2LMHeadModel` (`eos_token_id` and `bos_token_id` GPT-2 BPE's `<|endoftext|>`,
/// null for the other tokenizers, which have no such token), `model.safetensors` (the head is tied, so `lm_head` is not
/// stored), and the tokenizer: `vocab.json` + `merges.txt` copied for GPT-2 BPE, or
/// [`TOKENIZER_FILE`] for bytes (GPT-2 BPE is written as HF's `vocab.json` + `merges.txt`).
pub fn export_gpt2(
    model: &Gpt2,
    config: &Gpt2Config,
    tokenizer: &TokenizerConfig,
    dir: &Path,
) -> Result<(), ExportError> {
    let mut hf_config = serde_json::to_value(config)?;
    // GPT-2 BPE's last id is its `<|endoftext|>`; bytes and words have no end-of-text token.
    let end_of_text = match tokenizer {
        TokenizerConfig::Gpt2 { .. } => json!(config.vocab_size.saturating_sub(1)),
        _ => serde_json::Value::Null,
    };
    if let Some(fields) = hf_config.as_object_mut() {
        for (key, value) in [
            ("model_type", json!("gpt2")),
            ("architectures", json!(["GPT2LMHeadModel"])),
            ("tie_word_embeddings", json!(true)),
            ("bos_token_id", end_of_text.clone()),
            ("eos_token_id", end_of_text.clone()),
            ("resid_pdrop", json!(0.0)),
            ("embd_pdrop", json!(0.0)),
            ("attn_pdrop", json!(0.0)),
            ("torch_dtype", json!("float32")),
        ] {
            fields.insert(key.to_string(), value);
        }
    }
    write_config(dir, &hf_config)?;

    let weights = dir.join("model.safetensors");
    let mut store = SafetensorsStore::from_file(weights.clone()).overwrite(true);
    for (from, to) in EXPORT_REMAPPING {
        store = store.with_key_remapping(from, to);
    }
    model.save_into(&mut store).map_err(|source| ExportError::Weights { path: weights.clone(), source })?;

    write_tokenizer(tokenizer, dir)
}
