//! The thesis's answer: the ladder of recurrent-generator runs (`<ladder>-<rung>-s<seed>`) in
//! one table (mean and spread over seeds) and two plots: training loss curves, and the
//! validation loss by window index with the state carried and reset.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use plotters::prelude::*;
use retrofit_core::summary::RunSummary;

/// The rungs, cheapest first: what each adds to the frozen base.
pub const RUNGS: [(&str, &str); 6] = [
    ("zero-shot", "frozen base, nothing trained"),
    ("head-bias", "+ trainable logit bias"),
    ("none", "+ inserted blocks (control)"),
    ("none-wide", "control with feed-forward 7x: about token-gru's parameters"),
    ("token-gru", "+ GRU along the tokens in each block"),
    ("segment-state", "+ state carried between windows"),
];

/// One run of the ladder.
#[derive(Debug, Clone)]
pub struct LadderRun {
    pub seed: u64,
    pub summary: RunSummary,
    /// Training loss of every step, in order.
    pub train_loss: Vec<f64>,
    /// Validation loss by window index: state carried, state reset.
    pub carried: Vec<f64>,
    pub reset: Vec<f64>,
}

/// The runs of `ladder` under `results/recurrent-generator/`, by rung in [`RUNGS`] order.
pub fn read_ladder(results: &Path, ladder: &str) -> anyhow::Result<Vec<(&'static str, Vec<LadderRun>)>> {
    let stage_dir = results.join("recurrent-generator");
    let mut rungs = Vec::new();
    for (rung, _) in RUNGS {
        let prefix = format!("{ladder}-{rung}-s");
        let mut runs = Vec::new();
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(&stage_dir)
            .with_context(|| format!("no runs in {}", stage_dir.display()))?
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| path.file_name().and_then(|name| name.to_str()).is_some_and(|name| name.starts_with(&prefix)))
            .collect();
        dirs.sort();
        for dir in dirs {
            let name = dir.file_name().and_then(|name| name.to_str()).unwrap_or_default().to_string();
            let Ok(seed) = name[prefix.len()..].parse::<u64>() else { continue };
            let summary_file = dir.join(RunSummary::FILE_NAME);
            if !summary_file.is_file() {
                continue; // unfinished
            }
            let summary = RunSummary::read(&summary_file).map_err(|error| anyhow::anyhow!("reading {}: {error}", summary_file.display()))?;
            let window_loss: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("window_loss.json"))?)?;
            let series = |key: &str| -> Vec<f64> {
                window_loss[key]["loss_by_window"].as_array().map(|values| values.iter().filter_map(|v| v.as_f64()).collect()).unwrap_or_default()
            };
            runs.push(LadderRun { seed, train_loss: read_step_losses(&dir), carried: series("carried"), reset: series("reset"), summary });
        }
        if !runs.is_empty() {
            rungs.push((rung, runs));
        }
    }
    anyhow::ensure!(!rungs.is_empty(), "no finished runs named {ladder}-<rung>-s<seed> in {}", stage_dir.display());
    Ok(rungs)
}

