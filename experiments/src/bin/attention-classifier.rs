//! The attention-classifier stage: train on the configured labelled data, report accuracy.

use std::process::ExitCode;

use clap::Parser;
use retrofit_attention_classifier::{STAGE, run};
use retrofit_experiments::{TrainArgs, run_main};

/// Train and evaluate the attention-classifier (`configs/attention-classifier.toml`).
#[derive(Debug, Parser)]
#[command(name = "attention-classifier")]
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
