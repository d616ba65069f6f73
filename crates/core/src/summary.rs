//! `summary.json`: what every run reports, the row of the comparison table.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};

/// Parameter counts of a run's model.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct ParameterCounts {
    pub total: u64,
    pub trainable: u64,
}

/// Work done per second, with its unit (`tokens/s`, `examples/s`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Throughput {
    pub value: f64,
    pub unit: String,
}

/// The summary of one finished run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunSummary {
    pub stage: String,
    pub run: String,
    /// `git rev-parse --short HEAD`, with `-dirty` when the work tree had changes.
    pub git_commit: Option<String>,
    pub device: String,
    pub seed: u64,
    /// What the run read, e.g. `data/alice29.txt (gpt2 BPE)`.
    pub data: String,
    pub parameters: ParameterCounts,
    pub wall_time_s: f64,
    pub throughput: Option<Throughput>,
    pub peak_memory_bytes: Option<u64>,
    /// Metric values at the end of the run.
    pub final_metrics: BTreeMap<String, f64>,
    /// Best value of each metric over the run (lowest loss, highest accuracy, ...).
    pub best_metrics: BTreeMap<String, f64>,
    /// The resolved config.
    pub config: serde_json::Value,
}

impl RunSummary {
    pub const FILE_NAME: &'static str = "summary.json";

    /// The summary of `run_dir`'s run as it ends: stage, run, git commit, device, seed, peak
    /// memory so far and config filled in; the caller sets what the run measured (data,
    /// parameters, wall time, throughput, metrics) with struct-update syntax.
    pub fn finish(run_dir: &crate::run_dir::RunDir, device: &str, seed: u64, config: &impl Serialize) -> Result<Self, crate::CoreError> {
        Ok(Self {
            stage: run_dir.stage().to_string(),
            run: run_dir.name().to_string(),
            git_commit: git_commit(),
            device: device.to_string(),
            seed,
            data: String::new(),
            parameters: ParameterCounts::default(),
            wall_time_s: 0.0,
            throughput: None,
            peak_memory_bytes: crate::memory::peak_host_memory_bytes(),
            final_metrics: BTreeMap::new(),
            best_metrics: BTreeMap::new(),
            config: serde_json::to_value(config)
                .map_err(|error| crate::CoreError::Serialize { what: "config".into(), message: error.to_string() })?,
        })
    }

    /// Reads a `summary.json`.
    pub fn read(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|error| error.to_string())?;
        serde_json::from_str(&text).map_err(|error| error.to_string())
    }
}

/// Measures a run's wall time from its creation.
#[derive(Debug, Clone, Copy)]
pub struct RunClock(Instant);

impl RunClock {
    pub fn start() -> Self {
        Self(Instant::now())
    }

    pub fn elapsed_s(&self) -> f64 {
        self.0.elapsed().as_secs_f64()
    }
}

impl Default for RunClock {
    fn default() -> Self {
        Self::start()
    }
}

/// The commit the binary runs from, read from git in the current directory.
pub fn git_commit() -> Option<String> {
    let output = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .stderr(std::process::Stdio::null())
            .output()
            .ok()
            .filter(|out| out.status.success())
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let commit = output(&["rev-parse", "--short=12", "HEAD"])?;
    let dirty = output(&["status", "--porcelain", "--untracked-files=no"])
        .is_some_and(|status| !status.is_empty());
    Some(if dirty { format!("{commit}-dirty") } else { commit })
}
