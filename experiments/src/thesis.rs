//! The thesis's answer: the ladder of recurrent-generator runs (`<ladder>-<rung>-s<seed>`), defined
//! once here ([`Rung`]), run in order, and reported in tables (each rung against the control, with
//! what its carried state contributes; every run) and plots, one concern a file.

mod budget_figure;
mod comparison;
mod cost_figure;
#[cfg(test)]
mod figure_tests;
#[cfg(test)]
mod fixtures;
mod ladder;
mod loss_curve_figure;
mod plots;
mod rung;
pub mod statistics;
mod tables;
mod window_figure;
mod window_loss_figure;

pub use budget_figure::{BudgetLadder, rungs_by_budget};
pub use comparison::{
    ControlComparison, EpochCorrelation, StateContribution, control_comparisons, control_spread, epoch_correlation,
};
pub use cost_figure::{CostLadder, cost_figure};
pub use ladder::{LadderRun, LadderRungs, read_ladder, runs_on_another_base};
pub use loss_curve_figure::loss_curve_figure;
pub use plots::{ladder_steps, ladder_window, write_figure, write_plots};
pub use rung::Rung;
pub use tables::{answer_table, budget_table, control_table, ladder_table, mean_spread, protocol};
pub use window_figure::{WindowLadder, bits_per_byte_by_window};
pub use window_loss_figure::window_loss_figure;
