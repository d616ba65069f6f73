//! The Llama family against Hugging Face transformers: three tiny random checkpoints (Llama with a
//! tied head and no biases, Llama with a separate head and biases, Qwen2 with biases on q/k/v)
//! saved by `fixtures/llama-tiny/make_fixture.py` (transformers 5.24.0) and the logits and greedy
//! tokens they produced there; config, weight and tokenizer errors.

use std::path::{Path, PathBuf};

use burn::tensor::{Int, Tensor, TensorData};
use retrofit_core::base::{BaseConfig, BaseFamily, PretrainedBase, load_base};
use retrofit_core::decoder::Decoder;
use retrofit_core::generation::{GenerationConfig, KvCache, generate};
use retrofit_core::hf_checkpoint::{HfConfig, LoadError};
use retrofit_core::language_model::{TextEvaluation, evaluate_text};
use retrofit_core::llama::{LlamaConfig, load_llama, load_tokenizer};
use retrofit_core::qwen2::{Qwen2Config, load_qwen2};
use retrofit_core::training::bits_per_byte;
use retrofit_runtime::device::libtorch_cpu;
use serde_json::Value;

const VARIANTS: [&str; 3] = ["tied", "untied", "qwen2"];
const VOCAB: usize = 128;

fn fixture_dir(variant: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/llama-tiny").join(variant)
}

fn expected(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap()
}

fn ids(value: &Value) -> Vec<u32> {
    value.as_array().unwrap().iter().map(|id| id.as_u64().unwrap() as u32).collect()
}

fn row(ids: &[u32]) -> Tensor<2, Int> {
    let values: Vec<i64> = ids.iter().map(|&id| i64::from(id)).collect();
    Tensor::from_data(TensorData::new(values, [1, ids.len()]), &libtorch_cpu())
}

fn load(variant: &str) -> PretrainedBase {
    load_base(&fixture_dir(variant), &libtorch_cpu()).unwrap().0
}

/// Largest |ours - theirs| over the logits of every expected sequence.
fn max_logit_error(model: &impl Decoder, expected: &Value) -> f32 {
    let mut worst = 0.0f32;
    let sequences = expected["sequences"].as_array().unwrap();
    for (sequence, logits) in sequences.iter().zip(expected["logits"].as_array().unwrap()) {
        let ours: Vec<f32> = model.forward(row(&ids(sequence))).try_into_vec_as::<f32>().unwrap();
        let theirs: Vec<f32> = logits
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|position| position.as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32))
            .collect();
        assert_eq!(ours.len(), theirs.len());
        for (a, b) in ours.iter().zip(&theirs) {
            worst = worst.max((a - b).abs());
        }
    }
    worst
}

#[test]
fn logits_match_transformers_within_1e_4() {
    for variant in VARIANTS {
        let (model, config) = load_base(&fixture_dir(variant), &libtorch_cpu()).unwrap();
        let (family, config) = match config {
            BaseConfig::Llama(config) => (BaseFamily::Llama, config),
            BaseConfig::Qwen2(config) => (BaseFamily::Qwen2, config.llama().clone()),
            other => panic!("{variant}: {other:?}"),
        };
        assert_eq!(family, if variant == "qwen2" { BaseFamily::Qwen2 } else { BaseFamily::Llama });
        assert_eq!(
            (config.num_hidden_layers, config.hidden_size, config.num_attention_heads, config.key_value_heads()),
            (2, 64, 4, 2)
        );
        assert_eq!(config.rope_theta, 1000.0, "rope_theta read from transformers 5's rope_parameters");
        assert_eq!(config.tie_word_embeddings, variant != "untied");
        let error = max_logit_error(&model, &expected(&fixture_dir(variant)));
        assert!(error < 1e-4, "{variant}: max |logit difference| {error}");
    }
}

