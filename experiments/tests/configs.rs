//! Every shipped config parses into its stage's struct, and the data config equals the defaults.

use std::path::Path;

use retrofit_data::stage::DataStageConfig;
use retrofit_runtime::config::load_config;

fn config(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs").join(path)
}

#[test]
fn data_config_is_the_embedded_default() {
    let parsed: DataStageConfig = load_config(Some(&config("data.toml")), &[]).unwrap();
    assert_eq!(parsed, DataStageConfig::default());
}

#[test]
fn classifier_configs_parse() {
    use retrofit_attention_classifier::AttentionClassifierConfig;
    use retrofit_transformer_classifier::TransformerClassifierConfig;
    for file in ["attention-classifier.toml", "smoke/attention-classifier.toml"] {
        load_config::<AttentionClassifierConfig>(Some(&config(file)), &[]).unwrap();
    }
    for file in ["transformer-classifier.toml", "smoke/transformer-classifier.toml"] {
        load_config::<TransformerClassifierConfig>(Some(&config(file)), &[]).unwrap();
    }
    // The full configs are the defaults but for the data they read.
    let full: AttentionClassifierConfig = load_config(Some(&config("attention-classifier.toml")), &[]).unwrap();
    let defaults = AttentionClassifierConfig::default();
    assert_eq!((full.model, full.training), (defaults.model, defaults.training));
    let full: TransformerClassifierConfig = load_config(Some(&config("transformer-classifier.toml")), &[]).unwrap();
    let defaults = TransformerClassifierConfig::default();
    assert_eq!((full.model, full.training), (defaults.model, defaults.training));
}

#[test]
fn generator_configs_parse_and_the_full_one_is_the_default() {
    use retrofit_generator::GeneratorConfig;
    for file in ["generator.toml", "generator-gpt2.toml", "smoke/generator.toml"] {
        load_config::<GeneratorConfig>(Some(&config(file)), &[]).unwrap();
    }
    let full: GeneratorConfig = load_config(Some(&config("generator.toml")), &[]).unwrap();
    assert_eq!(full, GeneratorConfig::default());
}

#[test]
fn recurrent_generator_configs_parse_and_the_full_one_is_the_default() {
    use retrofit_recurrent_generator::RecurrentGeneratorConfig;
    for file in [
        "recurrent-generator.toml",
        "recurrent-generator-cpu.toml",
        "recurrent-generator-smollm2.toml",
        "probe.toml",
        "smoke/recurrent-generator.toml",
    ] {
        load_config::<RecurrentGeneratorConfig>(Some(&config(file)), &[]).unwrap();
    }
    let full: RecurrentGeneratorConfig = load_config(Some(&config("recurrent-generator.toml")), &[]).unwrap();
    assert_eq!(full, RecurrentGeneratorConfig::default());
}

#[test]
fn every_rung_of_the_ladder_is_a_valid_config_that_differs_only_where_it_says() {
    use retrofit_experiments::thesis::Rung;
    use retrofit_recurrent_generator::{Recurrence, RecurrentGeneratorConfig, Schedule};
    let file = config("recurrent-generator.toml");
    let defaults = RecurrentGeneratorConfig::default();
    for rung in Rung::ALL {
        let parsed: RecurrentGeneratorConfig = load_config(Some(&file), &rung.overrides(&defaults.data)).unwrap();
        let expected = match rung {
            Rung::ZeroShot => (Schedule::ZeroShot, 0, Recurrence::None, 4),
            Rung::HeadBias => (Schedule::Train, 0, Recurrence::None, 4),
            Rung::None => (Schedule::Train, 3, Recurrence::None, 4),
            Rung::NoneWide => (Schedule::Train, 3, Recurrence::None, 7),
            Rung::NoneLong => (Schedule::Train, 3, Recurrence::None, 4),
            Rung::TokenGru => (Schedule::Train, 3, Recurrence::TokenGru, 4),
            Rung::SegmentState => (Schedule::Train, 3, Recurrence::SegmentState, 4),
        };
        let model = &parsed.model;
        assert_eq!((parsed.schedule, model.inserted_blocks, model.recurrence, model.ff_mult), expected, "{rung:?}");
        let data = &parsed.data;
        if rung == Rung::NoneLong {
            // Twice the window, the same tokens a step.
            assert_eq!((data.context, data.bptt_windows), (2 * defaults.data.context, defaults.data.bptt_windows / 2));
            assert_eq!(data.context * data.bptt_windows, defaults.data.context * defaults.data.bptt_windows);
        } else {
            assert_eq!(data, &defaults.data);
        }
        assert_eq!((&parsed.training, &parsed.base), (&defaults.training, &defaults.base));
        assert_eq!(rung.run_name("kjv", 2), format!("kjv-{}-s2", rung.name()));
    }
}
