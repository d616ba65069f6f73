//! The fused attention equals the unfused reference (burn's ops around `attend`) in value and in
//! the gradients of query, key and value, for every mask case, through both libtorch routes.

use burn::tensor::{Bool, Device, Distribution, Tensor, TensorData};
use retrofit_core::attention::{AttentionKernel, AttentionMask, scaled_dot_product_attention_with};
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
    mask: AttentionMask,
    scale: f64,
}

/// `true` at the key positions listed per batch row. `[BATCH, k_len]`
fn padding(k_len: usize, masked: [&[usize]; BATCH], device: &Device) -> Tensor<2, Bool> {
    let mut values = vec![false; BATCH * k_len];
    for (row, positions) in masked.iter().enumerate() {
        for &position in *positions {
            values[row * k_len + position] = true;
        }
    }
    Tensor::from_data(TensorData::new(values, [BATCH, k_len]), device)
}

fn cases(device: &Device) -> Vec<Case> {
    let scale = (DIM as f64).powf(-0.5);
    let case = |name, q_len, k_len, mask| Case { name, q_len, k_len, mask, scale };
    let causal = |keys| AttentionMask::PaddedKeys { padding: keys, causal: true };
    vec![
        case("no mask", 6, 6, AttentionMask::Unmasked),
        case("causal", 6, 6, AttentionMask::Causal),
        case(
            "right padding",
            6,
            6,
            AttentionMask::PaddedKeys { padding: padding(6, [&[], &[4, 5]], device), causal: false },
        ),
        // Row 1's first three queries see only padding: fully masked rows.
        case("causal + left padding", 6, 6, causal(padding(6, [&[0], &[0, 1, 2]], device))),
        case("padding that hides nothing", 6, 6, causal(padding(6, [&[], &[]], device))),
        case("cache, causal", 3, 7, AttentionMask::Causal),
        case("cache, one new query, causal", 1, 7, AttentionMask::Causal),
        case(
            "cache, left padding (GPT-2's batched generation)",
            3,
            7,
            causal(padding(7, [&[], &[0, 1, 2, 3, 4]], device)),
        ),
        case("cache, causal + padding", 2, 5, causal(padding(5, [&[1], &[0, 1, 2, 3]], device))),
        Case {
            scale: 0.37,
            ..case("explicit scale, causal + padding", 6, 6, causal(padding(6, [&[5], &[0]], device)))
        },
    ]
}

/// The output and the gradients of query, key and value of `sum(output * weights)`.
fn run(kernel: AttentionKernel, case: &Case, inputs: &[Tensor<4>; 3], weights: &Tensor<4>) -> [Tensor<4>; 4] {
    let [query, key, value] = inputs.clone().map(|tensor| tensor.detach().require_grad());
    let output =
        scaled_dot_product_attention_with(kernel, query.clone(), key.clone(), value.clone(), &case.mask, case.scale);
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
        mask: AttentionMask::PaddedKeys { padding: padding(6, [&[], &[0, 1, 2]], &device), causal: true },
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
    let mask = AttentionMask::padded(Some(padding(5, [&[4], &[]], &device)));
    let grad = |kernel| {
        let x = x.clone().require_grad();
        let output = scaled_dot_product_attention_with(kernel, x.clone(), x.clone(), x.clone(), &mask, 1.0);
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
            scaled_dot_product_attention_with(kernel, query.clone(), key.clone(), value.clone(), &case.mask, case.scale)
        };
        let reference = with(AttentionKernel::Unfused);
        for kernel in [AttentionKernel::Fused, AttentionKernel::FusedThroughAutograd] {
            let diff = max_abs_diff(with(kernel), reference.clone());
            assert!(diff < TOLERANCE, "{} ({kernel:?}): {diff}", case.name);
        }
    }
}

/// The reference's boolean mask: after `k_len - q_len` cached keys, query `i` sees keys
/// `j <= i + k_len - q_len` and no padded key; written out by hand.
#[test]
fn the_mask_hides_later_keys_aligned_to_the_end_and_every_padded_key() {
    let device = libtorch_cpu();
    let (q_len, k_len) = (3, 7);
    let mask = AttentionMask::causal(Some(padding(k_len, [&[], &[0, 1]], &device)));
    let got = mask.to_bool(q_len, k_len, &device).unwrap().into_data().try_to_vec::<bool>().unwrap();
    let mut expected = Vec::new();
    for row in 0..BATCH {
        for i in 0..q_len {
            for j in 0..k_len {
                expected.push(j > i + k_len - q_len || (row == 1 && j < 2));
            }
        }
    }
    assert_eq!(got, expected);
    assert!(AttentionMask::padded(None).to_bool(q_len, k_len, &device).is_none());
}
