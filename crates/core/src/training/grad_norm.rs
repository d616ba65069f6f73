//! The global gradient norm (before clipping) as a Learner metric, and clipping by it.

use std::sync::Arc;

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::{Tensor, TensorReadError};
use burn::train::metric::state::{FormatOptions, NumericMetricState};
use burn::train::metric::{
    Metric, MetricAttributes, MetricMetadata, MetricName, Numeric, NumericAttributes, NumericEntry,
    SerializedEntry,
};

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
/// norm is at most `max_norm` (PyTorch's `clip_grad_norm_`; `max_norm <= 0` leaves them as
/// they are). Everything stays on the device: no synchronisation.
///
/// # Shapes
/// the returned norm: `[1]`
pub fn clip_by_global_norm<M: Module>(
    module: &M,
    mut grads: GradientsParams,
    max_norm: f64,
) -> (GradientsParams, Option<Tensor<1>>) {
    let mut squared = SquaredSum { grads: &grads, sum: None };
    module.visit(&mut squared);
    let Some(norm) = squared.sum.map(Tensor::sqrt) else {
        return (grads, None);
    };
    if max_norm > 0.0 {
        let factor = (norm.clone() + 1e-6).recip().mul_scalar(max_norm).clamp_max(1.0);
        module.visit(&mut Scale { grads: &mut grads, factor });
    }
    (grads, Some(norm))
}

/// What [`GradNormMetric`] reads: the norm of one step.
#[derive(Debug, Clone)]
pub struct GradNormInput {
    pub norm: Option<Tensor<1>>,
}

/// The global gradient norm before clipping, averaged over an epoch's steps.
#[derive(Clone, Default)]
pub struct GradNormMetric {
    state: NumericMetricState,
}

impl GradNormMetric {
    pub const NAME: &'static str = "Grad Norm";
}

impl Metric for GradNormMetric {
    type Input = GradNormInput;

    fn name(&self) -> MetricName {
        Arc::new(Self::NAME.to_string())
    }

    fn attributes(&self) -> MetricAttributes {
        NumericAttributes { unit: None, higher_is_better: false }.into()
    }

    fn update(&mut self, item: &GradNormInput, _metadata: &MetricMetadata) -> Result<SerializedEntry, TensorReadError> {
        if let Some(norm) = &item.norm {
            let value = norm.clone().try_into_scalar::<f64>()?;
            self.state.update(value, 1);
        }
        Ok(self.state.compute_update(FormatOptions::new(self.name()).precision(4)))
    }

    fn compute(&mut self) -> Result<SerializedEntry, TensorReadError> {
        Ok(self.state.compute_final(FormatOptions::new(self.name()).precision(4)))
    }

    fn clear(&mut self) {
        self.state.reset();
    }
}

impl Numeric for GradNormMetric {
    fn value(&self) -> Option<NumericEntry> {
        Some(self.state.current_value())
    }

    fn running_value(&self) -> Option<NumericEntry> {
        Some(self.state.running_value())
    }

    fn final_value(&self) -> NumericEntry {
        self.state.final_value()
    }
}
