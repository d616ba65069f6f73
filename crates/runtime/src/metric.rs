//! Typed metrics: every figure a run reports carries what it measures, its unit and which way it
//! improves, so that summaries, the comparison table and the ladder never guess from a name.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Which way a metric improves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    LowerIsBetter,
    HigherIsBetter,
    /// A fact about the run (a count, a learning rate), not a quality.
    Neither,
}

/// What a metric measures. Each quantity has one unit and one direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Quantity {
    /// Mean cross-entropy (nats per token or per example).
    Loss,
    /// Percentage of examples classified correctly.
    Accuracy,
    /// exp(loss) per token.
    Perplexity,
    /// Summed NLL / (ln 2 x UTF-8 bytes).
    BitsPerByte,
    /// How much carrying a state lowers bits per byte (reset minus carried).
    BitsPerByteGain,
    /// Global gradient norm before clipping.
    GradNorm,
    LearningRate,
    /// Seconds (e.g. the median training step).
    Seconds,
    /// A count (tokens, examples, vocabulary size).
    Count,
    /// UTF-8 bytes per token of a tokenized text.
    BytesPerToken,
}

impl Quantity {
    pub fn direction(self) -> Direction {
        match self {
            Self::Loss | Self::Perplexity | Self::BitsPerByte | Self::Seconds => Direction::LowerIsBetter,
            Self::Accuracy | Self::BitsPerByteGain => Direction::HigherIsBetter,
            Self::GradNorm | Self::LearningRate | Self::Count | Self::BytesPerToken => Direction::Neither,
        }
    }

    pub fn unit(self) -> &'static str {
        match self {
            Self::Loss => "nats",
            Self::Accuracy => "%",
            Self::Perplexity => "per token",
            Self::BitsPerByte | Self::BitsPerByteGain => "bits/byte",
            Self::GradNorm | Self::LearningRate => "",
            Self::Seconds => "s",
            Self::Count => "count",
            Self::BytesPerToken => "bytes/token",
        }
    }

    /// The name's stem in summaries (`valid_` + stem).
    pub fn stem(self) -> &'static str {
        match self {
            Self::Loss => "loss",
            Self::Accuracy => "accuracy",
            Self::Perplexity => "perplexity",
            Self::BitsPerByte => "bits_per_byte",
            Self::BitsPerByteGain => "state_gain_bits_per_byte",
            Self::GradNorm => "grad_norm",
            Self::LearningRate => "learning_rate",
            Self::Seconds => "seconds",
            Self::Count => "count",
            Self::BytesPerToken => "bytes_per_token",
        }
    }

    /// The better of two values (the first where the direction says neither).
    pub fn better(self, a: f64, b: f64) -> f64 {
        match self.direction() {
            Direction::LowerIsBetter => a.min(b),
            Direction::HigherIsBetter => a.max(b),
            Direction::Neither => a,
        }
    }
}

/// The part of the data a metric was measured on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Split {
    Train,
    Valid,
    Test,
}

impl Split {
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Train => "train",
            Self::Valid => "valid",
            Self::Test => "test",
        }
    }

    /// `valid_bits_per_byte`, `train_loss`, ...
    pub fn key(self, quantity: Quantity) -> String {
        format!("{}_{}", self.prefix(), quantity.stem())
    }
}

/// One reported figure: its value, what it measures, which way it improves and its unit (the
/// last two follow from the quantity and are written out so that `summary.json` reads alone).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    pub value: f64,
    pub quantity: Quantity,
    pub direction: Direction,
    pub unit: String,
}

impl Metric {
    pub fn new(quantity: Quantity, value: f64) -> Self {
        Self { value, quantity, direction: quantity.direction(), unit: quantity.unit().to_string() }
    }
}

/// Named metrics of a run, sorted by name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MetricSet(pub BTreeMap<String, Metric>);

impl MetricSet {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, name: impl Into<String>, quantity: Quantity, value: f64) {
        self.0.insert(name.into(), Metric::new(quantity, value));
    }

    /// `split_stem` = `value`, e.g. `valid_bits_per_byte`.
    pub fn insert_split(&mut self, split: Split, quantity: Quantity, value: f64) {
        self.insert(split.key(quantity), quantity, value);
    }

    pub fn get(&self, name: &str) -> Option<f64> {
        self.0.get(name).map(|metric| metric.value)
    }

    pub fn metric(&self, name: &str) -> Option<&Metric> {
        self.0.get(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &String> {
        self.0.keys()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &Metric)> {
        self.0.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds every metric of `other`, replacing those of the same name.
    pub fn extend(&mut self, other: MetricSet) {
        self.0.extend(other.0);
    }
}

impl std::ops::Index<&str> for MetricSet {
    type Output = f64;

    /// The value of metric `name`; panics where there is none (tests, known names).
    fn index(&self, name: &str) -> &f64 {
        &self.0[name].value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direction_comes_from_the_quantity_not_the_name() {
        assert_eq!(Quantity::Accuracy.better(0.5, 0.7), 0.7);
        assert_eq!(Quantity::BitsPerByte.better(1.5, 1.2), 1.2);
        assert_eq!(Quantity::BitsPerByteGain.better(-0.1, 0.2), 0.2);
        assert_eq!(Quantity::LearningRate.better(1e-3, 1e-4), 1e-3);
    }

    #[test]
    fn metric_sets_round_trip_through_json_with_their_quantities() {
        let mut set = MetricSet::new();
        set.insert_split(Split::Valid, Quantity::BitsPerByte, 1.25);
        set.insert("median_step_s", Quantity::Seconds, 0.5);
        let json = serde_json::to_string(&set).unwrap();
        let expected = r#""valid_bits_per_byte":{"value":1.25,"quantity":"bits-per-byte","direction":"lower-is-better","unit":"bits/byte"}"#;
        assert!(json.contains(expected), "{json}");
        let again: MetricSet = serde_json::from_str(&json).unwrap();
        assert_eq!(again, set);
        assert_eq!(again.metric("valid_bits_per_byte").unwrap().direction, Direction::LowerIsBetter);
    }
}
