//! A pre-trained model of any supported family (a Hugging Face GPT-2 or Llama directory; the
//! family comes from `config.json`'s `model_type`): generate text, or evaluate it zero-shot on a
//! text file. (Formerly the `gpt2` binary; `just gpt2` still calls it.)

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use retrofit_core::base::load_base;
use retrofit_core::decoder::Decoder;
use retrofit_core::generation::GenerationConfig;
use retrofit_core::hf_checkpoint::end_of_sequence_ids;
use retrofit_core::training::count_parameters;
use retrofit_data::text::read_utf8;
use retrofit_experiments::{EndOfSequenceArgs, SamplingArgs, run_main};
use retrofit_runtime::device::DeviceChoice;
use retrofit_runtime::run_dir::{RunDir, timestamp_run_name};
use retrofit_runtime::summary::{RunClock, RunSummary, Throughput};
use retrofit_runtime::{MetricSet, Quantity};

#[derive(Debug, Parser)]
#[command(name = "pretrained")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Continue a prompt (greedy unless --temperature > 0) up to the model's end of sequence or
    /// --tokens; prints the text, and on stderr the tokens, their speed and why it stopped.
    Generate {
        /// Model directory: config.json, model.safetensors, tokenizer files (`just fetch-smollm2`,
        /// `just fetch-distilgpt2`, or a generator run's model/).
        #[arg(long)]
        model: PathBuf,
        #[arg(long)]
        prompt: String,
        /// New tokens to generate.
        #[arg(long, default_value_t = 50)]
        tokens: usize,
        #[command(flatten)]
        sampling: SamplingArgs,
        #[command(flatten)]
        end_of_sequence: EndOfSequenceArgs,
        #[arg(long, default_value = "auto")]
        device: DeviceChoice,
    },
    /// Perplexity and bits per byte of a text (sliding window), written to results/pretrained-eval/.
    Eval {
        #[arg(long)]
        model: PathBuf,
        /// UTF-8 text file.
        #[arg(long)]
        text: PathBuf,
        /// Window length in tokens (at most the model's n_positions).
        #[arg(long, default_value_t = 1024)]
        context: usize,
        /// New tokens scored per window.
        #[arg(long, default_value_t = 512)]
        stride: usize,
        #[arg(long)]
        run_name: Option<String>,
        #[arg(long, default_value = "results")]
        results: PathBuf,
        #[arg(long, default_value = "auto")]
        device: DeviceChoice,
    },
}

fn main() -> ExitCode {
    run_main(|| match Cli::parse().command {
        Command::Generate { model, prompt, tokens, sampling, end_of_sequence, device } => {
            let device = device.resolve()?;
            let (base, config) = load_base(&model, &device.device)?;
            let tokenizer = config.load_tokenizer(&model)?;
            let model_eos = end_of_sequence_ids(&model)?;
            let prompt_ids = tokenizer.encode(&prompt)?;
            let generation = GenerationConfig {
                max_new_tokens: tokens,
                sampling: sampling.config(),
                pad_id: Some(tokenizer.pad_id()),
                stop_ids: end_of_sequence.stop_ids(&model_eos),
            };
            let clock = RunClock::start();
            let new_tokens = base.generate(&[prompt_ids], &generation, &device.device)?.remove(0);
            let seconds = clock.elapsed_s();
            let continuation = end_of_sequence.continuation(&prompt, &new_tokens, &model_eos, tokens, &tokenizer)?;
            println!("{}", continuation.text);
            eprintln!(
                "{} tokens in {seconds:.2} s ({:.1} tokens/s) on {}; {}",
                new_tokens.len(),
                new_tokens.len() as f64 / seconds,
                device.name,
                continuation.stopped
            );
            Ok(())
        }
        Command::Eval { model, text, context, stride, run_name, results, device } => {
            let clock = RunClock::start();
            let device = device.resolve()?;
            let (base, config) = load_base(&model, &device.device)?;
            let tokenizer = config.load_tokenizer(&model)?;
            let positions = base.max_positions();
            anyhow::ensure!(
                context <= positions,
                "--context {context} exceeds the model's {positions} positions: pass --context {positions} or less"
            );
            let content = read_utf8(&text)?;
            let ids = tokenizer.encode_corpus(content.as_bytes())?;
            let run_dir = RunDir::create(&results, "pretrained-eval", &run_name.unwrap_or_else(timestamp_run_name))?;
            let settings = serde_json::json!({ "model": model, "text": text, "context": context, "stride": stride, "base": config });
            run_dir.write_config(&settings)?;
            let eval_clock = RunClock::start();
            let evaluation = base.evaluate_text(&ids, content.len(), context, stride, &device.device)?;
            let eval_s = eval_clock.elapsed_s();
            let mut metrics = MetricSet::new();
            metrics.insert("eval_perplexity", Quantity::Perplexity, evaluation.perplexity);
            metrics.insert("eval_bits_per_byte", Quantity::BitsPerByte, evaluation.bits_per_byte);
            metrics.insert("eval_tokens", Quantity::Count, ids.len() as f64);
            let summary = RunSummary {
                data: format!("text {} ({})", text.display(), tokenizer.name()),
                parameters: count_parameters(&base),
                wall_time_s: clock.elapsed_s(),
                throughput: Some(Throughput {
                    value: ids.len() as f64 / eval_s.max(1e-9),
                    unit: "tokens/s".to_string(),
                }),
                best_metrics: metrics.clone(),
                final_metrics: metrics,
                ..RunSummary::finish(&run_dir, &device.name, 0, &settings)?
            };
            run_dir.write_summary(&summary).context("writing the summary")?;
            println!(
                "{}: perplexity {:.3}, bits per byte {:.4} over {} tokens / {} bytes (context {context}, stride {stride})",
                text.display(),
                evaluation.perplexity,
                evaluation.bits_per_byte,
                ids.len(),
                content.len()
            );
            println!("run: {}", run_dir.path().display());
            Ok(())
        }
    })
}
