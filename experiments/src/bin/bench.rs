//! Benchmark workloads identical to `scripts/bench_reference.py`, on the libtorch CPU device.

use std::process::ExitCode;

use burn::module::Module;
use burn::tensor::Device;
use clap::Parser;
use retrofit_attention_classifier::AttentionClassifierModelConfig;
use std::time::Instant;

use retrofit_core::attention::{AttentionKernel, set_attention_kernel};
use retrofit_core::base::{BasePrecision, PretrainedBase};
use retrofit_core::classification::{Classification, SequenceClassifier};
use retrofit_core::decoder::Decoder;
use retrofit_core::generation::GenerationConfig;
use retrofit_core::gpt2::Gpt2Config;
use retrofit_core::language_model::{LanguageModeling, ValidStateParts};
use retrofit_core::llama::LlamaConfig;
use retrofit_data::classification_batch::ClassificationBatch;
use retrofit_data::lm_batch::LmBatch;
use retrofit_data::streams::StreamStep;
use retrofit_experiments::bench::{Stage6Shape, StepSplit, TrainingTimes, median, random_ids, time_training};
use retrofit_experiments::run_main;
use retrofit_generator::GeneratorModelConfig;
use retrofit_recurrent_generator::{InsertionConfig, Recurrence, RecurrentLanguageModeling, RecurrentLm};
use retrofit_runtime::device::{DeviceChoice, set_cpu_threads};
use retrofit_transformer_classifier::TransformerClassifierModelConfig;

/// The workloads of `scripts/bench_reference.py` that this binary runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Workload {
    AttentionClassifier,
    TransformerClassifier,
    Generator,
    Gpt2Iblocks,
    Gpt2IblocksGru,
    /// One warm-up generation; --steps timed.
    Gpt2Generate,
    /// 4 x 256 tokens on a SmolLM2-135M-shaped Llama base (random weights), 3+1 inserted blocks.
    LlamaIblocks,
    LlamaIblocksGru,
    /// 128 greedy tokens after 32 on the SmolLM2-135M shape; one warm-up generation.
    LlamaGenerate,
}

impl Workload {
    fn name(self) -> String {
        clap::ValueEnum::to_possible_value(&self).map(|value| value.get_name().to_string()).unwrap_or_default()
    }

    fn is_generation(self) -> bool {
        matches!(self, Self::Gpt2Generate | Self::LlamaGenerate)
    }
}

/// The attention implementations the bench compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum BenchAttention {
    Fused,
    Unfused,
}

/// Run one benchmark workload and print `BENCH <workload> backend=burn-tch ...` last.
#[derive(Debug, Parser)]
#[command(name = "bench")]
struct Cli {
    #[arg(long, value_enum)]
    workload: Workload,
    /// Timed steps (default 5; gpt2-generate: 3 generations).
    #[arg(long)]
    steps: Option<usize>,
    /// Untimed warm-up steps.
    #[arg(long, default_value_t = 2)]
    warmup: usize,
    /// libtorch CPU threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Attention implementation: libtorch's fused kernels or burn's ops, to compare.
    #[arg(long, value_enum, default_value = "fused")]
    attention: BenchAttention,
    /// The inserted-blocks workloads: the frozen base in bf16 (`[model] base_precision`).
    #[arg(long)]
    bf16_base: bool,
    /// Where to run: cpu (the race's setting), cuda or cuda:N (`scripts/gpu-check.sh`).
    #[arg(long, default_value = "cpu")]
    device: DeviceChoice,
    /// The inserted-blocks workloads: tokens a window (default 256, the reference's).
    #[arg(long)]
    context: Option<usize>,
    /// The inserted-blocks workloads: windows a step (default 2 for GPT-2, 4 for Llama, the reference's).
    #[arg(long)]
    batch: Option<usize>,
}

