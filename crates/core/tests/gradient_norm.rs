//! Global gradient clipping equals PyTorch's `clip_grad_norm_` on a hand-computed case.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::optim::GradientsParams;
use burn::tensor::{Tensor, TensorData};
use retrofit_core::training::clip_by_global_norm;
use retrofit_runtime::device::libtorch_cpu;

#[derive(Module, Debug)]
struct TwoLayers {
    first: Linear,
    second: Linear,
}

#[test]
fn clipping_scales_all_gradients_by_one_global_factor() {
    let device = libtorch_cpu().autodiff();
    let model = TwoLayers {
        first: LinearConfig::new(2, 2).with_bias(false).init(&device),
        second: LinearConfig::new(2, 1).with_bias(false).init(&device),
    };
    let x = Tensor::<2>::from_data(TensorData::new(vec![3.0f32, 4.0], [1, 2]), &device);
    let loss = model.second.forward(model.first.forward(x)).sum();
    let grads = GradientsParams::from_grads(loss.backward(), &model);
    let first = grads.get::<2>(model.first.weight.id).unwrap().try_into_vec_as::<f32>().unwrap();
    let second = grads.get::<2>(model.second.weight.id).unwrap().try_into_vec_as::<f32>().unwrap();
    let expected_norm = first.iter().chain(&second).map(|g| g * g).sum::<f32>().sqrt();

    let (clipped, norm) = clip_by_global_norm(&model, grads, Some(0.5));
    let norm = norm.unwrap().into_scalar::<f32>();
    assert!((norm - expected_norm).abs() < 1e-4, "{norm} vs {expected_norm}");
    let scale = 0.5 / (expected_norm + 1e-6);
    let clipped_first = clipped.get::<2>(model.first.weight.id).unwrap().try_into_vec_as::<f32>().unwrap();
    for (before, after) in first.iter().zip(&clipped_first) {
        assert!((before * scale - after).abs() < 1e-5);
    }
    let clipped_second = clipped.get::<2>(model.second.weight.id).unwrap().try_into_vec_as::<f32>().unwrap();
    let clipped_norm = clipped_first.iter().chain(&clipped_second).map(|g| g * g).sum::<f32>().sqrt();
    assert!((clipped_norm - 0.5).abs() < 1e-4);
}
