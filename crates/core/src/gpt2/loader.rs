//! Loading a Hugging Face GPT-2-family directory (`config.json`, `model.safetensors`, tokenizer
//! files) through burn's `SafetensorsStore`.

use std::path::{Path, PathBuf};

use burn::module::{Module, Param};
use burn::store::{ModuleSnapshot, SafetensorsStore};
use burn::tensor::{Device, Tensor};
use retrofit_data::DataError;
use retrofit_data::tokenizer::{TextTokenizer, TokenizerConfig, default_gpt2_dir};

use super::config::Gpt2Config;
use super::export::TOKENIZER_FILE;
use super::model::Gpt2;

/// Errors of loading or using a GPT-2 checkpoint; each displays as one line.
#[derive(Debug, thiserror::Error)]
pub enum Gpt2Error {
    #[error("{path} is missing: a GPT-2 model directory needs config.json and model.safetensors ({cause})")]
    Missing { path: PathBuf, cause: std::io::Error },
    #[error("{path} is not a GPT-2 config: {message}")]
    Config { path: PathBuf, message: String },
    #[error("GPT-2 config: {0}")]
    Invalid(String),
    #[error("cannot read weights {path}: {message}")]
    Weights { path: PathBuf, message: String },
    #[error("weights {path} do not match config.json: {message}")]
    Mismatch { path: PathBuf, message: String },
    #[error(
        "tokenizer vocabulary ({tokenizer}) differs from the model's vocab_size ({model}): use the tokenizer that belongs to the model"
    )]
    TokenizerMismatch { tokenizer: usize, model: usize },
    #[error(
        "{tokens} tokens ({prompt} of prompt + {new} to generate) do not fit the model's {positions} positions: shorten the prompt or generate fewer tokens"
    )]
    TooLong { tokens: usize, prompt: usize, new: usize, positions: usize },
    #[error(
        "{path} holds an lm_head.weight that differs from the token embedding wte (max |difference| {difference}): GPT-2 ties its head to wte, so an untied head cannot be loaded as GPT-2"
    )]
    UntiedHead { path: PathBuf, difference: f32 },
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Data(#[from] DataError),
}

/// HF key → our module path. Applied in order to every key of the file.
///
/// | HF key                          | module path          | why                                |
/// |---------------------------------|----------------------|------------------------------------|
/// | `transformer.X`                 | `X`                  | `GPT2LMHeadModel` nests the model  |
/// | `….ln_1.weight` / `.bias`       | `….ln_1.gamma/.beta` | burn's LayerNorm names (same for `ln_2`, `ln_f`) |
/// | `….c_attn.weight` (Conv1D)      | unchanged            | Conv1D is stored `[in, out]`, as burn's Linear: no transpose |
const KEY_REMAPPING: [(&str, &str); 3] =
    [(r"^transformer\.", ""), (r"(ln_1|ln_2|ln_f)\.weight$", "$1.gamma"), (r"(ln_1|ln_2|ln_f)\.bias$", "$1.beta")];

/// File keys that are not parameters: the tied head (it is `wte`) and the causal-mask buffers
/// that older checkpoints store.
fn is_ignored_key(key: &str) -> bool {
    key == "lm_head.weight" || key.ends_with(".attn.bias") || key.ends_with(".attn.masked_bias")
}

