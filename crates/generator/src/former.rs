use burn::module::Module;
use burn::nn::{Embedding, EmbeddingConfig, Linear, LinearConfig};
use burn::tensor::{Device, Int, Tensor};
use retrofit_core::block::TransformerBlock;
use retrofit_core::positions::position_ids;

/// former's GTransformer: token + learned position embeddings, causal transformer blocks, a
/// linear layer to the vocabulary.
#[derive(Module, Debug)]
pub struct FormerLm {
    pub tokens: Embedding,
    pub positions: Embedding,
    pub blocks: Vec<TransformerBlock>,
    pub output: Linear,
}

impl FormerLm {
    /// A model over `vocab_size` tokens for windows of up to `context` positions.
    pub fn new(
        vocab_size: usize,
        context: usize,
        d_model: usize,
        blocks: Vec<TransformerBlock>,
        device: &Device,
    ) -> Self {
        Self {
            tokens: EmbeddingConfig::new(vocab_size, d_model).init(device),
            positions: EmbeddingConfig::new(context, d_model).init(device),
            blocks,
            output: LinearConfig::new(d_model, vocab_size).init(device),
        }
    }

    /// Positions the model can see at once.
    pub fn context(&self) -> usize {
        self.positions.weight.dims()[0]
    }

    /// # Shapes
    /// - `inputs`: `[batch, seq]`, `seq <= context`
    /// - output: `[batch, seq, vocab]`
    pub fn forward(&self, inputs: Tensor<2, Int>) -> Tensor<3> {
        let [batch, seq] = inputs.dims();
        let positions = position_ids(batch, seq, 0, &inputs.device());
        let mut x = self.tokens.forward(inputs) + self.positions.forward(positions);
        for block in &self.blocks {
            x = block.forward(x, None);
        }
        self.output.forward(x)
    }
}
