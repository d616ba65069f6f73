//! `just bench`: every workload raced against the PyTorch reference, explicit and fused attention,
//! back to back, over `--passes` passes; the table goes to `results/bench/<run>/`.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::Context;
use clap::Parser;
use retrofit_experiments::bench::StepSplit;
use retrofit_experiments::bench_race::{
    BenchLine, Contender, Measurement, RaceContext, WORKLOADS, WorkloadProfile, WorkloadRace, machine_description,
    race_readme, race_table,
};
use retrofit_experiments::run_main;
use retrofit_runtime::run_dir::timestamp_run_name;
use retrofit_runtime::summary::{git_commit, libtorch_version};

/// Race our bench workloads against PyTorch eager (`bench_reference.py --attn explicit` and `--attn sdpa`).
#[derive(Debug, Parser)]
#[command(name = "bench-race")]
struct Cli {
    /// Workloads to race, in order (default: all nine).
    #[arg(long, num_args = 1.., value_name = "NAME")]
    workloads: Vec<String>,
    /// Passes over all workloads; each figure is the median over passes.
    #[arg(long, default_value_t = 3)]
    passes: usize,
    /// Timed steps per run (default: each side's own, 5; generation 3).
    #[arg(long)]
    steps: Option<usize>,
    /// Untimed warm-up steps per run (default: each side's own).
    #[arg(long)]
    warmup: Option<usize>,
    /// CPU threads of both sides (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// The PyTorch reference implementation.
    #[arg(long, env = "RETROFIT_BENCH_REFERENCE", default_value = "scripts/bench_reference.py")]
    reference: PathBuf,
    /// The weights floor of the generation workloads (skipped when absent).
    #[arg(long, default_value = "scripts/generation_floor.py")]
    floor: PathBuf,
    /// The Python that runs the reference (with torch and transformers).
    #[arg(long, env = "RETROFIT_BENCH_PYTHON", default_value = "python3")]
    python: PathBuf,
    /// Also profile ours per workload with `perf record` and list the most expensive symbols.
    #[arg(long)]
    profile: bool,
    /// Name of the directory under RESULTS/bench/ (default: the UTC time).
    #[arg(long)]
    run_name: Option<String>,
    #[arg(long, default_value = "results", value_name = "DIR")]
    results: PathBuf,
}

