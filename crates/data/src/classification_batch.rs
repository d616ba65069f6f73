//! Classification batches: sequences grouped into length buckets, padded on the right, with a
//! padding mask so that padding changes no prediction.

use burn::data::dataloader::batcher::Batcher;
use burn::tensor::{Bool, Device, Int, Tensor, TensorData};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use crate::labelled::LabelledIds;

/// One batch of labelled sequences.
#[derive(Debug, Clone)]
pub struct ClassificationBatch {
    /// Token ids, padded on the right with the pad id. `[batch, seq]`
    pub tokens: Tensor<2, Int>,
    /// `true` at padded positions; `None` when no row is padded (known here, on the host, so
    /// that attention runs without a mask and nothing is read back from the device). `[batch, seq]`
    pub padding_mask: Option<Tensor<2, Bool>>,
    /// Class indices. `[batch]`
    pub labels: Tensor<1, Int>,
}

/// Pads (and truncates to `max_length`) a list of labelled sequences into a batch.
#[derive(Debug, Clone, Copy)]
pub struct ClassificationBatcher {
    pub pad_id: u32,
    pub max_length: usize,
}

impl Batcher<LabelledIds, ClassificationBatch> for ClassificationBatcher {
    fn batch(&self, items: Vec<LabelledIds>, device: &Device) -> ClassificationBatch {
        let batch = items.len();
        // An empty text keeps one unmasked pad token, so every row has a position to pool.
        let lengths: Vec<usize> = items.iter().map(|item| item.ids.len().clamp(1, self.max_length.max(1))).collect();
        let seq = lengths.iter().copied().max().unwrap_or(1);
        let mut tokens = Vec::with_capacity(batch * seq);
        let mut mask = Vec::with_capacity(batch * seq);
        for (item, &length) in items.iter().zip(&lengths) {
            for position in 0..seq {
                let id = item.ids.get(position).filter(|_| position < length).copied();
                tokens.push(i64::from(id.unwrap_or(self.pad_id)));
                mask.push(position >= length);
            }
        }
        let labels: Vec<i64> = items.iter().map(|item| item.label as i64).collect();
        ClassificationBatch {
            tokens: Tensor::from_data(TensorData::new(tokens, [batch, seq]), device),
            padding_mask: lengths
                .iter()
                .any(|&length| length < seq)
                .then(|| Tensor::from_data(TensorData::new(mask, [batch, seq]), device)),
            labels: Tensor::from_data(TensorData::new(labels, [batch]), device),
        }
    }
}

/// An order of example indices in which consecutive runs of `batch_size` have similar lengths
/// (so batches carry little padding), the batches themselves in a seeded random order.
pub fn length_bucketed_order(lengths: &[usize], batch_size: usize, seed: u64) -> Vec<usize> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    order.shuffle(&mut rng);
    order.sort_by_key(|&index| lengths[index]);
    let mut batches: Vec<Vec<usize>> = order.chunks(batch_size.max(1)).map(<[usize]>::to_vec).collect();
    batches.shuffle(&mut rng);
    batches.concat()
}
