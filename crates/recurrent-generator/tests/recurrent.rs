//! Invariants of the recurrent generator: gate 0 equals the base; the base is frozen (no
//! gradient, no optimizer state); the recurrent parameters learn; the segment state carries
//! information from one window to the next and `reset` removes it; checkpoints round-trip and
//! refuse another base; a smoke run of every variant lowers the validation loss.

use retrofit_test_support::max_abs_diff;
use std::path::{Path, PathBuf};

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Distribution, Int, Tensor};
use retrofit_core::base::{BasePrecision, PretrainedBase, load_base};
use retrofit_core::decoder::Decoder;
use retrofit_core::gpt2::{Gpt2Config, export_gpt2, load_gpt2};
use retrofit_core::language_model::{StateCarry, ValidStateParts, WindowedLm, token_nll};
use retrofit_core::positions::position_ids;
use retrofit_core::training::TaskModel;
use retrofit_core::training::TrainingConfig;
use retrofit_core::training::{is_tracked, parameters_with_gradient};
use retrofit_data::lm_batch::LmBatch;
use retrofit_data::probe::ProbeConfig;
use retrofit_data::source::DataSource;
use retrofit_data::streams::StreamStep;
use retrofit_data::tokenizer::TokenizerConfig;
use retrofit_recurrent_generator::{
    CHECKPOINT_DIR, Connection, EvalSplit, InsertionConfig, LEGACY_NAMES, Recurrence, RecurrentDataConfig,
    RecurrentError, RecurrentGeneratorConfig, RecurrentLanguageModeling, RecurrentLm, Schedule, SegmentState,
    StreamState, TASK_PREFIX, TrainedParts, WindowInputs, WindowedText, load_checkpoint, run, sample_ids,
    save_checkpoint, start_from_checkpoint, state_diagnostics, successive_and_other,
};

/// The `segment-state` connection of `model` (which must have one).
fn segment_of(model: &RecurrentLm) -> &SegmentState {
    match &model.connection {
        Some(Connection::SegmentState(segment)) => segment,
        other => panic!("a segment-state model, not {other:?}"),
    }
}
use retrofit_runtime::Quantity;
use retrofit_runtime::device::{DeviceChoice, libtorch_cpu};
use retrofit_runtime::run_dir::RunDir;

const VOCAB: usize = 256;
const CONTEXT: usize = 16;

fn base_config() -> Gpt2Config {
    Gpt2Config { vocab_size: VOCAB, n_positions: 32, n_embd: 32, n_layer: 4, n_head: 4, ..Gpt2Config::distilgpt2() }
}

/// A random byte-level base written as a Hugging Face directory.
fn base_dir(seed: u64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let device = libtorch_cpu();
    device.seed(seed);
    export_gpt2(&base_config().init_for_training(&device), &base_config(), &TokenizerConfig::Bytes, dir.path())
        .unwrap();
    dir
}

fn insertion(recurrence: Recurrence) -> InsertionConfig {
    // float32 on every machine: the equality tests compare with the float32 base.
    InsertionConfig {
        inserted_blocks: 2,
        heads: 4,
        recurrence,
        base_precision: BasePrecision::Float32,
        // No random resets: the tests compare training passes with passes by hand.
        state_reset_rate: 0.0,
        memory_slots: 4,
        ..InsertionConfig::default()
    }
}

fn random_ids(batch: usize, seq: usize, device: &Device) -> Tensor<2, Int> {
    random_ids_below(VOCAB, batch, seq, device)
}

fn random_ids_below(vocab: usize, batch: usize, seq: usize, device: &Device) -> Tensor<2, Int> {
    Tensor::<2>::random([batch, seq], Distribution::Uniform(0.0, vocab as f64), device).int().clamp(0, vocab as i64 - 1)
}

/// Both families: a random byte-level GPT-2 and the tiny Llama fixture (grouped-query heads,
/// rotary positions) that core's parity tests check against transformers.
fn bases(seed: u64, device: &Device) -> Vec<PretrainedBase> {
    let gpt2_dir = base_dir(seed);
    let llama_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../core/tests/fixtures/llama-tiny/tied");
    [gpt2_dir.path(), llama_dir.as_path()].iter().map(|dir| load_base(dir, device).unwrap().0).collect()
}

const VARIANTS: [Recurrence; 7] = [
    Recurrence::None,
    Recurrence::TokenGru,
    Recurrence::SegmentState,
    Recurrence::NoneCache,
    Recurrence::Memory,
    Recurrence::XlCache,
    Recurrence::MemoryTokens,
];

/// The recurrences that hand something from one window to the next.
const CARRYING: [Recurrence; 5] = [
    Recurrence::SegmentState,
    Recurrence::NoneCache,
    Recurrence::Memory,
    Recurrence::XlCache,
    Recurrence::MemoryTokens,
];

/// Whether `base` takes `recurrence`: xl-cache needs rotary positions (a GPT-2 base is refused).
fn takes(base: &PretrainedBase, recurrence: Recurrence) -> bool {
    recurrence != Recurrence::XlCache || base.rotary_tables().is_some()
}

/// The byte-level GPT-2 in `gpt2_dir`, or the tiny Llama fixture for a recurrence that needs
/// rotary positions.
fn base_for(recurrence: Recurrence, gpt2_dir: &Path, device: &Device) -> PretrainedBase {
    let dir = if recurrence == Recurrence::XlCache {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../core/tests/fixtures/llama-tiny/tied")
    } else {
        gpt2_dir.to_path_buf()
    };
    load_base(&dir, device).unwrap().0
}

/// Opens every gate: `mult = value` (the gradient of a block's parameters is 0 while its gate is 0).
/// Also opens memory-tokens' map, which starts at zero (so that the first written memory is the
/// initial one, and nothing written reaches the next window until the map has learned): small
/// random weights.
fn open_gates(mut model: RecurrentLm, value: f32) -> RecurrentLm {
    for block in &mut model.inserted {
        let device = block.mult.val().device();
        block.mult = Param::from_tensor(Tensor::full([1], value, &device));
    }
    if let Some(Connection::MemoryTokens(tokens)) = &mut model.connection {
        let weight = tokens.map.weight.val();
        let device = weight.device();
        tokens.map.weight = Param::from_tensor(Tensor::random(weight.dims(), Distribution::Normal(0.0, 0.05), &device));
    }
    model
}

#[test]
fn at_initialisation_the_logits_equal_the_frozen_base_exactly() {
    let device = libtorch_cpu();
    for (base, recurrence) in bases(1, &device).into_iter().flat_map(|base| VARIANTS.map(|r| (base.clone(), r))) {
        // memory-tokens: the base attends to the read vectors from the start (see its own test).
        if !takes(&base, recurrence) || recurrence == Recurrence::MemoryTokens {
            continue;
        }
        let family = base.family();
        let vocab = base.vocab_size();
        let reference = base.clone();
        let model = RecurrentLm::new(base, &insertion(recurrence), CONTEXT, &device).unwrap();
        assert!(model.inserted.len() >= 2, "blocks inside plus one after the last");
        let ids = random_ids_below(vocab, 3, CONTEXT, &device);
        assert_eq!(
            max_abs_diff(model.logits(ids.clone()), reference.forward(ids.clone())),
            0.0,
            "{family} {recurrence:?}"
        );
        // Across windows too: the carried state changes nothing while the gates are closed.
        let ids = random_ids_below(vocab, 2, 3 * CONTEXT + 1, &device);
        let [_, total] = ids.dims();
        let (inputs, targets) = (ids.clone().slice([0..2, 0..total - 1]), ids.slice([0..2, 1..total]));
        let carried = model.stream_nll(inputs.clone(), targets.clone(), StateCarry::Carried);
        // xl-cache: the third window reads a cache that itself read the first (its own test).
        let compared = if recurrence == Recurrence::XlCache { 2 } else { 3 };
        let carried = carried.slice([0..2, 0..compared * CONTEXT]);
        let windows: Vec<Tensor<2>> = (0..compared)
            .map(|w| {
                let range = w * CONTEXT..(w + 1) * CONTEXT;
                // none-cache and xl-cache: the base reads the previous window too, at positions
                // 0..CONTEXT, this one after it (a window of 2 x CONTEXT sliding by CONTEXT).
                let reads_previous = matches!(recurrence, Recurrence::NoneCache | Recurrence::XlCache);
                let from = if reads_previous { w.saturating_sub(1) * CONTEXT } else { range.start };
                let logits = reference.forward(inputs.clone().slice([0..2, from..range.end]));
                let [_, len, vocab] = logits.dims();
                retrofit_core::language_model::token_nll(
                    logits.slice([0..2, len - CONTEXT..len, 0..vocab]),
                    targets.clone().slice([0..2, range]),
                )
            })
            .collect();
        // The stream's NLL comes from the head fused with the cross-entropy, which sums the
        // log-sum-exp in another order than token_nll of the logits: float rounding, not 0.
        let tolerance = if matches!(recurrence, Recurrence::NoneCache | Recurrence::XlCache) { 1e-4 } else { 1e-5 };
        let difference = max_abs_diff(carried, Tensor::cat(windows, 1));
        assert!(difference <= tolerance, "{family} {recurrence:?}: {difference}");
    }
}

