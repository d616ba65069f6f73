//! The tokenizer of a model directory, checked against the model's vocabulary.

use std::path::Path;

use retrofit_data::tokenizer::{TextTokenizer, TokenizerConfig, default_gpt2_dir};

use super::LoadError;

/// The file that names a non-BPE tokenizer in a model directory (`{"kind": "bytes"}`), written
/// where the model was trained on bytes.
pub const TOKENIZER_FILE: &str = "retrofit-tokenizer.json";

/// What to use when a directory has no tokenizer of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenizerFallback {
    /// The repository's GPT-2 files (GPT-2 checkpoints often come without them).
    Gpt2,
    /// None: `tokenizer.json` is required.
    Required,
}

/// The directory's tokenizer ([`TOKENIZER_FILE`], `tokenizer.json`, or `vocab.json` +
/// `merges.txt`), else the fallback; its vocabulary must be `vocab_size`.
pub fn load_tokenizer(dir: &Path, vocab_size: usize, fallback: TokenizerFallback) -> Result<TextTokenizer, LoadError> {
    let described = dir.join(TOKENIZER_FILE);
    let tokenizer = if described.is_file() {
        let text = std::fs::read_to_string(&described)
            .map_err(|source| LoadError::Missing { path: described.clone(), source })?;
        let config: TokenizerConfig = serde_json::from_str(&text)
            .map_err(|source| LoadError::TokenizerFile { path: described.clone(), source })?;
        TextTokenizer::from_config(&config, std::iter::empty())?
    } else if dir.join("tokenizer.json").is_file() || dir.join("vocab.json").is_file() {
        TextTokenizer::gpt2_from_dir(dir)?
    } else {
        match fallback {
            TokenizerFallback::Gpt2 => TextTokenizer::gpt2_from_dir(&default_gpt2_dir())?,
            TokenizerFallback::Required => {
                let path = dir.join("tokenizer.json");
                return Err(LoadError::Missing { path, source: std::io::Error::other("no such file") });
            }
        }
    };
    if tokenizer.vocab_size() != vocab_size {
        return Err(LoadError::TokenizerMismatch { tokenizer: tokenizer.vocab_size(), model: vocab_size });
    }
    Ok(tokenizer)
}
