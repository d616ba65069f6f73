//! The family-neutral base: `load_base` dispatches on `model_type`, and running the pieces
//! (embed → every block → final norm → head) gives exactly the model's own logits, for GPT-2,
//! Llama and Qwen2 alike.

use std::path::{Path, PathBuf};

use burn::tensor::{Int, Tensor, TensorData};
use retrofit_core::base::{BaseFamily, PretrainedBase, base_family, load_base};
use retrofit_core::decoder::Decoder;
use retrofit_core::generation::{GenerationConfig, KvCache};
use retrofit_core::hf_checkpoint::LoadError;
use retrofit_runtime::device::libtorch_cpu;
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Each fixture with the family its config.json names.
fn bases() -> [(BaseFamily, PathBuf); 4] {
    [
        (BaseFamily::Gpt2, fixtures().join("gpt2-tiny")),
        (BaseFamily::Llama, fixtures().join("llama-tiny/tied")),
        (BaseFamily::Llama, fixtures().join("llama-tiny/untied")),
        (BaseFamily::Qwen2, fixtures().join("llama-tiny/qwen2")),
    ]
}

fn batch(rows: &[&[u32]]) -> Tensor<2, Int> {
    let values: Vec<i64> = rows.iter().flat_map(|row| row.iter().map(|&id| i64::from(id))).collect();
    Tensor::from_data(TensorData::new(values, [rows.len(), rows[0].len()]), &libtorch_cpu())
}

/// The forward pass assembled from the base's pieces, as the recurrent generator runs it.
fn by_pieces(base: &PretrainedBase, ids: Tensor<2, Int>) -> Tensor<3> {
    let [rows, seq] = ids.dims();
    let positions = Tensor::<1, Int>::arange(0..seq as i64, &ids.device()).reshape([1, seq]).expand([rows, seq]);
    let context = base.context(positions.clone(), None, 0);
    let mut x = base.embed(ids, positions);
    for index in 0..base.n_layer() {
        x = base.block(index, x, &context, &mut None);
    }
    base.head(base.final_norm(x))
}

#[test]
fn the_pieces_give_exactly_the_models_logits_for_every_family() {
    for (family, dir) in bases() {
        let (base, config) = load_base(&dir, &libtorch_cpu()).unwrap();
        assert_eq!((base.family(), config.family()), (family, family));
        let ids = batch(&[&[5, 77, 3, 120, 64, 0, 9], &[15, 27, 88, 3, 64, 57, 127]]);
        let ours: Vec<f32> = by_pieces(&base, ids.clone()).try_into_vec_as::<f32>().unwrap();
        let theirs: Vec<f32> = base.forward(ids).try_into_vec_as::<f32>().unwrap();
        assert_eq!(ours, theirs, "{}", dir.display());
        assert_eq!(ours.len(), 2 * 7 * base.vocab_size());
    }
}

#[test]
fn the_sizes_a_wrapper_needs() {
    let (gpt2, _) = load_base(&fixtures().join("gpt2-tiny"), &libtorch_cpu()).unwrap();
    assert_eq!((gpt2.n_layer(), gpt2.d_model(), gpt2.vocab_size(), gpt2.max_positions()), (2, 32, 1000, 64));
    let (llama, _) = load_base(&fixtures().join("llama-tiny/tied"), &libtorch_cpu()).unwrap();
    assert_eq!((llama.n_layer(), llama.d_model(), llama.vocab_size(), llama.max_positions()), (2, 64, 128, 64));
}

#[test]
fn cached_blocks_equal_the_uncached_pass() {
    for (_, dir) in bases() {
        let (base, _) = load_base(&dir, &libtorch_cpu()).unwrap();
        let sequence = [15u32, 27, 88, 3, 64, 57];
        let full: Vec<f32> = base.forward(batch(&[&sequence])).try_into_vec_as::<f32>().unwrap();
        let vocab = base.vocab_size();
        let mut cache = KvCache::new(base.n_layer());
        for (position, &token) in sequence.iter().enumerate() {
            let hidden = base.hidden(batch(&[&[token]]), batch(&[&[position as u32]]), None, &mut cache);
            let step: Vec<f32> = base.head(hidden).try_into_vec_as::<f32>().unwrap();
            let error = step
                .iter()
                .zip(&full[position * vocab..(position + 1) * vocab])
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(error < 1e-4, "{} position {position}: {error}", dir.display());
        }
    }
}

#[test]
fn generation_and_the_tokenizer_through_the_base() {
    let dir = fixtures().join("llama-tiny/tied");
    let (base, config) = load_base(&dir, &libtorch_cpu()).unwrap();
    let expected: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    let prompt: Vec<u32> =
        expected["greedy"]["prompt"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u32).collect();
    let tokenizer = config.load_tokenizer(&dir).unwrap();
    let generation = GenerationConfig { max_new_tokens: 10, pad_id: Some(tokenizer.pad_id()), ..Default::default() };
    let tokens = base.generate(&[prompt], &generation, &libtorch_cpu()).unwrap();
    let want: Vec<u32> =
        expected["greedy"]["new_tokens"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u32).collect();
    assert_eq!(tokens[0], want);
}

fn config_with(model_type: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut config: Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("llama-tiny/tied/config.json")).unwrap())
            .unwrap();
    match model_type {
        Some(model_type) => config["model_type"] = model_type.into(),
        None => {
            config.as_object_mut().unwrap().remove("model_type");
        }
    }
    std::fs::write(dir.path().join("config.json"), config.to_string()).unwrap();
    dir
}

#[test]
fn an_unsupported_or_absent_model_type_is_an_error_listing_the_supported_ones() {
    let mistral = config_with(Some("mistral"));
    let error = load_base(mistral.path(), &libtorch_cpu()).unwrap_err();
    assert!(matches!(error, LoadError::UnsupportedModelType { ref found, .. } if found == "mistral"), "{error}");
    assert!(error.to_string().contains("supported are gpt2, llama, qwen2"), "{error}");
    let none = config_with(None);
    assert!(matches!(base_family(none.path()), Err(LoadError::NoModelType { .. })));
    assert_eq!(base_family(&fixtures().join("gpt2-tiny")).unwrap(), BaseFamily::Gpt2);
}

#[test]
fn a_row_ends_at_its_first_stop_id_and_the_others_go_on() {
    let dir = fixtures().join("llama-tiny/tied");
    let (base, _) = load_base(&dir, &libtorch_cpu()).unwrap();
    let expected: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    let ids =
        |value: &Value| -> Vec<u32> { value.as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u32).collect() };
    let prompts: Vec<Vec<u32>> = expected["greedy_batch"]["prompts"].as_array().unwrap().iter().map(ids).collect();
    let full: Vec<Vec<u32>> = expected["greedy_batch"]["new_tokens"].as_array().unwrap().iter().map(ids).collect();
    // Row 0's third token, where it first occurs in row 0 (and, if at all, later in row 1).
    let stop = full[0][2];
    let first = |row: &[u32]| row.iter().position(|&id| id == stop);
    let config = GenerationConfig { max_new_tokens: 10, stop_ids: vec![stop], ..Default::default() };
    let stopped = base.generate(&prompts, &config, &libtorch_cpu()).unwrap();
    for (row, (got, all)) in stopped.iter().zip(&full).enumerate() {
        let end = first(all).map_or(all.len(), |at| at + 1);
        assert_eq!(got, &all[..end], "row {row}: up to and including its first stop id");
    }
}