struct BaseParameterIds(Vec<burn::module::ParamId>);

impl ModuleVisitor for BaseParameterIds {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.0.push(param.id);
    }
}

/// Over three windows, so that the GRU cell's hidden-to-hidden weights see a non-zero state.
fn loss(model: &RecurrentLm, device: &Device) -> Tensor<1> {
    let total = 3 * CONTEXT + 1;
    let ids = random_ids_below(model.base.vocab_size(), 2, total, device);
    model
        .stream_loss_from(
            ids.clone().slice([0..2, 0..total - 1]),
            ids.slice([0..2, 1..total]),
            StateCarry::Carried,
            None,
        )
        .loss
}

/// The fused head and loss the stage trains with (no `[tokens, vocab]` logits) equal the plain
/// path, the logits' log-softmax, in the loss and in the gradients of the logit bias and of every
/// inserted block's gate (which the hidden states' gradient reaches only through the whole block).
#[test]
fn the_fused_training_loss_equals_the_loss_of_the_logits_in_value_and_gradient() {
    let device = libtorch_cpu().autodiff();
    for (base, recurrence) in bases(5, &device).into_iter().flat_map(|base| VARIANTS.map(|r| (base.clone(), r))) {
        if !takes(&base, recurrence) {
            continue;
        }
        let model = open_gates(RecurrentLm::new(base, &insertion(recurrence), CONTEXT, &device).unwrap(), 0.5);
        let ids = random_ids_below(model.base.vocab_size(), 2, CONTEXT + 1, &device);
        let (inputs, targets) = (ids.clone().slice([0..2, 0..CONTEXT]), ids.slice([0..2, 1..CONTEXT + 1]));
        let fused = model.stream_loss_from(inputs.clone(), targets.clone(), StateCarry::Carried, None);
        let plain_nll = token_nll(model.logits(inputs), targets);
        assert!(max_abs_diff(fused.nll.clone(), plain_nll.clone().detach()) < 1e-5, "{recurrence:?}: nll");
        let plain = plain_nll.mean();
        assert!(max_abs_diff(fused.loss.clone(), plain.clone()) < 1e-5, "{recurrence:?}: loss");
        let (fused_grads, plain_grads) = (fused.loss.backward(), plain.backward());
        let bias = |grads| model.logit_bias.grad(grads).expect("the logit bias learns");
        let diff = max_abs_diff(bias(&fused_grads), bias(&plain_grads));
        assert!(diff < 1e-5, "{recurrence:?}: d logit bias differs by {diff}");
        for (index, block) in model.inserted.iter().enumerate() {
            let gate = |grads| block.mult.grad(grads).expect("an open gate learns");
            let diff = max_abs_diff(gate(&fused_grads), gate(&plain_grads));
            assert!(diff < 1e-5, "{recurrence:?}: d gate of block {index} differs by {diff}");
        }
    }
}

#[test]
fn the_base_gets_no_gradient_and_no_optimizer_state_while_every_trainable_parameter_learns() {
    let device = libtorch_cpu().autodiff();
    for (base, recurrence) in bases(2, &device).into_iter().flat_map(|base| VARIANTS.map(|r| (base.clone(), r))) {
        if !takes(&base, recurrence) {
            continue;
        }
        let model = open_gates(RecurrentLm::new(base, &insertion(recurrence), CONTEXT, &device).unwrap(), 0.5);
        let grads = GradientsParams::from_grads(loss(&model, &device).backward(), &model);
        let (base_with_gradient, base_total) = parameters_with_gradient(&model.base, &grads);
        assert_eq!(
            base_with_gradient, 0,
            "{recurrence:?}: {base_with_gradient} of {base_total} frozen tensors got a gradient"
        );
        for (index, block) in model.inserted.iter().enumerate() {
            let (with, total) = parameters_with_gradient(block, &grads);
            assert_eq!(with, total, "{recurrence:?}: inserted block {index}");
            if recurrence == Recurrence::TokenGru {
                let gru = block.gru.as_ref().expect("token-gru blocks own a GRU");
                let (with, total) = parameters_with_gradient(gru, &grads);
                assert!(total > 0 && with == total, "{recurrence:?}: GRU {index}: {with} of {total}");
            }
        }
        if let Some(connection) = &model.connection {
            let (with, total) = parameters_with_gradient(connection, &grads);
            assert_eq!(with, total, "{}: {with} of {total}", connection.recurrence().name());
        }
        let (bias, _) = parameters_with_gradient(&model.logit_bias, &grads);
        assert_eq!(bias, 1);

        // One Adam step: state only for the trainable tensors (two moments each), base unchanged.
        let mut trainable_tensors = 0;
        let mut ids = BaseParameterIds(Vec::new());
        model.visit(&mut ids);
        let mut base_ids = BaseParameterIds(Vec::new());
        model.base.visit(&mut base_ids);
        trainable_tensors += ids.0.len() - base_ids.0.len();
        let before = model.base.clone();
        let mut optimizer = AdamConfig::new().init();
        let model = optimizer.step(1e-2, model, grads);
        let record = format!("{:?}", optimizer.to_record());
        assert!(
            record.contains(&format!("num_tensors: {}", 2 * trainable_tensors)),
            "{recurrence:?}: {record}, {trainable_tensors} trainable tensors"
        );
        let ids = random_ids_below(model.base.vocab_size(), 1, CONTEXT, &device);
        assert_eq!(max_abs_diff(before.forward(ids.clone()), model.base.forward(ids)), 0.0);
    }
}

#[test]
fn the_state_carried_from_window_one_changes_window_two_and_reset_removes_the_effect() {
    let base = base_dir(3);
    let device = libtorch_cpu();
    for recurrence in CARRYING {
        let base = base_for(recurrence, base.path(), &device);
        let vocab = base.vocab_size();
        let model = open_gates(RecurrentLm::new(base, &insertion(recurrence), CONTEXT, &device).unwrap(), 1.0);
        let window_two = random_ids_below(vocab, 1, CONTEXT + 1, &device);
        let nll_of = |first: Tensor<2, Int>, carry: StateCarry| {
            let ids = Tensor::cat(vec![first, window_two.clone()], 1); // [1, 2 * CONTEXT + 1]
            let total = 2 * CONTEXT + 1;
            let nll = model.stream_nll(ids.clone().slice([0..1, 0..total - 1]), ids.slice([0..1, 1..total]), carry);
            nll.slice([0..1, CONTEXT..2 * CONTEXT]) // window two's targets
        };
        let (first_a, first_b) =
            (random_ids_below(vocab, 1, CONTEXT, &device), random_ids_below(vocab, 1, CONTEXT, &device));
        // Carried: what window one said reaches window two.
        let carried =
            max_abs_diff(nll_of(first_a.clone(), StateCarry::Carried), nll_of(first_b.clone(), StateCarry::Carried));
        assert!(carried > 1e-4, "{recurrence:?}: {carried}");
        // Reset: window two no longer depends on window one (its last token is window two's first input).
        let last = |first: Tensor<2, Int>| first.slice([0..1, CONTEXT - 1..CONTEXT]);
        let first_c = Tensor::cat(vec![first_b.slice([0..1, 0..CONTEXT - 1]), last(first_a.clone())], 1);
        let reset = max_abs_diff(nll_of(first_a, StateCarry::Reset), nll_of(first_c, StateCarry::Reset));
        assert!(reset < 1e-6, "{recurrence:?}: {reset}");
    }
}

