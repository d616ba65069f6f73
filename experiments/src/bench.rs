//! `just bench`: the workloads of `scripts/bench_reference.py` on our code, timed the same way as
//! the PyTorch reference (one random batch reused, Adam 1e-4, warm-up steps untimed, median of the
//! timed steps) and printed in the same `BENCH` line format.

use std::time::Instant;

use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Distribution, Int, Tensor};
use retrofit_core::training::TaskModel;
use serde::{Deserialize, Serialize};

/// Median (the mean of the two middle values for an even count), as Python's `statistics.median`.
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    if sorted.is_empty() {
        f64::NAN
    } else if sorted.len() % 2 == 1 {
        sorted[middle]
    } else {
        (sorted[middle - 1] + sorted[middle]) / 2.0
    }
}

/// Uniform integers in `[0, high)`, never all zero in practice.
pub fn random_ids<const D: usize>(shape: [usize; D], high: usize, device: &Device) -> Tensor<D, Int> {
    Tensor::<D>::random(shape, Distribution::Uniform(0.0, high as f64), device).int().clamp(0, high as i64 - 1)
}

/// The shape of one stage-6 training step, for [`Stage6Shape::model_flops`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stage6Shape {
    /// Tokens whose loss the step trains on (batch x window).
    pub tokens: usize,
    /// Keys each query attends to at most (the window; twice it for `none-cache`).
    pub attended: usize,
    pub d_model: usize,
    /// Parameters of the frozen base (its token embedding stands for the tied head's matmul).
    pub base_parameters: usize,
    pub base_layers: usize,
    /// Trainable parameters (inserted blocks, state, logit bias).
    pub trainable_parameters: usize,
    pub inserted_blocks: usize,
}

impl Stage6Shape {
    /// Model FLOPs of one training step, an estimate in PaLM's convention (what MFU divides by):
    /// a weight costs 2 FLOPs a token forward, 2 more backward for the input's gradient, and 2
    /// more for its own gradient only where it trains (the frozen base computes none); attention
    /// costs `4 x attended x d_model` a token and layer forward (scores and weighted values, the
    /// causal half not subtracted) and twice that backward. Norms, activations and the optimizer
    /// are not counted; the base's position embedding and norms (under 1 % of its parameters)
    /// are counted as weights.
    pub fn model_flops(&self) -> f64 {
        let tokens = self.tokens as f64;
        let weights = 4.0 * self.base_parameters as f64 + 6.0 * self.trainable_parameters as f64;
        let layers = (self.base_layers + self.inserted_blocks) as f64;
        let attention = 3.0 * 4.0 * self.attended as f64 * self.d_model as f64 * layers;
        tokens * (weights + attention)
    }
}

/// Where the time of one training step goes: forward (with the loss), backward, optimizer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StepSplit {
    pub forward_s: f64,
    pub backward_s: f64,
    pub optimizer_s: f64,
}

impl StepSplit {
    /// The `INFO split ...` line the bench prints before its `BENCH` line.
    pub fn line(&self) -> String {
        format!(
            "INFO split forward_s={:.4} backward_s={:.4} optimizer_s={:.4}",
            self.forward_s, self.backward_s, self.optimizer_s
        )
    }

    /// Reads a line written by [`StepSplit::line`].
    pub fn parse(line: &str) -> Option<Self> {
        let rest = line.strip_prefix("INFO split ")?;
        let value = |key: &str| -> Option<f64> {
            rest.split_whitespace().find_map(|field| field.strip_prefix(key)?.strip_prefix('=')?.parse().ok())
        };
        Some(Self {
            forward_s: value("forward_s")?,
            backward_s: value("backward_s")?,
            optimizer_s: value("optimizer_s")?,
        })
    }

