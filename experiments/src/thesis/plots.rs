//! The ladder's figures, each checked before it is written: training loss (`loss_curves.svg`),
//! held-out loss against the control by position and along the text (`window_loss.svg`), and
//! bits per byte against step cost (`cost.svg`, where the ladder's cost was measured).

use std::path::{Path, PathBuf};

use crate::figure::{Figure, write_svg};
use crate::rung_cost::LadderCost;

use super::cost_figure::{CostLadder, cost_figure};
use super::loss_curve_figure::loss_curve_figure;
use super::window_loss_figure::window_loss_figure;
use super::{ControlComparison, LadderRun, Rung};

/// The window of a ladder: its control's `data.context` (the rung all others are compared with;
/// `none-long` doubles it), `None` without a control run.
pub fn ladder_window(rungs: &[(Rung, Vec<LadderRun>)]) -> Option<usize> {
    let (_, runs) = rungs.iter().find(|(rung, _)| *rung == Rung::None)?;
    runs.first()?.summary.config.pointer("/data/context")?.as_u64().map(|context| context as usize)
}

/// The ladder's training budget in optimizer steps, `training.epochs x data.steps_per_epoch` of its
/// control (`None` without a control, or where its epochs are as long as its data: `"all"`).
pub fn ladder_steps(rungs: &[(Rung, Vec<LadderRun>)]) -> Option<usize> {
    let (_, runs) = rungs.iter().find(|(rung, _)| *rung == Rung::None)?;
    let config = &runs.first()?.summary.config;
    let epochs = config.pointer("/training/epochs")?.as_u64()?;
    let steps_per_epoch = config.pointer("/data/steps_per_epoch")?.as_u64()?;
    Some((epochs * steps_per_epoch) as usize)
}

/// Writes `figure` to `path` once [`Figure::problems`] finds none.
pub fn write_figure(figure: &Figure, path: &Path) -> anyhow::Result<()> {
    let problems = figure.problems();
    anyhow::ensure!(problems.is_empty(), "{} would mislead a reader: {problems:?}", path.display());
    write_svg(figure, path)?;
    Ok(())
}

/// Writes the ladder's figures into `dir`: `loss_curves.svg`, `window_loss.svg` and, with `cost`,
/// `cost.svg`. Returns the files written.
pub fn write_plots(
    ladder: &str,
    rungs: &[(Rung, Vec<LadderRun>)],
    comparisons: &[ControlComparison],
    cost: Option<&LadderCost>,
    dir: &Path,
) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    let cost = cost.and_then(|cost| {
        cost_figure(
            &format!("Ladder {ladder}: bits per byte against step cost"),
            &[CostLadder { title: "Each rung against the control", comparisons, cost }],
        )
    });
    let figures = [
        ("loss_curves.svg", loss_curve_figure(ladder, rungs)),
        ("window_loss.svg", window_loss_figure(ladder, rungs)),
        ("cost.svg", cost),
    ];
    for (name, figure) in figures {
        let path = dir.join(name);
        match figure {
            Some(figure) => {
                write_figure(&figure, &path)?;
                written.push(path);
            }
            // A figure this ladder no longer has is not left behind from an earlier report.
            None => {
                if path.is_file() {
                    std::fs::remove_file(&path)?;
                }
            }
        }
    }
    Ok(written)
}