#[test]
fn cached_decoding_equals_recomputing_the_prefix() {
    let model = load("untied");
    let sequence = ids(&expected(&fixture_dir("untied"))["sequences"][1]);
    let full: Vec<f32> = model.forward(row(&sequence)).try_into_vec_as::<f32>().unwrap();
    // Grown by concatenation, and written in place into room reserved after the first position.
    for reserved in [false, true] {
        let mut cache = KvCache::default();
        for (position, &token) in sequence.iter().enumerate() {
            let hidden = model.hidden(row(&[token]), row(&[position as u32]), None, &mut cache);
            if reserved && position == 0 {
                cache.reserve(sequence.len());
                assert_eq!(cache.layers[0].as_ref().unwrap().capacity(), sequence.len());
            }
            assert_eq!(cache.len(), position + 1);
            let step: Vec<f32> = model.head(hidden).try_into_vec_as::<f32>().unwrap();
            let recomputed = &full[position * VOCAB..(position + 1) * VOCAB];
            let error = step.iter().zip(recomputed).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
            assert!(error < 1e-4, "reserved {reserved}, position {position}: {error}");
        }
    }
}

#[test]
fn greedy_generation_equals_transformers_generate_single_and_left_padded() {
    for variant in VARIANTS {
        let model = load(variant);
        let expected = expected(&fixture_dir(variant));
        let config = GenerationConfig { max_new_tokens: 10, pad_id: Some(0), ..Default::default() };
        let greedy = generate(&model, &[ids(&expected["greedy"]["prompt"])], &config, &libtorch_cpu()).unwrap();
        assert_eq!(greedy[0], ids(&expected["greedy"]["new_tokens"]), "{variant}");

        let prompts: Vec<Vec<u32>> = expected["greedy_batch"]["prompts"].as_array().unwrap().iter().map(ids).collect();
        let batch = generate(&model, &prompts, &config, &libtorch_cpu()).unwrap();
        for (index, new_tokens) in expected["greedy_batch"]["new_tokens"].as_array().unwrap().iter().enumerate() {
            assert_eq!(batch[index], ids(new_tokens), "{variant} row {index}");
        }
    }
}

#[test]
fn causality_future_tokens_never_change_earlier_logits() {
    let model = load("tied");
    let a: Vec<f32> = model.forward(row(&[5, 6, 7, 8])).try_into_vec_as::<f32>().unwrap();
    let b: Vec<f32> = model.forward(row(&[5, 6, 7, 90])).try_into_vec_as::<f32>().unwrap();
    assert_eq!(a[..3 * VOCAB], b[..3 * VOCAB]);
    assert_ne!(a[3 * VOCAB..], b[3 * VOCAB..]);
}

#[test]
fn generation_refuses_what_does_not_fit() {
    let model = load("tied");
    let config = GenerationConfig { max_new_tokens: 10, ..Default::default() };
    let error = generate(&model, &[vec![1; 60]], &config, &libtorch_cpu()).unwrap_err().to_string();
    assert!(error.contains("do not fit the model's 64 positions"), "{error}");
    let gpt2_pad = GenerationConfig { max_new_tokens: 2, pad_id: Some(50_256), ..Default::default() };
    let error = generate(&model, &[vec![1, 2]], &gpt2_pad, &libtorch_cpu()).unwrap_err().to_string();
    assert!(error.contains("50256") && error.contains("vocabulary of 128"), "{error}");
}

#[test]
fn sliding_window_evaluation_scores_every_token_once_and_bits_per_byte_is_the_training_formula() {
    let model = load("untied");
    let text: Vec<u32> = (0..50).map(|i| (i * 37 % VOCAB) as u32).collect();
    let whole = evaluate_text(&model, &text, 100, 64, 64, &libtorch_cpu()).unwrap();
    let windows = evaluate_text(&model, &text, 100, 16, 8, &libtorch_cpu()).unwrap();
    assert_eq!((whole.predicted_tokens, windows.predicted_tokens), (49, 49));
    assert!((whole.nll_nats - windows.nll_nats).abs() / whole.nll_nats < 0.2);
    assert_eq!(whole.bits_per_byte, bits_per_byte(whole.nll_nats, 100));
    assert_eq!(
        whole,
        TextEvaluation { bits_per_byte: whole.bits_per_byte, ..TextEvaluation::from_nll(whole.nll_nats, 49, 100) }
    );
    // One window holding the whole text: the NLL is the sum over the forward pass's log-softmax.
    let logits = model.forward(row(&text[..64.min(text.len())]));
    let log_probs: Vec<f32> = burn::tensor::activation::log_softmax(logits, 2).try_into_vec_as::<f32>().unwrap();
    let by_hand: f64 = (1..text.len()).map(|p| -f64::from(log_probs[(p - 1) * VOCAB + text[p] as usize])).sum();
    assert!((by_hand - whole.nll_nats).abs() < 1e-3, "{by_hand} vs {}", whole.nll_nats);
}

