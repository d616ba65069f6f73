//! Stage 1: load the data a config names and write the statistics a researcher checks first.

use std::process::ExitCode;

use clap::Parser;
use retrofit_data::stage::{DataStageConfig, STAGE, run};
use retrofit_experiments::{StageArgs, discard_if_empty, run_main};
use retrofit_runtime::progress::spinner;

/// Load a data set (text, enwik8, CSV, IMDb) and report its statistics.
#[derive(Debug, Parser)]
#[command(name = "load-data")]
struct Cli {
    #[command(flatten)]
    stage: StageArgs,
}

fn main() -> ExitCode {
    run_main(|| {
        let cli = Cli::parse();
        let (config, run_dir) = cli.stage.start_run::<DataStageConfig>(STAGE)?;
        let progress = spinner();
        let result = run(&config, &run_dir, &|phase| progress.set_message(phase.to_string()));
        progress.finish_and_clear();
        let (stats, summary) = result.inspect_err(|_| {
            discard_if_empty(&run_dir);
        })?;
        run_dir.write_summary(&summary)?;
        println!("{stats}");
        println!("run: {}", run_dir.path().display());
        Ok(())
    })
}
