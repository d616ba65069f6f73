//! Resumable runs through the binaries: a run killed with SIGKILL after an epoch checkpoint and
//! resumed ends exactly where the same run uninterrupted ends; Ctrl-C stops a run cleanly, says
//! how to resume it, and leaves no summary; a finished run cannot be resumed.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use retrofit_core::training::{NoImprovementStopping, selected_epoch};

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

fn recurrent_generator(results: &Path, args: &[String]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_recurrent-generator"));
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
/// written (all three files, and the training time recorded after the model's).
fn kill_after_epoch(command: &mut Command, run: &Path, epoch: usize) {
    let mut child = command.stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    // The Learner writes the three parts on their own threads: wait for each, then for the
    // epoch's training time, which the model's checkpointer writes after sealing it (a kill
    // between the two raced the test that reads it).
    for part in ["model", "optim", "scheduler"] {
        wait_for(&mut child, &checkpoint(run, part, epoch));
    }
    wait_for(&mut child, &run.join("resume").join(format!("training-time-{epoch}.txt")));
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

    // The training time the killed leg spent on the epochs the resumed run keeps.
    let first_leg: f64 =
        std::fs::read_to_string(killed.join("resume/training-time-2.txt")).unwrap().trim().parse().unwrap();
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
    // Its wall time is the sum of its legs: the first leg's kept epochs, then the second leg.
    assert_eq!(resumed["earlier_legs_s"].as_f64(), Some(first_leg));
    assert!(resumed["wall_time_s"].as_f64().unwrap() > first_leg);
    assert!(whole.get("earlier_legs_s").is_none(), "a run in one process has no earlier legs");
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
    let recurrent = |name: &str| stage6(results.path(), &base, name, &["training.epochs=5", "training.warmup_steps=5"]);
    run(&mut recurrent("whole"));
    let killed = results.path().join("recurrent-generator/killed");
    kill_after_epoch(&mut recurrent("killed"), &killed, 2);
    run(&mut recurrent_generator(results.path(), &["--resume".to_string(), killed.display().to_string()]));
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

/// The last line of a failed run's stderr, checked to be its one `error:` line.
fn error_line(output: &Output) -> String {
    assert!(!output.status.success(), "expected a failure: {}", String::from_utf8_lossy(&output.stderr));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let errors: Vec<&str> = stderr.lines().filter(|line| line.starts_with("error: ")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    errors[0].to_string()
}

fn assert_same_final_metrics(whole: &Path, resumed: &Path, metrics: &[&str]) {
    let (whole, resumed) = (summary(whole), summary(resumed));
    for metric in metrics {
        assert_eq!(
            whole["final_metrics"][metric]["value"], resumed["final_metrics"][metric]["value"],
            "{metric}: uninterrupted vs resumed"
        );
    }
}

#[test]
fn a_damaged_newest_checkpoint_falls_back_to_the_previous_epoch_and_none_intact_is_one_line() {
    let results = tempfile::tempdir().unwrap();
    let whole = results.path().join("generator/whole");
    run(generator(results.path(), &TINY).args(["--run-name", "whole"]));
    let metrics = ["valid_loss", "train_loss", "train_grad_norm"];

    // The newest model file overwritten by random bytes; then the newest optimizer file cut short.
    for (name, part, damage) in [("garbage", "model", 0usize), ("truncated", "optim", 1)] {
        let killed = results.path().join("generator").join(name);
        kill_after_epoch(generator(results.path(), &TINY).args(["--run-name", name]), &killed, 3);
        let file = checkpoint(&killed, part, 3);
        if damage == 0 {
            let noise: Vec<u8> = (0..2_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
            std::fs::write(&file, noise).unwrap();
        } else {
            let bytes = std::fs::read(&file).unwrap();
            std::fs::write(&file, &bytes[..100]).unwrap();
        }
        let output = run(&mut generator(results.path(), &["--resume", killed.to_str().unwrap()]));
        let stderr = String::from_utf8_lossy(&output.stderr);
        let warning = stderr.lines().find(|line| line.contains(&format!("{part}-3.bpk"))).unwrap_or_default();
        assert!(warning.contains("resuming from epoch 2"), "{name}: {stderr}");
        assert_same_final_metrics(&whole, &killed, &metrics);
    }

    // Every checkpoint damaged: one line, non-zero, no panic.
    let killed = results.path().join("generator/all-damaged");
    kill_after_epoch(generator(results.path(), &TINY).args(["--run-name", "all-damaged"]), &killed, 2);
    for entry in std::fs::read_dir(killed.join("resume")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|ext| ext == "bpk") {
            std::fs::write(&path, b"not a checkpoint").unwrap();
        }
    }
    let line = error_line(&generator(results.path(), &["--resume", killed.to_str().unwrap()]).output().unwrap());
    assert!(line.contains("no complete checkpoint to resume from"), "{line}");
}

#[test]
fn a_checkpoint_that_cannot_be_written_stops_the_run_in_one_line_and_it_resumes_from_the_previous_epoch() {
    let results = tempfile::tempdir().unwrap();
    let whole = results.path().join("generator/whole");
    run(generator(results.path(), &TINY).args(["--run-name", "whole"]));
    let killed = results.path().join("generator/blocked");
    kill_after_epoch(generator(results.path(), &TINY).args(["--run-name", "blocked"]), &killed, 2);
    // A directory where epoch 3's model file must go: the write fails (as root, permissions
    // would not stop it; a full disk cannot be made here).
    let blocker = checkpoint(&killed, "model", 3);
    std::fs::create_dir_all(blocker.join("occupied")).unwrap();
    let line = error_line(&generator(results.path(), &["--resume", killed.to_str().unwrap()]).output().unwrap());
    assert!(line.contains("cannot write the checkpoint") && line.contains("model-3.bpk"), "{line}");
    assert!(line.contains("--resume"), "{line}");
    assert!(!killed.join("summary.json").is_file() || !summary(&killed)["status"]["kind"].eq("finished"));
    std::fs::remove_dir_all(&blocker).unwrap();
    let _ = std::fs::remove_file(killed.join("summary.json"));
    run(&mut generator(results.path(), &["--resume", killed.to_str().unwrap()]));
    assert_same_final_metrics(&whole, &killed, &["valid_loss", "train_loss"]);
}

#[test]
fn an_edited_config_is_named_and_ignored_and_a_swapped_base_is_refused() {
    let results = tempfile::tempdir().unwrap();
    run(generator(results.path(), &TINY).args(["--run-name", "whole"]));
    let killed = results.path().join("generator/edited");
    kill_after_epoch(generator(results.path(), &TINY).args(["--run-name", "edited"]), &killed, 2);
    let config = killed.join("config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replace("learning_rate = ", "learning_rate = 0.5 # was ")).unwrap();
    let output = run(&mut generator(results.path(), &["--resume", killed.to_str().unwrap()]));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("was edited after the run started; resuming with the config it started with"), "{stderr}");
    assert_same_final_metrics(&results.path().join("generator/whole"), &killed, &["valid_loss", "train_loss"]);

    // Stage 6 on a copy of the generator's export; the copy's weights changed between kill and resume.
    let base = results.path().join("base");
    std::fs::create_dir_all(&base).unwrap();
    for entry in std::fs::read_dir(results.path().join("generator/whole/model")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, base.join(path.file_name().unwrap())).unwrap();
    }
    let args = [
        "--config".to_string(),
        "configs/smoke/recurrent-generator.toml".to_string(),
        "--set".to_string(),
        format!("base=\"{}\"", base.display()),
        "--set".to_string(),
        "data.context=16".to_string(),
        "--set".to_string(),
        "data.steps_per_epoch=8".to_string(),
        "--set".to_string(),
        "training.epochs=4".to_string(),
        "--set".to_string(),
        "training.batch_size=4".to_string(),
        "--run-name".to_string(),
        "swapped".to_string(),
    ];
    let recurrent = |args: &[String]| recurrent_generator(results.path(), args);
    let swapped = results.path().join("recurrent-generator/swapped");
    kill_after_epoch(&mut recurrent(&args), &swapped, 1);
    // One weight changed in place (the last byte of the file is the last tensor's last value): the
    // base still loads, its fingerprint does not match. (The edited run's export is no swap: it
    // resumed with the config it started with, so its weights equal the whole run's bitwise.)
    let weights = base.join("model.safetensors");
    let mut bytes = std::fs::read(&weights).unwrap();
    *bytes.last_mut().unwrap() ^= 1;
    std::fs::write(&weights, bytes).unwrap();
    let line = error_line(&recurrent(&["--resume".to_string(), swapped.display().to_string()]).output().unwrap());
    assert!(
        line.contains("the run started on a base with fingerprint") && line.contains(&base.display().to_string()),
        "{line}"
    );
}

/// Stage 6 with the segment state on `base` (the smoke config, windows of 16, 8 steps an epoch of
/// 4 streams, 4 evaluated windows), run `name`, with `settings` on top.
fn stage6(results: &Path, base: &Path, name: &str, settings: &[&str]) -> Command {
    let mut args: Vec<String> =
        ["--config", "configs/smoke/recurrent-generator.toml", "--run-name", name].map(String::from).to_vec();
    let base = format!("base=\"{}\"", base.display());
    let common = ["model.recurrence=\"segment-state\"", "data.context=16", "data.steps_per_epoch=8"];
    let common = common.into_iter().chain(["training.batch_size=4", "data.eval_windows=4", base.as_str()]);
    for setting in common.chain(settings.iter().copied()) {
        args.extend(["--set".to_string(), setting.to_string()]);
    }
    recurrent_generator(results, &args)
}

/// Stage 6 at a learning rate high enough (0.5) that the validation loss goes up and down from
/// epoch to epoch. The curve follows the machine's floating point (on one AVX-512 EPYC: 4.29 4.41
/// 4.87 4.05 3.73 3.91 4.04 4.17; on an AVX2 EPYC: 4.29 4.38 4.26 4.14 3.75 3.91 3.98 4.10), so
/// the test below derives every expected epoch from the curve its own run measured.
fn worsening_stage6(results: &Path, base: &Path, name: &str, epochs: usize, patience: &str) -> Command {
    let (epochs, patience) = (format!("training.epochs={epochs}"), format!("training.patience={patience}"));
    stage6(results, base, name, &["training.warmup_steps=2", "training.learning_rate=0.5", &epochs, &patience])
}

/// The per-epoch validation losses of a finished run, from its curves.
fn valid_losses(run: &Path) -> Vec<f64> {
    let curves: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("curves.json")).unwrap()).unwrap();
    curves["valid"]["loss"]["values"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect()
}

#[test]
fn a_run_whose_validation_loss_worsens_reports_its_best_epoch_also_after_kill_and_resume() {
    const EPOCHS: usize = 8;
    const PATIENCE: usize = 2;
    let results = tempfile::tempdir().unwrap();
    run(generator(results.path(), &TINY).args(["--run-name", "base"]));
    let base = results.path().join("generator/base/model");
    let stage = results.path().join("recurrent-generator");
    let test_figures = |summary: &serde_json::Value| -> Vec<serde_json::Value> {
        ["test_loss", "test_bits_per_byte", "test_bits_per_byte_reset", "valid_loss"]
            .iter()
            .map(|metric| summary["final_metrics"][*metric]["value"].clone())
            .collect()
    };
    let epochs_of =
        |summary: &serde_json::Value| (summary["selected_epoch"].as_u64(), summary["epochs_trained"].as_u64());
    let some = |epoch: usize| Some(epoch as u64);

    // Every epoch trained: the model reported is the one of the lowest validation loss.
    run(&mut worsening_stage6(results.path(), &base, "all-epochs", EPOCHS, "\"off\""));
    let all = summary(&stage.join("all-epochs"));
    let valid = valid_losses(&stage.join("all-epochs"));
    assert_eq!(valid.len(), EPOCHS);
    // Often an epoch before the last (at this learning rate the loss goes up and down), but not
    // on every machine: every expectation below follows from the curve either way.
    let lowest = selected_epoch(&valid).unwrap();
    assert_eq!(epochs_of(&all), (some(lowest), some(EPOCHS)));

    // The same as a run that stopped at that epoch, bitwise: the selected epoch's weights.
    run(&mut worsening_stage6(results.path(), &base, "stopped-there", lowest, "\"off\""));
    assert_eq!(test_figures(&summary(&stage.join("stopped-there"))), test_figures(&all));

    // The stopping rule, on this machine's curve: where it must stop and what it must report.
    // The run with the rule trains the same epochs as the run without it until it stops (bitwise).
    let rule = NoImprovementStopping::new("Loss", PATIENCE);
    let stop = rule.stopping_epoch(&valid).unwrap_or(EPOCHS);
    let selected = selected_epoch(&valid[..stop]).unwrap();
    run(&mut worsening_stage6(results.path(), &base, "stopped", EPOCHS, &PATIENCE.to_string()));
    let stopped = summary(&stage.join("stopped"));
    assert_eq!(valid_losses(&stage.join("stopped")), valid[..stop], "the rule changes nothing before it stops");
    assert_eq!(epochs_of(&stopped), (some(selected), some(stop)), "patience {PATIENCE} on {valid:?}");
    // Its figures are those of the model of its selected epoch.
    let reference = if selected == lowest {
        all.clone()
    } else {
        run(&mut worsening_stage6(results.path(), &base, "stopped-at-selected", selected, "\"off\""));
        summary(&stage.join("stopped-at-selected"))
    };
    assert_eq!(test_figures(&stopped), test_figures(&reference));

    // A run killed after the last epoch before the stop and resumed keeps the rule's state (read
    // from the logs of the epochs before the checkpoint): it stops at the same epoch with the
    // same model. Killed after an epoch past the selected one where there is one, so that the
    // resumed run must remember an epoch without improvement.
    let killed_after = (stop - 1).max(1);
    let killed = stage.join("killed");
    kill_after_epoch(
        &mut worsening_stage6(results.path(), &base, "killed", EPOCHS, &PATIENCE.to_string()),
        &killed,
        killed_after,
    );
    assert!(!killed.join("summary.json").exists(), "the run finished before it was killed after epoch {killed_after}");
    run(&mut recurrent_generator(results.path(), &["--resume".to_string(), killed.display().to_string()]));
    let resumed = summary(&killed);
    assert_eq!(epochs_of(&resumed), (some(selected), some(stop)), "killed after epoch {killed_after}");
    assert_eq!(test_figures(&resumed), test_figures(&stopped));
}
