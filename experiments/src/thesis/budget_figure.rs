//! The rungs against the training budget, over ladders that differ only in their optimizer steps:
//! each rung's difference from the control and its carried state's part (reset − carried), with
//! the pooled intervals of the ladders' tables, on a log2 axis of steps.

use crate::figure::{Axis, Dash, Estimate, Figure, Geometry, Panel, Point, Scale, Series};

use super::window_figure::control_at;
use super::{ControlComparison, Rung};

/// One ladder of a comparison by budget: its optimizer steps and its rungs against its control.
#[derive(Debug, Clone, Copy)]
pub struct BudgetLadder<'a> {
    pub steps: usize,
    pub comparisons: &'a [ControlComparison],
}

/// The series of `rung` in one look, through `points` (the smallest seed count of them).
fn series(rung: Rung, dash: Dash, points: Vec<(Point, usize)>) -> Option<Series> {
    let seeds = points.iter().map(|(_, seeds)| *seeds).min()?;
    Some(Series {
        label: match dash {
            Dash::Solid => rung.name().to_string(),
            _ => format!("{} (shuffled)", rung.name()),
        },
        look: rung.look(),
        dash,
        geometry: Geometry::Measured,
        estimate: Estimate::OverSeeds { seeds },
        points: points.into_iter().map(|(point, _)| point).collect(),
    })
}

/// The figure: rung − control by steps (left) and the carried state's part by steps (right,
/// solid: reset − carried, dashed: another stream's state − carried); a rung appears at the
/// budgets whose ladder ran it.
pub fn rungs_by_budget(title: &str, ladders: &[BudgetLadder]) -> Figure {
    let mut by_steps: Vec<BudgetLadder> = ladders.to_vec();
    by_steps.sort_by_key(|ladder| ladder.steps);
    let (mut difference, mut part) = (Vec::new(), Vec::new());
    for rung in Rung::ALL {
        let (mut differences, mut resets, mut shuffles) = (Vec::new(), Vec::new(), Vec::new());
        for ladder in &by_steps {
            let Some(comparison) = ladder.comparisons.iter().find(|comparison| comparison.rung == rung.name()) else {
                continue;
            };
            let steps = ladder.steps as f64;
            let point = |pooled: &super::statistics::PooledInterval| {
                (Point::new(steps, pooled.value, Some((pooled.low, pooled.high))), pooled.seeds)
            };
            differences.push(point(&comparison.pooled));
            if let Some(state) = &comparison.state {
                resets.push(point(&state.reset_pooled));
                if let Some(shuffled) = &state.shuffled_pooled {
                    shuffles.push(point(shuffled));
                }
            }
        }
        difference.extend(series(rung, Dash::Solid, differences));
        part.extend(series(rung, Dash::Solid, resets));
        part.extend(series(rung, Dash::Dashed, shuffles));
    }
    let steps: Vec<f64> = by_steps.iter().map(|ladder| ladder.steps as f64).collect();
    difference.insert(0, control_at(&steps));
    let x = Axis { label: "optimizer steps (log2 axis)".to_string(), scale: Scale::Log2 };
    Figure {
        title: title.to_string(),
        note: "Paired on the same text; bars: the pooled 95% interval of each ladder's table (over windows with one seed)."
            .to_string(),
        columns: 2,
        panels: vec![
            Panel {
                title: "Rung \u{2212} control (below 0: better)".to_string(),
                x: x.clone(),
                y: Axis { label: "bits per byte \u{2212} control's".to_string(), scale: Scale::Linear },
                series: difference,
            },
            Panel {
                title: "The carried state's part (above 0: it helps)".to_string(),
                x,
                y: Axis { label: "bits per byte, reset (or shuffled) \u{2212} carried".to_string(), scale: Scale::Linear },
                series: part,
            },
        ],
    }
}
