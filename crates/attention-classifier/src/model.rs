use burn::module::Module;
use burn::nn::{Embedding, Linear};
use burn::tensor::{Bool, Int, Tensor};
use retrofit_core::attention::{MultiHeadSelfAttention, SimpleSelfAttention};
use retrofit_core::classification::SequenceClassifier;
use retrofit_core::pooling::Pooling;
use retrofit_core::positions::position_ids;

/// The attention layer, one of the two kinds.
// Built once per model, so the variants' size difference costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum SelfAttention {
    Simple(SimpleSelfAttention),
    MultiHead(MultiHeadSelfAttention),
}

/// Embedding, self-attention, pooling, linear.
#[derive(Module, Debug)]
pub struct AttentionClassifier {
    pub tokens: Embedding,
    pub positions: Option<Embedding>,
    pub attention: SelfAttention,
    #[module(skip)]
    pub pooling: Pooling,
    pub output: Linear,
}

impl AttentionClassifier {
    /// The attended sequence before pooling.
    ///
    /// # Shapes
    /// - `tokens`, `padding_mask`: `[batch, seq]`
    /// - output: `[batch, seq, d_model]`
    pub fn attend(&self, tokens: Tensor<2, Int>, padding_mask: Option<Tensor<2, Bool>>) -> Tensor<3> {
        let [batch, seq] = tokens.dims();
        let mut x = self.tokens.forward(tokens); // [batch, seq, d_model]
        if let Some(positions) = &self.positions {
            let ids = position_ids(batch, seq, 0, &x.device());
            x = x + positions.forward(ids);
        }
        match &self.attention {
            SelfAttention::Simple(attention) => attention.forward(x, padding_mask),
            SelfAttention::MultiHead(attention) => attention.forward(x, padding_mask),
        }
    }

    /// Class logits; without a mask every position is real.
    ///
    /// # Shapes
    /// - `tokens`, `padding_mask`: `[batch, seq]`
    /// - output: `[batch, classes]`
    pub fn forward(&self, tokens: Tensor<2, Int>, padding_mask: Option<Tensor<2, Bool>>) -> Tensor<2> {
        let attended = self.attend(tokens, padding_mask.clone());
        self.output.forward(self.pooling.forward(attended, padding_mask))
    }
}

impl SequenceClassifier for AttentionClassifier {
    fn logits(&self, tokens: Tensor<2, Int>, padding_mask: Option<Tensor<2, Bool>>) -> Tensor<2> {
        self.forward(tokens, padding_mask)
    }
}
