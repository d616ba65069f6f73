//! `just bench`: the workloads of `../shared/bench/README.md` on our code, timed the same way as
//! the PyTorch reference (one random batch reused, Adam 1e-4, warm-up steps untimed, median of the
//! timed steps) and printed in the same `BENCH` line format.

use std::time::Instant;

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Distribution, Int, Tensor};
use retrofit_core::fused_softmax::log_softmax;

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

/// Times `steps` training steps (after `warmup` untimed ones) of `model` on one fixed batch:
/// zero grads, forward, cross-entropy (mean), backward, Adam step. Returns each timed step's
/// seconds and every step's loss.
pub fn time_training<M, F>(mut model: M, warmup: usize, steps: usize, forward_loss: F) -> (Vec<f64>, Vec<f32>)
where
    M: Module,
    F: Fn(&M) -> Tensor<1>,
{
    let mut optimizer = AdamConfig::new().with_epsilon(1e-8).init();
    let mut times = Vec::with_capacity(steps);
    let mut losses = Vec::with_capacity(warmup + steps);
    for step in 0..warmup + steps {
        let start = Instant::now();
        let loss = forward_loss(&model);
        let forward_s = start.elapsed().as_secs_f64();
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let backward_s = start.elapsed().as_secs_f64() - forward_s;
        model = optimizer.step(1e-4, model, grads);
        let loss = loss.into_scalar::<f32>(); // the CPU backend is synchronous; this only reads
        let total_s = start.elapsed().as_secs_f64();
        if step >= warmup {
            times.push(total_s);
            println!(
                "INFO step {step}: forward {forward_s:.4} s, backward {backward_s:.4} s, optimizer {:.4} s",
                total_s - forward_s - backward_s
            );
        }
        losses.push(loss);
    }
    (times, losses)
}

/// Mean cross-entropy of logits `[n, classes]` against targets `[n]`, through the fused
/// log-softmax that our training uses (burn's `CrossEntropyLoss` differentiates log-softmax as
/// its decomposition, which costs seconds over GPT-2's 50,257 logits per position).
pub fn cross_entropy(logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
    log_softmax(logits, 1).gather(1, targets.unsqueeze_dim::<2>(1)).neg().mean()
}
