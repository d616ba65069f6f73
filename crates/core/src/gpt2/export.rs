//! Writing a model as a Hugging Face GPT-2 directory (`config.json`, `model.safetensors`, the
//! tokenizer), so that anything that loads GPT-2 checkpoints (our loader, transformers) loads it.

use std::path::Path;

use std::path::PathBuf;

use burn::store::{ModuleSnapshot, SafetensorsStore, SafetensorsStoreError};
use retrofit_data::tokenizer::TokenizerConfig;
use serde_json::json;

use super::config::Gpt2Config;
use super::model::Gpt2;
use crate::hf_checkpoint::TOKENIZER_FILE;

/// Why a model could not be written; each displays as one line.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write weights {path}: {source}")]
    Weights {
        path: PathBuf,
        #[source]
        source: SafetensorsStoreError,
    },
    #[error("cannot write the config or the tokenizer as JSON: {0}")]
    Json(#[from] serde_json::Error),
}

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
    let io = |path: &Path, source: std::io::Error| ExportError::Io { path: path.to_path_buf(), source };
    std::fs::create_dir_all(dir).map_err(|error| io(dir, error))?;
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
    let config_path = dir.join("config.json");
    let text = serde_json::to_string_pretty(&hf_config)?;
    std::fs::write(&config_path, text + "\n").map_err(|error| io(&config_path, error))?;

    let weights = dir.join("model.safetensors");
    let mut store = SafetensorsStore::from_file(weights.clone()).overwrite(true);
    for (from, to) in EXPORT_REMAPPING {
        store = store.with_key_remapping(from, to);
    }
    model.save_into(&mut store).map_err(|source| ExportError::Weights { path: weights.clone(), source })?;

    match tokenizer {
        TokenizerConfig::Gpt2 { dir: source } => {
            for file in ["vocab.json", "merges.txt"] {
                std::fs::copy(source.join(file), dir.join(file)).map_err(|error| io(&source.join(file), error))?;
            }
        }
        other => {
            let path = dir.join(TOKENIZER_FILE);
            let text = serde_json::to_string(other)?;
            std::fs::write(&path, text + "\n").map_err(|error| io(&path, error))?;
        }
    }
    Ok(())
}
