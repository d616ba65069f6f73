//! Writing a model as a Hugging Face GPT-2 directory (`config.json`, `model.safetensors`, the
//! tokenizer), so that anything that loads GPT-2 checkpoints (our loader, transformers) loads it.

use std::path::Path;

use burn::store::{ModuleSnapshot, SafetensorsStore};
use retrofit_data::tokenizer::TokenizerConfig;
use serde_json::json;

use super::config::Gpt2Config;
use super::loader::Gpt2Error;
use super::model::Gpt2;

/// The file that names a non-BPE tokenizer in a model directory (`{"kind": "bytes"}`); GPT-2 BPE
/// is written as HF's `vocab.json` + `merges.txt`.
pub const TOKENIZER_FILE: &str = "retrofit-tokenizer.json";

/// Module path → HF key: the inverse of the loader's remapping (burn's LayerNorm `gamma`/`beta`
/// are HF's `weight`/`bias`; `GPT2LMHeadModel` nests the model under `transformer.`).
const EXPORT_REMAPPING: [(&str, &str); 3] = [(r"^", "transformer."), (r"\.gamma$", ".weight"), (r"\.beta$", ".bias")];

/// Writes `model` into `dir` (created if needed): `config.json` with the fields transformers
/// needs for `GPT2LMHeadModel`, `model.safetensors` (the head is tied, so `lm_head` is not
/// stored), and the tokenizer: `vocab.json` + `merges.txt` copied for GPT-2 BPE, or
/// [`TOKENIZER_FILE`] for bytes.
pub fn export_gpt2(
    model: &Gpt2,
    config: &Gpt2Config,
    tokenizer: &TokenizerConfig,
    dir: &Path,
) -> Result<(), Gpt2Error> {
    let io = |path: &Path, error: std::io::Error| Gpt2Error::Weights {
        path: path.to_path_buf(),
        message: error.to_string(),
    };
    std::fs::create_dir_all(dir).map_err(|error| io(dir, error))?;
    let mut hf_config = serde_json::to_value(config).map_err(|error| Gpt2Error::Invalid(error.to_string()))?;
    let end_of_text = config.vocab_size.saturating_sub(1);
    if let Some(fields) = hf_config.as_object_mut() {
        for (key, value) in [
            ("model_type", json!("gpt2")),
            ("architectures", json!(["GPT2LMHeadModel"])),
            ("tie_word_embeddings", json!(true)),
            ("bos_token_id", json!(end_of_text)),
            ("eos_token_id", json!(end_of_text)),
            ("resid_pdrop", json!(0.0)),
            ("embd_pdrop", json!(0.0)),
            ("attn_pdrop", json!(0.0)),
            ("torch_dtype", json!("float32")),
        ] {
            fields.insert(key.to_string(), value);
        }
    }
    let config_path = dir.join("config.json");
    let text = serde_json::to_string_pretty(&hf_config).map_err(|error| Gpt2Error::Invalid(error.to_string()))?;
    std::fs::write(&config_path, text + "\n").map_err(|error| io(&config_path, error))?;

    let weights = dir.join("model.safetensors");
    let mut store = SafetensorsStore::from_file(weights.clone()).overwrite(true);
    for (from, to) in EXPORT_REMAPPING {
        store = store.with_key_remapping(from, to);
    }
    model
        .save_into(&mut store)
        .map_err(|error| Gpt2Error::Weights { path: weights.clone(), message: error.to_string() })?;

    match tokenizer {
        TokenizerConfig::Gpt2 { dir: source } => {
            for file in ["vocab.json", "merges.txt"] {
                std::fs::copy(source.join(file), dir.join(file)).map_err(|error| io(&source.join(file), error))?;
            }
        }
        other => {
            let path = dir.join(TOKENIZER_FILE);
            let text = serde_json::to_string(other).map_err(|error| Gpt2Error::Invalid(error.to_string()))?;
            std::fs::write(&path, text + "\n").map_err(|error| io(&path, error))?;
        }
    }
    Ok(())
}
