//! Where a figure's parts go, in pixels: the title on top, the panels in a grid, each with room
//! for its title, tick labels and axis labels around its data area, and the legend in a column
//! of its own to the right of every panel, so that it never covers data.

use super::description::Figure;

/// A rectangle in pixels, `left..right` by `top..bottom` (y grows downwards).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub left: f64,
    pub top: f64,
    pub right: f64,
    pub bottom: f64,
}

impl Rect {
    pub fn width(&self) -> f64 {
        self.right - self.left
    }

    pub fn height(&self) -> f64 {
        self.bottom - self.top
    }

    /// Whether the two share any area (touching edges do not).
    pub fn overlaps(&self, other: &Rect) -> bool {
        self.left < other.right && other.left < self.right && self.top < other.bottom && other.top < self.bottom
    }

    /// Whether `other` lies inside this one.
    pub fn contains(&self, other: &Rect) -> bool {
        self.left <= other.left && other.right <= self.right && self.top <= other.top && other.bottom <= self.bottom
    }
}

/// A figure's parts, placed.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub width: f64,
    pub height: f64,
    /// Per panel: the whole cell and the data area inside it (where series are drawn).
    pub panels: Vec<(Rect, Rect)>,
    /// The legend's box.
    pub legend: Rect,
    /// Height of one legend entry.
    pub legend_row: f64,
    /// The figure's note, in lines that fit its width, under the panels.
    pub note: Vec<String>,
    pub note_row: f64,
}

/// Average width of a character of the note's 13-pixel sans-serif font, generously.
const NOTE_CHARACTER: f64 = 6.6;

/// `text` in lines of at most `width` pixels, broken between words.
fn wrap(text: &str, width: f64) -> Vec<String> {
    let most = (width / NOTE_CHARACTER).floor().max(10.0) as usize;
    let mut lines: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        match lines.last_mut() {
            Some(line) if line.chars().count() + 1 + word.chars().count() <= most => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    lines
}

const PANEL_WIDTH: f64 = 540.0;
const PANEL_HEIGHT: f64 = 360.0;
const TITLE: f64 = 40.0;
const NOTE_ROW: f64 = 18.0;
const PANEL_TITLE: f64 = 28.0;
const Y_LABELS: f64 = 78.0;
const X_LABELS: f64 = 50.0;
const PAD: f64 = 16.0;
const LEGEND_WIDTH: f64 = 230.0;
const LEGEND_ROW: f64 = 20.0;

impl Layout {
    /// Places `figure`: panels `PANEL_WIDTH` by `PANEL_HEIGHT` in rows of `figure.columns`, the
    /// legend to their right, as tall as its entries need (the figure grows to hold it).
    pub fn of(figure: &Figure) -> Self {
        let columns = figure.columns.max(1).min(figure.panels.len().max(1));
        let panels: Vec<(Rect, Rect)> = (0..figure.panels.len())
            .map(|index| {
                let (row, column) = (index / columns, index % columns);
                let left = column as f64 * PANEL_WIDTH;
                let top = TITLE + row as f64 * PANEL_HEIGHT;
                let cell = Rect { left, top, right: left + PANEL_WIDTH, bottom: top + PANEL_HEIGHT };
                let data = Rect {
                    left: left + Y_LABELS,
                    top: top + PANEL_TITLE,
                    right: left + PANEL_WIDTH - PAD,
                    bottom: top + PANEL_HEIGHT - X_LABELS,
                };
                (cell, data)
            })
            .collect();
        let legend_left = columns as f64 * PANEL_WIDTH + 8.0;
        let entries = figure.legend().len() as f64;
        let legend = Rect {
            left: legend_left,
            top: TITLE + PANEL_TITLE,
            right: legend_left + LEGEND_WIDTH - 16.0,
            bottom: TITLE + PANEL_TITLE + entries * LEGEND_ROW + 12.0,
        };
        let panels_bottom = TITLE + figure.rows() as f64 * PANEL_HEIGHT;
        let width = legend_left + LEGEND_WIDTH;
        let note = wrap(&figure.note, width - 24.0);
        let height = panels_bottom.max(legend.bottom + PAD)
            + note.len() as f64 * NOTE_ROW
            + if note.is_empty() { 0.0 } else { 12.0 };
        Self { width, height, panels, legend, legend_row: LEGEND_ROW, note, note_row: NOTE_ROW }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_note_is_broken_between_words_to_fit() {
        assert_eq!(wrap("aaa bbb ccc", 10.0 * NOTE_CHARACTER), ["aaa bbb", "ccc"]);
        assert!(wrap("", 100.0).is_empty());
    }
}
