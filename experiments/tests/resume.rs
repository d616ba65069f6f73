//! Resumable runs through the binaries: a run killed with SIGKILL after an epoch checkpoint and
//! resumed ends exactly where the same run uninterrupted ends; Ctrl-C stops a run cleanly, says
//! how to resume it, and leaves no summary; a finished run cannot be resumed.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn repo_root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// A tiny byte-level GPT-2 generator: 6 epochs of 12 steps, each a fraction of a second.
const TINY: [&str; 18] = [
    "--config",
    "configs/smoke/generator-gpt2.toml",
    "--set",
    "training.epochs=6",
    "--set",
    "data.train_windows=192",
    "--set",
    "training.batch_size=16",
    "--set",
    "data.valid_windows=8",
    "--set",
    "data.context=32",
    "--set",
    "model.n_embd=32",
    "--set",
    "training.warmup_steps=5",
    "--set",
    "sample.tokens=8",
];

fn generator(results: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_generator"));
    command.current_dir(repo_root()).env("RUST_LOG", "warn").arg("--quiet").arg("--results").arg(results).args(args);
    command
}

fn run(command: &mut Command) -> Output {
    let output = command.output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    output
}

fn summary(run: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).unwrap()).unwrap()
}

/// Waits until `file` exists (or the child ends), polling every few milliseconds.
fn wait_for(child: &mut Child, file: &Path) {
    let start = Instant::now();
    while !file.is_file() {
        assert!(child.try_wait().unwrap().is_none(), "the run ended before {}", file.display());
        assert!(start.elapsed() < Duration::from_secs(120), "no {} after 2 minutes", file.display());
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn checkpoint(run: &Path, part: &str, epoch: usize) -> PathBuf {
    run.join("resume").join(format!("{part}-{epoch}.bpk"))
}

/// Starts `command` (a run into `run`) and kills it with SIGKILL once its checkpoint of `epoch` is
/// written (the scheduler's is the last of an epoch's three files).
fn kill_after_epoch(command: &mut Command, run: &Path, epoch: usize) {
    let mut child = command.stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    wait_for(&mut child, &checkpoint(run, "scheduler", epoch));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
}

#[test]
fn runs_killed_after_an_epoch_and_resumed_end_exactly_as_the_uninterrupted_runs() {
    let results = tempfile::tempdir().unwrap();
    run(generator(results.path(), &TINY).args(["--run-name", "whole"]));

    let killed = results.path().join("generator/killed");
    kill_after_epoch(generator(results.path(), &TINY).args(["--run-name", "killed"]), &killed, 2);
    assert!(!killed.join("summary.json").exists(), "the killed run should not have finished");

    let output = run(&mut generator(results.path(), &["--resume", killed.to_str().unwrap()]));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("resuming"), "{stderr}");

    let (whole, resumed) = (summary(&results.path().join("generator/whole")), summary(&killed));
    for metric in ["valid_loss", "valid_bits_per_byte", "train_loss", "train_grad_norm"] {
        // Bitwise: the same weights, optimizer state, schedule, data and random draws.
        assert_eq!(
            whole["final_metrics"][metric]["value"], resumed["final_metrics"][metric]["value"],
            "{metric}: uninterrupted vs killed and resumed"
        );
    }
    // The resumed run's curves hold every step of the six epochs once, as the whole run's do.
    let curves = |run: &Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(run.join("curves.json")).unwrap()).unwrap()
    };
    let (whole_curves, resumed_curves) = (curves(&results.path().join("generator/whole")), curves(&killed));
    assert_eq!(whole_curves["train"]["loss"], resumed_curves["train"]["loss"]);

    let again = generator(results.path(), &["--resume", killed.to_str().unwrap()]).output().unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("finished"), "a finished run is not resumed");

    // Stage 6 with the segment state, on the generator's export as its frozen base.
    let base = results.path().join("generator/whole/model");
    let base_setting = format!("base=\"{}\"", base.display());
    let recurrent_args = |name: &str| -> Vec<String> {
        let mut args: Vec<String> = [
            "--config",
            "configs/smoke/recurrent-generator.toml",
            "--set",
            "model.recurrence=\"segment-state\"",
            "--set",
            "data.context=16",
            "--set",
            "data.steps_per_epoch=8",
            "--set",
            "training.epochs=5",
            "--set",
            "training.batch_size=4",
            "--set",
            "data.eval_windows=4",
            "--set",
            "training.warmup_steps=5",
            "--run-name",
            name,
        ]
        .map(String::from)
        .to_vec();
        args.extend(["--set".to_string(), base_setting.clone()]);
        args
    };
    let recurrent = |args: &[String]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_recurrent-generator"));
        command.current_dir(repo_root()).env("RUST_LOG", "warn").arg("--quiet").arg("--results").arg(results.path());
        command.args(args);
        command
    };
    run(&mut recurrent(&recurrent_args("whole")));
    let killed = results.path().join("recurrent-generator/killed");
    kill_after_epoch(&mut recurrent(&recurrent_args("killed")), &killed, 2);
    run(&mut recurrent(&["--resume".to_string(), killed.display().to_string()]));
    let (whole, resumed) = (summary(&results.path().join("recurrent-generator/whole")), summary(&killed));
    for metric in ["test_loss", "test_bits_per_byte_reset", "valid_loss", "train_loss"] {
        assert_eq!(
            whole["final_metrics"][metric]["value"], resumed["final_metrics"][metric]["value"],
            "stage 6 {metric}: uninterrupted vs killed and resumed"
        );
    }
}

#[test]
fn ctrl_c_stops_after_the_current_step_and_says_how_to_resume() {
    let results = tempfile::tempdir().unwrap();
    let mut child = generator(results.path(), &TINY)
        .args(["--run-name", "stopped", "--set", "training.epochs=60"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stopped = results.path().join("generator/stopped");
    wait_for(&mut child, &checkpoint(&stopped, "scheduler", 1));
    let status = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    assert!(!output.status.success(), "an interrupted run exits non-zero");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&format!("--resume {}", stopped.display())), "{stderr}");
    assert!(!stopped.join("summary.json").exists(), "an interrupted run leaves no summary");
}
