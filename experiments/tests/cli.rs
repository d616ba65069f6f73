//! The binaries as a user meets them: a run writes config, stats and summary; bad input is one
//! line on stderr and a non-zero exit.

use std::path::Path;
use std::process::{Command, Output};

fn repo_root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn load_data(results: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_load-data"))
        .current_dir(repo_root())
        .env("RUST_LOG", "warn")
        .arg("--results")
        .arg(results)
        .args(args)
        .output()
        .unwrap()
}

fn single_error_line(output: &Output) -> String {
    assert!(!output.status.success(), "expected failure");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "stderr: {stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    lines[0].to_string()
}

#[test]
fn a_run_writes_config_stats_and_summary_then_compare_lists_it() {
    let results = tempfile::tempdir().unwrap();
    let output = load_data(results.path(), &["--run-name", "bytes", "--set", "tokenizer.kind=\"bytes\""]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let run = results.path().join("data/bytes");
    for file in ["config.toml", "stats.json", "summary.json"] {
        assert!(run.join(file).is_file(), "{file}");
    }
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["stage"], "data");
    assert_eq!(summary["final_metrics"]["vocab_size"]["value"], 256.0);
    assert_eq!(summary["config"]["tokenizer"]["kind"], "bytes");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("| train |"), "{stdout}");

    let compare = Command::new(env!("CARGO_BIN_EXE_compare")).arg("--results").arg(results.path()).output().unwrap();
    assert!(compare.status.success());
    let table = String::from_utf8_lossy(&compare.stdout);
    assert!(table.contains("| data | bytes | text data/alice29.txt (bytes) |"), "{table}");
    assert!(results.path().join("README.md").is_file());
}

#[test]
fn an_existing_run_directory_is_refused() {
    let results = tempfile::tempdir().unwrap();
    assert!(load_data(results.path(), &["--run-name", "same"]).status.success());
    let line = single_error_line(&load_data(results.path(), &["--run-name", "same"]));
    assert!(line.contains("already exists"), "{line}");
}

#[test]
fn unknown_key_and_wrong_type_name_the_key() {
    let results = tempfile::tempdir().unwrap();
    let line = single_error_line(&load_data(results.path(), &["--set", "tokenizer.max_vocabb=3"]));
    assert!(line.contains("max_vocabb"), "{line}");
    let line = single_error_line(&load_data(results.path(), &["--set", "context=\"long\""]));
    assert!(line.contains("`context`"), "{line}");
    let config = results.path().join("bad.toml");
    std::fs::write(&config, "seed = 1\n[source]\nkind = \"text\"\npath = \"data/alice29.txt\"\nfractionn = 0.5\n")
        .unwrap();
    let line = single_error_line(&load_data(results.path(), &["--config", config.to_str().unwrap()]));
    assert!(line.contains("source.fractionn"), "{line}");
}

#[test]
fn missing_data_is_one_line_and_leaves_no_run_directory() {
    let results = tempfile::tempdir().unwrap();
    let line = single_error_line(&load_data(results.path(), &["--run-name", "r", "--set", "source.path=no/such.txt"]));
    assert!(line.contains("no/such.txt does not exist"), "{line}");
    assert!(!results.path().join("data/r").exists());
}

