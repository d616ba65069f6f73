//! The training time of a run across its legs: a run killed and resumed reports the time of the
//! epochs it kept from its earlier legs plus the time of this one, not this leg's alone. Each
//! epoch checkpoint records the run's training time so far beside it
//! (`resume/training-time-<epoch>.txt`); a resumed run starts its clock from the one of the
//! epoch it resumes from.

use std::path::{Path, PathBuf};
use std::time::Instant;

/// Seconds of training since the run started, over its legs.
#[derive(Debug, Clone, Copy)]
pub struct TrainingClock {
    start: Instant,
    /// Seconds the earlier legs spent on the epochs up to the checkpoint this leg resumed from.
    earlier_legs_s: f64,
}

impl TrainingClock {
    /// The clock of a run that starts (`resumed_from` = `None`) or resumes after the checkpoint
    /// of `resumed_from` in `checkpoints` (0 s for its earlier legs when that epoch recorded no
    /// time: a checkpoint made before this clock existed).
    pub fn resumed(checkpoints: &Path, resumed_from: Option<usize>) -> Self {
        let earlier_legs_s = resumed_from
            .and_then(|epoch| std::fs::read_to_string(time_file(checkpoints, epoch)).ok())
            .and_then(|text| text.trim().parse::<f64>().ok())
            .filter(|seconds| seconds.is_finite() && *seconds >= 0.0)
            .unwrap_or(0.0);
        Self { start: Instant::now(), earlier_legs_s }
    }

    /// The earlier legs' seconds (0 for a run that started in this process).
    pub fn earlier_legs_s(&self) -> f64 {
        self.earlier_legs_s
    }

    /// Seconds of training so far, the earlier legs included.
    pub fn elapsed_s(&self) -> f64 {
        self.earlier_legs_s + self.start.elapsed().as_secs_f64()
    }

    /// Writes the time so far beside the checkpoint of `epoch`.
    pub fn record(&self, checkpoints: &Path, epoch: usize) -> std::io::Result<()> {
        let file = time_file(checkpoints, epoch);
        let scratch = file.with_extension("txt.part");
        std::fs::write(&scratch, format!("{}\n", self.elapsed_s()))?;
        std::fs::rename(&scratch, &file)
    }
}

fn time_file(checkpoints: &Path, epoch: usize) -> PathBuf {
    checkpoints.join(format!("training-time-{epoch}.txt"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resumed_clock_starts_from_the_time_recorded_at_its_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let first_leg = TrainingClock::resumed(dir.path(), None);
        assert_eq!(first_leg.earlier_legs_s(), 0.0);
        std::fs::write(time_file(dir.path(), 3), "120.5\n").unwrap();
        let second_leg = TrainingClock::resumed(dir.path(), Some(3));
        assert_eq!(second_leg.earlier_legs_s(), 120.5);
        assert!(second_leg.elapsed_s() >= 120.5);
        second_leg.record(dir.path(), 4).unwrap();
        let third_leg = TrainingClock::resumed(dir.path(), Some(4));
        assert!(third_leg.earlier_legs_s() >= 120.5);
        // A checkpoint without a recorded time (or a damaged one) counts as 0 s.
        assert_eq!(TrainingClock::resumed(dir.path(), Some(7)).earlier_legs_s(), 0.0);
        std::fs::write(time_file(dir.path(), 8), "not a number").unwrap();
        assert_eq!(TrainingClock::resumed(dir.path(), Some(8)).earlier_legs_s(), 0.0);
    }
}
