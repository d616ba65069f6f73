//! Invariants of the transformer classifier: padding never changes a prediction, gradients reach
//! every parameter, and a smoke run learns.

use std::path::Path;

use burn::optim::GradientsParams;
use burn::tensor::{Bool, Int, Tensor, TensorData};
use retrofit_core::block::NormPlacement;
use retrofit_core::classification::SequenceClassifier;
use retrofit_core::pooling::Pooling;
use retrofit_core::training::parameters_with_gradient;
use retrofit_runtime::config::load_config;
use retrofit_runtime::device::{DeviceChoice, libtorch_cpu};
use retrofit_runtime::run_dir::RunDir;
use retrofit_transformer_classifier::{TransformerClassifierConfig, TransformerClassifierModelConfig, run};

fn variants() -> Vec<TransformerClassifierModelConfig> {
    let mut variants = Vec::new();
    for pooling in [Pooling::Max, Pooling::Mean] {
        for norm in [NormPlacement::Post, NormPlacement::Pre] {
            variants.push(TransformerClassifierModelConfig {
                d_model: 16,
                heads: 4,
                depth: 2,
                pooling,
                norm,
                ..Default::default()
            });
        }
    }
    variants
}

#[test]
fn appending_padding_never_changes_the_logits() {
    let device = libtorch_cpu();
    for config in variants() {
        let model = config.init(50, 16, &device).unwrap();
        let ids =
            |values: Vec<i64>| Tensor::<2, Int>::from_data(TensorData::new(values.clone(), [1, values.len()]), &device);
        let mask = |values: Vec<bool>| {
            Tensor::<2, Bool>::from_data(TensorData::new(values.clone(), [1, values.len()]), &device)
        };
        let short = model.logits(ids(vec![5, 9, 2, 7]), None);
        let padded = model
            .logits(ids(vec![5, 9, 2, 7, 0, 0, 0]), Some(mask(vec![false, false, false, false, true, true, true])));
        let diff = short.sub(padded).abs().max().into_scalar::<f32>();
        assert!(diff < 1e-5, "{config:?}: {diff}");
    }
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
        assert_eq!(with_gradient, total, "{config:?}");
    }
}

#[test]
fn a_smoke_run_learns_the_embedded_sample() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut config: TransformerClassifierConfig =
        load_config(Some(&root.join("configs/smoke/transformer-classifier.toml")), &[]).unwrap();
    config.data.source = config.data.source.relative_to(&root);
    let results = tempfile::tempdir().unwrap();
    let run_dir = RunDir::create(results.path(), "transformer-classifier", "smoke").unwrap();
    let summary = run(&config, &run_dir, &DeviceChoice::Cpu.resolve().unwrap()).unwrap();
    let accuracy = summary.final_metrics["test_accuracy"];
    assert!(accuracy > 75.0, "test accuracy {accuracy}% is not above chance (50%)");
    assert!(summary.final_metrics["train_grad_norm"] > 0.0);
}
