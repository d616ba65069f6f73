//! Which implementation computes scaled-dot-product attention: libtorch's fused kernels (the
//! default, `crate::fused_attention`) or burn's own ops around [`attend`] (the reference that the
//! tests and the benchmark compare with). Every attention of the project goes through
//! [`scaled_dot_product_attention`].

use std::sync::atomic::{AtomicU8, Ordering};

use burn::tensor::Tensor;

use super::{AttentionMask, attend};
use crate::fused_attention::{AttentionOptions, AttentionRoute, fused_attention};

/// An implementation of scaled-dot-product attention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AttentionKernel {
    /// libtorch's fused kernels: the CPU flash kernels called directly on the CPU, libtorch's
    /// `scaled_dot_product_attention` with its autograd elsewhere.
    #[default]
    Fused,
    /// libtorch's `scaled_dot_product_attention` with its autograd on every device, the CPU
    /// included (what CUDA runs; here so that the CPU tests cover it).
    FusedThroughAutograd,
    /// burn's ops: matmul, scale, mask fill, fused softmax, matmul.
    Unfused,
}

static KERNEL: AtomicU8 = AtomicU8::new(0);

impl AttentionKernel {
    fn code(self) -> u8 {
        match self {
            Self::Fused => 0,
            Self::FusedThroughAutograd => 1,
            Self::Unfused => 2,
        }
    }
}

/// Chooses the implementation for every later [`scaled_dot_product_attention`] of the process.
pub fn set_attention_kernel(kernel: AttentionKernel) {
    KERNEL.store(kernel.code(), Ordering::Relaxed);
}

/// The implementation [`scaled_dot_product_attention`] uses now.
pub fn attention_kernel() -> AttentionKernel {
    match KERNEL.load(Ordering::Relaxed) {
        1 => AttentionKernel::FusedThroughAutograd,
        2 => AttentionKernel::Unfused,
        _ => AttentionKernel::Fused,
    }
}

/// `softmax(query keyᵀ · scale, masked) value` with the process-wide [`attention_kernel`].
///
/// `mask` says which keys each query sees (causality is aligned to the end, so that new queries
/// after a key/value cache see the whole cache). A query row with every key masked gets the mean
/// of all values, as [`attend`] gives it.
///
/// Grouped-query attention: `key` and `value` may have fewer heads than `query`, a divisor of
/// them; query head `h` then reads key/value head `h / (heads / kv_heads)` (transformers'
/// `repeat_kv`). The fused kernels read the shared heads in place; the unfused reference repeats
/// them.
///
/// # Shapes
/// - `query`: `[batch, heads, q_len, dim]`
/// - `key`: `[batch, kv_heads, k_len, dim]`
/// - `value`: `[batch, kv_heads, k_len, dim_v]`
/// - `mask`'s padding: `[batch, k_len]`
/// - output: `[batch, heads, q_len, dim_v]`
pub fn scaled_dot_product_attention(
    query: Tensor<4>,
    key: Tensor<4>,
    value: Tensor<4>,
    mask: &AttentionMask,
    scale: f64,
) -> Tensor<4> {
    scaled_dot_product_attention_with(attention_kernel(), query, key, value, mask, scale)
}

/// [`scaled_dot_product_attention`] with an explicit implementation.
///
/// # Shapes
/// As [`scaled_dot_product_attention`].
pub fn scaled_dot_product_attention_with(
    kernel: AttentionKernel,
    query: Tensor<4>,
    key: Tensor<4>,
    value: Tensor<4>,
    mask: &AttentionMask,
    scale: f64,
) -> Tensor<4> {
    let route = match kernel {
        AttentionKernel::Fused => AttentionRoute::Direct,
        AttentionKernel::FusedThroughAutograd => AttentionRoute::LibtorchAutograd,
        AttentionKernel::Unfused => return unfused(query, key, value, mask, scale),
    };
    let options = AttentionOptions { causal: mask.is_causal(), scale, route };
    fused_attention(query, key, value, mask.padding().cloned(), options)
}

/// The reference: burn's ops around [`attend`].
fn unfused(query: Tensor<4>, key: Tensor<4>, value: Tensor<4>, mask: &AttentionMask, scale: f64) -> Tensor<4> {
    let heads = query.dims()[1];
    let (key, value) = (repeat_kv(key, heads), repeat_kv(value, heads));
    let (q_len, k_len) = (query.dims()[2], key.dims()[2]);
    let scores = query.matmul(key.swap_dims(2, 3)).mul_scalar(scale); // [batch, heads, q_len, k_len]
    attend(scores, mask.to_bool(q_len, k_len, &value.device()), value)
}

/// Each key/value head repeated for the query heads that share it (transformers' `repeat_kv`).
///
/// # Shapes
/// `[batch, kv_heads, len, dim]` → `[batch, heads, len, dim]`
fn repeat_kv(x: Tensor<4>, heads: usize) -> Tensor<4> {
    let [batch, kv_heads, len, dim] = x.dims();
    if kv_heads == heads {
        return x;
    }
    let repeats = heads / kv_heads;
    x.unsqueeze_dim::<5>(2).expand([batch, kv_heads, repeats, len, dim]).reshape([batch, heads, len, dim])
}
