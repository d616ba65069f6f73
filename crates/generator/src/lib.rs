//! Stage 5, the generator: a causal language model trained from scratch on bytes (or GPT-2 BPE),
//! as former's GTransformer or as GPT-2 (exported as a Hugging Face directory), with bits per
//! byte and sampling.

mod config;
mod error;
mod former;
mod model;
mod sample;
mod saved;

pub use config::{GeneratorConfig, GeneratorModelConfig, SampleConfig};
pub use error::GeneratorError;
pub use former::FormerLm;
pub use model::Generator;
pub use sample::{continue_ids, sample_text};
pub use saved::{MODEL_DIR, generator_end_of_sequence_ids, load_generator, save_generator};

use retrofit_core::language_model::{LanguageModeling, ValidStateParts, load_lm_data, train_language_model};
use retrofit_runtime::device::ResolvedDevice;
use retrofit_runtime::run_dir::RunDir;
use retrofit_runtime::summary::RunSummary;

/// The stage's name: its results go to `results/generator/`.
pub const STAGE: &str = "generator";

/// The file of a run's sample.
pub const SAMPLE_FILE: &str = "sample.txt";

/// Trains the configured generator on random windows, validates on contiguous ones, saves the
/// model into `<run>/model/` and writes a sample (`[sample]`) into `<run>/sample.txt`.
pub fn run(config: &GeneratorConfig, run_dir: &RunDir, device: &ResolvedDevice) -> Result<RunSummary, GeneratorError> {
    let data = load_lm_data(&config.data, &config.training)?;
    let vocab_size = data.corpus.tokenizer.vocab_size();
    device.device.seed(config.training.seed);
    let model = config.model.init(vocab_size, config.data.context, &device.device.clone().autodiff())?;
    let task = LanguageModeling { lm: model };
    let (summary, task) =
        train_language_model(run_dir, device, &data, &config.training, config, task, ValidStateParts::None)?;
    let model = task.lm;
    save_generator(&model, config, vocab_size, &run_dir.path().join(MODEL_DIR))?;
    if config.sample.tokens > 0 {
        let sample = &config.sample;
        let text = sample_text(
            &model,
            &data.corpus.tokenizer,
            &sample.prompt,
            sample.tokens,
            sample.sampling,
            &device.device,
        )?;
        run_dir.write_text(SAMPLE_FILE, &text)?;
    }
    Ok(summary)
}
