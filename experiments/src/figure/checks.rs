//! What a reader relies on, checked on a figure's description before it is drawn: series told
//! apart, the legend beside the data, every estimate with its interval.

use super::description::{Estimate, Figure};
use super::layout::Layout;

/// Something a reader of the figure would be misled by.
#[derive(Debug, Clone, PartialEq)]
pub enum FigureProblem {
    /// Two legend entries share colour and dash: they cannot be told apart.
    SameLook { first: String, second: String },
    /// One label drawn in two looks.
    TwoLooks { label: String },
    /// The legend's box covers a panel's data area.
    LegendOnData { panel: String },
    /// A data area or the legend lies outside the figure.
    OutsideFigure,
    /// A mean over two seeds or more drawn without its interval at `x`.
    MissingInterval { label: String, x: f64 },
    /// A series with nothing to draw.
    EmptySeries { label: String },
}

impl Figure {
    /// Every problem of the figure (empty: fit to be read).
    pub fn problems(&self) -> Vec<FigureProblem> {
        let mut problems = Vec::new();
        let legend = self.legend();
        for (i, (first, look, dash, _)) in legend.iter().enumerate() {
            for (second, other_look, other_dash, _) in &legend[i + 1..] {
                if look.colour == other_look.colour && dash == other_dash {
                    problems.push(FigureProblem::SameLook { first: first.to_string(), second: second.to_string() });
                }
            }
        }
        for series in self.panels.iter().flat_map(|panel| &panel.series) {
            if let Some((_, look, dash, _)) = legend.iter().find(|(label, ..)| *label == series.label)
                && (*look != series.look || *dash != series.dash)
                && !problems.contains(&FigureProblem::TwoLooks { label: series.label.clone() })
            {
                problems.push(FigureProblem::TwoLooks { label: series.label.clone() });
            }
            if series.points.iter().all(|point| !(point.x.is_finite() && point.y.is_finite())) {
                problems.push(FigureProblem::EmptySeries { label: series.label.clone() });
            }
            if let Estimate::OverSeeds { seeds } = series.estimate
                && seeds >= 2
                && let Some(point) = series.points.iter().find(|point| point.interval.is_none())
            {
                problems.push(FigureProblem::MissingInterval { label: series.label.clone(), x: point.x });
            }
        }
        let layout = Layout::of(self);
        let figure = super::layout::Rect { left: 0.0, top: 0.0, right: layout.width, bottom: layout.height };
        for (panel, (_, data)) in self.panels.iter().zip(&layout.panels) {
            if layout.legend.overlaps(data) {
                problems.push(FigureProblem::LegendOnData { panel: panel.title.clone() });
            }
            if !figure.contains(data) {
                problems.push(FigureProblem::OutsideFigure);
            }
        }
        if !figure.contains(&layout.legend) {
            problems.push(FigureProblem::OutsideFigure);
        }
        problems
    }
}
