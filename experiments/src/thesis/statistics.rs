//! Intervals over seeds and the checks of the protocol: a rung's pooled difference from the
//! control carries the seed-to-seed spread (the wider of a t-interval over the per-seed paired
//! differences and the two-stage bootstrap); the correlation of a rung's difference with its
//! difference in selected epoch (what a stopping rule does to a comparison); the epoch-to-epoch
//! noise of a validation curve.

use retrofit_core::language_model::GainInterval;
use serde::Serialize;

/// How a pooled interval was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IntervalMethod {
    /// One seed: the paired bootstrap over its windows only, no seed variance at all.
    OneSeed,
    /// Student's t over the per-seed differences (n - 1 degrees of freedom), wider than the bootstrap.
    TOverSeeds,
    /// The two-stage bootstrap (seeds, then windows within a seed), wider than the t-interval.
    HierarchicalBootstrap,
}

impl IntervalMethod {
    /// How a table marks it.
    pub fn mark(self) -> &'static str {
        match self {
            Self::OneSeed => "1 seed",
            Self::TOverSeeds => "t",
            Self::HierarchicalBootstrap => "boot",
        }
    }
}

/// A difference pooled over seeds with its 95% interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PooledInterval {
    /// The difference on all seeds' text together.
    pub value: f64,
    pub low: f64,
    pub high: f64,
    pub seeds: usize,
    pub method: IntervalMethod,
}

impl PooledInterval {
    /// Whether the interval excludes 0.
    pub fn excludes_zero(&self) -> bool {
        self.low > 0.0 || self.high < 0.0
    }

    /// `+0.0123 [+0.0100, +0.0150]`, with ` (1 seed)` where it has no seed variance.
    pub fn signed(&self) -> String {
        let one_seed = if self.method == IntervalMethod::OneSeed { " (1 seed)" } else { "" };
        format!("{:+.4} [{:+.4}, {:+.4}]{one_seed}", self.value, self.low, self.high)
    }

    /// [`PooledInterval::signed`] with how the interval was made, once: ` (t)`, ` (boot)`, or the
    /// ` (1 seed)` that `signed` already writes.
    pub fn marked(&self) -> String {
        match self.method {
            IntervalMethod::OneSeed => self.signed(),
            method => format!("{} ({})", self.signed(), method.mark()),
        }
    }
}

/// The two-sided 95% quantile of Student's t with `df` degrees of freedom (1.96 beyond 30).
pub fn t_quantile_95(df: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
        2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
    ];
    match df {
        0 => f64::INFINITY,
        1..=30 => TABLE[df - 1],
        _ => 1.96,
    }
}

