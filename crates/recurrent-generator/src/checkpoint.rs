//! A checkpoint holds only the trainable part (inserted blocks, logit bias, recurrent
//! connection) and names the base it belongs to; loading it onto another base is an error.

use std::io::Read;
use std::path::{Path, PathBuf};

use burn::store::{ModuleSnapshot, SafetensorsStore};
use burn::tensor::Device;
use retrofit_core::base::{BaseFamily, load_base};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::RecurrentGeneratorConfig;
use crate::connection::{LEGACY_NAMES, TASK_PREFIX};
use crate::error::RecurrentError;
use crate::model::RecurrentLm;

/// Files of a checkpoint directory.
pub const CHECKPOINT_WEIGHTS: &str = "trainable.safetensors";
pub const CHECKPOINT_MANIFEST: &str = "checkpoint.json";

/// What a checkpoint says about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointManifest {
    /// The base directory it was trained on.
    pub base: PathBuf,
    /// The base's architecture family.
    pub base_family: BaseFamily,
    /// Fingerprint of the base's `config.json` and `model.safetensors`.
    pub base_fingerprint: String,
    pub config: RecurrentGeneratorConfig,
}

/// The SHA-256 (hex) of the base's config and weights files, one after the other: stable across
/// Rust versions and machines.
pub fn base_fingerprint(base: &Path) -> Result<String, RecurrentError> {
    let mut hasher = Sha256::new();
    for file in ["config.json", "model.safetensors"] {
        let path = base.join(file);
        let mut reader =
            std::fs::File::open(&path).map_err(|cause| RecurrentError::Io { path: path.clone(), cause })?;
        let mut buffer = vec![0u8; 1 << 20];
        loop {
            let read = reader.read(&mut buffer).map_err(|cause| RecurrentError::Io { path: path.clone(), cause })?;
            if read == 0 {
                break;
            }
            hasher.update(&buffer[..read]);
        }
    }
    Ok(hasher.finalize().iter().map(|byte| format!("{byte:02x}")).collect())
}

fn is_trainable(path: &str, _container: &str) -> bool {
    !path.starts_with("base.")
}

/// Writes the trainable part of `model` and the manifest into `dir`.
pub fn save_checkpoint(
    model: &RecurrentLm,
    config: &RecurrentGeneratorConfig,
    dir: &Path,
) -> Result<(), RecurrentError> {
    std::fs::create_dir_all(dir).map_err(|cause| RecurrentError::Io { path: dir.to_path_buf(), cause })?;
    let weights = dir.join(CHECKPOINT_WEIGHTS);
    let mut store = SafetensorsStore::from_file(weights.clone()).with_predicate(is_trainable).overwrite(true);
    model
        .save_into(&mut store)
        .map_err(|error| RecurrentError::Checkpoint { path: weights, message: error.to_string() })?;
    let manifest = CheckpointManifest {
        base: config.base.clone(),
        base_family: model.base.family(),
        base_fingerprint: base_fingerprint(&config.base)?,
        config: config.clone(),
    };
    let path = dir.join(CHECKPOINT_MANIFEST);
    let text = serde_json::to_string_pretty(&manifest)
        .map_err(|error| RecurrentError::Checkpoint { path: path.clone(), message: error.to_string() })?;
    std::fs::write(&path, text + "\n").map_err(|cause| RecurrentError::Io { path, cause })
}

