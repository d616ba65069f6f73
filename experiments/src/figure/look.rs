//! How a series looks: a colour from a palette that stays apart for colour-blind readers, a
//! marker shape that tells series apart without colour, and a dash pattern.

/// An sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Colour(pub u8, pub u8, pub u8);

impl Colour {
    /// `#RRGGBB`, as the SVG writes it.
    pub fn hex(self) -> String {
        format!("#{:02X}{:02X}{:02X}", self.0, self.1, self.2)
    }
}

/// Twelve colours: Okabe and Ito's eight (yellow left out, too pale for a line on white, grey
/// added) and four of Paul Tol's muted scheme. Colour alone is not relied on: every look has
/// its own marker as well.
pub const PALETTE: [Colour; 12] = [
    Colour(0x00, 0x00, 0x00), // black
    Colour(0x99, 0x99, 0x99), // grey
    Colour(0xE6, 0x9F, 0x00), // orange
    Colour(0x56, 0xB4, 0xE9), // sky blue
    Colour(0x00, 0x9E, 0x73), // bluish green
    Colour(0x00, 0x72, 0xB2), // blue
    Colour(0xD5, 0x5E, 0x00), // vermillion
    Colour(0xCC, 0x79, 0xA7), // reddish purple
    Colour(0x99, 0x99, 0x33), // olive (Tol)
    Colour(0x33, 0x22, 0x88), // indigo (Tol)
    Colour(0x88, 0x22, 0x55), // wine (Tol)
    Colour(0x44, 0xAA, 0x99), // teal (Tol)
];

/// The shape drawn at a series' points: filled, open (white inside) or strokes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Marker {
    Circle,
    Square,
    TriangleUp,
    TriangleDown,
    Diamond,
    Cross,
    Plus,
    OpenCircle,
    OpenSquare,
    OpenTriangleUp,
    OpenTriangleDown,
    OpenDiamond,
}

/// Every marker, as many as the palette's colours.
pub const MARKERS: [Marker; 12] = [
    Marker::Circle,
    Marker::Square,
    Marker::TriangleUp,
    Marker::TriangleDown,
    Marker::Diamond,
    Marker::Cross,
    Marker::Plus,
    Marker::OpenCircle,
    Marker::OpenSquare,
    Marker::OpenTriangleUp,
    Marker::OpenTriangleDown,
    Marker::OpenDiamond,
];

/// How a line is stroked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dash {
    Solid,
    Dashed,
    Dotted,
}

impl Dash {
    /// Pixels drawn and left out in turn (`None`: one unbroken line).
    pub fn pattern(self) -> Option<(f64, f64)> {
        match self {
            Self::Solid => None,
            Self::Dashed => Some((8.0, 5.0)),
            Self::Dotted => Some((2.0, 4.0)),
        }
    }
}

/// The look of one thing a figure shows (a rung): its colour and marker, the same in every figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Look {
    pub colour: Colour,
    pub marker: Marker,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn the_palette_and_the_markers_have_twelve_distinct_entries() {
        assert_eq!(PALETTE.iter().collect::<HashSet<_>>().len(), 12);
        assert_eq!(MARKERS.iter().collect::<HashSet<_>>().len(), 12);
        assert_eq!(PALETTE[6].hex(), "#D55E00");
    }
}