/// Shuffled states: stream `s` reads the state stream `s + 1` left. Two streams that differ only
/// in their first window: with the states shuffled, each stream's second window is scored as the
/// other stream's is with its own state carried.
#[test]
fn with_shuffled_states_each_stream_reads_the_state_another_stream_left() {
    let base = base_dir(3);
    let device = libtorch_cpu();
    for recurrence in CARRYING {
        let base = base_for(recurrence, base.path(), &device);
        let vocab = base.vocab_size();
        let model = open_gates(RecurrentLm::new(base, &insertion(recurrence), CONTEXT, &device).unwrap(), 1.0);
        let window_two = random_ids_below(vocab, 1, CONTEXT + 1, &device).expand([2, CONTEXT + 1]);
        let ids = Tensor::cat(vec![random_ids_below(vocab, 2, CONTEXT, &device), window_two], 1); // [2, 2 * CONTEXT + 1]
        let total = 2 * CONTEXT + 1;
        let nll_of = |carry: StateCarry| {
            let nll =
                model.stream_nll(ids.clone().slice([0..2, 0..total - 1]), ids.clone().slice([0..2, 1..total]), carry);
            nll.slice([0..2, CONTEXT..2 * CONTEXT]) // window two's targets
        };
        let (carried, shuffled) = (nll_of(StateCarry::Carried), nll_of(StateCarry::Shuffled));
        let row = |nll: &Tensor<2>, row: usize| nll.clone().slice([row..row + 1, 0..CONTEXT]);
        assert!(max_abs_diff(row(&carried, 0), row(&carried, 1)) > 1e-4, "{recurrence:?}: the streams' states differ");
        assert!(max_abs_diff(row(&shuffled, 0), row(&carried, 1)) < 1e-5, "{recurrence:?}: stream 0 reads stream 1's");
        assert!(max_abs_diff(row(&shuffled, 1), row(&carried, 0)) < 1e-5, "{recurrence:?}: stream 1 reads stream 0's");
        // The first window reads no state: shuffling changes nothing there.
        let first = |nll: Tensor<2>| nll.slice([0..2, 0..CONTEXT]);
        let whole = |carry| {
            model.stream_nll(ids.clone().slice([0..2, 0..total - 1]), ids.clone().slice([0..2, 1..total]), carry)
        };
        assert!(max_abs_diff(first(whole(StateCarry::Carried)), first(whole(StateCarry::Shuffled))) < 1e-6);
    }
}

/// One model, read as in training (its parameters require gradients) and as in evaluation
/// (`no_grad`, the same weights), at reset rates 0, 0.9 and almost 1: built once, so that no
/// other test drawing from the global generator can make two readings differ in their weights.
#[test]
fn training_resets_states_at_the_configured_rate_and_evaluation_never_does() {
    let base = base_dir(4);
    let total = 3 * CONTEXT + 1;
    let device = libtorch_cpu().autodiff();
    for recurrence in CARRYING {
        let base = base_for(recurrence, base.path(), &device);
        let training = open_gates(RecurrentLm::new(base, &insertion(recurrence), CONTEXT, &device).unwrap(), 1.0);
        let evaluating = training.clone().no_grad();
        let ids = random_ids_below(training.vocab_size(), 4, total, &device);
        let nll = |model: &RecurrentLm, rate: f64, carry: StateCarry| {
            let mut model = model.clone();
            model.state_reset_rate = rate;
            let nll =
                model.stream_nll(ids.clone().slice([0..4, 0..total - 1]), ids.clone().slice([0..4, 1..total]), carry);
            Tensor::<2>::from_data(nll.into_data(), &libtorch_cpu())
        };
        let (carried, reset) = (nll(&evaluating, 0.0, StateCarry::Carried), nll(&evaluating, 0.0, StateCarry::Reset));
        assert!(max_abs_diff(carried.clone(), reset.clone()) > 1e-4, "{recurrence:?}");
        // Evaluation ignores the rate; training at rate 0 carries every state...
        assert!(max_abs_diff(nll(&evaluating, 0.9, StateCarry::Carried), carried.clone()) < 1e-5, "{recurrence:?}");
        assert!(max_abs_diff(nll(&training, 0.0, StateCarry::Carried), carried.clone()) < 1e-5, "{recurrence:?}");
        // ... and at a rate of almost 1 resets every one.
        let trained = nll(&training, 0.999_999, StateCarry::Carried);
        assert!(max_abs_diff(trained, reset) < 1e-5, "{recurrence:?}");
    }
}

#[test]
fn checkpoints_round_trip_and_refuse_another_base() {
    let base = base_dir(4);
    let other = base_dir(5);
    let device = libtorch_cpu();
    for recurrence in VARIANTS.into_iter().filter(|&r| r != Recurrence::XlCache) {
        let config = RecurrentGeneratorConfig {
            base: base.path().to_path_buf(),
            model: insertion(recurrence),
            data: retrofit_recurrent_generator::RecurrentDataConfig { context: CONTEXT, ..Default::default() },
            ..RecurrentGeneratorConfig::default()
        };
        let (gpt2, _) = load_gpt2(base.path(), &device).unwrap();
        device.seed(7);
        let model =
            open_gates(RecurrentLm::new(PretrainedBase::Gpt2(gpt2), &config.model, CONTEXT, &device).unwrap(), 0.3);
        let checkpoint = tempfile::tempdir().unwrap();
        save_checkpoint(&model, &config, checkpoint.path()).unwrap();
        let saved_bytes = std::fs::metadata(checkpoint.path().join("trainable.safetensors")).unwrap().len();
        let base_bytes = std::fs::metadata(base.path().join("model.safetensors")).unwrap().len();
        assert!(saved_bytes > 0 && !model.inserted.is_empty());
        let (reloaded, manifest) = load_checkpoint(checkpoint.path(), None, &device).unwrap();
        assert_eq!(manifest.config, config);
        let ids = random_ids(2, CONTEXT, &device);
        assert_eq!(max_abs_diff(model.logits(ids.clone()), reloaded.logits(ids)), 0.0, "{recurrence:?}");
        // The base is not in the checkpoint: loading it with every base tensor left out works
        // only because the base comes from its own directory.
        assert!(saved_bytes < base_bytes + 4 * 1024 * 1024);
        match load_checkpoint(checkpoint.path(), Some(other.path()), &device) {
            Err(RecurrentError::WrongBase { .. }) => {}
            other => panic!("loading onto another base must fail, got {:?}", other.map(|(_, m)| m)),
        }
        // A checkpoint written before the connection was one type (`segment.…`, `memory.…`,
        // `memory_tokens.…`) loads the same.
        let weights = checkpoint.path().join("trainable.safetensors");
        let mut renamed = 0;
        for (old, new) in LEGACY_NAMES {
            let (old, new) = (old.trim_start_matches(TASK_PREFIX), new.trim_start_matches(TASK_PREFIX));
            renamed += rename_tensors(&weights, new, old);
        }
        let has_parameters =
            matches!(recurrence, Recurrence::SegmentState | Recurrence::Memory | Recurrence::MemoryTokens);
        assert_eq!(renamed > 0, has_parameters, "{recurrence:?}: {renamed} tensors under an old name");
        let (legacy, _) = load_checkpoint(checkpoint.path(), None, &device).unwrap();
        let ids = random_ids(2, CONTEXT, &device);
        assert_eq!(max_abs_diff(model.logits(ids.clone()), legacy.logits(ids)), 0.0, "{recurrence:?}: legacy names");
    }
}

