//! Line plots as SVG files (plotters, SVG backend only): the ladder's plots and every run's
//! training curves.

use std::path::{Path, PathBuf};

use plotters::prelude::*;

/// The colours lines cycle through (colour-blind safe, grey first).
const COLORS: [RGBColor; 6] = [
    RGBColor(120, 120, 120),
    RGBColor(230, 159, 0),
    RGBColor(0, 114, 178),
    RGBColor(86, 180, 233),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
];

/// One line of a plot.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub label: String,
    /// Index into the colour cycle.
    pub color: usize,
    pub dashed: bool,
    /// `(x, y)` in order; non-finite points are left out.
    pub points: Vec<(f64, f64)>,
}

/// Errors of drawing a plot.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error("nothing to plot for {0}")]
    Empty(String),
    #[error("cannot draw {path}: {message}")]
    Draw { path: PathBuf, message: String },
}

/// Draws `lines` into an SVG file at `path`.
pub fn line_plot(path: &Path, title: &str, x_label: &str, y_label: &str, lines: &[Line]) -> Result<(), PlotError> {
    let finite = |&&(x, y): &&(f64, f64)| x.is_finite() && y.is_finite();
    let (mut x_max, mut y_min, mut y_max) = (1.0f64, f64::INFINITY, f64::NEG_INFINITY);
    for &(x, y) in lines.iter().flat_map(|line| line.points.iter().filter(finite)) {
        x_max = x_max.max(x);
        y_min = y_min.min(y);
        y_max = y_max.max(y);
    }
    if !y_min.is_finite() {
        return Err(PlotError::Empty(title.to_string()));
    }
    let draw = |error: &dyn std::fmt::Display| PlotError::Draw { path: path.to_path_buf(), message: error.to_string() };
    let margin = ((y_max - y_min) * 0.05).max(1e-3);
    let root = SVGBackend::new(path, (800, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| draw(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..x_max, (y_min - margin)..(y_max + margin))
        .map_err(|e| draw(&e))?;
    chart.configure_mesh().x_desc(x_label).y_desc(y_label).draw().map_err(|e| draw(&e))?;
    for line in lines {
        let color = COLORS[line.color % COLORS.len()];
        let style = ShapeStyle::from(color).stroke_width(2);
        let points = line.points.iter().filter(finite).copied();
        let series = if line.dashed {
            chart.draw_series(DashedLineSeries::new(points, 6, 4, style)).map_err(|e| draw(&e))?
        } else {
            chart.draw_series(LineSeries::new(points, style)).map_err(|e| draw(&e))?
        };
        series.label(line.label.as_str()).legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| draw(&e))?;
    root.present().map_err(|e| draw(&e))?;
    Ok(())
}
