use burn::module::{Module, Param};
use burn::nn::attention::{MhaInput, MultiHeadAttention, MultiHeadAttentionConfig};
use burn::nn::{Gru, GruConfig};
use burn::tensor::{Bool, Device, Tensor};
use retrofit_core::CoreError;
use retrofit_core::attention::HeadForm;
use retrofit_core::block::{NormPlacement, TransformerBlock, TransformerBlockConfig};
use retrofit_core::fast_gru::gru_forward;

/// What an inserted block has besides its transformer block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockExtra {
    Plain,
    /// `token-gru`: a GRU along the tokens.
    TokenGru,
    /// `memory`: an attention read of the memory slots.
    MemoryRead,
}

/// What one window's inserted block reads besides its input.
#[derive(Debug, Clone, Default)]
pub struct WindowInputs {
    /// `segment-state`: added at every position. `[batch, 1, d_model]`
    pub cond: Option<Tensor<3>>,
    /// `memory`: the slots the block reads. `[batch, slots, d_model]`
    pub memory: Option<Tensor<3>>,
}

/// `none-cache`: this block's input at the previous window's positions (no gradient), which its
/// attention also reads.
#[derive(Debug, Clone)]
pub struct BlockPrefix {
    /// `[batch, context, d_model]`
    pub input: Tensor<3>,
    /// `[batch, context]`, `true` for the rows whose previous window is not to be read (a reset).
    pub padding: Option<Tensor<2, Bool>>,
}

/// A trainable block inserted between frozen base blocks:
/// `y = x + mult * (block(x + cond) + gru(x + cond) + read(x, memory))`, `mult` a learned scalar
/// that starts at 0, so that at initialisation the block passes its input through unchanged.
#[derive(Module, Debug)]
pub struct InsertedBlock {
    /// former's post-norm causal block (ReLU feed-forward), narrow heads.
    pub block: TransformerBlock,
    /// `token-gru` only: a GRU along the tokens.
    pub gru: Option<Gru>,
    /// `memory` only: the tokens query the memory slots.
    pub read: Option<MultiHeadAttention>,
    /// The gate. `[1]`
    pub mult: Param<Tensor<1>>,
}

impl InsertedBlock {
    pub fn new(
        d_model: usize,
        heads: usize,
        ff_mult: usize,
        extra: BlockExtra,
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
            gru: (extra == BlockExtra::TokenGru).then(|| GruConfig::new(d_model, d_model, true).init(device)),
            read: (extra == BlockExtra::MemoryRead)
                .then(|| MultiHeadAttentionConfig::new(d_model, heads).with_dropout(0.0).init(device)),
            mult: Param::from_tensor(Tensor::zeros([1], device)),
        })
    }

    /// # Shapes
    /// - `x`: `[batch, seq, d_model]`
    /// - output: `[batch, seq, d_model]`
    pub fn forward(&self, x: Tensor<3>, inputs: &WindowInputs, prefix: Option<BlockPrefix>) -> Tensor<3> {
        let input = match &inputs.cond {
            Some(cond) => x.clone() + cond.clone(),
            None => x.clone(),
        };
        let mut update = match prefix {
            Some(prefix) => self.block.forward_after(input.clone(), prefix.input, prefix.padding),
            None => self.block.forward(input.clone(), None),
        };
        if let Some(gru) = &self.gru {
            update = update + gru_forward(gru, input.clone(), None);
        }
        if let (Some(read), Some(memory)) = (&self.read, &inputs.memory) {
            update = update + read.forward(MhaInput::new(input, memory.clone(), memory.clone())).context;
        }
        x + update * self.mult.val().reshape([1, 1, 1])
    }
}