/// The Learner's per-step training losses (`train/epoch-N/Loss.log`, one `value,batch` line per step).
fn read_step_losses(run: &Path) -> Vec<f64> {
    let mut losses = Vec::new();
    for epoch in 1.. {
        let Ok(text) = std::fs::read_to_string(run.join(format!("train/epoch-{epoch}/Loss.log"))) else { break };
        losses.extend(text.lines().filter_map(|line| line.split(',').next()?.trim().parse::<f64>().ok()));
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

/// The ladder as a markdown table.
pub fn ladder_table(rungs: &[(&str, Vec<LadderRun>)]) -> String {
    let mut table = String::from(
        "| rung | what it adds | seeds | trainable / total params | valid bits/byte | bits/byte, state reset | valid perplexity | median step | tokens/s | peak memory | wall time |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for (rung, runs) in rungs {
        let what = RUNGS.iter().find(|(name, _)| name == rung).map_or("", |(_, what)| what);
        let metric = |key: &str| -> Vec<f64> { runs.iter().filter_map(|run| run.summary.final_metrics.get(key).copied()).collect() };
        let cell = |key: &str, digits: usize| {
            let values = metric(key);
            if values.is_empty() { "-".to_string() } else { mean_spread(&values, digits) }
        };
        let first = &runs[0].summary;
        let throughput: Vec<f64> = runs.iter().filter_map(|run| run.summary.throughput.as_ref().map(|t| t.value)).collect();
        let memory: Vec<f64> = runs.iter().filter_map(|run| run.summary.peak_memory_bytes.map(|b| b as f64 / (1024.0 * 1024.0))).collect();
        let wall: Vec<f64> = runs.iter().map(|run| run.summary.wall_time_s).collect();
        let step = cell("median_step_s", 3);
        table.push_str(&format!(
            "| {rung} | {what} | {} | {} / {} | {} | {} | {} | {} | {} | {} | {} |\n",
            runs.len(),
            first.parameters.trainable,
            first.parameters.total,
            cell("valid_bits_per_byte", 4),
            cell("valid_bits_per_byte_reset", 4),
            cell("valid_perplexity", 3),
            if step == "-" { step } else { format!("{step} s") },
            if throughput.is_empty() { "-".to_string() } else { mean_spread(&throughput, 0) },
            if memory.is_empty() { "-".to_string() } else { format!("{} MiB", mean_spread(&memory, 0)) },
            format!("{} s", mean_spread(&wall, 0)),
        ));
    }
    table
}

const COLORS: [RGBColor; 6] =
    [RGBColor(120, 120, 120), RGBColor(230, 159, 0), RGBColor(0, 114, 178), RGBColor(86, 180, 233), RGBColor(0, 158, 115), RGBColor(204, 121, 167)];

fn mean_series(series: &[&Vec<f64>]) -> Vec<f64> {
    let length = series.iter().map(|s| s.len()).min().unwrap_or(0);
    (0..length).map(|i| series.iter().map(|s| s[i]).sum::<f64>() / series.len() as f64).collect()
}

/// Draws `lines` (label, color index, dashed, points) into an SVG file.
fn line_plot(path: &Path, title: &str, x_label: &str, y_label: &str, lines: &[(String, usize, bool, Vec<(f64, f64)>)]) -> anyhow::Result<()> {
    let points = lines.iter().flat_map(|(_, _, _, points)| points.iter());
    let (mut x_max, mut y_min, mut y_max) = (1.0f64, f64::INFINITY, f64::NEG_INFINITY);
    for &(x, y) in points {
        x_max = x_max.max(x);
        y_min = y_min.min(y);
        y_max = y_max.max(y);
    }
    anyhow::ensure!(y_min.is_finite(), "nothing to plot for {title}");
    let margin = ((y_max - y_min) * 0.05).max(1e-3);
    let root = SVGBackend::new(path, (800, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..x_max, (y_min - margin)..(y_max + margin))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    chart.configure_mesh().x_desc(x_label).y_desc(y_label).draw().map_err(|e| anyhow::anyhow!("{e}"))?;
    for (label, color, dashed, points) in lines {
        let color = COLORS[*color % COLORS.len()];
        let style = ShapeStyle::from(color).stroke_width(2);
        if *dashed {
            chart
                .draw_series(DashedLineSeries::new(points.iter().copied(), 6, 4, style))
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .label(label.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
        } else {
            chart
                .draw_series(LineSeries::new(points.iter().copied(), style))
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .label(label.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
        }
    }
    chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw().map_err(|e| anyhow::anyhow!("{e}"))?;
    root.present().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(())
}

/// Writes `loss_curves.svg` (training loss per step, smoothed over 10 steps, mean over seeds)
/// and `window_loss.svg` (validation loss by window index, state carried; reset dashed) into
/// `dir`. Returns the files written.
pub fn write_plots(rungs: &[(&str, Vec<LadderRun>)], dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut curves = Vec::new();
    let mut windows = Vec::new();
    for (index, (rung, runs)) in rungs.iter().enumerate() {
        let color = RUNGS.iter().position(|(name, _)| name == rung).unwrap_or(index);
        let train = mean_series(&runs.iter().map(|run| &run.train_loss).collect::<Vec<_>>());
        if !train.is_empty() {
            let smoothed: Vec<(f64, f64)> = (0..train.len())
                .map(|i| {
                    let from = i.saturating_sub(9);
                    ((i + 1) as f64, train[from..=i].iter().sum::<f64>() / (i + 1 - from) as f64)
                })
                .collect();
            curves.push((rung.to_string(), color, false, smoothed));
        }
        let carried = mean_series(&runs.iter().map(|run| &run.carried).collect::<Vec<_>>());
        windows.push((format!("{rung} (state carried)"), color, false, carried.iter().enumerate().map(|(i, &v)| (i as f64, v)).collect()));
        if *rung == "segment-state" {
            let reset = mean_series(&runs.iter().map(|run| &run.reset).collect::<Vec<_>>());
            windows.push((format!("{rung} (state reset)"), color, true, reset.iter().enumerate().map(|(i, &v)| (i as f64, v)).collect()));
        }
    }
    let mut written = Vec::new();
    if !curves.is_empty() {
        let path = dir.join("loss_curves.svg");
        line_plot(&path, "Training loss (mean of 10 steps)", "step", "loss (nats/token)", &curves)?;
        written.push(path);
    }
    let path = dir.join("window_loss.svg");
    line_plot(&path, "Validation loss by window index", "window index along the text", "loss (nats/token)", &windows)?;
    written.push(path);
    Ok(written)
}

/// Summaries of every rung, keyed by rung (for the README's paragraph).
pub fn rung_means(rungs: &[(&str, Vec<LadderRun>)], key: &str) -> BTreeMap<String, f64> {
    rungs
        .iter()
        .filter_map(|(rung, runs)| {
            let values: Vec<f64> = runs.iter().filter_map(|run| run.summary.final_metrics.get(key).copied()).collect();
            (!values.is_empty()).then(|| (rung.to_string(), values.iter().sum::<f64>() / values.len() as f64))
        })
        .collect()
}
