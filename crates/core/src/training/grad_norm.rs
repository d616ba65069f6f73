//! The global gradient norm (before clipping) as a Learner metric, and clipping by it.

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::{Tensor, TensorReadError};

use super::mean_metric::{MeanMetric, StepValue};

struct SquaredSum<'a> {
    grads: &'a GradientsParams,
    sum: Option<Tensor<1>>,
}

impl ModuleVisitor for SquaredSum<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(grad) = self.grads.get::<D>(param.id) {
            let squared = grad.square().sum();
            self.sum = Some(match self.sum.take() {
                Some(sum) => sum + squared,
                None => squared,
            });
        }
    }
}

struct Scale<'a> {
    grads: &'a mut GradientsParams,
    factor: Tensor<1>,
}

impl ModuleVisitor for Scale<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(grad) = self.grads.remove::<D>(param.id) {
            let factor = self.factor.clone().reshape([1; D]);
            self.grads.register::<D>(param.id, grad * factor);
        }
    }
}

/// The L2 norm of all gradients of `module` together, and the gradients scaled so that this
/// norm is at most `max_norm` (PyTorch's `clip_grad_norm_`; `None` leaves them as they are). Everything stays on the device: no synchronisation.
///
/// # Shapes
/// the returned norm: `[1]`
pub fn clip_by_global_norm<M: Module>(
    module: &M,
    mut grads: GradientsParams,
    max_norm: Option<f64>,
) -> (GradientsParams, Option<Tensor<1>>) {
    let mut squared = SquaredSum { grads: &grads, sum: None };
    module.visit(&mut squared);
    let Some(norm) = squared.sum.map(Tensor::sqrt) else {
        return (grads, None);
    };
    if let Some(max_norm) = max_norm {
        let factor = (norm.clone() + 1e-6).recip().mul_scalar(max_norm).clamp_max(1.0);
        module.visit(&mut Scale { grads: &mut grads, factor });
    }
    (grads, Some(norm))
}

/// What [`GradNormMetric`] reads: the norm of one step, already read back with its loss.
#[derive(Debug, Clone)]
pub struct GradNormInput {
    pub norm: Option<f64>,
}

/// The global gradient norm before clipping, averaged over an epoch's steps.
pub struct GradNorm;

/// The gradient-norm Learner metric.
pub type GradNormMetric = MeanMetric<GradNorm>;

impl StepValue for GradNorm {
    type Input = GradNormInput;
    const NAME: &'static str = "Grad Norm";

    fn read(input: &GradNormInput) -> Result<Option<(f64, usize)>, TensorReadError> {
        Ok(input.norm.map(|norm| (norm, 1)))
    }
}
