//! The GPU check (`scripts/gpu-check.sh`) run on the CPU from a package of the binaries under
//! test, as `just gpu-check --device cpu` runs it: every section reports, the parity holds
//! (the same device twice gives the same bits per byte), the step has model FLOPs, and the
//! short stage-6 run finishes.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo_root() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/..")).canonicalize().unwrap()
}

/// Runs `command`, returning its stdout; its stdout and stderr in the message when it fails.
fn run(command: &mut Command) -> String {
    let output = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(output.status.success(), "{command:?} failed:\n{stdout}{}", String::from_utf8_lossy(&output.stderr));
    stdout
}

#[test]
fn the_gpu_check_runs_on_the_cpu_from_its_package_and_reports_every_section() {
    let work = tempfile::tempdir().unwrap();
    let root = repo_root();
    // The package's byte-level GPT-2: the smoke generator, as `just gpu-check` trains it.
    run(Command::new(env!("CARGO_BIN_EXE_generator"))
        .current_dir(&root)
        .env("RUST_LOG", "warn")
        .args(["--config", "configs/smoke/generator-gpt2.toml", "--run-name", "base", "--quiet", "--results"])
        .arg(work.path().join("results")));
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_bench")).parent().unwrap();
    let package = work.path().join("package");
    run(Command::new(root.join("scripts/gpu-package.sh"))
        .arg(bin_dir)
        .arg(work.path().join("results/generator/base/model"))
        .arg(&package));
    let out = work.path().join("out");
    let stdout = run(Command::new(package.join("gpu-check.sh"))
        .args(["--device", "cpu", "--context", "32", "--batch", "1", "--steps", "1", "--out"])
        .arg(&out));
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert_eq!(stdout.trim_end(), report.trim_end(), "stdout and the report differ");
    for section in ["## 1. Parity", "## 2. Stage-6 step", "## 3. A short stage-6 run"] {
        assert!(report.contains(section), "no {section}:\n{report}");
    }
    for base in ["gpt2-bytes", "llama-tiny"] {
        let row =
            report.lines().find(|line| line.starts_with(&format!("| {base} |"))).unwrap_or_else(|| panic!("{report}"));
        assert!(row.ends_with("| 0.00e+00 | yes |"), "cpu against cpu differs: {row}");
    }
    let step = report.lines().find(|line| line.starts_with("| float32 |")).unwrap_or_else(|| panic!("{report}"));
    let cells: Vec<&str> = step.split('|').map(str::trim).collect();
    let (step_s, tflops): (f64, f64) = (cells[2].parse().unwrap(), cells[4].parse().unwrap());
    assert!(step_s > 0.0 && tflops > 0.0, "{step}");
    assert!(report.contains("valid bits per byte"), "the stage-6 run did not report:\n{report}");
    assert!(out.join("stage6-summary.json").is_file());
}
