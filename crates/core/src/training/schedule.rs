//! The learning-rate schedule of a run: linear warm-up to the peak, then constant or a cosine
//! decay to a fraction of the peak at the run's last step (`training.lr_decay`). With a decay,
//! `training.epochs` is a fixed budget of optimizer steps, the same for every run of a ladder.

use burn::lr_scheduler::LrSchedulerConfig;
use burn::lr_scheduler::cosine::CosineAnnealingLrSchedulerConfig;
use burn::lr_scheduler::linear::LinearLrSchedulerConfig;
use burn::lr_scheduler::module_lr_scheduler::ModuleLrScheduler;
use burn::lr_scheduler::sequential::SequentialLrSchedulerConfig;

use super::config::{LrDecay, TrainingConfig};
use crate::CoreError;

/// The schedule of `config` for a run of `total_steps` optimizer steps: `warmup_steps` of linear
/// warm-up from `learning_rate / warmup_steps` to `learning_rate`, then the decay of
/// `config.lr_decay` over the remaining steps (the last step at `final_fraction * learning_rate`).
pub fn learning_rate_schedule(config: &TrainingConfig, total_steps: usize) -> Result<ModuleLrScheduler, CoreError> {
    let peak = config.learning_rate;
    let warmup =
        LinearLrSchedulerConfig::new(peak / config.warmup_steps.max(1) as f64, peak, config.warmup_steps.max(1));
    let schedule = match (config.lr_decay, config.warmup_steps) {
        (LrDecay::Constant, 0) => Ok(peak.into()),
        // The linear warm-up stays at its final rate, the peak, after its last step.
        (LrDecay::Constant, _) => warmup.init(),
        (LrDecay::Cosine { final_fraction }, warmup_steps) => {
            if !(0.0..=1.0).contains(&final_fraction) {
                return Err(CoreError::setting("training.lr_decay.final_fraction", "must be between 0 and 1"));
            }
            let decay_steps = total_steps.saturating_sub(warmup_steps);
            if decay_steps < 2 {
                return Err(CoreError::setting(
                    "training.lr_decay",
                    format!("a decay needs steps after the warm-up: {total_steps} steps, {warmup_steps} of warm-up"),
                ));
            }
            // The cosine's step k (from 0) is at the peak, its last (decay_steps - 1) at the floor.
            let cosine =
                CosineAnnealingLrSchedulerConfig::new(peak, decay_steps - 1).with_min_lr(final_fraction * peak);
            if warmup_steps == 0 {
                cosine.init()
            } else {
                SequentialLrSchedulerConfig::new(
                    vec![LrSchedulerConfig::Linear(warmup), LrSchedulerConfig::Cosine(cosine)],
                    vec![warmup_steps],
                )
                .init()
            }
        }
    };
    schedule.map_err(CoreError::Schedule)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rates(config: &TrainingConfig, total_steps: usize) -> Vec<f64> {
        let mut schedule = learning_rate_schedule(config, total_steps).unwrap();
        (0..total_steps).map(|_| schedule.step().base()).collect()
    }

    fn config(warmup_steps: usize, lr_decay: LrDecay) -> TrainingConfig {
        TrainingConfig { learning_rate: 1e-3, warmup_steps, lr_decay, ..TrainingConfig::default() }
    }

    #[test]
    fn warm_up_then_a_cosine_decay_to_the_final_fraction_at_the_last_step() {
        let rates = rates(&config(10, LrDecay::Cosine { final_fraction: 0.1 }), 101);
        assert!((rates[0] - 1e-4).abs() < 1e-12, "warm-up starts at peak / warmup_steps: {}", rates[0]);
        assert!(rates[..10].windows(2).all(|pair| pair[1] > pair[0]), "warm-up rises");
        assert!((rates[10] - 1e-3).abs() < 1e-12, "the first step after the warm-up is at the peak");
        assert!(rates[10..].windows(2).all(|pair| pair[1] < pair[0]), "then it only decays");
        assert!((rates[100] - 1e-4).abs() < 1e-12, "the last step at 10 % of the peak: {}", rates[100]);
        let middle = rates[10 + 45];
        // 91 steps of decay: step 45 of them is half-way.
        assert!((middle - 5.5e-4).abs() < 1e-12, "half-way down the cosine, the mean of peak and floor: {middle}");
    }

    #[test]
    fn a_constant_rate_after_the_warm_up_and_without_one() {
        let rates_warm = rates(&config(4, LrDecay::Constant), 20);
        assert!(rates_warm[4..].iter().all(|&rate| rate == 1e-3));
        assert!(rates(&config(0, LrDecay::Constant), 5).iter().all(|&rate| rate == 1e-3));
        let cosine = rates(&config(0, LrDecay::Cosine { final_fraction: 0.0 }), 11);
        assert_eq!((cosine[0], cosine[10].abs() < 1e-12), (1e-3, true));
    }

    #[test]
    fn a_decay_with_no_steps_left_or_a_fraction_outside_0_1_is_refused() {
        assert!(learning_rate_schedule(&config(10, LrDecay::Cosine { final_fraction: 0.1 }), 10).is_err());
        assert!(learning_rate_schedule(&config(1, LrDecay::Cosine { final_fraction: 1.5 }), 10).is_err());
    }
}
