//! Scaled-dot-product attention as one libtorch op, forward and backward.
//!
//! burn 0.22 records attention as its pieces (matmul, scale, mask fill, softmax, matmul) and
//! differentiates each. Through burn's backend-extension mechanism (as `fused_softmax.rs`), this
//! op runs libtorch's fused kernels instead:
//!
//! - **CPU**: `_scaled_dot_product_flash_attention_for_cpu`, which returns the log-sum-exp of
//!   every query row, and its matching `_scaled_dot_product_flash_attention_for_cpu_backward`.
//!   Both take `is_causal` and an additive float mask, so every case below runs on them.
//! - **Any other device (CUDA)**, or [`AttentionRoute::LibtorchAutograd`]: libtorch's
//!   `scaled_dot_product_attention`, which picks flash, memory-efficient, cuDNN or the math
//!   kernel itself, recorded by libtorch's own autograd inside the op; the backward asks that
//!   graph for the gradients, i.e. runs the backward kernel matching whichever forward libtorch
//!   chose.
//!
//! The mask cases ([`plan`]), decided from the options and the shapes alone, in the forward and
//! again in the backward, with nothing read back from the device:
//! - no padding, not causal: no mask.
//! - no padding, causal, `q_len == k_len`: `is_causal` (start and end alignment agree there).
//! - no padding, causal, `q_len == 1` (one new token after a cache): no mask, it sees every key.
//! - no padding, causal, any other `q_len != k_len`: an explicit mask aligned to the end, query
//!   `i` sees keys `j ≤ i + k_len - q_len` (libtorch's `is_causal` aligns to the start).
//! - padded keys (`[batch, k_len]`), causal or not: the causal part OR-ed in, as an additive float
//!   mask, `0` or [`MASKED_SCORE`] (the CPU flash kernel takes no boolean mask).
//!
//! A query row whose keys are all masked (left padding under a causal mask) gets what
//! `crate::attention::attend` gives it: `attend` fills masked scores with the finite
//! [`MASKED_SCORE`], so such a row is the mean of all values, and no gradient reaches its query
//! or the keys through it. Here the row is unmasked and its query set to zero (uniform weights,
//! the same mean), and the query's gradient on that row is set to zero; the keys get none from
//! it since the query is zero. Nothing turns into NaN.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::{BoolTensor, FloatTensor};
use burn::backend::{Autodiff, Backend, LibTorch, backend_extension};
use burn::tensor::{Bool, Tensor};
use burn_tch::TchTensor;
use tch::{Kind, Tensor as TchRaw};

use crate::attention::MASKED_SCORE;

/// Which libtorch entry point runs the attention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AttentionRoute {
    /// The CPU flash kernels called directly on the CPU; [`Self::LibtorchAutograd`] elsewhere.
    #[default]
    Direct,
    /// `scaled_dot_product_attention` under libtorch's autograd on every device (what non-CPU
    /// devices always use; selectable on the CPU so that the tests cover it).
    LibtorchAutograd,
}

/// What one attention call computes besides its tensors.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AttentionOptions {
    /// Query `i` sees only keys `j ≤ i + k_len - q_len` (aligned to the end, as with a cache).
    pub causal: bool,
    /// Factor of the dot products, usually `1 / sqrt(head_dim)`.
    pub scale: f64,
    /// The libtorch entry point.
    pub route: AttentionRoute,
}

/// The fused attention ops.
#[backend_extension(LibTorch, Autodiff)]
pub trait FusedAttentionBackend: Backend {
    /// `softmax(q kᵀ · scale) v`, differentiable on `Autodiff`.
    fn fused_attention(
        query: FloatTensor<Self>,
        key: FloatTensor<Self>,
        value: FloatTensor<Self>,
        options: AttentionOptions,
    ) -> FloatTensor<Self>;

    /// `softmax(q kᵀ · scale, masked) v`, differentiable on `Autodiff`; `mask` (`[batch, k_len]`)
    /// is `true` at keys that must not be attended to.
    fn fused_attention_masked(
        query: FloatTensor<Self>,
        key: FloatTensor<Self>,
        value: FloatTensor<Self>,
        mask: BoolTensor<Self>,
        options: AttentionOptions,
    ) -> FloatTensor<Self>;
}

