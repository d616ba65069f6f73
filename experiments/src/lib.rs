//! What every stage binary shares: the command line, one-line error reporting, and the life of a
//! run directory.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use retrofit_core::generation::StopReason;

use retrofit_runtime::config::load_config;
use retrofit_runtime::device::{DeviceChoice, ResolvedDevice};
use retrofit_runtime::run_dir::{RunDir, timestamp_run_name};
use retrofit_runtime::summary::RunSummary;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub mod bench;
pub mod bench_race;
pub mod compare;
pub mod figure;
pub mod rung_cost;
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
        self.start_run_with(stage, config)
    }

    /// Creates the run directory for `config` (already resolved), writing it first.
    pub fn start_run_with<T: Serialize>(&self, stage: &str, config: T) -> anyhow::Result<(T, RunDir)> {
        let name = self.run_name.clone().unwrap_or_else(timestamp_run_name);
        let run_dir = RunDir::create(&self.results, stage, &name)?;
        let written = run_dir.write_config(&config)?;
        // The config as the run started, for `--resume` (config.toml may be edited meanwhile).
        let started = run_dir.path().join(STARTED_CONFIG);
        std::fs::create_dir_all(started.parent().unwrap_or(run_dir.path()))
            .and_then(|()| std::fs::copy(&written, &started))
            .with_context(|| format!("cannot write {}", started.display()))?;
        Ok((config, run_dir))
    }
}

/// How to choose each new token, for the binaries that generate (greedy by default).
#[derive(Debug, Clone, clap::Args)]
pub struct SamplingArgs {
    /// 0 is greedy (the most likely token).
    #[arg(long, default_value_t = 0.0)]
    pub temperature: f64,
    /// Keep the k most likely tokens (0: all).
    #[arg(long, default_value_t = 0)]
    pub top_k: usize,
    /// Keep the most likely tokens up to this probability (1: all).
    #[arg(long, default_value_t = 1.0)]
    pub top_p: f64,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

impl SamplingArgs {
    pub fn config(&self) -> retrofit_core::generation::SamplingConfig {
        retrofit_core::generation::SamplingConfig {
            temperature: self.temperature,
            top_k: self.top_k,
            top_p: self.top_p,
            seed: self.seed,
        }
    }
}

/// Where generation stops, for the binaries that generate.
#[derive(Debug, Clone, clap::Args)]
pub struct EndOfSequenceArgs {
    /// Go on past the model's end-of-sequence id (generation_config.json, else config.json) up to
    /// --tokens; without it a sequence ends at the first.
    #[arg(long)]
    pub ignore_eos: bool,
}

impl EndOfSequenceArgs {
    /// The ids to stop at: the model's end-of-sequence ids, none with --ignore-eos.
    pub fn stop_ids(&self, model_ids: &[u32]) -> Vec<u32> {
        if self.ignore_eos { Vec::new() } else { model_ids.to_vec() }
    }

    /// The continuation of `prompt` by `new_tokens` (generated with [`Self::stop_ids`] of
    /// `model_ids` and at most `budget` tokens): its text, without the end-of-sequence token
    /// that ended it, and one line that says why it stopped.
    pub fn continuation(
        &self,
        prompt: &str,
        new_tokens: &[u32],
        model_ids: &[u32],
        budget: usize,
        tokenizer: &retrofit_data::tokenizer::TextTokenizer,
    ) -> anyhow::Result<Continuation> {
        let stop = StopReason::of(new_tokens, &self.stop_ids(model_ids));
        let text = format!("{prompt}{}", tokenizer.decode(stop.text_tokens(new_tokens))?);
        let stopped = match stop {
            StopReason::EndOfSequence(id) => {
                format!("stopped at the end of sequence {:?} (id {id})", tokenizer.decode(&[id])?)
            }
            StopReason::TokenBudget if model_ids.is_empty() => {
                format!("stopped at the token budget (--tokens {budget}); the model names no end-of-sequence id")
            }
            StopReason::TokenBudget if self.ignore_eos => {
                format!("stopped at the token budget (--tokens {budget}; --ignore-eos)")
            }
            StopReason::TokenBudget => {
                format!("stopped at the token budget (--tokens {budget}) before an end of sequence")
            }
        };
        Ok(Continuation { text, new_tokens: new_tokens.len(), stop, stopped })
    }
}

/// A prompt continued, as a generating binary reports it.
#[derive(Debug, Clone)]
pub struct Continuation {
    /// The prompt and the generated text (without the end-of-sequence token that ended it).
    pub text: String,
    /// Tokens generated, the end-of-sequence token included.
    pub new_tokens: usize,
    pub stop: StopReason,
    /// Why generation stopped, in one line (`stopped at the end of sequence "<|im_end|>" (id 2)`).
    pub stopped: String,
}

/// Options of every training stage: the common ones and the device.
#[derive(Debug, Clone, clap::Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub stage: StageArgs,
    /// auto (CUDA 0 when libtorch sees a GPU, else CPU), cpu, or cuda:N.
    #[arg(long, default_value = "auto")]
    pub device: DeviceChoice,
    /// One line per finished epoch instead of live progress.
    #[arg(long)]
    pub quiet: bool,
    /// Continue a run that was killed or interrupted (Ctrl-C) from its last epoch checkpoint:
    /// results/<stage>/<run>; its own config.toml is used.
    #[arg(long, value_name = "RUN_DIR", conflicts_with_all = ["config", "overrides", "run_name"])]
    pub resume: Option<PathBuf>,
}