    /// Per phase, the median over `splits`.
    pub fn median_of(splits: &[StepSplit]) -> Option<Self> {
        if splits.is_empty() {
            return None;
        }
        let phase = |get: fn(&StepSplit) -> f64| median(&splits.iter().map(get).collect::<Vec<_>>());
        Some(Self {
            forward_s: phase(|s| s.forward_s),
            backward_s: phase(|s| s.backward_s),
            optimizer_s: phase(|s| s.optimizer_s),
        })
    }
}

/// What [`time_training`] measured: each timed step's seconds and split, every step's loss.
#[derive(Debug, Clone, Default)]
pub struct TrainingTimes {
    pub step_s: Vec<f64>,
    pub splits: Vec<StepSplit>,
    pub losses: Vec<f32>,
}

/// Times `steps` training steps (after `warmup` untimed ones) of a stage's task on one fixed
/// batch: zero grads, the task's own forward and loss (`forward_task`), backward, Adam step.
pub fn time_training<T>(mut task: T, batch: T::Batch, warmup: usize, steps: usize) -> TrainingTimes
where
    T: TaskModel,
    T::Batch: Clone,
{
    let mut optimizer = AdamConfig::new().with_epsilon(1e-8).init();
    let mut times = TrainingTimes::default();
    for step in 0..warmup + steps {
        let start = Instant::now();
        let (loss, _) = task.forward_task(batch.clone());
        // No-ops on the CPU, where libtorch runs synchronously; on CUDA each phase is waited for.
        retrofit_runtime::device::synchronize();
        let forward_s = start.elapsed().as_secs_f64();
        let grads = GradientsParams::from_grads(loss.backward(), &task);
        retrofit_runtime::device::synchronize();
        let backward_s = start.elapsed().as_secs_f64() - forward_s;
        task = optimizer.step(1e-4, task, grads);
        let loss = loss.into_scalar::<f32>(); // the CPU backend is synchronous; this only reads
        let total_s = start.elapsed().as_secs_f64();
        if step >= warmup {
            let split = StepSplit { forward_s, backward_s, optimizer_s: total_s - forward_s - backward_s };
            println!(
                "INFO step {step}: forward {forward_s:.4} s, backward {backward_s:.4} s, optimizer {:.4} s",
                split.optimizer_s
            );
            times.step_s.push(total_s);
            times.splits.push(split);
        }
        times.losses.push(loss);
    }
    times
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_flops_count_the_frozen_base_twice_and_the_trainable_weights_three_times() {
        let shape = Stage6Shape {
            tokens: 10,
            attended: 0,
            d_model: 8,
            base_parameters: 1000,
            base_layers: 2,
            trainable_parameters: 100,
            inserted_blocks: 1,
        };
        assert_eq!(shape.model_flops(), 10.0 * (4.0 * 1000.0 + 6.0 * 100.0));
        let attending = Stage6Shape { attended: 16, ..shape };
        assert_eq!(attending.model_flops() - shape.model_flops(), 10.0 * 12.0 * 16.0 * 8.0 * 3.0);
    }

    #[test]
    fn split_line_round_trips() {
        let split = StepSplit { forward_s: 0.25, backward_s: 0.5, optimizer_s: 0.125 };
        assert_eq!(StepSplit::parse(&split.line()), Some(split));
        assert_eq!(StepSplit::parse("INFO step 3: forward 1 s"), None);
    }

    #[test]
    fn split_median_is_per_phase() {
        let splits = [
            StepSplit { forward_s: 1.0, backward_s: 9.0, optimizer_s: 0.5 },
            StepSplit { forward_s: 3.0, backward_s: 1.0, optimizer_s: 0.1 },
            StepSplit { forward_s: 2.0, backward_s: 2.0, optimizer_s: 0.3 },
        ];
        assert_eq!(
            StepSplit::median_of(&splits),
            Some(StepSplit { forward_s: 2.0, backward_s: 2.0, optimizer_s: 0.3 })
        );
        assert_eq!(StepSplit::median_of(&[]), None);
    }
}
