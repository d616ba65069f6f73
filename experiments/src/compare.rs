//! The comparison across stages: every `results/<stage>/<run>/summary.json` in one markdown table.

use std::path::{Path, PathBuf};

use retrofit_runtime::summary::{RunStatus, RunSummary};

/// The stages in the thesis's order; others sort after them by name.
const STAGE_ORDER: [&str; 5] =
    ["data", "attention-classifier", "transformer-classifier", "generator", "recurrent-generator"];

/// Metrics shown first when a summary has them (the rest follow by name), at most [`MAX_METRICS`].
const KEY_METRICS: [&str; 7] = [
    "valid_accuracy",
    "test_bits_per_byte",
    "valid_bits_per_byte",
    "valid_perplexity",
    "valid_loss",
    "vocab_size",
    "train_tokens",
];
const MAX_METRICS: usize = 4;

/// Reads every summary under `results_root`, sorted by stage then run. Unreadable summaries are
/// reported and skipped.
pub fn read_summaries(results_root: &Path) -> Vec<RunSummary> {
    let mut files: Vec<PathBuf> = Vec::new();
    for stage in sorted_dirs(results_root) {
        for run in sorted_dirs(&stage) {
            let file = run.join(RunSummary::FILE_NAME);
            if file.is_file() {
                files.push(file);
            }
        }
    }
    let mut summaries: Vec<RunSummary> = files
        .iter()
        .filter_map(|file| {
            RunSummary::read(file)
                .inspect_err(|error| tracing::warn!(file = %file.display(), %error, "skipping unreadable summary"))
                .ok()
        })
        .collect();
    let rank = |stage: &str| STAGE_ORDER.iter().position(|&known| known == stage).unwrap_or(STAGE_ORDER.len());
    summaries.sort_by(|a, b| (rank(&a.stage), &a.stage, &a.run).cmp(&(rank(&b.stage), &b.stage, &b.run)));
    summaries
}

fn sorted_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// One markdown table, a row per run.
pub fn markdown_table(summaries: &[RunSummary]) -> String {
    let mut table = String::from(
        "| stage | run | data | device | params trainable / total | wall time | throughput | peak memory | metrics |\n\
         |---|---|---|---|---:|---:|---:|---:|---|\n",
    );
    for summary in summaries {
        let throughput = summary
            .throughput
            .as_ref()
            .map_or_else(|| "-".to_string(), |t| format!("{} {}", significant(t.value), t.unit));
        let mut memory = summary
            .peak_memory_bytes
            .map_or_else(|| "-".to_string(), |bytes| format!("{:.0} MiB", bytes as f64 / (1024.0 * 1024.0)));
        if let Some(bytes) = summary.peak_gpu_memory_bytes {
            memory.push_str(&format!(", GPU {:.0} MiB", bytes as f64 / (1024.0 * 1024.0)));
        }
        table.push_str(&format!(
            "| {} | {} | {} | {} | {} / {} | {:.1} s | {} | {} | {} |\n",
            summary.stage,
            summary.run,
            summary.data.replace('|', "/"),
            summary.device,
            summary.parameters.trainable,
            summary.parameters.total,
            summary.wall_time_s,
            throughput,
            memory,
            metrics_cell(summary),
        ));
    }
    table
}

fn metrics_cell(summary: &RunSummary) -> String {
    if let RunStatus::Failed { reason } = &summary.status {
        return format!("FAILED: {}", reason.replace('|', "/"));
    }
    let mut names: Vec<&String> = summary.final_metrics.names().collect();
    let key_rank = |name: &str| KEY_METRICS.iter().position(|&key| key == name).unwrap_or(KEY_METRICS.len());
    names.sort_by_key(|name| (key_rank(name), name.as_str()));
    names
        .into_iter()
        .take(MAX_METRICS)
        .filter_map(|name| summary.final_metrics.get(name).map(|value| format!("{name} {}", significant(value))))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A number with about four significant digits, integers as integers.
fn significant(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else if value.abs() >= 100.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.4}")
    }
}

/// Links to the training curves of every run that has them (`curve-*.svg` beside its summary),
/// relative to `results_root`, as a markdown list.
pub fn curve_links(results_root: &Path, summaries: &[RunSummary]) -> String {
    let mut list = String::new();
    for summary in summaries {
        let dir = Path::new(&summary.stage).join(&summary.run);
        let Ok(entries) = std::fs::read_dir(results_root.join(&dir)) else { continue };
        let mut plots: Vec<String> = entries
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .filter(|name| name.starts_with("curve-") && name.ends_with(".svg"))
            .collect();
        plots.sort();
        if plots.is_empty() {
            continue;
        }
        let links: Vec<String> = plots
            .iter()
            .map(|plot| format!("[{}]({}/{plot})", &plot["curve-".len()..plot.len() - 4], dir.display()))
            .collect();
        list.push_str(&format!("- {} / {}: {}\n", summary.stage, summary.run, links.join(", ")));
    }
    list
}

