//! How sure a gain is: the paired bootstrap of a carried-minus-reset difference in bits per byte
//! over the evaluated windows.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use super::evaluate::StreamEvaluation;
use crate::CoreError;
use crate::training::bits_per_byte;

/// A gain in bits per byte (positive: the first evaluation is better) with a percentile
/// bootstrap interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GainInterval {
    /// The gain on the evaluated text as it is.
    pub gain: f64,
    pub low: f64,
    pub high: f64,
    /// e.g. 0.95.
    pub level: f64,
    pub resamples: usize,
}

/// The gain `bits_per_byte(worse) - bits_per_byte(better)` of two evaluations of the same windows
/// (the same model with its state carried and reset), with a `level` interval from `resamples`
/// paired bootstrap resamples of the windows: each resample draws windows with replacement and
/// takes both evaluations' NLL and the bytes of the same windows.
pub fn paired_gain_interval(
    better: &StreamEvaluation,
    worse: &StreamEvaluation,
    level: f64,
    resamples: usize,
    seed: u64,
) -> Result<GainInterval, CoreError> {
    let cells = better.window_nll.len();
    if cells == 0 || worse.window_nll.len() != cells || better.window_bytes != worse.window_bytes {
        return Err(CoreError::setting(
            "evaluation",
            "a paired bootstrap needs two evaluations of the same windows (same streams, windows and text)",
        ));
    }
    if !(0.0..1.0).contains(&level) || resamples == 0 {
        return Err(CoreError::setting("evaluation", "the interval needs a level in (0, 1) and at least 1 resample"));
    }
    let gain_of = |picks: &mut dyn Iterator<Item = usize>| {
        let (mut difference, mut bytes) = (0.0, 0usize);
        for cell in picks {
            difference += worse.window_nll[cell] - better.window_nll[cell];
            bytes += better.window_bytes[cell];
        }
        bits_per_byte(difference, bytes)
    };
    let gain = gain_of(&mut (0..cells));
    let mut rng = StdRng::seed_from_u64(seed);
    let mut gains: Vec<f64> =
        (0..resamples).map(|_| gain_of(&mut (0..cells).map(|_| rng.random_range(0..cells)))).collect();
    gains.sort_by(f64::total_cmp);
    let quantile = |q: f64| gains[((q * (resamples - 1) as f64).round() as usize).min(resamples - 1)];
    let tail = (1.0 - level) / 2.0;
    Ok(GainInterval { gain, low: quantile(tail), high: quantile(1.0 - tail), level, resamples })
}
