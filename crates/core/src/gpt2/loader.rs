//! GPT-2's checkpoint keys, for the shared Hugging Face loader ([`crate::hf_checkpoint`]).

use std::path::Path;

use burn::tensor::Device;
use retrofit_data::tokenizer::TextTokenizer;

use super::config::Gpt2Config;
use super::model::Gpt2;
use crate::hf_checkpoint::{self, CheckpointKeys, Head, HfConfig, LinearLayout, LoadError, TokenizerFallback};

/// HF key → our module path, applied in order to every key of the file.
///
/// | HF key                          | module path          | why                                |
/// |---------------------------------|----------------------|------------------------------------|
/// | `transformer.X`                 | `X`                  | `GPT2LMHeadModel` nests the model  |
/// | `….ln_1.weight` / `.bias`       | `….ln_1.gamma/.beta` | burn's LayerNorm names (same for `ln_2`, `ln_f`) |
/// | `….c_attn.weight` (Conv1D)      | unchanged            | Conv1D is stored `[in, out]`, as burn's Linear: no transpose |
const REMAPPING: [(&str, &str); 3] =
    [(r"^transformer\.", ""), (r"(ln_1|ln_2|ln_f)\.weight$", "$1.gamma"), (r"(ln_1|ln_2|ln_f)\.bias$", "$1.beta")];

/// GPT-2's key table. The causal-mask buffers that older checkpoints store are not parameters.
pub const GPT2_KEYS: CheckpointKeys = CheckpointKeys {
    remapping: &REMAPPING,
    ignored: |key| key.ends_with(".attn.bias") || key.ends_with(".attn.masked_bias"),
    checkpoint_key: |path| {
        let path = path.replace(".gamma", ".weight").replace(".beta", ".bias");
        format!("transformer.{path}")
    },
    linear_layout: LinearLayout::InOut,
    untied_head_hint: "GPT-2 ties its head to wte, so an untied head cannot be loaded as GPT-2",
};

/// Loads `dir/config.json` and `dir/model.safetensors` onto `device`.
pub fn load_gpt2(dir: &Path, device: &Device) -> Result<(Gpt2, Gpt2Config), LoadError> {
    let config = Gpt2Config::from_dir(dir)?;
    let weights = hf_checkpoint::weights_file(dir)?;
    let tied = Head::Tied(|model: &Gpt2| model.wte.weight.val());
    let (model, tensors) = hf_checkpoint::load_weights(config.init(device), &weights, &GPT2_KEYS, tied)?;
    tracing::info!(dir = %dir.display(), layers = config.n_layer, n_embd = config.n_embd, tensors, "GPT-2 loaded");
    Ok((model, config))
}

/// The model directory's tokenizer, else the repository's GPT-2 files.
pub fn load_tokenizer(dir: &Path, config: &Gpt2Config) -> Result<TextTokenizer, LoadError> {
    hf_checkpoint::load_tokenizer(dir, config.vocab_size, TokenizerFallback::Gpt2)
}
