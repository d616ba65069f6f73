//! Where in the text a rung does better than the control: its held-out loss minus the control's,
//! by position inside the window (where a carried state should help most at the start) and along
//! the text by window index (a few windows averaged), with the state carried (solid) and reset
//! before every window (dashed) for the rungs that carry one. Rungs with inserted blocks only:
//! zero-shot and head-bias differ from the control by far more than any of them, and are in the
//! tables and the other figures.

use crate::figure::{Axis, Dash, Estimate, Figure, Geometry, Panel, Point, Scale, Series};
use retrofit_core::language_model::StreamEvaluation;

use super::statistics::{SEED_INTERVAL, seed_mean};
use super::{LadderRun, Rung};

/// Bins along the text the window panel aims at (each at least 2 windows).
const WINDOW_BINS: usize = 28;

/// `values` (`m * len` of them: a rung whose window is `m` times the control's) folded onto the
/// control's positions, the mean of the `m` positions `p`, `p + len`, ... (`None` when the
/// lengths do not divide).
pub fn fold_positions(values: &[f64], len: usize) -> Option<Vec<f64>> {
    if len == 0 || values.is_empty() || !values.len().is_multiple_of(len) {
        return None;
    }
    let folds = values.len() / len;
    Some((0..len).map(|p| (0..folds).map(|k| values[k * len + p]).sum::<f64>() / folds as f64).collect())
}

/// Rung minus control at every position of the control's window (`None` without positions).
fn position_difference(rung: &StreamEvaluation, control: &StreamEvaluation) -> Option<Vec<f64>> {
    let folded = fold_positions(&rung.loss_by_position, control.loss_by_position.len())?;
    Some(folded.iter().zip(&control.loss_by_position).map(|(rung, control)| rung - control).collect())
}

/// Rung minus control at every window index of the control: a rung whose window is `m` times the
/// control's compares its window `w / m` with the control's `w` (the same text).
fn window_difference(rung: &StreamEvaluation, control: &StreamEvaluation) -> Vec<f64> {
    let (rung, control) = (&rung.loss_by_window, &control.loss_by_window);
    if rung.is_empty() {
        return Vec::new();
    }
    let m = ((control.len() as f64 / rung.len() as f64).round() as usize).max(1);
    control.iter().enumerate().map_while(|(w, control)| rung.get(w / m).map(|rung| rung - control)).collect()
}

/// `(first window, windows)` of the bins of `windows` windows, [`WINDOW_BINS`] of them or fewer.
pub fn window_bins(windows: usize) -> Vec<(usize, usize)> {
    let size = windows.div_ceil(WINDOW_BINS).max(2);
    (0..windows).step_by(size).map(|first| (first, size.min(windows - first))).collect()
}

/// One series: at each x the mean over seeds of `per_seed`'s values with their interval.
fn mean_series(label: String, rung: Rung, dash: Dash, per_seed: &[Vec<(f64, f64)>]) -> Option<Series> {
    let length = per_seed.iter().map(Vec::len).min()?;
    let points: Vec<Point> = (0..length)
        .filter_map(|i| {
            let values: Vec<f64> = per_seed.iter().map(|seed| seed[i].1).collect();
            let (mean, interval) = seed_mean(&values)?;
            Some(Point::new(per_seed[0][i].0, mean, interval))
        })
        .collect();
    (!points.is_empty()).then(|| Series {
        label,
        look: rung.look(),
        dash,
        geometry: Geometry::Trace,
        estimate: Estimate::OverSeeds { seeds: per_seed.len() },
        points,
    })
}

/// Which of a run's evaluations a series shows.
type Evaluation = fn(&LadderRun) -> &StreamEvaluation;

fn carried_of(run: &LadderRun) -> &StreamEvaluation {
    &run.evaluation.carried
}

fn reset_of(run: &LadderRun) -> &StreamEvaluation {
    &run.evaluation.reset
}

/// The control at 0 across `xs`.
fn control_line(xs: impl Iterator<Item = f64>) -> Series {
    Series {
        label: "none (control)".to_string(),
        look: Rung::None.look(),
        dash: Dash::Solid,
        geometry: Geometry::Trace,
        estimate: Estimate::Reference,
        points: xs.map(|x| Point::new(x, 0.0, None)).collect(),
    }
}

