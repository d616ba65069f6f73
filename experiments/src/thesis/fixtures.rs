//! Test fixtures: evaluations and runs made of known numbers.

use retrofit_core::language_model::{GainInterval, RecallLoss, StreamEvaluation};
use retrofit_recurrent_generator::{EvalSplit, WindowLoss};
use retrofit_runtime::summary::RunSummary;

use super::LadderRun;

/// One stream of windows of `context` tokens, each with `nll` nats over 10 bytes per token.
pub fn evaluation(window_nll: Vec<f64>, context: usize) -> StreamEvaluation {
    let windows = window_nll.len();
    let nll_nats: f64 = window_nll.iter().sum();
    StreamEvaluation {
        streams: 1,
        windows_per_stream: windows,
        tokens: windows * context,
        bytes: windows * context * 10,
        nll_nats,
        loss: nll_nats / (windows * context) as f64,
        perplexity: 1.0,
        bits_per_byte: 0.0,
        loss_by_window: window_nll.clone(),
        window_bytes: vec![context * 10; windows],
        window_nll,
        loss_by_position: Vec::new(),
        recall: RecallLoss::default(),
    }
}

pub fn ladder_run(seed: u64, carried: StreamEvaluation) -> LadderRun {
    let summary: RunSummary = serde_json::from_value(serde_json::json!({
        "stage": "recurrent-generator", "run": format!("x-s{seed}"), "git_commit": null, "device": "cpu",
        "seed": seed, "data": "", "parameters": { "total": 1, "trainable": 1 }, "wall_time_s": 1.0,
        "throughput": null, "peak_memory_bytes": null, "final_metrics": {}, "best_metrics": {}, "config": {}
    }))
    .unwrap();
    let gain = GainInterval { gain: 0.0, low: 0.0, high: 0.0, level: 0.95, resamples: 1 };
    let evaluation = WindowLoss {
        split: EvalSplit::Test,
        bptt_windows: 2,
        reset: carried.clone(),
        carried,
        gain,
        shuffled: None,
        shuffle_gain: None,
    };
    LadderRun { seed, summary, train_loss: Vec::new(), valid_bits_per_byte: Vec::new(), evaluation }
}
