//! The rungs of the ladder: what each adds to the frozen base, and how it changes the config.

use retrofit_recurrent_generator::{Recurrence, RecurrentGeneratorConfig, Schedule};

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
}

impl Rung {
    pub const ALL: [Rung; 10] = [
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
        }
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
            Self::None | Self::NoneCache | Self::TokenGru | Self::SegmentState | Self::Memory => {}
        }
    }

    /// Whether the rung hands something from one window to the next (its evaluation with the
    /// state reset or shuffled differs from carried).
    pub fn carries_state(self) -> bool {
        matches!(self, Self::SegmentState | Self::NoneCache | Self::ZeroShotCache | Self::Memory)
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
