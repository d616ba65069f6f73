//! One loader for Hugging Face checkpoint directories (`config.json`, `model.safetensors`, the
//! tokenizer, the end-of-sequence ids), whatever the family: weights through burn's
//! `SafetensorsStore` with the family's key table, every missing, unexpected or mis-shaped tensor an error naming its checkpoint key,
//! a tied head checked against the embedding, and the tokenizer checked against the vocabulary.
//! A family brings only its [`CheckpointKeys`] and its config parsing.

mod end_of_sequence;
mod error;
mod export;
mod tokenizer;

use std::path::{Path, PathBuf};

use burn::module::{Module, Param};
use burn::store::{ApplyError, ModuleSnapshot, PyTorchToBurnAdapter, SafetensorsStore};
use burn::tensor::Tensor;

pub use end_of_sequence::end_of_sequence_ids;
pub use error::LoadError;
pub use export::ExportError;
pub(crate) use export::{write_config, write_tokenizer};
pub use tokenizer::{TOKENIZER_FILE, TokenizerFallback, load_tokenizer};

/// How a family's checkpoint keys relate to its module paths.
#[derive(Debug, Clone, Copy)]
pub struct CheckpointKeys {
    /// Checkpoint key pattern → module path, applied in order to every key of the file.
    pub remapping: &'static [(&'static str, &'static str)],
    /// File keys that are not parameters (buffers older checkpoints store).
    pub ignored: fn(&str) -> bool,
    /// The checkpoint's key of a module path (the inverse of `remapping`), for messages.
    pub checkpoint_key: fn(&str) -> String,
    /// How the file stores linear weights.
    pub linear_layout: LinearLayout,
    /// What to do when a tied head's stored `lm_head.weight` differs from the embedding.
    pub untied_head_hint: &'static str,
}

/// The layout of linear weights in a checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinearLayout {
    /// `[in, out]`, as burn's `Linear` (GPT-2's `Conv1D`): loaded as stored.
    InOut,
    /// `[out, in]` (PyTorch's `nn.Linear`): transposed as it loads.
    OutIn,
}

/// The output head of a model being loaded.
pub enum Head<M> {
    /// The head is a parameter of its own (`lm_head.weight` is loaded into it).
    Separate,
    /// The head is the token embedding, which this reads from the loaded model (`[vocab,
    /// d_model]`); a stored `lm_head.weight` must equal it.
    Tied(fn(&M) -> Tensor<2>),
}

/// A family's architecture as its `config.json` states it.
pub trait HfConfig: Sized {
    /// Parses and checks the text of a `config.json` (read from `path`, named in errors).
    fn parse(text: &str, path: &Path) -> Result<Self, LoadError>;

    /// Reads and checks `dir/config.json`.
    fn from_dir(dir: &Path) -> Result<Self, LoadError> {
        let (path, text) = read_config(dir)?;
        Self::parse(&text, &path)
    }

    /// Parses and checks the text of a Hugging Face `config.json`.
    fn from_json(text: &str) -> Result<Self, LoadError> {
        Self::parse(text, Path::new("config.json"))
    }
}

/// The path and text of `dir/config.json`.
pub fn read_config(dir: &Path) -> Result<(PathBuf, String), LoadError> {
    let path = dir.join("config.json");
    let text = std::fs::read_to_string(&path).map_err(|source| LoadError::Missing { path: path.clone(), source })?;
    Ok((path, text))
}

/// `dir/model.safetensors`, or an error that says what the directory holds instead.
pub fn weights_file(dir: &Path) -> Result<PathBuf, LoadError> {
    let weights = dir.join("model.safetensors");
    if weights.is_file() {
        return Ok(weights);
    }
    let hint = if dir.join("pytorch_model.bin").is_file() {
        "only pytorch_model.bin found: save the model with safetensors (transformers' save_pretrained does by default)"
    } else {
        "no such file"
    };
    Err(LoadError::Missing { path: weights, source: std::io::Error::other(hint) })
}