fn gpt2(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pretrained"))
        .current_dir(repo_root())
        .env("RUST_LOG", "warn")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn gpt2_bad_model_directories_are_one_line_errors() {
    let empty = tempfile::tempdir().unwrap();
    let line = single_error_line(&gpt2(&[
        "generate",
        "--model",
        empty.path().to_str().unwrap(),
        "--prompt",
        "Hi",
        "--device",
        "cpu",
    ]));
    assert!(line.contains("config.json is missing"), "{line}");
    // The tiny parity fixture has a 1,000-token vocabulary and no tokenizer: GPT-2's does not fit.
    let line = single_error_line(&gpt2(&[
        "generate",
        "--model",
        "crates/core/tests/fixtures/gpt2-tiny",
        "--prompt",
        "Hi",
        "--device",
        "cpu",
    ]));
    assert!(line.contains("differs from the model's vocab_size (1000)"), "{line}");
}

fn stage(binary: &str, results: &Path, args: &[&str]) -> Output {
    Command::new(binary)
        .current_dir(repo_root())
        .env("RUST_LOG", "warn")
        .arg("--results")
        .arg(results)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn generator_and_recurrent_generator_report_bad_input_in_one_line() {
    let results = tempfile::tempdir().unwrap();
    let missing = Command::new(env!("CARGO_BIN_EXE_generator"))
        .current_dir(repo_root())
        .env("RUST_LOG", "warn")
        .args(["sample", "--run", "results/generator/no-such-run", "--prompt", "Alice"])
        .output()
        .unwrap();
    assert!(single_error_line(&missing).contains("is not a generator run"));
    let word_tokens =
        stage(env!("CARGO_BIN_EXE_generator"), results.path(), &["--set", "data.tokenizer.kind=\"word\""]);
    assert!(single_error_line(&word_tokens).contains("word-level vocabulary"));
    let no_base =
        stage(env!("CARGO_BIN_EXE_recurrent-generator"), results.path(), &["--set", "base=\"data/no-such-base\""]);
    assert!(single_error_line(&no_base).contains("no base model at data/no-such-base"));
    let eval = Command::new(env!("CARGO_BIN_EXE_recurrent-generator"))
        .current_dir(repo_root())
        .env("RUST_LOG", "warn")
        .args(["eval", "--run", "results/recurrent-generator/no-such-run"])
        .output()
        .unwrap();
    assert!(single_error_line(&eval).contains("has no checkpoint"));
    // Failed runs leave no directory behind.
    assert!(std::fs::read_dir(results.path().join("generator")).map_or(true, |mut entries| entries.next().is_none()));
}

/// A random byte-level GPT-2 (64 positions) exported as a Hugging Face directory.
fn tiny_byte_level_gpt2() -> tempfile::TempDir {
    use retrofit_core::gpt2::{Gpt2Config, export_gpt2};
    let model = tempfile::tempdir().unwrap();
    let config =
        Gpt2Config { vocab_size: 256, n_positions: 64, n_embd: 16, n_layer: 1, n_head: 2, ..Gpt2Config::distilgpt2() };
    let device = retrofit_runtime::device::libtorch_cpu();
    let tokenizer = retrofit_data::tokenizer::TokenizerConfig::Bytes;
    export_gpt2(&config.init_for_training(&device), &config, &tokenizer, model.path()).unwrap();
    model
}

/// `pretrained eval --text data/alice29.txt --model MODEL --results RESULTS ARGS`.
fn pretrained_eval(model: &Path, results: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pretrained"))
        .current_dir(repo_root())
        .env("RUST_LOG", "warn")
        .args(["eval", "--text", "data/alice29.txt"])
        .args(args)
        .arg("--model")
        .arg(model)
        .arg("--results")
        .arg(results)
        .output()
        .unwrap()
}

#[test]
fn gpt2_eval_runs_on_an_exported_byte_level_model_and_writes_a_summary() {
    let model = tiny_byte_level_gpt2();
    let results = tempfile::tempdir().unwrap();
    let output =
        pretrained_eval(model.path(), results.path(), &["--context", "64", "--stride", "64", "--run-name", "tiny"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(results.path().join("pretrained-eval/tiny/summary.json")).unwrap(),
    )
    .unwrap();
    // A random model with N(0, 0.02) weights predicts nearly uniformly: about 8 bits per byte.
    let bits = summary["final_metrics"]["eval_bits_per_byte"]["value"].as_f64().unwrap();
    assert!((bits - 8.0).abs() < 0.2, "{bits}");
    assert!(summary["data"].as_str().unwrap().ends_with("(bytes)"));
}

/// `pretrained generate --device cpu --model MODEL --prompt PROMPT --tokens TOKENS ARGS`: stdout
/// and stderr.
fn pretrained_generate(model: &Path, prompt: &str, tokens: usize, args: &[&str]) -> (String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_pretrained"))
        .current_dir(repo_root())
        .env("RUST_LOG", "warn")
        .args(["generate", "--device", "cpu", "--prompt", prompt, "--tokens", &tokens.to_string(), "--model"])
        .arg(model)
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stderr}");
    (String::from_utf8_lossy(&output.stdout).into_owned(), stderr)
}

#[test]
fn pretrained_generate_stops_at_the_end_of_sequence_the_model_names_unless_told_to_ignore_it() {
    use retrofit_core::generation::GenerationConfig;
    use retrofit_data::tokenizer::TextTokenizer;
    let model = tiny_byte_level_gpt2();
    let (prompt, tokens) = ("Alice", 20);
    // What greedy decoding produces, in this process, with no stop.
    let device = retrofit_runtime::device::libtorch_cpu();
    let (base, _) = retrofit_core::base::load_base(model.path(), &device).unwrap();
    let generation = GenerationConfig { max_new_tokens: tokens, ..GenerationConfig::default() };
    let greedy =
        base.generate(&[TextTokenizer::Bytes.encode(prompt).unwrap()], &generation, &device).unwrap().remove(0);
    let text = |ids: &[u32]| format!("{prompt}{}\n", TextTokenizer::Bytes.decode(ids).unwrap());

    // A byte-level export names no end of sequence: the budget ends generation.
    let (stdout, stderr) = pretrained_generate(model.path(), prompt, tokens, &[]);
    assert_eq!(stdout, text(&greedy));
    assert!(stderr.contains(&format!("{tokens} tokens in ")), "{stderr}");
    assert!(
        stderr.contains("stopped at the token budget (--tokens 20); the model names no end-of-sequence id"),
        "{stderr}"
    );

    // Name a byte that greedy decoding reaches at `end` (its first time there) as the end of
    // sequence: generation stops there and prints the text before it.
    let end = (0..greedy.len()).rev().find(|&index| !greedy[..index].contains(&greedy[index])).unwrap();
    let eos = greedy[end];
    std::fs::write(model.path().join("generation_config.json"), format!("{{\"eos_token_id\": {eos}}}")).unwrap();
    let (stdout, stderr) = pretrained_generate(model.path(), prompt, tokens, &[]);
    assert_eq!(stdout, text(&greedy[..end]));
    assert!(stderr.contains(&format!("{} tokens in ", end + 1)), "{stderr}");
    assert!(stderr.contains("stopped at the end of sequence") && stderr.contains(&format!("(id {eos})")), "{stderr}");

    // --ignore-eos goes on to the budget.
    let (stdout, stderr) = pretrained_generate(model.path(), prompt, tokens, &["--ignore-eos"]);
    assert_eq!(stdout, text(&greedy));
    assert!(stderr.contains(&format!("{tokens} tokens in ")), "{stderr}");
    assert!(stderr.contains("stopped at the token budget (--tokens 20; --ignore-eos)"), "{stderr}");
}

#[test]
fn settings_that_cannot_work_are_one_line_errors() {
    let results = tempfile::tempdir().unwrap();
    let classifier = stage(
        env!("CARGO_BIN_EXE_attention-classifier"),
        results.path(),
        &["--config", "configs/smoke/attention-classifier.toml", "--set", "data.max_length=0"],
    );
    assert!(single_error_line(&classifier).contains("data.max_length: must be at least 1"));
    let clipping =
        stage(env!("CARGO_BIN_EXE_generator"), results.path(), &["--set", "training.clip_grad_norm=\"none\""]);
    assert!(single_error_line(&clipping).contains("expected a number or \"off\""));
}

#[test]
fn gpt2_eval_refuses_a_context_longer_than_the_model() {
    let model = tiny_byte_level_gpt2();
    let results = tempfile::tempdir().unwrap();
    let output = pretrained_eval(model.path(), results.path(), &["--context", "100000"]);
    assert!(single_error_line(&output).contains("--context 100000 exceeds the model's 64 positions"));
}

#[test]
fn logs_written_to_a_file_carry_no_colour_codes() {
    let results = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_load-data"))
        .current_dir(repo_root())
        .env("RUST_LOG", "info")
        .arg("--results")
        .arg(results.path())
        .output()
        .unwrap();
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.is_empty() && !stderr.contains('\u{1b}'), "{stderr}");
}

#[test]
fn bench_race_refuses_an_unknown_workload_and_zero_passes_in_one_line() {
    let race = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_bench-race"))
            .current_dir(repo_root())
            .env("RUST_LOG", "warn")
            .args(args)
            .output()
            .unwrap()
    };
    let unknown = single_error_line(&race(&["--workloads", "gpt3-iblocks", "--passes", "1"]));
    assert!(unknown.contains("unknown workload \"gpt3-iblocks\""), "{unknown}");
    assert!(unknown.contains("llama-generate"), "{unknown}");
    let zero = single_error_line(&race(&["--passes", "0"]));
    assert!(zero.contains("--passes must be at least 1"), "{zero}");
}

