//! Invariants of the generator: causality, bits-per-byte arithmetic, the export reloads with
//! identical logits, and a smoke run learns.

use retrofit_test_support::max_abs_diff;
use std::path::Path;

use burn::data::dataloader::batcher::Batcher;
use burn::module::Module;
use burn::tensor::{Int, Tensor, TensorData};
use retrofit_core::decoder::Decoder;
use retrofit_core::generation::SamplingConfig;
use retrofit_core::gpt2::load_gpt2;
use retrofit_core::language_model::{CausalLm, LanguageModeling, load_lm_data};
use retrofit_core::training::{BitsPerByteInput, TaskModel, bits_per_byte};
use retrofit_data::lm_batch::LmBatcher;
use retrofit_generator::{
    Generator, GeneratorConfig, GeneratorModelConfig, MODEL_DIR, SAMPLE_FILE, continue_ids,
    generator_end_of_sequence_ids, load_generator, run, save_generator,
};
use retrofit_runtime::config::load_config;
use retrofit_runtime::device::{DeviceChoice, libtorch_cpu};
use retrofit_runtime::run_dir::RunDir;

fn ids(values: &[i64]) -> Tensor<2, Int> {
    Tensor::from_data(TensorData::new(values.to_vec(), [1, values.len()]), &libtorch_cpu())
}

fn architectures() -> [GeneratorModelConfig; 3] {
    [
        GeneratorModelConfig::Former { d_model: 32, heads: 4, depth: 2, ff_mult: 4 },
        GeneratorModelConfig::Gpt2 { n_embd: 32, n_layer: 2, n_head: 4 },
        GeneratorModelConfig::Llama {
            hidden_size: 32,
            n_layer: 2,
            n_head: 4,
            n_kv_head: 2,
            intermediate_size: 64,
            rope_theta: 10_000.0,
            max_positions: None,
        },
    ]
}

#[test]
fn changing_a_future_byte_never_changes_earlier_logits() {
    for architecture in architectures() {
        let model = architecture.init(256, 16, &libtorch_cpu()).unwrap();
        let original = model.logits(ids(&[65, 108, 105, 99, 101, 32, 119, 97]));
        let changed = model.logits(ids(&[65, 108, 105, 99, 101, 200, 3, 250]));
        let [_, seq, vocab] = original.dims();
        let before = |logits: Tensor<3>| logits.slice([0..1, 0..5, 0..vocab]);
        assert!(max_abs_diff(before(original.clone()), before(changed.clone())) < 1e-6, "{architecture:?}");
        let after = |logits: Tensor<3>| logits.slice([0..1, 5..seq, 0..vocab]);
        assert!(max_abs_diff(after(original), after(changed)) > 1e-4, "{architecture:?}: later logits must react");
    }
}

/// Predicts the uniform distribution, whatever the input.
#[derive(Module, Debug)]
struct Uniform {
    vocab: usize,
}

impl CausalLm for Uniform {
    fn logits(&self, inputs: Tensor<2, Int>) -> Tensor<3> {
        let [batch, seq] = inputs.dims();
        Tensor::zeros([batch, seq, self.vocab], &inputs.device())
    }
}

#[test]
fn bits_per_byte_is_the_summed_nll_over_ln2_times_the_bytes() {
    // A vocabulary of 4 whose tokens stand for 1, 2, 3 and 0 bytes; two windows of 3 targets.
    let batcher = LmBatcher::new(vec![1, 2, 3, 0]);
    let batch = batcher.batch(vec![vec![0, 1, 2, 3], vec![3, 2, 2, 1]], &libtorch_cpu());
    // Targets [1, 2, 3] and [2, 2, 1]: 2 + 3 + 0 + 3 + 3 + 2 = 13 bytes.
    assert_eq!(batch.target_bytes, 13);
    let (loss, output) = LanguageModeling { lm: Uniform { vocab: 4 } }.forward_task(batch);
    // Every target costs ln 4 nats: 6 ln 4 = 12 ln 2 nats over 13 bytes = 12/13 bits per byte.
    assert!((loss.into_scalar::<f32>() - 4f32.ln()).abs() < 1e-6);
    let input: BitsPerByteInput = burn::train::metric::Adaptor::adapt(&output);
    let bpb = bits_per_byte(input.nll_sum.into_scalar::<f64>(), input.bytes);
    assert!((bpb - 12.0 / 13.0).abs() < 1e-6, "{bpb}");
    // Bytes: a uniform prediction over 256 values costs exactly 8 bits per byte.
    let bytes = LmBatcher::default().batch(vec![vec![1, 2, 3, 4, 5]], &libtorch_cpu());
    let (_, output) = LanguageModeling { lm: Uniform { vocab: 256 } }.forward_task(bytes);
    let input: BitsPerByteInput = burn::train::metric::Adaptor::adapt(&output);
    assert!((bits_per_byte(input.nll_sum.into_scalar::<f64>(), input.bytes) - 8.0).abs() < 1e-5);
}