/// Renames every tensor of the safetensors file at `path` whose name starts with `from` to start
/// with `to` instead (the header is JSON after its 8-byte little-endian length); how many.
fn rename_tensors(path: &Path, from: &str, to: &str) -> usize {
    let bytes = std::fs::read(path).unwrap();
    let length = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&bytes[8..8 + length]).unwrap();
    let mut count = 0;
    let header: serde_json::Map<String, serde_json::Value> = header
        .into_iter()
        .map(|(name, value)| match name.strip_prefix(from) {
            Some(rest) => {
                count += 1;
                (format!("{to}{rest}"), value)
            }
            None => (name, value),
        })
        .collect();
    let mut text = serde_json::to_vec(&header).unwrap();
    // The data starts 8-byte aligned, as the writer left it.
    text.resize(length.max(text.len()).next_multiple_of(8), b' ');
    let mut out = (text.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&text);
    out.extend_from_slice(&bytes[8 + length..]);
    std::fs::write(path, out).unwrap();
    count
}

fn smoke_config(base: &Path, recurrence: Recurrence, schedule: Schedule) -> RecurrentGeneratorConfig {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let defaults = RecurrentGeneratorConfig::default();
    RecurrentGeneratorConfig {
        base: base.to_path_buf(),
        model: insertion(recurrence),
        data: RecurrentDataConfig {
            source: DataSource::default().relative_to(&root),
            context: CONTEXT,
            bptt_windows: 2,
            steps_per_epoch: Some(80),
            valid_steps: Some(1),
            valid_shuffled_part: false,
            eval_split: EvalSplit::Test,
            eval_streams: 2,
            eval_windows: Some(8),
        },
        training: TrainingConfig { learning_rate: 1e-2, batch_size: 16, ..defaults.training },
        schedule,
    }
}

#[test]
fn a_smoke_run_of_every_variant_lowers_the_held_out_loss() {
    let base = base_dir(6);
    let results = tempfile::tempdir().unwrap();
    let device = DeviceChoice::Cpu.resolve().unwrap();
    let zero_shot_dir = RunDir::create(results.path(), "recurrent-generator", "zero-shot").unwrap();
    let zero_shot =
        run(&smoke_config(base.path(), Recurrence::None, Schedule::ZeroShot), &zero_shot_dir, &device).unwrap();
    assert_eq!(zero_shot.parameters.trainable, 0);
    let before = zero_shot.final_metrics["test_loss"];
    // xl-cache needs a rotary base: its smoke run is on the Llama fixture (its own test).
    for recurrence in VARIANTS.into_iter().filter(|&r| r != Recurrence::XlCache) {
        let run_dir = RunDir::create(results.path(), "recurrent-generator", &format!("{recurrence:?}")).unwrap();
        let mut config = smoke_config(base.path(), recurrence, Schedule::Train);
        config.data.valid_shuffled_part = true;
        let summary = run(&config, &run_dir, &device).unwrap();
        let after = summary.final_metrics["test_loss"];
        assert!(after < before - 0.5, "{recurrence:?}: test loss {before} -> {after}");
        assert!(summary.parameters.trainable > 0 && summary.parameters.trainable < summary.parameters.total);
        assert!(run_dir.path().join(CHECKPOINT_DIR).join("checkpoint.json").is_file());
        assert!(run_dir.path().join("window_loss.json").is_file());
        // Every epoch's validation says what the carried state is worth, for the recurrences that carry one.
        let part = retrofit_runtime::Split::Valid.key(Quantity::BitsPerByteGain);
        let logged = summary.final_metrics.get(&part);
        assert_eq!(logged.is_some(), recurrence.carries_state(), "{recurrence:?}: {part} {logged:?}");
        assert!(logged.is_none_or(f64::is_finite), "{recurrence:?}: {logged:?}");
        // ... and what another stream's state costs against its own (a batch holds 16 streams).
        let shuffled = format!("{part}_shuffled");
        let logged = summary.final_metrics.get(&shuffled);
        assert_eq!(logged.is_some(), recurrence.carries_state(), "{recurrence:?}: {shuffled} {logged:?}");
        assert!(logged.is_none_or(f64::is_finite), "{recurrence:?}: {logged:?}");
    }
}

#[test]
fn the_summary_records_the_precision_the_base_computed_in() {
    let base = base_dir(6);
    let results = tempfile::tempdir().unwrap();
    let device = DeviceChoice::Cpu.resolve().unwrap();
    let native = retrofit_core::base::cpu_bf16_support().native;
    for (asked, expected) in [
        (BasePrecision::Float32, "float32"),
        (BasePrecision::Bfloat16, "bfloat16"),
        (BasePrecision::Auto, if native { "bfloat16" } else { "float32" }),
    ] {
        let mut config = smoke_config(base.path(), Recurrence::None, Schedule::ZeroShot);
        config.model.base_precision = asked;
        let run_dir = RunDir::create(results.path(), "recurrent-generator", &format!("{asked:?}")).unwrap();
        let summary = run(&config, &run_dir, &device).unwrap();
        assert_eq!(summary.base_precision.as_deref(), Some(expected), "{asked:?}");
        let written = serde_json::to_value(&summary).unwrap();
        assert_eq!(written["base_precision"], expected, "{asked:?}: summary.json carries it");
    }
}

#[test]
fn more_inserted_blocks_than_base_blocks_is_refused_with_the_rule() {
    let base = base_dir(8);
    let device = libtorch_cpu();
    let (gpt2, _) = load_gpt2(base.path(), &device).unwrap();
    let config = InsertionConfig { inserted_blocks: 64, ..insertion(Recurrence::None) };
    let error = RecurrentLm::new(PretrainedBase::Gpt2(gpt2), &config, CONTEXT, &device).unwrap_err().to_string();
    assert!(error.contains("model.inserted_blocks") && error.contains("at most the base's 4 blocks"), "{error}");
}

fn stream_batch(ids: &Tensor<2, Int>, stream: StreamStep) -> LmBatch {
    let [rows, total] = ids.dims();
    LmBatch {
        inputs: ids.clone().slice([0..rows, 0..total - 1]),
        targets: ids.clone().slice([0..rows, 1..total]),
        target_bytes: rows * (total - 1),
        stream,
    }
}

#[test]
fn a_continuing_batch_starts_from_the_state_the_previous_batch_left_and_no_gradient_crosses_steps() {
    let device = libtorch_cpu().autodiff();
    let base = base_dir(9);
    let (gpt2, _) = load_gpt2(base.path(), &device).unwrap();
    let model =
        RecurrentLm::new(PretrainedBase::Gpt2(gpt2), &insertion(Recurrence::SegmentState), CONTEXT, &device).unwrap();
    let task = RecurrentLanguageModeling::new(open_gates(model, 0.7), ValidStateParts::Reset);
    let (step_one, step_two) = (random_ids(2, 2 * CONTEXT + 1, &device), random_ids(2, 2 * CONTEXT + 1, &device));
    let targets = |ids: &Tensor<2, Int>| stream_batch(ids, StreamStep::Independent);

    let _ = task.forward_task(stream_batch(&step_one, StreamStep::First));
    let (loss, _) = task.forward_task(stream_batch(&step_two, StreamStep::Next));
    let grads = GradientsParams::from_grads(loss.backward(), &task);

    // The same step computed by hand from the first step's final state, detached.
    let one = targets(&step_one);
    let state = task.model.stream_loss_from(one.inputs, one.targets, StateCarry::Carried, None).state;
    let two = targets(&step_two);
    let by_hand = task.model.stream_loss_from(
        two.inputs.clone(),
        two.targets.clone(),
        StateCarry::Carried,
        state.map(StreamState::detach),
    );
    let by_hand_loss = by_hand.loss;
    // Equal up to float summation order (libtorch's kernels may split work differently).
    assert!(max_abs_diff(loss.clone(), by_hand_loss.clone()) < 1e-5);
    let by_hand_grads = GradientsParams::from_grads(by_hand_loss.backward(), &task);
    let cell = &segment_of(&task.model).cell;
    let weight = cell.update_gate.input_transform.weight.id;
    let (auto, manual) = (grads.get::<2>(weight).unwrap(), by_hand_grads.get::<2>(weight).unwrap());
    let scale = auto.clone().abs().max().into_scalar::<f32>();
    assert!(scale > 0.0);
    // A gradient through the state into step one would add that step's whole contribution.
    assert!(max_abs_diff(auto, manual) < 1e-4 * scale, "a gradient reached the previous step");

    // From a zero state: a continuing batch differs, a first batch is exactly the fresh start.
    let fresh = task.model.stream_loss_from(two.inputs.clone(), two.targets.clone(), StateCarry::Carried, None).loss;
    assert!(max_abs_diff(fresh.clone(), loss) > 1e-6, "the carried state changed nothing");
    let (first, _) = task.forward_task(stream_batch(&step_two, StreamStep::First));
    assert!(max_abs_diff(first, fresh) < 1e-5);
}

