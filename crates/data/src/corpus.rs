//! Language-model corpora: train / validation / test bytes from any supported source.

use crate::text::TextSplits;

/// Train / validation / test parts as raw bytes (UTF-8 for text corpora; enwik8 may cut a
/// character at a boundary, which only the byte tokenizer sees exactly).
#[derive(Debug, Clone, PartialEq)]
pub struct ByteSplits {
    pub train: Vec<u8>,
    pub valid: Vec<u8>,
    pub test: Vec<u8>,
}

impl From<TextSplits> for ByteSplits {
    fn from(splits: TextSplits) -> Self {
        Self { train: splits.train.into_bytes(), valid: splits.valid.into_bytes(), test: splits.test.into_bytes() }
    }
}

impl ByteSplits {
    /// The three parts with their names, in order.
    pub fn named(&self) -> [(&'static str, &[u8]); 3] {
        [("train", &self.train), ("valid", &self.valid), ("test", &self.test)]
    }
}
