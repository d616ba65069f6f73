//! Figures as descriptions first, SVG second: a [`Figure`] says what is drawn (panels of series,
//! each series with its look, its points and their intervals); [`Layout`] places its panels and
//! its legend (beside the panels, never on them); [`Figure::problems`] checks what a reader relies
//! on before anything is drawn; [`write_svg`] draws it with plotters' SVG backend.

mod checks;
mod description;
mod layout;
mod look;
mod render;
mod ticks;

pub use checks::FigureProblem;
pub use description::{Axis, Estimate, Figure, Geometry, Panel, Point, Scale, Series};
pub use layout::{Layout, Rect};
pub use look::{Colour, Dash, Look, MARKERS, Marker, PALETTE};
pub use render::{dash_segments, write_svg};
pub use ticks::{Tick, ticks};
