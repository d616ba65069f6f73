//! Llama's checkpoint keys, for the shared Hugging Face loader ([`crate::hf_checkpoint`]).

use std::path::Path;

use burn::tensor::Device;
use retrofit_data::tokenizer::TextTokenizer;

use super::config::LlamaConfig;
use super::model::Llama;
use crate::hf_checkpoint::{self, CheckpointKeys, Head, HfConfig, LinearLayout, LoadError, TokenizerFallback};

/// HF key → our module path, applied in order to every key of the file. The module tree is
/// built with HF's names, so only the norms are renamed; the layout does the rest.
///
/// - `….norm.weight` (`input_layernorm`, `post_attention_layernorm`, `model.norm`) →
///   `….norm.gamma`: burn's RmsNorm calls its scale `gamma`.
/// - `….{q,k,v,o}_proj.weight`, `….{gate,up,down}_proj.weight`, `lm_head.weight`: unchanged;
///   `nn.Linear` stores them `[out, in]`, transposed to burn's `[in, out]` as they load.
/// - `model.embed_tokens.weight`, biases: unchanged (`[vocab, d_model]`, `[out]` in both).
const REMAPPING: [(&str, &str); 1] = [(r"norm\.weight$", "norm.gamma")];

/// The key table of `LlamaForCausalLM` and of the families that share its module tree (Qwen2).
/// The rotary frequencies that older checkpoints store follow from `rope_theta`.
pub const LLAMA_KEYS: CheckpointKeys = CheckpointKeys {
    remapping: &REMAPPING,
    ignored: |key| key.ends_with("rotary_emb.inv_freq"),
    checkpoint_key: |path| match path.strip_suffix("norm.gamma") {
        Some(prefix) => format!("{prefix}norm.weight"),
        None => path.to_string(),
    },
    linear_layout: LinearLayout::OutIn,
    untied_head_hint: "set tie_word_embeddings to false in config.json to use the separate head",
};

/// Loads a model of `config`'s shape from `dir/model.safetensors` onto `device`. An untied
/// config needs `lm_head.weight`; a tied one uses the embedding.
pub fn load_llama_weights(dir: &Path, config: &LlamaConfig, device: &Device) -> Result<Llama, LoadError> {
    let weights = hf_checkpoint::weights_file(dir)?;
    let head = match config.tie_word_embeddings {
        true => Head::Tied(|model: &Llama| model.model.embed_tokens.weight.val()),
        false => Head::Separate,
    };
    let (model, tensors) = hf_checkpoint::load_weights(config.init(device), &weights, &LLAMA_KEYS, head)?;
    tracing::info!(
        dir = %dir.display(),
        layers = config.num_hidden_layers,
        d_model = config.hidden_size,
        tied = config.tie_word_embeddings,
        tensors,
        "Llama-family model loaded"
    );
    Ok(model)
}

/// Loads `dir/config.json` and `dir/model.safetensors` onto `device`.
pub fn load_llama(dir: &Path, device: &Device) -> Result<(Llama, LlamaConfig), LoadError> {
    let config = LlamaConfig::from_dir(dir)?;
    Ok((load_llama_weights(dir, &config, device)?, config))
}

/// The model directory's `tokenizer.json`; its vocabulary must match the model's.
pub fn load_tokenizer(dir: &Path, vocab_size: usize) -> Result<TextTokenizer, LoadError> {
    hf_checkpoint::load_tokenizer(dir, vocab_size, TokenizerFallback::Required)
}
