//! How sure a difference is: paired bootstraps of a difference in bits per byte between two
//! evaluations of the same text (one model with its state carried and reset; a rung and the
//! control), over the evaluated windows, for one seed or pooled over seeds.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use super::evaluate::StreamEvaluation;
use crate::CoreError;
use crate::training::bits_per_byte;

/// A difference in bits per byte with a percentile bootstrap interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GainInterval {
    /// The difference on the evaluated text as it is.
    pub gain: f64,
    pub low: f64,
    pub high: f64,
    /// e.g. 0.95.
    pub level: f64,
    pub resamples: usize,
}

/// One stretch of text scored by two evaluations: the NLL (nats) each gave its targets, and
/// their UTF-8 bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairedUnit {
    pub first_nll: f64,
    pub second_nll: f64,
    pub bytes: usize,
}

/// Pairs the windows of two evaluations of the same text read as the same streams. When their
/// windows differ in length (a rung that attends twice as far), the unit is the longer window,
/// the shorter one's windows summed over it; only the text both evaluated is paired.
pub fn paired_units(first: &StreamEvaluation, second: &StreamEvaluation) -> Result<Vec<PairedUnit>, CoreError> {
    let mismatch = |detail: String| {
        CoreError::setting("evaluation", format!("a paired bootstrap needs two evaluations of the same text: {detail}"))
    };
    if first.streams != second.streams || first.streams == 0 {
        return Err(mismatch(format!("{} streams against {}", first.streams, second.streams)));
    }
    let context =
        |evaluation: &StreamEvaluation| evaluation.tokens / (evaluation.streams * evaluation.windows_per_stream).max(1);
    let (context_first, context_second) = (context(first), context(second));
    let unit = context_first.max(context_second);
    if context_first == 0 || context_second == 0 || unit % context_first != 0 || unit % context_second != 0 {
        return Err(mismatch(format!("windows of {context_first} and {context_second} tokens")));
    }
    let units = (first.windows_per_stream * context_first).min(second.windows_per_stream * context_second) / unit;
    // NLL and bytes of unit `u` of `stream` in `evaluation`: its windows' sums.
    let sums = |evaluation: &StreamEvaluation, own: usize, stream: usize, u: usize| {
        let per_unit = unit / own;
        let cells = (0..per_unit).map(|i| stream * evaluation.windows_per_stream + u * per_unit + i);
        cells.fold((0.0, 0usize), |(nll, bytes), cell| {
            (nll + evaluation.window_nll[cell], bytes + evaluation.window_bytes[cell])
        })
    };
    let mut pairs = Vec::with_capacity(first.streams * units);
    for stream in 0..first.streams {
        for u in 0..units {
            let (first_nll, bytes) = sums(first, context_first, stream, u);
            let (second_nll, second_bytes) = sums(second, context_second, stream, u);
            if bytes != second_bytes {
                return Err(mismatch(format!(
                    "unit {u} of stream {stream} holds {bytes} bytes against {second_bytes}"
                )));
            }
            pairs.push(PairedUnit { first_nll, second_nll, bytes });
        }
    }
    if pairs.is_empty() {
        return Err(mismatch("no text in common".to_string()));
    }
    Ok(pairs)
}

/// `bits_per_byte(first) - bits_per_byte(second)` over `groups` (one per seed: the paired units
/// of that seed's two runs), with a `level` percentile interval from `resamples` bootstrap
/// resamples. Each resample draws the groups with replacement, then within each drawn group its
/// units with replacement (a two-stage bootstrap: the spread between seeds and the spread of the
/// text both count); with one group it is the plain paired bootstrap of the windows.
pub fn bootstrap_difference(
    groups: &[Vec<PairedUnit>],
    level: f64,
    resamples: usize,
    seed: u64,
) -> Result<GainInterval, CoreError> {
    if groups.is_empty() || groups.iter().any(Vec::is_empty) {
        return Err(CoreError::setting("evaluation", "a bootstrap needs at least one paired window in every group"));
    }
    if !(0.0..1.0).contains(&level) || level <= 0.0 || resamples == 0 {
        return Err(CoreError::setting("evaluation", "the interval needs a level in (0, 1) and at least 1 resample"));
    }
    let difference_of = |picks: &mut dyn Iterator<Item = &PairedUnit>| {
        let (mut difference, mut bytes) = (0.0, 0usize);
        for pair in picks {
            difference += pair.first_nll - pair.second_nll;
            bytes += pair.bytes;
        }
        bits_per_byte(difference, bytes)
    };
    let gain = difference_of(&mut groups.iter().flatten());
    let mut rng = StdRng::seed_from_u64(seed);
    let mut resampled: Vec<f64> = (0..resamples)
        .map(|_| {
            let mut picks = Vec::new();
            for _ in 0..groups.len() {
                let group = &groups[rng.random_range(0..groups.len())];
                picks.extend((0..group.len()).map(|_| &group[rng.random_range(0..group.len())]));
            }
            difference_of(&mut picks.into_iter())
        })
        .collect();
    resampled.sort_by(f64::total_cmp);
    let quantile = |q: f64| resampled[((q * (resamples - 1) as f64).round() as usize).min(resamples - 1)];
    let tail = (1.0 - level) / 2.0;
    Ok(GainInterval { gain, low: quantile(tail), high: quantile(1.0 - tail), level, resamples })
}

/// The gain `bits_per_byte(worse) - bits_per_byte(better)` of two evaluations of the same windows
/// (the same model with its state carried and reset), with its paired bootstrap interval over
/// the windows (see [`bootstrap_difference`]).
pub fn paired_gain_interval(
    better: &StreamEvaluation,
    worse: &StreamEvaluation,
    level: f64,
    resamples: usize,
    seed: u64,
) -> Result<GainInterval, CoreError> {
    bootstrap_difference(&[paired_units(worse, better)?], level, resamples, seed)
}
