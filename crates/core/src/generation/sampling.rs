//! Choosing the next token from logits: greedy, or sampled with temperature, top-k and top-p.

use rand::SeedableRng;
use rand::distr::{Distribution, weighted::WeightedIndex};
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

/// How to choose tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SamplingConfig {
    /// 0 means greedy (argmax).
    pub temperature: f64,
    /// Keep only the k most likely tokens; 0 keeps all.
    pub top_k: usize,
    /// Keep the smallest set of most likely tokens whose probability reaches p; 1 keeps all.
    pub top_p: f64,
    pub seed: u64,
}

impl Default for SamplingConfig {
    fn default() -> Self {
        Self { temperature: 0.0, top_k: 0, top_p: 1.0, seed: 0 }
    }
}

impl SamplingConfig {
    /// Checks the ranges (`--temperature` at least 0, `--top-p` in (0, 1]), as one line naming the flag.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.temperature.is_finite() && self.temperature >= 0.0) {
            return Err(format!("--temperature must be 0 (greedy) or more; got {}", self.temperature));
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return Err(format!("--top-p must be in (0, 1] (1 keeps every token); got {}", self.top_p));
        }
        Ok(())
    }
}

/// A seeded token chooser.
#[derive(Debug, Clone)]
pub struct Sampler {
    config: SamplingConfig,
    rng: StdRng,
}

impl Sampler {
    pub fn new(config: SamplingConfig) -> Self {
        Self { config, rng: StdRng::seed_from_u64(config.seed) }
    }

    /// The tokens that may be drawn from `logits`, most likely first, with their probabilities
    /// (after temperature, top-k and top-p, renormalised).
    pub fn allowed(&self, logits: &[f32]) -> Vec<(u32, f64)> {
        let temperature = self.config.temperature.max(1e-6);
        let mut order: Vec<u32> = (0..logits.len() as u32).collect();
        order.sort_by(|&a, &b| logits[b as usize].total_cmp(&logits[a as usize]));
        if self.config.top_k > 0 {
            order.truncate(self.config.top_k);
        }
        let top = f64::from(logits[order[0] as usize]);
        let weights: Vec<f64> =
            order.iter().map(|&id| ((f64::from(logits[id as usize]) - top) / temperature).exp()).collect();
        let total: f64 = weights.iter().sum();
        let mut kept = Vec::new();
        let mut cumulative = 0.0;
        for (&id, &weight) in order.iter().zip(&weights) {
            kept.push((id, weight / total));
            cumulative += weight / total;
            if cumulative >= self.config.top_p {
                break;
            }
        }
        let kept_total: f64 = kept.iter().map(|(_, p)| p).sum();
        kept.into_iter().map(|(id, p)| (id, p / kept_total)).collect()
    }

    /// The next token.
    pub fn choose(&mut self, logits: &[f32]) -> u32 {
        if self.config.temperature <= 0.0 {
            return argmax(logits);
        }
        let allowed = self.allowed(logits);
        match WeightedIndex::new(allowed.iter().map(|(_, p)| *p)) {
            Ok(distribution) => allowed[distribution.sample(&mut self.rng)].0,
            Err(_) => allowed[0].0,
        }
    }
}

/// Index of the largest logit (the first on ties).
pub fn argmax(logits: &[f32]) -> u32 {
    let mut best = 0;
    for (index, &value) in logits.iter().enumerate() {
        if value > logits[best] {
            best = index;
        }
    }
    best as u32
}
