//! The rungs of the ladder: what each adds to the frozen base, and how it changes the config.

use retrofit_recurrent_generator::{Recurrence, RecurrentGeneratorConfig, Schedule};

use crate::figure::{Colour, Look, Marker, PALETTE};

/// A rung of the ladder: what it adds to the frozen base, cheapest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Rung {
    ZeroShot,
    ZeroShotCache,
    HeadBias,
    None,
    NoneWide,
    NoneLong,
    NoneCache,
    TokenGru,
    SegmentState,
    Memory,
    XlCache,
    MemoryTokens,
}

impl Rung {
    pub const ALL: [Rung; 12] = [
        Self::ZeroShot,
        Self::ZeroShotCache,
        Self::HeadBias,
        Self::None,
        Self::NoneWide,
        Self::NoneLong,
        Self::NoneCache,
        Self::TokenGru,
        Self::SegmentState,
        Self::Memory,
        Self::XlCache,
        Self::MemoryTokens,
    ];

    /// The rung's name in run names (`<ladder>-<name>-s<seed>`) and tables.
    pub fn name(self) -> &'static str {
        match self {
            Self::ZeroShot => "zero-shot",
            Self::ZeroShotCache => "zero-shot-cache",
            Self::HeadBias => "head-bias",
            Self::None => "none",
            Self::NoneWide => "none-wide",
            Self::NoneLong => "none-long",
            Self::NoneCache => "none-cache",
            Self::TokenGru => "token-gru",
            Self::SegmentState => "segment-state",
            Self::Memory => "memory",
            Self::XlCache => "xl-cache",
            Self::MemoryTokens => "memory-tokens",
        }
    }

    /// The rung of that [`Rung::name`].
    pub fn named(name: &str) -> Option<Rung> {
        Self::ALL.into_iter().find(|rung| rung.name() == name)
    }

    pub fn what(self) -> &'static str {
        match self {
            Self::ZeroShot => "frozen base, nothing trained",
            Self::ZeroShotCache => "frozen base reading the previous window's keys and values (none-cache untrained)",
            Self::HeadBias => "+ trainable logit bias",
            Self::None => "+ inserted blocks (control)",
            Self::NoneWide => "control with feed-forward 7x: about token-gru's parameters",
            Self::NoneLong => "control attending twice as far: context 2x, same tokens a step",
            Self::NoneCache => "control reading the previous window's keys and values (Transformer-XL), no parameters",
            Self::TokenGru => "+ GRU along the tokens in each block",
            Self::SegmentState => "+ one state vector carried between windows",
            Self::Memory => "+ memory slots read and written by attention between windows",
            Self::XlCache => {
                "every attention layer reads the cache the previous window's forward left (Transformer-XL), no parameters"
            }
            Self::MemoryTokens => "+ memory tokens the base reads before a window and writes after it (RMT)",
        }
    }

    /// Makes `config` (the ladder's config with the user's `--set`s applied) this rung's.
    /// `none-wide` widens the feed-forward layer from 4x to 7x: the 6 d^2 parameters that a
    /// GRU(d, d) adds to a block, so that token-gru's gain can be told apart from its extra
    /// parameters. `none-long` doubles the window and halves the windows a step and the evaluated
    /// windows (when they are even), so that it reads the same tokens a step and is evaluated on
    /// the same text: a recurrence that extends memory must beat simply attending further.
    /// `zero-shot-cache` is `none-cache` as initialised (its inserted blocks' gates at 0): the
    /// frozen base itself reading the previous window, so that what none-cache owes to training
    /// can be told apart from what the base does with the cache on its own.
    pub fn apply(self, config: &mut RecurrentGeneratorConfig) {
        let model = &mut config.model;
        model.recurrence = match self {
            Self::NoneCache | Self::ZeroShotCache => Recurrence::NoneCache,
            Self::TokenGru => Recurrence::TokenGru,
            Self::SegmentState => Recurrence::SegmentState,
            Self::Memory => Recurrence::Memory,
            Self::XlCache => Recurrence::XlCache,
            Self::MemoryTokens => Recurrence::MemoryTokens,
            Self::ZeroShot | Self::HeadBias | Self::None | Self::NoneWide | Self::NoneLong => Recurrence::None,
        };
        match self {
            Self::ZeroShot => {
                config.schedule = Schedule::ZeroShot;
                model.inserted_blocks = 0;
            }
            Self::ZeroShotCache => config.schedule = Schedule::ZeroShot,
            Self::HeadBias => model.inserted_blocks = 0,
            Self::NoneWide => model.ff_mult = 7,
            Self::NoneLong => {
                let data = &mut config.data;
                data.context *= 2;
                data.bptt_windows = (data.bptt_windows / 2).max(1);
                data.eval_windows = data.eval_windows.map(|windows| (windows / 2).max(1));
            }
            Self::None
            | Self::NoneCache
            | Self::TokenGru
            | Self::SegmentState
            | Self::Memory
            | Self::XlCache
            | Self::MemoryTokens => {}
        }
    }

    /// The rung's look in every figure: its own colour of [`PALETTE`] and its own marker (the
    /// control black with a filled circle; the control's variants blues; the recurrences warm).
    pub fn look(self) -> Look {
        let (colour, marker): (Colour, Marker) = match self {
            Self::ZeroShot => (PALETTE[1], Marker::Cross),
            Self::ZeroShotCache => (PALETTE[9], Marker::OpenCircle),
            Self::HeadBias => (PALETTE[8], Marker::Plus),
            Self::None => (PALETTE[0], Marker::Circle),
            Self::NoneWide => (PALETTE[3], Marker::OpenSquare),
            Self::NoneLong => (PALETTE[5], Marker::Square),
            Self::NoneCache => (PALETTE[4], Marker::Diamond),
            Self::TokenGru => (PALETTE[2], Marker::TriangleDown),
            Self::SegmentState => (PALETTE[6], Marker::TriangleUp),
            Self::Memory => (PALETTE[7], Marker::OpenDiamond),
            Self::XlCache => (PALETTE[10], Marker::OpenTriangleUp),
            Self::MemoryTokens => (PALETTE[11], Marker::OpenTriangleDown),
        };
        Look { colour, marker }
    }

    /// Whether the rung trains blocks inserted into the base (every rung but zero-shot and
    /// head-bias).
    pub fn inserts_blocks(self) -> bool {
        !matches!(self, Self::ZeroShot | Self::HeadBias)
    }

    /// Whether the rung hands something from one window to the next (its evaluation with the
    /// state reset or shuffled differs from carried).
    pub fn carries_state(self) -> bool {
        matches!(
            self,
            Self::SegmentState
                | Self::NoneCache
                | Self::ZeroShotCache
                | Self::Memory
                | Self::XlCache
                | Self::MemoryTokens
        )
    }

    /// Whether the rung needs a base with rotary positions (xl-cache): a ladder on a GPT-2 base
    /// leaves it out.
    pub fn needs_rotary_base(self) -> bool {
        self == Self::XlCache
    }

    /// Whether the rung trains nothing: one model for every seed, which is paired with each of
    /// the control's seeds.
    pub fn is_zero_shot(self) -> bool {
        matches!(self, Self::ZeroShot | Self::ZeroShotCache)
    }

    /// `<ladder>-<rung>-s<seed>`.
    pub fn run_name(self, ladder: &str, seed: u64) -> String {
        format!("{ladder}-{}-s{seed}", self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_rung_has_a_colour_and_a_marker_of_its_own() {
        let looks: Vec<Look> = Rung::ALL.iter().map(|rung| rung.look()).collect();
        assert_eq!(looks.iter().map(|look| look.colour).collect::<HashSet<_>>().len(), Rung::ALL.len());
        assert_eq!(looks.iter().map(|look| look.marker).collect::<HashSet<_>>().len(), Rung::ALL.len());
        assert!(Rung::ALL.len() <= PALETTE.len());
    }
}