/// The figure of `ladder`'s window loss against its control (`None` without a control or another
/// rung with inserted blocks).
pub fn window_loss_figure(ladder: &str, rungs: &[(Rung, Vec<LadderRun>)]) -> Option<Figure> {
    let (_, control) = rungs.iter().find(|(rung, _)| *rung == Rung::None)?;
    let (mut by_position, mut by_window) = (Vec::new(), Vec::new());
    let control_windows = control.iter().map(|run| run.carried().len()).min().unwrap_or(0);
    let bins = window_bins(control_windows);
    for (rung, runs) in rungs.iter().filter(|(rung, _)| rung.inserts_blocks() && *rung != Rung::None) {
        let pairs: Vec<(&LadderRun, &LadderRun)> = control
            .iter()
            .filter_map(|reference| runs.iter().find(|run| run.seed == reference.seed).map(|run| (run, reference)))
            .collect();
        if pairs.is_empty() {
            continue;
        }
        // A rung that carries nothing evaluates the same with its state reset: one line.
        let resets = rung.carries_state() && pairs.iter().any(|(run, _)| run.reset() != run.carried());
        let variants: Vec<(String, Dash, Evaluation)> = if resets {
            vec![
                (format!("{}, state carried", rung.name()), Dash::Solid, carried_of),
                (format!("{}, state reset", rung.name()), Dash::Dashed, reset_of),
            ]
        } else {
            vec![(rung.name().to_string(), Dash::Solid, carried_of)]
        };
        for (label, dash, evaluation) in variants {
            let positions: Option<Vec<Vec<(f64, f64)>>> = pairs
                .iter()
                .map(|(run, reference)| {
                    let difference = position_difference(evaluation(run), &reference.evaluation.carried)?;
                    Some(difference.into_iter().enumerate().map(|(p, d)| (p as f64, d)).collect())
                })
                .collect();
            if let Some(series) = positions.and_then(|positions| mean_series(label.clone(), *rung, dash, &positions)) {
                by_position.push(series);
            }
            let windows: Vec<Vec<(f64, f64)>> = pairs
                .iter()
                .map(|(run, reference)| {
                    let difference = window_difference(evaluation(run), &reference.evaluation.carried);
                    bins.iter()
                        .filter(|(first, count)| first + count <= difference.len())
                        .map(|&(first, count)| {
                            let mean = difference[first..first + count].iter().sum::<f64>() / count as f64;
                            (first as f64 + (count as f64 - 1.0) / 2.0, mean)
                        })
                        .collect()
                })
                .collect();
            if let Some(series) = mean_series(label, *rung, dash, &windows) {
                by_window.push(series);
            }
        }
    }
    let mut panels = Vec::new();
    if !by_position.is_empty() {
        let positions = control.iter().map(|run| run.evaluation.carried.loss_by_position.len()).min().unwrap_or(0);
        by_position.insert(0, control_line((0..positions).map(|p| p as f64)));
        panels.push(Panel {
            title: "By position in the window".to_string(),
            x: Axis { label: "position in the window (0: its first target)".to_string(), scale: Scale::Integer },
            y: Axis { label: "loss \u{2212} control's (nats/token)".to_string(), scale: Scale::Linear },
            series: by_position,
        });
    }
    if !by_window.is_empty() {
        by_window
            .insert(0, control_line(bins.iter().map(|(first, count)| *first as f64 + (*count as f64 - 1.0) / 2.0)));
        let size = bins.first().map_or(0, |(_, count)| *count);
        panels.push(Panel {
            title: format!("Along the text ({size} windows averaged)"),
            x: Axis { label: "window index along the text".to_string(), scale: Scale::Integer },
            y: Axis { label: "loss \u{2212} control's (nats/token)".to_string(), scale: Scale::Linear },
            series: by_window,
        });
    }
    (!panels.is_empty()).then(|| Figure {
        title: format!("Ladder {ladder}: held-out loss against the control, on the same text"),
        note: format!(
            "Mean over seeds of rung \u{2212} control (below 0: the rung predicts better); band: {SEED_INTERVAL}; dashed: the rung's state reset before every window. A longer window is folded onto the control's."
        ),
        columns: panels.len(),
        panels,
    })
}
