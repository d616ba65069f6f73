//! What every family's exporter writes the same way: `config.json`, the tokenizer, and why a
//! write failed.

use std::path::{Path, PathBuf};

use burn::store::SafetensorsStoreError;
use retrofit_data::tokenizer::TokenizerConfig;

use super::TOKENIZER_FILE;

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

impl ExportError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io { path: path.to_path_buf(), source }
    }
}

/// Creates `dir` and writes `config` into `dir/config.json`.
pub(crate) fn write_config(dir: &Path, config: &serde_json::Value) -> Result<(), ExportError> {
    std::fs::create_dir_all(dir).map_err(|error| ExportError::io(dir, error))?;
    let path = dir.join("config.json");
    let text = serde_json::to_string_pretty(config)?;
    std::fs::write(&path, text + "\n").map_err(|error| ExportError::io(&path, error))
}

/// The tokenizer: `vocab.json` + `merges.txt` copied for GPT-2 BPE (HF's files), or
/// [`TOKENIZER_FILE`] describing the others (bytes, words), which every loader here reads first.
pub(crate) fn write_tokenizer(tokenizer: &TokenizerConfig, dir: &Path) -> Result<(), ExportError> {
    match tokenizer {
        TokenizerConfig::Gpt2 { dir: source } => {
            for file in ["vocab.json", "merges.txt"] {
                std::fs::copy(source.join(file), dir.join(file))
                    .map_err(|error| ExportError::io(&source.join(file), error))?;
            }
        }
        other => {
            let path = dir.join(TOKENIZER_FILE);
            let text = serde_json::to_string(other)?;
            std::fs::write(&path, text + "\n").map_err(|error| ExportError::io(&path, error))?;
        }
    }
    Ok(())
}
