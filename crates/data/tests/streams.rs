//! Streams for stateful training, and the long-range probe text.

use std::sync::Arc;

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset;
use burn::tensor::Device;
use retrofit_data::lm_batch::LmBatcher;
use retrofit_data::probe::ProbeConfig;
use retrofit_data::streams::{StreamChunk, StreamChunks, StreamSchedule, StreamStep};

/// burn 0.22 marks its libtorch backend deprecated; the project uses it on purpose.
#[allow(deprecated)]
fn libtorch_cpu() -> Device {
    Device::libtorch()
}

#[test]
fn each_step_of_a_stream_continues_where_the_previous_step_stopped() {
    let tokens = Arc::new((0..103u32).collect::<Vec<_>>());
    // 3 streams of 34 tokens, chunks of 5 targets from offset 2: (34 - 3) / 5 = 6 steps.
    let chunks = StreamChunks::new("test", tokens, 3, 5, 2, None).unwrap();
    assert_eq!((chunks.steps(), chunks.len()), (6, 18));
    for stream in 0..3 {
        let mut previous: Option<Vec<u32>> = None;
        for step in 0..6 {
            let chunk = chunks.get(step * 3 + stream).unwrap();
            assert_eq!(chunk.tokens.len(), 6);
            assert_eq!(chunk.first, step == 0);
            assert_eq!(chunk.tokens[0] as usize, stream * 34 + 2 + step * 5);
            if let Some(previous) = previous {
                // The next chunk's first input is the previous chunk's last target.
                assert_eq!(chunk.tokens[0], previous[5]);
            }
            // A stream never reads into the next stream's tokens.
            assert!((chunk.tokens[5] as usize) < (stream + 1) * 34);
            previous = Some(chunk.tokens);
        }
    }
    assert!(chunks.get(18).is_err());
}

#[test]
fn a_batch_of_stream_chunks_says_whether_it_starts_its_streams() {
    let tokens = Arc::new((0..64u32).collect::<Vec<_>>());
    let chunks = StreamChunks::new("test", tokens, 2, 4, 0, None).unwrap();
    let batch = |step: usize| -> Vec<StreamChunk> { (0..2).map(|row| chunks.get(step * 2 + row).unwrap()).collect() };
    let first = LmBatcher::default().batch(batch(0), &libtorch_cpu());
    let next = LmBatcher::default().batch(batch(1), &libtorch_cpu());
    assert_eq!((first.stream, next.stream), (StreamStep::First, StreamStep::Next));
    assert_eq!(next.inputs.try_into_vec_as::<i64>().unwrap(), [4, 5, 6, 7, 36, 37, 38, 39]);
    assert_eq!(next.targets.try_into_vec_as::<i64>().unwrap(), [5, 6, 7, 8, 37, 38, 39, 40]);
    let windows = LmBatcher::default().batch(vec![vec![1, 2, 3]], &libtorch_cpu());
    assert_eq!(windows.stream, StreamStep::Independent);
}

#[test]
fn every_epoch_draws_its_own_offset_from_the_seed_with_the_same_number_of_steps() {
    let tokens = Arc::new((0..10_000u32).collect::<Vec<_>>());
    let schedule = StreamSchedule { streams: 4, chunk: 16, steps: Some(10), seed: 7 };
    let starts: Vec<u32> =
        (0..6).map(|epoch| schedule.epoch("test", tokens.clone(), epoch).unwrap().get(0).unwrap().tokens[0]).collect();
    let again: Vec<u32> =
        (0..6).map(|epoch| schedule.epoch("test", tokens.clone(), epoch).unwrap().get(0).unwrap().tokens[0]).collect();
    assert_eq!(starts, again, "an epoch's offset follows from the seed");
    let distinct: std::collections::BTreeSet<_> = starts.iter().collect();
    assert!(distinct.len() >= 5, "epochs should read different parts: {starts:?}");
    for epoch in 0..6 {
        assert_eq!(schedule.epoch("test", tokens.clone(), epoch).unwrap().len(), 40);
    }
    let all = StreamSchedule { steps: None, ..schedule };
    // 2,500 tokens a stream: 156 chunks fit, one is left as room for the offset.
    assert_eq!(all.epoch("test", tokens.clone(), 0).unwrap().steps(), 155);
    let too_many = StreamSchedule { steps: Some(1_000), ..schedule };
    assert!(
        too_many.epoch("test", tokens, 0).unwrap_err().to_string().contains("4 streams of 1000 steps of 16 tokens")
    );
}

#[test]
fn the_probe_repeats_each_key_after_a_gap_and_nowhere_else_can_it_be_predicted() {
    let probe = ProbeConfig { train_records: 300, ..ProbeConfig::default() };
    let splits = probe.generate().unwrap();
    assert_eq!(splits, probe.generate().unwrap(), "seeded");
    let record = probe.record_symbols();
    assert_eq!(splits.train.len(), 300 * record);
    assert_ne!(splits.train[..100], splits.valid[..100], "each split has its own draw");
    let mut keys_seen = std::collections::BTreeSet::new();
    for chunk in splits.train.chunks(record) {
        let (key, marker, repeated) = (chunk[0], chunk[record - 2], chunk[record - 1]);
        assert!(key.is_ascii_uppercase() && key == repeated && marker == b'=');
        assert!(chunk[1..=probe.gap].iter().all(|byte| (b'a'..=b'd').contains(byte)));
        keys_seen.insert(key);
    }
    assert_eq!(keys_seen.len(), 16, "keys are drawn from all 16");
    let bad = ProbeConfig { marker: "a".to_string(), ..ProbeConfig::default() };
    assert!(bad.generate().unwrap_err().to_string().contains("marker"));
}
