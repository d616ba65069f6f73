//! Stopping a run whose loss or gradient norm stops being a finite number: every step checks
//! both; the first non-finite one skips its update (the weights stay those of the last good
//! step), stops the Learner through its interrupter and is reported with its step.

use std::fmt;
use std::sync::{Arc, Mutex};

use burn::train::Interrupter;

/// Where and how a run diverged.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Divergence {
    /// 1-based training step.
    pub step: usize,
    pub loss: f64,
    /// The global gradient norm before clipping (`None` where nothing has a gradient).
    pub grad_norm: Option<f64>,
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "training diverged at step {}: loss {}", self.step, self.loss)?;
        if let Some(norm) = self.grad_norm {
            write!(f, ", gradient norm {norm}")?;
        }
        write!(f, " (the update of that step was skipped; lower training.learning_rate or clip the gradient norm)")
    }
}

/// Shared by every clone of the trained model that the Learner makes.
#[derive(Clone, Default)]
pub struct DivergenceGuard {
    interrupter: Interrupter,
    diverged: Arc<Mutex<Option<Divergence>>>,
}

impl fmt::Debug for DivergenceGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DivergenceGuard").field("diverged", &self.diverged()).finish()
    }
}

impl DivergenceGuard {
    /// A guard that stops the Learner run by `interrupter`.
    pub fn new(interrupter: Interrupter) -> Self {
        Self { interrupter, diverged: Arc::default() }
    }

    /// Checks one step's loss and gradient norm; `false` (and the Learner told to stop) when
    /// either is not finite.
    pub fn check(&self, step: usize, loss: f64, grad_norm: Option<f64>) -> bool {
        if loss.is_finite() && grad_norm.is_none_or(f64::is_finite) {
            return true;
        }
        let divergence = Divergence { step, loss, grad_norm };
        let mut diverged = self.diverged.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if diverged.is_none() {
            tracing::error!("{divergence}");
            *diverged = Some(divergence);
        }
        self.interrupter.stop(Some("non-finite loss or gradient norm"));
        false
    }

    /// Stops the Learner after the current step (Ctrl-C).
    pub fn interrupt(&self) {
        self.interrupter.stop(Some("interrupted by Ctrl-C"));
    }

    /// The first divergence, if any.
    pub fn diverged(&self) -> Option<Divergence> {
        *self.diverged.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