/// The two halves of the differentiable op, on the backend that computes them.
pub trait FusedAttentionParts: Backend {
    /// The forward: the output and what [`Self::attention_backward`] needs.
    fn attention_forward(
        query: FloatTensor<Self>,
        key: FloatTensor<Self>,
        value: FloatTensor<Self>,
        mask: Option<BoolTensor<Self>>,
        options: AttentionOptions,
        save: bool,
    ) -> (FloatTensor<Self>, Vec<FloatTensor<Self>>);

    /// The gradients of query, key and value from the output's gradient and the saved tensors.
    fn attention_backward(
        grad: FloatTensor<Self>,
        saved: Vec<FloatTensor<Self>>,
        mask: Option<BoolTensor<Self>>,
        options: AttentionOptions,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
}

/// The kernel arguments one call resolves to.
struct Plan {
    /// `is_causal` for the kernel (only with `q_len == k_len`).
    causal: bool,
    /// `0` where attended, [`MASKED_SCORE`] where masked, broadcastable to the scores.
    additive: Option<TchRaw>,
    /// `[.., q_len, 1]`, `true` on query rows whose keys were all masked (unmasked in `additive`).
    empty_rows: Option<TchRaw>,
}

/// `true` above the diagonal shifted to the end: key `j` is hidden from query `i` when
/// `j > i + k_len - q_len`. `[1, 1, q_len, k_len]`
fn causal_bool(q_len: i64, k_len: i64, device: tch::Device) -> TchRaw {
    TchRaw::ones([q_len, k_len], (Kind::Bool, device)).triu(k_len - q_len + 1).view([1, 1, q_len, k_len])
}

/// Resolves the mask cases of the module documentation. `padding`: `[batch, k_len]`.
fn plan(query: &TchRaw, key: &TchRaw, padding: Option<&TchRaw>, causal: bool) -> Plan {
    let q_len = query.size()[2];
    let k_len = key.size()[2];
    let device = query.device();
    // One query after a cache sees every key.
    let causal = causal && q_len > 1;
    let mask = match (padding, causal) {
        (None, false) => return Plan { causal: false, additive: None, empty_rows: None },
        (None, true) if q_len == k_len => return Plan { causal: true, additive: None, empty_rows: None },
        // End-aligned with at least as many keys as queries: every query sees key 0.
        (None, true) if q_len < k_len => {
            let additive = TchRaw::zeros([1, 1, q_len, k_len], (query.kind(), device))
                .masked_fill(&causal_bool(q_len, k_len, device), MASKED_SCORE as f64);
            return Plan { causal: false, additive: Some(additive), empty_rows: None };
        }
        (None, true) => causal_bool(q_len, k_len, device),
        (Some(padding), causal) => {
            let keys = padding.view([padding.size()[0], 1, 1, k_len]);
            if causal {
                keys.logical_or(&causal_bool(q_len, k_len, device))
            } else {
                keys.expand([-1, 1, q_len, k_len], false)
            }
        }
    };
    // Rows whose keys are all masked (left padding under a causal mask) are unmasked, their
    // query zeroed: computed whether or not there are any, so that nothing is read back.
    let empty = mask.all_dim(-1, true); // [.., q_len, 1]
    let mask = mask.logical_and(&empty.logical_not());
    let additive = TchRaw::zeros(mask.size(), (query.kind(), device)).masked_fill(&mask, MASKED_SCORE as f64);
    Plan { causal: false, additive: Some(additive), empty_rows: Some(empty) }
}

/// The query with the rows of `empty_rows` set to zero (uniform attention there).
fn query_for(query: &TchRaw, plan: &Plan) -> TchRaw {
    match &plan.empty_rows {
        Some(empty) => query.masked_fill(empty, 0.0),
        None => query.shallow_clone(),
    }
}

fn uses_cpu_kernel(query: &TchRaw, value: &TchRaw, route: AttentionRoute) -> bool {
    route == AttentionRoute::Direct && query.device() == tch::Device::Cpu && query.size()[3] == value.size()[3]
}

/// Forward on the CPU flash kernel: output and log-sum-exp.
fn cpu_forward(query: &TchRaw, key: &TchRaw, value: &TchRaw, plan: &Plan, scale: f64) -> (TchRaw, TchRaw) {
    TchRaw::internal_scaled_dot_product_flash_attention_for_cpu(
        &query_for(query, plan),
        key,
        value,
        0.0,
        plan.causal,
        plan.additive.as_ref(),
        scale,
    )
}

/// Forward through libtorch's dispatcher (flash, memory-efficient, cuDNN or math), recorded by
/// libtorch's autograd when the inputs require gradients; `enable_gqa` when the key/value heads
/// are fewer than the query heads.
fn autograd_forward(query: &TchRaw, key: &TchRaw, value: &TchRaw, plan: &Plan, scale: f64) -> TchRaw {
    TchRaw::scaled_dot_product_attention(
        &query_for(query, plan),
        key,
        value,
        plan.additive.as_ref(),
        0.0,
        plan.causal,
        scale,
        query.size()[1] != key.size()[1],
    )
}

impl FusedAttentionBackend for LibTorch {
    fn fused_attention(
        query: FloatTensor<Self>,
        key: FloatTensor<Self>,
        value: FloatTensor<Self>,
        options: AttentionOptions,
    ) -> FloatTensor<Self> {
        Self::attention_forward(query, key, value, None, options, false).0
    }

