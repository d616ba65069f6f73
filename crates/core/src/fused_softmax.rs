//! Softmax and log-softmax as one libtorch kernel each, with hand-written gradients.
//!
//! burn 0.22's autodiff has no softmax of its own: it records the decomposition (max, subtract,
//! exp, sum, divide) and differentiates every step, which makes attention and the language-model
//! loss several times slower to train than PyTorch. Through burn's backend-extension mechanism,
//! these ops call libtorch's fused kernels forward and use the closed-form gradients backward:
//! softmax `dx = y * (dy - sum(dy * y))`, log-softmax `dx = dy - exp(y) * sum(dy)`. Other backends
//! keep burn's own implementation.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind, unary};
use burn::backend::ops::ActivationOps;
use burn::backend::tensor::FloatTensor;

use burn::backend::{Autodiff, Backend, LibTorch, backend_extension};
use burn::tensor::Tensor;

/// The fused ops.
#[backend_extension(LibTorch, Autodiff)]
pub trait FusedSoftmaxBackend: Backend {
    fn fused_softmax(tensor: FloatTensor<Self>, dim: usize) -> FloatTensor<Self>;
    fn fused_log_softmax(tensor: FloatTensor<Self>, dim: usize) -> FloatTensor<Self>;
}

impl FusedSoftmaxBackend for LibTorch {
    fn fused_softmax(tensor: FloatTensor<Self>, dim: usize) -> FloatTensor<Self> {
        <LibTorch as ActivationOps<LibTorch>>::softmax(tensor, dim)
    }

    fn fused_log_softmax(tensor: FloatTensor<Self>, dim: usize) -> FloatTensor<Self> {
        <LibTorch as ActivationOps<LibTorch>>::log_softmax(tensor, dim)
    }
}

#[derive(Debug)]
struct SoftmaxBackward;

impl<B: Backend> Backward<B, 1> for SoftmaxBackward {
    /// The output and the dimension.
    type State = (FloatTensor<B>, usize);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let (output, dim) = ops.state;
        unary::<B, _>(ops.parents, ops.node, grads, |grad| {
            let dot = B::float_sum_dim(B::float_mul(grad.clone(), output.clone()), dim);
            B::float_mul(output, B::float_sub(grad, dot))
        });
    }
}

#[derive(Debug)]
struct LogSoftmaxBackward;

impl<B: Backend> Backward<B, 1> for LogSoftmaxBackward {
    /// The output (log-probabilities) and the dimension.
    type State = (FloatTensor<B>, usize);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let (output, dim) = ops.state;
        unary::<B, _>(ops.parents, ops.node, grads, |grad| {
            let total = B::float_sum_dim(grad.clone(), dim);
            B::float_sub(grad, B::float_mul(B::float_exp(output), total))
        });
    }
}

impl<B: FusedSoftmaxBackend, C: CheckpointStrategy> FusedSoftmaxBackend for Autodiff<B, C> {
    fn fused_softmax(tensor: FloatTensor<Self>, dim: usize) -> FloatTensor<Self> {
        match SoftmaxBackward.prepare::<C>([tensor.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let output = B::fused_softmax(tensor.into_primitive(), dim);
                prep.finish((output.clone(), dim), output)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::fused_softmax(tensor.into_primitive(), dim)),
        }
    }

    fn fused_log_softmax(tensor: FloatTensor<Self>, dim: usize) -> FloatTensor<Self> {
        match LogSoftmaxBackward.prepare::<C>([tensor.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let output = B::fused_log_softmax(tensor.into_primitive(), dim);
                prep.finish((output.clone(), dim), output)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::fused_log_softmax(tensor.into_primitive(), dim)),
        }
    }
}

/// Softmax along `dim` (last dimension by default in callers), fused on libtorch.
pub fn softmax<const D: usize>(tensor: Tensor<D>, dim: usize) -> Tensor<D> {
    Tensor::from_dispatch(<burn::backend::Dispatch as FusedSoftmaxBackend>::fused_softmax(tensor.into_dispatch(), dim))
}

/// Log-softmax along `dim`, fused on libtorch.
pub fn log_softmax<const D: usize>(tensor: Tensor<D>, dim: usize) -> Tensor<D> {
    Tensor::from_dispatch(<burn::backend::Dispatch as FusedSoftmaxBackend>::fused_log_softmax(
        tensor.into_dispatch(),
        dim,
    ))
}