/// Loads a checkpoint onto `base` (default: the base it names). A base whose files differ from
/// the one it was trained on is an error.
pub fn load_checkpoint(
    dir: &Path,
    base: Option<&Path>,
    device: &Device,
) -> Result<(RecurrentLm, CheckpointManifest), RecurrentError> {
    let manifest_path = dir.join(CHECKPOINT_MANIFEST);
    let text = std::fs::read_to_string(&manifest_path)
        .map_err(|cause| RecurrentError::Io { path: manifest_path.clone(), cause })?;
    let manifest: CheckpointManifest = serde_json::from_str(&text)
        .map_err(|error| RecurrentError::Checkpoint { path: manifest_path, message: error.to_string() })?;
    let base = base.unwrap_or(&manifest.base);
    let fingerprint = base_fingerprint(base)?;
    if fingerprint != manifest.base_fingerprint {
        return Err(RecurrentError::WrongBase {
            checkpoint: dir.to_path_buf(),
            expected: manifest.base.clone(),
            given: base.to_path_buf(),
        });
    }
    let (base_model, _) = load_base(base, device)?;
    let mut model = RecurrentLm::new(base_model, &manifest.config.model, manifest.config.data.context, device)?;
    let weights = dir.join(CHECKPOINT_WEIGHTS);
    let mut store = SafetensorsStore::from_file(weights.clone()).with_predicate(is_trainable).allow_partial(true);
    // Checkpoints written before the connection was one type name its parameters as they were.
    for (old, new) in LEGACY_NAMES {
        let (old, new) = (old.trim_start_matches(TASK_PREFIX), new.trim_start_matches(TASK_PREFIX));
        store = store.with_key_remapping(format!("^{}", regex_escape(old)), new);
    }
    let result = model
        .load_from(&mut store)
        .map_err(|error| RecurrentError::Checkpoint { path: weights.clone(), message: error.to_string() })?;
    if let Some((missing, _)) = result.missing.iter().find(|(path, _)| is_trainable(path, "")) {
        return Err(RecurrentError::Checkpoint { path: weights, message: format!("no tensor for `{missing}`") });
    }
    if let Some(error) = result.errors.first() {
        return Err(RecurrentError::Checkpoint { path: weights, message: format!("{error:?}").replace('\n', " ") });
    }
    Ok((model, manifest))
}

/// `model` with the inserted blocks and the logit bias of the checkpoint in `dir` (a trained run
/// on the base at `base`, with as many inserted blocks of the same shapes); the connection stays
/// as `model` has it. A checkpoint of another base is an error, as is one that lacks a block.
pub fn start_from_checkpoint(mut model: RecurrentLm, dir: &Path, base: &Path) -> Result<RecurrentLm, RecurrentError> {
    let manifest_path = dir.join(CHECKPOINT_MANIFEST);
    let text = std::fs::read_to_string(&manifest_path)
        .map_err(|cause| RecurrentError::Io { path: manifest_path.clone(), cause })?;
    let manifest: CheckpointManifest = serde_json::from_str(&text)
        .map_err(|error| RecurrentError::Checkpoint { path: manifest_path, message: error.to_string() })?;
    if manifest.base_fingerprint != base_fingerprint(base)? {
        return Err(RecurrentError::WrongBase {
            checkpoint: dir.to_path_buf(),
            expected: manifest.base,
            given: base.to_path_buf(),
        });
    }
    let blocks = |path: &str, _: &str| path.starts_with("inserted.") || path.starts_with("logit_bias");
    let weights = dir.join(CHECKPOINT_WEIGHTS);
    let mut store = SafetensorsStore::from_file(weights.clone()).with_predicate(blocks).allow_partial(true);
    let result = model
        .load_from(&mut store)
        .map_err(|error| RecurrentError::Checkpoint { path: weights.clone(), message: error.to_string() })?;
    let problem = result
        .missing
        .iter()
        .map(|(path, _)| path.clone())
        .find(|path| blocks(path, ""))
        .map(|path| format!("no tensor for `{path}`: model.init_from must have the same inserted blocks"))
        .or_else(|| {
            result.unused.iter().find(|path| blocks(path, "")).map(|path| {
                format!("`{path}` has no place in this model: model.init_from must have the same inserted blocks")
            })
        })
        .or_else(|| result.errors.first().map(|error| format!("{error:?}").replace('\n', " ")));
    match problem {
        Some(message) => Err(RecurrentError::Checkpoint { path: weights, message }),
        None => Ok(model),
    }
}

/// `text` with the regex metacharacters it can hold here (dots) escaped.
fn regex_escape(text: &str) -> String {
    text.replace('.', "\\.")
}
