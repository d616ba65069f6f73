use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;

use retrofit_runtime::summary::ParameterCounts;

struct Counter(ParameterCounts);

impl ModuleVisitor for Counter {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let count = param.lazy_shape().num_elements() as u64;
        self.0.total += count;
        if param.is_require_grad() {
            self.0.trainable += count;
        }
    }
}

/// Total and trainable float parameters. `trainable` is only meaningful for a module on an
/// autodiff device (elsewhere nothing requires a gradient).
pub fn count_parameters<M: Module>(module: &M) -> ParameterCounts {
    let mut counter = Counter(ParameterCounts::default());
    module.visit(&mut counter);
    counter.0
}

struct GradientCoverage<'a> {
    grads: &'a GradientsParams,
    with_gradient: usize,
    total: usize,
}

impl ModuleVisitor for GradientCoverage<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.total += 1;
        let nonzero = self.grads.get::<D>(param.id).is_some_and(|grad| grad.abs().sum().into_scalar::<f32>() > 0.0);
        if nonzero {
            self.with_gradient += 1;
        }
    }
}

/// How many of `module`'s parameter tensors received a non-zero gradient, out of how many
/// (for tests that gradients reach every trainable parameter, or none of the frozen ones).
pub fn parameters_with_gradient<M: Module>(module: &M, grads: &GradientsParams) -> (usize, usize) {
    let mut coverage = GradientCoverage { grads, with_gradient: 0, total: 0 };
    module.visit(&mut coverage);
    (coverage.with_gradient, coverage.total)
}
