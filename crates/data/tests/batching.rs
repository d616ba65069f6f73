//! Batchers: padding masks, length buckets, LM windows.

use std::sync::Arc;

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset;
use burn::tensor::Device;
use retrofit_data::classification_batch::{ClassificationBatcher, length_bucketed_order};
use retrofit_data::labelled::LabelledIds;
use retrofit_data::lm_batch::{ContiguousWindows, LmBatcher, RandomWindows};

/// burn 0.22 marks its libtorch backend deprecated; the project uses it on purpose.
#[allow(deprecated)]
fn libtorch_cpu() -> Device {
    Device::libtorch()
}

fn example(ids: &[u32], label: usize) -> LabelledIds {
    LabelledIds { ids: ids.to_vec(), label }
}

#[test]
fn padding_mask_marks_exactly_the_padded_positions() {
    let batcher = ClassificationBatcher { pad_id: 9, max_length: 3 };
    let items = vec![example(&[1, 2], 0), example(&[3, 4, 5, 6], 1), example(&[], 1)];
    let batch = batcher.batch(items, &libtorch_cpu());
    assert_eq!(batch.tokens.dims(), [3, 3]);
    let tokens = batch.tokens.try_into_vec_as::<i64>().unwrap();
    assert_eq!(tokens, [1, 2, 9, 3, 4, 5, 9, 9, 9]);
    let mask = batch.padding_mask.expect("rows 1 and 3 are padded").into_data().try_into_vec::<bool>().unwrap();
    // Row 3 is empty: it keeps one unmasked pad position so pooling has something.
    assert_eq!(mask, [false, false, true, false, false, false, false, true, true]);
    let labels = batch.labels.try_into_vec_as::<i64>().unwrap();
    assert_eq!(labels, [0, 1, 1]);

    // Rows of one length need no mask at all.
    let even = batcher.batch(vec![example(&[1, 2], 0), example(&[3, 4], 1)], &libtorch_cpu());
    assert!(even.padding_mask.is_none());
}

#[test]
fn length_buckets_group_similar_lengths_and_keep_every_index() {
    let lengths: Vec<usize> = (0..100).map(|i| (i * 37) % 100).collect();
    let order = length_bucketed_order(&lengths, 10, 1);
    let mut sorted = order.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..100).collect::<Vec<_>>());
    for batch in order.chunks(10) {
        let batch_lengths: Vec<usize> = batch.iter().map(|&i| lengths[i]).collect();
        let spread = batch_lengths.iter().max().unwrap() - batch_lengths.iter().min().unwrap();
        assert!(spread < 10, "{batch_lengths:?}");
    }
    assert_eq!(order, length_bucketed_order(&lengths, 10, 1));
    assert_ne!(order, length_bucketed_order(&lengths, 10, 2));
}

#[test]
fn lm_windows_shift_targets_by_one() {
    let tokens = Arc::new((0..23u32).collect::<Vec<_>>());
    let contiguous = ContiguousWindows::new("test", tokens.clone(), 5).unwrap();
    assert_eq!(contiguous.len(), 4);
    assert_eq!(contiguous.covered_tokens(), 20);
    assert_eq!(contiguous.get(1).unwrap(), [5, 6, 7, 8, 9, 10]);
    assert!(contiguous.get(4).is_err());

    let random = RandomWindows::new("test", tokens, 5, 50, 3).unwrap();
    for index in 0..50 {
        let window = random.get(index).unwrap();
        assert_eq!(window.len(), 6);
        assert!(window.windows(2).all(|pair| pair[1] == pair[0] + 1));
        assert_eq!(window, random.get(index).unwrap());
    }

    let batch =
        LmBatcher::default().batch(vec![contiguous.get(0).unwrap(), contiguous.get(2).unwrap()], &libtorch_cpu());
    assert_eq!(batch.inputs.dims(), [2, 5]);
    let inputs = batch.inputs.try_into_vec_as::<i64>().unwrap();
    let targets = batch.targets.try_into_vec_as::<i64>().unwrap();
    assert_eq!(inputs, [0, 1, 2, 3, 4, 10, 11, 12, 13, 14]);
    assert_eq!(targets, [1, 2, 3, 4, 5, 11, 12, 13, 14, 15]);
}