/// The probe on a small byte-level base: 4 keys, filler `a`/`b`, records of 23 bytes; the
/// repeated key is 22 tokens after the key, beyond a window of 16; one inserted block (after the
/// base's last), 400 steps.
fn probe_config(base: &Path, recurrence: Recurrence) -> RecurrentGeneratorConfig {
    let probe = ProbeConfig {
        keys: ["A", "B", "C", "D"].map(String::from).to_vec(),
        filler: ["a", "b"].map(String::from).to_vec(),
        train_records: 4_000,
        valid_records: 100,
        test_records: 200,
        ..ProbeConfig::default()
    };
    RecurrentGeneratorConfig {
        base: base.to_path_buf(),
        model: InsertionConfig { inserted_blocks: 1, ff_mult: 2, ..insertion(recurrence) },
        data: RecurrentDataConfig {
            source: DataSource::Probe(probe),
            context: CONTEXT,
            bptt_windows: 2,
            steps_per_epoch: Some(100),
            valid_steps: None,
            valid_shuffled_part: false,
            eval_split: EvalSplit::Test,
            eval_streams: 4,
            eval_windows: None,
        },
        training: TrainingConfig {
            learning_rate: 3e-3,
            warmup_steps: 10,
            batch_size: 16,
            epochs: 4,
            ..RecurrentGeneratorConfig::default().training
        },
        schedule: Schedule::Train,
    }
}

/// A small byte-level GPT-2 pre-trained on the embedded text by the generator stage's smoke
/// config (seconds): the state learns to carry the key through a trained base, not through a
/// random one whose hidden states say little about their tokens.
fn pretrained_base(results: &Path, device: &retrofit_runtime::device::ResolvedDevice) -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut config: retrofit_generator::GeneratorConfig =
        retrofit_runtime::config::load_config(Some(&root.join("configs/smoke/generator-gpt2.toml")), &[]).unwrap();
    config.data.source = config.data.source.relative_to(&root);
    let run_dir = RunDir::create(results, "generator", "probe-base").unwrap();
    retrofit_generator::run(&config, &run_dir, device).unwrap();
    run_dir.path().join("model")
}

#[test]
fn on_the_probe_the_carried_state_beats_the_reset_state_after_training_from_closed_gates() {
    let results = tempfile::tempdir().unwrap();
    let device = DeviceChoice::Cpu.resolve().unwrap();
    let base = pretrained_base(results.path(), &device);
    let mut summaries = Vec::new();
    for recurrence in [Recurrence::None, Recurrence::SegmentState] {
        let run_dir = RunDir::create(results.path(), "recurrent-generator", &format!("{recurrence:?}")).unwrap();
        let summary = run(&probe_config(&base, recurrence), &run_dir, &device).unwrap();
        let metrics = &summary.final_metrics;
        let gain = Quantity::BitsPerByteGain.stem();
        summaries.push((metrics["test_bits_per_byte"], metrics[gain], metrics[format!("{gain}_low").as_str()]));
        if recurrence == Recurrence::SegmentState {
            // Trained from mult = 0: the gates opened and the state's parameters moved.
            let (trained, _) = load_checkpoint(&run_dir.path().join(CHECKPOINT_DIR), None, &libtorch_cpu()).unwrap();
            assert!(trained.inserted.iter().all(|block| block.mult.val().into_scalar::<f32>() != 0.0));
            let config = probe_config(&base, recurrence);
            let (fresh_base, _) = load_base(&base, &libtorch_cpu()).unwrap();
            libtorch_cpu().seed(config.training.seed);
            let initial = RecurrentLm::new(fresh_base, &config.model, CONTEXT, &libtorch_cpu()).unwrap();
            let weight = |model: &RecurrentLm| segment_of(model).cell.new_gate.hidden_transform.weight.val();
            assert!(max_abs_diff(weight(&trained), weight(&initial)) > 1e-3, "the state's GRU did not move");
        }
    }
    let [(_, none_gain, _), (_, state_gain, state_low)] = summaries[..] else { unreachable!() };
    assert_eq!(none_gain, 0.0, "without a state, carried and reset are the same model");
    // What the past can tell a window: the key (2 bits a record of 23 bytes, 0.087 bits per byte)
    // and where the window starts in its record (at most log2 23 bits a window of 16 bytes, which
    // says where `=` and the key fall: 0.283 bits per byte). How much of it 400 steps learn
    // follows the machine's floating point; that the carried state beats the reset one beyond the
    // windows' bootstrap interval, and stays within what the past holds, does not.
    assert!(state_gain > 0.0 && state_low > 0.0, "reset - carried: {state_gain} (low {state_low})");
    let past_bound = 2.0 / 23.0 + 23f64.log2() / CONTEXT as f64;
    assert!(state_gain <= past_bound, "more than the past can be worth ({past_bound}): {state_gain}");
}

#[test]
fn the_frozen_base_stays_out_of_the_learner_checkpoints_and_a_reopened_run_goes_on_from_them() {
    let base = base_dir(11);
    let results = tempfile::tempdir().unwrap();
    let device = DeviceChoice::Cpu.resolve().unwrap();
    let config = |epochs: usize| {
        let mut config = smoke_config(base.path(), Recurrence::SegmentState, Schedule::Train);
        config.data.steps_per_epoch = Some(6);
        config.training.epochs = epochs;
        config
    };
    // A run stopped after its first epoch, then opened again and continued to its third.
    // (Bitwise equality with an uninterrupted run is checked through the binaries, one process
    // each, in experiments/tests/resume.rs: tests in one process share libtorch's generator.)
    let run_dir = RunDir::create(results.path(), "recurrent-generator", "part").unwrap();
    run_dir.write_config(&config(1)).unwrap();
    run(&config(1), &run_dir, &device).unwrap();
    let saved = burn_pack::Reader::from_file(run_dir.path().join("resume/model-1.bpk")).unwrap();
    let names = saved.tensor_names();
    assert!(names.iter().any(|name| name.starts_with("model.model.inserted.")), "{names:?}");
    assert!(names.iter().all(|name| !name.contains(".base.")), "the frozen base was checkpointed: {names:?}");
    let resumed = run(&config(3), &RunDir::open(run_dir.path()).unwrap(), &device).unwrap();
    assert!(resumed.final_metrics.get("test_loss").is_some_and(f64::is_finite));
    for epoch in 1..=3 {
        assert!(run_dir.path().join(format!("train/epoch-{epoch}")).is_dir(), "epoch {epoch}");
    }
    assert!(!run_dir.path().join("train/epoch-4").exists());
}

#[test]
fn a_bf16_base_stays_close_to_float32_keeps_float32_outputs_and_still_trains_only_the_inserted_parts() {
    let device = libtorch_cpu().autodiff();
    for base in bases(12, &device) {
        let family = base.family();
        let reference = base.clone();
        let config = InsertionConfig { base_precision: BasePrecision::Bfloat16, ..insertion(Recurrence::SegmentState) };
        let model = RecurrentLm::new(base, &config, CONTEXT, &device).unwrap();
        assert_eq!(model.base.dtype(), burn::tensor::DType::BF16);
        let ids = random_ids_below(model.base.vocab_size(), 2, CONTEXT, &device);
        let (bf16, f32) = (model.logits(ids.clone()), reference.forward(ids));
        assert_eq!(bf16.dtype(), burn::tensor::DType::F32, "{family}: the logits come out in float32");
        let scale = f32.clone().abs().max().into_scalar::<f32>();
        let difference = max_abs_diff(bf16, f32);
        // bf16 keeps 8 bits of mantissa, a relative error of about 4e-3 per rounding, and the
        // random fixtures' logits add many of them up: within 10% of the largest logit here (on
        // the real SmolLM2-135M the README measures what it does to bits per byte).
        assert!(difference < 0.1 * scale.max(1.0), "{family}: bf16 logits differ by {difference} (scale {scale})");

        let model = open_gates(model, 0.5);
        let grads = GradientsParams::from_grads(loss(&model, &device).backward(), &model);
        assert_eq!(parameters_with_gradient(&model.base, &grads).0, 0, "{family}: the bf16 base got a gradient");
        for block in &model.inserted {
            let (with, total) = parameters_with_gradient(block, &grads);
            assert_eq!(with, total, "{family}: an inserted block lost its gradient");
        }
        let segment = segment_of(&model);
        let weight = grads.get::<2>(segment.project.weight.id).unwrap();
        assert_eq!(weight.dtype(), burn::tensor::DType::F32, "{family}: trainable gradients stay float32");
    }
}