#[test]
fn a_saved_model_reloads_with_identical_logits_and_the_exports_are_hugging_face_directories() {
    let device = libtorch_cpu();
    for architecture in architectures() {
        let config = GeneratorConfig { model: architecture.clone(), ..GeneratorConfig::default() };
        let model = architecture.init(256, config.data.context, &device).unwrap();
        let run = tempfile::tempdir().unwrap();
        std::fs::write(run.path().join("config.toml"), toml::to_string(&config).unwrap()).unwrap();
        save_generator(&model, &config, 256, &run.path().join(MODEL_DIR)).unwrap();
        let (reloaded, _, tokenizer) = load_generator(run.path(), &device).unwrap();
        assert_eq!(tokenizer.vocab_size(), 256);
        let input = ids(&[72, 101, 108, 108, 111]);
        assert_eq!(max_abs_diff(model.logits(input.clone()), reloaded.logits(input.clone())), 0.0, "{architecture:?}");
        if let Generator::Gpt2(gpt2) = &model {
            // The export is what the recurrent stage loads as its base.
            let (base, base_config) = load_gpt2(&run.path().join(MODEL_DIR), &device).unwrap();
            assert_eq!(
                (base_config.vocab_size, base_config.n_layer, base_config.n_positions),
                (256, 2, config.data.context)
            );
            assert_eq!(max_abs_diff(gpt2.forward(input.clone()), base.forward(input)), 0.0);
        } else if let Generator::Llama(llama) = &model {
            // A rotary base for the recurrent stage (xl-cache), loaded as any Llama directory.
            let (base, _) = retrofit_core::base::load_base(&run.path().join(MODEL_DIR), &device).unwrap();
            assert_eq!(base.family(), retrofit_core::base::BaseFamily::Llama);
            assert_eq!((base.vocab_size(), base.n_layer(), base.max_positions()), (256, 2, config.data.context));
            assert_eq!(max_abs_diff(llama.forward(input.clone()), base.forward(input)), 0.0);
        }
    }
}

#[test]
fn greedy_continuation_takes_the_argmax_of_recomputed_logits() {
    let device = libtorch_cpu();
    for architecture in architectures() {
        let model = architecture.init(256, 16, &device).unwrap();
        let prompt = [10u32, 20, 30];
        let greedy = continue_ids(&model, &prompt, 5, SamplingConfig::default(), &[], &device).unwrap();
        let mut sequence: Vec<i64> = prompt.iter().map(|&id| i64::from(id)).collect();
        for &token in &greedy {
            let logits = model.logits(ids(&sequence));
            let [_, seq, vocab] = logits.dims();
            let argmax = logits.slice([0..1, seq - 1..seq, 0..vocab]).argmax(2).into_scalar::<i64>();
            assert_eq!(i64::from(token), argmax, "{architecture:?}");
            sequence.push(argmax);
        }
    }
}

/// The index of the last token of `tokens` that occurs there for the first time: a stop id
/// there ends greedy decoding at that index and nowhere before.
fn last_first_occurrence(tokens: &[u32]) -> usize {
    (0..tokens.len()).rev().find(|&index| !tokens[..index].contains(&tokens[index])).unwrap()
}