/// Workloads 1 and 2: a classifier's training task (stages 2 and 4) on one random batch of
/// 32 x 512 ids in [0, 50000), nothing padded, labels in {0, 1}. Returns the timings and the
/// tokens per step.
fn classifier_workload<M: SequenceClassifier>(classifier: M, cli: &Cli, steps: usize) -> (TrainingTimes, usize) {
    let (batch, seq) = (32, 512);
    let device = classifier.devices()[0].clone();
    println!("INFO parameters {}", Module::num_params(&classifier));
    let tokens = random_ids([batch, seq], 50_000, &device);
    // Rows of one length: no padding, so no mask (what the batcher gives such a batch; the
    // reference passes none either).
    let batch_of = ClassificationBatch { tokens, padding_mask: None, labels: random_ids([batch], 2, &device) };
    (time_training(Classification { classifier }, batch_of, cli.warmup, steps), batch * seq)
}

/// One random batch of `batch` windows of `context` next-token targets in `[0, vocab)`, each row
/// its own window.
fn lm_batch(batch: usize, context: usize, vocab: usize, device: &Device) -> LmBatch {
    let window = random_ids([batch, context + 1], vocab, device);
    LmBatch {
        inputs: window.clone().slice([0..batch, 0..context]),
        targets: window.slice([0..batch, 1..context + 1]),
        target_bytes: batch * context,
        stream: StreamStep::Independent,
    }
}

