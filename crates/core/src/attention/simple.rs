use burn::module::Module;
use burn::tensor::{Bool, Tensor};

use super::{AttentionMask, scaled_dot_product_attention};

/// Parameter-free self-attention: `softmax(X Xᵀ) X`, padded keys masked. Without position
/// information it is permutation-equivariant.
#[derive(Module, Debug, Default)]
pub struct SimpleSelfAttention;

impl SimpleSelfAttention {
    /// # Shapes
    /// - `x`: `[batch, seq, d_model]`
    /// - `padding_mask`: `[batch, seq]`, `true` at padded positions
    /// - output: `[batch, seq, d_model]`
    pub fn forward(&self, x: Tensor<3>, padding_mask: Option<Tensor<2, Bool>>) -> Tensor<3> {
        let x4 = x.unsqueeze_dim::<4>(1); // [batch, 1, seq, d_model]
        let mask = AttentionMask::padded(padding_mask);
        scaled_dot_product_attention(x4.clone(), x4.clone(), x4, &mask, 1.0).squeeze_dim::<3>(1)
    }
}