fn store(weights: &Path, keys: &CheckpointKeys) -> SafetensorsStore {
    let mut store = SafetensorsStore::from_file(weights.to_path_buf()).allow_partial(true).validate(false);
    if keys.linear_layout == LinearLayout::OutIn {
        store = store.with_from_adapter(PyTorchToBurnAdapter);
    }
    for &(from, to) in keys.remapping {
        store = store.with_key_remapping(from, to);
    }
    store
}

/// Overwrites every parameter of `model` (built from the config) with the tensors of `weights`.
/// Every parameter must be found, every tensor of the file must be a parameter or ignored, and
/// shapes must match.
pub fn load_weights<M: Module>(
    mut model: M,
    weights: &Path,
    keys: &CheckpointKeys,
    head: Head<M>,
) -> Result<(M, usize), LoadError> {
    let result = model
        .load_from(&mut store(weights, keys))
        .map_err(|source| LoadError::Weights { path: weights.to_path_buf(), source })?;
    if let Some(error) = result.errors.first() {
        return Err(apply_error(weights, keys, error));
    }
    if let Some((tensor, _)) = result.missing.first() {
        return Err(LoadError::MissingTensor {
            path: weights.to_path_buf(),
            tensor: (keys.checkpoint_key)(tensor),
            count: result.missing.len(),
        });
    }
    let mut stored_head = false;
    for key in result.unused.iter().filter(|key| !(keys.ignored)(key)) {
        match head {
            Head::Tied(_) if key == "lm_head.weight" => stored_head = true,
            _ => {
                return Err(LoadError::UnexpectedTensor {
                    path: weights.to_path_buf(),
                    tensor: (keys.checkpoint_key)(key),
                });
            }
        }
    }
    if let (true, Head::Tied(embedding)) = (stored_head, head) {
        check_tied_head(embedding(&model), weights, keys)?;
    }
    Ok((model, result.applied.len()))
}

/// A checkpoint's `lm_head.weight` as stored (`[vocab, d_model]` in every family's file).
#[derive(Module, Debug)]
struct StoredHead {
    lm_head: StoredWeight,
}

#[derive(Module, Debug)]
struct StoredWeight {
    weight: Param<Tensor<2>>,
}

/// A tied model's file may still carry `lm_head.weight` (some exporters write the shared tensor
/// twice); it is accepted only when it equals the embedding.
fn check_tied_head(embedding: Tensor<2>, weights: &Path, keys: &CheckpointKeys) -> Result<(), LoadError> {
    let mut head = StoredHead {
        lm_head: StoredWeight { weight: Param::from_tensor(Tensor::zeros(embedding.dims(), &embedding.device())) },
    };
    let mut store = SafetensorsStore::from_file(weights.to_path_buf()).allow_partial(true).validate(false);
    let result =
        head.load_from(&mut store).map_err(|source| LoadError::Weights { path: weights.to_path_buf(), source })?;
    if let Some(error) = result.errors.first() {
        return Err(apply_error(weights, keys, error));
    }
    let difference = (head.lm_head.weight.val() - embedding).abs().max().into_scalar::<f32>();
    if difference == 0.0 {
        Ok(())
    } else {
        Err(LoadError::TiedHeadDiffers { path: weights.to_path_buf(), difference, hint: keys.untied_head_hint })
    }
}

fn apply_error(weights: &Path, keys: &CheckpointKeys, error: &ApplyError) -> LoadError {
    let (tensor, message) = match error {
        ApplyError::ShapeMismatch { path, expected, found } => (
            path,
            format!(
                "shape {:?} does not match config.json's {:?} (linear weights in burn's [in, out] layout)",
                found.as_slice(),
                expected.as_slice()
            ),
        ),
        ApplyError::DTypeMismatch { path, expected, found } => {
            (path, format!("dtype {found:?}, expected {expected:?}"))
        }
        ApplyError::AdapterError { path, message } | ApplyError::LoadError { path, message } => (path, message.clone()),
    };
    LoadError::TensorMismatch {
        path: weights.to_path_buf(),
        tensor: (keys.checkpoint_key)(tensor),
        message: message.replace('\n', " "),
    }
}
