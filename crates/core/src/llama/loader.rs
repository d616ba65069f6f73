//! Loading a Hugging Face Llama-family directory (`config.json`, `model.safetensors`,
//! `tokenizer.json`) through burn's `SafetensorsStore`.

use std::path::Path;

use burn::module::Module;
use burn::nn::Linear;
use burn::store::{ApplyError, ModuleSnapshot, PyTorchToBurnAdapter, SafetensorsStore};
use burn::tensor::Device;
use retrofit_data::tokenizer::TextTokenizer;

use super::config::LlamaConfig;
use super::error::LlamaError;
use super::model::Llama;

/// HF key → our module path, applied in order to every key of the file. The module tree is
/// built with HF's names, so only the norms are renamed; the adapter does the rest.
///
/// - `….norm.weight` (`input_layernorm`, `post_attention_layernorm`, `model.norm`) →
///   `….norm.gamma`: burn's RmsNorm calls its scale `gamma`.
/// - `….{q,k,v,o}_proj.weight`, `….{gate,up,down}_proj.weight`, `lm_head.weight`: unchanged;
///   `nn.Linear` stores them `[out, in]`, and [`PyTorchToBurnAdapter`] transposes every burn
///   `Linear` weight to `[in, out]` as it loads.
/// - `model.embed_tokens.weight`, biases: unchanged (`[vocab, d_model]`, `[out]` in both).
const KEY_REMAPPING: [(&str, &str); 1] = [(r"norm\.weight$", "norm.gamma")];

/// The checkpoint's name of a module path (the inverse of [`KEY_REMAPPING`]), for messages.
fn hf_key(path: &str) -> String {
    match path.strip_suffix("norm.gamma") {
        Some(prefix) => format!("{prefix}norm.weight"),
        None => path.to_string(),
    }
}

/// File keys that are not parameters: the rotary frequencies that older checkpoints store (they
/// follow from `rope_theta`).
fn is_ignored_key(key: &str) -> bool {
    key.ends_with("rotary_emb.inv_freq")
}

/// The output head alone, to read a checkpoint's `lm_head.weight` when the config says it is
/// tied (it must then equal the embedding).
#[derive(Module, Debug)]
struct HeadOnly {
    lm_head: Linear,
}

fn store(weights: &Path) -> SafetensorsStore {
    let mut store = SafetensorsStore::from_file(weights.to_path_buf())
        .allow_partial(true)
        .validate(false)
        .with_from_adapter(PyTorchToBurnAdapter);
    for (from, to) in KEY_REMAPPING {
        store = store.with_key_remapping(from, to);
    }
    store
}

fn apply_error(path: &Path, error: &ApplyError) -> LlamaError {
    let (tensor, message) = match error {
        ApplyError::ShapeMismatch { path, expected, found } => (
            path,
            format!(
                "shape {:?} does not match config.json's {:?} (Linear weights in burn's [in, out] layout)",
                found.as_slice(),
                expected.as_slice()
            ),
        ),
        ApplyError::DTypeMismatch { path, expected, found } => {
            (path, format!("dtype {found:?}, expected {expected:?}"))
        }
        ApplyError::AdapterError { path, message } | ApplyError::LoadError { path, message } => (path, message.clone()),
    };
    LlamaError::TensorMismatch { path: path.to_path_buf(), tensor: hf_key(tensor), message: message.replace('\n', " ") }
}

/// Loads `dir/config.json` and `dir/model.safetensors` onto `device`. A missing, unexpected or
/// mis-shaped tensor is an error naming it. An untied config needs `lm_head.weight`; a tied one
/// uses the embedding, and refuses a `lm_head.weight` that differs from it.
pub fn load_llama(dir: &Path, device: &Device) -> Result<(Llama, LlamaConfig), LlamaError> {
    let config = LlamaConfig::from_dir(dir)?;
    let weights = dir.join("model.safetensors");
    if !weights.is_file() {
        let hint = if dir.join("pytorch_model.bin").is_file() {
            "only pytorch_model.bin found: save the model with safetensors (transformers' save_pretrained does \
             by default)"
        } else {
            "no such file"
        };
        return Err(LlamaError::Missing { path: weights, source: std::io::Error::other(hint) });
    }
    let mut model = config.init(device);
    let result = model
        .load_from(&mut store(&weights))
        .map_err(|source| LlamaError::Weights { path: weights.clone(), source })?;
    if let Some(error) = result.errors.first() {
        return Err(apply_error(&weights, error));
    }
    if let Some((tensor, _)) = result.missing.first() {
        return Err(LlamaError::MissingTensor { path: weights, tensor: hf_key(tensor), count: result.missing.len() });
    }
    let mut has_head = false;
    for key in result.unused.iter().filter(|key| !is_ignored_key(key)) {
        if key == "lm_head.weight" && config.tie_word_embeddings {
            has_head = true;
        } else {
            return Err(LlamaError::UnexpectedTensor { path: weights, tensor: hf_key(key) });
        }
    }
    if has_head {
        check_tied_head(&model, &weights, device)?;
    }
    tracing::info!(
        dir = %dir.display(),
        layers = config.num_hidden_layers,
        d_model = config.hidden_size,
        tied = config.tie_word_embeddings,
        tensors = result.applied.len(),
        "Llama loaded"
    );
    Ok((model, config))
}

/// A tied model's file may still carry `lm_head.weight` (some exporters write the shared tensor
/// twice); it is accepted only when it equals the embedding.
fn check_tied_head(model: &Llama, weights: &Path, device: &Device) -> Result<(), LlamaError> {
    let [vocab, d_model] = model.model.embed_tokens.weight.dims();
    let mut head = HeadOnly { lm_head: burn::nn::LinearConfig::new(d_model, vocab).with_bias(false).init(device) };
    let result = head
        .load_from(&mut store(weights))
        .map_err(|source| LlamaError::Weights { path: weights.to_path_buf(), source })?;
    let differs = || LlamaError::TiedHeadDiffers { path: weights.to_path_buf() };
    if !result.errors.is_empty() || !result.missing.is_empty() {
        return Err(differs());
    }
    let embedding = model.model.embed_tokens.weight.val(); // [vocab, d_model]
    let head = head.lm_head.weight.val().transpose(); // [vocab, d_model]
    let largest = (embedding - head).abs().max().into_scalar::<f32>();
    if largest == 0.0 { Ok(()) } else { Err(differs()) }
}

/// The model directory's `tokenizer.json`; its vocabulary must match the model's.
pub fn load_tokenizer(dir: &Path, config: &LlamaConfig) -> Result<TextTokenizer, LlamaError> {
    let path = dir.join("tokenizer.json");
    if !path.is_file() {
        return Err(LlamaError::Missing { path, source: std::io::Error::other("no such file") });
    }
    let tokenizer = TextTokenizer::gpt2_from_dir(dir)?;
    if tokenizer.vocab_size() != config.vocab_size {
        return Err(LlamaError::TokenizerMismatch { tokenizer: tokenizer.vocab_size(), model: config.vocab_size });
    }
    Ok(tokenizer)
}
