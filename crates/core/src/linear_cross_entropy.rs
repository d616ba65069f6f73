//! The output head and the cross-entropy as one op, a chunk of tokens at a time, so that the
//! `[tokens, vocab]` logits and their gradient never exist whole.
//!
//! Written plainly, a language model's loss materialises the logits, their log-softmax and, in
//! the backward, a gradient of the same size several times over (49,152 x 1,024 floats are 200 MB
//! each for SmolLM2's step). Here, for each chunk of tokens, the forward computes the logits, the
//! negative log-likelihood of the targets and, when a gradient is wanted, the gradient of the loss
//! with respect to the chunk's logits, `scale * (softmax - onehot)`, and from it at once what the
//! backward needs: `d hidden = d logits · Wᵀ`, `d bias = Σ d logits`, `d W = hiddenᵀ · d logits`
//! (each only for an input that is tracked). The backward then only multiplies them by the
//! loss's incoming gradient. The matmuls are the same as the plain path's (one forward, one per
//! tracked input), so nothing is recomputed.
//!
//! That works because the op's output is the loss itself, `scale * Σ nll`, a scalar: the gradient
//! of the logits is known in the forward up to the incoming factor. The per-token NLL comes out
//! beside it without a graph, for the metrics.

use burn::backend::AutodiffBackend;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::{FloatTensor, IntTensor};
use burn::backend::{Autodiff, Backend, LibTorch, TensorMetadata, backend_extension};
use burn::tensor::{Int, Shape, Tensor};
use burn_tch::TchTensor;
use tch::{Kind, Tensor as TchRaw};

/// Logits computed at once per chunk: `tokens per chunk = max(1, CHUNK_ELEMENTS / vocab)`
/// (8 Mi floats, 32 MB: 170 tokens of SmolLM2's 49,152-word vocabulary).
pub const CHUNK_ELEMENTS: usize = 8 << 20;

/// What the op computes besides its tensors.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LossOptions {
    /// The loss is `scale * Σ nll` (`1 / tokens` for the mean).
    pub scale: f64,
    /// Tokens whose logits are computed at once.
    pub chunk_tokens: usize,
    /// Which of hidden, weight and bias get a gradient (set on `Autodiff` from the graph).
    pub wanted: [bool; 3],
}

/// The fused op.
#[backend_extension(LibTorch, Autodiff)]
pub trait LinearCrossEntropyBackend: Backend {
    /// `(scale * Σ_t nll_t, nll)` of `targets` under `hidden · weight + bias`; the loss is
    /// differentiable in `hidden`, `weight` and `bias` on `Autodiff`, the NLL is not.
    ///
    /// # Shapes
    /// - `hidden`: `[tokens, d_model]`, float32
    /// - `weight`: `[d_model, vocab]` (a transposed view is read in place), float32 or bf16: the
    ///   matmuls run in its format, the softmax in float32
    /// - `bias`: `[vocab]`, float32
    /// - `targets`: `[tokens]`
    /// - output: `[1]` and `[tokens]`
    fn linear_cross_entropy(
        hidden: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        targets: IntTensor<Self>,
        options: LossOptions,
    ) -> (FloatTensor<Self>, FloatTensor<Self>);
}

/// The forward on the backend that computes it: the loss, the NLL and the gradients of
/// `options.wanted` (times the incoming gradient 1).
pub trait LinearCrossEntropyParts: Backend {
    #[allow(clippy::type_complexity)]
    fn linear_cross_entropy_forward(
        hidden: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        targets: IntTensor<Self>,
        options: LossOptions,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, [Option<FloatTensor<Self>>; 3]);
}

impl LinearCrossEntropyBackend for LibTorch {
    fn linear_cross_entropy(
        hidden: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        targets: IntTensor<Self>,
        options: LossOptions,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        let options = LossOptions { wanted: [false; 3], ..options };
        let (loss, nll, _) = Self::linear_cross_entropy_forward(hidden, weight, bias, targets, options);
        (loss, nll)
    }
}

impl LinearCrossEntropyParts for LibTorch {
    fn linear_cross_entropy_forward(
        hidden: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        targets: IntTensor<Self>,
        options: LossOptions,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, [Option<FloatTensor<Self>>; 3]) {
        let (hidden, weight, bias, targets) = (&hidden.tensor, &weight.tensor, &bias.tensor, &targets.tensor);
        let [tokens, d_model] = hidden.size()[..] else { panic!("linear cross-entropy: hidden is not 2-D") };
        let vocab = weight.size()[1];
        let (device, compute) = (hidden.device(), weight.kind());
        let float = (Kind::Float, device);
        let chunk = options.chunk_tokens.max(1) as i64;
        let [want_hidden, want_weight, want_bias] = options.wanted;
        let nll = TchRaw::empty([tokens], float);
        let grad_hidden = want_hidden.then(|| TchRaw::empty([tokens, d_model], float));
        let mut grad_weight = want_weight.then(|| TchRaw::zeros([d_model, vocab], float));
        let mut grad_bias = want_bias.then(|| TchRaw::zeros([vocab], float));
        let mut start = 0;
        while start < tokens {
            let len = chunk.min(tokens - start);
            let rows = hidden.narrow(0, start, len);
            let rows_in = rows.to_kind(compute);
            let targets = targets.narrow(0, start, len).unsqueeze(1); // [len, 1]
            let mut logits = rows_in.mm(weight).to_kind(Kind::Float); // [len, vocab]
            let _ = logits.g_add_(bias);
            let logsumexp = logits.logsumexp([1], true); // [len, 1]
            nll.narrow(0, start, len).copy_(&(&logsumexp - logits.gather(1, &targets, false)).squeeze_dim(1));
            if options.wanted.iter().any(|&wanted| wanted) {
                // d loss / d logits = scale * (softmax - onehot), in place of the logits.
                let _ = logits.g_sub_(&logsumexp);
                let _ = logits.exp_();
                let _ = logits.scatter_add_(1, &targets, &TchRaw::full([len, 1], -1.0, float));
                let _ = logits.g_mul_scalar_(options.scale);
                let grad_logits = logits.to_kind(compute);
                if let Some(grad_hidden) = &grad_hidden {
                    grad_hidden.narrow(0, start, len).copy_(&grad_logits.mm(&weight.tr()));
                }
                if let Some(grad_bias) = &mut grad_bias {
                    let _ = grad_bias.g_add_(&logits.sum_dim_intlist(&[0i64][..], false, Kind::Float));
                }
                if let Some(grad_weight) = &mut grad_weight {
                    let _ = grad_weight.g_add_(&rows_in.tr().mm(&grad_logits));
                }
            }
            start += len;
        }
        let loss = (nll.sum(Kind::Float) * options.scale).reshape([1]);
        let grad_weight = grad_weight.map(|grad| grad.to_kind(compute));
        let grads = [grad_hidden, grad_weight, grad_bias].map(|grad| grad.map(TchTensor::new));
        (TchTensor::new(loss), TchTensor::new(nll), grads)
    }
}

