//! Resumable runs. burn's Learner checkpoints at the end of every epoch (an epoch is a stage's
//! configured number of steps: `train_windows / batch_size`, `data.steps_per_epoch`, ...): the
//! trainable weights, the optimizer and the learning-rate schedule, into `<run>/resume/`, each file
//! written atomically (burn-pack writes a scratch file and renames it). A run resumed from epoch
//! N's checkpoint continues with epoch N + 1 exactly as the uninterrupted run would have: the
//! training loader skips the N epochs it already drew (so its order, drawn from the seed and the
//! epoch, is the same), and the device's random generator is seeded from the seed and the epoch
//! at the start of every epoch (so dropout draws the same masks).

use retrofit_data::seeds::{SeedPurpose, derive_seed};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use burn::data::dataloader::{DataLoader, DataLoaderIterator};
use burn::store::ModuleRecord;
use burn::tensor::Device;
use burn::train::checkpoint::{Checkpointer, CheckpointerError, FileCheckpointer};

/// The run's subdirectory of Learner checkpoints.
pub const RESUME_DIR: &str = "resume";

const PARTS: [&str; 3] = ["model", "optim", "scheduler"];

/// Where the Learner checkpoints of `run` go.
pub fn resume_dir(run: &Path) -> PathBuf {
    run.join(RESUME_DIR)
}

/// The last epoch whose model, optimizer and schedule checkpoints are all in `run`'s resume
/// directory (`None`: nothing to resume from).
pub fn latest_checkpoint(run: &Path) -> Option<usize> {
    let dir = resume_dir(run);
    let entries = std::fs::read_dir(&dir).ok()?;
    let epochs = entries.filter_map(|entry| {
        let name = entry.ok()?.file_name().into_string().ok()?;
        name.strip_prefix("model-")?.strip_suffix(".bpk")?.parse::<usize>().ok()
    });
    epochs.filter(|epoch| PARTS.iter().all(|part| dir.join(format!("{part}-{epoch}.bpk")).is_file())).max()
}

/// Removes the Learner's logs of epochs after `epoch` (what a killed run wrote of the epoch it
/// did not finish), so that the resumed run's logs and curves hold every epoch once.
pub fn discard_logs_after(run: &Path, epoch: usize) -> std::io::Result<()> {
    for split in ["train", "valid"] {
        let Ok(entries) = std::fs::read_dir(run.join(split)) else { continue };
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name();
            let later = name
                .to_str()
                .and_then(|name| name.strip_prefix("epoch-"))
                .and_then(|number| number.parse::<usize>().ok())
                .is_some_and(|number| number > epoch);
            if later {
                std::fs::remove_dir_all(entry.path())?;
            }
        }
    }
    Ok(())
}

/// The model checkpointer: burn's file checkpointer, leaving out every tensor under
/// `frozen_prefix` (a frozen base: it is loaded from its own files, and restored as it is), and
/// restoring tensors saved under an older name (`renamed`: `(old prefix, new prefix)`) under the
/// new one.
pub struct ModelCheckpointer {
    files: FileCheckpointer,
    directory: PathBuf,
    frozen_prefix: Option<&'static str>,
    renamed: &'static [(&'static str, &'static str)],
}

impl ModelCheckpointer {
    pub fn new(
        directory: &Path,
        frozen_prefix: Option<&'static str>,
        renamed: &'static [(&'static str, &'static str)],
    ) -> Self {
        Self {
            files: FileCheckpointer::new(directory, "model"),
            directory: directory.to_path_buf(),
            frozen_prefix,
            renamed,
        }
    }

    fn path(&self, epoch: usize) -> PathBuf {
        self.directory.join(format!("model-{epoch}.bpk"))
    }
}

impl Checkpointer<ModuleRecord> for ModelCheckpointer {
    fn save(&self, epoch: usize, record: ModuleRecord) -> Result<(), CheckpointerError> {
        let Some(prefix) = self.frozen_prefix else { return self.files.save(epoch, record) };
        let record_error = |error: burn_pack::Error| CheckpointerError::Unknown(error.to_string());
        let bytes = record.into_bytes().map_err(CheckpointerError::Record)?;
        let tensors =
            burn_pack::Reader::from_bytes(bytes).map_err(record_error)?.into_tensors().map_err(record_error)?;
        let trainable: Vec<burn_pack::Tensor> =
            tensors.into_iter().filter(|tensor| !tensor.name.starts_with(prefix)).collect();
        burn_pack::Writer::new(trainable).write_to_file(self.path(epoch)).map_err(record_error)
    }

