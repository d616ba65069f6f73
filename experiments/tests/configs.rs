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
    for file in [
        "generator.toml",
        "generator-gpt2.toml",
        "thesis-bytes-base.toml",
        "thesis-bytes-base-llama.toml",
        "smoke/generator.toml",
        "smoke/generator-gpt2.toml",
        "smoke/generator-llama.toml",
    ] {
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
        "thesis-smollm2-w64.toml",
        "thesis-smollm2-w256.toml",
        "thesis-bytes-kjv.toml",
        "thesis-bytes-kjv-llama.toml",
        "pilot-smollm2-w64.toml",
        "stopping-rule/thesis-bytes-kjv.toml",
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
        let mut parsed: RecurrentGeneratorConfig = load_config(Some(&file), &[]).unwrap();
        rung.apply(&mut parsed);
        let expected = match rung {
            Rung::ZeroShot => (Schedule::ZeroShot, 0, Recurrence::None, 4),
            Rung::ZeroShotCache => (Schedule::ZeroShot, 3, Recurrence::NoneCache, 4),
            Rung::HeadBias => (Schedule::Train, 0, Recurrence::None, 4),
            Rung::None => (Schedule::Train, 3, Recurrence::None, 4),
            Rung::NoneWide => (Schedule::Train, 3, Recurrence::None, 7),
            Rung::NoneLong => (Schedule::Train, 3, Recurrence::None, 4),
            Rung::NoneCache => (Schedule::Train, 3, Recurrence::NoneCache, 4),
            Rung::TokenGru => (Schedule::Train, 3, Recurrence::TokenGru, 4),
            Rung::SegmentState => (Schedule::Train, 3, Recurrence::SegmentState, 4),
            Rung::Memory => (Schedule::Train, 3, Recurrence::Memory, 4),
            Rung::XlCache => (Schedule::Train, 3, Recurrence::XlCache, 4),
            Rung::MemoryTokens => (Schedule::Train, 3, Recurrence::MemoryTokens, 4),
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

/// The files and folders a config may name: what the clone holds, what a `just fetch-*` recipe
/// or `just probe` writes (a path the justfile names), and the runs of a stage (`results/`).
fn is_reachable_from_a_clone(repo: &Path, justfile: &str, path: &str) -> bool {
    let produced_by_a_recipe = || {
        // A folder of the repo (`data/`) says nothing: the recipe must name the path or its folder.
        Path::new(path).ancestors().filter(|prefix| prefix.components().count() >= 2).any(|prefix| {
            let prefix = prefix.to_string_lossy();
            justfile.contains(&format!("dest={prefix}\n")) || justfile.contains(&format!("{prefix}/"))
        })
    };
    !path.starts_with('/')
        && !path.starts_with("..")
        && (repo.join(path).exists() || path.starts_with("results/") || produced_by_a_recipe())
}

/// Every string a config (or its command comments) holds that names a file.
fn named_paths(value: &toml::Value, key: &str, out: &mut Vec<String>) {
    match value {
        toml::Value::String(text) if ["path", "base", "tokenizer", "vocab", "merges"].contains(&key) => {
            out.push(text.clone())
        }
        toml::Value::Table(table) => table.iter().for_each(|(key, value)| named_paths(value, key, out)),
        toml::Value::Array(items) => items.iter().for_each(|item| named_paths(item, key, out)),
        _ => {}
    }
}

#[test]
fn no_config_names_a_path_outside_the_repo_that_no_recipe_produces() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let justfile = std::fs::read_to_string(repo.join("justfile")).unwrap();
    let mut files = vec![repo.join("configs")];
    let mut checked = 0;
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|entry| entry.unwrap().path()));
            continue;
        }
        if path.extension().is_none_or(|ext| ext != "toml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("../"), "{}: names a path outside the repo: {text}", path.display());
        let mut paths = Vec::new();
        named_paths(&toml::Value::Table(toml::from_str(&text).unwrap()), "", &mut paths);
        for named in paths {
            assert!(
                is_reachable_from_a_clone(&repo, &justfile, &named),
                "{}: `{named}` is neither in the repo nor made by a just recipe or a stage run",
                path.display()
            );
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} paths checked");
    // The check itself: a path only a development machine has fails it.
    assert!(!is_reachable_from_a_clone(&repo, &justfile, "../shared/data/lm/austen_all.txt"));
    assert!(!is_reachable_from_a_clone(&repo, &justfile, "data/nowhere.txt"));
    assert!(is_reachable_from_a_clone(&repo, &justfile, "data/smollm2-135m"));
}
