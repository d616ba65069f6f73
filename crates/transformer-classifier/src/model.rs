use burn::module::Module;
use burn::nn::{Embedding, Linear};
use burn::tensor::{Bool, Int, Tensor};
use retrofit_core::block::TransformerBlock;
use retrofit_core::classification::SequenceClassifier;
use retrofit_core::pooling::Pooling;
use retrofit_core::positions::position_ids;

/// Token + position embeddings, `depth` transformer blocks, pooling, linear.
#[derive(Module, Debug)]
pub struct TransformerClassifier {
    pub tokens: Embedding,
    pub positions: Embedding,
    pub blocks: Vec<TransformerBlock>,
    #[module(skip)]
    pub pooling: Pooling,
    pub output: Linear,
}

impl TransformerClassifier {
    /// Class logits; without a mask every position is real.
    ///
    /// # Shapes
    /// - `tokens`, `padding_mask`: `[batch, seq]`
    /// - output: `[batch, classes]`
    pub fn forward(&self, tokens: Tensor<2, Int>, padding_mask: Option<Tensor<2, Bool>>) -> Tensor<2> {
        let [batch, seq] = tokens.dims();
        let device = tokens.device();
        let ids = position_ids(batch, seq, 0, &device);
        let mut x = self.tokens.forward(tokens) + self.positions.forward(ids); // [batch, seq, d_model]
        for block in &self.blocks {
            x = block.forward(x, padding_mask.clone());
        }
        self.output.forward(self.pooling.forward(x, padding_mask))
    }
}

impl SequenceClassifier for TransformerClassifier {
    fn logits(&self, tokens: Tensor<2, Int>, padding_mask: Option<Tensor<2, Bool>>) -> Tensor<2> {
        self.forward(tokens, padding_mask)
    }
}
