//! Draws a [`Figure`] into an SVG file at the places its [`Layout`] gives: bands, lines, interval
//! bars and markers inside each panel's data area, ticks and labels around it, the legend beside.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use retrofit_runtime::plot::PlotError;

use super::description::{Figure, Geometry, Panel, Scale, Series};
use super::layout::{Layout, Rect};
use super::look::{Colour, Dash, Marker};
use super::ticks::ticks;

const MARKER_RADIUS: i32 = 5;
/// Markers along a trace (the rest of its points are the line alone).
const TRACE_MARKERS: usize = 6;
const GRID: RGBColor = RGBColor(0xE4, 0xE4, 0xE4);

fn rgb(colour: Colour) -> RGBColor {
    RGBColor(colour.0, colour.1, colour.2)
}

/// The pieces of a polyline that a dash pattern draws (`Solid`: the polyline itself), each a
/// polyline; a non-finite point breaks the line.
pub fn dash_segments(points: &[(f64, f64)], dash: Dash) -> Vec<Vec<(f64, f64)>> {
    let mut runs: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
    for &(x, y) in points {
        if x.is_finite() && y.is_finite() {
            runs.last_mut().expect("one run at least").push((x, y));
        } else if !runs.last().expect("one run at least").is_empty() {
            runs.push(Vec::new());
        }
    }
    runs.retain(|run| run.len() >= 2);
    let Some((on, off)) = dash.pattern() else { return runs };
    let mut pieces = Vec::new();
    for run in runs {
        // Distance left in the current phase, and whether it draws.
        let (mut left, mut drawing) = (on, true);
        let mut piece = vec![run[0]];
        for pair in run.windows(2) {
            let ((x0, y0), (x1, y1)) = (pair[0], pair[1]);
            let length = ((x1 - x0).powi(2) + (y1 - y0).powi(2)).sqrt();
            let mut at = 0.0;
            while length - at > left {
                at += left;
                let point = (x0 + (x1 - x0) * at / length, y0 + (y1 - y0) * at / length);
                if drawing {
                    piece.push(point);
                    pieces.push(std::mem::take(&mut piece));
                } else {
                    piece = vec![point];
                }
                drawing = !drawing;
                left = if drawing { on } else { off };
            }
            left -= length - at;
            if drawing {
                piece.push((x1, y1));
            }
        }
        if drawing && piece.len() >= 2 {
            pieces.push(piece);
        }
    }
    pieces
}

/// Maps a panel's values to pixels of its data area.
struct Mapping {
    scale: Scale,
    x: (f64, f64),
    y: (f64, f64),
    data: Rect,
}

impl Mapping {
    fn axis_x(&self, x: f64) -> f64 {
        if self.scale == Scale::Log2 { x.log2() } else { x }
    }

    /// The panel's ranges: every finite point and interval, with a margin.
    fn of(panel: &Panel, data: Rect) -> Option<Self> {
        let scale = panel.x.scale;
        let transform = |x: f64| if scale == Scale::Log2 { x.log2() } else { x };
        let (mut x, mut y) = ((f64::INFINITY, f64::NEG_INFINITY), (f64::INFINITY, f64::NEG_INFINITY));
        for point in panel.series.iter().flat_map(|series| &series.points) {
            let px = transform(point.x);
            if !(px.is_finite() && point.y.is_finite()) {
                continue;
            }
            x = (x.0.min(px), x.1.max(px));
            for value in [Some(point.y), point.interval.map(|i| i.0), point.interval.map(|i| i.1)].into_iter().flatten()
            {
                if value.is_finite() {
                    y = (y.0.min(value), y.1.max(value));
                }
            }
        }
        if !x.0.is_finite() || !y.0.is_finite() {
            return None;
        }
        let x_margin = match scale {
            Scale::Log2 => 0.5,
            Scale::Integer => ((x.1 - x.0) * 0.03).max(0.5),
            Scale::Linear => ((x.1 - x.0) * 0.07).max(0.05),
        };
        let y_margin = ((y.1 - y.0) * 0.06).max(y.1.abs().max(y.0.abs()) * 0.02).max(1e-4);
        Some(Self { scale, x: (x.0 - x_margin, x.1 + x_margin), y: (y.0 - y_margin, y.1 + y_margin), data })
    }

    /// Pixel of a value pair (x in the axis's own units).
    fn pixel(&self, x: f64, y: f64) -> (f64, f64) {
        let ax = self.axis_x(x);
        (
            self.data.left + (ax - self.x.0) / (self.x.1 - self.x.0) * self.data.width(),
            self.data.bottom - (y - self.y.0) / (self.y.1 - self.y.0) * self.data.height(),
        )
    }

