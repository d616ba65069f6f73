//! What a figure shows, before it is drawn: panels side by side, each with its axes and series,
//! each series with its look, its points and (where it is an estimate) their intervals.

use super::look::{Dash, Look};

/// A figure: its panels in rows of `columns`, one legend for all of them.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    pub title: String,
    /// One line under the figure saying what the intervals are (empty: none).
    pub note: String,
    pub columns: usize,
    pub panels: Vec<Panel>,
}

/// One plotting area with its own axes.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    pub title: String,
    pub x: Axis,
    pub y: Axis,
    pub series: Vec<Series>,
}

/// An axis: what it measures and how values map to it.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    pub label: String,
    pub scale: Scale,
}

/// How an axis places its values and labels its ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// Linear, ticks at round decimal values.
    Linear,
    /// Linear, ticks at whole numbers only (steps, windows, positions, epochs).
    Integer,
    /// Logarithmic in base 2, ticks at powers of 2 labelled as whole numbers (windows).
    Log2,
}

/// One point of a series with its interval, `(low, high)` around `y`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub x: f64,
    pub y: f64,
    pub interval: Option<(f64, f64)>,
}

impl Point {
    pub fn new(x: f64, y: f64, interval: Option<(f64, f64)>) -> Self {
        Self { x, y, interval }
    }
}

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Geometry {
    /// A line through many points, a marker at a few of them to tell it apart without colour,
    /// intervals as a band.
    Trace,
    /// A marker at every (measured) point, joined by a line, intervals as bars.
    Measured,
    /// A marker at every point, no line, intervals as bars.
    Points,
}

/// What a series' values are, so that a check can tell which must carry intervals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Estimate {
    /// A mean over seeds (or a difference pooled over seeds): with two seeds or more, every
    /// point carries its interval.
    OverSeeds { seeds: usize },
    /// What others are measured against (the control at 0 in a difference): no interval.
    Reference,
}

/// One series: every point of it in one look and dash.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Its legend entry; series of the same label in several panels are one entry.
    pub label: String,
    pub look: Look,
    pub dash: Dash,
    pub geometry: Geometry,
    pub estimate: Estimate,
    pub points: Vec<Point>,
}

impl Figure {
    /// The figure's legend: every distinct label with its look and dash, in order of appearance.
    pub fn legend(&self) -> Vec<(&str, Look, Dash, Geometry)> {
        let mut entries: Vec<(&str, Look, Dash, Geometry)> = Vec::new();
        for series in self.panels.iter().flat_map(|panel| &panel.series) {
            if !entries.iter().any(|(label, ..)| *label == series.label) {
                entries.push((series.label.as_str(), series.look, series.dash, series.geometry));
            }
        }
        entries
    }

    /// Rows of panels.
    pub fn rows(&self) -> usize {
        self.panels.len().div_ceil(self.columns.max(1))
    }
}
