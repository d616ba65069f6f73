//! A data loader that draws a fresh dataset every epoch (new random windows, new stream offsets,
//! from the seed and the epoch number) and yields its batches in order, on one thread, so that
//! the batches of a stream arrive one after the other.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataloader::{DataLoader, DataLoaderIterator, Progress};
use burn::data::dataset::{Dataset, DatasetError};
use burn::tensor::Device;

/// Builds epoch `e`'s dataset (0-based). Every epoch's dataset must have the same length.
pub type EpochDataset<I> = Arc<dyn Fn(usize) -> Arc<dyn Dataset<I>> + Send + Sync>;

/// Batches of `batch_size` items of a dataset drawn anew by each call of `iter` (each epoch);
/// the epoch counter is shared by the copies the Learner makes (`to_device`), and each slice
/// keeps its own.
pub struct EpochLoader<I, O> {
    make: EpochDataset<I>,
    batcher: Arc<dyn Batcher<I, O>>,
    batch_size: usize,
    device: Device,
    /// The next epoch to draw.
    epoch: Arc<AtomicUsize>,
    items: usize,
    /// Items `range` of each epoch's dataset (all by default; see [`DataLoader::slice`]).
    range: Option<(usize, usize)>,
}

impl<I: Send + Sync + 'static, O: Send + 'static> EpochLoader<I, O> {
    /// Starts at epoch `first_epoch` (0 for a new run).
    pub fn new(
        make: EpochDataset<I>,
        batcher: impl Batcher<I, O> + 'static,
        batch_size: usize,
        device: Device,
        first_epoch: usize,
    ) -> Self {
        let items = make(first_epoch).len();
        Self {
            make,
            batcher: Arc::new(batcher),
            batch_size: batch_size.max(1),
            device,
            epoch: Arc::new(AtomicUsize::new(first_epoch)),
            items,
            range: None,
        }
    }

    /// The epoch the next `iter` will draw.
    pub fn next_epoch(&self) -> usize {
        self.epoch.load(Ordering::SeqCst)
    }

    /// A copy on `device` over `range`; a slice (one device's share under data-parallel
    /// training, which iterates every share once an epoch) counts its epochs itself.
    fn copy(&self, device: Device, range: Option<(usize, usize)>, own_epochs: bool) -> Self {
        let epoch = if own_epochs { Arc::new(AtomicUsize::new(self.next_epoch())) } else { self.epoch.clone() };
        Self {
            make: self.make.clone(),
            batcher: self.batcher.clone(),
            batch_size: self.batch_size,
            device,
            epoch,
            items: range.map_or(self.items, |(start, end)| end - start),
            range,
        }
    }
}

impl<I: Send + Sync + 'static, O: Send + 'static> DataLoader<O> for EpochLoader<I, O> {
    fn iter<'a>(&'a self) -> Box<dyn DataLoaderIterator<O> + 'a> {
        let epoch = self.epoch.fetch_add(1, Ordering::SeqCst);
        let dataset = (self.make)(epoch);
        let (start, end) = self.range.unwrap_or((0, dataset.len()));
        Box::new(EpochIterator { loader: self, dataset, next: start, end: end.min(start + self.items), start })
    }

    fn num_items(&self) -> usize {
        self.items
    }

    fn to_device(&self, device: &Device) -> Arc<dyn DataLoader<O>> {
        Arc::new(self.copy(device.clone(), self.range, false))
    }

    fn slice(&self, start: usize, end: usize) -> Arc<dyn DataLoader<O>> {
        let offset = self.range.map_or(0, |(first, _)| first);
        Arc::new(self.copy(self.device.clone(), Some((offset + start, offset + end.min(self.items))), true))
    }
}

struct EpochIterator<'a, I, O> {
    loader: &'a EpochLoader<I, O>,
    dataset: Arc<dyn Dataset<I>>,
    start: usize,
    next: usize,
    end: usize,
}

impl<I, O> Iterator for EpochIterator<'_, I, O> {
    type Item = Result<O, DatasetError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.end {
            return None;
        }
        let stop = (self.next + self.loader.batch_size).min(self.end);
        let items: Result<Vec<I>, DatasetError> = (self.next..stop).map(|index| self.dataset.get(index)).collect();
        self.next = stop;
        Some(items.map(|items| self.loader.batcher.batch(items, &self.loader.device)))
    }
}

impl<I, O> DataLoaderIterator<O> for EpochIterator<'_, I, O> {
    fn progress(&self) -> Progress {
        Progress::new(self.next - self.start, self.end - self.start, Some("items".to_string()))
    }
}
