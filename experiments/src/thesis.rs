//! The thesis's answer: the ladder of recurrent-generator runs (`<ladder>-<rung>-s<seed>`), defined
//! once here ([`Rung`]), run in order, and reported in tables (each rung against the control, with
//! what its carried state contributes; every run) and plots, one concern a file.

mod comparison;
#[cfg(test)]
mod fixtures;
mod ladder;
mod plots;
mod rung;
pub mod statistics;
mod tables;

pub use comparison::{
    ControlComparison, EpochCorrelation, StateContribution, control_comparisons, control_spread, epoch_correlation,
};
pub use ladder::{LadderRun, LadderRungs, read_ladder};
pub use plots::{bits_per_byte_by_window, ladder_window, write_plots};
pub use rung::Rung;
pub use tables::{answer_table, control_table, ladder_table, mean_spread, protocol};
