//! The generator stage: train a causal language model from scratch (`generator --config ...`),
//! or continue a prompt with a trained run (`generator sample --run results/generator/<run>`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use retrofit_core::generation::SamplingConfig;
use retrofit_experiments::{EndOfSequenceArgs, TrainArgs, run_main};
use retrofit_generator::{SAMPLE_FILE, STAGE, continue_ids, generator_end_of_sequence_ids, load_generator, run};
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
    /// Continue a prompt with a trained run (greedy with --temperature 0) up to the model's end of
    /// sequence or --tokens; prints the text, and on stderr why it stopped.
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
        #[command(flatten)]
        end_of_sequence: EndOfSequenceArgs,
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
            Some(Command::Sample { run, prompt, tokens, temperature, top_k, top_p, seed, end_of_sequence, device }) => {
                let device = device.resolve()?;
                let (model, _, tokenizer) = load_generator(&run, &device.device)?;
                let model_eos = generator_end_of_sequence_ids(&run, &model, &tokenizer)?;
                let sampling = SamplingConfig { temperature, top_k, top_p, seed };
                let prompt_ids = tokenizer.encode(&prompt)?;
                let stop_ids = end_of_sequence.stop_ids(&model_eos);
                let new_tokens = continue_ids(&model, &prompt_ids, tokens, sampling, &stop_ids, &device.device)?;
                let continuation =
                    end_of_sequence.continuation(&prompt, &new_tokens, &model_eos, tokens, &tokenizer)?;
                println!("{}", continuation.text);
                eprintln!("{} tokens; {}", continuation.new_tokens, continuation.stopped);
            }
        }
        Ok(())
    })
}