#[test]
fn out_of_range_sampling_zero_bptt_windows_and_empty_splits_are_one_line_errors() {
    let model = tiny_byte_level_gpt2();
    let top_p = gpt2(&["generate", "--model", model.path().to_str().unwrap(), "--prompt", "Alice", "--top-p", "1.5"]);
    assert!(single_error_line(&top_p).contains("--top-p must be in (0, 1]"));
    let temperature =
        gpt2(&["generate", "--model", model.path().to_str().unwrap(), "--prompt", "Alice", "--temperature=-1"]);
    assert!(single_error_line(&temperature).contains("--temperature must be 0"));

    let results = tempfile::tempdir().unwrap();
    let bptt = stage(env!("CARGO_BIN_EXE_recurrent-generator"), results.path(), &["--set", "data.bptt_windows=0"]);
    assert!(single_error_line(&bptt).contains("data.bptt_windows: must be at least 1"));

    // One row: the validation and test splits come out empty.
    let csv = results.path().join("one-row.csv");
    std::fs::write(&csv, "label,text\n1,a single good review\n").unwrap();
    let source = format!("data.source={{kind=\"csv\", path=\"{}\"}}", csv.display());
    let classifier = stage(
        env!("CARGO_BIN_EXE_attention-classifier"),
        results.path(),
        &["--config", "configs/smoke/attention-classifier.toml", "--set", &source],
    );
    let line = single_error_line(&classifier);
    assert!(line.contains("data.source.valid_fraction") && line.contains("split") && line.contains("empty"), "{line}");
    let stats = load_data(results.path(), &["--set", &format!("source={{kind=\"csv\", path=\"{}\"}}", csv.display())]);
    assert!(stats.status.success(), "{}", String::from_utf8_lossy(&stats.stderr));
    let stderr = String::from_utf8_lossy(&stats.stderr);
    assert!(stderr.contains("the valid split") && stderr.contains("is empty"), "{stderr}");
}

