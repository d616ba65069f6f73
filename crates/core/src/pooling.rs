//! Pooling over the sequence that ignores padded positions.

use burn::tensor::{Bool, Tensor};
use serde::{Deserialize, Serialize};

/// How a sequence of vectors becomes one vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Pooling {
    /// Element-wise maximum over the real positions.
    #[default]
    Max,
    /// Mean over the real positions.
    Mean,
}

impl Pooling {
    /// # Shapes
    /// - `x`: `[batch, seq, d_model]`
    /// - `padding_mask`: `[batch, seq]`, `true` at padded positions; every row needs one real
    ///   position
    /// - output: `[batch, d_model]`
    pub fn forward(self, x: Tensor<3>, padding_mask: Option<Tensor<2, Bool>>) -> Tensor<2> {
        let [batch, seq, d_model] = x.dims();
        let mask = padding_mask.map(|mask| mask.reshape([batch, seq, 1]).expand([batch, seq, d_model]));
        match (self, mask) {
            (Self::Max, None) => x.max_dim(1).squeeze_dim(1),
            (Self::Max, Some(mask)) => x.mask_fill(mask, f32::NEG_INFINITY).max_dim(1).squeeze_dim(1),
            (Self::Mean, None) => x.mean_dim(1).squeeze_dim(1),
            (Self::Mean, Some(mask)) => {
                let real = mask.clone().bool_not().float().sum_dim(1); // [batch, 1, d_model]
                x.mask_fill(mask, 0.0).sum_dim(1).div(real).squeeze_dim(1)
            }
        }
    }
}