    /// The x range in the axis's own units (for ticks).
    fn x_values(&self) -> (f64, f64) {
        if self.scale == Scale::Log2 { (2f64.powf(self.x.0), 2f64.powf(self.x.1)) } else { self.x }
    }
}

fn int(point: (f64, f64)) -> (i32, i32) {
    (point.0.round() as i32, point.1.round() as i32)
}

/// A point in pixels with its interval's `(low, high)` pixel rows.
type PixelPoint = ((f64, f64), Option<(f64, f64)>);

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

struct Painter<'a, 'b> {
    area: &'b Area<'a>,
    path: &'b Path,
}

impl Painter<'_, '_> {
    fn error(&self, error: impl std::fmt::Display) -> PlotError {
        PlotError::Draw { path: self.path.to_path_buf(), message: error.to_string() }
    }

    fn polyline(&self, points: &[(f64, f64)], colour: RGBColor, width: u32, dash: Dash) -> Result<(), PlotError> {
        for piece in dash_segments(points, dash) {
            let pixels: Vec<(i32, i32)> = piece.into_iter().map(int).collect();
            self.area.draw(&PathElement::new(pixels, colour.stroke_width(width))).map_err(|e| self.error(e))?;
        }
        Ok(())
    }

    fn text(&self, text: &str, at: (f64, f64), size: f64, pos: Pos, rotated: bool) -> Result<(), PlotError> {
        let font = ("sans-serif", size).into_font();
        let font = if rotated { font.transform(FontTransform::Rotate270) } else { font };
        let style = font.color(&BLACK).pos(pos);
        self.area.draw(&Text::new(text.to_string(), int(at), style)).map_err(|e| self.error(e))
    }

    fn marker(&self, marker: Marker, colour: RGBColor, at: (f64, f64)) -> Result<(), PlotError> {
        let (x, y) = int(at);
        let r = MARKER_RADIUS;
        let open = matches!(
            marker,
            Marker::OpenCircle
                | Marker::OpenSquare
                | Marker::OpenTriangleUp
                | Marker::OpenTriangleDown
                | Marker::OpenDiamond
        );
        let outline: Option<Vec<(i32, i32)>> = match marker {
            Marker::Square | Marker::OpenSquare => Some(vec![
                (x - r + 1, y - r + 1),
                (x + r - 1, y - r + 1),
                (x + r - 1, y + r - 1),
                (x - r + 1, y + r - 1),
            ]),
            Marker::TriangleUp | Marker::OpenTriangleUp => {
                Some(vec![(x, y - r - 1), (x + r + 1, y + r), (x - r - 1, y + r)])
            }
            Marker::TriangleDown | Marker::OpenTriangleDown => {
                Some(vec![(x, y + r + 1), (x + r + 1, y - r), (x - r - 1, y - r)])
            }
            Marker::Diamond | Marker::OpenDiamond => {
                Some(vec![(x, y - r - 1), (x + r + 1, y), (x, y + r + 1), (x - r - 1, y)])
            }
            Marker::Circle | Marker::OpenCircle | Marker::Cross | Marker::Plus => None,
        };
        let fill = if open { WHITE.filled() } else { colour.filled() };
        let result = match (marker, outline) {
            (Marker::Circle | Marker::OpenCircle, _) => self.area.draw(&Circle::new((x, y), r, fill)).and_then(|_| {
                if open { self.area.draw(&Circle::new((x, y), r, colour.stroke_width(2))) } else { Ok(()) }
            }),
            (Marker::Cross, _) => self
                .area
                .draw(&PathElement::new(vec![(x - r, y - r), (x + r, y + r)], colour.stroke_width(2)))
                .and_then(|_| {
                    self.area.draw(&PathElement::new(vec![(x - r, y + r), (x + r, y - r)], colour.stroke_width(2)))
                }),
            (Marker::Plus, _) => self
                .area
                .draw(&PathElement::new(vec![(x - r - 1, y), (x + r + 1, y)], colour.stroke_width(2)))
                .and_then(|_| {
                    self.area.draw(&PathElement::new(vec![(x, y - r - 1), (x, y + r + 1)], colour.stroke_width(2)))
                }),
            (_, Some(vertices)) => self.area.draw(&Polygon::new(vertices.clone(), fill)).and_then(|_| {
                if open {
                    let mut closed = vertices;
                    closed.push(closed[0]);
                    self.area.draw(&PathElement::new(closed, colour.stroke_width(2)))
                } else {
                    Ok(())
                }
            }),
            (_, None) => Ok(()),
        };
        result.map_err(|e| self.error(e))
    }