/// Loads `dir/config.json` and `dir/model.safetensors` onto `device`. Any missing or unexpected
/// key, or a shape that does not match the config, is an error naming the key.
pub fn load_gpt2(dir: &Path, device: &Device) -> Result<(Gpt2, Gpt2Config), Gpt2Error> {
    let config = Gpt2Config::from_dir(dir)?;
    let weights = dir.join("model.safetensors");
    if !weights.is_file() {
        let hint = if dir.join("pytorch_model.bin").is_file() {
            "only pytorch_model.bin found: save the model with safetensors (transformers' save_pretrained does by default)"
        } else {
            "no such file"
        };
        return Err(Gpt2Error::Missing { path: weights, cause: std::io::Error::other(hint) });
    }
    let mut store = SafetensorsStore::from_file(weights.clone()).allow_partial(true).validate(false);
    for (from, to) in KEY_REMAPPING {
        store = store.with_key_remapping(from, to);
    }
    let mut model = config.init(device);
    let result = model
        .load_from(&mut store)
        .map_err(|error| Gpt2Error::Weights { path: weights.clone(), message: error.to_string() })?;
    let mismatch = |message: String| Gpt2Error::Mismatch { path: weights.clone(), message };
    if let Some(error) = result.errors.first() {
        return Err(mismatch(format!("{error:?}").replace('\n', " ")));
    }
    if let Some((path, _)) = result.missing.first() {
        return Err(mismatch(format!("no tensor for parameter `{path}` ({} missing in all)", result.missing.len())));
    }
    if let Some(key) = result.unused.iter().find(|key| !is_ignored_key(key)) {
        return Err(mismatch(format!("unexpected tensor `{key}`")));
    }
    if result.unused.iter().any(|key| key == "lm_head.weight") {
        check_tied_head(&model, &weights, device)?;
    }
    tracing::info!(dir = %dir.display(), layers = config.n_layer, n_embd = config.n_embd, tensors = result.applied.len(), "GPT-2 loaded");
    Ok((model, config))
}

/// `lm_head.weight` of a checkpoint that stores one.
#[derive(Module, Debug)]
struct StoredHead {
    lm_head: StoredHeadWeight,
}

#[derive(Module, Debug)]
struct StoredHeadWeight {
    weight: Param<Tensor<2>>,
}

/// GPT-2's head is its token embedding (tied). A checkpoint whose `lm_head.weight` differs from
/// `wte` (an untied head) is refused rather than silently replaced by `wte`.
fn check_tied_head(model: &Gpt2, weights: &Path, device: &Device) -> Result<(), Gpt2Error> {
    let wte = model.wte.weight.val();
    let mut head =
        StoredHead { lm_head: StoredHeadWeight { weight: Param::from_tensor(Tensor::zeros(wte.dims(), device)) } };
    let mut store = SafetensorsStore::from_file(weights.to_path_buf()).allow_partial(true).validate(false);
    let result = head
        .load_from(&mut store)
        .map_err(|error| Gpt2Error::Weights { path: weights.to_path_buf(), message: error.to_string() })?;
    if !result.errors.is_empty() || !result.missing.is_empty() {
        return Err(Gpt2Error::Mismatch {
            path: weights.to_path_buf(),
            message: format!("lm_head.weight does not have wte's shape {:?}", wte.dims()),
        });
    }
    let difference = head.lm_head.weight.val().sub(wte).abs().max().into_scalar::<f32>();
    if difference > 0.0 {
        return Err(Gpt2Error::UntiedHead { path: weights.to_path_buf(), difference });
    }
    Ok(())
}

/// The model directory's tokenizer ([`TOKENIZER_FILE`], `tokenizer.json`, or `vocab.json` +
/// `merges.txt`), else the repository's GPT-2 files; its vocabulary must match the model's.
pub fn load_tokenizer(dir: &Path, config: &Gpt2Config) -> Result<TextTokenizer, Gpt2Error> {
    let described = dir.join(TOKENIZER_FILE);
    let tokenizer = if described.is_file() {
        let text = std::fs::read_to_string(&described)
            .map_err(|cause| Gpt2Error::Missing { path: described.clone(), cause })?;
        let tokenizer_config: TokenizerConfig = serde_json::from_str(&text)
            .map_err(|error| Gpt2Error::Config { path: described.clone(), message: error.to_string() })?;
        TextTokenizer::from_config(&tokenizer_config, std::iter::empty())?
    } else {
        let has_own = dir.join("tokenizer.json").is_file() || dir.join("vocab.json").is_file();
        TextTokenizer::gpt2_from_dir(&if has_own { dir.to_path_buf() } else { default_gpt2_dir() })?
    };
    if tokenizer.vocab_size() != config.vocab_size {
        return Err(Gpt2Error::TokenizerMismatch { tokenizer: tokenizer.vocab_size(), model: config.vocab_size });
    }
    Ok(tokenizer)
}
