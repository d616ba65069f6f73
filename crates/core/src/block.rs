//! The transformer block of the classifiers and the from-scratch generator (former's), with the
//! normalisation placed after (post-norm, former) or before (pre-norm) each sub-layer.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig, Relu};
use burn::tensor::{Bool, Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::CoreError;
use crate::attention::{HeadForm, MultiHeadSelfAttention, MultiHeadSelfAttentionConfig};

/// Where the LayerNorms sit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum NormPlacement {
    /// `x = norm(x + attention(x)); x = norm(x + ff(x))` (former, the original transformer).
    #[default]
    Post,
    /// `x = x + attention(norm(x)); x = x + ff(norm(x))` (GPT-2).
    Pre,
}

/// A transformer block.
#[derive(Config, Debug)]
pub struct TransformerBlockConfig {
    /// Embedding width.
    pub d_model: usize,
    /// Attention heads.
    pub heads: usize,
    /// Narrow or wide heads.
    #[config(default = "HeadForm::Narrow")]
    pub form: HeadForm,
    /// Feed-forward hidden width as a multiple of `d_model`.
    #[config(default = 4)]
    pub ff_mult: usize,
    /// Mask future positions.
    #[config(default = false)]
    pub causal: bool,
    /// Post-norm (former) or pre-norm.
    #[config(default = "NormPlacement::Post")]
    pub norm: NormPlacement,
    /// Dropout after attention and after the feed-forward layer.
    #[config(default = 0.0)]
    pub dropout: f64,
}

/// Attention, residual, LayerNorm, feed-forward (Linear, ReLU, Linear), residual, LayerNorm.
#[derive(Module, Debug)]
pub struct TransformerBlock {
    pub attention: MultiHeadSelfAttention,
    pub norm1: LayerNorm,
    pub norm2: LayerNorm,
    pub ff_in: Linear,
    pub ff_out: Linear,
    pub activation: Relu,
    pub dropout: Dropout,
    pub pre_norm: bool,
}

impl TransformerBlockConfig {
    pub fn init(&self, device: &Device) -> Result<TransformerBlock, CoreError> {
        if self.ff_mult == 0 {
            return Err(CoreError::setting("ff_mult", "must be at least 1"));
        }
        let attention = MultiHeadSelfAttentionConfig::new(self.d_model, self.heads)
            .with_form(self.form)
            .with_causal(self.causal)
            .init(device)?;
        let hidden = self.ff_mult * self.d_model;
        Ok(TransformerBlock {
            attention,
            norm1: LayerNormConfig::new(self.d_model).init(device),
            norm2: LayerNormConfig::new(self.d_model).init(device),
            ff_in: LinearConfig::new(self.d_model, hidden).init(device),
            ff_out: LinearConfig::new(hidden, self.d_model).init(device),
            activation: Relu::new(),
            dropout: DropoutConfig::new(self.dropout).init(),
            pre_norm: self.norm == NormPlacement::Pre,
        })
    }
}

impl TransformerBlock {
    /// # Shapes
    /// - `x`: `[batch, seq, d_model]`
    /// - `padding_mask`: `[batch, seq]`, `true` at padded positions
    /// - output: `[batch, seq, d_model]`
    pub fn forward(&self, x: Tensor<3>, padding_mask: Option<Tensor<2, Bool>>) -> Tensor<3> {
        let feed_forward = |x: Tensor<3>| self.ff_out.forward(self.activation.forward(self.ff_in.forward(x)));
        if self.pre_norm {
            let x = x.clone() + self.dropout.forward(self.attention.forward(self.norm1.forward(x), padding_mask));
            x.clone() + self.dropout.forward(feed_forward(self.norm2.forward(x)))
        } else {
            let x = self.norm1.forward(x.clone() + self.dropout.forward(self.attention.forward(x, padding_mask)));
            self.norm2.forward(x.clone() + self.dropout.forward(feed_forward(x)))
        }
    }

    /// The block on `x` with its attention also reading `prefix`, the block's input at the
    /// positions before `x` (see [`crate::attention::MultiHeadSelfAttention::forward_after`]).
    ///
    /// # Shapes
    /// - `x`: `[batch, seq, d_model]`, `prefix`: `[batch, seen, d_model]`
    /// - `prefix_padding`: `[batch, seen]`, `true` at prefix positions not to attend to
    /// - output: `[batch, seq, d_model]`
    pub fn forward_after(&self, x: Tensor<3>, prefix: Tensor<3>, prefix_padding: Option<Tensor<2, Bool>>) -> Tensor<3> {
        let feed_forward = |x: Tensor<3>| self.ff_out.forward(self.activation.forward(self.ff_in.forward(x)));
        if self.pre_norm {
            let attended =
                self.attention.forward_after(self.norm1.forward(x.clone()), self.norm1.forward(prefix), prefix_padding);
            let x = x + self.dropout.forward(attended);
            x.clone() + self.dropout.forward(feed_forward(self.norm2.forward(x)))
        } else {
            let x = self
                .norm1
                .forward(x.clone() + self.dropout.forward(self.attention.forward_after(x, prefix, prefix_padding)));
            self.norm2.forward(x.clone() + self.dropout.forward(feed_forward(x)))
        }
    }
}