    fn axes(&self, panel: &Panel, mapping: &Mapping) -> Result<(), PlotError> {
        let data = mapping.data;
        let centre = Pos::new(HPos::Center, VPos::Top);
        let (x_low, x_high) = mapping.x_values();
        for tick in ticks(panel.x.scale, x_low, x_high) {
            let (px, _) = mapping.pixel(tick.value, mapping.y.0);
            self.polyline(&[(px, data.top), (px, data.bottom)], GRID, 1, Dash::Solid)?;
            self.polyline(&[(px, data.bottom), (px, data.bottom + 5.0)], BLACK, 1, Dash::Solid)?;
            self.text(&tick.label, (px, data.bottom + 8.0), 13.0, centre, false)?;
        }
        for tick in ticks(Scale::Linear, mapping.y.0, mapping.y.1) {
            let (_, py) = mapping.pixel(x_low, tick.value);
            self.polyline(&[(data.left, py), (data.right, py)], GRID, 1, Dash::Solid)?;
            self.polyline(&[(data.left - 5.0, py), (data.left, py)], BLACK, 1, Dash::Solid)?;
            self.text(&tick.label, (data.left - 8.0, py), 13.0, Pos::new(HPos::Right, VPos::Center), false)?;
        }
        let frame = [
            (data.left, data.top),
            (data.right, data.top),
            (data.right, data.bottom),
            (data.left, data.bottom),
            (data.left, data.top),
        ];
        self.polyline(&frame, BLACK, 1, Dash::Solid)?;
        self.text(&panel.title, (data.left, data.top - 20.0), 15.0, Pos::new(HPos::Left, VPos::Top), false)?;
        self.text(&panel.x.label, ((data.left + data.right) / 2.0, data.bottom + 28.0), 14.0, centre, false)?;
        self.text(
            &panel.y.label,
            (data.left - 62.0, (data.top + data.bottom) / 2.0),
            14.0,
            Pos::new(HPos::Center, VPos::Center),
            true,
        )
    }

    fn series(&self, panel: &Panel, mapping: &Mapping) -> Result<(), PlotError> {
        // Measured series (bars at the same measured x) are set apart by a few pixels each.
        let barred: Vec<&Series> = panel.series.iter().filter(|series| series.geometry == Geometry::Measured).collect();
        let spacing = (48.0 / barred.len().max(1) as f64).min(7.0);
        let offset = |series: &Series| {
            barred
                .iter()
                .position(|other| std::ptr::eq(*other, series))
                .map_or(0.0, |index| (index as f64 - (barred.len() as f64 - 1.0) / 2.0) * spacing)
        };
        let traces = panel.series.iter().filter(|series| series.geometry == Geometry::Trace).count().max(1);
        let pixels = |series: &Series| -> Vec<PixelPoint> {
            let shift = offset(series);
            series
                .points
                .iter()
                .filter(|point| point.x.is_finite() && point.y.is_finite() && mapping.axis_x(point.x).is_finite())
                .map(|point| {
                    let (px, py) = mapping.pixel(point.x, point.y);
                    let interval = point
                        .interval
                        .map(|(low, high)| (mapping.pixel(point.x, low).1, mapping.pixel(point.x, high).1));
                    ((px + shift, py), interval)
                })
                .collect()
        };
        // Bands first, under every line.
        for series in panel.series.iter().filter(|series| series.geometry == Geometry::Trace) {
            let points = pixels(series);
            let (upper, lower): (Vec<_>, Vec<_>) = points
                .iter()
                .filter_map(|((x, _), interval)| interval.map(|(low, high)| ((*x, high), (*x, low))))
                .unzip();
            if upper.len() >= 2 {
                let polygon: Vec<(i32, i32)> = upper.into_iter().chain(lower.into_iter().rev()).map(int).collect();
                self.area
                    .draw(&Polygon::new(polygon, rgb(series.look.colour).mix(0.16).filled()))
                    .map_err(|e| self.error(e))?;
            }
        }
        for series in &panel.series {
            let colour = rgb(series.look.colour);
            let points = pixels(series);
            let line: Vec<(f64, f64)> = points.iter().map(|(point, _)| *point).collect();
            if series.geometry != Geometry::Points {
                self.polyline(&line, colour, 2, series.dash)?;
            }
            if series.geometry != Geometry::Trace {
                for ((x, _), interval) in &points {
                    if let Some((low, high)) = interval {
                        self.polyline(&[(*x, *low), (*x, *high)], colour, 2, Dash::Solid)?;
                        self.polyline(&[(x - 4.0, *low), (x + 4.0, *low)], colour, 2, Dash::Solid)?;
                        self.polyline(&[(x - 4.0, *high), (x + 4.0, *high)], colour, 2, Dash::Solid)?;
                    }
                }
            }
        }
        for (index, series) in panel.series.iter().enumerate() {
            let colour = rgb(series.look.colour);
            let points = pixels(series);
            let every = match series.geometry {
                Geometry::Trace => (points.len() / TRACE_MARKERS).max(1),
                Geometry::Measured | Geometry::Points => 1,
            };
            // Traces put their markers at different points, so that they do not stack.
            let phase = if every > 1 { index * every / traces % every } else { 0 };
            for (i, (point, _)) in points.iter().enumerate() {
                if i % every == phase {
                    self.marker(series.look.marker, colour, *point)?;
                }
            }
        }
        Ok(())
    }