    fn fused_attention_masked(
        query: FloatTensor<Self>,
        key: FloatTensor<Self>,
        value: FloatTensor<Self>,
        mask: BoolTensor<Self>,
        options: AttentionOptions,
    ) -> FloatTensor<Self> {
        Self::attention_forward(query, key, value, Some(mask), options, false).0
    }
}

impl FusedAttentionParts for LibTorch {
    fn attention_forward(
        query: FloatTensor<Self>,
        key: FloatTensor<Self>,
        value: FloatTensor<Self>,
        mask: Option<BoolTensor<Self>>,
        options: AttentionOptions,
        save: bool,
    ) -> (FloatTensor<Self>, Vec<FloatTensor<Self>>) {
        let plan = plan(&query.tensor, &key.tensor, mask.as_ref().map(|mask| &mask.tensor), options.causal);
        if uses_cpu_kernel(&query.tensor, &value.tensor, options.route) {
            let (output, logsumexp) = cpu_forward(&query.tensor, &key.tensor, &value.tensor, &plan, options.scale);
            if !save {
                return (TchTensor::new(output), Vec::new());
            }
            // Shared storage references keep burn from overwriting the saved output in place.
            let output = TchTensor::new(output);
            let saved = vec![query, key, value, output.clone(), TchTensor::new(logsumexp)];
            (output, saved)
        } else if !save {
            let output =
                tch::no_grad(|| autograd_forward(&query.tensor, &key.tensor, &value.tensor, &plan, options.scale));
            (TchTensor::new(output), Vec::new())
        } else {
            // Every saved tensor keeps the storage reference of the burn tensor it aliases, so
            // that burn never writes into it in place (libtorch would refuse the backward).
            let leaf = |tensor: &TchTensor| TchTensor {
                tensor: tensor.tensor.detach().set_requires_grad(true),
                storage: tensor.storage.clone(),
            };
            let (query, key, value) = (leaf(&query), leaf(&key), leaf(&value));
            let recorded =
                tch::with_grad(|| autograd_forward(&query.tensor, &key.tensor, &value.tensor, &plan, options.scale));
            let output = TchTensor::new(recorded.detach());
            let recorded = TchTensor { tensor: recorded, storage: output.storage.clone() };
            (output, vec![query, key, value, recorded])
        }
    }