impl TrainArgs {
    /// Reads the config, picks the device, creates the run directory, runs `body`, writes the
    /// summary it returns and prints the run's line of the comparison table.
    pub fn run_stage<T, E, F>(&self, stage: &str, body: F) -> anyhow::Result<RunSummary>
    where
        T: DeserializeOwned + Serialize + Default,
        E: std::error::Error + Send + Sync + 'static,
        F: FnOnce(&T, &RunDir, &ResolvedDevice) -> Result<RunSummary, E>,
    {
        self.run_stage_with(stage, None, body)
    }

    /// [`Self::run_stage`], a new run starting from `config` when one is given (instead of
    /// `--config` and `--set`).
    pub fn run_stage_with<T, E, F>(&self, stage: &str, config: Option<T>, body: F) -> anyhow::Result<RunSummary>
    where
        T: DeserializeOwned + Serialize + Default,
        E: std::error::Error + Send + Sync + 'static,
        F: FnOnce(&T, &RunDir, &ResolvedDevice) -> Result<RunSummary, E>,
    {
        retrofit_runtime::progress::set_quiet(self.quiet);
        let device = self.device.resolve()?;
        let (config, run_dir) = match (&self.resume, config) {
            (Some(path), _) => resume_run::<T>(path, stage)?,
            (None, Some(config)) => self.stage.start_run_with(stage, config)?,
            (None, None) => self.stage.start_run::<T>(stage)?,
        };
        let summary = match body(&config, &run_dir, &device) {
            Ok(summary) => summary,
            Err(error) => {
                if retrofit_runtime::interrupt::stop_requested() {
                    // Interrupted: no summary, so that the run can be resumed.
                    return Err(error.into());
                }
                if !discard_if_empty(&run_dir) {
                    // The run had started: its summary says it failed, so that no table shows
                    // its numbers as a result.
                    let failed = RunSummary::failed(&run_dir, &device.name, &config, error.to_string())?;
                    run_dir.write_summary(&failed)?;
                }
                return Err(error.into());
            }
        };
        run_dir.write_summary(&summary)?;
        print!("{}", compare::markdown_table(std::slice::from_ref(&summary)));
        println!("run: {}", run_dir.path().display());
        Ok(summary)
    }
}

/// Where a run keeps the config it started with, beside its checkpoints.
pub const STARTED_CONFIG: &str = "resume/config.toml";

/// Opens the run directory `path` of `stage` again, with the config it was started with.
fn resume_run<T: DeserializeOwned + Serialize + Default>(
    path: &std::path::Path,
    stage: &str,
) -> anyhow::Result<(T, RunDir)> {
    let run_dir = RunDir::open(path)?;
    anyhow::ensure!(run_dir.stage() == stage, "{} is a run of stage {}, not {stage}", path.display(), run_dir.stage());
    let on_disk = path.join("config.toml");
    let started = path.join(STARTED_CONFIG);
    let config_file = if started.is_file() {
        if std::fs::read(&on_disk).ok() != std::fs::read(&started).ok() {
            eprintln!(
                "warning: {} was edited after the run started; resuming with the config it started with ({})",
                on_disk.display(),
                started.display()
            );
        }
        started
    } else {
        on_disk
    };
    let config: T = load_config(Some(&config_file), &[])?;
    // A summary left by a failed attempt is replaced by the resumed run's.
    let _ = std::fs::remove_file(path.join(RunSummary::FILE_NAME));
    eprintln!("resuming {}", path.display());
    Ok((config, run_dir))
}

/// Runs a binary's body: logging set up once, any error printed as one line on stderr and a
/// non-zero exit status.
pub fn run_main(body: impl FnOnce() -> anyhow::Result<()>) -> ExitCode {
    retrofit_runtime::telemetry::init_tracing();
    match body() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Removes a run directory that failed before producing anything but its config, so that the
/// same run name can be used again once the input is fixed. Returns whether it was removed.
pub fn discard_if_empty(run_dir: &RunDir) -> bool {
    let only = |dir: &std::path::Path, allowed: &dyn Fn(&std::fs::DirEntry) -> bool| {
        std::fs::read_dir(dir)
            .map(|entries| entries.filter_map(Result::ok).all(|entry| allowed(&entry)))
            .unwrap_or(false)
    };
    let only_config = only(run_dir.path(), &|entry| {
        entry.file_name() == "config.toml"
            || (entry.file_name() == "resume" && only(&entry.path(), &|inner| inner.file_name() == "config.toml"))
    });
    only_config && std::fs::remove_dir_all(run_dir.path()).is_ok()
}
