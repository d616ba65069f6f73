//! A ladder's finished runs, read from `results/recurrent-generator/<ladder>-<rung>-s<seed>`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use retrofit_recurrent_generator::{BASE_FINGERPRINT_FILE, WINDOW_LOSS_FILE, WindowLoss};
use retrofit_runtime::Quantity;
use retrofit_runtime::curves::Curves;
use retrofit_runtime::summary::RunSummary;

use super::Rung;

/// A ladder's finished runs by rung, as [`read_ladder`] returns them.
pub type LadderRungs = Vec<(Rung, Vec<LadderRun>)>;

/// One run of the ladder.
#[derive(Debug, Clone)]
pub struct LadderRun {
    pub seed: u64,
    pub summary: RunSummary,
    /// Training loss of every step, in order.
    pub train_loss: Vec<f64>,
    /// Validation bits per byte of every epoch, in order (empty for an evaluation-only run).
    pub valid_bits_per_byte: Vec<f64>,
    /// The final evaluation (`window_loss.json`): state carried and reset, window by window.
    pub evaluation: WindowLoss,
}

impl LadderRun {
    /// Held-out loss by window index with the state carried.
    pub fn carried(&self) -> &[f64] {
        &self.evaluation.carried.loss_by_window
    }

    /// ... and with the state reset before every window.
    pub fn reset(&self) -> &[f64] {
        &self.evaluation.reset.loss_by_window
    }
}

/// The runs of `ladder` under `results/recurrent-generator/`, by rung in [`Rung::ALL`] order.
pub fn read_ladder(results: &Path, ladder: &str) -> anyhow::Result<Vec<(Rung, Vec<LadderRun>)>> {
    let stage_dir = results.join("recurrent-generator");
    let mut rungs = Vec::new();
    for rung in Rung::ALL {
        let prefix = format!("{ladder}-{}-s", rung.name());
        let mut runs = Vec::new();
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(&stage_dir)
            .with_context(|| format!("no runs in {}", stage_dir.display()))?
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| {
                path.file_name().and_then(|name| name.to_str()).is_some_and(|name| name.starts_with(&prefix))
            })
            .collect();
        dirs.sort();
        for dir in dirs {
            let name = dir.file_name().and_then(|name| name.to_str()).unwrap_or_default().to_string();
            let Ok(seed) = name[prefix.len()..].parse::<u64>() else { continue };
            let summary_file = dir.join(RunSummary::FILE_NAME);
            if !summary_file.is_file() {
                continue; // unfinished
            }
            let summary = RunSummary::read(&summary_file)?;
            if !summary.is_finished() {
                continue; // failed: not a result
            }
            let file = dir.join(WINDOW_LOSS_FILE);
            let evaluation: WindowLoss = serde_json::from_str(
                &std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?,
            )
            .with_context(|| format!("{} is not a stage-6 evaluation", file.display()))?;
            let valid_bits_per_byte = read_valid_bits_per_byte(&dir);
            runs.push(LadderRun { seed, train_loss: read_step_losses(&dir), valid_bits_per_byte, evaluation, summary });
        }
        if !runs.is_empty() {
            rungs.push((rung, runs));
        }
    }
    anyhow::ensure!(!rungs.is_empty(), "no finished runs named {ladder}-<rung>-s<seed> in {}", stage_dir.display());
    Ok(rungs)
}

/// The runs of `ladder` (`<ladder>-<rung>-s<seed>`, finished or not) that started on another base
/// than the one whose fingerprint is `fingerprint` (their `base.sha256`), by name: a rung added to
/// the ladder now would not pair with them.
pub fn runs_on_another_base(results: &Path, ladder: &str, fingerprint: &str) -> Vec<String> {
    let stage_dir = results.join("recurrent-generator");
    let Ok(entries) = std::fs::read_dir(&stage_dir) else { return Vec::new() };
    let mut names: Vec<String> = entries
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| {
            Rung::ALL.iter().any(|rung| {
                name.strip_prefix(&format!("{ladder}-{}-s", rung.name()))
                    .is_some_and(|seed| !seed.is_empty() && seed.bytes().all(|byte| byte.is_ascii_digit()))
            })
        })
        .filter(|name| {
            std::fs::read_to_string(stage_dir.join(name).join(BASE_FINGERPRINT_FILE))
                .is_ok_and(|recorded| recorded.trim() != fingerprint)
        })
        .collect();
    names.sort();
    names
}

/// The run's per-step training losses: from its committed `curves.json`, else from the Learner's
/// logs (`train/epoch-N/Loss.log`, one `value,batch` line per step).
fn read_step_losses(run: &Path) -> Vec<f64> {
    if let Ok(curves) = Curves::read(&run.join(Curves::FILE_NAME))
        && let Some(loss) = curves.train.get(Quantity::Loss.stem())
    {
        return loss.values.iter().map(|&value| f64::from(value)).collect();
    }
    let mut losses = Vec::new();
    for epoch in 1.. {
        let Ok(text) = std::fs::read_to_string(run.join(format!("train/epoch-{epoch}/Loss.log"))) else { break };
        losses.extend(text.lines().filter_map(retrofit_core::training::step_value).map(f64::from));
    }
    losses
}

/// The run's validation bits per byte of every epoch, from its `curves.json` (empty without).
fn read_valid_bits_per_byte(run: &Path) -> Vec<f64> {
    Curves::read(&run.join(Curves::FILE_NAME))
        .ok()
        .and_then(|curves| curves.valid.get(Quantity::BitsPerByte.stem()).cloned())
        .map(|series| series.values.iter().map(|&value| f64::from(value)).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_on_another_base_are_the_ladders_runs_whose_fingerprint_differs() {
        let results = tempfile::tempdir().unwrap();
        let stage = results.path().join("recurrent-generator");
        for (name, fingerprint) in [
            ("probe-none-s0", Some("aaa")),
            ("probe-memory-s1", Some("bbb")),
            ("probe-segment-state-s2", None),
            // Another ladder whose name starts with this one's, and a run that is no rung's.
            ("probe-gap40-none-s0", Some("bbb")),
            ("probe-notes", Some("bbb")),
        ] {
            std::fs::create_dir_all(stage.join(name)).unwrap();
            if let Some(fingerprint) = fingerprint {
                std::fs::write(stage.join(name).join(BASE_FINGERPRINT_FILE), format!("{fingerprint}\n")).unwrap();
            }
        }
        assert_eq!(runs_on_another_base(results.path(), "probe", "aaa"), ["probe-memory-s1"]);
        assert_eq!(runs_on_another_base(results.path(), "probe", "bbb"), ["probe-none-s0"]);
        assert!(runs_on_another_base(results.path(), "nothing", "aaa").is_empty());
    }
}
