//! Attention, transformer block and pooling: shapes, masks and configuration errors.

use burn::tensor::{Bool, Distribution, Tensor, TensorData};
use retrofit_core::attention::{HeadForm, MultiHeadSelfAttentionConfig, SimpleSelfAttention};
use retrofit_core::block::{NormPlacement, TransformerBlockConfig};
use retrofit_core::pooling::Pooling;
use retrofit_runtime::device::libtorch_cpu;
use retrofit_test_support::max_abs_diff;

#[test]
fn attention_and_block_keep_the_input_shape() {
    let device = libtorch_cpu();
    let x = Tensor::<3>::random([2, 5, 12], Distribution::Normal(0.0, 1.0), &device);
    assert_eq!(SimpleSelfAttention.forward(x.clone(), None).dims(), [2, 5, 12]);
    for form in [HeadForm::Narrow, HeadForm::Wide] {
        let attention = MultiHeadSelfAttentionConfig::new(12, 4).with_form(form).init(&device).unwrap();
        assert_eq!(attention.forward(x.clone(), None).dims(), [2, 5, 12]);
        let expected_head_dim = if form == HeadForm::Narrow { 3 } else { 12 };
        assert_eq!(attention.head_dim, expected_head_dim);
    }
    for norm in [NormPlacement::Post, NormPlacement::Pre] {
        let block = TransformerBlockConfig::new(12, 4).with_norm(norm).init(&device).unwrap();
        assert_eq!(block.forward(x.clone(), None).dims(), [2, 5, 12]);
    }
    assert_eq!(Pooling::Max.forward(x.clone(), None).dims(), [2, 12]);
    assert_eq!(Pooling::Mean.forward(x, None).dims(), [2, 12]);
}

#[test]
fn narrow_heads_that_do_not_divide_the_embedding_are_a_config_error() {
    let device = libtorch_cpu();
    let error = MultiHeadSelfAttentionConfig::new(10, 4).init(&device).unwrap_err().to_string();
    assert!(error.contains("4 heads do not divide d_model 10"), "{error}");
    assert!(TransformerBlockConfig::new(10, 4).init(&device).is_err());
    // The wide form gives every head the full width, so any head count works.
    let wide = MultiHeadSelfAttentionConfig::new(10, 4).with_form(HeadForm::Wide).init(&device).unwrap();
    assert_eq!(wide.head_dim, 10);
}

#[test]
fn causal_attention_never_looks_ahead() {
    let device = libtorch_cpu();
    let attention = MultiHeadSelfAttentionConfig::new(8, 2).with_causal(true).init(&device).unwrap();
    let x = Tensor::<3>::random([1, 6, 8], Distribution::Normal(0.0, 1.0), &device);
    let changed_future = Tensor::cat(
        vec![x.clone().slice([0..1, 0..4, 0..8]), Tensor::random([1, 2, 8], Distribution::Normal(0.0, 1.0), &device)],
        1,
    );
    let before = attention.forward(x, None).slice([0..1, 0..4, 0..8]);
    let after = attention.forward(changed_future, None).slice([0..1, 0..4, 0..8]);
    assert!(max_abs_diff(before, after) < 1e-6);
}

#[test]
fn pooling_ignores_padded_positions() {
    let device = libtorch_cpu();
    let x = Tensor::<3>::from_data(TensorData::new(vec![1.0f32, -1.0, 3.0, 5.0, 100.0, -100.0], [1, 3, 2]), &device);
    let mask = Tensor::<2, Bool>::from_data(TensorData::new(vec![false, false, true], [1, 3]), &device);
    let max = Pooling::Max.forward(x.clone(), Some(mask.clone())).try_into_vec_as::<f32>().unwrap();
    assert_eq!(max, [3.0, 5.0]);
    let mean = Pooling::Mean.forward(x, Some(mask)).try_into_vec_as::<f32>().unwrap();
    assert_eq!(mean, [2.0, 2.0]);
}