/// Mean and sample standard deviation (`None` for fewer than 2 values).
pub fn mean_sd(values: &[f64]) -> Option<(f64, f64)> {
    if values.len() < 2 {
        return None;
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    Some((mean, (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()))
}

/// The 95% t-interval of the mean of `values` (`(low, high)`; `None` for fewer than 2).
pub fn t_interval(values: &[f64]) -> Option<(f64, f64)> {
    let (mean, sd) = mean_sd(values)?;
    let half = t_quantile_95(values.len() - 1) * sd / (values.len() as f64).sqrt();
    Some((mean - half, mean + half))
}

/// The interval a figure draws around a mean over seeds: the 95% t-interval from 3 seeds on, the
/// range of the two with 2 (a t-interval on one degree of freedom is 12.7 standard errors wide),
/// `None` with fewer.
pub fn seed_interval(values: &[f64]) -> Option<(f64, f64)> {
    match values.len() {
        0 | 1 => None,
        2 => Some((values[0].min(values[1]), values[0].max(values[1]))),
        _ => t_interval(values),
    }
}

/// The mean of `values` (one a seed) with its [`seed_interval`]; `None` for no values.
pub fn seed_mean(values: &[f64]) -> Option<(f64, Option<(f64, f64)>)> {
    (!values.is_empty()).then(|| (values.iter().sum::<f64>() / values.len() as f64, seed_interval(values)))
}

/// What [`seed_interval`] is, for a figure's note.
pub const SEED_INTERVAL: &str = "95% t-interval over seeds (the range with 2 seeds)";

/// The pooled interval of a difference measured per seed (`per_seed`, one value a seed) and by the
/// two-stage bootstrap over all seeds (`bootstrap`): with one seed the bootstrap over its windows,
/// marked as such; with more, the wider of the t-interval over the seeds and the bootstrap.
pub fn pooled_interval(per_seed: &[f64], bootstrap: &GainInterval) -> PooledInterval {
    let from_bootstrap = |method| PooledInterval {
        value: bootstrap.gain,
        low: bootstrap.low,
        high: bootstrap.high,
        seeds: per_seed.len(),
        method,
    };
    match t_interval(per_seed) {
        None => from_bootstrap(IntervalMethod::OneSeed),
        Some((low, high)) if high - low > bootstrap.high - bootstrap.low => PooledInterval {
            value: bootstrap.gain,
            low: low.min(bootstrap.gain),
            high: high.max(bootstrap.gain),
            seeds: per_seed.len(),
            method: IntervalMethod::TOverSeeds,
        },
        Some(_) => from_bootstrap(IntervalMethod::HierarchicalBootstrap),
    }
}

/// Pearson's correlation of paired values (`None` for fewer than 3 pairs or no variation).
pub fn pearson(pairs: &[(f64, f64)]) -> Option<f64> {
    if pairs.len() < 3 {
        return None;
    }
    let n = pairs.len() as f64;
    let (mx, my) = (pairs.iter().map(|p| p.0).sum::<f64>() / n, pairs.iter().map(|p| p.1).sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for &(x, y) in pairs {
        sxy += (x - mx) * (y - my);
        sxx += (x - mx).powi(2);
        syy += (y - my).powi(2);
    }
    (sxx > 0.0 && syy > 0.0).then(|| sxy / (sxx * syy).sqrt())
}

/// The epoch-to-epoch noise of a validation curve: the standard deviation of its second
/// differences over the last half of the epochs, divided by √6 (for a smooth trend plus
/// independent noise of deviation σ, a second difference is the trend's curvature plus noise of
/// deviation √6 σ). `None` below 4 epochs in that half.
pub fn epoch_noise(curve: &[f64]) -> Option<f64> {
    let tail = &curve[curve.len() / 2..];
    if tail.len() < 4 {
        return None;
    }
    let second: Vec<f64> = tail.windows(3).map(|w| w[2] - 2.0 * w[1] + w[0]).collect();
    let n = second.len() as f64;
    let mean = second.iter().sum::<f64>() / n;
    let sd = (second.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0)).sqrt();
    Some(sd / 6f64.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bootstrap(gain: f64, low: f64, high: f64) -> GainInterval {
        GainInterval { gain, low, high, level: 0.95, resamples: 2000 }
    }

    #[test]
    fn the_t_interval_of_known_numbers() {
        // mean 2, sd 1, 3 values: half-width 4.303 / √3.
        let (low, high) = t_interval(&[1.0, 2.0, 3.0]).unwrap();
        let half = 4.303 / 3f64.sqrt();
        assert!((low - (2.0 - half)).abs() < 1e-12 && (high - (2.0 + half)).abs() < 1e-12);
        assert_eq!(t_interval(&[1.0]), None);
        assert_eq!(t_quantile_95(1), 12.706);
        assert_eq!(t_quantile_95(100), 1.96);
    }

    #[test]
    fn the_seed_interval_is_the_range_of_two_and_the_t_interval_of_more() {
        assert_eq!(seed_interval(&[2.0]), None);
        assert_eq!(seed_interval(&[3.0, 2.0]), Some((2.0, 3.0)));
        assert_eq!(seed_interval(&[1.0, 2.0, 3.0]), t_interval(&[1.0, 2.0, 3.0]));
    }

    #[test]
    fn the_pooled_interval_is_the_wider_of_t_and_bootstrap_and_one_seed_is_marked() {
        // Seeds that disagree (-0.03, +0.01, +0.05): the t-interval is far wider than a bootstrap
        // that happened to be narrow, and it includes 0.
        let spread = pooled_interval(&[-0.03, 0.01, 0.05], &bootstrap(0.01, -0.02, 0.04));
        assert_eq!(spread.method, IntervalMethod::TOverSeeds);
        assert!(spread.low < -0.08 && spread.high > 0.1 && !spread.excludes_zero(), "{spread:?}");
        assert_eq!(spread.value, 0.01);
        // Seeds that agree: the bootstrap is the wider one and it stays.
        let agree = pooled_interval(&[-0.020, -0.021, -0.019], &bootstrap(-0.02, -0.03, -0.01));
        assert_eq!((agree.method, agree.low, agree.high), (IntervalMethod::HierarchicalBootstrap, -0.03, -0.01));
        assert!(agree.excludes_zero());
        // One seed: the windows' bootstrap, marked.
        let one = pooled_interval(&[-0.02], &bootstrap(-0.02, -0.025, -0.015));
        assert_eq!(one.method, IntervalMethod::OneSeed);
        assert!(one.signed().ends_with("(1 seed)"), "{}", one.signed());
        // A table's cell names the method once, the one-seed mark included.
        assert_eq!(one.marked().matches("(1 seed)").count(), 1, "{}", one.marked());
        assert!(spread.marked().ends_with("] (t)") && agree.marked().ends_with("] (boot)"), "{}", spread.marked());
    }

    #[test]
    fn pearson_of_known_pairs() {
        let line: Vec<(f64, f64)> = (0..5).map(|i| (i as f64, -0.0065 * i as f64 + 0.01)).collect();
        assert!((pearson(&line).unwrap() + 1.0).abs() < 1e-12);
        assert_eq!(pearson(&[(1.0, 2.0), (1.0, 3.0), (1.0, 4.0)]), None, "x without variation");
        let uncorrelated = [(-1.0, 1.0), (0.0, -2.0), (1.0, 1.0)];
        assert!(pearson(&uncorrelated).unwrap().abs() < 1e-12);
    }

    #[test]
    fn the_noise_of_a_smooth_curve_is_zero_and_grows_with_added_noise() {
        let trend: Vec<f64> = (0..20).map(|e| 3.0 - 0.05 * e as f64).collect();
        assert!(epoch_noise(&trend).unwrap() < 1e-12);
        let noisy: Vec<f64> = trend.iter().enumerate().map(|(e, v)| v + if e % 3 == 0 { 0.01 } else { 0.0 }).collect();
        assert!(epoch_noise(&noisy).unwrap() > 0.003);
        assert_eq!(epoch_noise(&trend[..6]), None);
    }
}
