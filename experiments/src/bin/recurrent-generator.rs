//! The recurrent-generator stage: train inserted blocks and a recurrent connection on a frozen
//! GPT-2 (`recurrent-generator --config ...`), or evaluate a trained run again
//! (`recurrent-generator eval --run results/recurrent-generator/<run> [--reset-state | --shuffle-state]`),
//! measure what its carried state holds (`recurrent-generator states --run ...`), or sample from
//! one (`recurrent-generator sample --run ... --prompt TEXT --tokens N`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use retrofit_core::language_model::{StateCarry, evaluate_streams};
use retrofit_data::lm_batch::LmBatcher;
use retrofit_data::source::load_language_corpus;
use retrofit_data::text::read_utf8;
use retrofit_experiments::{EndOfSequenceArgs, SamplingArgs, TrainArgs, run_main};
use retrofit_recurrent_generator::{
    CHECKPOINT_DIR, CheckpointManifest, EvalSplit, STAGE, load_checkpoint, run, sample_ids, state_diagnostics,
};
use retrofit_runtime::device::DeviceChoice;

/// Train the recurrent generator (`configs/recurrent-generator.toml`), or evaluate a trained run.
#[derive(Debug, Parser)]
#[command(name = "recurrent-generator", args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    train: TrainArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Evaluate a trained run on the split its summary reports (`data.eval_split`, the test split
    /// by default; or on --text): bits per byte, perplexity and the loss of each window index,
    /// the state carried along the text.
    Eval {
        /// Run directory: results/recurrent-generator/<run>.
        #[arg(long)]
        run: PathBuf,
        /// Zero the segment state before every window.
        #[arg(long, conflicts_with = "shuffle_state")]
        reset_state: bool,
        /// Give every stream, before every window, the state another stream left (the next one).
        #[arg(long)]
        shuffle_state: bool,
        /// Evaluate this UTF-8 text file instead of the run's evaluation split.
        #[arg(long)]
        text: Option<PathBuf>,
        /// The base directory, if it moved (it must be the same files).
        #[arg(long)]
        base: Option<PathBuf>,
        /// Parallel streams (default: the run's data.eval_streams).
        #[arg(long)]
        streams: Option<usize>,
        /// Windows per stream (default: the run's data.eval_windows).
        #[arg(long)]
        windows: Option<usize>,
        /// Evaluate every window the text holds (overrides --windows).
        #[arg(long)]
        all_windows: bool,
        #[arg(long, default_value = "auto")]
        device: DeviceChoice,
    },
    /// Measure what a trained run's carried state holds on its evaluation split: whether the
    /// window summaries and states of a stream's successive windows are more alike than those of
    /// two streams, how much the state changes the final hidden states, the gates; prints them
    /// and writes <run>/state_diagnostics.json.
    States {
        /// Run directory: results/recurrent-generator/<run>.
        #[arg(long)]
        run: PathBuf,
        /// The base directory, if it moved (it must be the same files).
        #[arg(long)]
        base: Option<PathBuf>,
        /// Parallel streams (default: the run's data.eval_streams).
        #[arg(long)]
        streams: Option<usize>,
        /// Windows per stream (default: every window the split holds).
        #[arg(long)]
        windows: Option<usize>,
        #[arg(long, default_value = "auto")]
        device: DeviceChoice,
    },
    /// Continue a prompt with a trained run, window by window, the state (if any) carried
    /// across window boundaries as evaluation carries it, up to the base's end of sequence or
    /// --tokens; prints the text, and on stderr why it stopped.
    Sample {
        /// Run directory: results/recurrent-generator/<run>.
        #[arg(long)]
        run: PathBuf,
        #[arg(long)]
        prompt: String,
        /// New tokens to generate.
        #[arg(long, default_value_t = 64)]
        tokens: usize,
        #[command(flatten)]
        sampling: SamplingArgs,
        #[command(flatten)]
        end_of_sequence: EndOfSequenceArgs,
        /// The base directory, if it moved (it must be the same files).
        #[arg(long)]
        base: Option<PathBuf>,
        #[arg(long, default_value = "auto")]
        device: DeviceChoice,
    },
}

/// The checkpoint directory of a trained run, or a one-line error.
fn checkpoint_of(run: &std::path::Path) -> anyhow::Result<PathBuf> {
    let checkpoint = run.join(CHECKPOINT_DIR);
    anyhow::ensure!(
        checkpoint.is_dir(),
        "{} has no checkpoint/: pass a trained run (results/recurrent-generator/<run>)",
        run.display()
    );
    Ok(checkpoint)
}

/// The bytes of the split a run's summary reports (`data.eval_split`).
fn evaluation_split(manifest: &CheckpointManifest) -> anyhow::Result<Vec<u8>> {
    let splits = load_language_corpus(&manifest.config.data.source)?;
    Ok(match manifest.config.data.eval_split {
        EvalSplit::Valid => splits.valid,
        EvalSplit::Test => splits.test,
    })
}

