//! Invariants of the attention classifier: padding never changes a prediction, simple attention
//! without positions is permutation-equivariant, gradients reach every parameter, and a smoke
//! run learns.

use std::path::Path;

use burn::optim::GradientsParams;
use burn::tensor::{Bool, Int, Tensor, TensorData};
use retrofit_attention_classifier::{AttentionClassifierConfig, AttentionClassifierModelConfig, AttentionKind, run};
use retrofit_core::classification::SequenceClassifier;
use retrofit_core::pooling::Pooling;
use retrofit_core::training::parameters_with_gradient;
use retrofit_runtime::config::load_config;
use retrofit_runtime::device::{DeviceChoice, libtorch_cpu};
use retrofit_runtime::run_dir::RunDir;

fn tokens(ids: &[i64], device: &burn::tensor::Device) -> Tensor<2, Int> {
    Tensor::from_data(TensorData::new(ids.to_vec(), [1, ids.len()]), device)
}

fn mask(padded: &[bool], device: &burn::tensor::Device) -> Tensor<2, Bool> {
    Tensor::from_data(TensorData::new(padded.to_vec(), [1, padded.len()]), device)
}

fn variants() -> Vec<AttentionClassifierModelConfig> {
    let mut variants = Vec::new();
    for attention in [AttentionKind::Simple, AttentionKind::MultiHead] {
        for pooling in [Pooling::Max, Pooling::Mean] {
            for position_embeddings in [false, true] {
                variants.push(AttentionClassifierModelConfig {
                    d_model: 16,
                    heads: 4,
                    attention,
                    pooling,
                    position_embeddings,
                    ..Default::default()
                });
            }
        }
    }
    variants
}

#[test]
fn appending_padding_never_changes_the_logits() {
    let device = libtorch_cpu();
    for config in variants() {
        let model = config.init(50, 16, &device).unwrap();
        let short = model.logits(tokens(&[5, 9, 2], &device), None);
        let padded = model.logits(
            tokens(&[5, 9, 2, 0, 0, 0], &device),
            Some(mask(&[false, false, false, true, true, true], &device)),
        );
        assert_eq!(short.dims(), [1, 2]);
        let diff = short.sub(padded).abs().max().into_scalar::<f32>();
        assert!(diff < 1e-5, "{config:?}: {diff}");
    }
}

#[test]
fn simple_attention_without_positions_is_permutation_equivariant() {
    let device = libtorch_cpu();
    let config = AttentionClassifierModelConfig { d_model: 16, attention: AttentionKind::Simple, ..Default::default() };
    let model = config.init(50, 16, &device).unwrap();
    let no_padding = mask(&[false; 4], &device);
    let out = model.attend(tokens(&[1, 2, 3, 4], &device), Some(no_padding.clone())); // [1, 4, 16]
    let permuted = model.attend(tokens(&[3, 1, 4, 2], &device), Some(no_padding));
    let order = Tensor::<1, Int>::from_data(TensorData::new(vec![2i64, 0, 3, 1], [4]), &device);
    let diff = out.select(1, order).sub(permuted).abs().max().into_scalar::<f32>();
    assert!(diff < 1e-5, "{diff}");
}

#[test]
fn gradients_reach_every_parameter() {
    let device = libtorch_cpu().autodiff();
    for config in variants() {
        let model = config.init(20, 8, &device).unwrap();
        let ids = Tensor::<2, Int>::from_data(
            TensorData::new((0..16).map(|i| i % 20).collect::<Vec<i64>>(), [2, 8]),
            &device,
        );
        let no_padding = Tensor::<2, Bool>::from_data(TensorData::new(vec![false; 16], [2, 8]), &device);
        let loss = model.logits(ids, Some(no_padding)).sum();
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let (with_gradient, total) = parameters_with_gradient(&model, &grads);
        assert!(total > 0);
        // Every embedding row that occurs, every projection: all parameter tensors get a gradient.
        assert_eq!(with_gradient, total, "{config:?}");
    }
}

#[test]
fn a_smoke_run_learns_the_embedded_sample() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut config: AttentionClassifierConfig =
        load_config(Some(&root.join("configs/smoke/attention-classifier.toml")), &[]).unwrap();
    config.data.source = config.data.source.relative_to(&root);
    let results = tempfile::tempdir().unwrap();
    let run_dir = RunDir::create(results.path(), "attention-classifier", "smoke").unwrap();
    let summary = run(&config, &run_dir, &DeviceChoice::Cpu.resolve().unwrap()).unwrap();
    let accuracy = summary.final_metrics["test_accuracy"];
    assert!(accuracy > 75.0, "test accuracy {accuracy}% is not above chance (50%)");
    assert!(summary.final_metrics["train_grad_norm"] > 0.0);
    assert!(summary.final_metrics["valid_loss"] < 0.69);
}
