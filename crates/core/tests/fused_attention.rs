//! The fused attention equals the unfused reference (burn's ops around `attend`) in value and in
//! the gradients of query, key and value, for every mask case, through both libtorch routes.

use burn::tensor::{Bool, Device, Distribution, Tensor, TensorData};
use retrofit_core::attention::{AttentionKernel, scaled_dot_product_attention_with};
use retrofit_runtime::device::libtorch_cpu;
use retrofit_test_support::max_abs_diff;

/// Absolute tolerance on values and gradients (both of order 1 here).
const TOLERANCE: f32 = 1e-5;

const BATCH: usize = 2;
const HEADS: usize = 3;
const DIM: usize = 8;

/// One attention call to compare.
struct Case {
    name: &'static str,
    q_len: usize,
    k_len: usize,
    mask: Option<Tensor<4, Bool>>,
    causal: bool,
    scale: f64,
}

/// `true` at the key positions listed per batch row. `[BATCH, 1, 1, k_len]`
fn key_mask(k_len: usize, masked: [&[usize]; BATCH], device: &Device) -> Tensor<4, Bool> {
    let mut values = vec![false; BATCH * k_len];
    for (row, positions) in masked.iter().enumerate() {
        for &position in *positions {
            values[row * k_len + position] = true;
        }
    }
    Tensor::from_data(TensorData::new(values, [BATCH, 1, 1, k_len]), device)
}

/// GPT-2's key mask for `q_len` new positions after `k_len - q_len` cached ones, with padding.
/// `[BATCH, 1, q_len, k_len]`
fn cache_mask(q_len: usize, k_len: usize, padding: Tensor<4, Bool>, device: &Device) -> Tensor<4, Bool> {
    let causal = Tensor::<2, Bool>::tril_mask([q_len, k_len], (k_len - q_len) as i64, device)
        .reshape([1, 1, q_len, k_len])
        .expand([BATCH, 1, q_len, k_len]);
    causal.bool_or(padding.expand([BATCH, 1, q_len, k_len]))
}

fn cases(device: &Device) -> Vec<Case> {
    let scale = (DIM as f64).powf(-0.5);
    let case = |name, q_len, k_len, mask, causal| Case { name, q_len, k_len, mask, causal, scale };
    let exactly_causal = Tensor::<2, Bool>::tril_mask([6, 6], 0, device).reshape([1, 1, 6, 6]);
    vec![
        case("no mask", 6, 6, None, false),
        case("causal", 6, 6, None, true),
        case("right padding", 6, 6, Some(key_mask(6, [&[], &[4, 5]], device)), false),
        // Row 1's first three queries see only padding: fully masked rows.
        case("causal + left padding", 6, 6, Some(key_mask(6, [&[0], &[0, 1, 2]], device)), true),
        case("mask that is exactly causal", 6, 6, Some(exactly_causal), false),
        case("mask that masks nothing", 6, 6, Some(key_mask(6, [&[], &[]], device)), true),
        case("cache, causal", 3, 7, None, true),
        case("cache, one new query, causal", 1, 7, None, true),
        case(
            "cache, GPT-2 mask with left padding",
            3,
            7,
            Some(cache_mask(3, 7, key_mask(7, [&[], &[0, 1, 2, 3, 4]], device), device)),
            false,
        ),
        case("cache, causal + padding", 2, 5, Some(key_mask(5, [&[1], &[0, 1, 2, 3]], device)), true),
        Case {
            scale: 0.37,
            ..case("explicit scale, causal + padding", 6, 6, Some(key_mask(6, [&[5], &[0]], device)), true)
        },
    ]
}

/// The output and the gradients of query, key and value of `sum(output * weights)`.
fn run(kernel: AttentionKernel, case: &Case, inputs: &[Tensor<4>; 3], weights: &Tensor<4>) -> [Tensor<4>; 4] {
    let [query, key, value] = inputs.clone().map(|tensor| tensor.detach().require_grad());
    let output = scaled_dot_product_attention_with(
        kernel,
        query.clone(),
        key.clone(),
        value.clone(),
        case.mask.clone(),
        case.causal,
        case.scale,
    );
    let grads = output.clone().mul(weights.clone()).sum().backward();
    let grad = |tensor: &Tensor<4>| tensor.grad(&grads).expect("every input gets a gradient");
    [output.detach(), grad(&query), grad(&key), grad(&value)]
}

