use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::Tensor;

use crate::summary::ParameterCounts;

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
