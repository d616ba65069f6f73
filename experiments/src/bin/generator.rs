//! The generator stage: train a causal language model from scratch (`generator --config ...`),
//! or continue a prompt with a trained run (`generator sample --run results/generator/<run>`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use retrofit_core::generation::SamplingConfig;
use retrofit_experiments::{TrainArgs, run_main};
use retrofit_generator::{SAMPLE_FILE, STAGE, load_generator, run, sample_text};
use retrofit_runtime::device::DeviceChoice;

/// Train the generator (`configs/generator.toml`), or sample from a trained run.
#[derive(Debug, Parser)]
#[command(name = "generator", args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    train: TrainArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Continue a prompt with a trained run (greedy with --temperature 0).
    Sample {
        /// Run directory: results/generator/<run>.
        #[arg(long)]
        run: PathBuf,
        #[arg(long)]
        prompt: String,
        /// New tokens to generate.
        #[arg(long, default_value_t = 200)]
        tokens: usize,
        #[arg(long, default_value_t = 0.8)]
        temperature: f64,
        /// Keep the k most likely tokens (0: all).
        #[arg(long, default_value_t = 0)]
        top_k: usize,
        /// Nucleus: the most likely tokens up to this probability mass (1: all).
        #[arg(long, default_value_t = 0.95)]
        top_p: f64,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[arg(long, default_value = "auto")]
        device: DeviceChoice,
    },
}

fn main() -> ExitCode {
    run_main(|| {
        let cli = Cli::parse();
        match cli.command {
            None => {
                let summary = cli.train.run_stage(STAGE, run)?;
                let sample = cli.train.stage.results.join(STAGE).join(&summary.run).join(SAMPLE_FILE);
                if let Ok(text) = std::fs::read_to_string(sample) {
                    println!("sample:\n{text}");
                }
            }
            Some(Command::Sample { run, prompt, tokens, temperature, top_k, top_p, seed, device }) => {
                let device = device.resolve()?;
                let (model, _, tokenizer) = load_generator(&run, &device.device)?;
                let sampling = SamplingConfig { temperature, top_k, top_p, seed };
                println!("{}", sample_text(&model, &tokenizer, &prompt, tokens, sampling, &device.device)?);
            }
        }
        Ok(())
    })
}
