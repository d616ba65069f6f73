use burn::module::Module;
use burn::tensor::Tensor;
use retrofit_core::language_model::{LmOutput, StateCarry};
use retrofit_core::training::TaskModel;
use retrofit_data::lm_batch::LmBatch;

use crate::model::RecurrentLm;

/// Language modelling over examples of consecutive windows (state carried within an example).
#[derive(Module, Debug)]
pub struct RecurrentLanguageModeling {
    pub model: RecurrentLm,
}

impl TaskModel for RecurrentLanguageModeling {
    type Batch = LmBatch;
    type Output = LmOutput;

    /// The frozen base stays out of the Learner's checkpoints; the stage saves the trainable
    /// part with the name of its base (see `checkpoint`).
    const CHECKPOINT_WHOLE_MODEL: bool = false;

    fn forward_task(&self, batch: LmBatch) -> (Tensor<1>, LmOutput) {
        let nll = self.model.segment_nll(batch.inputs, batch.targets, StateCarry::Carried);
        let output = LmOutput::new(nll, batch.target_bytes);
        (output.window_losses.clone().mean(), output)
    }
}