/// Runs a command to its end; its stdout, or an error with the end of its stderr.
fn run_capturing(command: &mut Command, what: &str) -> anyhow::Result<String> {
    let output = command.output().with_context(|| format!("cannot start {what}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(5).collect::<Vec<_>>().into_iter().rev().collect();
        anyhow::bail!("{what} failed ({}): {}", output.status, tail.join(" | "));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

impl Cli {
    /// `--steps`, `--warmup`, `--threads` as both sides take them.
    fn shared_args(&self, threads: usize) -> Vec<String> {
        let mut args = vec!["--threads".to_string(), threads.to_string()];
        if let Some(steps) = self.steps {
            args.extend(["--steps".to_string(), steps.to_string()]);
        }
        if let Some(warmup) = self.warmup {
            args.extend(["--warmup".to_string(), warmup.to_string()]);
        }
        args
    }

    fn command(&self, contender: Contender, bench: &Path, workload: &str, threads: usize) -> Command {
        let python = |script: &Path, args: &[&str]| {
            let mut command = Command::new(&self.python);
            command.arg(script).args(args);
            command
        };
        let mut command = match contender {
            Contender::Ours => Command::new(bench),
            Contender::PytorchExplicit => python(&self.reference, &["--attn", "explicit"]),
            Contender::PytorchSdpa => python(&self.reference, &["--attn", "sdpa"]),
            Contender::WeightsFloor => python(&self.floor, &[]),
        };
        command.args(["--workload", workload]).args(self.shared_args(threads));
        command
    }
}

/// One run of one contender: its `BENCH` line and, for ours, the step split.
fn measure(
    cli: &Cli,
    contender: Contender,
    bench: &Path,
    workload: &str,
    threads: usize,
    pass: usize,
) -> anyhow::Result<Measurement> {
    let what = format!("{workload} ({}, pass {})", contender.label(), pass + 1);
    let stdout = run_capturing(&mut cli.command(contender, bench, workload, threads), &what)?;
    let line =
        stdout.lines().rev().find_map(BenchLine::parse).with_context(|| format!("{what} printed no BENCH line"))?;
    anyhow::ensure!(line.workload == workload, "{what} reported workload {}", line.workload);
    let split = stdout.lines().find_map(StepSplit::parse);
    Ok(Measurement {
        pass,
        contender,
        median_step_s: line.median_step_s,
        throughput: line.throughput,
        unit: line.unit,
        split,
    })
}

/// `perf record` around a short run of ours; the report's most expensive symbols, and the report.
fn profile(bench: &Path, workload: &str, threads: usize, dir: &Path) -> anyhow::Result<WorkloadProfile> {
    let data = dir.join(format!("perf-{workload}.data"));
    let mut record = Command::new("perf");
    record.args(["record", "-e", "cpu-clock", "-F", "200", "-o"]).arg(&data).arg("--").arg(bench).args([
        "--workload",
        workload,
        "--steps",
        "2",
        "--warmup",
        "1",
        "--threads",
        &threads.to_string(),
    ]);
    run_capturing(&mut record, &format!("perf record of {workload} (is linux-perf installed?)"))?;
    let mut report = Command::new("perf");
    report
        .args(["report", "--stdio", "--no-children", "--sort", "dso,symbol", "--percent-limit", "0.5", "-i"])
        .arg(&data);
    let text = run_capturing(&mut report, &format!("perf report of {workload}"))?;
    std::fs::remove_file(&data).ok();
    std::fs::write(dir.join(format!("profile-{workload}.txt")), &text)?;
    Ok(WorkloadProfile::from_perf_report(workload, &text, 8))
}

fn main() -> ExitCode {
    run_main(|| {
        let cli = Cli::parse();
        anyhow::ensure!(cli.passes > 0, "--passes must be at least 1");
        let workloads: Vec<String> = if cli.workloads.is_empty() {
            WORKLOADS.iter().map(|w| w.to_string()).collect()
        } else {
            cli.workloads.clone()
        };
        if let Some(unknown) = workloads.iter().find(|w| !WORKLOADS.contains(&w.as_str())) {
            anyhow::bail!("unknown workload {unknown:?}; the workloads are {}", WORKLOADS.join(", "));
        }
        let bench = std::env::current_exe()?.with_file_name("bench");
        anyhow::ensure!(
            bench.is_file(),
            "no bench binary beside this one at {}: build it (just build)",
            bench.display()
        );
        let contenders: Vec<Contender> = if cli.reference.is_file() {
            Contender::ALL.into_iter().filter(|&c| c != Contender::WeightsFloor || cli.floor.is_file()).collect()
        } else {
            eprintln!(
                "bench: no PyTorch reference at {} (set RETROFIT_BENCH_REFERENCE); ours only",
                cli.reference.display()
            );
            vec![Contender::Ours]
        };
        let threads = cli.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        let started = timestamp_run_name();
        let run = cli.run_name.clone().unwrap_or_else(|| started.clone());
        let dir = cli.results.join("bench").join(&run);
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;

        let mut races: Vec<WorkloadRace> = workloads.iter().map(|w| WorkloadRace::new(w)).collect();
        for pass in 0..cli.passes {
            for race in &mut races {
                for &contender in contenders.iter().filter(|c| c.runs(&race.workload)) {
                    let measurement = measure(&cli, contender, &bench, &race.workload, threads, pass)?;
                    eprintln!(
                        "bench: pass {}/{} {} {}: median step {:.4} s",
                        pass + 1,
                        cli.passes,
                        race.workload,
                        contender.label(),
                        measurement.median_step_s
                    );
                    race.measurements.push(measurement);
                }
            }
        }
        let profiles = if cli.profile {
            workloads.iter().map(|w| profile(&bench, w, threads, &dir)).collect::<anyhow::Result<Vec<_>>>()?
        } else {
            Vec::new()
        };
        let context = RaceContext {
            run,
            machine: machine_description(),
            threads,
            commit: git_commit(),
            libtorch: libtorch_version(),
            started,
            passes: cli.passes,
            command: format!("just bench {}", std::env::args().skip(1).collect::<Vec<_>>().join(" ")),
        };
        std::fs::write(dir.join("README.md"), race_readme(&context, &races, &profiles))?;
        let json = serde_json::json!({ "context": context, "races": races, "profiles": profiles });
        std::fs::write(dir.join("bench.json"), serde_json::to_string_pretty(&json)? + "\n")?;
        print!("{}", race_table(&races));
        println!("written: {}", dir.display());
        Ok(())
    })
}