#[test]
fn continuation_stops_at_the_first_end_of_sequence_id_and_keeps_it_last() {
    let device = libtorch_cpu();
    for architecture in architectures() {
        // Context 16: the gpt2 architecture decodes with its cache (3 + 10 tokens fit), former
        // recomputes every window.
        let model = architecture.init(256, 16, &device).unwrap();
        let prompt = [10u32, 20, 30];
        let greedy = continue_ids(&model, &prompt, 10, SamplingConfig::default(), &[], &device).unwrap();
        assert_eq!(greedy.len(), 10, "{architecture:?}");
        let end = last_first_occurrence(&greedy);
        let stopped = continue_ids(&model, &prompt, 10, SamplingConfig::default(), &[greedy[end]], &device).unwrap();
        assert_eq!(stopped, greedy[..=end], "{architecture:?}");
    }
}

#[test]
fn a_gpt2_export_names_the_end_of_text_of_gpt2_bpe_and_none_for_bytes() {
    use retrofit_data::tokenizer::TokenizerConfig;
    let device = libtorch_cpu();
    let gpt2_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/gpt2");
    for (tokenizer, vocab, expected) in
        [(TokenizerConfig::Bytes, 256, vec![]), (TokenizerConfig::Gpt2 { dir: gpt2_dir }, 50_257, vec![50_256])]
    {
        let architecture = GeneratorModelConfig::Gpt2 { n_embd: 8, n_layer: 1, n_head: 2 };
        let mut config = GeneratorConfig { model: architecture.clone(), ..GeneratorConfig::default() };
        config.data.tokenizer = tokenizer;
        let model = architecture.init(vocab, config.data.context, &device).unwrap();
        let run = tempfile::tempdir().unwrap();
        std::fs::write(run.path().join("config.toml"), toml::to_string(&config).unwrap()).unwrap();
        save_generator(&model, &config, vocab, &run.path().join(MODEL_DIR)).unwrap();
        let (model, _, tokenizer) = load_generator(run.path(), &device).unwrap();
        assert_eq!(generator_end_of_sequence_ids(run.path(), &model, &tokenizer).unwrap(), expected);
        assert_eq!(tokenizer.end_of_text_id(), expected.first().copied());
    }
}

#[test]
fn a_smoke_run_lowers_validation_bits_per_byte_and_writes_a_sample() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut config: GeneratorConfig = load_config(Some(&root.join("configs/smoke/generator.toml")), &[]).unwrap();
    config.data.source = config.data.source.relative_to(&root);
    config.training.epochs = 1;

    // Validation bits per byte of the untrained model (same seed, so the same initial weights).
    let data = load_lm_data(&config.data, &config.training).unwrap();
    let device = libtorch_cpu();
    device.seed(config.training.seed);
    let untrained = LanguageModeling {
        lm: config
            .model
            .init(data.corpus.tokenizer.vocab_size(), config.data.context, &device.clone().autodiff())
            .unwrap(),
    };
    let (mut nll, mut bytes) = (0.0, 0);
    for batch in data.valid.iter() {
        let batch = batch.unwrap();
        let (_, output) = untrained.forward_task(batch);
        let input: BitsPerByteInput = burn::train::metric::Adaptor::adapt(&output);
        nll += input.nll_sum.into_scalar::<f64>();
        bytes += input.bytes;
    }
    let before = bits_per_byte(nll, bytes);

    let results = tempfile::tempdir().unwrap();
    let run_dir = RunDir::create(results.path(), "generator", "smoke").unwrap();
    let summary = run(&config, &run_dir, &DeviceChoice::Cpu.resolve().unwrap()).unwrap();
    let after = summary.final_metrics["valid_bits_per_byte"];
    assert!(after < before - 1.0, "validation bits per byte {before} -> {after}");
    assert!((summary.final_metrics["valid_perplexity"] - summary.final_metrics["valid_loss"].exp()).abs() < 1e-9);
    assert!(summary.final_metrics["train_grad_norm"] > 0.0);
    let sample = std::fs::read_to_string(run_dir.path().join(SAMPLE_FILE)).unwrap();
    assert!(sample.starts_with(&config.sample.prompt) && sample.len() > config.sample.prompt.len());
}
