//! `gru_forward` equals burn's `Gru::forward` with the same weights, in value and in the
//! gradients of the input, the initial state and every parameter.

use burn::module::{Module, ModuleVisitor, Param};
use burn::nn::{Gru, GruConfig};
use burn::tensor::{Distribution, Gradients, Tensor};
use retrofit_core::fast_gru::{gru_forward, is_fusable};
use retrofit_runtime::device::libtorch_cpu;
use retrofit_test_support::max_abs_diff;

/// Absolute tolerance on values and gradients.
const TOLERANCE: f32 = 1e-5;

/// Every parameter's gradient, flattened, in visiting order.
struct ParameterGrads<'a> {
    grads: &'a Gradients,
    found: Vec<Tensor<1>>,
}

impl ModuleVisitor for ParameterGrads<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let grad = param.val().grad(self.grads).expect("every parameter gets a gradient");
        self.found.push(grad.flatten(0, D - 1));
    }
}

#[test]
fn fast_gru_equals_burns_gru_in_value_and_gradient() {
    let device = libtorch_cpu().autodiff();
    device.seed(7);
    for (bias, with_state) in [(true, false), (true, true), (false, true)] {
        let gru: Gru = GruConfig::new(5, 7, bias).init(&device);
        assert!(is_fusable(&gru));
        let input = Tensor::<3>::random([3, 6, 5], Distribution::Normal(0.0, 1.0), &device);
        let state = Tensor::<2>::random([3, 7], Distribution::Normal(0.0, 1.0), &device);
        let weights = Tensor::<3>::random([3, 6, 7], Distribution::Normal(0.0, 1.0), &device);
        type Forward = fn(&Gru, Tensor<3>, Option<Tensor<2>>) -> Tensor<3>;
        let run = |forward: Forward| {
            let (input, state) = (input.clone().require_grad(), state.clone().require_grad());
            let output = forward(&gru, input.clone(), with_state.then(|| state.clone()));
            let grads = output.clone().mul(weights.clone()).sum().backward();
            let mut parameters = ParameterGrads { grads: &grads, found: Vec::new() };
            gru.visit(&mut parameters);
            (
                output.detach(),
                input.grad(&grads).unwrap(),
                with_state.then(|| state.grad(&grads).unwrap()),
                parameters.found,
            )
        };
        let (ours, ours_input, ours_state, ours_params) = run(gru_forward);
        let (theirs, theirs_input, theirs_state, theirs_params) = run(|gru, input, state| gru.forward(input, state));
        let case = format!("bias {bias}, initial state {with_state}");
        assert!(max_abs_diff(ours, theirs) < TOLERANCE, "{case}: output");
        assert!(max_abs_diff(ours_input, theirs_input) < TOLERANCE, "{case}: d input");
        if let (Some(ours), Some(theirs)) = (ours_state, theirs_state) {
            assert!(max_abs_diff(ours, theirs) < TOLERANCE, "{case}: d state");
        }
        assert_eq!(ours_params.len(), if bias { 12 } else { 6 });
        assert_eq!(ours_params.len(), theirs_params.len());
        for (index, (ours, theirs)) in ours_params.into_iter().zip(theirs_params).enumerate() {
            let diff = max_abs_diff(ours, theirs);
            assert!(diff < TOLERANCE, "{case}: parameter {index} gradient differs by {diff}");
        }
    }
}

#[test]
fn without_autodiff_and_for_other_configurations_it_equals_burns_gru() {
    let device = libtorch_cpu();
    device.seed(8);
    let input = Tensor::<3>::random([2, 4, 3], Distribution::Normal(0.0, 1.0), &device);
    let gru: Gru = GruConfig::new(3, 4, true).init(&device);
    assert!(max_abs_diff(gru_forward(&gru, input.clone(), None), gru.forward(input.clone(), None)) < TOLERANCE);
    // reset_before runs through burn's own forward.
    let gru: Gru = GruConfig::new(3, 4, true).with_reset_after(false).init(&device);
    assert!(!is_fusable(&gru));
    assert_eq!(max_abs_diff(gru_forward(&gru, input.clone(), None), gru.forward(input, None)), 0.0);
}
