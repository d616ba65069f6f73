//! `summary.json`: what every run reports, the row of the comparison table.

use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::RuntimeError;
use crate::metric::MetricSet;
use crate::run_dir::RunDir;

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

/// How a run ended.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum RunStatus {
    /// Ran to its end: the metrics are results.
    #[default]
    Finished,
    /// Stopped by an error (e.g. a diverging loss): the metrics are not results.
    Failed { reason: String },
}

/// The summary of one run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunSummary {
    pub stage: String,
    pub run: String,
    /// Summaries written before this field existed are of finished runs.
    #[serde(default)]
    pub status: RunStatus,
    /// `git rev-parse --short HEAD`, with `-dirty` when the work tree had changes.
    pub git_commit: Option<String>,
    pub device: String,
    /// libtorch's version (e.g. `2.9.0+cu128`), where known.
    #[serde(default)]
    pub libtorch: Option<String>,
    /// libtorch's intra-op CPU threads.
    #[serde(default)]
    pub threads: Option<usize>,
    pub seed: u64,
    /// What the run read, e.g. `data/alice29.txt (gpt2 BPE)`.
    pub data: String,
    pub parameters: ParameterCounts,
    /// Seconds the run took, over its legs: a run killed and resumed adds the training time its
    /// earlier legs spent on the epochs it kept (`earlier_legs_s`) to this leg's.
    pub wall_time_s: f64,
    /// Of `wall_time_s`, the earlier legs' (absent: the run ran in one process, or was resumed
    /// before this was recorded).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub earlier_legs_s: f64,
    pub throughput: Option<Throughput>,
    /// Peak resident host memory.
    pub peak_memory_bytes: Option<u64>,
    /// On CUDA: the peak GPU memory the driver saw the process hold, over all its GPUs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_gpu_memory_bytes: Option<u64>,
    /// Stage 6: the format its frozen base computed in (`float32` or `bfloat16`; `auto` resolved).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_precision: Option<String>,
    /// Trained runs: the epochs trained (the stopping rule or the configured epochs ended them)
    /// and the epoch whose model the run reports (the lowest validation loss).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epochs_trained: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selected_epoch: Option<usize>,
    /// The metrics of the model the run reports: its selected epoch's training and validation
    /// values, and what the stage measured of that model after training (test figures).
    pub final_metrics: MetricSet,
    /// Best value of each metric over the run, by its direction (lowest loss, highest accuracy).
    pub best_metrics: MetricSet,
    /// The resolved config.
    pub config: serde_json::Value,
}

fn is_zero(seconds: &f64) -> bool {
    *seconds == 0.0
}

impl RunSummary {
    pub const FILE_NAME: &'static str = "summary.json";

    /// The summary of `run_dir`'s run as it ends: stage, run, git commit, device, seed, peak
    /// memory so far and config filled in; the caller sets what the run measured (data,
    /// parameters, wall time, throughput, metrics) with struct-update syntax.
    pub fn finish(run_dir: &RunDir, device: &str, seed: u64, config: &impl Serialize) -> Result<Self, RuntimeError> {
        Ok(Self {
            stage: run_dir.stage().to_string(),
            run: run_dir.name().to_string(),
            status: RunStatus::Finished,
            git_commit: git_commit(),
            device: device.to_string(),
            libtorch: libtorch_version(),
            threads: Some(tch::get_num_threads().max(0) as usize),
            seed,
            data: String::new(),
            parameters: ParameterCounts::default(),
            wall_time_s: 0.0,
            earlier_legs_s: 0.0,
            throughput: None,
            peak_memory_bytes: crate::memory::peak_host_memory_bytes(),
            peak_gpu_memory_bytes: crate::gpu_memory::peak_gpu_memory_bytes(),
            base_precision: None,
            epochs_trained: None,
            selected_epoch: None,
            final_metrics: MetricSet::new(),
            best_metrics: MetricSet::new(),
            config: serde_json::to_value(config)
                .map_err(|error| RuntimeError::Serialize { what: "config".into(), message: error.to_string() })?,
        })
    }

    /// The summary of a run that `reason` stopped: what is known without the stage's results.
    pub fn failed(
        run_dir: &RunDir,
        device: &str,
        config: &impl Serialize,
        reason: String,
    ) -> Result<Self, RuntimeError> {
        let config = serde_json::to_value(config)
            .map_err(|error| RuntimeError::Serialize { what: "config".into(), message: error.to_string() })?;
        let seed =
            ["/training/seed", "/seed"].iter().find_map(|pointer| config.pointer(pointer)?.as_u64()).unwrap_or(0);
        Ok(Self { status: RunStatus::Failed { reason }, ..Self::finish(run_dir, device, seed, &config)? })
    }

    /// Whether the run ran to its end.
    pub fn is_finished(&self) -> bool {
        self.status == RunStatus::Finished
    }

    /// Reads a `summary.json`.
    pub fn read(path: &Path) -> Result<Self, RuntimeError> {
        let text =
            std::fs::read_to_string(path).map_err(|cause| RuntimeError::Read { path: path.to_path_buf(), cause })?;
        serde_json::from_str(&text).map_err(|cause| RuntimeError::SummaryFormat { path: path.to_path_buf(), cause })
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
    let dirty = output(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|status| !status.is_empty());
    Some(if dirty { format!("{commit}-dirty") } else { commit })
}

/// The version of the libtorch the binaries run with: `torch/version.py` beside the `lib/`
/// directory they were linked against (a pip-installed PyTorch), where present.
pub fn libtorch_version() -> Option<String> {
    let lib = std::path::Path::new(option_env!("RETROFIT_LIBTORCH_LIB")?);
    let text = std::fs::read_to_string(lib.parent()?.join("version.py")).ok()?;
    let line = text.lines().find(|line| line.starts_with("__version__"))?;
    Some(line.split(['\'', '"']).nth(1)?.to_string())
}
