//! Checkpoints that a resume can trust. Every file the Learner checkpoints (`<part>-<epoch>.bpk`)
//! gets a SHA-256 written beside it (`<part>-<epoch>.bpk.sha256`) once the file is complete; a
//! resume checks each file of the newest epoch (readable, the checksum written with it, a
//! burn-pack whose header and tensor table parse) before the Learner sees it, and falls back to
//! the previous complete epoch (the Learner keeps the two newest) with one warning. A checkpoint
//! that cannot be written stops the run (see [`CheckpointWriteFailure`]) instead of panicking in
//! burn-train, leaving the previous epoch's checkpoint usable.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use burn::train::Interrupter;
use burn::train::checkpoint::{Checkpoint, Checkpointer, CheckpointerError};
use sha2::{Digest, Sha256};

use super::resume::resume_dir;
use super::training_clock::TrainingClock;

/// The parts of an epoch's checkpoint, in the order the Learner writes them.
pub const CHECKPOINT_PARTS: [&str; 3] = ["model", "optim", "scheduler"];

/// The file of `part` at `epoch` in a resume directory.
pub fn checkpoint_file(dir: &Path, part: &str, epoch: usize) -> PathBuf {
    dir.join(format!("{part}-{epoch}.bpk"))
}

fn checksum_file(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".sha256");
    PathBuf::from(name)
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Why a checkpoint file cannot be used; `None` when it can.
pub fn damage_of(file: &Path) -> Option<String> {
    let bytes = match std::fs::read(file) {
        Ok(bytes) => bytes,
        Err(error) => return Some(format!("cannot be read ({error})")),
    };
    if let Ok(recorded) = std::fs::read_to_string(checksum_file(file))
        && recorded.trim() != sha256_hex(&bytes)
    {
        return Some("its SHA-256 is not the one written with it (changed or cut short)".to_string());
    }
    // Runs from before the checksums, or killed between a file and its checksum: the file must
    // still be a whole burn-pack (burn-pack writes each file atomically).
    let parsed = burn_pack::Reader::from_bytes(burn_pack::Bytes::from_bytes_vec(bytes))
        .and_then(burn_pack::Reader::into_tensors);
    parsed.err().map(|error| format!("is not a readable checkpoint ({error})"))
}

/// The newest epoch with every part present in `run`'s resume directory and intact; damaged
/// newer epochs are removed, with one warning naming the damaged file and the epoch resumed
/// from. `Ok(None)`: nothing to resume from. An error: checkpoints exist but none is intact.
pub fn newest_intact_checkpoint(run: &Path) -> Result<Option<usize>, crate::CoreError> {
    let dir = resume_dir(run);
    let Ok(entries) = std::fs::read_dir(&dir) else { return Ok(None) };
    let mut epochs: Vec<usize> = entries
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            CHECKPOINT_PARTS
                .iter()
                .find_map(|part| name.strip_prefix(&format!("{part}-"))?.strip_suffix(".bpk")?.parse::<usize>().ok())
        })
        .collect();
    epochs.sort_unstable();
    epochs.dedup();
    let mut damaged: Vec<(PathBuf, String)> = Vec::new();
    for &epoch in epochs.iter().rev() {
        let problem = CHECKPOINT_PARTS.iter().find_map(|part| {
            let file = checkpoint_file(&dir, part, epoch);
            if !file.is_file() {
                return Some((file, "is missing".to_string()));
            }
            damage_of(&file).map(|why| (file, why))
        });
        match problem {
            Some(problem) => damaged.push(problem),
            None => {
                if let Some((file, why)) = damaged.first() {
                    tracing::warn!("checkpoint {} {why}: resuming from epoch {epoch}", file.display());
                }
                remove_epochs_after(&dir, epoch);
                return Ok(Some(epoch));
            }
        }
    }
    match damaged.first() {
        None => Ok(None),
        Some((file, why)) => Err(crate::CoreError::NoIntactCheckpoint {
            dir,
            detail: format!("{} {why}", file.display()),
            damaged: damaged.len(),
        }),
    }
}

