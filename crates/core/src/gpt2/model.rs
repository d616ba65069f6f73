use burn::module::Module;
use burn::nn::{Embedding, LayerNorm, Linear};
use burn::tensor::activation::gelu_approximate;
use burn::tensor::{DType, Int, Tensor};

use crate::attention::{AttentionMask, scaled_dot_product_attention};
use crate::decoder::{Decoder, ForwardContext};
use crate::generation::LayerCache;
use crate::head_projection::HeadProjection;

/// GPT-2's causal self-attention with a fused query/key/value projection (`c_attn`, stored
/// `[in, out]` as HF's Conv1D) and an output projection (`c_proj`).
#[derive(Module, Debug)]
pub struct Gpt2Attention {
    pub c_attn: Linear,
    pub c_proj: Linear,
    pub n_head: usize,
}

impl Gpt2Attention {
    /// # Shapes
    /// - `x`: `[batch, seq, n_embd]`, the `seq` newest positions
    /// - `mask`: causal after the cache, with the padded keys (`[batch, seen + seq]`) if any
    /// - output: `[batch, seq, n_embd]`
    pub fn forward(&self, x: Tensor<3>, mask: &AttentionMask, cache: &mut Option<LayerCache>) -> Tensor<3> {
        let [batch, seq, n_embd] = x.dims();
        let head_dim = n_embd / self.n_head;
        let qkv = self.c_attn.forward(x); // [batch, seq, 3 * n_embd]
        let heads = |t: Tensor<3>| t.reshape([batch, seq, self.n_head, head_dim]).swap_dims(1, 2);
        let mut parts = qkv.chunk(3, 2).into_iter().map(heads);
        let (queries, keys, values) = (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
        let (keys, values) = LayerCache::extend(cache, keys, values);
        let scale = (head_dim as f64).powf(-0.5);
        let context = scaled_dot_product_attention(queries, keys, values, mask, scale)
            .swap_dims(1, 2)
            .reshape([batch, seq, n_embd]);
        self.c_proj.forward(context)
    }
}

/// GPT-2's feed-forward layer: `c_fc`, GELU (tanh form), `c_proj`.
#[derive(Module, Debug)]
pub struct Gpt2Mlp {
    pub c_fc: Linear,
    pub c_proj: Linear,
}

impl Gpt2Mlp {
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        self.c_proj.forward(gelu_approximate(self.c_fc.forward(x)))
    }
}

/// A pre-norm block: `x + attn(ln_1(x))`, then `x + mlp(ln_2(x))`.
#[derive(Module, Debug)]
pub struct Gpt2Block {
    pub ln_1: LayerNorm,
    pub attn: Gpt2Attention,
    pub ln_2: LayerNorm,
    pub mlp: Gpt2Mlp,
}

impl Gpt2Block {
    /// # Shapes
    /// `x`: `[batch, seq, n_embd]` → `[batch, seq, n_embd]`
    pub fn forward(&self, x: Tensor<3>, mask: &AttentionMask, cache: &mut Option<LayerCache>) -> Tensor<3> {
        let x = x.clone() + self.attn.forward(self.ln_1.forward(x), mask, cache);
        x.clone() + self.mlp.forward(self.ln_2.forward(x))
    }
}

/// The GPT-2 language model; the output head is tied to `wte` (a matmul with its weight).
#[derive(Module, Debug)]
pub struct Gpt2 {
    pub wte: Embedding,
    pub wpe: Embedding,
    pub h: Vec<Gpt2Block>,
    pub ln_f: LayerNorm,
    pub n_positions: usize,
}

impl Decoder for Gpt2 {
    fn n_layer(&self) -> usize {
        self.h.len()
    }

    fn d_model(&self) -> usize {
        self.wte.weight.dims()[1]
    }

    fn vocab_size(&self) -> usize {
        self.wte.weight.dims()[0]
    }

    fn dtype(&self) -> DType {
        self.wte.weight.val().dtype()
    }

    fn max_positions(&self) -> usize {
        self.n_positions
    }

    /// Token plus position embeddings.
    fn embed(&self, ids: Tensor<2, Int>, positions: Tensor<2, Int>) -> Tensor<3> {
        self.wte.forward(ids) + self.wpe.forward(positions)
    }

    /// `x` plus the learned position embeddings.
    fn embed_vectors(&self, x: Tensor<3>, positions: Tensor<2, Int>) -> Tensor<3> {
        x + self.wpe.forward(positions)
    }

    fn block(&self, index: usize, x: Tensor<3>, context: &ForwardContext, cache: &mut Option<LayerCache>) -> Tensor<3> {
        self.h[index].forward(x, &context.mask, cache)
    }

    /// `ln_f`.
    fn final_norm(&self, x: Tensor<3>) -> Tensor<3> {
        self.ln_f.forward(x)
    }

    /// The tied head: a matmul with `wte`'s weight.
    fn head_projection(&self) -> HeadProjection {
        HeadProjection::tied(self.wte.weight.val())
    }
}