    fn legend(&self, figure: &Figure, layout: &Layout) -> Result<(), PlotError> {
        let frame = layout.legend;
        let border = [
            (frame.left, frame.top),
            (frame.right, frame.top),
            (frame.right, frame.bottom),
            (frame.left, frame.bottom),
            (frame.left, frame.top),
        ];
        self.polyline(&border, RGBColor(0xAA, 0xAA, 0xAA), 1, Dash::Solid)?;
        for (row, (label, look, dash, geometry)) in figure.legend().into_iter().enumerate() {
            let y = frame.top + 6.0 + layout.legend_row * (row as f64 + 0.5);
            let (left, right) = (frame.left + 8.0, frame.left + 40.0);
            let colour = rgb(look.colour);
            if geometry != Geometry::Points {
                self.polyline(&[(left, y), (right, y)], colour, 2, dash)?;
            }
            self.marker(look.marker, colour, ((left + right) / 2.0, y))?;
            self.text(label, (right + 8.0, y), 13.0, Pos::new(HPos::Left, VPos::Center), false)?;
        }
        Ok(())
    }
}

/// Draws `figure` into an SVG file at `path`.
pub fn write_svg(figure: &Figure, path: &Path) -> Result<(), PlotError> {
    let layout = Layout::of(figure);
    let root = SVGBackend::new(path, (layout.width.round() as u32, layout.height.round() as u32)).into_drawing_area();
    let painter = Painter { area: &root, path };
    root.fill(&WHITE).map_err(|e| painter.error(e))?;
    painter.text(&figure.title, (layout.width / 2.0, 12.0), 19.0, Pos::new(HPos::Center, VPos::Top), false)?;
    let mut drawn = 0;
    for (panel, (_, data)) in figure.panels.iter().zip(&layout.panels) {
        let Some(mapping) = Mapping::of(panel, *data) else { continue };
        painter.axes(panel, &mapping)?;
        painter.series(panel, &mapping)?;
        drawn += 1;
    }
    if drawn == 0 {
        return Err(PlotError::Empty(figure.title.clone()));
    }
    painter.legend(figure, &layout)?;
    let lines = layout.note.len() as f64;
    for (row, line) in layout.note.iter().enumerate() {
        let y = layout.height - 8.0 - (lines - row as f64) * layout.note_row;
        painter.text(line, (12.0, y), 13.0, Pos::new(HPos::Left, VPos::Top), false)?;
    }
    root.present().map_err(|e| painter.error(e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dashed_line_is_drawn_in_pieces_of_its_pattern_across_vertices() {
        // 26 pixels along two segments: dashes of 8 with gaps of 5 at 0..8, 13..21, and 26 ends it.
        let pieces = dash_segments(&[(0.0, 0.0), (10.0, 0.0), (26.0, 0.0)], Dash::Dashed);
        assert_eq!(pieces, vec![vec![(0.0, 0.0), (8.0, 0.0)], vec![(13.0, 0.0), (21.0, 0.0)]]);
        let solid = dash_segments(&[(0.0, 0.0), (1.0, 1.0), (f64::NAN, 0.0), (2.0, 2.0), (3.0, 3.0)], Dash::Solid);
        assert_eq!(solid, vec![vec![(0.0, 0.0), (1.0, 1.0)], vec![(2.0, 2.0), (3.0, 3.0)]]);
    }
}
