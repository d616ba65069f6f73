//! The fused softmax and log-softmax equal burn's own, in value and in gradient.

use burn::tensor::activation;
use burn::tensor::{Distribution, Tensor};
use retrofit_core::fused_softmax::{log_softmax, softmax};
use retrofit_runtime::device::libtorch_cpu;
use retrofit_test_support::max_abs_diff;

#[test]
fn fused_ops_equal_burns_in_value_and_gradient() {
    let device = libtorch_cpu().autodiff();
    for dim in [1, 2] {
        let x = Tensor::<3>::random([3, 5, 7], Distribution::Normal(0.0, 3.0), &device).require_grad();
        let weights = Tensor::<3>::random([3, 5, 7], Distribution::Uniform(-1.0, 1.0), &device);
        type Op = fn(Tensor<3>, usize) -> Tensor<3>;
        let pairs: [(Op, Op); 2] = [
            (softmax::<3>, |t, d| activation::softmax(t, d)),
            (log_softmax::<3>, |t, d| activation::log_softmax(t, d)),
        ];
        for (fused, reference) in pairs {
            let ours = fused(x.clone(), dim);
            let theirs = reference(x.clone(), dim);
            assert!(max_abs_diff(ours.clone(), theirs.clone()) < 1e-5);
            let grad_ours = x.grad(&ours.mul(weights.clone()).sum().backward()).unwrap();
            let grad_theirs = x.grad(&theirs.mul(weights.clone()).sum().backward()).unwrap();
            let diff = grad_ours.sub(grad_theirs).abs().max().into_scalar::<f32>();
            assert!(diff < 1e-5, "dim {dim}: gradient differs by {diff}");
        }
    }
    // Without autodiff too.
    let plain = Tensor::<3>::random([2, 3, 4], Distribution::Normal(0.0, 1.0), &libtorch_cpu());
    assert!(max_abs_diff(softmax(plain.clone(), 2), activation::softmax(plain.clone(), 2)) < 1e-6);
    assert!(max_abs_diff(log_softmax(plain.clone(), 2), activation::log_softmax(plain, 2)) < 1e-6);
}
