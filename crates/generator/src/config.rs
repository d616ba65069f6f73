use burn::tensor::Device;
use retrofit_core::CoreError;
use retrofit_core::attention::HeadForm;
use retrofit_core::block::{NormPlacement, TransformerBlockConfig};
use retrofit_core::generation::SamplingConfig;
use retrofit_core::gpt2::Gpt2Config;
use retrofit_core::language_model::LanguageModelDataConfig;
use retrofit_core::llama::LlamaConfig;
use retrofit_core::training::TrainingConfig;
use serde::{Deserialize, Serialize};

use crate::former::FormerLm;
use crate::model::Generator;

/// Which architecture (`[model] kind = ...`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum GeneratorModelConfig {
    /// former's GTransformer: token + position embeddings, `depth` causal post-norm blocks,
    /// a linear layer to the vocabulary.
    Former {
        d_model: usize,
        heads: usize,
        depth: usize,
        /// Feed-forward width as a multiple of `d_model`.
        #[serde(default = "default_ff_mult")]
        ff_mult: usize,
    },
    /// GPT-2 (pre-norm, fused attention projection, GELU, final norm, tied head), trained from
    /// scratch and exported as a Hugging Face directory.
    Gpt2 { n_embd: usize, n_layer: usize, n_head: usize },
    /// Llama (RMSNorm, rotary positions, grouped-query attention, SwiGLU, tied head), trained from
    /// scratch and exported as a Hugging Face directory: a small rotary base for the recurrent
    /// generator (what `xl-cache` needs).
    Llama {
        hidden_size: usize,
        n_layer: usize,
        n_head: usize,
        /// Key/value heads (grouped-query attention); must divide `n_head`.
        n_kv_head: usize,
        /// Width of the SwiGLU feed-forward layer.
        intermediate_size: usize,
        #[serde(default = "default_rope_theta")]
        rope_theta: f64,
        /// Positions of the exported config (`max_position_embeddings`: how far its rotary tables
        /// reach), at least the training context; `None`: the context. Rotary tables are
        /// computed, not learned, so a base can be written with room for a cache before a window.
        #[serde(default)]
        max_positions: Option<usize>,
    },
}

fn default_rope_theta() -> f64 {
    10_000.0
}

fn default_ff_mult() -> usize {
    4
}

impl Default for GeneratorModelConfig {
    /// former's enwik8 model: 12 blocks of 256 with 8 heads.
    fn default() -> Self {
        Self::Former { d_model: 256, heads: 8, depth: 12, ff_mult: 4 }
    }
}

impl GeneratorModelConfig {
    /// The GPT-2 config of the `gpt2` architecture for a vocabulary and context.
    pub fn gpt2_config(&self, vocab_size: usize, context: usize) -> Option<Gpt2Config> {
        match *self {
            Self::Gpt2 { n_embd, n_layer, n_head } => Some(Gpt2Config {
                vocab_size,
                n_positions: context,
                n_embd,
                n_layer,
                n_head,
                ..Gpt2Config::distilgpt2()
            }),
            Self::Former { .. } | Self::Llama { .. } => None,
        }
    }

    /// The Llama config of the `llama` architecture for a vocabulary and context (its positions:
    /// `max_positions`, at least the context).
    pub fn llama_config(&self, vocab_size: usize, context: usize) -> Option<LlamaConfig> {
        match *self {
            Self::Llama { hidden_size, n_layer, n_head, n_kv_head, intermediate_size, rope_theta, max_positions } => {
                Some(LlamaConfig {
                    vocab_size,
                    hidden_size,
                    intermediate_size,
                    num_hidden_layers: n_layer,
                    num_attention_heads: n_head,
                    num_key_value_heads: Some(n_kv_head),
                    head_dim: None,
                    max_position_embeddings: max_positions.unwrap_or(context).max(context),
                    rms_norm_eps: 1e-5,
                    rope_theta,
                    tie_word_embeddings: true,
                    attention_bias: false,
                    qkv_bias: false,
                    mlp_bias: false,
                })
            }
            Self::Former { .. } | Self::Gpt2 { .. } => None,
        }
    }

    /// A freshly initialised model for `vocab_size` tokens and windows of `context`.
    pub fn init(&self, vocab_size: usize, context: usize, device: &Device) -> Result<Generator, CoreError> {
        if vocab_size == 0 || context == 0 {
            return Err(CoreError::setting("data.context", "the vocabulary and the context must not be empty"));
        }
        match *self {
            Self::Former { d_model, heads, depth, ff_mult } => {
                if depth == 0 {
                    return Err(CoreError::setting("model.depth", "must be at least 1"));
                }
                let block = TransformerBlockConfig::new(d_model, heads)
                    .with_form(HeadForm::Narrow)
                    .with_ff_mult(ff_mult)
                    .with_causal(true)
                    .with_norm(NormPlacement::Post);
                Ok(Generator::Former(FormerLm::new(
                    vocab_size,
                    context,
                    d_model,
                    (0..depth).map(|_| block.init(device)).collect::<Result<_, _>>()?,
                    device,
                )))
            }
            Self::Gpt2 { .. } => {
                let config = self.gpt2_config(vocab_size, context).expect("gpt2 architecture");
                config.validate()?;
                Ok(Generator::Gpt2(config.init_for_training(device)))
            }
            Self::Llama { .. } => {
                let config = self.llama_config(vocab_size, context).expect("llama architecture");
                config.validate().map_err(|error| CoreError::setting("model", error.to_string()))?;
                Ok(Generator::Llama(config.init(device)))
            }
        }
    }
}

/// The sample written at the end of a run (`[sample]`); `generator sample` takes the same
/// settings as flags.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SampleConfig {
    pub prompt: String,
    /// New tokens to generate; 0 writes no sample.
    pub tokens: usize,
    #[serde(flatten)]
    pub sampling: SamplingConfig,
}

impl Default for SampleConfig {
    fn default() -> Self {
        Self {
            prompt: "Alice was beginning to get very tired".to_string(),
            tokens: 200,
            sampling: SamplingConfig { temperature: 0.8, top_k: 0, top_p: 0.95, seed: 0 },
        }
    }
}

/// The stage's config (`configs/generator.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GeneratorConfig {
    pub data: LanguageModelDataConfig,
    pub model: GeneratorModelConfig,
    pub training: TrainingConfig,
    pub sample: SampleConfig,
}

impl Default for GeneratorConfig {
    /// former's enwik8 setting on the embedded text: context 256, batch 32, Adam 1e-4 with 5,000
    /// warm-up steps, clipping 1.0.
    fn default() -> Self {
        Self {
            data: LanguageModelDataConfig::default(),
            model: GeneratorModelConfig::default(),
            training: TrainingConfig {
                learning_rate: 1e-4,
                warmup_steps: 5_000,
                epochs: 1,
                batch_size: 32,
                clip_grad_norm: Some(1.0),
                ..TrainingConfig::default()
            },
            sample: SampleConfig::default(),
        }
    }
}
