use burn::module::Module;
use burn::tensor::{Int, Tensor};
use retrofit_core::decoder::Decoder;
use retrofit_core::gpt2::Gpt2;
use retrofit_core::language_model::CausalLm;
use retrofit_core::llama::Llama;

use crate::former::FormerLm;

/// The generator of either architecture.
#[derive(Module, Debug)]
#[allow(clippy::large_enum_variant)] // one per run
pub enum Generator {
    Former(FormerLm),
    Gpt2(Gpt2),
    Llama(Llama),
}

impl Generator {
    /// Positions the model sees at once.
    pub fn context(&self) -> usize {
        match self {
            Self::Former(model) => model.context(),
            Self::Gpt2(model) => model.n_positions,
            Self::Llama(model) => model.max_positions(),
        }
    }
}

impl CausalLm for Generator {
    fn logits(&self, inputs: Tensor<2, Int>) -> Tensor<3> {
        match self {
            Self::Former(model) => model.forward(inputs),
            Self::Gpt2(model) => model.forward(inputs),
            Self::Llama(model) => model.forward(inputs),
        }
    }
}
