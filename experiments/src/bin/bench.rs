//! Benchmark workloads identical to `../shared/bench/README.md`, on the libtorch CPU device.

use std::process::ExitCode;

use anyhow::bail;
use burn::module::Module;
use clap::Parser;
use retrofit_attention_classifier::AttentionClassifierModelConfig;
use retrofit_core::device::{libtorch_cpu, set_cpu_threads};
use retrofit_experiments::bench::{cross_entropy, median, random_ids, time_training};
use retrofit_experiments::run_main;
use retrofit_transformer_classifier::TransformerClassifierModelConfig;

/// Run one benchmark workload and print `BENCH <workload> backend=burn-tch ...` last.
#[derive(Debug, Parser)]
#[command(name = "bench")]
struct Cli {
    /// attention-classifier | transformer-classifier
    #[arg(long)]
    workload: String,
    /// Timed steps.
    #[arg(long, default_value_t = 5)]
    steps: usize,
    /// Untimed warm-up steps.
    #[arg(long, default_value_t = 2)]
    warmup: usize,
    /// libtorch CPU threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

fn main() -> ExitCode {
    run_main(|| {
        let cli = Cli::parse();
        let threads = set_cpu_threads(cli.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())));
        let device = libtorch_cpu().autodiff();
        device.seed(0);
        let (batch, seq) = (32, 512);
        let (times, losses, tokens_per_step) = match cli.workload.as_str() {
            "attention-classifier" => {
                let model = AttentionClassifierModelConfig::default().init(50_000, seq, &device)?;
                println!("INFO parameters {}", model.num_params());
                let inputs = random_ids([batch, seq], 50_000, &device);
                let targets = random_ids([batch], 2, &device);
                let (times, losses) = time_training(model, cli.warmup, cli.steps, |model| {
                    cross_entropy(model.forward(inputs.clone(), None), targets.clone())
                });
                (times, losses, batch * seq)
            }
            "transformer-classifier" => {
                let model = TransformerClassifierModelConfig::default().init(50_000, seq, &device)?;
                println!("INFO parameters {}", model.num_params());
                let inputs = random_ids([batch, seq], 50_000, &device);
                let targets = random_ids([batch], 2, &device);
                let (times, losses) = time_training(model, cli.warmup, cli.steps, |model| {
                    cross_entropy(model.forward(inputs.clone(), None), targets.clone())
                });
                (times, losses, batch * seq)
            }
            other => bail!("unknown workload `{other}`: use attention-classifier or transformer-classifier"),
        };
        println!("INFO losses {losses:?}");
        println!("INFO step times {times:?}");
        let median_s = median(&times);
        println!(
            "BENCH {} backend=burn-tch threads={threads} median_step_s={median_s:.4} throughput={:.0} tokens/s",
            cli.workload,
            tokens_per_step as f64 / median_s
        );
        Ok(())
    })
}
