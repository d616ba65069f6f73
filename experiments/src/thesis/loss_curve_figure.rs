//! The ladder's training loss: one trace a rung, the mean over seeds of each seed's loss averaged
//! over its last 10 steps, with the seeds' interval as a band.

use crate::figure::{Axis, Dash, Estimate, Figure, Geometry, Panel, Point, Scale, Series};

use super::statistics::{SEED_INTERVAL, seed_mean};
use super::{LadderRun, Rung};

/// Steps a training loss is averaged over.
const SMOOTHING_STEPS: usize = 10;
/// Points a trace keeps at most (every n-th step beyond).
const MAX_POINTS: usize = 400;

/// Each step's loss averaged over the steps up to it, at most [`SMOOTHING_STEPS`] of them.
fn trailing_mean(losses: &[f64]) -> Vec<f64> {
    (0..losses.len())
        .map(|i| {
            let from = (i + 1).saturating_sub(SMOOTHING_STEPS);
            losses[from..=i].iter().sum::<f64>() / (i + 1 - from) as f64
        })
        .collect()
}

/// The figure of `ladder`'s training losses (`None` when no run has any: zero-shot trains nothing).
pub fn loss_curve_figure(ladder: &str, rungs: &[(Rung, Vec<LadderRun>)]) -> Option<Figure> {
    let mut series = Vec::new();
    for (rung, runs) in rungs {
        let curves: Vec<Vec<f64>> =
            runs.iter().filter(|run| !run.train_loss.is_empty()).map(|run| trailing_mean(&run.train_loss)).collect();
        let Some(steps) = curves.iter().map(Vec::len).min() else { continue };
        let stride = steps.div_ceil(MAX_POINTS).max(1);
        let points = (0..steps)
            .filter(|step| step % stride == 0 || step + 1 == steps)
            .filter_map(|step| {
                let values: Vec<f64> = curves.iter().map(|curve| curve[step]).collect();
                let (mean, interval) = seed_mean(&values)?;
                Some(Point::new((step + 1) as f64, mean, interval))
            })
            .collect();
        series.push(Series {
            label: rung.name().to_string(),
            look: rung.look(),
            dash: Dash::Solid,
            geometry: Geometry::Trace,
            estimate: Estimate::OverSeeds { seeds: curves.len() },
            points,
        });
    }
    (!series.is_empty()).then(|| Figure {
        title: format!("Ladder {ladder}: training loss"),
        note: format!(
            "Mean over seeds of each seed's loss averaged over its last {SMOOTHING_STEPS} steps; band: {SEED_INTERVAL}."
        ),
        columns: 1,
        panels: vec![Panel {
            title: "Training loss by step".to_string(),
            x: Axis { label: "step".to_string(), scale: Scale::Integer },
            y: Axis { label: "loss (nats/token)".to_string(), scale: Scale::Linear },
            series,
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trailing_mean_covers_the_last_ten_steps() {
        let losses: Vec<f64> = (0..12).map(f64::from).collect();
        let mean = trailing_mean(&losses);
        assert_eq!((mean[0], mean[1], mean[9]), (0.0, 0.5, 4.5));
        assert_eq!(mean[11], (2..12).map(f64::from).sum::<f64>() / 10.0);
    }
}
