//! Self-attention in the forms the thesis compares: parameter-free simple attention and
//! multi-head attention ("narrow" and "wide", after Peter Bloem's `former`).

mod kernel;
mod masks;
mod multi_head;
mod simple;

pub use kernel::{
    AttentionKernel, attention_kernel, scaled_dot_product_attention, scaled_dot_product_attention_with,
    set_attention_kernel,
};
pub use masks::AttentionMask;
pub use multi_head::{HeadForm, MultiHeadSelfAttention, MultiHeadSelfAttentionConfig};
pub use simple::SimpleSelfAttention;

use crate::fused_softmax::softmax;
use burn::tensor::{Bool, Tensor};

/// Score given to masked positions: exp() of it is exactly 0 in f32, and a row that still has
/// one unmasked position never turns into NaN as -inf could.
pub const MASKED_SCORE: f32 = -1.0e9;

/// `softmax(scores masked) · values`: the unfused reference of [`scaled_dot_product_attention`].
///
/// # Shapes
/// - `scores`: `[batch, heads, query, key]`
/// - `mask`: broadcastable to `scores`, `true` where a key must not be attended to
/// - `values`: `[batch, heads, key, dim]`
/// - output: `[batch, heads, query, dim]`
pub fn attend(scores: Tensor<4>, mask: Option<Tensor<4, Bool>>, values: Tensor<4>) -> Tensor<4> {
    let scores = match mask {
        Some(mask) => {
            let [b, h, q, k] = scores.dims();
            scores.mask_fill(mask.expand([b, h, q, k]), MASKED_SCORE)
        }
        None => scores,
    };
    softmax(scores, 3).matmul(values)
}