    fn attention_backward(
        grad: FloatTensor<Self>,
        saved: Vec<FloatTensor<Self>>,
        mask: Option<BoolTensor<Self>>,
        options: AttentionOptions,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let [query, key, value, output, rest @ ..] = saved.as_slice() else {
            panic!("fused attention: the backward got {} saved tensors, not 4 or 5", saved.len());
        };
        let (query, key, value, output) = (&query.tensor, &key.tensor, &value.tensor, &output.tensor);
        let grads = match rest {
            [logsumexp] => {
                let plan = plan(query, key, mask.as_ref().map(|mask| &mask.tensor), options.causal);
                let (grad_query, grad_key, grad_value) =
                    TchRaw::internal_scaled_dot_product_flash_attention_for_cpu_backward(
                        &grad.tensor,
                        &query_for(query, &plan),
                        key,
                        value,
                        output,
                        &logsumexp.tensor,
                        0.0,
                        plan.causal,
                        plan.additive.as_ref(),
                        options.scale,
                    );
                let grad_query = match &plan.empty_rows {
                    Some(empty) => grad_query.masked_fill(empty, 0.0),
                    None => grad_query,
                };
                [grad_query, grad_key, grad_value]
            }
            _ => tch::with_grad(|| {
                // d(sum(output * grad)) / d(leaf) is the vector-Jacobian product libtorch's
                // recorded backward kernels compute.
                let objective = (output * &grad.tensor).sum(output.kind());
                let mut grads = TchRaw::run_backward(&[objective], &[query, key, value], false, false).into_iter();
                [(); 3].map(|_| grads.next().expect("one gradient per leaf"))
            }),
        };
        let [grad_query, grad_key, grad_value] = grads.map(TchTensor::new);
        (grad_query, grad_key, grad_value)
    }
}

#[derive(Debug)]
struct AttentionBackward;

impl<B: FusedAttentionParts> Backward<B, 3> for AttentionBackward {
    /// The saved tensors, the mask and the options.
    type State = (Vec<FloatTensor<B>>, Option<BoolTensor<B>>, AttentionOptions);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let (saved, mask, options) = ops.state;
        let grad = grads.consume::<B>(&ops.node);
        let (grad_query, grad_key, grad_value) = B::attention_backward(grad, saved, mask, options);
        for (parent, grad) in ops.parents.into_iter().zip([grad_query, grad_key, grad_value]) {
            if let Some(parent) = parent {
                grads.register::<B>(parent.id, grad);
            }
        }
    }
}

/// The op on `Autodiff`: records [`AttentionBackward`] when an input is tracked.
fn tracked<B: FusedAttentionParts, C: CheckpointStrategy>(
    query: FloatTensor<Autodiff<B, C>>,
    key: FloatTensor<Autodiff<B, C>>,
    value: FloatTensor<Autodiff<B, C>>,
    mask: Option<BoolTensor<B>>,
    options: AttentionOptions,
) -> FloatTensor<Autodiff<B, C>> {
    let nodes = [query.node(), key.node(), value.node()];
    let [query, key, value] = [query, key, value].map(|tensor| tensor.into_primitive());
    match AttentionBackward.prepare::<C>(nodes).compute_bound().stateful() {
        OpsKind::Tracked(prep) => {
            let (output, saved) = B::attention_forward(query, key, value, mask.clone(), options, true);
            prep.finish((saved, mask, options), output)
        }
        OpsKind::UnTracked(prep) => prep.finish(B::attention_forward(query, key, value, mask, options, false).0),
    }
}

impl<B: FusedAttentionParts, C: CheckpointStrategy> FusedAttentionBackend for Autodiff<B, C> {
    fn fused_attention(
        query: FloatTensor<Self>,
        key: FloatTensor<Self>,
        value: FloatTensor<Self>,
        options: AttentionOptions,
    ) -> FloatTensor<Self> {
        tracked::<B, C>(query, key, value, None, options)
    }

    fn fused_attention_masked(
        query: FloatTensor<Self>,
        key: FloatTensor<Self>,
        value: FloatTensor<Self>,
        mask: BoolTensor<Self>,
        options: AttentionOptions,
    ) -> FloatTensor<Self> {
        tracked::<B, C>(query, key, value, Some(mask), options)
    }
}

/// Scaled-dot-product attention through libtorch's fused kernels (see the module documentation).
///
/// # Shapes
/// - `query`: `[batch, heads, q_len, dim]`
/// - `key`: `[batch, kv_heads, k_len, dim]` (`kv_heads` divides `heads`: grouped-query attention,
///   read in place by both kernels)
/// - `value`: `[batch, kv_heads, k_len, dim_v]`
/// - `padding`: `[batch, k_len]`, `true` at keys that must not be attended to
/// - output: `[batch, heads, q_len, dim_v]`
pub fn fused_attention(
    query: Tensor<4>,
    key: Tensor<4>,
    value: Tensor<4>,
    padding: Option<Tensor<2, Bool>>,
    options: AttentionOptions,
) -> Tensor<4> {
    type Dispatch = burn::backend::Dispatch;
    let (query, key, value) = (query.into_dispatch(), key.into_dispatch(), value.into_dispatch());
    Tensor::from_dispatch(match padding {
        Some(padding) => <Dispatch as FusedAttentionBackend>::fused_attention_masked(
            query,
            key,
            value,
            padding.into_dispatch(),
            options,
        ),
        None => <Dispatch as FusedAttentionBackend>::fused_attention(query, key, value, options),
    })
}