#[derive(Debug)]
struct LinearCrossEntropyBackward;

impl<B: Backend> Backward<B, 3> for LinearCrossEntropyBackward {
    /// The gradients of hidden, weight and bias for an incoming gradient of 1.
    type State = [Option<FloatTensor<B>>; 3];

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let incoming = grads.consume::<B>(&ops.node); // [1]
        for (parent, grad) in ops.parents.into_iter().zip(ops.state) {
            if let (Some(parent), Some(grad)) = (parent, grad) {
                // burn multiplies tensors of one rank: the incoming `[1]` as `[1, 1]` for a matrix.
                let rank = grad.shape().num_dims();
                let incoming = B::float_reshape(incoming.clone(), Shape::from(vec![1; rank]));
                grads.register::<B>(parent.id, B::float_mul(grad, incoming));
            }
        }
    }
}

impl<B: LinearCrossEntropyParts, C: CheckpointStrategy> LinearCrossEntropyBackend for Autodiff<B, C> {
    fn linear_cross_entropy(
        hidden: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        targets: IntTensor<Self>,
        options: LossOptions,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        let wanted = [&hidden, &weight, &bias].map(|tensor| crate::training::node_is_tracked::<B, C>(tensor.node()));
        let nodes = [hidden.node(), weight.node(), bias.node()];
        let [hidden, weight, bias] = [hidden, weight, bias].map(|tensor| tensor.into_primitive());
        match LinearCrossEntropyBackward.prepare::<C>(nodes).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let options = LossOptions { wanted, ..options };
                let (loss, nll, grads) = B::linear_cross_entropy_forward(hidden, weight, bias, targets, options);
                (prep.finish(grads, loss), Self::from_inner(nll))
            }
            OpsKind::UnTracked(prep) => {
                let options = LossOptions { wanted: [false; 3], ..options };
                let (loss, nll, _) = B::linear_cross_entropy_forward(hidden, weight, bias, targets, options);
                (prep.finish(loss), Self::from_inner(nll))
            }
        }
    }
}

/// A loss and the per-token NLL it sums.
#[derive(Debug, Clone)]
pub struct TokenLoss {
    /// `scale * Σ nll`, differentiable. `[1]`
    pub loss: Tensor<1>,
    /// The NLL (nats) of every target, without a graph. `[tokens]`
    pub nll: Tensor<1>,
}

/// The cross-entropy of `targets` under the logits `hidden · weight + bias`, scaled by `scale`,
/// without materialising the logits (see the module documentation), [`CHUNK_ELEMENTS`] logits at
/// a time.
///
/// # Shapes
/// - `hidden`: `[tokens, d_model]`
/// - `weight`: `[d_model, vocab]`
/// - `bias`: `[vocab]` (zeros when `None`)
/// - `targets`: `[tokens]`
pub fn linear_cross_entropy(
    hidden: Tensor<2>,
    weight: Tensor<2>,
    bias: Option<Tensor<1>>,
    targets: Tensor<1, Int>,
    scale: f64,
) -> TokenLoss {
    let chunk_tokens = (CHUNK_ELEMENTS / weight.dims()[1].max(1)).max(1);
    linear_cross_entropy_in_chunks(hidden, weight, bias, targets, scale, chunk_tokens)
}

/// [`linear_cross_entropy`] with `chunk_tokens` tokens' logits at a time.
///
/// # Shapes
/// As [`linear_cross_entropy`].
pub fn linear_cross_entropy_in_chunks(
    hidden: Tensor<2>,
    weight: Tensor<2>,
    bias: Option<Tensor<1>>,
    targets: Tensor<1, Int>,
    scale: f64,
    chunk_tokens: usize,
) -> TokenLoss {
    type Dispatch = burn::backend::Dispatch;
    let vocab = weight.dims()[1];
    let bias = bias.unwrap_or_else(|| Tensor::zeros([vocab], &hidden.device()));
    let options = LossOptions { scale, chunk_tokens, wanted: [false; 3] };
    let (loss, nll) = <Dispatch as LinearCrossEntropyBackend>::linear_cross_entropy(
        hidden.into_dispatch(),
        weight.into_dispatch(),
        bias.into_dispatch(),
        targets.into_dispatch(),
        options,
    );
    TokenLoss { loss: Tensor::from_dispatch(loss), nll: Tensor::from_dispatch(nll) }
}
