//! The ladder's figures: training loss, held-out loss by window index, bits per byte by window.

use std::path::{Path, PathBuf};

use retrofit_runtime::plot::{Line, line_plot};

use super::{LadderRun, LadderRungs, Rung};

/// The window of a ladder: its control's `data.context` (the rung all others are compared with;
/// `none-long` doubles it), `None` without a control run.
pub fn ladder_window(rungs: &[(Rung, Vec<LadderRun>)]) -> Option<usize> {
    let (_, runs) = rungs.iter().find(|(rung, _)| *rung == Rung::None)?;
    runs.first()?.summary.config.pointer("/data/context")?.as_u64().map(|context| context as usize)
}

/// One line a rung over ladders that differ only in their window: `(window, test bits per byte
/// with the state carried, mean over seeds)`, windows ascending; a rung appears with the windows
/// whose ladder ran it.
pub fn bits_per_byte_by_window(ladders: &[(usize, &LadderRungs)]) -> Vec<Line> {
    let mut by_window: Vec<_> = ladders.to_vec();
    by_window.sort_by_key(|(window, _)| *window);
    Rung::ALL
        .iter()
        .enumerate()
        .filter_map(|(color, rung)| {
            let points: Vec<(f64, f64)> = by_window
                .iter()
                .filter_map(|(window, rungs)| {
                    let (_, runs) = rungs.iter().find(|(known, _)| known == rung)?;
                    let mean =
                        runs.iter().map(|run| run.evaluation.carried.bits_per_byte).sum::<f64>() / runs.len() as f64;
                    Some((*window as f64, mean))
                })
                .collect();
            (!points.is_empty()).then(|| Line { label: rung.name().to_string(), color, dashed: false, points })
        })
        .collect()
}

fn mean_series(series: &[&[f64]]) -> Vec<f64> {
    let length = series.iter().map(|s| s.len()).min().unwrap_or(0);
    (0..length).map(|i| series.iter().map(|s| s[i]).sum::<f64>() / series.len() as f64).collect()
}

/// Writes `loss_curves.svg` (training loss per step, smoothed over 10 steps, mean over seeds)
/// and `window_loss.svg` (held-out loss by window index, state carried; reset dashed) into
/// `dir`. Returns the files written.
pub fn write_plots(rungs: &[(Rung, Vec<LadderRun>)], dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut curves = Vec::new();
    let mut windows = Vec::new();
    for (rung, runs) in rungs {
        let color = Rung::ALL.iter().position(|known| known == rung).unwrap_or(0);
        let rung_name = rung.name();
        let train = mean_series(&runs.iter().map(|run| run.train_loss.as_slice()).collect::<Vec<_>>());
        if !train.is_empty() {
            let smoothed: Vec<(f64, f64)> = (0..train.len())
                .map(|i| {
                    let from = i.saturating_sub(9);
                    ((i + 1) as f64, train[from..=i].iter().sum::<f64>() / (i + 1 - from) as f64)
                })
                .collect();
            curves.push(Line { label: rung_name.to_string(), color, dashed: false, points: smoothed });
        }
        let carried = mean_series(&runs.iter().map(|run| run.carried()).collect::<Vec<_>>());
        windows.push(Line {
            label: format!("{rung_name} (state carried)"),
            color,
            dashed: false,
            points: carried.iter().enumerate().map(|(i, &v)| (i as f64, v)).collect(),
        });
        if rung.carries_state() {
            let reset = mean_series(&runs.iter().map(|run| run.reset()).collect::<Vec<_>>());
            windows.push(Line {
                label: format!("{rung_name} (state reset)"),
                color,
                dashed: true,
                points: reset.iter().enumerate().map(|(i, &v)| (i as f64, v)).collect(),
            });
        }
    }
    let mut written = Vec::new();
    if !curves.is_empty() {
        let path = dir.join("loss_curves.svg");
        line_plot(&path, "Training loss (mean of 10 steps)", "step", "loss (nats/token)", &curves)?;
        written.push(path);
    }
    let path = dir.join("window_loss.svg");
    line_plot(&path, "Held-out loss by window index", "window index along the text", "loss (nats/token)", &windows)?;
    written.push(path);
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{evaluation, ladder_run};
    use super::*;

    #[test]
    fn bits_per_byte_by_window_is_one_line_a_rung_at_the_windows_whose_ladder_ran_it() {
        let run = |seed, nll: f64, context: u64| {
            let mut run = ladder_run(seed, evaluation(vec![nll; 4], 4));
            run.summary.config = serde_json::json!({ "data": { "context": context } });
            run.evaluation.carried.bits_per_byte = nll / 4.0;
            run
        };
        let short = vec![(Rung::None, vec![run(0, 4.0, 64), run(1, 6.0, 64)]), (Rung::TokenGru, vec![run(0, 4.0, 64)])];
        let long = vec![(Rung::None, vec![run(0, 3.0, 256)]), (Rung::Memory, vec![run(0, 2.0, 256)])];
        assert_eq!((ladder_window(&short), ladder_window(&long)), (Some(64), Some(256)));
        let lines = bits_per_byte_by_window(&[(256, &long), (64, &short)]);
        let names: Vec<&str> = lines.iter().map(|line| line.label.as_str()).collect();
        assert_eq!(names, ["none", "token-gru", "memory"]);
        // none: the mean of its two seeds at 64 (1.0 and 1.5), its one seed at 256.
        assert_eq!(lines[0].points, vec![(64.0, 1.25), (256.0, 0.75)]);
        assert_eq!(lines[1].points, vec![(64.0, 1.0)]);
        assert_eq!(lines[2].points, vec![(256.0, 0.5)]);
    }
}
