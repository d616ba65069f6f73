//! Next-token prediction as a task the training harness trains.

use crate::fused_softmax::log_softmax;
use burn::module::{Module, ModuleDisplay};
use burn::tensor::{ExecutionError, Int, Tensor};
use burn::train::ItemLazy;
use burn::train::metric::{Adaptor, LossInput};
use retrofit_data::lm_batch::LmBatch;

use crate::training::{BitsPerByteInput, CarriedStatePartInput, TaskModel};

/// A model that predicts the next token at every position of its input.
pub trait CausalLm: Module + ModuleDisplay + 'static {
    /// Logits of the next token; position `i` sees inputs `0..=i` only.
    ///
    /// # Shapes
    /// - `inputs`: `[batch, seq]`
    /// - output: `[batch, seq, vocab]`
    fn logits(&self, inputs: Tensor<2, Int>) -> Tensor<3>;
}

/// Negative log-likelihood (nats) of `targets` under `logits`.
///
/// # Shapes
/// - `logits`: `[batch, seq, vocab]`
/// - `targets`: `[batch, seq]`
/// - output: `[batch, seq]`
pub fn token_nll(logits: Tensor<3>, targets: Tensor<2, Int>) -> Tensor<2> {
    let [batch, seq, _] = logits.dims();
    log_softmax(logits, 2).gather(2, targets.unsqueeze_dim::<3>(2)).reshape([batch, seq]).neg()
}

/// Cross-entropy language modelling of a [`CausalLm`] on windows of text.
#[derive(Module, Debug)]
pub struct LanguageModeling<M: Module> {
    pub lm: M,
}

/// What the metrics of one language-model batch read.
#[derive(Debug, Clone)]
pub struct LmOutput {
    /// Mean NLL of each window. `[batch]`
    pub window_losses: Tensor<1>,
    /// Targets per window.
    pub context: usize,
    /// UTF-8 bytes of the batch's targets.
    pub target_bytes: usize,
    /// Mean NLL of each window with the recurrent state reset before it, where the batch was
    /// also read that way (validation of a model that carries a state). `[batch]`
    pub reset_window_losses: Option<Tensor<1>>,
    /// ... and with every window reading another stream's state (`StateCarry::Shuffled`, from
    /// another stream's carried state), where the batch was also read that way. `[batch]`
    pub shuffled_window_losses: Option<Tensor<1>>,
}

impl LmOutput {
    /// From the NLL of every target (`[batch, seq]`) and the bytes they stand for.
    pub fn new(nll: Tensor<2>, target_bytes: usize) -> Self {
        let [batch, context] = nll.dims();
        Self {
            window_losses: nll.mean_dim(1).reshape([batch]),
            context,
            target_bytes,
            reset_window_losses: None,
            shuffled_window_losses: None,
        }
    }

    /// With the NLL of every target read with the state reset before each window (`[batch, seq]`).
    pub fn with_reset(self, reset_nll: Tensor<2>) -> Self {
        let [batch, _] = reset_nll.dims();
        Self { reset_window_losses: Some(reset_nll.mean_dim(1).reshape([batch])), ..self }
    }

    /// With the NLL of every target read with another stream's state (`[batch, seq]`).
    pub fn with_shuffled(self, shuffled_nll: Tensor<2>) -> Self {
        let [batch, _] = shuffled_nll.dims();
        Self { shuffled_window_losses: Some(shuffled_nll.mean_dim(1).reshape([batch])), ..self }
    }
}

impl<M: CausalLm> TaskModel for LanguageModeling<M> {
    type Batch = LmBatch;
    type Output = LmOutput;

    fn forward_task(&self, batch: LmBatch) -> (Tensor<1>, LmOutput) {
        let nll = token_nll(self.lm.logits(batch.inputs), batch.targets);
        let output = LmOutput::new(nll, batch.target_bytes);
        (output.window_losses.clone().mean(), output)
    }
}

impl ItemLazy for LmOutput {
    fn sync(self) -> Result<Self, ExecutionError> {
        self.window_losses.device().flush()?;
        Ok(Self {
            window_losses: self.window_losses.without_autodiff(),
            reset_window_losses: self.reset_window_losses.map(|losses| losses.without_autodiff()),
            ..self
        })
    }
}

impl Adaptor<LossInput> for LmOutput {
    /// One entry per window, so that the epoch's loss is the mean over windows.
    fn adapt(&self) -> LossInput {
        LossInput::new(self.window_losses.clone())
    }
}

impl Adaptor<BitsPerByteInput> for LmOutput {
    fn adapt(&self) -> BitsPerByteInput {
        BitsPerByteInput {
            nll_sum: self.window_losses.clone().sum().mul_scalar(self.context as f64),
            bytes: self.target_bytes,
        }
    }
}

impl Adaptor<CarriedStatePartInput> for LmOutput {
    fn adapt(&self) -> CarriedStatePartInput {
        let sum = |losses: &Tensor<1>| losses.clone().sum().mul_scalar(self.context as f64);
        CarriedStatePartInput {
            carried_nll_sum: sum(&self.window_losses),
            reset_nll_sum: self.reset_window_losses.as_ref().map(sum),
            shuffled_nll_sum: self.shuffled_window_losses.as_ref().map(sum),
            bytes: self.target_bytes,
        }
    }
}
