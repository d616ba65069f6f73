//! `memory`: slots carried from window to window, read by the inserted blocks with attention
//! (their tokens query the slots) and written after each window: the slots query the window's
//! final hidden states, and each slot takes a gated share of what it read,
//! `m' = (1 - z) * m + z * read`, `z = sigmoid(gate([m, read]))` (a GRU-like update, as the
//! Block-Recurrent Transformer gates its state).

use burn::module::{Module, Param};
use burn::nn::attention::{MhaInput, MultiHeadAttention, MultiHeadAttentionConfig};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Distribution, Tensor};

/// The learned initial memory and the write.
#[derive(Module, Debug)]
pub struct MemoryState {
    /// The memory every stream starts from, and returns to on a reset. `[slots, d_model]`
    pub initial: Param<Tensor<2>>,
    pub write: MultiHeadAttention,
    /// `[2 * d_model, d_model]`
    pub gate: Linear,
}

impl MemoryState {
    pub fn new(slots: usize, d_model: usize, heads: usize, device: &Device) -> Self {
        Self {
            initial: Param::from_tensor(Tensor::random([slots, d_model], Distribution::Normal(0.0, 1.0), device)),
            write: MultiHeadAttentionConfig::new(d_model, heads).with_dropout(0.0).init(device),
            gate: LinearConfig::new(2 * d_model, d_model).init(device),
        }
    }

    /// # Shapes
    /// - `hidden`: `[batch, seq, d_model]`, `memory`: `[batch, slots, d_model]` → `[batch, slots, d_model]`
    pub fn update(&self, hidden: Tensor<3>, memory: Tensor<3>) -> Tensor<3> {
        let read = self.write.forward(MhaInput::new(memory.clone(), hidden.clone(), hidden)).context;
        let share = sigmoid(self.gate.forward(Tensor::cat(vec![memory.clone(), read.clone()], 2)));
        memory.clone() + (read - memory) * share
    }
}
