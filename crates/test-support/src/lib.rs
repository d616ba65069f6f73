//! What the workspace's tests share; a dev-dependency only.

use burn::tensor::Tensor;

/// The largest `|a - b|` over every element; a NaN anywhere fails the test (a NaN would
/// otherwise compare as no difference).
pub fn max_abs_diff<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> f32 {
    let diff = a.sub(b).abs().max().into_scalar::<f32>();
    assert!(!diff.is_nan(), "NaN");
    diff
}
