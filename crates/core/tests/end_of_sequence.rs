//! Generation stops where the model's directory says a sequence ends: on a tiny random Llama
//! whose `generation_config.json` names an end-of-sequence id that greedy decoding reaches, it
//! stops at the first one (kept as the last token); with no stop ids it runs to its budget.

use std::path::{Path, PathBuf};

use retrofit_core::base::load_base;
use retrofit_core::generation::{GenerationConfig, StopReason};
use retrofit_core::hf_checkpoint::end_of_sequence_ids;
use retrofit_runtime::device::libtorch_cpu;

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/llama-tiny/tied")
}

/// The index of the last token of `tokens` that occurs there for the first time: an
/// end-of-sequence id there ends greedy decoding at that index and nowhere before.
fn last_first_occurrence(tokens: &[u32]) -> usize {
    (0..tokens.len()).rev().find(|&index| !tokens[..index].contains(&tokens[index])).unwrap()
}

#[test]
fn greedy_generation_stops_at_the_end_of_sequence_id_the_directory_names_and_runs_on_without_it() {
    let device = libtorch_cpu();
    let dir = tempfile::tempdir().unwrap();
    for file in ["config.json", "model.safetensors", "tokenizer.json"] {
        std::fs::copy(fixture_dir().join(file), dir.path().join(file)).unwrap();
    }
    // The fixture's config.json names no end of sequence.
    assert!(end_of_sequence_ids(dir.path()).unwrap().is_empty());
    let (model, _) = load_base(dir.path(), &device).unwrap();
    let prompts = [vec![3u32, 14, 15, 9, 2], vec![7u32, 1, 8]];
    let budget = 24;
    let unbounded = GenerationConfig { max_new_tokens: budget, ..GenerationConfig::default() };
    let greedy = model.generate(&prompts[..1], &unbounded, &device).unwrap().remove(0);
    assert_eq!(greedy.len(), budget);
    assert_eq!(StopReason::of(&greedy, &[]), StopReason::TokenBudget);

    // Name the token greedy decoding reaches at `end` (and one it never produces) as the end of
    // sequence, in generation_config.json as a list.
    let end = last_first_occurrence(&greedy);
    let eos = greedy[end];
    let unused = (0..128u32).find(|id| !greedy.contains(id)).unwrap();
    let generation_config = serde_json::json!({ "eos_token_id": [unused, eos] });
    std::fs::write(dir.path().join("generation_config.json"), generation_config.to_string()).unwrap();
    let stop_ids = end_of_sequence_ids(dir.path()).unwrap();
    assert_eq!(stop_ids, [unused, eos]);

    let stopping = GenerationConfig { stop_ids: stop_ids.clone(), ..unbounded.clone() };
    let stopped = model.generate(&prompts[..1], &stopping, &device).unwrap().remove(0);
    assert_eq!(stopped, greedy[..=end]);
    assert_eq!(StopReason::of(&stopped, &stop_ids), StopReason::EndOfSequence(eos));
    assert_eq!(StopReason::of(&stopped, &stop_ids).text_tokens(&stopped), &greedy[..end]);

    // In a left-padded batch the row that ends stops there; the other goes on as it would alone.
    let other_alone = model.generate(&prompts[1..], &stopping, &device).unwrap().remove(0);
    let batch = model.generate(&prompts, &stopping, &device).unwrap();
    assert_eq!(batch, [stopped, other_alone]);
}
