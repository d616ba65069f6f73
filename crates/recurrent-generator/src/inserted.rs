use burn::module::{Module, Param};
use burn::nn::{Gru, GruConfig};
use burn::tensor::{Device, Tensor};
use retrofit_core::CoreError;
use retrofit_core::attention::HeadForm;
use retrofit_core::block::{NormPlacement, TransformerBlock, TransformerBlockConfig};
use retrofit_core::fast_gru::gru_forward;

/// Whether an inserted block runs a GRU along the tokens (`token-gru`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenGru {
    Without,
    Along,
}

/// A trainable block inserted between frozen base blocks:
/// `y = x + mult * (block(x + cond) + gru(x + cond))`, `mult` a learned scalar that starts at 0,
/// so that at initialisation the block passes its input through unchanged.
#[derive(Module, Debug)]
pub struct InsertedBlock {
    /// former's post-norm causal block (ReLU feed-forward), narrow heads.
    pub block: TransformerBlock,
    /// `token-gru` only: a GRU along the tokens.
    pub gru: Option<Gru>,
    /// The gate. `[1]`
    pub mult: Param<Tensor<1>>,
}

impl InsertedBlock {
    pub fn new(
        d_model: usize,
        heads: usize,
        ff_mult: usize,
        token_gru: TokenGru,
        device: &Device,
    ) -> Result<Self, CoreError> {
        let block = TransformerBlockConfig::new(d_model, heads)
            .with_form(HeadForm::Narrow)
            .with_ff_mult(ff_mult)
            .with_causal(true)
            .with_norm(NormPlacement::Post)
            .init(device)?;
        Ok(Self {
            block,
            gru: (token_gru == TokenGru::Along).then(|| GruConfig::new(d_model, d_model, true).init(device)),
            mult: Param::from_tensor(Tensor::zeros([1], device)),
        })
    }

    /// # Shapes
    /// - `x`: `[batch, seq, d_model]`
    /// - `cond`: `[batch, 1, d_model]`, added at every position
    /// - output: `[batch, seq, d_model]`
    pub fn forward(&self, x: Tensor<3>, cond: Option<Tensor<3>>) -> Tensor<3> {
        let input = match cond {
            Some(cond) => x.clone() + cond,
            None => x.clone(),
        };
        let mut update = self.block.forward(input.clone(), None);
        if let Some(gru) = &self.gru {
            update = update + gru_forward(gru, input, None);
        }
        x + update * self.mult.val().reshape([1, 1, 1])
    }
}