fn main() -> ExitCode {
    run_main(|| {
        let cli = Cli::parse();
        let steps = cli.steps.unwrap_or(if cli.workload.is_generation() { 3 } else { 5 });
        set_attention_kernel(match cli.attention {
            BenchAttention::Fused => AttentionKernel::Fused,
            BenchAttention::Unfused => AttentionKernel::Unfused,
        });
        let threads =
            set_cpu_threads(cli.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())));
        let resolved = cli.device.resolve()?;
        println!("INFO device {}", resolved.name);
        let device = resolved.device.clone().autodiff();
        device.seed(0);
        let seq = 512;
        let (times, tokens_per_step) = match cli.workload {
            Workload::AttentionClassifier => {
                let model = AttentionClassifierModelConfig::default().init(50_000, seq, &device)?;
                classifier_workload(model, &cli, steps)
            }
            Workload::TransformerClassifier => {
                let model = TransformerClassifierModelConfig::default().init(50_000, seq, &device)?;
                classifier_workload(model, &cli, steps)
            }
            Workload::Generator => {
                // former's GTransformer on bytes: 12 causal blocks of 256, 32 windows of 256.
                let (batch, context) = (32, 256);
                let lm = GeneratorModelConfig::default().init(256, context, &device)?;
                println!("INFO parameters {}", lm.num_params());
                let task = LanguageModeling { lm };
                (time_training(task, lm_batch(batch, context, 256, &device), cli.warmup, steps), batch * context)
            }
            Workload::Gpt2Iblocks | Workload::Gpt2IblocksGru | Workload::LlamaIblocks | Workload::LlamaIblocksGru => {
                // A frozen base (random weights) with 3+1 inserted blocks of 8 heads and a logit
                // bias: DistilGPT-2's shape with 2 windows of 256 tokens, or SmolLM2-135M's with 4.
                let (base, default_batch) = match cli.workload {
                    Workload::Gpt2Iblocks | Workload::Gpt2IblocksGru => {
                        (PretrainedBase::Gpt2(Gpt2Config::distilgpt2().init(&device)), 2)
                    }
                    _ => (PretrainedBase::Llama(LlamaConfig::smollm2_135m().init(&device)), 4),
                };
                let (batch, context) = (cli.batch.unwrap_or(default_batch), cli.context.unwrap_or(256));
                let vocab = base.vocab_size();
                let recurrence = match cli.workload {
                    Workload::Gpt2IblocksGru | Workload::LlamaIblocksGru => Recurrence::TokenGru,
                    _ => Recurrence::None,
                };
                let insertion = InsertionConfig {
                    inserted_blocks: 3,
                    heads: 8,
                    ff_mult: 4,
                    recurrence,
                    base_precision: if cli.bf16_base { BasePrecision::Bfloat16 } else { BasePrecision::Float32 },
                    ..InsertionConfig::default()
                };
                let model = RecurrentLm::new(base.clone(), &insertion, context, &device)?;
                let parameters = retrofit_core::training::count_parameters(&model);
                println!("INFO parameters total {} trainable {}", parameters.total, parameters.trainable);
                let shape = Stage6Shape {
                    tokens: batch * context,
                    attended: context,
                    d_model: base.d_model(),
                    base_parameters: base.num_params(),
                    base_layers: base.n_layer(),
                    trainable_parameters: parameters.trainable as usize,
                    inserted_blocks: model.inserted.len(),
                };
                println!("INFO model_flops_per_step={:.6e} (batch {batch}, context {context})", shape.model_flops());
                let windows = lm_batch(batch, context, vocab, &device);
                let inputs = windows.inputs.clone();
                let init_diff =
                    model.logits(inputs.clone()).sub(base.forward(inputs.clone())).abs().max().into_scalar::<f32>();
                println!("INFO max |logits - base logits| at init = {init_diff}");
                // In bf16 the base's own float32 logits differ by its rounding.
                anyhow::ensure!(
                    cli.bf16_base || init_diff == 0.0,
                    "at initialisation the logits must equal the base's"
                );
                let task = RecurrentLanguageModeling::new(model, ValidStateParts::Reset);
                (time_training(task, windows, cli.warmup, steps), batch * context)
            }
            Workload::Gpt2Generate | Workload::LlamaGenerate => {
                // DistilGPT-2's or SmolLM2-135M's shape, random weights; greedy, KV cache, 128 new
                // tokens after 32.
                let device = resolved.device.clone();
                let model = match cli.workload {
                    Workload::Gpt2Generate => PretrainedBase::Gpt2(Gpt2Config::distilgpt2().init(&device)),
                    _ => PretrainedBase::Llama(LlamaConfig::smollm2_135m().init(&device)),
                };
                println!("INFO parameters {}", model.num_params());
                let vocab = model.vocab_size();
                let prompt: Vec<u32> = random_ids([32], vocab, &device)
                    .try_into_vec_as::<i64>()?
                    .into_iter()
                    .map(|id| id as u32)
                    .collect();
                let config = GenerationConfig { max_new_tokens: 128, ..GenerationConfig::default() };
                let mut times = Vec::new();
                // One untimed warm-up generation, as the reference.
                let first = model.generate(std::slice::from_ref(&prompt), &config, &device)?;
                for _ in 0..steps {
                    let start = Instant::now();
                    let again = model.generate(std::slice::from_ref(&prompt), &config, &device)?;
                    times.push(start.elapsed().as_secs_f64());
                    anyhow::ensure!(again == first, "greedy generation is not deterministic");
                }
                (TrainingTimes { step_s: times, ..TrainingTimes::default() }, 128)
            }
        };
        println!("INFO losses {:?}", times.losses);
        println!("INFO step times {:?}", times.step_s);
        if let Some(split) = StepSplit::median_of(&times.splits) {
            println!("{}", split.line());
        }
        let median_s = median(&times.step_s);
        if let Some(bytes) = retrofit_runtime::gpu_memory::peak_gpu_memory_bytes() {
            println!("INFO peak_gpu_memory_bytes={bytes}");
        }
        let unit = if cli.workload.is_generation() { "generated_tokens/s" } else { "tokens/s" };
        println!(
            "BENCH {} backend=burn-tch threads={threads} median_step_s={median_s:.4} throughput={:.1} {unit}",
            cli.workload.name(),
            tokens_per_step as f64 / median_s
        );
        Ok(())
    })
}
