//! What a rung buys for what it costs: each rung's test bits per byte minus the control's (with
//! the pooled interval of the tables) against its median training step relative to the control's
//! (`cost.json`, measured back to back), one panel per ladder (per window).

use crate::figure::{Axis, Dash, Estimate, Figure, Geometry, Panel, Point, Scale, Series};
use crate::rung_cost::LadderCost;

use super::{ControlComparison, Rung};

/// One panel's ladder: its rungs against the control and what they cost.
#[derive(Debug, Clone, Copy)]
pub struct CostLadder<'a> {
    pub title: &'a str,
    pub comparisons: &'a [ControlComparison],
    pub cost: &'a LadderCost,
}

/// The panel of one ladder (`None` without the control's step time or a rung to place).
fn cost_panel(ladder: &CostLadder) -> Option<Panel> {
    let step = |name: &str| ladder.cost.rungs.iter().find(|cost| cost.rung == name)?.median_step_s;
    let control = step(Rung::None.name()).filter(|step| *step > 0.0)?;
    let mut series = vec![Series {
        label: Rung::None.name().to_string(),
        look: Rung::None.look(),
        dash: Dash::Solid,
        geometry: Geometry::Points,
        estimate: Estimate::Reference,
        points: vec![Point::new(1.0, 0.0, None)],
    }];
    for comparison in ladder.comparisons {
        // A rung without a measured step (zero-shot trains nothing) has no place on the x axis.
        let (Some(rung), Some(step)) = (Rung::named(&comparison.rung), step(&comparison.rung)) else { continue };
        let pooled = comparison.pooled;
        series.push(Series {
            label: rung.name().to_string(),
            look: rung.look(),
            dash: Dash::Solid,
            geometry: Geometry::Points,
            estimate: Estimate::OverSeeds { seeds: pooled.seeds },
            points: vec![Point::new(step / control, pooled.value, Some((pooled.low, pooled.high)))],
        });
    }
    (series.len() > 1).then(|| Panel {
        title: ladder.title.to_string(),
        x: Axis { label: "median training step / control's".to_string(), scale: Scale::Linear },
        y: Axis { label: "test bits per byte \u{2212} control's".to_string(), scale: Scale::Linear },
        series,
    })
}

/// The cost figure of `ladders`, one panel each (`None` when none has a panel).
pub fn cost_figure(title: &str, ladders: &[CostLadder]) -> Option<Figure> {
    let panels: Vec<Panel> = ladders.iter().filter_map(cost_panel).collect();
    (!panels.is_empty()).then(|| Figure {
        title: title.to_string(),
        note: "Below 0: better than the control; right of 1: slower a step. Bars: the pooled 95% interval of the tables; step times measured back to back (cost.json).".to_string(),
        columns: panels.len().min(2),
        panels,
    })
}
