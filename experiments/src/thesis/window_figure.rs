//! Bits per byte against the window, over ladders that differ only in their window: each rung's
//! test bits per byte (state carried) at the windows measured, and its difference from the
//! control with the pooled interval of the tables, on a log2 axis.

use crate::figure::{Axis, Dash, Estimate, Figure, Geometry, Panel, Point, Scale, Series};

use super::statistics::{SEED_INTERVAL, seed_mean};
use super::{ControlComparison, LadderRungs, Rung};

/// One ladder of a comparison by window: its window, its runs and its rungs against its control.
#[derive(Debug, Clone, Copy)]
pub struct WindowLadder<'a> {
    pub window: usize,
    pub rungs: &'a LadderRungs,
    pub comparisons: &'a [ControlComparison],
}

/// The control at 0 at `xs` (windows, or steps): the reference of a difference panel.
pub(super) fn control_at(xs: &[f64]) -> Series {
    Series {
        label: Rung::None.name().to_string(),
        look: Rung::None.look(),
        dash: Dash::Solid,
        geometry: Geometry::Measured,
        estimate: Estimate::Reference,
        points: xs.iter().map(|&x| Point::new(x, 0.0, None)).collect(),
    }
}

/// The figure: absolute bits per byte by window (left) and rung − control (right); a rung appears
/// at the windows whose ladder ran it.
pub fn bits_per_byte_by_window(title: &str, ladders: &[WindowLadder]) -> Figure {
    let mut by_window: Vec<WindowLadder> = ladders.to_vec();
    by_window.sort_by_key(|ladder| ladder.window);
    let (mut absolute, mut difference) = (Vec::new(), Vec::new());
    for rung in Rung::ALL {
        let (mut points, mut seeds) = (Vec::new(), usize::MAX);
        let (mut differences, mut difference_seeds) = (Vec::new(), usize::MAX);
        for ladder in &by_window {
            if let Some((_, runs)) = ladder.rungs.iter().find(|(known, _)| *known == rung) {
                let values: Vec<f64> = runs.iter().map(|run| run.evaluation.carried.bits_per_byte).collect();
                if let Some((mean, interval)) = seed_mean(&values) {
                    points.push(Point::new(ladder.window as f64, mean, interval));
                    seeds = seeds.min(values.len());
                }
            }
            if let Some(comparison) = ladder.comparisons.iter().find(|comparison| comparison.rung == rung.name()) {
                let pooled = comparison.pooled;
                differences.push(Point::new(ladder.window as f64, pooled.value, Some((pooled.low, pooled.high))));
                difference_seeds = difference_seeds.min(pooled.seeds);
            }
        }
        let series = |points, seeds| Series {
            label: rung.name().to_string(),
            look: rung.look(),
            dash: Dash::Solid,
            geometry: Geometry::Measured,
            estimate: Estimate::OverSeeds { seeds },
            points,
        };
        if !points.is_empty() {
            absolute.push(series(points, seeds));
        }
        if !differences.is_empty() {
            difference.push(series(differences, difference_seeds));
        }
    }
    let windows: Vec<f64> = by_window
        .iter()
        .filter(|ladder| ladder.rungs.iter().any(|(rung, _)| *rung == Rung::None))
        .map(|ladder| ladder.window as f64)
        .collect();
    difference.insert(0, control_at(&windows));
    let x = Axis { label: "window (tokens, log2 axis)".to_string(), scale: Scale::Log2 };
    Figure {
        title: title.to_string(),
        note: format!(
            "Left: mean over seeds, bars: {SEED_INTERVAL}. Right: paired on the same text, bars: the pooled 95% interval of the tables."
        ),
        columns: 2,
        panels: vec![
            Panel {
                title: "Test bits per byte (state carried)".to_string(),
                x: x.clone(),
                y: Axis { label: "bits per byte".to_string(), scale: Scale::Linear },
                series: absolute,
            },
            Panel {
                title: "Rung \u{2212} control (below 0: better)".to_string(),
                x,
                y: Axis { label: "bits per byte \u{2212} control's".to_string(), scale: Scale::Linear },
                series: difference,
            },
        ],
    }
}
