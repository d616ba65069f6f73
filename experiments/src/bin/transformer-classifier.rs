//! The transformer-classifier stage: train on the configured labelled data, report accuracy.

use std::process::ExitCode;

use clap::Parser;
use retrofit_experiments::{TrainArgs, run_main};
use retrofit_transformer_classifier::{STAGE, run};

/// Train and evaluate the transformer-classifier (`configs/transformer-classifier.toml`).
#[derive(Debug, Parser)]
#[command(name = "transformer-classifier")]
struct Cli {
    #[command(flatten)]
    train: TrainArgs,
}

fn main() -> ExitCode {
    run_main(|| {
        let cli = Cli::parse();
        cli.train.run_stage(STAGE, run)?;
        Ok(())
    })
}