#[test]
fn stage_6_settings_that_cannot_work_and_a_sample_without_a_run_are_one_line_errors() {
    let model = tiny_byte_level_gpt2(); // 64 positions
    let results = tempfile::tempdir().unwrap();
    let base = format!("base={:?}", model.path().display().to_string());
    let recurrent = |sets: &[&str]| {
        let mut args = vec!["--config", "configs/smoke/recurrent-generator.toml", "--set", base.as_str()];
        for set in sets {
            args.extend(["--set", set]);
        }
        single_error_line(&stage(env!("CARGO_BIN_EXE_recurrent-generator"), results.path(), &args))
    };
    let line = recurrent(&["model.state_reset_rate=1.0"]);
    assert!(line.contains("model.state_reset_rate: must be at least 0 and below 1"), "{line}");
    let line = recurrent(&["model.recurrence=\"memory\"", "model.memory_slots=0"]);
    assert!(line.contains("model.memory_slots: must be at least 1"), "{line}");
    let line = recurrent(&["model.recurrence=\"none-cache\"", "data.context=40"]);
    assert!(line.contains("data.context") && line.contains("2 x 40 is more than the base's 64 positions"), "{line}");

    let sample = Command::new(env!("CARGO_BIN_EXE_recurrent-generator"))
        .current_dir(repo_root())
        .env("RUST_LOG", "warn")
        .args(["sample", "--run", "results/recurrent-generator/no-such-run", "--prompt", "Alice"])
        .output()
        .unwrap();
    assert!(single_error_line(&sample).contains("has no checkpoint"));
}

