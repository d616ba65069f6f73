//! The long-range probe: a generated text in which a token can only be predicted from something
//! that appeared more than one window earlier. Records are `key`, `gap` filler symbols, `marker`,
//! `key` again: the repeated key is `gap + 2` tokens after the first, so with `gap + 2 > context`
//! no window holds both, and only a state carried from an earlier window can predict it. A model
//! without one can do no better than `ln(keys)` nats on it.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::DataError;
use crate::corpus::ByteSplits;

/// The probe's settings (`[data.source] kind = "probe"`). Symbols are joined with `separator`;
/// with single characters and no separator a byte-level tokenizer reads one token per symbol. For
/// a BPE base, use words that are single tokens and `separator = " "`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProbeConfig {
    /// The keys a record draws from (uniformly).
    pub keys: Vec<String>,
    /// The filler symbols between a key and its repetition (uniformly, independently).
    pub filler: Vec<String>,
    /// The symbol before the repeated key.
    pub marker: String,
    /// Filler symbols between a key and its marker.
    pub gap: usize,
    pub separator: String,
    /// Records in the train, validation and test splits.
    pub train_records: usize,
    pub valid_records: usize,
    pub test_records: usize,
    pub seed: u64,
}

impl Default for ProbeConfig {
    /// 16 keys (`A`..`P`), filler `a`..`d`, marker `=`, gap 20: records of 23 bytes.
    fn default() -> Self {
        let letters = |range: std::ops::RangeInclusive<char>| range.map(String::from).collect();
        Self {
            keys: letters('A'..='P'),
            filler: letters('a'..='d'),
            marker: "=".to_string(),
            gap: 20,
            separator: String::new(),
            train_records: 2_000,
            valid_records: 200,
            test_records: 200,
            seed: 0,
        }
    }
}

impl ProbeConfig {
    /// The three splits, each drawn from its own seeded generator.
    pub fn generate(&self) -> Result<ByteSplits, DataError> {
        let bad = |rule: &str| Err(DataError::Split(format!("probe: {rule}")));
        if self.keys.len() < 2 || self.filler.is_empty() {
            return bad("needs at least 2 keys and 1 filler symbol");
        }
        if self.keys.iter().chain(&self.filler).chain([&self.marker]).any(String::is_empty) {
            return bad("symbols must not be empty");
        }
        if self.keys.contains(&self.marker) || self.filler.contains(&self.marker) {
            return bad("the marker must differ from every key and filler symbol");
        }
        if self.train_records == 0 || self.valid_records == 0 || self.test_records == 0 {
            return bad("every split needs at least 1 record");
        }
        let split = |records: usize, part: u64| -> Vec<u8> {
            let mut rng = StdRng::seed_from_u64(self.seed.wrapping_mul(3).wrapping_add(part));
            let mut symbols: Vec<&str> = Vec::with_capacity(records * (self.gap + 3));
            for _ in 0..records {
                let key = &self.keys[rng.random_range(0..self.keys.len())];
                symbols.push(key);
                for _ in 0..self.gap {
                    symbols.push(&self.filler[rng.random_range(0..self.filler.len())]);
                }
                symbols.push(&self.marker);
                symbols.push(key);
            }
            symbols.join(&self.separator).into_bytes()
        };
        Ok(ByteSplits {
            train: split(self.train_records, 0),
            valid: split(self.valid_records, 1),
            test: split(self.test_records, 2),
        })
    }

    /// Symbols per record.
    pub fn record_symbols(&self) -> usize {
        self.gap + 3
    }
}
