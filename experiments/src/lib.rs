//! What every stage binary shares: the command line, one-line error reporting, and the life of a
//! run directory.

use std::path::PathBuf;
use std::process::ExitCode;

use retrofit_core::config::load_config;
use retrofit_core::device::{DeviceChoice, ResolvedDevice};
use retrofit_core::summary::RunSummary;
use retrofit_core::run_dir::{RunDir, timestamp_run_name};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub mod bench;
pub mod compare;
pub mod thesis;

/// Options of every stage binary.
#[derive(Debug, Clone, clap::Args)]
pub struct StageArgs {
    /// TOML config; without it the stage runs on its embedded defaults.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Override one config key, e.g. `--set source.path=data/kjv.txt` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    /// Name of the run directory (default: the UTC time, e.g. 20261127T184012.345Z).
    #[arg(long)]
    pub run_name: Option<String>,
    /// Where run directories go: RESULTS/<stage>/<run-name>/.
    #[arg(long, default_value = "results", value_name = "DIR")]
    pub results: PathBuf,
}

impl StageArgs {
    /// Reads the config and creates the run directory, writing the resolved config first.
    pub fn start_run<T: DeserializeOwned + Serialize + Default>(&self, stage: &str) -> anyhow::Result<(T, RunDir)> {
        let config: T = load_config(self.config.as_deref(), &self.overrides)?;
        let name = self.run_name.clone().unwrap_or_else(timestamp_run_name);
        let run_dir = RunDir::create(&self.results, stage, &name)?;
        run_dir.write_config(&config)?;
        Ok((config, run_dir))
    }
}

/// Options of every training stage: the common ones and the device.
#[derive(Debug, Clone, clap::Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub stage: StageArgs,
    /// auto (CUDA 0 when libtorch sees a GPU, else CPU), cpu, or cuda:N.
    #[arg(long, default_value = "auto")]
    pub device: DeviceChoice,
}

impl TrainArgs {
    /// Reads the config, picks the device, creates the run directory, runs `body`, writes the
    /// summary it returns and prints the run's line of the comparison table.
    pub fn run_stage<T, F>(&self, stage: &str, body: F) -> anyhow::Result<RunSummary>
    where
        T: DeserializeOwned + Serialize + Default,
        F: FnOnce(&T, &RunDir, &ResolvedDevice) -> Result<RunSummary, retrofit_core::CoreError>,
    {
        let device = self.device.resolve()?;
        let (config, run_dir) = self.stage.start_run::<T>(stage)?;
        let summary = body(&config, &run_dir, &device).inspect_err(|_| discard_if_empty(&run_dir))?;
        run_dir.write_summary(&summary)?;
        print!("{}", compare::markdown_table(std::slice::from_ref(&summary)));
        println!("run: {}", run_dir.path().display());
        Ok(summary)
    }
}

/// Runs a binary's body: logging set up once, any error printed as one line on stderr and a
/// non-zero exit status.
pub fn run_main(body: impl FnOnce() -> anyhow::Result<()>) -> ExitCode {
    retrofit_core::telemetry::init_tracing();
    match body() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Removes a run directory that failed before producing anything but its config, so that the
/// same run name can be used again once the input is fixed.
pub fn discard_if_empty(run_dir: &RunDir) {
    let only_config = std::fs::read_dir(run_dir.path())
        .map(|entries| entries.filter_map(Result::ok).all(|entry| entry.file_name() == "config.toml"))
        .unwrap_or(false);
    if only_config {
        let _ = std::fs::remove_dir_all(run_dir.path());
    }
}

/// A spinner on stderr for phases that may take over a second (hidden when stderr is not a
/// terminal).
pub fn spinner() -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new_spinner();
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}