/// Removes every checkpoint file (and checksum) of epochs after `epoch`: a damaged or partial
/// epoch that the resumed run will write again.
fn remove_epochs_after(dir: &Path, epoch: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let later = CHECKPOINT_PARTS.iter().any(|part| {
            name.strip_prefix(&format!("{part}-"))
                .and_then(|rest| rest.split('.').next())
                .and_then(|number| number.parse::<usize>().ok())
                .is_some_and(|number| number > epoch)
        });
        if later {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The first checkpoint write that failed in a run, shared by the checkpointers of one run.
#[derive(Clone, Default)]
pub struct CheckpointWriteFailure(Arc<Mutex<Option<(PathBuf, String)>>>);

impl CheckpointWriteFailure {
    /// The file that could not be written and why.
    pub fn get(&self) -> Option<(PathBuf, String)> {
        self.0.lock().ok().and_then(|failure| failure.clone())
    }
}

/// A Learner checkpointer whose files get their checksums, and whose write failures stop the run
/// (through the interrupter) and are kept in `failure` rather than panicking in burn-train.
pub struct SealedCheckpointer<C> {
    inner: C,
    dir: PathBuf,
    part: &'static str,
    interrupter: Interrupter,
    failure: CheckpointWriteFailure,
    /// Records the run's training time beside each checkpoint (on one part of the three).
    clock: Option<TrainingClock>,
}

impl<C> SealedCheckpointer<C> {
    pub fn new(
        inner: C,
        dir: &Path,
        part: &'static str,
        interrupter: Interrupter,
        failure: CheckpointWriteFailure,
    ) -> Self {
        Self { inner, dir: dir.to_path_buf(), part, interrupter, failure, clock: None }
    }

    /// Also records the run's training time (see [`TrainingClock`]) beside each checkpoint.
    pub fn with_clock(self, clock: TrainingClock) -> Self {
        Self { clock: Some(clock), ..self }
    }

    fn seal(&self, epoch: usize) -> Result<(), (PathBuf, String)> {
        let file = checkpoint_file(&self.dir, self.part, epoch);
        let bytes = std::fs::read(&file).map_err(|error| (file.clone(), error.to_string()))?;
        let checksum = checksum_file(&file);
        let scratch = checksum.with_extension("sha256.part");
        std::fs::write(&scratch, sha256_hex(&bytes) + "\n")
            .and_then(|()| std::fs::rename(&scratch, &checksum))
            .map_err(|error| (checksum.clone(), error.to_string()))
    }
}

impl<R: Checkpoint, C: Checkpointer<R>> Checkpointer<R> for SealedCheckpointer<C> {
    fn save(&self, epoch: usize, record: R) -> Result<(), CheckpointerError> {
        if self.failure.get().is_some() {
            return Ok(()); // the run is stopping; the checkpoint before the failure stays usable
        }
        let result = match self.inner.save(epoch, record) {
            Ok(()) => self.seal(epoch).and_then(|()| match &self.clock {
                Some(clock) => clock
                    .record(&self.dir, epoch)
                    .map_err(|error| (self.dir.join(format!("training-time-{epoch}.txt")), error.to_string())),
                None => Ok(()),
            }),
            Err(error) => Err((checkpoint_file(&self.dir, self.part, epoch), error.to_string())),
        };
        if let Err(failure) = result {
            if let Ok(mut slot) = self.failure.0.lock() {
                slot.get_or_insert(failure);
            }
            self.interrupter.stop(Some("a checkpoint could not be written"));
        }
        Ok(())
    }

    fn restore(&self, epoch: usize) -> Result<R, CheckpointerError> {
        self.inner.restore(epoch)
    }

    fn delete(&self, epoch: usize) -> Result<(), CheckpointerError> {
        let _ = std::fs::remove_file(checksum_file(&checkpoint_file(&self.dir, self.part, epoch)));
        self.inner.delete(epoch)
    }
}