#[test]
fn sampling_with_closed_gates_reproduces_the_base_generate_token_for_token_and_stops_where_it_does() {
    let device = libtorch_cpu();
    let greedy = retrofit_core::generation::SamplingConfig::default();
    for (base, recurrence) in bases(4, &device).into_iter().flat_map(|base| VARIANTS.map(|r| (base.clone(), r))) {
        // memory-tokens: the base reads the memory from the start; it is not the base's generate.
        if !takes(&base, recurrence) || recurrence == Recurrence::MemoryTokens {
            continue;
        }
        let family = base.family();
        let prompt: Vec<u32> = vec![3, 14, 15, 9, 2];
        // Prompt and new tokens in one window: the base's generate sees the same history.
        let tokens = CONTEXT - prompt.len();
        let generation = retrofit_core::generation::GenerationConfig { max_new_tokens: tokens, ..Default::default() };
        let expected = base.generate(std::slice::from_ref(&prompt), &generation, &device).unwrap().remove(0);
        let model = RecurrentLm::new(base.clone(), &insertion(recurrence), CONTEXT, &device).unwrap();
        let sampled = sample_ids(&model, &prompt, tokens, greedy, &[], &device).unwrap();
        assert_eq!(sampled, expected, "{family} {recurrence:?}");
        // An end-of-sequence id that greedy decoding reaches ends both at its first occurrence.
        let end = (0..expected.len()).rev().find(|&index| !expected[..index].contains(&expected[index])).unwrap();
        let stopping = retrofit_core::generation::GenerationConfig { stop_ids: vec![expected[end]], ..generation };
        let stopped = base.generate(std::slice::from_ref(&prompt), &stopping, &device).unwrap().remove(0);
        assert_eq!(stopped, expected[..=end], "{family} {recurrence:?}");
        let sampled = sample_ids(&model, &prompt, tokens, greedy, &stopping.stop_ids, &device).unwrap();
        assert_eq!(sampled, stopped, "{family} {recurrence:?}");
    }
}

#[test]
fn sampling_carries_the_state_across_windows_as_evaluation_does() {
    let device = libtorch_cpu();
    let base = load_base(base_dir(5).path(), &device).unwrap().0;
    for recurrence in CARRYING.into_iter().filter(|&recurrence| takes(&base, recurrence)) {
        let model = open_gates(RecurrentLm::new(base.clone(), &insertion(recurrence), CONTEXT, &device).unwrap(), 0.5);
        // A text of two and a half windows; the sampler's log-probabilities of every next token
        // equal the evaluation's, which carries the state over the windows of the text.
        let text: Vec<u32> = (0..5 * CONTEXT / 2).map(|i| ((i * 37 + 11) % VOCAB) as u32).collect();
        let mut windowed = WindowedText::new(&model, &text[..1], &device).unwrap();
        let mut sampled = Vec::with_capacity(text.len() - 1);
        for &id in &text[1..] {
            let logits = Tensor::<1>::from_data(
                burn::tensor::TensorData::new(windowed.next_logits().unwrap(), [VOCAB]),
                &device,
            );
            sampled.push(burn::tensor::activation::log_softmax(logits, 0).neg());
            windowed.push(id).unwrap();
        }
        let sampled = Tensor::stack::<2>(sampled, 1); // [VOCAB, seq]
        let seq = text.len() - 1;
        // One row per candidate token: the evaluation's NLL of every candidate at every position.
        let inputs: Vec<i64> = text[..seq].iter().map(|&id| i64::from(id)).collect();
        let inputs = Tensor::<1, Int>::from_data(burn::tensor::TensorData::new(inputs, [seq]), &device)
            .reshape([1, seq])
            .expand([VOCAB, seq]);
        let targets = Tensor::<1, Int>::arange(0..VOCAB as i64, &device).reshape([VOCAB, 1]).expand([VOCAB, seq]);
        let evaluated = model.stream_nll(inputs.clone(), targets.clone(), StateCarry::Carried);
        assert!(max_abs_diff(sampled.clone(), evaluated) < 1e-4, "{recurrence:?}");
        // And the state matters: evaluation with the state reset differs.
        let reset = model.stream_nll(inputs, targets, StateCarry::Reset);
        assert!(max_abs_diff(sampled, reset) > 1e-3, "{recurrence:?}: the state changes nothing here");
    }
}

/// Records whether each float parameter of a module is tracked by the autodiff graph.
struct TrackedParameters(Vec<bool>);

impl ModuleVisitor for TrackedParameters {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.0.push(is_tracked(&param.val()));
    }
}

fn tracked_parameters<M: Module>(module: &M) -> Vec<bool> {
    let mut tracked = TrackedParameters(Vec::new());
    module.visit(&mut tracked);
    tracked.0
}

/// The frozen work the backward skips, read from the autodiff graph: no frozen weight is
/// tracked, so no op computes a weight gradient for one (burn's backward computes a parent's
/// gradient only when that parent is tracked), and with the first inserted block above base block
/// 0 the hidden states below it are untracked: the backward ends at that block's input. The walk
/// is the one `forward_window` takes (embedding, the base blocks below the first insertion point,
/// the inserted block).
#[test]
fn the_backward_never_reaches_a_frozen_weight_nor_the_base_blocks_below_the_first_inserted_block() {
    let device = libtorch_cpu().autodiff();
    for base in bases(4, &device) {
        let n_layer = base.n_layer();
        let config = InsertionConfig { positions: Some(vec![1, n_layer]), ..insertion(Recurrence::SegmentState) };
        let model = open_gates(RecurrentLm::new(base, &config, CONTEXT, &device).unwrap(), 0.5);
        let family = format!("{:?}", model.base.family());
        assert_eq!(model.schedule.insert_before(), vec![1, n_layer]);
        let base_tracked = tracked_parameters(&model.base);
        assert!(!base_tracked.is_empty() && base_tracked.iter().all(|&t| !t), "{family}: a frozen weight is tracked");
        for (index, block) in model.inserted.iter().enumerate() {
            assert!(tracked_parameters(block).iter().all(|&t| t), "{family}: inserted block {index} is not trained");
        }

        let ids = random_ids_below(model.base.vocab_size(), 2, CONTEXT, &device);
        let positions = position_ids(2, CONTEXT, 0, &device);
        let context = model.base.context(positions.clone(), None, 0);
        let mut x = model.base.embed(ids, positions);
        assert!(!is_tracked(&x), "{family}: the embedding is in the graph");
        x = model.base.block(0, x, &context, &mut None);
        assert!(!is_tracked(&x), "{family}: base block 0, below the first inserted block, is in the graph");
        let state = model.initial_state(2, &device).and_then(|state| state.vector().cloned());
        let inputs = WindowInputs { cond: state.map(|state| segment_of(&model).cond(state)), memory: None };
        let x = model.inserted[0].forward(x, &inputs, None);
        assert!(is_tracked(&x), "{family}: the first inserted block's output is not in the graph");
        let x = model.base.block(1, x, &context, &mut None);
        assert!(is_tracked(&x), "{family}: a base block above an inserted block must pass the gradient down");

        // The model's own window forward ends tracked too, and its backward reaches only the
        // trainable parameters (the counts the frozen-gradient test checks for every variant).
        let hidden = model.forward_window(random_ids_below(model.base.vocab_size(), 2, CONTEXT, &device), None).hidden;
        assert!(is_tracked(&hidden));
        assert!(!is_tracked(&hidden.detach()));
    }
    // A backend without autodiff tracks nothing.
    let plain = libtorch_cpu();
    assert!(!is_tracked(&Tensor::<2>::ones([2, 2], &plain)));
}

