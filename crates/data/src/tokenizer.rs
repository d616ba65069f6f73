//! Tokenizers: bytes (vocabulary 256), GPT-2 BPE from local files through the `tokenizers`
//! crate, and a word-level vocabulary trained on the training split (also `tokenizers`).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tokenizers::models::TrainerWrapper;
use tokenizers::models::bpe::BPE;
use tokenizers::models::wordlevel::{WordLevel, WordLevelTrainer};
use tokenizers::normalizers::Lowercase;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::whitespace::Whitespace;
use tokenizers::{AddedToken, Tokenizer};

use crate::DataError;

/// Which tokenizer a stage uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum TokenizerConfig {
    /// One token per byte, vocabulary 256.
    Bytes,
    /// GPT-2 BPE from a directory with `tokenizer.json`, or `vocab.json` + `merges.txt`.
    Gpt2 {
        #[serde(default = "default_gpt2_dir")]
        dir: PathBuf,
    },
    /// Lower-cased words and punctuation runs, the `max_vocab` most frequent in the training
    /// split, plus `<pad>` (id 0) and `<unk>` (id 1).
    Word {
        #[serde(default = "default_max_vocab")]
        max_vocab: usize,
    },
}

/// The GPT-2 tokenizer files shipped with the repository.
pub fn default_gpt2_dir() -> PathBuf {
    PathBuf::from("data/gpt2")
}

fn default_max_vocab() -> usize {
    50_000
}

impl Default for TokenizerConfig {
    fn default() -> Self {
        Self::Gpt2 { dir: default_gpt2_dir() }
    }
}

/// GPT-2's end-of-text token, also used as its padding id.
pub const GPT2_END_OF_TEXT: u32 = 50_256;
/// The end-of-text token of byte-level BPE vocabularies (GPT-2's, SmolLM2's).
const END_OF_TEXT: &str = "<|endoftext|>";
const WORD_PAD: &str = "<pad>";
const WORD_UNKNOWN: &str = "<unk>";

/// A ready tokenizer.
#[derive(Debug, Clone)]
pub enum TextTokenizer {
    Bytes,
    Gpt2(Box<Tokenizer>),
    Word(Box<Tokenizer>),
}

