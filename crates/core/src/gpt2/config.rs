use std::path::Path;

use burn::nn::{EmbeddingConfig, Initializer, LayerNormConfig, LinearConfig};
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use super::model::{Gpt2, Gpt2Attention, Gpt2Block, Gpt2Mlp};
use crate::hf_checkpoint::{HfConfig, LoadError};

fn default_epsilon() -> f64 {
    1e-5
}

fn default_activation() -> String {
    "gelu_new".to_string()
}

/// The fields of a Hugging Face GPT-2 `config.json` that define the architecture (the file's
/// other fields are ignored).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gpt2Config {
    pub vocab_size: usize,
    pub n_positions: usize,
    pub n_embd: usize,
    pub n_layer: usize,
    pub n_head: usize,
    /// Feed-forward width; `None` means `4 * n_embd`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_inner: Option<usize>,
    #[serde(default = "default_epsilon")]
    pub layer_norm_epsilon: f64,
    /// Only the tanh approximation (`gelu_new`, also spelled `gelu_pytorch_tanh`) is supported.
    #[serde(default = "default_activation")]
    pub activation_function: String,
}

impl HfConfig for Gpt2Config {
    fn parse(text: &str, path: &Path) -> Result<Self, LoadError> {
        let config: Self =
            serde_json::from_str(text).map_err(|source| LoadError::Config { path: path.to_path_buf(), source })?;
        config.validate()?;
        Ok(config)
    }
}

impl Gpt2Config {
    /// DistilGPT-2's shape: 6 layers of 768 with 12 heads, vocabulary 50,257, context 1,024.
    pub fn distilgpt2() -> Self {
        Self {
            vocab_size: 50_257,
            n_positions: 1024,
            n_embd: 768,
            n_layer: 6,
            n_head: 12,
            n_inner: None,
            layer_norm_epsilon: 1e-5,
            activation_function: default_activation(),
        }
    }

    /// Checks what the architecture needs.
    pub fn validate(&self) -> Result<(), LoadError> {
        let invalid = |message: String| LoadError::invalid("GPT-2", message);
        if self.n_head == 0 || !self.n_embd.is_multiple_of(self.n_head) {
            return Err(invalid(format!("n_head {} must divide n_embd {}", self.n_head, self.n_embd)));
        }
        if self.n_layer == 0 || self.vocab_size == 0 || self.n_positions == 0 {
            return Err(invalid("n_layer, vocab_size and n_positions must be positive".to_string()));
        }
        if !matches!(self.activation_function.as_str(), "gelu_new" | "gelu_pytorch_tanh") {
            return Err(invalid(format!(
                "activation_function `{}` is not supported (GPT-2 uses gelu_new)",
                self.activation_function
            )));
        }
        Ok(())
    }

    pub fn head_dim(&self) -> usize {
        self.n_embd / self.n_head
    }

    /// A model of this shape with burn's default initialisation (to be overwritten by loaded
    /// weights).
    pub fn init(&self, device: &Device) -> Gpt2 {
        self.init_with(device, None)
    }

    /// A model to train from scratch, initialised as GPT-2 was: every weight drawn from
    /// N(0, 0.02) (LayerNorms at 1 and 0).
    pub fn init_for_training(&self, device: &Device) -> Gpt2 {
        self.init_with(device, Some(Initializer::Normal { mean: 0.0, std: 0.02 }))
    }

    fn init_with(&self, device: &Device, initializer: Option<Initializer>) -> Gpt2 {
        let layer_norm = || LayerNormConfig::new(self.n_embd).with_epsilon(self.layer_norm_epsilon).init(device);
        let inner = self.n_inner.unwrap_or(4 * self.n_embd);
        let linear = |d_in: usize, d_out: usize| {
            let config = LinearConfig::new(d_in, d_out);
            match &initializer {
                Some(initializer) => config.with_initializer(initializer.clone()),
                None => config,
            }
            .init(device)
        };
        let embedding = |count: usize| {
            let config = EmbeddingConfig::new(count, self.n_embd);
            match &initializer {
                Some(initializer) => config.with_initializer(initializer.clone()),
                None => config,
            }
            .init(device)
        };
        let block = || Gpt2Block {
            ln_1: layer_norm(),
            attn: Gpt2Attention {
                c_attn: linear(self.n_embd, 3 * self.n_embd),
                c_proj: linear(self.n_embd, self.n_embd),
                n_head: self.n_head,
            },
            ln_2: layer_norm(),
            mlp: Gpt2Mlp { c_fc: linear(self.n_embd, inner), c_proj: linear(inner, self.n_embd) },
        };
        Gpt2 {
            wte: embedding(self.vocab_size),
            wpe: embedding(self.n_positions),
            h: (0..self.n_layer).map(|_| block()).collect(),
            ln_f: layer_norm(),
            n_positions: self.n_positions,
        }
    }
}
