//! The thesis's answer: the ladder of recurrent-generator runs (`<ladder>-<rung>-s<seed>`), defined
//! once here ([`Rung`]), run in order, and reported in one table (mean and spread over seeds) and
//! two plots: training loss curves, and the validation loss by window index with the state
//! carried and reset.

use std::path::{Path, PathBuf};

use anyhow::Context;
use retrofit_core::language_model::{GainInterval, PairedUnit, StreamEvaluation, bootstrap_difference, paired_units};
use retrofit_recurrent_generator::{
    BOOTSTRAP_RESAMPLES, Recurrence, RecurrentGeneratorConfig, Schedule, WINDOW_LOSS_FILE, WindowLoss,
};
use retrofit_runtime::Quantity;
use retrofit_runtime::curves::Curves;
use retrofit_runtime::plot::{Line, line_plot};
use retrofit_runtime::summary::RunSummary;
use serde::Serialize;

/// A rung of the ladder: what it adds to the frozen base, cheapest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Rung {
    ZeroShot,
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
    pub const ALL: [Rung; 9] = [
        Self::ZeroShot,
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
    pub fn apply(self, config: &mut RecurrentGeneratorConfig) {
        let model = &mut config.model;
        model.recurrence = match self {
            Self::NoneCache => Recurrence::NoneCache,
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

    /// `<ladder>-<rung>-s<seed>`.
    pub fn run_name(self, ladder: &str, seed: u64) -> String {
        format!("{ladder}-{}-s{seed}", self.name())
    }
}

/// A ladder's finished runs by rung, as [`read_ladder`] returns them.
pub type LadderRungs = Vec<(Rung, Vec<LadderRun>)>;

/// One run of the ladder.
#[derive(Debug, Clone)]
pub struct LadderRun {
    pub seed: u64,
    pub summary: RunSummary,
    /// Training loss of every step, in order.
    pub train_loss: Vec<f64>,
    /// The final evaluation (`window_loss.json`): state carried and reset, window by window.
    pub evaluation: WindowLoss,
}

impl LadderRun {
    /// Held-out loss by window index with the state carried.
    pub fn carried(&self) -> &[f64] {
        &self.evaluation.carried.loss_by_window
    }

    /// ... and with the state reset before every window.
    pub fn reset(&self) -> &[f64] {
        &self.evaluation.reset.loss_by_window
    }
}

/// The runs of `ladder` under `results/recurrent-generator/`, by rung in [`Rung::ALL`] order.
pub fn read_ladder(results: &Path, ladder: &str) -> anyhow::Result<Vec<(Rung, Vec<LadderRun>)>> {
    let stage_dir = results.join("recurrent-generator");
    let mut rungs = Vec::new();
    for rung in Rung::ALL {
        let prefix = format!("{ladder}-{}-s", rung.name());
        let mut runs = Vec::new();
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(&stage_dir)
            .with_context(|| format!("no runs in {}", stage_dir.display()))?
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| {
                path.file_name().and_then(|name| name.to_str()).is_some_and(|name| name.starts_with(&prefix))
            })
            .collect();
        dirs.sort();
        for dir in dirs {
            let name = dir.file_name().and_then(|name| name.to_str()).unwrap_or_default().to_string();
            let Ok(seed) = name[prefix.len()..].parse::<u64>() else { continue };
            let summary_file = dir.join(RunSummary::FILE_NAME);
            if !summary_file.is_file() {
                continue; // unfinished
            }
            let summary = RunSummary::read(&summary_file)?;
            if !summary.is_finished() {
                continue; // failed: not a result
            }
            let file = dir.join(WINDOW_LOSS_FILE);
            let evaluation: WindowLoss = serde_json::from_str(
                &std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?,
            )
            .with_context(|| format!("{} is not a stage-6 evaluation", file.display()))?;
            runs.push(LadderRun { seed, train_loss: read_step_losses(&dir), evaluation, summary });
        }
        if !runs.is_empty() {
            rungs.push((rung, runs));
        }
    }
    anyhow::ensure!(!rungs.is_empty(), "no finished runs named {ladder}-<rung>-s<seed> in {}", stage_dir.display());
    Ok(rungs)
}

/// The run's per-step training losses: from its committed `curves.json`, else from the Learner's
/// logs (`train/epoch-N/Loss.log`, one `value,batch` line per step).
fn read_step_losses(run: &Path) -> Vec<f64> {
    if let Ok(curves) = Curves::read(&run.join(Curves::FILE_NAME))
        && let Some(loss) = curves.train.get(Quantity::Loss.stem())
    {
        return loss.values.iter().map(|&value| f64::from(value)).collect();
    }
    let mut losses = Vec::new();
    for epoch in 1.. {
        let Ok(text) = std::fs::read_to_string(run.join(format!("train/epoch-{epoch}/Loss.log"))) else { break };
        losses.extend(text.lines().filter_map(retrofit_core::training::step_value).map(f64::from));
    }
    losses
}

/// `mean ± sample standard deviation` (just the mean for one value).
pub fn mean_spread(values: &[f64], digits: usize) -> String {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    if values.len() < 2 {
        return format!("{mean:.digits$}");
    }
    let sd = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    format!("{mean:.digits$} ± {sd:.digits$}")
}

/// The ladder as a markdown table: the reported split's bits per byte with the state carried and
/// reset, the carried-minus-reset gain (mean ± sd over seeds, and each seed's 95% paired
/// bootstrap interval), the loss within and beyond the back-propagation horizon, and the costs.
pub fn ladder_table(rungs: &[(Rung, Vec<LadderRun>)]) -> String {
    let mut table = String::from(
        "| rung | what it adds | seeds | selected / trained epochs | trainable / total params | bits/byte | bits/byte, state reset | gain (reset − carried) | gain, 95% interval per seed | loss within / beyond horizon | perplexity | median step | tokens/s | peak memory | wall time |\n\
         |---|---|---:|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|\n",
    );
    for (rung, runs) in rungs {
        let what = rung.what();
        let split = runs[0].evaluation.split().prefix();
        let evaluated = |value: fn(&WindowLoss) -> Option<f64>| -> Vec<f64> {
            runs.iter().filter_map(|run| value(&run.evaluation)).collect()
        };
        let plain =
            |key: &str| -> Vec<f64> { runs.iter().filter_map(|run| run.summary.final_metrics.get(key)).collect() };
        let spread = |values: Vec<f64>, digits: usize| {
            if values.is_empty() { "-".to_string() } else { mean_spread(&values, digits) }
        };
        let intervals: Vec<String> = runs
            .iter()
            .map(|run| format!("[{:+.4}, {:+.4}]", run.evaluation.gain.low, run.evaluation.gain.high))
            .collect();
        // Without a state, carried and reset are the same model: no gain to show.
        let stateful = matches!(rung, Rung::SegmentState | Rung::NoneCache | Rung::Memory);
        let horizon = format!(
            "{} / {}",
            spread(evaluated(WindowLoss::loss_within_horizon), 4),
            spread(evaluated(WindowLoss::loss_beyond_horizon), 4)
        );
        let first = &runs[0].summary;
        let throughput: Vec<f64> =
            runs.iter().filter_map(|run| run.summary.throughput.as_ref().map(|t| t.value)).collect();
        let memory: Vec<f64> =
            runs.iter().filter_map(|run| run.summary.peak_memory_bytes.map(|b| b as f64 / (1024.0 * 1024.0))).collect();
        let gpu_memory: Vec<f64> = runs
            .iter()
            .filter_map(|run| run.summary.peak_gpu_memory_bytes.map(|b| b as f64 / (1024.0 * 1024.0)))
            .collect();
        let memory = match (memory.is_empty(), gpu_memory.is_empty()) {
            (true, _) => "-".to_string(),
            (false, true) => format!("{} MiB", mean_spread(&memory, 0)),
            (false, false) => format!("{} MiB, GPU {} MiB", mean_spread(&memory, 0), mean_spread(&gpu_memory, 0)),
        };
        let wall: Vec<f64> = runs.iter().map(|run| run.summary.wall_time_s).collect();
        let epochs = runs
            .iter()
            .map(|run| match (run.summary.selected_epoch, run.summary.epochs_trained) {
                (Some(selected), Some(trained)) => format!("{selected}/{trained}"),
                _ => "-".to_string(),
            })
            .collect::<Vec<_>>()
            .join(" ");
        let step = spread(plain("median_step_s"), 3);
        table.push_str(&format!(
            "| {} | {what} | {} | {epochs} | {} / {} | {} ({split}) | {} | {} | {} | {horizon} | {} | {} | {} | {} | {} s |\n",
            rung.name(),
            runs.len(),
            first.parameters.trainable,
            first.parameters.total,
            spread(evaluated(|evaluation| Some(evaluation.carried.bits_per_byte)), 4),
            if stateful {
                spread(evaluated(|evaluation| Some(evaluation.reset.bits_per_byte)), 4)
            } else {
                "(no state)".to_string()
            },
            if stateful { spread(evaluated(|evaluation| Some(evaluation.gain.gain)), 4) } else { "-".to_string() },
            if !stateful || intervals.is_empty() { "-".to_string() } else { intervals.join(" ") },
            spread(evaluated(|evaluation| Some(evaluation.carried.perplexity)), 3),
            if step == "-" { step } else { format!("{step} s") },
            spread(throughput, 0),
            memory,
            mean_spread(&wall, 0),
        ));
    }
    table
}

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

/// Draws `lines` (label, color index, dashed, points) into an SVG file.
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
        if matches!(rung, Rung::SegmentState | Rung::NoneCache | Rung::Memory) {
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

/// A rung against the control (`none`): the difference rung − control in bits per byte on the
/// same text (negative: the rung predicts better), paired window by window, per seed and pooled.
#[derive(Debug, Clone, Serialize)]
pub struct ControlComparison {
    pub rung: String,
    /// Seeds paired (the zero-shot base, the same for every seed, pairs its one run with every
    /// seed of the control).
    pub seeds: Vec<u64>,
    /// Per seed: the paired bootstrap over its windows.
    pub per_seed: Vec<GainInterval>,
    /// Pooled over seeds: a two-stage bootstrap (seeds with replacement, then windows within each
    /// drawn seed), so that the spread between seeds counts.
    pub pooled: GainInterval,
}

/// Every rung but the control against the control, from the runs' carried evaluations. Rungs
/// without a control run to pair with are left out.
pub fn control_comparisons(rungs: &[(Rung, Vec<LadderRun>)]) -> anyhow::Result<Vec<ControlComparison>> {
    let Some((_, control)) = rungs.iter().find(|(rung, _)| *rung == Rung::None) else { return Ok(Vec::new()) };
    let mut comparisons = Vec::new();
    for (rung, runs) in rungs.iter().filter(|(rung, _)| *rung != Rung::None) {
        let mut seeds = Vec::new();
        let mut groups: Vec<Vec<PairedUnit>> = Vec::new();
        for reference in control {
            // The zero-shot base is the same model for every seed: its one run pairs with each.
            // A trained rung pairs seed with seed, also while a ladder has not run every seed.
            let paired = match runs.as_slice() {
                [only] if *rung == Rung::ZeroShot => Some(only),
                _ => runs.iter().find(|run| run.seed == reference.seed),
            };
            let Some(run) = paired else { continue };
            let units = paired_units(&run.evaluation.carried, &reference.evaluation.carried)
                .with_context(|| format!("{} seed {} against none", rung.name(), reference.seed))?;
            seeds.push(reference.seed);
            groups.push(units);
        }
        if groups.is_empty() {
            continue;
        }
        let interval = |groups: &[Vec<PairedUnit>]| bootstrap_difference(groups, 0.95, BOOTSTRAP_RESAMPLES, 0);
        let per_seed = groups.iter().map(|group| interval(std::slice::from_ref(group))).collect::<Result<_, _>>()?;
        comparisons.push(ControlComparison {
            rung: rung.name().to_string(),
            seeds,
            per_seed,
            pooled: interval(&groups)?,
        });
    }
    Ok(comparisons)
}

fn signed_interval(interval: &GainInterval) -> String {
    format!("{:+.4} [{:+.4}, {:+.4}]", interval.gain, interval.low, interval.high)
}

/// Mean over runs of a value of their carried evaluation, `-` when none has it.
fn mean_of(runs: &[LadderRun], value: impl Fn(&StreamEvaluation) -> f64) -> String {
    let values: Vec<f64> = runs.iter().map(|run| value(&run.evaluation.carried)).filter(|v| v.is_finite()).collect();
    if values.is_empty() { "-".to_string() } else { mean_spread(&values, 4) }
}

/// The headline table: each rung against the control (pooled and per seed), with the loss where
/// only a memory can help (recall targets) beside the rest, and the window's first position.
pub fn control_table(rungs: &[(Rung, Vec<LadderRun>)], comparisons: &[ControlComparison]) -> String {
    let mut table = String::from(
        "| rung | bits/byte − none, pooled [95%] | per seed [95%] | loss, recall targets | loss, local targets | loss at position 0 | recall targets |\n\
         |---|---:|---|---:|---:|---:|---:|\n",
    );
    for (rung, runs) in rungs {
        let comparison = comparisons.iter().find(|comparison| comparison.rung == rung.name());
        let (pooled, per_seed) = match comparison {
            Some(comparison) => (
                signed_interval(&comparison.pooled),
                comparison
                    .seeds
                    .iter()
                    .zip(&comparison.per_seed)
                    .map(|(seed, interval)| format!("s{seed} {}", signed_interval(interval)))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            None if *rung == Rung::None => ("(control)".to_string(), "-".to_string()),
            None => ("-".to_string(), "-".to_string()),
        };
        let recall_share = runs
            .first()
            .map(|run| {
                let recall = run.evaluation.carried.recall;
                let total = recall.recall_tokens + recall.local_tokens;
                if total == 0 {
                    "-".to_string()
                } else {
                    format!("{:.1} %", 100.0 * recall.recall_tokens as f64 / total as f64)
                }
            })
            .unwrap_or_default();
        table.push_str(&format!(
            "| {} | {pooled} | {per_seed} | {} | {} | {} | {recall_share} |\n",
            rung.name(),
            mean_of(runs, |evaluation| evaluation.recall.recall_loss),
            mean_of(runs, |evaluation| evaluation.recall.local_loss),
            mean_of(runs, |evaluation| evaluation.loss_by_position.first().copied().unwrap_or(f64::NAN)),
        ));
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use retrofit_core::language_model::RecallLoss;
    use retrofit_recurrent_generator::EvalSplit;

    /// One stream of windows of `context` tokens, each with `nll` nats over 10 bytes per token.
    fn evaluation(window_nll: Vec<f64>, context: usize) -> StreamEvaluation {
        let windows = window_nll.len();
        let nll_nats: f64 = window_nll.iter().sum();
        StreamEvaluation {
            streams: 1,
            windows_per_stream: windows,
            tokens: windows * context,
            bytes: windows * context * 10,
            nll_nats,
            loss: nll_nats / (windows * context) as f64,
            perplexity: 1.0,
            bits_per_byte: 0.0,
            loss_by_window: window_nll.clone(),
            window_bytes: vec![context * 10; windows],
            window_nll,
            loss_by_position: Vec::new(),
            recall: RecallLoss::default(),
        }
    }

    fn ladder_run(seed: u64, carried: StreamEvaluation) -> LadderRun {
        let summary: RunSummary = serde_json::from_value(serde_json::json!({
            "stage": "recurrent-generator", "run": format!("x-s{seed}"), "git_commit": null, "device": "cpu",
            "seed": seed, "data": "", "parameters": { "total": 1, "trainable": 1 }, "wall_time_s": 1.0,
            "throughput": null, "peak_memory_bytes": null, "final_metrics": {}, "best_metrics": {}, "config": {}
        }))
        .unwrap();
        let gain = GainInterval { gain: 0.0, low: 0.0, high: 0.0, level: 0.95, resamples: 1 };
        let evaluation = WindowLoss { split: EvalSplit::Test, bptt_windows: 2, reset: carried.clone(), carried, gain };
        LadderRun { seed, summary, train_loss: Vec::new(), evaluation }
    }

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

    #[test]
    fn every_rung_is_paired_with_the_control_by_seed_and_the_zero_shot_run_with_every_seed() {
        let control = |seed| ladder_run(seed, evaluation(vec![4.0, 6.0, 4.0, 6.0], 4));
        // Twice the window: one of its windows against two of the control's, 1 nat better each.
        let long = |seed| ladder_run(seed, evaluation(vec![9.0, 9.0], 8));
        let rungs = vec![
            (Rung::ZeroShot, vec![ladder_run(0, evaluation(vec![8.0; 4], 4))]),
            (Rung::None, vec![control(0), control(1)]),
            (Rung::NoneLong, vec![long(0), long(1)]),
            // A trained rung whose seed 1 has not run yet pairs only with the control's seed 0.
            (Rung::SegmentState, vec![control(0)]),
        ];
        let comparisons = control_comparisons(&rungs).unwrap();
        assert_eq!(comparisons.len(), 3);
        assert_eq!((comparisons[2].rung.as_str(), comparisons[2].seeds.as_slice()), ("segment-state", &[0][..]));
        let zero_shot = &comparisons[0];
        assert_eq!((zero_shot.rung.as_str(), zero_shot.seeds.as_slice()), ("zero-shot", &[0, 1][..]));
        let long = &comparisons[1];
        let expected = -2.0 / (160.0 * std::f64::consts::LN_2);
        assert!((long.pooled.gain - expected).abs() < 1e-12, "{:?}", long.pooled);
        assert!(long.per_seed.iter().all(|interval| (interval.gain - expected).abs() < 1e-12));
        let table = control_table(&rungs, &comparisons);
        assert!(table.contains("| none | (control) |"), "{table}");
    }
}