/// A copy of a fixture variant with its config.json edited.
fn copy_fixture(variant: &str, edit_config: impl FnOnce(&mut Value)) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for file in ["model.safetensors", "tokenizer.json"] {
        std::fs::copy(fixture_dir(variant).join(file), dir.path().join(file)).unwrap();
    }
    let mut config: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture_dir(variant).join("config.json")).unwrap()).unwrap();
    edit_config(&mut config);
    std::fs::write(dir.path().join("config.json"), config.to_string()).unwrap();
    dir
}

fn load_error(dir: &tempfile::TempDir) -> LoadError {
    load_llama(dir.path(), &libtorch_cpu()).unwrap_err()
}

#[test]
fn config_forms_and_unsupported_variants() {
    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture_dir("tied").join("config.json")).unwrap()).unwrap();
    // transformers 4.x wrote rope_theta at the top level and rope_scaling null.
    let mut old = config.clone();
    old.as_object_mut().unwrap().remove("rope_parameters");
    old["rope_theta"] = 500.0.into();
    old["rope_scaling"] = Value::Null;
    assert_eq!(LlamaConfig::from_json(&old.to_string()).unwrap().rope_theta, 500.0);

    let mut scaled = config.clone();
    scaled["rope_parameters"] = serde_json::json!({"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0});
    assert!(matches!(
        LlamaConfig::from_json(&scaled.to_string()),
        Err(LoadError::Unsupported { field: "rope_parameters", .. })
    ));
    let mut scaled = old.clone();
    scaled["rope_scaling"] = serde_json::json!({"type": "linear", "factor": 2.0});
    let error = LlamaConfig::from_json(&scaled.to_string()).unwrap_err();
    assert!(error.to_string().contains("rope_scaling `linear"), "{error}");

    let mut gelu = config.clone();
    gelu["hidden_act"] = "gelu".into();
    let error = LlamaConfig::from_json(&gelu.to_string()).unwrap_err();
    assert!(
        matches!(error, LoadError::Unsupported { field: "hidden_act", ref value, .. } if value == "gelu"),
        "{error}"
    );

    let mut mistral = config.clone();
    mistral["model_type"] = "mistral".into();
    let error = LlamaConfig::from_json(&mistral.to_string()).unwrap_err();
    assert!(matches!(error, LoadError::ModelType { ref found, .. } if found == "mistral"), "{error}");

    let mut odd_heads = config;
    odd_heads["num_key_value_heads"] = 3.into();
    assert!(matches!(LlamaConfig::from_json(&odd_heads.to_string()), Err(LoadError::Invalid { .. })));

    // Each error is one line that names what is wrong.
    for (bad, names) in [(scaled, "linear"), (gelu, "gelu"), (mistral, "mistral")] {
        let message = LlamaConfig::from_json(&bad.to_string()).unwrap_err().to_string();
        assert!(message.contains(names) && !message.contains('\n'), "{message}");
    }
}

#[test]
fn the_named_smollm2_shape() {
    let config = LlamaConfig::smollm2_135m();
    config.validate().unwrap();
    assert_eq!((config.key_value_heads(), config.head_dim()), (3, 64));
}

#[test]
fn missing_unexpected_and_mis_shaped_tensors_are_named() {
    let deeper = copy_fixture("tied", |config| config["num_hidden_layers"] = 3.into());
    let error = load_error(&deeper);
    assert!(
        matches!(error, LoadError::MissingTensor { ref tensor, .. } if tensor.starts_with("model.layers.2.")),
        "{error}"
    );
    assert!(!error.to_string().contains("gamma"), "named by the checkpoint's key: {error}");

    let shallower = copy_fixture("tied", |config| config["num_hidden_layers"] = 1.into());
    let error = load_error(&shallower).to_string();
    assert!(error.contains("unexpected tensor `model.layers.1."), "{error}");

    let wider_mlp = copy_fixture("tied", |config| config["intermediate_size"] = 128.into());
    let error = load_error(&wider_mlp);
    assert!(
        matches!(error, LoadError::TensorMismatch { ref tensor, .. }
            if tensor.contains("mlp.") && tensor.ends_with("_proj.weight")),
        "{error}"
    );
    assert!(error.to_string().contains("[64, 96]"), "{error}");

    // An untied config needs the checkpoint's own head.
    let untied = copy_fixture("tied", |config| config["tie_word_embeddings"] = false.into());
    let error = load_error(&untied);
    assert!(matches!(error, LoadError::MissingTensor { ref tensor, .. } if tensor == "lm_head.weight"), "{error}");

    // Biases the config does not have are unexpected.
    let no_bias = copy_fixture("untied", |config| config["attention_bias"] = false.into());
    let error = load_error(&no_bias).to_string();
    assert!(error.contains("unexpected tensor `") && error.contains("_proj.bias"), "{error}");
}

#[test]
fn a_tied_config_refuses_a_different_head() {
    let untied_weights_tied_config = copy_fixture("untied", |config| config["tie_word_embeddings"] = true.into());
    let error = load_error(&untied_weights_tied_config);
    assert!(matches!(error, LoadError::TiedHeadDiffers { .. }), "{error}");
}

#[test]
fn a_directory_without_config_or_weights_is_an_error() {
    let empty = tempfile::tempdir().unwrap();
    let error = load_llama(empty.path(), &libtorch_cpu()).unwrap_err().to_string();
    assert!(error.contains("config.json is missing"), "{error}");
    let no_weights = copy_fixture("tied", |_| {});
    std::fs::remove_file(no_weights.path().join("model.safetensors")).unwrap();
    let error = load_error(&no_weights).to_string();
    assert!(error.contains("model.safetensors is missing"), "{error}");
}

#[test]
fn the_tokenizer_json_encodes_as_transformers_and_must_match_the_vocabulary() {
    let dir = fixture_dir("tied");
    let config = LlamaConfig::from_dir(&dir).unwrap();
    let tokenizer = load_tokenizer(&dir, config.vocab_size).unwrap();
    let tokenized = &expected(&dir)["tokenized"];
    assert_eq!(tokenizer.encode(tokenized["text"].as_str().unwrap()).unwrap(), ids(&tokenized["ids"]));
    assert_eq!(tokenizer.pad_id(), 0, "<|endoftext|> is the pad id");

    let error = load_tokenizer(&dir, 256).unwrap_err();
    assert!(matches!(error, LoadError::TokenizerMismatch { tokenizer: 128, model: 256 }), "{error}");

    let no_tokenizer = tempfile::tempdir().unwrap();
    let error = load_tokenizer(no_tokenizer.path(), 128).unwrap_err().to_string();
    assert!(error.contains("tokenizer.json is missing"), "{error}");
}

/// SmolLM2-135M itself, or any Llama directory with an `expected.json` made by
/// `fixtures/llama-tiny/make_smollm2_expected.py`. Run by hand, from the workspace root, after
/// `just fetch-smollm2` and that script:
/// `RETROFIT_LLAMA_PARITY_DIR=data/smollm2-135m cargo test --release -p retrofit-core --test llama_parity --
/// --ignored --nocapture`
#[test]
#[ignore = "needs a Llama directory with expected.json (RETROFIT_LLAMA_PARITY_DIR, `just fetch-smollm2`)"]
fn full_size_logits_and_greedy_tokens_match_transformers() {
    let dir = PathBuf::from(std::env::var("RETROFIT_LLAMA_PARITY_DIR").expect("set RETROFIT_LLAMA_PARITY_DIR"));
    let dir = if dir.is_relative() { Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(dir) } else { dir };
    let (model, config) = load_llama(&dir, &libtorch_cpu()).unwrap();
    let expected = expected(&dir);
    let tokenizer = load_tokenizer(&dir, config.vocab_size).unwrap();
    let prompts = expected["prompts"].as_array().unwrap();
    for prompt in prompts {
        assert_eq!(tokenizer.encode(prompt["text"].as_str().unwrap()).unwrap(), ids(&prompt["ids"]), "{prompt}");
    }
    let mut worst = 0.0f32;
    for (prompt, logits) in prompts.iter().zip(expected["logits"].as_array().unwrap()) {
        let ours: Vec<f32> = model.forward(row(&ids(&prompt["ids"]))).try_into_vec_as::<f32>().unwrap();
        let theirs = logits.as_array().unwrap().iter().flat_map(|position| position.as_array().unwrap());
        let mut count = 0;
        for (a, b) in ours.iter().zip(theirs) {
            worst = worst.max((a - b.as_f64().unwrap() as f32).abs());
            count += 1;
        }
        assert_eq!(count, ours.len());
    }
    println!(
        "{} layers x {}, {} heads / {} kv heads: max |logit difference| {worst} over {} prompts",
        config.num_hidden_layers,
        config.hidden_size,
        config.num_attention_heads,
        config.key_value_heads(),
        prompts.len()
    );
    assert!(worst < 1e-3, "max |logit difference| {worst}");

    let greedy = &expected["greedy"];
    let single =
        GenerationConfig { max_new_tokens: ids(&greedy["new_tokens"]).len(), pad_id: Some(0), ..Default::default() };
    let tokens = generate(&model, &[ids(&greedy["prompt"])], &single, &libtorch_cpu()).unwrap().remove(0);
    println!(
        "greedy: {:?} -> {:?}",
        tokenizer.decode(&ids(&greedy["prompt"])).unwrap(),
        tokenizer.decode(&tokens).unwrap()
    );
    assert_eq!(tokens, ids(&greedy["new_tokens"]));
    let batch = &expected["greedy_batch"];
    let prompts: Vec<Vec<u32>> = batch["prompts"].as_array().unwrap().iter().map(ids).collect();
    let new_tokens: Vec<Vec<u32>> = batch["new_tokens"].as_array().unwrap().iter().map(ids).collect();
    let padded = GenerationConfig { max_new_tokens: new_tokens[0].len(), pad_id: Some(0), ..Default::default() };
    assert_eq!(generate(&model, &prompts, &padded, &libtorch_cpu()).unwrap(), new_tokens);
    println!("greedy tokens equal, single ({}) and left-padded batch of {}", tokens.len(), prompts.len());
}

#[test]
fn qwen2_is_llama_with_biases_on_q_k_v_only_read_from_its_own_keys() {
    let (model, config) = load_qwen2(&fixture_dir("qwen2"), &libtorch_cpu()).unwrap();
    let attention = &model.model.layers[0].self_attn;
    assert!(attention.q_proj.bias.is_some() && attention.k_proj.bias.is_some() && attention.v_proj.bias.is_some());
    assert!(attention.o_proj.bias.is_none() && model.model.layers[0].mlp.gate_proj.bias.is_none());
    assert_eq!(config.llama().key_value_heads(), 2);

    // A Llama checkpoint has no q/k/v biases: read as Qwen2 it misses them, by name.
    let as_qwen2 = copy_fixture("tied", |config| config["model_type"] = "qwen2".into());
    let error = load_qwen2(as_qwen2.path(), &libtorch_cpu()).unwrap_err();
    assert!(matches!(error, LoadError::MissingTensor { ref tensor, .. } if tensor.ends_with("_proj.bias")), "{error}");

    let text: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture_dir("qwen2").join("config.json")).unwrap()).unwrap();
    let mut sliding = text.clone();
    sliding["use_sliding_window"] = true.into();
    let error = Qwen2Config::from_json(&sliding.to_string()).unwrap_err();
    assert!(matches!(error, LoadError::Unsupported { field: "use_sliding_window", .. }), "{error}");
    let mut llama = text;
    llama["model_type"] = "llama".into();
    let error = Qwen2Config::from_json(&llama.to_string()).unwrap_err();
    assert!(matches!(error, LoadError::ModelType { expected: "qwen2", .. }), "{error}");
}