    fn restore(&self, epoch: usize) -> Result<ModuleRecord, CheckpointerError> {
        let record: ModuleRecord = self.files.restore(epoch)?;
        let record = if self.renamed.is_empty() { record } else { renamed(record, self.renamed)? };
        // Without the frozen part, which the model keeps as loaded.
        Ok(if self.frozen_prefix.is_some() { record.allow_partial(true) } else { record })
    }

    fn delete(&self, epoch: usize) -> Result<(), CheckpointerError> {
        Checkpointer::<ModuleRecord>::delete(&self.files, epoch)
    }
}

/// `record` with every tensor named under an old prefix moved to its new one.
fn renamed(record: ModuleRecord, renames: &[(&str, &str)]) -> Result<ModuleRecord, CheckpointerError> {
    let record_error = |error: burn_pack::Error| CheckpointerError::Unknown(error.to_string());
    let bytes = record.into_bytes().map_err(CheckpointerError::Record)?;
    let mut tensors =
        burn_pack::Reader::from_bytes(bytes).map_err(record_error)?.into_tensors().map_err(record_error)?;
    for tensor in &mut tensors {
        if let Some((old, new)) = renames.iter().find(|(old, _)| tensor.name.starts_with(old)) {
            tensor.name = format!("{new}{}", &tensor.name[old.len()..]);
        }
    }
    let bytes = burn_pack::Writer::new(tensors).into_bytes().map_err(record_error)?;
    ModuleRecord::from_bytes(bytes).map_err(CheckpointerError::Record)
}

/// Wraps the training loader of a (possibly resumed) run: its first iteration skips the
/// `first_epoch` epochs that the run already trained, and every epoch seeds the device's random
/// generator from `seed` and the epoch.
pub struct ResumableLoader<O> {
    inner: Arc<dyn DataLoader<O>>,
    device: Option<Device>,
    seed: u64,
    /// The next epoch (0-based).
    epoch: Arc<AtomicUsize>,
    skipped: Arc<AtomicBool>,
    first_epoch: usize,
}

impl<O: 'static> ResumableLoader<O> {
    pub fn new(inner: Arc<dyn DataLoader<O>>, seed: u64, first_epoch: usize) -> Self {
        Self {
            inner,
            device: None,
            seed,
            epoch: Arc::new(AtomicUsize::new(first_epoch)),
            skipped: Arc::new(AtomicBool::new(first_epoch == 0)),
            first_epoch,
        }
    }
}

/// The device seed of `epoch` (0-based) of a run seeded `seed`.
pub fn epoch_seed(seed: u64, epoch: usize) -> u64 {
    derive_seed(seed, SeedPurpose::DeviceEpoch, epoch as u64 + 1)
}

impl<O: 'static> DataLoader<O> for ResumableLoader<O> {
    fn iter<'a>(&'a self) -> Box<dyn DataLoaderIterator<O> + 'a> {
        if !self.skipped.swap(true, Ordering::SeqCst) {
            for _ in 0..self.first_epoch {
                drop(self.inner.iter());
            }
        }
        let epoch = self.epoch.fetch_add(1, Ordering::SeqCst);
        if let Some(device) = &self.device {
            device.seed(epoch_seed(self.seed, epoch));
        }
        self.inner.iter()
    }

    fn num_items(&self) -> usize {
        self.inner.num_items()
    }

    fn to_device(&self, device: &Device) -> Arc<dyn DataLoader<O>> {
        Arc::new(Self {
            inner: self.inner.to_device(device),
            device: Some(device.clone()),
            seed: self.seed,
            epoch: self.epoch.clone(),
            skipped: self.skipped.clone(),
            first_epoch: self.first_epoch,
        })
    }

    /// One device's share under data-parallel training (each share is iterated once an epoch):
    /// it counts its epochs itself.
    fn slice(&self, start: usize, end: usize) -> Arc<dyn DataLoader<O>> {
        Arc::new(Self {
            inner: self.inner.slice(start, end),
            device: self.device.clone(),
            seed: self.seed,
            epoch: Arc::new(AtomicUsize::new(self.epoch.load(Ordering::SeqCst))),
            skipped: Arc::new(AtomicBool::new(self.skipped.load(Ordering::SeqCst))),
            first_epoch: self.first_epoch,
        })
    }
}
