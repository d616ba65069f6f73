//! A decoder's output head as one projection, `logits = hidden · weight + bias`: what computing
//! the logits and the fused loss ([`crate::linear_cross_entropy`]) both read.

use burn::tensor::{Int, Tensor};

use crate::linear_cross_entropy::{TokenLoss, linear_cross_entropy};

/// The head's parameters in the orientation of the product.
#[derive(Debug, Clone)]
pub struct HeadProjection {
    /// `[d_model, vocab]`; a head tied to the token embedding is the embedding's transpose, a
    /// view that libtorch's GEMM reads in place.
    pub weight: Tensor<2>,
    /// `[vocab]`
    pub bias: Option<Tensor<1>>,
}

impl HeadProjection {
    /// The head tied to a token embedding.
    ///
    /// # Shapes
    /// `embedding`: `[vocab, d_model]`
    pub fn tied(embedding: Tensor<2>) -> Self {
        Self { weight: embedding.transpose(), bias: None }
    }

    /// Logits of hidden states: one 2-D matmul (a batched matmul against the broadcast weight is
    /// slower: 7x in bf16 on the CPU).
    ///
    /// # Shapes
    /// `hidden`: `[batch, seq, d_model]` → `[batch, seq, vocab]`
    pub fn logits(&self, hidden: Tensor<3>) -> Tensor<3> {
        let [batch, seq, d_model] = hidden.dims();
        let [_, vocab] = self.weight.dims();
        let logits = hidden.reshape([batch * seq, d_model]).matmul(self.weight.clone());
        let logits = match &self.bias {
            Some(bias) => logits + bias.clone().unsqueeze::<2>(),
            None => logits,
        };
        logits.reshape([batch, seq, vocab])
    }

    /// The cross-entropy of `targets`, `scale * Σ nll`, with `extra_bias` added to the logits,
    /// without materialising them ([`linear_cross_entropy`]).
    ///
    /// # Shapes
    /// - `hidden`: `[batch, seq, d_model]`, float32
    /// - `targets`: `[batch, seq]`
    /// - `extra_bias`: `[vocab]`
    /// - output: the loss `[1]` and the NLL `[batch * seq]`, row after row
    pub fn loss(
        &self,
        hidden: Tensor<3>,
        targets: Tensor<2, Int>,
        extra_bias: Option<Tensor<1>>,
        scale: f64,
    ) -> TokenLoss {
        let [batch, seq, d_model] = hidden.dims();
        let bias = match (self.bias.clone(), extra_bias) {
            (Some(own), Some(extra)) => Some(own + extra),
            (own, extra) => own.or(extra),
        };
        linear_cross_entropy(
            hidden.reshape([batch * seq, d_model]),
            self.weight.clone(),
            bias,
            targets.reshape([batch * seq]),
            scale,
        )
    }
}
