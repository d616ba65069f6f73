use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Bool, Device, Tensor};
use serde::{Deserialize, Serialize};

use super::{AttentionMask, scaled_dot_product_attention};
use crate::CoreError;

/// How heads share the embedding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum HeadForm {
    /// The embedding is split across heads: each head has `d_model / heads` dimensions.
    #[default]
    Narrow,
    /// Every head works at full width `d_model` (heads x the projection parameters).
    Wide,
}

/// Multi-head self-attention.
#[derive(Config, Debug)]
pub struct MultiHeadSelfAttentionConfig {
    /// Embedding width.
    pub d_model: usize,
    /// Number of heads.
    pub heads: usize,
    /// Narrow or wide heads.
    #[config(default = "HeadForm::Narrow")]
    pub form: HeadForm,
    /// Mask future positions (language modelling).
    #[config(default = false)]
    pub causal: bool,
}

/// Multi-head self-attention with bias-free query/key/value projections and a unifying
/// projection with bias, scores scaled by `1 / sqrt(head_dim)`.
#[derive(Module, Debug)]
pub struct MultiHeadSelfAttention {
    pub queries: Linear,
    pub keys: Linear,
    pub values: Linear,
    pub unify_heads: Linear,
    pub heads: usize,
    pub head_dim: usize,
    pub causal: bool,
}

impl MultiHeadSelfAttentionConfig {
    /// Checks the sizes: a narrow form needs `heads` to divide `d_model`.
    pub fn validate(&self) -> Result<(), CoreError> {
        if self.heads == 0 || self.d_model == 0 {
            return Err(CoreError::setting(
                "heads",
                format!(
                    "attention needs d_model > 0 and heads > 0 (got d_model {}, heads {})",
                    self.d_model, self.heads
                ),
            ));
        }
        if self.form == HeadForm::Narrow && !self.d_model.is_multiple_of(self.heads) {
            return Err(CoreError::setting(
                "heads",
                format!(
                    "narrow attention splits the embedding across heads: {} heads do not divide d_model {} (use a divisor or form = \"wide\")",
                    self.heads, self.d_model
                ),
            ));
        }
        Ok(())
    }

    pub fn init(&self, device: &Device) -> Result<MultiHeadSelfAttention, CoreError> {
        self.validate()?;
        let head_dim = match self.form {
            HeadForm::Narrow => self.d_model / self.heads,
            HeadForm::Wide => self.d_model,
        };
        let inner = head_dim * self.heads;
        let projection = || LinearConfig::new(self.d_model, inner).with_bias(false).init(device);
        Ok(MultiHeadSelfAttention {
            queries: projection(),
            keys: projection(),
            values: projection(),
            unify_heads: LinearConfig::new(inner, self.d_model).init(device),
            heads: self.heads,
            head_dim,
            causal: self.causal,
        })
    }
}

impl MultiHeadSelfAttention {
    /// # Shapes
    /// - `x`: `[batch, seq, d_model]`
    /// - `padding_mask`: `[batch, seq]`, `true` at padded positions
    /// - output: `[batch, seq, d_model]`
    pub fn forward(&self, x: Tensor<3>, padding_mask: Option<Tensor<2, Bool>>) -> Tensor<3> {
        let [batch, seq, _] = x.dims();
        let split = |t: Tensor<3>| t.reshape([batch, seq, self.heads, self.head_dim]).swap_dims(1, 2);
        let queries = split(self.queries.forward(x.clone())); // [batch, heads, seq, head_dim]
        let keys = split(self.keys.forward(x.clone()));
        let values = split(self.values.forward(x));
        // Scores scaled by head_dim^-1/2 (former scales queries and keys by head_dim^-1/4 each).
        let scale = (self.head_dim as f64).powf(-0.5);
        let mask = self.mask(padding_mask);
        let context = scaled_dot_product_attention(queries, keys, values, &mask, scale) // [b, h, seq, d]
            .swap_dims(1, 2)
            .reshape([batch, seq, self.heads * self.head_dim]);
        self.unify_heads.forward(context)
    }

    /// Self-attention of `x` that also attends to the `seen` positions of `prefix`, which come
    /// before it (Transformer-XL's memory: keys and values from `[prefix; x]`, queries from `x`),
    /// causally when the attention is causal.
    ///
    /// # Shapes
    /// - `x`: `[batch, seq, d_model]`, `prefix`: `[batch, seen, d_model]`
    /// - `prefix_padding`: `[batch, seen]`, `true` at prefix positions not to attend to
    /// - output: `[batch, seq, d_model]`
    pub fn forward_after(&self, x: Tensor<3>, prefix: Tensor<3>, prefix_padding: Option<Tensor<2, Bool>>) -> Tensor<3> {
        let [batch, seq, _] = x.dims();
        let [_, seen, _] = prefix.dims();
        let device = x.device();
        let split = |t: Tensor<3>, len: usize| t.reshape([batch, len, self.heads, self.head_dim]).swap_dims(1, 2);
        let queries = split(self.queries.forward(x.clone()), seq);
        let both = Tensor::cat(vec![prefix, x], 1); // [batch, seen + seq, d_model]
        let keys = split(self.keys.forward(both.clone()), seen + seq);
        let values = split(self.values.forward(both), seen + seq);
        let scale = (self.head_dim as f64).powf(-0.5);
        // The new positions are never padded.
        let padding = prefix_padding.map(|padding| Tensor::cat(vec![padding, Tensor::zeros([batch, seq], &device)], 1));
        let mask = self.mask(padding);
        let context = scaled_dot_product_attention(queries, keys, values, &mask, scale).swap_dims(1, 2).reshape([
            batch,
            seq,
            self.heads * self.head_dim,
        ]);
        self.unify_heads.forward(context)
    }

    /// Causal or not as configured, with the padded keys of `padding` (`[batch, k_len]`).
    fn mask(&self, padding: Option<Tensor<2, Bool>>) -> AttentionMask {
        if self.causal { AttentionMask::causal(padding) } else { AttentionMask::padded(padding) }
    }
}