/// Every case with `kv_heads` key/value heads shared by the [`HEADS`] query heads.
fn fused_equals_unfused(kv_heads: usize) {
    let device = libtorch_cpu().autodiff();
    device.seed(3);
    for case in cases(&device) {
        let normal =
            |heads, len| Tensor::<4>::random([BATCH, heads, len, DIM], Distribution::Normal(0.0, 1.0), &device);
        let inputs = [normal(HEADS, case.q_len), normal(kv_heads, case.k_len), normal(kv_heads, case.k_len)];
        let weights = normal(HEADS, case.q_len);
        let reference = run(AttentionKernel::Unfused, &case, &inputs, &weights);
        for kernel in [AttentionKernel::Fused, AttentionKernel::FusedThroughAutograd] {
            let fused = run(kernel, &case, &inputs, &weights);
            for (what, (ours, theirs)) in
                ["output", "d query", "d key", "d value"].iter().zip(fused.into_iter().zip(reference.clone()))
            {
                let diff = max_abs_diff(ours, theirs);
                assert!(diff < TOLERANCE, "{} ({kernel:?}, {kv_heads} kv heads): {what} differs by {diff}", case.name);
            }
        }
    }
}

#[test]
fn fused_attention_equals_the_unfused_path_in_value_and_gradient() {
    fused_equals_unfused(HEADS);
}

/// The fused kernels read shared key/value heads in place; the reference repeats them.
#[test]
fn grouped_query_attention_equals_repeated_key_value_heads_in_value_and_gradient() {
    fused_equals_unfused(1);
}

#[test]
fn a_fully_masked_query_row_is_the_mean_of_the_values_and_passes_no_gradient_to_its_query() {
    let device = libtorch_cpu().autodiff();
    device.seed(4);
    let normal = |len| Tensor::<4>::random([BATCH, HEADS, len, DIM], Distribution::Normal(0.0, 1.0), &device);
    let inputs = [normal(6), normal(6), normal(6)];
    let case = Case {
        name: "left padding",
        q_len: 6,
        k_len: 6,
        mask: Some(key_mask(6, [&[], &[0, 1, 2]], &device)),
        causal: true,
        scale: 0.35,
    };
    let [output, grad_query, _, _] = run(AttentionKernel::Fused, &case, &inputs, &normal(6));
    let mean = inputs[2].clone().slice([1..2, 0..HEADS, 0..6, 0..DIM]).mean_dim(2); // [1, heads, 1, dim]
    let rows = output.slice([1..2, 0..HEADS, 0..3, 0..DIM]);
    assert!(max_abs_diff(rows, mean.expand([1, HEADS, 3, DIM])) < TOLERANCE);
    let zero = grad_query.slice([1..2, 0..HEADS, 0..3, 0..DIM]).abs().max().into_scalar::<f32>();
    assert_eq!(zero, 0.0);
}

#[test]
fn the_same_tensor_as_query_key_and_value_gets_the_sum_of_the_three_gradients() {
    let device = libtorch_cpu().autodiff();
    device.seed(5);
    let x = Tensor::<4>::random([BATCH, 1, 5, DIM], Distribution::Normal(0.0, 1.0), &device);
    let weights = Tensor::<4>::random([BATCH, 1, 5, DIM], Distribution::Normal(0.0, 1.0), &device);
    let mask = Some(key_mask(5, [&[4], &[]], &device));
    let grad = |kernel| {
        let x = x.clone().require_grad();
        let output =
            scaled_dot_product_attention_with(kernel, x.clone(), x.clone(), x.clone(), mask.clone(), false, 1.0);
        x.grad(&output.mul(weights.clone()).sum().backward()).unwrap()
    };
    let diff = max_abs_diff(grad(AttentionKernel::Fused), grad(AttentionKernel::Unfused));
    assert!(diff < TOLERANCE, "{diff}");
}

#[test]
fn without_autodiff_the_fused_attention_equals_the_unfused_path() {
    let device = libtorch_cpu();
    device.seed(6);
    for case in cases(&device) {
        let normal = |len| Tensor::<4>::random([BATCH, HEADS, len, DIM], Distribution::Normal(0.0, 1.0), &device);
        let [query, key, value] = [normal(case.q_len), normal(case.k_len), normal(case.k_len)];
        let with = |kernel| {
            scaled_dot_product_attention_with(
                kernel,
                query.clone(),
                key.clone(),
                value.clone(),
                case.mask.clone(),
                case.causal,
                case.scale,
            )
        };
        let reference = with(AttentionKernel::Unfused);
        for kernel in [AttentionKernel::Fused, AttentionKernel::FusedThroughAutograd] {
            let diff = max_abs_diff(with(kernel), reference.clone());
            assert!(diff < TOLERANCE, "{} ({kernel:?}): {diff}", case.name);
        }
    }
}
