//! A trained generator on disk: `<run>/model/`. The `gpt2` and `llama` architectures are written
//! as Hugging Face directories (usable as the recurrent generator's base); `former` as
//! `model.safetensors` rebuilt from the run's `config.toml`.

use std::path::Path;

use burn::store::{ModuleSnapshot, SafetensorsStore};
use burn::tensor::Device;
use retrofit_core::gpt2::{export_gpt2, load_gpt2, load_tokenizer};
use retrofit_core::hf_checkpoint::end_of_sequence_ids;
use retrofit_core::llama::{export_llama, load_llama};
use retrofit_data::tokenizer::TextTokenizer;
use retrofit_runtime::config::load_config;

use crate::config::GeneratorConfig;
use crate::error::GeneratorError;
use crate::model::Generator;

/// The model directory inside a run directory.
pub const MODEL_DIR: &str = "model";

/// Writes `model` into `dir`.
pub fn save_generator(
    model: &Generator,
    config: &GeneratorConfig,
    vocab_size: usize,
    dir: &Path,
) -> Result<(), GeneratorError> {
    match model {
        Generator::Gpt2(gpt2) => {
            let gpt2_config = config.model.gpt2_config(vocab_size, config.data.context).expect("gpt2 architecture");
            export_gpt2(gpt2, &gpt2_config, &config.data.tokenizer, dir)?;
        }
        Generator::Llama(llama) => {
            let llama_config = config.model.llama_config(vocab_size, config.data.context).expect("llama architecture");
            export_llama(llama, &llama_config, &config.data.tokenizer, dir)?;
        }
        Generator::Former(_) => {
            std::fs::create_dir_all(dir)
                .map_err(|error| GeneratorError::Weights { path: dir.to_path_buf(), message: error.to_string() })?;
            let path = dir.join("model.safetensors");
            let mut store = SafetensorsStore::from_file(path.clone()).overwrite(true);
            model
                .save_into(&mut store)
                .map_err(|error| GeneratorError::Weights { path, message: error.to_string() })?;
        }
    }
    Ok(())
}

/// A trained generator, its config and tokenizer, from a run directory.
pub fn load_generator(
    run: &Path,
    device: &Device,
) -> Result<(Generator, GeneratorConfig, TextTokenizer), GeneratorError> {
    let config_path = run.join("config.toml");
    let dir = run.join(MODEL_DIR);
    if !config_path.is_file() || !dir.is_dir() {
        return Err(GeneratorError::NotARun(run.to_path_buf()));
    }
    let config: GeneratorConfig = load_config(Some(&config_path), &[])?;
    if config.model.gpt2_config(1, 1).is_some() {
        let (model, gpt2_config) = load_gpt2(&dir, device)?;
        let tokenizer = load_tokenizer(&dir, &gpt2_config)?;
        return Ok((Generator::Gpt2(model), config, tokenizer));
    }
    if config.model.llama_config(1, 1).is_some() {
        let (model, llama_config) = load_llama(&dir, device)?;
        let tokenizer = retrofit_core::llama::load_tokenizer(&dir, llama_config.vocab_size)?;
        return Ok((Generator::Llama(model), config, tokenizer));
    }
    let tokenizer = TextTokenizer::from_config(&config.data.tokenizer, std::iter::empty())?;
    let mut model = config.model.init(tokenizer.vocab_size(), config.data.context, device)?;
    let path = dir.join("model.safetensors");
    let mut store = SafetensorsStore::from_file(path.clone());
    let result = model
        .load_from(&mut store)
        .map_err(|error| GeneratorError::Weights { path: path.clone(), message: error.to_string() })?;
    if let Some((missing, _)) = result.missing.first() {
        return Err(GeneratorError::Weights {
            path,
            message: format!("no tensor for `{missing}`: the weights do not belong to config.toml"),
        });
    }
    if !result.errors.is_empty() {
        return Err(GeneratorError::Weights { path, message: format!("{:?}", result.errors[0]).replace('\n', " ") });
    }
    Ok((model, config, tokenizer))
}

/// The end-of-sequence ids of a trained generator in `run`: for `gpt2`, those its `model/`
/// directory names (`generation_config.json`, else `config.json`; the export writes GPT-2 BPE's
/// `<|endoftext|>`, none for bytes); for `former`, the tokenizer's end-of-text token, if any.
pub fn generator_end_of_sequence_ids(
    run: &Path,
    model: &Generator,
    tokenizer: &TextTokenizer,
) -> Result<Vec<u32>, GeneratorError> {
    Ok(match model {
        Generator::Gpt2(_) | Generator::Llama(_) => end_of_sequence_ids(&run.join(MODEL_DIR))?,
        Generator::Former(_) => tokenizer.end_of_text_id().into_iter().collect(),
    })
}