/// The `results/README.md` text around the table and the curve links.
pub fn results_readme(table: &str, curves: &str) -> String {
    let curves = if curves.is_empty() { String::new() } else { format!("\n## Training curves\n\n{curves}") };
    format!(
        "# Results\n\nWritten by `just compare` from every `results/<stage>/<run>/summary.json`; \
         each run directory also holds its resolved `config.toml`.\n\n{table}{curves}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use retrofit_runtime::run_dir::RunDir;
    use retrofit_runtime::summary::{ParameterCounts, Throughput};

    fn summary(stage: &str, run: &str) -> RunSummary {
        RunSummary {
            stage: stage.into(),
            run: run.into(),
            status: RunStatus::Finished,
            libtorch: None,
            threads: None,
            git_commit: None,
            device: "cpu".into(),
            seed: 0,
            data: "text data/alice29.txt (gpt2-bpe)".into(),
            parameters: ParameterCounts { total: 10, trainable: 4 },
            wall_time_s: 1.25,
            earlier_legs_s: 0.0,
            throughput: Some(Throughput { value: 1234.5678, unit: "tokens/s".into() }),
            peak_memory_bytes: Some(64 << 20),
            peak_gpu_memory_bytes: None,
            base_precision: None,
            epochs_trained: None,
            selected_epoch: None,
            final_metrics: {
                let mut metrics = retrofit_runtime::MetricSet::new();
                metrics.insert("train_tokens", retrofit_runtime::Quantity::Count, 100.0);
                metrics.insert("valid_loss", retrofit_runtime::Quantity::Loss, 2.5);
                metrics
            },
            best_metrics: Default::default(),
            config: serde_json::json!({}),
        }
    }

    #[test]
    fn table_lists_runs_in_stage_order_and_skips_broken_summaries() {
        let root = tempfile::tempdir().unwrap();
        for (stage, run) in [("generator", "g1"), ("data", "d2"), ("data", "d1")] {
            let dir = RunDir::create(root.path(), stage, run).unwrap();
            dir.write_summary(&summary(stage, run)).unwrap();
        }
        let broken = RunDir::create(root.path(), "data", "broken").unwrap();
        std::fs::write(broken.path().join("summary.json"), "{").unwrap();

        let summaries = read_summaries(root.path());
        let order: Vec<(&str, &str)> = summaries.iter().map(|s| (s.stage.as_str(), s.run.as_str())).collect();
        assert_eq!(order, [("data", "d1"), ("data", "d2"), ("generator", "g1")]);

        let table = markdown_table(&summaries);
        assert_eq!(table.lines().count(), 2 + 3);
        let row = table.lines().nth(2).unwrap();
        assert!(
            row.starts_with(
                "| data | d1 | text data/alice29.txt (gpt2-bpe) | cpu | 4 / 10 | 1.2 s | 1234.6 tokens/s | 64 MiB |"
            ),
            "{row}"
        );
        assert!(row.contains("valid_loss 2.5000, train_tokens 100"), "{row}");
    }

    #[test]
    fn gpu_memory_is_shown_beside_host_memory_where_measured() {
        let gpu = RunSummary {
            device: "cuda:0".into(),
            peak_gpu_memory_bytes: Some(3 << 30),
            ..summary("generator", "on-gpu")
        };
        let table = markdown_table(&[gpu, summary("generator", "on-cpu")]);
        assert!(table.contains("| cuda:0 | 4 / 10 | 1.2 s | 1234.6 tokens/s | 64 MiB, GPU 3072 MiB |"), "{table}");
        assert!(table.contains("| cpu | 4 / 10 | 1.2 s | 1234.6 tokens/s | 64 MiB |"), "{table}");
        // Summaries without the field (CPU runs, older runs) read as before.
        let json = serde_json::to_string(&summary("generator", "old")).unwrap();
        assert!(!json.contains("peak_gpu_memory_bytes"), "{json}");
        let read: RunSummary = serde_json::from_str(&json).unwrap();
        assert_eq!(read.peak_gpu_memory_bytes, None);
    }
}
