//! Where an axis gets its ticks and what they say: round decimal values, whole numbers only, or
//! powers of 2 labelled as whole numbers.

use super::description::Scale;

/// A tick at `value` (in the axis's own units: for [`Scale::Log2`], the value itself, not its
/// logarithm).
#[derive(Debug, Clone, PartialEq)]
pub struct Tick {
    pub value: f64,
    pub label: String,
}

/// The smallest of 1, 2, 5 times a power of 10 at least `rough`.
fn nice_step(rough: f64) -> f64 {
    let power = 10f64.powf(rough.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|step| *step >= rough * (1.0 - 1e-9))
        .unwrap_or(10.0 * power)
}

/// About six ticks between `low` and `high` (both inside, in the axis's units).
pub fn ticks(scale: Scale, low: f64, high: f64) -> Vec<Tick> {
    if !(low.is_finite() && high.is_finite()) || high <= low {
        return Vec::new();
    }
    match scale {
        Scale::Log2 => {
            let (from, to) = (low.log2().ceil() as i32, high.log2().floor() as i32);
            let every = ((to - from) / 6 + 1).max(1);
            (from..=to)
                .filter(|exponent| (exponent - from) % every == 0)
                .map(|exponent| {
                    let value = 2f64.powi(exponent);
                    let label = if exponent >= 0 { format!("{value:.0}") } else { format!("{value}") };
                    Tick { value, label }
                })
                .collect()
        }
        Scale::Linear | Scale::Integer => {
            let mut step = nice_step((high - low) / 6.0);
            if scale == Scale::Integer {
                step = step.max(1.0).round();
            }
            let decimals = if scale == Scale::Integer { 0 } else { (-step.log10().floor()).max(0.0) as usize };
            let first = (low / step).ceil() as i64;
            let last = (high / step).floor() as i64;
            (first..=last)
                .map(|i| {
                    let value = i as f64 * step;
                    // -0.00 reads as 0.
                    let label = format!("{:.*}", decimals, value);
                    let label = if label.trim_start_matches('-').chars().all(|c| c == '0' || c == '.') {
                        label.trim_start_matches('-').to_string()
                    } else {
                        label.replace('-', "\u{2212}")
                    };
                    Tick { value, label }
                })
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(ticks: &[Tick]) -> Vec<&str> {
        ticks.iter().map(|tick| tick.label.as_str()).collect()
    }

    #[test]
    fn steps_windows_and_epochs_get_whole_numbers() {
        assert_eq!(labels(&ticks(Scale::Integer, -10.0, 510.0)), ["0", "100", "200", "300", "400", "500"]);
        // A short axis would get ticks at 0.5 on a decimal scale; whole numbers only here.
        assert_eq!(labels(&ticks(Scale::Integer, 0.6, 4.4)), ["1", "2", "3", "4"]);
        assert!(ticks(Scale::Integer, 0.0, 196.0).iter().all(|tick| !tick.label.contains('.')));
    }

    #[test]
    fn decimal_and_log2_ticks() {
        assert_eq!(labels(&ticks(Scale::Linear, -0.13, 0.05)), ["\u{2212}0.10", "\u{2212}0.05", "0.00", "0.05"]);
        assert_eq!(labels(&ticks(Scale::Log2, 45.0, 362.0)), ["64", "128", "256"]);
        assert_eq!(ticks(Scale::Log2, 45.0, 362.0)[2].value, 256.0);
        assert!(ticks(Scale::Linear, 1.0, 1.0).is_empty());
    }
}