#[test]
fn a_ladder_runs_each_rung_in_its_own_process_and_a_failing_rung_leaves_the_others_running() {
    let model = tiny_byte_level_gpt2(); // 64 positions
    let results = tempfile::tempdir().unwrap();
    let base = format!("base={:?}", model.path().display().to_string());
    // none-cache attends over two windows of 40, more than the base's 64 positions: it fails;
    // the rungs after it still run, and the ladder's exit says which run failed.
    let output = Command::new(env!("CARGO_BIN_EXE_thesis"))
        .current_dir(repo_root())
        .env("RUST_LOG", "warn")
        .args(["run", "--ladder", "tiny", "--config", "configs/smoke/recurrent-generator.toml", "--device", "cpu"])
        .args(["--rungs", "none-cache", "none", "zero-shot", "--set", &base, "--set", "data.context=40"])
        .args(["--set", "data.steps_per_epoch=2", "--results"])
        .arg(results.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("2 x 40 is more than the base's 64 positions"), "{stderr}");
    assert!(stderr.lines().last().unwrap().contains("1 run(s) failed: tiny-none-cache-s0"), "{stderr}");
    let stage = results.path().join("recurrent-generator");
    let failed = std::fs::read_to_string(stage.join("tiny-none-cache-s0/summary.json")).unwrap();
    assert!(failed.contains("\"failed\""), "{failed}");
    let summaries: Vec<serde_json::Value> = ["tiny-none-s0", "tiny-zero-shot-s0"]
        .iter()
        .map(|run| {
            serde_json::from_str(&std::fs::read_to_string(stage.join(run).join("summary.json")).unwrap()).unwrap()
        })
        .collect();
    // Each run's peak memory is its process's: the zero-shot rung, which only evaluates, reports
    // less than the trained rung before it, not the high-water mark it would inherit in one process.
    let peak = |summary: &serde_json::Value| summary["peak_memory_bytes"].as_u64().unwrap();
    assert!(peak(&summaries[1]) < peak(&summaries[0]), "{} {}", peak(&summaries[1]), peak(&summaries[0]));
    assert!(results.path().join("thesis/tiny/README.md").is_file());
}

#[test]
fn thesis_cost_measures_every_rung_in_a_scratch_run_and_keeps_only_the_table() {
    let model = tiny_byte_level_gpt2();
    let results = tempfile::tempdir().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let base = format!("base={:?}", model.path().display().to_string());
    let output = Command::new(env!("CARGO_BIN_EXE_thesis"))
        .current_dir(repo_root())
        .env("RUST_LOG", "warn")
        .env("TMPDIR", scratch.path())
        .args(["cost", "--ladder", "tiny", "--config", "configs/smoke/recurrent-generator.toml", "--device", "cpu"])
        .args([
            "--rungs",
            "zero-shot",
            "none",
            "segment-state",
            "--steps",
            "3",
            "--passes",
            "2",
            "--set",
            &base,
            "--results",
        ])
        .arg(results.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let cost: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(results.path().join("thesis/tiny/cost.json")).unwrap()).unwrap();
    assert_eq!(cost["steps"], 3);
    assert_eq!(cost["passes"], 2);
    let rungs = cost["rungs"].as_array().unwrap();
    let names: Vec<&str> = rungs.iter().map(|rung| rung["rung"].as_str().unwrap()).collect();
    assert_eq!(names, ["zero-shot", "none", "segment-state"]);
    // zero-shot trains nothing: no step; the trained rungs have a step time, and the state adds
    // trainable parameters to the control's.
    assert!(rungs[0]["median_step_s"].is_null() && rungs[0]["trainable_parameters"] == 0);
    assert!(rungs[1]["median_step_s"].as_f64().unwrap() > 0.0);
    assert_eq!(rungs[1]["median_step_s_by_pass"].as_array().unwrap().len(), 2);
    assert!(rungs[2]["trainable_parameters"].as_u64() > rungs[1]["trainable_parameters"].as_u64());
    assert!(rungs.iter().all(|rung| rung["peak_memory_bytes"].as_u64().unwrap() > 0));
    assert!(stdout.contains("| segment-state |"), "{stdout}");
    // The scratch runs are gone, and none was written among the results.
    assert_eq!(std::fs::read_dir(scratch.path()).unwrap().count(), 0);
    assert!(!results.path().join("recurrent-generator").exists());
}