#[test]
fn xl_cache_on_a_base_with_learned_positions_is_refused_in_one_line_that_names_none_cache() {
    let base = base_dir(8);
    let device = libtorch_cpu();
    let gpt2 = load_base(base.path(), &device).unwrap().0;
    let error = RecurrentLm::new(gpt2, &insertion(Recurrence::XlCache), CONTEXT, &device).unwrap_err().to_string();
    assert!(error.contains("model.recurrence") && error.contains("none-cache") && !error.contains('\n'), "{error}");
}

#[test]
fn memory_tokens_that_do_not_fit_the_base_positions_are_refused_naming_the_key() {
    let base = base_dir(8);
    let device = libtorch_cpu();
    let gpt2 = load_base(base.path(), &device).unwrap().0;
    // 2 x 9 + 16 = 34 > the base's 32 positions.
    let config = InsertionConfig { memory_slots: 9, ..insertion(Recurrence::MemoryTokens) };
    let error = RecurrentLm::new(gpt2, &config, CONTEXT, &device).unwrap_err().to_string();
    assert!(error.contains("model.memory_slots") && error.contains("32 positions"), "{error}");
}

/// xl-cache carries what the previous window's own forward computed, which had itself read the
/// window before: with nothing trained and no sinks, the third window depends on the first
/// (through the second window's cached keys and values above the first layer), while none-cache,
/// which recomputes the previous window alone, forgets it.
#[test]
fn xl_cache_reaches_two_windows_back_through_depth_and_none_cache_one() {
    let device = libtorch_cpu();
    let llama = base_for(Recurrence::XlCache, Path::new("unused"), &device);
    let vocab = llama.vocab_size();
    let rest = random_ids_below(vocab, 1, 2 * CONTEXT + 1, &device);
    let (first_a, first_b) =
        (random_ids_below(vocab, 1, CONTEXT, &device), random_ids_below(vocab, 1, CONTEXT, &device));
    for (recurrence, reaches) in [(Recurrence::XlCache, true), (Recurrence::NoneCache, false)] {
        let config = InsertionConfig { attention_sinks: 0, ..insertion(recurrence) };
        let model = RecurrentLm::new(llama.clone(), &config, CONTEXT, &device).unwrap();
        let third = |first: &Tensor<2, Int>| {
            let ids = Tensor::cat(vec![first.clone(), rest.clone()], 1); // [1, 3 * CONTEXT + 1]
            let total = 3 * CONTEXT + 1;
            let nll = model.stream_nll(
                ids.clone().slice([0..1, 0..total - 1]),
                ids.slice([0..1, 1..total]),
                StateCarry::Carried,
            );
            nll.slice([0..1, 2 * CONTEXT..3 * CONTEXT])
        };
        let difference = max_abs_diff(third(&first_a), third(&first_b));
        assert_eq!(difference > 1e-5, reaches, "{recurrence:?}: window three moved by {difference}");
    }
}

/// What memory-tokens computes as initialised (gates closed): the frozen base over the read
/// vectors (the learned initial memory at positions 0..m) followed by the window (at m..m + seq);
/// the write positions after the window change nothing in it.
#[test]
fn memory_tokens_as_initialised_are_the_base_reading_the_initial_memory_before_the_window() {
    let device = libtorch_cpu();
    for base in bases(9, &device) {
        let family = base.family();
        let model = RecurrentLm::new(base.clone(), &insertion(Recurrence::MemoryTokens), CONTEXT, &device).unwrap();
        let Some(Connection::MemoryTokens(tokens)) = &model.connection else { panic!("{family}: no memory tokens") };
        let slots = tokens.slots();
        let Some(StreamState::MemoryTokens(initial)) = model.initial_state(2, &device) else {
            panic!("{family}: memory-tokens starts from its initial memory")
        };
        let ids = random_ids_below(base.vocab_size(), 2, CONTEXT, &device);
        let positions = position_ids(2, slots + CONTEXT, 0, &device);
        let x = Tensor::cat(
            vec![
                base.embed_vectors(initial, positions.clone().slice([0..2, 0..slots])),
                base.embed(ids.clone(), positions.clone().slice([0..2, slots..slots + CONTEXT])),
            ],
            1,
        );
        let context = base.context(positions, None, 0);
        let mut x = x;
        for layer in 0..base.n_layer() {
            x = base.block(layer, x, &context, &mut None);
        }
        let expected = base.final_norm(x).slice([0..2, slots..slots + CONTEXT, 0..base.d_model()]);
        let state = model.initial_state(2, &device);
        let pass = model.forward_window(ids, state.as_ref());
        let difference = max_abs_diff(pass.hidden, expected);
        assert!(difference < 1e-5, "{family}: {difference}");
        // The write becomes the next read, through a map that starts at zero added to the initial
        // memory: the next window first reads the initial memory again (never zero vectors, which
        // a Llama carries unchanged through every layer), not the write positions' states through
        // random weights.
        let Some(StreamState::MemoryTokens(initial)) = model.initial_state(2, &device) else { unreachable!() };
        match pass.next {
            Some(StreamState::MemoryTokens(next)) => {
                assert_eq!(max_abs_diff(next, initial), 0.0, "{family}: the first written memory is the initial one")
            }
            other => panic!("{family}: memory-tokens leaves memory tokens, not {other:?}"),
        }
    }
}

/// The stream's first positions stay in xl-cache's cache as attention sinks: after the second
/// window the sinks are the first window's first positions, and every later window keeps them.
#[test]
fn xl_cache_keeps_the_stream_s_first_positions_as_sinks() {
    let device = libtorch_cpu();
    let llama = base_for(Recurrence::XlCache, Path::new("unused"), &device);
    let sinks = 3;
    let config = InsertionConfig { attention_sinks: sinks, ..insertion(Recurrence::XlCache) };
    let model = open_gates(RecurrentLm::new(llama.clone(), &config, CONTEXT, &device).unwrap(), 0.5);
    let ids = random_ids_below(llama.vocab_size(), 2, 3 * CONTEXT + 1, &device);
    let cache_after = |windows: usize| {
        let end = windows * CONTEXT;
        let state = model
            .stream_loss_from(
                ids.clone().slice([0..2, 0..end]),
                ids.clone().slice([0..2, 1..end + 1]),
                StateCarry::Carried,
                None,
            )
            .state;
        match state {
            Some(StreamState::Cache(cache)) => cache,
            other => panic!("xl-cache leaves a cache, not {other:?}"),
        }
    };
    let (one, two, three) = (cache_after(1), cache_after(2), cache_after(3));
    // The first window holds its sinks itself; the next window reads it whole.
    assert!(one.sinks.is_none());
    assert_eq!((one.previous.len(), one.read_len()), (CONTEXT, CONTEXT));
    let kept = two.sinks.as_ref().expect("the second window keeps the first window's first positions");
    assert_eq!((kept.len(), two.read_len()), (sinks, sinks + CONTEXT));
    for (layer, (sink, first)) in kept.base.iter().zip(&one.previous.base).enumerate() {
        let [batch, heads, _, dim] = first.keys().dims();
        let head = |t: Tensor<4>| t.slice([0..batch, 0..heads, 0..sinks, 0..dim]);
        assert_eq!(max_abs_diff(sink.keys(), head(first.keys())), 0.0, "layer {layer}");
        assert_eq!(max_abs_diff(sink.values(), head(first.values())), 0.0, "layer {layer}");
    }
    let later = three.sinks.as_ref().unwrap();
    for (sink, kept) in later.base.iter().zip(&kept.base) {
        assert_eq!(max_abs_diff(sink.keys(), kept.keys()), 0.0);
    }
    // What the next window reads: the sinks at 0..sinks, the previous window moved after them.
    let read = three.read(llama.rotary_tables().unwrap());
    assert_eq!(read.len(), sinks + CONTEXT);
    assert_eq!(read.inserted[0].dims()[1], sinks + CONTEXT);
}

