//! Stage 1: load the data a config names and write the statistics a researcher checks first.

use std::process::ExitCode;

use clap::Parser;
use retrofit_core::memory::peak_host_memory_bytes;
use retrofit_core::summary::{RunClock, RunSummary, Throughput, git_commit};
use retrofit_data::stage::{DataStageConfig, describe_data};
use retrofit_experiments::{StageArgs, discard_if_empty, run_main, spinner};

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
        let clock = RunClock::start();
        let (config, run_dir) = cli.stage.start_run::<DataStageConfig>("data")?;
        let progress = spinner();
        let stats = describe_data(&config, &|phase| progress.set_message(phase.to_string()));
        progress.finish_and_clear();
        let stats = stats.inspect_err(|_| discard_if_empty(&run_dir))?;
        run_dir.write_json("stats.json", &stats)?;

        let wall_time_s = clock.elapsed_s();
        let mut final_metrics = std::collections::BTreeMap::new();
        final_metrics.insert("vocab_size".to_string(), stats.vocab_size as f64);
        for split in &stats.splits {
            final_metrics.insert(format!("{}_tokens", split.split), split.tokens as f64);
            if let Some(examples) = split.examples {
                final_metrics.insert(format!("{}_examples", split.split), examples as f64);
            }
            if let Some(bytes_per_token) = split.bytes_per_token {
                final_metrics.insert(format!("{}_bytes_per_token", split.split), bytes_per_token);
            }
        }
        let summary = RunSummary {
            stage: run_dir.stage().to_string(),
            run: run_dir.name().to_string(),
            git_commit: git_commit(),
            device: "cpu".to_string(),
            seed: config.seed,
            data: format!("{} ({})", stats.source, stats.tokenizer),
            parameters: Default::default(),
            wall_time_s,
            throughput: Some(Throughput {
                value: stats.total_tokens() as f64 / wall_time_s.max(1e-9),
                unit: "tokens/s".to_string(),
            }),
            peak_memory_bytes: peak_host_memory_bytes(),
            best_metrics: final_metrics.clone(),
            final_metrics,
            config: serde_json::to_value(&config)?,
        };
        run_dir.write_summary(&summary)?;
        println!("{stats}");
        println!("run: {}", run_dir.path().display());
        Ok(())
    })
}
