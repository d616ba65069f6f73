//! What each rung of a ladder costs, measured back to back on one machine (`thesis cost`): the
//! ladder's own runs span sessions and machines, and their wall times include every pause, so
//! their step times and memory compare rungs only loosely; this table compares them on one
//! machine, one after the other, each rung in a process of its own.

use std::path::{Path, PathBuf};

use anyhow::Context;
use retrofit_runtime::summary::RunSummary;
use serde::{Deserialize, Serialize};

use crate::bench::median;
use crate::thesis::Rung;

/// One rung's cost, from a short training run of its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RungCost {
    /// The rung's name (`Rung::name`).
    pub rung: String,
    pub trainable_parameters: u64,
    pub total_parameters: u64,
    /// Median over the passes of each pass's median training step (forward, backward,
    /// optimizer); `None` for a rung that trains nothing.
    pub median_step_s: Option<f64>,
    /// Each pass's median step, in the order the passes ran.
    pub median_step_s_by_pass: Vec<f64>,
    /// Peak resident host memory of the rung's process (training and a minimal evaluation), the
    /// largest over the passes.
    pub peak_memory_bytes: Option<u64>,
    /// On CUDA: peak GPU memory of the rung's process, the largest over the passes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_gpu_memory_bytes: Option<u64>,
}

impl RungCost {
    /// The cost of `rung` from the summaries of its runs, one a pass (finished ones only).
    pub fn from_passes(rung: Rung, passes: &[RunSummary]) -> Option<Self> {
        let finished: Vec<&RunSummary> = passes.iter().filter(|summary| summary.is_finished()).collect();
        let first = finished.first()?;
        let steps: Vec<f64> =
            finished.iter().filter_map(|summary| summary.final_metrics.get("median_step_s")).collect();
        Some(Self {
            rung: rung.name().to_string(),
            trainable_parameters: first.parameters.trainable,
            total_parameters: first.parameters.total,
            median_step_s: (!steps.is_empty()).then(|| median(&steps)),
            median_step_s_by_pass: steps,
            peak_memory_bytes: finished.iter().filter_map(|summary| summary.peak_memory_bytes).max(),
            peak_gpu_memory_bytes: finished.iter().filter_map(|summary| summary.peak_gpu_memory_bytes).max(),
        })
    }
}

/// Every rung's cost, measured back to back: `results/thesis/<ladder>/cost.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LadderCost {
    /// CPU model and vector flags, cores, memory (and the device the runs chose).
    pub machine: String,
    pub device: String,
    pub threads: Option<usize>,
    pub git_commit: Option<String>,
    /// Training steps each rung ran a pass.
    pub steps: usize,
    /// Passes over the rungs (each pass runs every rung once, in order): the median step is the
    /// median over them, so that a slow spell of the machine does not land on one rung only.
    pub passes: usize,
    /// The command line, to measure again.
    pub command: String,
    pub rungs: Vec<RungCost>,
}

impl LadderCost {
    pub const FILE_NAME: &'static str = "cost.json";

    pub fn file(results: &Path, ladder: &str) -> PathBuf {
        results.join("thesis").join(ladder).join(Self::FILE_NAME)
    }

    /// The ladder's measured cost, `None` when it was never measured.
    pub fn read(results: &Path, ladder: &str) -> anyhow::Result<Option<Self>> {
        let file = Self::file(results, ladder);
        if !file.is_file() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
        let cost = serde_json::from_str(&text).with_context(|| format!("{} is not a ladder's cost", file.display()))?;
        Ok(Some(cost))
    }

    pub fn write(&self, results: &Path, ladder: &str) -> anyhow::Result<PathBuf> {
        let file = Self::file(results, ladder);
        std::fs::create_dir_all(file.parent().expect("a file in a directory"))?;
        std::fs::write(&file, serde_json::to_string_pretty(self)? + "\n")?;
        Ok(file)
    }

    /// The median step of `rung` relative to the control's, where both were measured.
    pub fn relative_step(&self, rung: &str) -> Option<f64> {
        let step = |name: &str| self.rungs.iter().find(|cost| cost.rung == name).and_then(|cost| cost.median_step_s);
        match (step(rung), step(Rung::None.name())) {
            (Some(step), Some(control)) if control > 0.0 => Some(step / control),
            _ => None,
        }
    }

