//! `memory-tokens` (as the Recurrent Memory Transformer and AutoCompressors): `m` memory
//! embeddings before each window's tokens, which every layer of the frozen base reads with its
//! own attention (read), and `m` after them (write). The write positions' final hidden states,
//! through a small learned map added to the learned initial memory, become the next window's read
//! embeddings; a stream starts from (and a reset returns to) the initial memory. The read and
//! write vectors take the positions around the window's (`0..m`, the window at `m..m + seq`, the
//! write at `m + seq..2m + seq`), so a base with learned positions needs `2m + context` of them.
//! Gradient flows through the windows of one step.
//!
//! At initialisation the base already attends to the read vectors (the small initial memory in
//! every window: the map starts at zero): unlike the other recurrences, the model does not start
//! equal to the base (the write positions come after the window, so they change nothing in it).
//! The read is never the zero vector: a Llama base has no position embedding to add to it, so a
//! zero read stays exactly zero through every layer, each RMSNorm's gradient there is
//! `gamma / sqrt(eps)`, and through SmolLM2's 30 layers that product overflowed (gradient norm NaN
//! at the first step, when the map read zeros in the second window).

use burn::module::{Module, Param};
use burn::nn::{Initializer, Linear, LinearConfig};
use burn::tensor::{Device, Distribution, Tensor};

use crate::connection::per_stream;

/// The learned initial memory, the write positions' inputs and the map from what they computed
/// to the next window's read embeddings.
#[derive(Module, Debug)]
pub struct MemoryTokens {
    /// The read embeddings every stream starts from, and returns to on a reset. `[m, d_model]`
    pub initial: Param<Tensor<2>>,
    /// The inputs at the write positions. `[m, d_model]`
    pub write: Param<Tensor<2>>,
    /// `[d_model, d_model]`, from the write positions' final hidden states to read embeddings.
    pub map: Linear,
}

impl MemoryTokens {
    /// Embeddings of the scale of GPT-2's initialisation (std 0.02) and a map that starts at zero,
    /// so that the base first reads the initial memory in every window: what is written adds
    /// nothing until the map has learned (a map of random weights made the first carried memory
    /// cost 0.87 bits per byte on ladder C's base, against 0.022 for the initial one).
    pub fn new(slots: usize, d_model: usize, device: &Device) -> Self {
        let small = Distribution::Normal(0.0, 0.02);
        Self {
            initial: Param::from_tensor(Tensor::random([slots, d_model], small, device)),
            write: Param::from_tensor(Tensor::random([slots, d_model], small, device)),
            map: LinearConfig::new(d_model, d_model).with_initializer(Initializer::Zeros).init(device),
        }
    }

    /// Memory tokens on each side of a window.
    pub fn slots(&self) -> usize {
        self.initial.dims()[0]
    }

    /// # Shapes
    /// output: `[batch, m, d_model]`
    pub fn write_inputs(&self, batch: usize) -> Tensor<3> {
        per_stream(&self.write, batch)
    }

    /// The next window's read embeddings from the write positions' final hidden states: the
    /// initial memory plus what the map makes of them.
    ///
    /// # Shapes
    /// `written`: `[batch, m, d_model]` → `[batch, m, d_model]`
    pub fn update(&self, written: Tensor<3>) -> Tensor<3> {
        let [batch, _, _] = written.dims();
        per_stream(&self.initial, batch) + self.map.forward(written)
    }
}
