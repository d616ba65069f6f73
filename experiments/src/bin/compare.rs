//! Results: one markdown table of every run under results/, printed and written to
//! results/README.md.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, UNIX_EPOCH};

use anyhow::Context;
use clap::Parser;
use retrofit_experiments::compare::{curve_links, markdown_table, read_summaries, results_readme};
use retrofit_experiments::run_main;
use retrofit_runtime::summary::RunSummary;

/// Compare every run's summary.json in one table.
#[derive(Debug, Parser)]
#[command(name = "compare")]
struct Cli {
    /// Root of the run directories.
    #[arg(long, default_value = "results", value_name = "DIR")]
    results: PathBuf,
    /// Only this stage's runs (printed only; results/README.md keeps every stage).
    #[arg(long)]
    stage: Option<String>,
    /// Only the runs that finished at or after this time (Unix seconds; printed only).
    #[arg(long, value_name = "UNIX_SECONDS")]
    since: Option<u64>,
    /// Do not write RESULTS/README.md.
    #[arg(long)]
    no_write: bool,
}

fn main() -> ExitCode {
    run_main(|| {
        let cli = Cli::parse();
        let every = read_summaries(&cli.results);
        let finished_since = |summary: &RunSummary| {
            cli.since.is_none_or(|since| {
                let file = cli.results.join(&summary.stage).join(&summary.run).join(RunSummary::FILE_NAME);
                std::fs::metadata(file)
                    .and_then(|metadata| metadata.modified())
                    .is_ok_and(|modified| modified >= UNIX_EPOCH + Duration::from_secs(since))
            })
        };
        let shown: Vec<RunSummary> = every
            .iter()
            .filter(|summary| cli.stage.as_ref().is_none_or(|stage| &summary.stage == stage))
            .filter(|summary| finished_since(summary))
            .cloned()
            .collect();
        print!("{}", markdown_table(&shown));
        if shown.is_empty() {
            eprintln!("no runs under {} yet: run a stage first (e.g. `just demo`)", cli.results.display());
        }
        if !cli.no_write && cli.stage.is_none() {
            let readme = cli.results.join("README.md");
            std::fs::create_dir_all(&cli.results)
                .with_context(|| format!("cannot create {}", cli.results.display()))?;
            let curves = curve_links(&cli.results, &every);
            std::fs::write(&readme, results_readme(&markdown_table(&every), &curves))
                .with_context(|| format!("cannot write {}", readme.display()))?;
            if shown.len() < every.len() {
                println!(
                    "\nEvery run ({} in all) is in {} (`just compare` prints them).",
                    every.len(),
                    readme.display()
                );
            }
        }
        Ok(())
    })
}
