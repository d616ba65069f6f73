//! The statistics a researcher checks first about a data set.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::labelled::{LabelledIds, NUM_CLASSES};

/// Sequence-length percentiles in tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LengthPercentiles {
    pub p50: usize,
    pub p90: usize,
    pub p99: usize,
    pub max: usize,
}

impl LengthPercentiles {
    /// Nearest-rank percentiles; `None` for no lengths.
    pub fn of(lengths: &[usize]) -> Option<Self> {
        let mut sorted = lengths.to_vec();
        sorted.sort_unstable();
        let rank = |p: f64| sorted[((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1];
        (!sorted.is_empty()).then(|| Self { p50: rank(0.5), p90: rank(0.9), p99: rank(0.99), max: rank(1.0) })
    }
}

/// Statistics of one split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitStats {
    pub split: String,
    /// Number of examples (classification) or `None` for one running text.
    pub examples: Option<usize>,
    /// Examples per class, negative then positive (classification).
    pub class_counts: Option<Vec<usize>>,
    pub tokens: usize,
    /// UTF-8 bytes of the text (`None` for pre-tokenized data).
    pub bytes: Option<usize>,
    pub bytes_per_token: Option<f64>,
    /// Example lengths in tokens (classification).
    pub lengths: Option<LengthPercentiles>,
    /// Examples longer than the configured maximum length, which batches truncate.
    pub truncated: Option<usize>,
    /// Contiguous evaluation windows of the configured context (language modelling).
    pub windows: Option<usize>,
}

impl SplitStats {
    /// Statistics of a running text of `bytes` bytes tokenized into `tokens` tokens.
    pub fn running_text(split: &str, bytes: usize, tokens: usize, context: usize) -> Self {
        Self {
            split: split.to_string(),
            examples: None,
            class_counts: None,
            tokens,
            bytes: Some(bytes),
            bytes_per_token: (tokens > 0).then(|| bytes as f64 / tokens as f64),
            lengths: None,
            truncated: None,
            windows: Some(tokens.saturating_sub(1) / context.max(1)),
        }
    }

    /// Statistics of labelled examples; `bytes` is their total text size where known.
    pub fn labelled(split: &str, examples: &[LabelledIds], bytes: Option<usize>, max_length: usize) -> Self {
        let lengths: Vec<usize> = examples.iter().map(|example| example.ids.len()).collect();
        let tokens: usize = lengths.iter().sum();
        let mut class_counts = vec![0; NUM_CLASSES];
        for example in examples {
            class_counts[example.label] += 1;
        }
        Self {
            split: split.to_string(),
            examples: Some(examples.len()),
            class_counts: Some(class_counts),
            tokens,
            bytes,
            bytes_per_token: bytes.filter(|_| tokens > 0).map(|bytes| bytes as f64 / tokens as f64),
            lengths: LengthPercentiles::of(&lengths),
            truncated: Some(lengths.iter().filter(|&&length| length > max_length).count()),
            windows: None,
        }
    }
}

/// Statistics of a loaded data set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataStats {
    /// What was read, e.g. `text data/alice29.txt`.
    pub source: String,
    pub tokenizer: String,
    pub vocab_size: usize,
    pub splits: Vec<SplitStats>,
}

impl DataStats {
    /// Tokens over all splits.
    pub fn total_tokens(&self) -> usize {
        self.splits.iter().map(|split| split.tokens).sum()
    }
}

fn optional<T: fmt::Display>(value: Option<T>) -> String {
    value.map_or_else(|| "-".to_string(), |value| value.to_string())
}

impl fmt::Display for DataStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "source:     {}", self.source)?;
        writeln!(f, "tokenizer:  {} (vocabulary {})", self.tokenizer, self.vocab_size)?;
        writeln!(f)?;
        writeln!(
            f,
            "| split | examples | neg / pos | tokens | bytes | bytes/token | length p50 / p90 / p99 / max | truncated | windows |"
        )?;
        writeln!(f, "|---|---:|---:|---:|---:|---:|---:|---:|---:|")?;
        for split in &self.splits {
            let classes = split
                .class_counts
                .as_ref()
                .map_or_else(|| "-".to_string(), |counts| format!("{} / {}", counts[0], counts[1]));
            let lengths = split
                .lengths
                .map_or_else(|| "-".to_string(), |l| format!("{} / {} / {} / {}", l.p50, l.p90, l.p99, l.max));
            writeln!(
                f,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                split.split,
                optional(split.examples),
                classes,
                split.tokens,
                optional(split.bytes),
                optional(split.bytes_per_token.map(|b| format!("{b:.3}"))),
                lengths,
                optional(split.truncated),
                optional(split.windows),
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let lengths: Vec<usize> = (1..=100).collect();
        let p = LengthPercentiles::of(&lengths).unwrap();
        assert_eq!((p.p50, p.p90, p.p99, p.max), (50, 90, 99, 100));
        assert_eq!(LengthPercentiles::of(&[7]).unwrap().p50, 7);
        assert!(LengthPercentiles::of(&[]).is_none());
    }
}
