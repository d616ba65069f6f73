//! Whether a tensor is part of the autodiff graph: what the frozen-work tests read to show that
//! the backward never reaches the frozen base below the first inserted block.
//!
//! burn's autodiff records an op only when one of its inputs is tracked (a parameter that wants a
//! gradient, or a tensor computed from one); an op whose inputs are all untracked is computed
//! without a graph node, so the backward neither visits it nor computes a gradient for any of its
//! inputs. `Tensor::is_require_grad` answers only for leaves; [`is_tracked`] answers for any
//! tensor, by asking the graph as a custom op does when it prepares its backward.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, NodeGuard, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, LibTorch, backend_extension};
use burn::tensor::Tensor;

/// The graph question on each backend: a backend without autodiff tracks nothing.
#[backend_extension(LibTorch, Autodiff)]
pub trait GraphTrackingBackend: Backend {
    /// Whether a backward would reach `tensor` (it is tracked by the autodiff graph).
    fn float_is_tracked(tensor: FloatTensor<Self>) -> bool;
}

impl GraphTrackingBackend for LibTorch {
    fn float_is_tracked(_tensor: FloatTensor<Self>) -> bool {
        false
    }
}

impl<B: Backend, C: CheckpointStrategy> GraphTrackingBackend for Autodiff<B, C> {
    fn float_is_tracked(tensor: FloatTensor<Self>) -> bool {
        node_is_tracked::<B, C>(tensor.node())
    }
}

/// Whether the tensor behind `node` is part of a graph that wants gradients: a probe op with it
/// as its one parent is tracked exactly when the parent is.
pub(crate) fn node_is_tracked<B: Backend, C: CheckpointStrategy>(node: NodeGuard) -> bool {
    #[derive(Debug)]
    struct Probe;
    impl<B: Backend> Backward<B, 1> for Probe {
        type State = ();
        fn backward(self, _: Ops<(), 1>, _: &mut Gradients, _: &mut Checkpointer) {}
    }
    matches!(<Probe as Backward<B, 1>>::prepare::<C>(Probe, [node]).compute_bound().stateful(), OpsKind::Tracked(_))
}

/// Whether a backward from a loss computed from `tensor` would reach it: `false` on a backend
/// without autodiff, for a tensor computed only from frozen parameters and data, and after
/// `detach`.
pub fn is_tracked<const D: usize>(tensor: &Tensor<D>) -> bool {
    <burn::backend::Dispatch as GraphTrackingBackend>::float_is_tracked(tensor.clone().into_dispatch())
}
