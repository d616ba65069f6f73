use serde::{Deserialize, Serialize};

/// Which optimizer (`optimizer = { kind = "adam" }` or
/// `optimizer = { kind = "adamw", weight_decay = 0.01 }`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Optimizer {
    /// Adam (β = 0.9, 0.999; ε = 1e-8, as PyTorch), no weight decay.
    #[default]
    Adam,
    /// AdamW with decoupled weight decay.
    #[serde(rename = "adamw")]
    AdamW { weight_decay: f64 },
}

/// What the learning rate does after the warm-up (`lr_decay = { kind = "constant" }` or
/// `lr_decay = { kind = "cosine", final_fraction = 0.1 }`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum LrDecay {
    /// Stays at the peak.
    #[default]
    Constant,
    /// Follows a cosine from the peak down to `final_fraction` of it at the run's last step
    /// (`epochs` x the steps of an epoch): a fixed budget, the same for every run that shares it.
    Cosine { final_fraction: f64 },
}

/// The training settings every stage shares (`[training]` in a stage config).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainingConfig {
    pub optimizer: Optimizer,
    /// Peak learning rate, reached after the warm-up.
    pub learning_rate: f64,
    /// Optimizer steps of linear warm-up from `learning_rate / warmup_steps` to `learning_rate`.
    pub warmup_steps: usize,
    /// The learning rate after the warm-up: constant, or decaying to the run's last step.
    pub lr_decay: LrDecay,
    /// Passes over the training loader (at least 1).
    pub epochs: usize,
    pub batch_size: usize,
    /// Clip the global gradient norm (all parameters together, as PyTorch's `clip_grad_norm_`)
    /// to this value, or `"off"`. The norm before clipping is logged either way.
    #[serde(with = "retrofit_runtime::setting::off")]
    pub clip_grad_norm: Option<f64>,
    /// Stop when the validation loss has not improved for this many epochs (`epochs` is then
    /// the budget), or `"off"`.
    #[serde(with = "retrofit_runtime::setting::off")]
    pub patience: Option<usize>,
    /// Seed of parameter initialisation and data order.
    pub seed: u64,
    /// Data-loading threads.
    pub workers: usize,
}

impl TrainingConfig {
    /// former's IMDb classifier settings: Adam 1e-4 with 100 warm-up steps, 20 epochs of batch
    /// 32, clipping 1.0.
    pub fn former_classifier() -> Self {
        Self {
            learning_rate: 1e-4,
            warmup_steps: 100,
            epochs: 20,
            batch_size: 32,
            clip_grad_norm: Some(1.0),
            ..Self::default()
        }
    }
}

impl Default for TrainingConfig {
    fn default() -> Self {
        Self {
            optimizer: Optimizer::Adam,
            learning_rate: 1e-4,
            warmup_steps: 0,
            lr_decay: LrDecay::Constant,
            epochs: 1,
            batch_size: 32,
            clip_grad_norm: Some(1.0),
            patience: None,
            seed: 0,
            workers: 1,
        }
    }
}
