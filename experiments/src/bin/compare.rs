//! Results: one markdown table of every run under results/, printed and written to
//! results/README.md.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use retrofit_experiments::compare::{curve_links, markdown_table, read_summaries, results_readme};
use retrofit_experiments::run_main;

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
    /// Do not write RESULTS/README.md.
    #[arg(long)]
    no_write: bool,
}

fn main() -> ExitCode {
    run_main(|| {
        let cli = Cli::parse();
        let mut summaries = read_summaries(&cli.results);
        if let Some(stage) = &cli.stage {
            summaries.retain(|summary| &summary.stage == stage);
        }
        let table = markdown_table(&summaries);
        print!("{table}");
        if summaries.is_empty() {
            eprintln!("no runs under {} yet: run a stage first (e.g. `just demo`)", cli.results.display());
        }
        if !cli.no_write && cli.stage.is_none() {
            let readme = cli.results.join("README.md");
            std::fs::create_dir_all(&cli.results)
                .with_context(|| format!("cannot create {}", cli.results.display()))?;
            let curves = curve_links(&cli.results, &summaries);
            std::fs::write(&readme, results_readme(&table, &curves))
                .with_context(|| format!("cannot write {}", readme.display()))?;
        }
        Ok(())
    })
}