    /// The markdown section: what was measured where, then one row a rung, with each rung's
    /// step time and memory relative to the control (`none`) where it was measured.
    pub fn section(&self) -> String {
        let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
        let control = self.rungs.iter().find(|cost| cost.rung == Rung::None.name());
        let relative = |value: Option<f64>, base: Option<f64>| match (value, base) {
            (Some(value), Some(base)) if base > 0.0 => format!(" ({:.2}x)", value / base),
            _ => String::new(),
        };
        let mut section = format!(
            "## What each rung costs, measured back to back\n\n\
             Each rung trained {} steps in a process of its own, one after the other, in {} passes over the rungs, on {} ({}, {} threads, commit {}): \
             `{}`. The median step is the median of the passes' medians (each pass's in the next column), the peak memory the largest; relative to the control (`none`) in brackets.\n\n\
             | rung | trainable / total params | median step | by pass | peak memory |\n|---|---:|---:|---|---:|\n",
            self.steps,
            self.passes,
            self.machine,
            self.device,
            self.threads.map_or("?".to_string(), |threads| threads.to_string()),
            self.git_commit.as_deref().unwrap_or("?"),
            self.command,
        );
        for cost in &self.rungs {
            let step = cost.median_step_s.map_or("-".to_string(), |step| {
                format!("{step:.3} s{}", relative(Some(step), control.and_then(|control| control.median_step_s)))
            });
            let memory = cost.peak_memory_bytes.map_or("-".to_string(), |bytes| {
                let base = control.and_then(|control| control.peak_memory_bytes).map(mib);
                format!("{:.0} MiB{}", mib(bytes), relative(Some(mib(bytes)), base))
            });
            let memory = match cost.peak_gpu_memory_bytes {
                Some(gpu) => format!("{memory}, GPU {:.0} MiB", mib(gpu)),
                None => memory,
            };
            let by_pass =
                cost.median_step_s_by_pass.iter().map(|step| format!("{step:.3}")).collect::<Vec<_>>().join(" ");
            section.push_str(&format!(
                "| {} | {} / {} | {step} | {} | {memory} |\n",
                cost.rung,
                cost.trainable_parameters,
                cost.total_parameters,
                if by_pass.is_empty() { "-".to_string() } else { by_pass }
            ));
        }
        section
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cost(rung: &str, step: Option<f64>, memory: Option<u64>) -> RungCost {
        RungCost {
            rung: rung.to_string(),
            trainable_parameters: 10,
            total_parameters: 100,
            median_step_s: step,
            median_step_s_by_pass: step.map(|step| vec![step, step + 0.5]).unwrap_or_default(),
            peak_memory_bytes: memory,
            peak_gpu_memory_bytes: None,
        }
    }

    #[test]
    fn the_section_says_each_rung_relative_to_the_control_and_survives_a_round_trip() {
        let ladder = LadderCost {
            machine: "AMD EPYC (avx2), 2 cores, 24 GiB".to_string(),
            device: "cpu".to_string(),
            threads: Some(2),
            git_commit: Some("abc1234".to_string()),
            steps: 20,
            passes: 2,
            command: "thesis cost --ladder x".to_string(),
            rungs: vec![
                cost("zero-shot", None, Some(512 << 20)),
                cost("none", Some(2.0), Some(1024 << 20)),
                cost("memory", Some(3.0), Some(1536 << 20)),
            ],
        };
        let section = ladder.section();
        assert!(section.contains("AMD EPYC (avx2), 2 cores, 24 GiB (cpu, 2 threads, commit abc1234)"), "{section}");
        assert!(section.contains("| zero-shot | 10 / 100 | - | - | 512 MiB (0.50x) |"), "{section}");
        assert!(
            section.contains("| none | 10 / 100 | 2.000 s (1.00x) | 2.000 2.500 | 1024 MiB (1.00x) |"),
            "{section}"
        );
        assert!(
            section.contains("| memory | 10 / 100 | 3.000 s (1.50x) | 3.000 3.500 | 1536 MiB (1.50x) |"),
            "{section}"
        );

        let results = tempfile::tempdir().unwrap();
        assert_eq!(LadderCost::read(results.path(), "x").unwrap(), None);
        ladder.write(results.path(), "x").unwrap();
        assert_eq!(LadderCost::read(results.path(), "x").unwrap(), Some(ladder));
    }
}
