//! `segment-state`: one vector carried from window to window. After each window a GRU cell
//! updates it from the mean of the window's final hidden states; the next window's inserted
//! blocks add a learned projection of it (`cond`) to their input.

use burn::module::Module;
use burn::nn::{Gru, GruConfig, Initializer, Linear, LinearConfig};
use burn::tensor::{Device, Tensor};

/// The GRU cell that writes the state and the projection the inserted blocks read.
#[derive(Module, Debug)]
pub struct SegmentState {
    pub cell: Gru,
    pub project: Linear,
}

impl SegmentState {
    /// No bias and small weights in the projection: a zero state adds nothing, and a small one
    /// little.
    pub fn new(d_model: usize, state_size: usize, device: &Device) -> Self {
        Self {
            cell: GruConfig::new(d_model, state_size, true).init(device),
            project: LinearConfig::new(state_size, d_model)
                .with_bias(false)
                .with_initializer(Initializer::Normal { mean: 0.0, std: 0.02 })
                .init(device),
        }
    }

    /// The state's size.
    pub fn size(&self) -> usize {
        self.project.weight.dims()[0]
    }

    /// A stream's start: the zero vector. `[batch, state_size]`
    pub fn start(&self, batch: usize, device: &Device) -> Tensor<2> {
        Tensor::zeros([batch, self.size()], device)
    }

    /// What every position of the next window's inserted blocks adds to its input.
    ///
    /// # Shapes
    /// - `state`: `[batch, state_size]`
    /// - output: `[batch, 1, d_model]`
    pub fn cond(&self, state: Tensor<2>) -> Tensor<3> {
        self.project.forward(state).unsqueeze_dim(1)
    }

    /// # Shapes
    /// - `hidden`: `[batch, seq, d_model]`, `state`: `[batch, state_size]` → `[batch, state_size]`
    pub fn update(&self, hidden: Tensor<3>, state: Tensor<2>) -> Tensor<2> {
        let [batch, _, _] = hidden.dims();
        let summary = hidden.mean_dim(1); // [batch, 1, d_model]
        let next = self.cell.forward(summary, Some(state)); // [batch, 1, state_size]
        let [_, _, size] = next.dims();
        next.reshape([batch, size])
    }
}
