//! The fused head and cross-entropy equal the plain path (logits, log-softmax, gather) in the
//! loss, the per-token NLL and the gradients of hidden states, head weight and bias, whatever the
//! chunking; frozen inputs get no gradient.

use burn::tensor::{Distribution, Int, Tensor};
use retrofit_core::language_model::token_nll;
use retrofit_core::linear_cross_entropy::linear_cross_entropy_in_chunks;
use retrofit_runtime::device::libtorch_cpu;
use retrofit_test_support::max_abs_diff;

const TOKENS: usize = 37;
const D_MODEL: usize = 16;
const VOCAB: usize = 301;
const TOLERANCE: f32 = 1e-5;

struct Inputs {
    hidden: Tensor<2>,
    /// `[vocab, d_model]`: the head is its transpose, as a tied embedding's.
    embedding: Tensor<2>,
    bias: Tensor<1>,
    targets: Tensor<1, Int>,
}

fn inputs() -> Inputs {
    let device = libtorch_cpu().autodiff();
    device.seed(7);
    let normal = |shape: [usize; 2], std| Tensor::<2>::random(shape, Distribution::Normal(0.0, std), &device);
    Inputs {
        hidden: normal([TOKENS, D_MODEL], 1.0),
        embedding: normal([VOCAB, D_MODEL], 0.5),
        bias: Tensor::random([VOCAB], Distribution::Normal(0.0, 0.3), &device),
        targets: Tensor::<1>::random([TOKENS], Distribution::Uniform(0.0, VOCAB as f64), &device).int(),
    }
}

/// Loss, NLL, and the gradients of hidden, embedding and bias (those `tracked` asks for).
fn run(inputs: &Inputs, tracked: [bool; 3], fused: Option<usize>) -> (Tensor<1>, Tensor<1>, [Option<Tensor<2>>; 3]) {
    let track = |tensor: Tensor<2>, on: bool| if on { tensor.detach().require_grad() } else { tensor.detach() };
    let hidden = track(inputs.hidden.clone(), tracked[0]);
    let embedding = track(inputs.embedding.clone(), tracked[1]);
    let bias = if tracked[2] { inputs.bias.clone().detach().require_grad() } else { inputs.bias.clone().detach() };
    let scale = 1.0 / TOKENS as f64;
    let (loss, nll) = match fused {
        Some(chunk) => {
            let fused = linear_cross_entropy_in_chunks(
                hidden.clone(),
                embedding.clone().transpose(),
                Some(bias.clone()),
                inputs.targets.clone(),
                scale,
                chunk,
            );
            (fused.loss, fused.nll)
        }
        None => {
            let logits = hidden.clone().matmul(embedding.clone().transpose()) + bias.clone().unsqueeze::<2>();
            let nll = token_nll(logits.unsqueeze::<3>(), inputs.targets.clone().unsqueeze::<2>()).reshape([TOKENS]);
            (nll.clone().sum().mul_scalar(scale), nll.detach())
        }
    };
    let grads = loss.clone().backward();
    let grad_bias = bias.grad(&grads).map(|grad| grad.unsqueeze::<2>());
    (loss.detach(), nll, [hidden.grad(&grads), embedding.grad(&grads), grad_bias])
}

#[test]
fn the_fused_loss_equals_logits_and_log_softmax_in_value_and_gradient_for_any_chunking() {
    let inputs = inputs();
    let (loss, nll, grads) = run(&inputs, [true; 3], None);
    for chunk in [1, 5, TOKENS, 1000] {
        let (fused_loss, fused_nll, fused_grads) = run(&inputs, [true; 3], Some(chunk));
        assert!(max_abs_diff(fused_loss, loss.clone()) < TOLERANCE, "chunk {chunk}: loss");
        assert!(max_abs_diff(fused_nll, nll.clone()) < TOLERANCE, "chunk {chunk}: nll");
        for (what, (ours, plain)) in ["hidden", "weight", "bias"].iter().zip(fused_grads.into_iter().zip(grads.clone()))
        {
            let (ours, plain) = (ours.expect("a gradient"), plain.expect("a gradient"));
            let diff = max_abs_diff(ours, plain);
            assert!(diff < TOLERANCE, "chunk {chunk}: d {what} differs by {diff}");
        }
    }
}

#[test]
fn frozen_inputs_get_no_gradient_and_the_tracked_ones_still_match() {
    let inputs = inputs();
    let (_, _, plain) = run(&inputs, [true, false, true], None);
    let (_, _, fused) = run(&inputs, [true, false, true], Some(8));
    assert!(fused[1].is_none(), "the frozen head weight got a gradient");
    for index in [0, 2] {
        let diff = max_abs_diff(fused[index].clone().unwrap(), plain[index].clone().unwrap());
        assert!(diff < TOLERANCE, "input {index} differs by {diff}");
    }
}

#[test]
fn without_a_graph_the_loss_and_nll_equal_the_plain_path() {
    let inputs = inputs();
    let device = libtorch_cpu();
    let inner = |tensor: Tensor<2>| Tensor::<2>::from_data(tensor.into_data(), &device);
    let (hidden, embedding) = (inner(inputs.hidden.clone()), inner(inputs.embedding.clone()));
    let bias = Tensor::<1>::from_data(inputs.bias.clone().into_data(), &device);
    let targets = Tensor::<1, Int>::from_data(inputs.targets.clone().into_data(), &device);
    let fused = linear_cross_entropy_in_chunks(
        hidden.clone(),
        embedding.clone().transpose(),
        Some(bias.clone()),
        targets.clone(),
        0.5,
        4,
    );
    let logits = hidden.matmul(embedding.transpose()) + bias.unsqueeze::<2>();
    let nll = token_nll(logits.unsqueeze::<3>(), targets.unsqueeze::<2>()).reshape([TOKENS]);
    assert!(max_abs_diff(fused.nll, nll.clone()) < TOLERANCE);
    assert!(max_abs_diff(fused.loss, nll.sum().mul_scalar(0.5)) < TOLERANCE);
}