fn main() -> ExitCode {
    run_main(|| {
        let cli = Cli::parse();
        match cli.command {
            None => {
                cli.train.run_stage(STAGE, run)?;
            }
            Some(Command::Eval {
                run,
                reset_state,
                shuffle_state,
                text,
                base,
                streams,
                windows,
                all_windows,
                device,
            }) => {
                let device = device.resolve()?;
                let checkpoint = checkpoint_of(&run)?;
                let (model, manifest) = load_checkpoint(&checkpoint, base.as_deref(), &device.device)?;
                let base = base.unwrap_or(manifest.base.clone());
                let base_config = retrofit_core::base::read_base_config(&base)?;
                let tokenizer = base_config.load_tokenizer(&base)?;
                let bytes = match &text {
                    Some(path) => read_utf8(path)?.into_bytes(),
                    None => evaluation_split(&manifest)?,
                };
                let ids = tokenizer.encode_corpus(&bytes).context("tokenizing the evaluated text")?;
                let batcher = LmBatcher::new(tokenizer.token_byte_lengths()?);
                let data = &manifest.config.data;
                let windows = if all_windows { None } else { windows.or(data.eval_windows) };
                let carry = match (reset_state, shuffle_state) {
                    (true, _) => StateCarry::Reset,
                    (_, true) => StateCarry::Shuffled,
                    _ => StateCarry::Carried,
                };
                let bytes_of = |ids: &[u32]| batcher.bytes_of(ids);
                let streams = streams.unwrap_or(data.eval_streams);
                let result = evaluate_streams(&model, &ids, bytes_of, streams, windows, carry, &device.device)?;
                println!(
                    "{} streams x {} windows of {} tokens ({} bytes), state {}: loss {:.4}, perplexity {:.3}, bits per byte {:.4}",
                    result.streams,
                    result.windows_per_stream,
                    model.context,
                    result.bytes,
                    match carry {
                        StateCarry::Reset => "reset every window",
                        StateCarry::Shuffled => "shuffled between streams",
                        StateCarry::Carried => "carried",
                    },
                    result.loss,
                    result.perplexity,
                    result.bits_per_byte
                );
                println!(
                    "loss by window index: {}",
                    result.loss_by_window.iter().map(|loss| format!("{loss:.4}")).collect::<Vec<_>>().join(" ")
                );
            }
            Some(Command::States { run, base, streams, windows, device }) => {
                let device = device.resolve()?;
                let (model, manifest) = load_checkpoint(&checkpoint_of(&run)?, base.as_deref(), &device.device)?;
                let base = base.unwrap_or(manifest.base.clone());
                let tokenizer = retrofit_core::base::read_base_config(&base)?.load_tokenizer(&base)?;
                let ids =
                    tokenizer.encode_corpus(&evaluation_split(&manifest)?).context("tokenizing the evaluated text")?;
                let streams = streams.unwrap_or(manifest.config.data.eval_streams);
                let diagnostics = state_diagnostics(&model, &ids, streams, windows, &device.device)?;
                let optional = |value: Option<f64>| value.map_or("-".to_string(), |value| format!("{value:.4}"));
                println!(
                    "{}: {} streams x {} windows; summaries' cosine, successive windows {:.4}, other stream {:.4}; states' {} / {}; hidden change {}; gates {}",
                    diagnostics.recurrence,
                    diagnostics.streams,
                    diagnostics.windows,
                    diagnostics.summary_cosine_successive,
                    diagnostics.summary_cosine_other_stream,
                    optional(diagnostics.state_cosine_successive),
                    optional(diagnostics.state_cosine_other_stream),
                    optional(diagnostics.hidden_change),
                    diagnostics.gates.iter().map(|gate| format!("{gate:.4}")).collect::<Vec<_>>().join(" ")
                );
                let path = run.join("state_diagnostics.json");
                std::fs::write(&path, serde_json::to_string_pretty(&diagnostics)? + "\n")
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            Some(Command::Sample { run, prompt, tokens, sampling, end_of_sequence, base, device }) => {
                let device = device.resolve()?;
                let (model, manifest) = load_checkpoint(&checkpoint_of(&run)?, base.as_deref(), &device.device)?;
                let base = base.unwrap_or(manifest.base.clone());
                let base_config = retrofit_core::base::read_base_config(&base)?;
                let tokenizer = base_config.load_tokenizer(&base)?;
                let model_eos = retrofit_core::hf_checkpoint::end_of_sequence_ids(&base)?;
                let prompt_ids = tokenizer.encode(&prompt)?;
                let stop_ids = end_of_sequence.stop_ids(&model_eos);
                let new_ids = sample_ids(&model, &prompt_ids, tokens, sampling.config(), &stop_ids, &device.device)?;
                let continuation = end_of_sequence.continuation(&prompt, &new_ids, &model_eos, tokens, &tokenizer)?;
                println!("{}", continuation.text);
                eprintln!("{} tokens; {}", continuation.new_tokens, continuation.stopped);
            }
        }
        Ok(())
    })
}