#[test]
fn state_diagnostics_see_no_state_through_closed_gates_and_a_changed_stream_through_open_ones() {
    let device = libtorch_cpu();
    let (gpt2, _) = load_gpt2(base_dir(11).path(), &device).unwrap();
    let base = PretrainedBase::Gpt2(gpt2);
    let ids: Vec<u32> = (0..4 * 5 * CONTEXT + 1).map(|index| ((index * 7 + index / 3) % VOCAB) as u32).collect();
    for recurrence in VARIANTS.into_iter().filter(|&r| r != Recurrence::XlCache) {
        device.seed(3);
        let model = RecurrentLm::new(base.clone(), &insertion(recurrence), CONTEXT, &device).unwrap();
        let closed = state_diagnostics(&model, &ids, 4, None, &device).unwrap();
        assert_eq!((closed.streams, closed.windows, closed.recurrence.as_str()), (4, 5, recurrence.name()));
        assert_eq!(closed.gates, vec![0.0; model.inserted.len()]);
        match recurrence {
            // Nothing carried, nothing to compare.
            Recurrence::None | Recurrence::TokenGru => {
                assert_eq!((closed.hidden_change, closed.state_cosine_successive), (None, None), "{recurrence:?}")
            }
            // A state read only through the inserted blocks changes nothing while they are closed;
            // memory tokens carry nothing while their map is at zero (every window reads the
            // initial memory), and the stream once it is opened (`open_gates` opens it).
            Recurrence::SegmentState | Recurrence::Memory | Recurrence::MemoryTokens => {
                assert_eq!(closed.hidden_change, Some(0.0), "{recurrence:?}");
                let open = state_diagnostics(&open_gates(model, 0.5), &ids, 4, None, &device).unwrap();
                assert!(open.hidden_change.unwrap() > 0.0, "{recurrence:?}: {open:?}");
                assert!(open.state_cosine_successive.is_some(), "{recurrence:?}");
            }
            // The base reads the cache with its own attention.
            _ => assert!(closed.hidden_change.unwrap() > 0.0, "{recurrence:?}: {closed:?}"),
        }
    }
}

#[test]
fn successive_and_other_stream_similarity_are_measured_on_centred_rows() {
    // Two streams whose rows keep their direction from window to window, opposite to each other
    // (after centring): successive windows alike (1), the other stream opposite (-1).
    let by_window: Vec<Vec<Vec<f64>>> = (0..4).map(|_| vec![vec![5.0, 1.0], vec![5.0, -1.0]]).collect();
    let (successive, other) = successive_and_other(&by_window);
    assert!((successive - 1.0).abs() < 1e-12 && (other + 1.0).abs() < 1e-12, "{successive} {other}");
    // Rows that alternate between two directions along a stream, the streams in step: successive
    // windows opposite, the other stream (the same) alike.
    let by_window: Vec<Vec<Vec<f64>>> =
        (0..4).map(|w| if w % 2 == 0 { vec![vec![1.0, 0.0]; 2] } else { vec![vec![-1.0, 0.0]; 2] }).collect();
    let (successive, other) = successive_and_other(&by_window);
    assert!((successive + 1.0).abs() < 1e-12 && (other - 1.0).abs() < 1e-12, "{successive} {other}");
}

#[test]
fn a_state_added_to_a_trained_control_starts_as_the_control_and_trains_alone_when_asked() {
    let base = base_dir(12);
    let device = libtorch_cpu();
    let load = |device: &Device| PretrainedBase::Gpt2(load_gpt2(base.path(), device).unwrap().0);
    let control_config = RecurrentGeneratorConfig {
        base: base.path().to_path_buf(),
        model: insertion(Recurrence::None),
        data: RecurrentDataConfig { context: CONTEXT, ..Default::default() },
        ..RecurrentGeneratorConfig::default()
    };
    device.seed(1);
    let control = open_gates(RecurrentLm::new(load(&device), &control_config.model, CONTEXT, &device).unwrap(), 0.4);
    let checkpoint = tempfile::tempdir().unwrap();
    save_checkpoint(&control, &control_config, checkpoint.path()).unwrap();

    for recurrence in [Recurrence::SegmentState, Recurrence::MemoryTokens] {
        let config = InsertionConfig {
            init_from: Some(checkpoint.path().to_path_buf()),
            train: TrainedParts::Connection,
            ..insertion(recurrence)
        };
        device.seed(2);
        let fresh = RecurrentLm::new(load(&device), &config, CONTEXT, &device).unwrap();
        let model = start_from_checkpoint(fresh, checkpoint.path(), base.path()).unwrap();
        for (index, (ours, theirs)) in model.inserted.iter().zip(&control.inserted).enumerate() {
            let weight = |block: &retrofit_recurrent_generator::InsertedBlock| block.block.ff_in.weight.val();
            assert_eq!(max_abs_diff(weight(ours), weight(theirs)), 0.0, "{recurrence:?}: block {index}");
            assert_eq!(max_abs_diff(ours.mult.val(), theirs.mult.val()), 0.0, "{recurrence:?}: gate {index}");
        }
        if recurrence == Recurrence::SegmentState {
            // A stream's first window reads the zero state, which adds nothing: the control's logits.
            let ids = random_ids(2, CONTEXT, &device);
            assert_eq!(max_abs_diff(model.logits(ids.clone()), control.logits(ids)), 0.0);
        }

        // Trained alone: the inserted blocks get no gradient, every parameter of the connection does.
        let autodiff = device.clone().autodiff();
        device.seed(2);
        let fresh = RecurrentLm::new(load(&autodiff), &config, CONTEXT, &autodiff).unwrap();
        // (open_gates also gives memory-tokens' map weights: from zero, no gradient reaches the write.)
        let model = open_gates(start_from_checkpoint(fresh, checkpoint.path(), base.path()).unwrap(), 0.4)
            .with_inserted_frozen();
        let grads = GradientsParams::from_grads(loss(&model, &autodiff).backward(), &model);
        for block in &model.inserted {
            assert_eq!(parameters_with_gradient(block, &grads).0, 0, "{recurrence:?}: a frozen block got a gradient");
        }
        let connection = model.connection.as_ref().unwrap();
        let (with, total) = parameters_with_gradient(connection, &grads);
        assert!(total > 0 && with == total, "{recurrence:?}: {with} of {total} connection parameters");
    }

    // Another number of inserted blocks, another base, or a parameter-free connection: refused.
    let more = InsertionConfig { inserted_blocks: 3, ..insertion(Recurrence::SegmentState) };
    let model = RecurrentLm::new(load(&device), &more, CONTEXT, &device).unwrap();
    let error = start_from_checkpoint(model, checkpoint.path(), base.path()).unwrap_err().to_string();
    assert!(error.contains("model.init_from") && !error.contains('\n'), "{error}");
    let other = base_dir(13);
    let model = RecurrentLm::new(load(&device), &insertion(Recurrence::SegmentState), CONTEXT, &device).unwrap();
    match start_from_checkpoint(model, checkpoint.path(), other.path()) {
        Err(RecurrentError::WrongBase { .. }) => {}
        other => panic!("another base must be refused, got {:?}", other.map(|_| ())),
    }
    let cache = InsertionConfig { train: TrainedParts::Connection, ..insertion(Recurrence::NoneCache) };
    let error = RecurrentLm::new(load(&device), &cache, CONTEXT, &device).unwrap_err().to_string();
    assert!(error.contains("model.train") && error.contains("none-cache"), "{error}");
}

#[test]
fn state_diagnostics_refuse_one_stream_and_a_text_too_short_in_one_line() {
    let device = libtorch_cpu();
    let (gpt2, _) = load_gpt2(base_dir(14).path(), &device).unwrap();
    let model =
        RecurrentLm::new(PretrainedBase::Gpt2(gpt2), &insertion(Recurrence::SegmentState), CONTEXT, &device).unwrap();
    let ids: Vec<u32> = (0..4 * 5 * CONTEXT + 1).map(|index| (index % VOCAB) as u32).collect();
    for (streams, text) in [(1, &ids[..]), (4, &ids[..4 * 2 * CONTEXT + 1])] {
        match state_diagnostics(&model, text, streams, None, &device) {
            Err(RecurrentError::Usage(line)) => assert!(!line.contains('\n'), "{line}"),
            other => panic!("{streams} streams over {} tokens must be refused, got {other:?}", text.len()),
        }
    }
}