impl TextTokenizer {
    /// Builds the configured tokenizer; a word-level one is trained on `training_texts`.
    pub fn from_config<'a>(
        config: &TokenizerConfig,
        training_texts: impl Iterator<Item = &'a str> + Send,
    ) -> Result<Self, DataError> {
        match config {
            TokenizerConfig::Bytes => Ok(Self::Bytes),
            TokenizerConfig::Gpt2 { dir } => Self::gpt2_from_dir(dir),
            TokenizerConfig::Word { max_vocab } => Self::train_word_level(training_texts, *max_vocab),
        }
    }

    /// GPT-2 BPE from `dir/tokenizer.json`, or from `dir/vocab.json` + `dir/merges.txt`.
    pub fn gpt2_from_dir(dir: &Path) -> Result<Self, DataError> {
        let error = |message: String| DataError::Tokenizer(format!("{}: {message}", dir.display()));
        let json = dir.join("tokenizer.json");
        if json.is_file() {
            let tokenizer = Tokenizer::from_file(&json).map_err(|e| error(e.to_string()))?;
            return Ok(Self::Gpt2(Box::new(tokenizer)));
        }
        let vocab = dir.join("vocab.json");
        let merges = dir.join("merges.txt");
        for file in [&vocab, &merges] {
            if !file.is_file() {
                return Err(DataError::Missing(file.clone()));
            }
        }
        let bpe = BPE::from_file(&vocab.to_string_lossy(), &merges.to_string_lossy())
            .build()
            .map_err(|e| error(e.to_string()))?;
        let mut tokenizer = Tokenizer::new(bpe);
        // GPT-2: byte-level pre-tokenization without a prefix space, byte-level decoding.
        tokenizer.with_pre_tokenizer(Some(ByteLevel::new(false, true, true)));
        tokenizer.with_decoder(Some(ByteLevel::default()));
        Ok(Self::Gpt2(Box::new(tokenizer)))
    }

    /// Trains a word-level vocabulary of at most `max_vocab` entries (specials included).
    pub fn train_word_level<'a>(
        texts: impl Iterator<Item = &'a str> + Send,
        max_vocab: usize,
    ) -> Result<Self, DataError> {
        if max_vocab < 3 {
            return Err(DataError::Tokenizer(format!("max_vocab {max_vocab} is below 3")));
        }
        let model = WordLevel::builder()
            .unk_token(WORD_UNKNOWN.to_string())
            .build()
            .map_err(|e| DataError::Tokenizer(e.to_string()))?;
        let mut tokenizer = Tokenizer::new(model);
        tokenizer.with_normalizer(Some(Lowercase));
        tokenizer.with_pre_tokenizer(Some(Whitespace));
        let mut trainer: TrainerWrapper = WordLevelTrainer::builder()
            .vocab_size(max_vocab)
            .show_progress(false)
            .special_tokens(vec![AddedToken::from(WORD_PAD, true), AddedToken::from(WORD_UNKNOWN, true)])
            .build()
            .map_err(|e| DataError::Tokenizer(e.to_string()))?
            .into();
        tokenizer.train(&mut trainer, texts).map_err(|e| DataError::Tokenizer(e.to_string()))?;
        Ok(Self::Word(Box::new(tokenizer)))
    }

    /// A short name for logs and summaries.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Bytes => "bytes",
            Self::Gpt2(_) => "gpt2-bpe",
            Self::Word(_) => "word",
        }
    }

    /// Number of distinct token ids.
    pub fn vocab_size(&self) -> usize {
        match self {
            Self::Bytes => 256,
            Self::Gpt2(tokenizer) | Self::Word(tokenizer) => tokenizer.get_vocab_size(true),
        }
    }

    /// The id used to fill padded positions (they are masked, so its value never matters, but it
    /// must be in the vocabulary): a BPE vocabulary's `<|endoftext|>` (50,256 in GPT-2's, 0 in
    /// SmolLM2's), else GPT-2's.
    pub fn pad_id(&self) -> u32 {
        match self {
            Self::Bytes | Self::Word(_) => 0,
            Self::Gpt2(tokenizer) => tokenizer.token_to_id(END_OF_TEXT).unwrap_or(GPT2_END_OF_TEXT),
        }
    }

    /// The vocabulary's end-of-text token, where a text ends: a BPE vocabulary's `<|endoftext|>`
    /// (50,256 in GPT-2's) if it has one; bytes and words have none.
    pub fn end_of_text_id(&self) -> Option<u32> {
        match self {
            Self::Bytes | Self::Word(_) => None,
            Self::Gpt2(tokenizer) => tokenizer.token_to_id(END_OF_TEXT),
        }
    }

    /// UTF-8 bytes each token id stands for (index = id), so that a loss can be expressed in bits
    /// per byte. GPT-2's byte-level vocabulary writes each byte as one character, so a token's
    /// byte count is its character count. A word-level vocabulary has no such count (it drops
    /// whitespace and lower-cases), so it is an error.
    pub fn token_byte_lengths(&self) -> Result<Vec<u32>, DataError> {
        match self {
            Self::Bytes => Ok(vec![1; 256]),
            Self::Gpt2(tokenizer) => Ok((0..self.vocab_size() as u32)
                .map(|id| tokenizer.id_to_token(id).map_or(0, |token| token.chars().count() as u32))
                .collect()),
            Self::Word(_) => Err(DataError::Tokenizer(
                "a word-level vocabulary does not map tokens to bytes: language models use kind = \"bytes\" or \"gpt2\"".to_string(),
            )),
        }
    }

    /// Token ids of `text`.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, DataError> {
        match self {
            Self::Bytes => Ok(text.bytes().map(u32::from).collect()),
            Self::Gpt2(tokenizer) | Self::Word(tokenizer) => tokenizer
                .encode(text, false)
                .map(|encoding| encoding.get_ids().to_vec())
                .map_err(|e| DataError::Tokenizer(e.to_string())),
        }
    }

    /// Token ids of a large text, encoded in parallel chunks cut after a newline that is followed
    /// by a non-space character (where GPT-2's pre-tokenizer cuts anyway, so the ids equal
    /// [`encode`](Self::encode) on the whole text). Bytes that are not UTF-8 are replaced (only
    /// the byte tokenizer sees them exactly).
    pub fn encode_corpus(&self, bytes: &[u8]) -> Result<Vec<u32>, DataError> {
        let tokenizer = match self {
            Self::Bytes => return Ok(bytes.iter().map(|&b| u32::from(b)).collect()),
            Self::Gpt2(tokenizer) | Self::Word(tokenizer) => tokenizer,
        };
        let text = String::from_utf8_lossy(bytes);
        let chunks = newline_chunks(&text, 1 << 16);
        let encodings = tokenizer.encode_batch(chunks, false).map_err(|e| DataError::Tokenizer(e.to_string()))?;
        Ok(encodings.iter().flat_map(|encoding| encoding.get_ids().iter().copied()).collect())
    }

    /// Text of `ids`.
    pub fn decode(&self, ids: &[u32]) -> Result<String, DataError> {
        match self {
            Self::Bytes => {
                let bytes: Vec<u8> = ids.iter().map(|&id| id.min(255) as u8).collect();
                Ok(String::from_utf8_lossy(&bytes).into_owned())
            }
            Self::Gpt2(tokenizer) | Self::Word(tokenizer) => {
                tokenizer.decode(ids, false).map_err(|e| DataError::Tokenizer(e.to_string()))
            }
        }
    }
}

/// Cuts `text` into pieces of about `target` bytes, each ending with a newline that is followed
/// by a non-whitespace character.
fn newline_chunks(text: &str, target: usize) -> Vec<&str> {
    let mut chunks = Vec::new();
    let mut start = 0;
    while text.len() - start > target {
        let from = text.floor_char_boundary(start + target);
        let cut = text[from..]
            .match_indices('\n')
            .map(|(offset, _)| from + offset + 1)
            .find(|&end| text[end..].chars().next().is_some_and(|c| !c.is_whitespace()));
        match cut {
            Some(end) => {
                chunks.push(&text[start..end]);
                start = end;
            }
            None => break,
        }
    }
    chunks.push(&text[start..]);
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newline_chunks_cover_the_text() {
        let text = "line one\n\nline two\n  indented\nlast\n".repeat(50);
        let chunks = newline_chunks(&text, 40);
        assert!(chunks.len() > 10);
        assert_eq!(chunks.concat(), text);
        for chunk in &chunks[..chunks.len() - 1] {
            assert!(chunk.ends_with('\n'));
        }
    }
}
