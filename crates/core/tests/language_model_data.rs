//! The language-model data path: every epoch draws fresh examples (seed + epoch) and yields them
//! in order; stream batches continue each other; the stream evaluation's per-window figures add
//! up; the paired bootstrap interval of a gain.

use std::sync::Arc;

use burn::data::dataloader::DataLoader;
use burn::data::dataset::InMemDataset;
use burn::tensor::{Int, Tensor};
use retrofit_core::language_model::{
    EpochDataset, EpochLoader, ExamplePlan, LmData, PairedUnit, RecallLoss, StateCarry, StreamEvaluation,
    TokenizedCorpus, TrainOrder, WindowedLm, bootstrap_difference, evaluate_streams, paired_gain_interval,
    paired_units,
};
use retrofit_core::training::TrainingConfig;
use retrofit_data::lm_batch::LmBatcher;
use retrofit_data::source::DataSource;
use retrofit_data::streams::StreamStep;
use retrofit_data::tokenizer::{TextTokenizer, TokenizerConfig};
use retrofit_runtime::device::libtorch_cpu;

fn alice() -> DataSource {
    DataSource::default().relative_to(&std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

fn corpus() -> TokenizedCorpus {
    TokenizedCorpus::load(&alice(), TextTokenizer::from_config(&TokenizerConfig::Bytes, std::iter::empty()).unwrap())
        .unwrap()
}

fn first_inputs(loader: &Arc<dyn DataLoader<retrofit_data::lm_batch::LmBatch>>) -> Vec<Vec<i64>> {
    loader.iter().map(|batch| batch.unwrap().inputs.try_into_vec_as::<i64>().unwrap()).collect()
}

#[test]
fn an_epoch_loader_draws_a_new_dataset_every_epoch_and_keeps_its_order() {
    let make: EpochDataset<Vec<u32>> =
        Arc::new(|epoch| Arc::new(InMemDataset::new((0..5).map(|i| vec![epoch as u32, i, i + 1]).collect())));
    let loader = EpochLoader::new(make, LmBatcher::default(), 2, libtorch_cpu(), 3);
    assert_eq!((loader.num_items(), loader.next_epoch()), (5, 3));
    // The Learner moves the loader to its device once: the copy shares the epoch counter.
    let moved = loader.to_device(&libtorch_cpu());
    for epoch in 3..5 {
        let batches: Vec<Vec<i64>> =
            moved.iter().map(|b| b.unwrap().inputs.try_into_vec_as::<i64>().unwrap()).collect();
        let e = epoch as i64;
        assert_eq!(batches, vec![vec![e, 0, e, 1], vec![e, 2, e, 3], vec![e, 4]]);
    }
    assert_eq!(loader.next_epoch(), 5);
    let half = loader.slice(2, 4);
    assert_eq!(half.num_items(), 2);
    let batches: Vec<Vec<i64>> = half.iter().map(|b| b.unwrap().inputs.try_into_vec_as::<i64>().unwrap()).collect();
    assert_eq!(batches, vec![vec![5, 2, 5, 3]]);
}

#[test]
fn training_windows_are_new_every_epoch_and_the_same_for_the_same_seed() {
    let training = TrainingConfig { batch_size: 4, ..TrainingConfig::default() };
    let plan =
        ExamplePlan { example_tokens: 32, order: TrainOrder::RandomWindows { examples: 8 }, valid_examples: Some(4) };
    let data = LmData::new(corpus(), plan, &training).unwrap();
    let (epoch0, epoch1) = (first_inputs(&data.train), first_inputs(&data.train));
    assert_eq!(epoch0.len(), 2);
    assert_ne!(epoch0, epoch1, "an epoch replays the previous epoch's windows");
    let again = LmData::new(corpus(), plan, &training).unwrap();
    assert_eq!(first_inputs(&again.train), epoch0, "the same seed draws the same first epoch");
    // Validation is the same contiguous windows every time.
    assert_eq!(first_inputs(&data.valid), first_inputs(&data.valid));
}

#[test]
fn stream_training_batches_continue_each_other_and_start_fresh_each_epoch() {
    let training = TrainingConfig { batch_size: 3, ..TrainingConfig::default() };
    let plan = ExamplePlan { example_tokens: 16, order: TrainOrder::Streams { steps: Some(5) }, valid_examples: None };
    let data = LmData::new(corpus(), plan, &training).unwrap();
    assert_eq!(data.train_tokens_per_epoch(), 5 * 3 * 16);
    let mut firsts = Vec::new();
    for _ in 0..2 {
        let batches: Vec<_> = data.train.iter().map(Result::unwrap).collect();
        assert_eq!(batches.len(), 5);
        let steps: Vec<StreamStep> = batches.iter().map(|batch| batch.stream).collect();
        assert_eq!(steps[0], StreamStep::First);
        assert!(steps[1..].iter().all(|&step| step == StreamStep::Next));
        for pair in batches.windows(2) {
            let inputs = pair[1].inputs.clone().try_into_vec_as::<i64>().unwrap();
            let targets = pair[0].targets.clone().try_into_vec_as::<i64>().unwrap();
            for row in 0..3 {
                // Row `row` of a step starts with the token after the last target of the same row
                // one step earlier: they are consecutive in the text.
                assert_eq!(inputs[row * 16], targets[row * 16 + 15], "row {row}");
            }
        }
        firsts.push(batches[0].inputs.clone().try_into_vec_as::<i64>().unwrap());
    }
    assert_ne!(firsts[0], firsts[1], "every epoch draws its own stream offset");
    // Validation: the validation split's streams from their start, all steps that fit.
    let valid: Vec<_> = data.valid.iter().map(Result::unwrap).collect();
    assert!(valid.len() > 1 && valid[0].stream == StreamStep::First);
    assert_eq!(data.valid_tokens, valid.len() * 3 * 16);
}

/// A model whose NLL of a token is its id (so that every per-window sum is known).
struct IdAsLoss {
    context: usize,
}

impl WindowedLm for IdAsLoss {
    fn context(&self) -> usize {
        self.context
    }

    fn stream_nll(&self, _inputs: Tensor<2, Int>, targets: Tensor<2, Int>, _carry: StateCarry) -> Tensor<2> {
        targets.float()
    }
}

#[test]
fn a_stream_evaluation_keeps_every_windows_nll_and_bytes_and_they_add_up() {
    let ids: Vec<u32> = (0..41).collect();
    let device = libtorch_cpu();
    let evaluation =
        evaluate_streams(&IdAsLoss { context: 4 }, &ids, |ids| ids.len() * 2, 2, None, StateCarry::Carried, &device)
            .unwrap();
    // Two streams of 20 tokens: 5 windows of 4 each, from tokens 0 and 20.
    assert_eq!((evaluation.streams, evaluation.windows_per_stream), (2, 5));
    assert_eq!(evaluation.window_nll[0], (1 + 2 + 3 + 4) as f64);
    assert_eq!(evaluation.window_nll[5], (21 + 22 + 23 + 24) as f64);
    assert_eq!(evaluation.window_bytes, vec![8; 10]);
    assert_eq!(evaluation.nll_nats, evaluation.window_nll.iter().sum::<f64>());
    assert_eq!(evaluation.bytes, 80);
    let first_two = evaluation.loss_of_windows(0..2).unwrap();
    assert!((first_two - (1..=8).chain(21..=28).sum::<u32>() as f64 / 16.0).abs() < 1e-9);
    assert!(evaluation.loss_of_windows(5..usize::MAX).is_none());
    // Position p of every window: targets 1 + p + 4w (+ 20 in the second stream).
    let by_position: Vec<f64> =
        (1..=4).map(|p| (0..5).map(|w| 2.0 * (p + 4 * w) as f64 + 20.0).sum::<f64>() / 10.0).collect();
    assert_eq!(evaluation.loss_by_position, by_position);
}

#[test]
fn recall_targets_are_tokens_seen_earlier_in_the_stream_but_not_yet_in_the_window() {
    // One stream, windows of 3: inputs [5 6 7] [8 5 9] [6 6 5], targets shifted by one.
    let ids = [5, 6, 7, 8, 5, 9, 6, 6, 5, 1];
    let recall = RecallLoss::recall_targets(&ids, &[0], 3, 3);
    // Window 1's targets 5 (seen before, not yet in [8]), 9, 6 (seen before, not in [8 5 9]);
    // window 2's targets 6 (inside: the input 6), 5 (seen before, not in [6 6]), 1 (never seen).
    assert_eq!(recall, [false, false, false, true, false, true, false, true, false]);
    let classes = RecallLoss::of(&[1.0, 1.0, 1.0, 4.0, 1.0, 6.0, 1.0, 2.0, 1.0], &recall);
    assert_eq!((classes.recall_tokens, classes.recall_loss), (3, 4.0));
    assert_eq!((classes.local_tokens, classes.local_loss), (6, 1.0));
}

#[test]
fn windows_of_twice_the_length_pair_with_two_windows_and_seeds_pool() {
    // The control: 6 windows; a rung with windows twice as long: 3 windows over the same text.
    let control = evaluation(vec![4.0, 2.0, 4.0, 2.0, 4.0, 2.0], vec![5; 6]);
    let long = StreamEvaluation { tokens: 6, ..evaluation(vec![5.0, 5.0, 5.0], vec![10; 3]) };
    let units = paired_units(&long, &control).unwrap();
    assert_eq!(units.len(), 3);
    assert!(units.iter().all(|unit| unit.first_nll == 5.0 && unit.second_nll == 6.0 && unit.bytes == 10));
    let interval = bootstrap_difference(std::slice::from_ref(&units), 0.95, 200, 3).unwrap();
    let expected = -1.0 / (10.0 * std::f64::consts::LN_2);
    assert!((interval.gain - expected).abs() < 1e-12 && (interval.low - expected).abs() < 1e-12);

    // Pooled over two seeds that disagree: the point is the pooled difference, and the interval
    // spans both seeds' differences.
    let other_seed: Vec<PairedUnit> = units.iter().map(|unit| PairedUnit { first_nll: 7.0, ..*unit }).collect();
    let pooled = bootstrap_difference(&[units, other_seed], 0.95, 2_000, 3).unwrap();
    assert!(pooled.gain.abs() < 1e-12, "{pooled:?}");
    assert!(pooled.low < -0.04 && pooled.high > 0.04, "{pooled:?}");

    let shifted = evaluation(vec![4.0; 6], vec![6; 6]);
    assert!(paired_units(&long, &shifted).is_err(), "not the same text");
}

fn evaluation(window_nll: Vec<f64>, window_bytes: Vec<usize>) -> StreamEvaluation {
    let (nll_nats, bytes) = (window_nll.iter().sum::<f64>(), window_bytes.iter().sum::<usize>());
    StreamEvaluation {
        streams: 1,
        windows_per_stream: window_nll.len(),
        tokens: window_nll.len(),
        bytes,
        nll_nats,
        loss: nll_nats / window_nll.len() as f64,
        perplexity: 1.0,
        bits_per_byte: nll_nats / (std::f64::consts::LN_2 * bytes as f64),
        loss_by_window: window_nll.clone(),
        window_nll,
        window_bytes,
        loss_by_position: Vec::new(),
        recall: RecallLoss::default(),
    }
}

#[test]
fn the_paired_bootstrap_interval_holds_the_gain_and_collapses_when_every_window_gains_alike() {
    let bytes = vec![10; 50];
    let same = evaluation((0..50).map(|i| 5.0 + (i % 7) as f64).collect(), bytes.clone());
    let zero = paired_gain_interval(&same, &same, 0.95, 500, 1).unwrap();
    assert_eq!((zero.gain, zero.low, zero.high), (0.0, 0.0, 0.0));

    // Every window 1 nat better over 10 bytes: the gain is 1 / (10 ln 2) bits per byte, exactly.
    let better = evaluation(same.window_nll.iter().map(|nll| nll - 1.0).collect(), bytes.clone());
    let constant = paired_gain_interval(&better, &same, 0.95, 500, 1).unwrap();
    let expected = 1.0 / (10.0 * std::f64::consts::LN_2);
    for value in [constant.gain, constant.low, constant.high] {
        assert!((value - expected).abs() < 1e-12, "{constant:?}");
    }

    // Gains that vary from window to window: the interval brackets the gain and has width.
    let noisy = evaluation(same.window_nll.iter().enumerate().map(|(i, nll)| nll - (i % 3) as f64).collect(), bytes);
    let interval = paired_gain_interval(&noisy, &same, 0.95, 2_000, 1).unwrap();
    assert!(interval.low < interval.gain && interval.gain < interval.high, "{interval:?}");
    assert!(interval.low > 0.0, "every window gains or ties: {interval:?}");

    let other = evaluation(vec![1.0; 3], vec![7; 3]);
    assert!(paired_gain_interval(&other, &same, 0.95, 10, 1).is_err(), "not the same text");
    let two_streams = StreamEvaluation { streams: 2, windows_per_stream: 25, ..same.clone() };
    assert!(paired_gain_interval(&two_streams, &same, 0.95, 10, 1).is_err(), "not the same streams");
}
