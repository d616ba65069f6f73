//! `LlamaForCausalLM` with module names that follow Hugging Face's keys: `model.embed_tokens`,
//! `model.layers.N.{input_layernorm, self_attn.{q,k,v,o}_proj, post_attention_layernorm,
//! mlp.{gate,up,down}_proj}`, `model.norm`, `lm_head` (absent when tied to the embedding).

use burn::module::Module;
use burn::nn::{Embedding, Linear, RmsNorm};
use burn::tensor::activation::silu;
use burn::tensor::{Bool, DType, Int, Tensor};

use super::rotary::RotaryTables;
use crate::attention::scaled_dot_product_attention;
use crate::decoder::{Decoder, ForwardContext};
use crate::generation::LayerCache;
use crate::head_projection::HeadProjection;

/// Grouped-query self-attention: `n_head` query heads share `n_kv_head` key/value heads (query
/// head `h` reads key/value head `h / (n_head / n_kv_head)`, as transformers' `repeat_kv`; the
/// attention kernel reads the shared heads in place, see
/// [`scaled_dot_product_attention`]), rotary embeddings on queries and keys.
#[derive(Module, Debug)]
pub struct LlamaAttention {
    /// `[d_model, n_head * head_dim]`
    pub q_proj: Linear,
    /// `[d_model, n_kv_head * head_dim]`
    pub k_proj: Linear,
    /// `[d_model, n_kv_head * head_dim]`
    pub v_proj: Linear,
    /// `[n_head * head_dim, d_model]`
    pub o_proj: Linear,
    pub n_head: usize,
    pub n_kv_head: usize,
    pub head_dim: usize,
}

impl LlamaAttention {
    /// The cache keeps keys after rotation, one per key/value head.
    ///
    /// # Shapes
    /// - `x`: `[batch, seq, d_model]`, the `seq` newest positions
    /// - output: `[batch, seq, d_model]`
    ///
    /// # Panics
    /// If `context` has no rotary angles (it was not built by a Llama's [`Decoder::context`]).
    pub fn forward(&self, x: Tensor<3>, context: &ForwardContext, cache: &mut Option<LayerCache>) -> Tensor<3> {
        let rotary = context.rotary.as_ref().expect("a Llama forward context carries rotary angles");
        let [batch, seq, _] = x.dims();
        let heads = |t: Tensor<3>, count: usize| t.reshape([batch, seq, count, self.head_dim]).swap_dims(1, 2);
        let queries = rotary.apply(heads(self.q_proj.forward(x.clone()), self.n_head)); // [b, h, s, hd]
        let keys = rotary.apply(heads(self.k_proj.forward(x.clone()), self.n_kv_head)); // [b, kv, s, hd]
        let values = heads(self.v_proj.forward(x), self.n_kv_head); // [b, kv, s, hd]
        let (keys, values) = LayerCache::extend(cache, keys, values); // [b, kv, seen + s, hd]
        let scale = (self.head_dim as f64).powf(-0.5);
        let context = scaled_dot_product_attention(queries, keys, values, &context.mask, scale); // [b, h, s, hd]
        self.o_proj.forward(context.swap_dims(1, 2).reshape([batch, seq, self.n_head * self.head_dim]))
    }
}

/// SwiGLU feed-forward layer: `down_proj(silu(gate_proj(x)) * up_proj(x))`.
#[derive(Module, Debug)]
pub struct LlamaMlp {
    pub gate_proj: Linear,
    pub up_proj: Linear,
    pub down_proj: Linear,
}

impl LlamaMlp {
    /// # Shapes
    /// `[batch, seq, d_model]` → `[batch, seq, d_model]`
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        self.down_proj.forward(silu(self.gate_proj.forward(x.clone())) * self.up_proj.forward(x))
    }
}

/// A pre-norm layer: `x + self_attn(input_layernorm(x))`, then
/// `x + mlp(post_attention_layernorm(x))`.
#[derive(Module, Debug)]
pub struct LlamaDecoderLayer {
    pub self_attn: LlamaAttention,
    pub mlp: LlamaMlp,
    pub input_layernorm: RmsNorm,
    pub post_attention_layernorm: RmsNorm,
}

impl LlamaDecoderLayer {
    /// # Shapes
    /// `x`: `[batch, seq, d_model]` → `[batch, seq, d_model]`
    pub fn forward(&self, x: Tensor<3>, context: &ForwardContext, cache: &mut Option<LayerCache>) -> Tensor<3> {
        let x = x.clone() + self.self_attn.forward(self.input_layernorm.forward(x), context, cache);
        x.clone() + self.mlp.forward(self.post_attention_layernorm.forward(x))
    }
}

/// `LlamaModel`: the embedding, the layers and the final norm (HF's `model.` prefix).
#[derive(Module, Debug)]
pub struct LlamaModel {
    /// `[vocab, d_model]`
    pub embed_tokens: Embedding,
    pub layers: Vec<LlamaDecoderLayer>,
    pub norm: RmsNorm,
}

/// `LlamaForCausalLM`: [`LlamaModel`] and an output head, tied to `embed_tokens` when
/// `lm_head` is `None`.
#[derive(Module, Debug)]
pub struct Llama {
    pub model: LlamaModel,
    /// `[d_model, vocab]`; `None` when the config ties the head to the embedding.
    pub lm_head: Option<Linear>,
    pub rotary: RotaryTables,
    pub max_position_embeddings: usize,
}

impl Decoder for Llama {
    fn n_layer(&self) -> usize {
        self.model.layers.len()
    }

    fn d_model(&self) -> usize {
        self.model.embed_tokens.weight.dims()[1]
    }

    fn vocab_size(&self) -> usize {
        self.model.embed_tokens.weight.dims()[0]
    }

    fn dtype(&self) -> DType {
        self.model.embed_tokens.weight.val().dtype()
    }

    fn max_positions(&self) -> usize {
        self.max_position_embeddings
    }

    /// Token embeddings (Llama has no position embeddings: positions enter through rotary).
    fn embed(&self, ids: Tensor<2, Int>, _positions: Tensor<2, Int>) -> Tensor<3> {
        self.model.embed_tokens.forward(ids)
    }

    /// The causal mask and the rotary angles of `positions`.
    fn context(&self, positions: Tensor<2, Int>, padding: Option<Tensor<2, Bool>>, _seen: usize) -> ForwardContext {
        ForwardContext { rotary: Some(self.rotary.angles(positions)), ..ForwardContext::causal(padding) }
    }

    fn block(&self, index: usize, x: Tensor<3>, context: &ForwardContext, cache: &mut Option<LayerCache>) -> Tensor<3> {
        self.model.layers[index].forward(x, context, cache)
    }

    fn rotary_tables(&self) -> Option<&RotaryTables> {
        Some(&self.rotary)
    }

    /// `model.norm`.
    fn final_norm(&self, x: Tensor<3>) -> Tensor<3> {
        self.model.norm.forward(x)
    }

    /// `lm_head`, or the embedding when tied.
    fn head_projection(&self) -> HeadProjection {
        match &self.lm_head {
            Some(lm_head) => {
                HeadProjection { weight: lm_head.weight.val(), bias: lm_head.bias.as_ref().map(|bias| bias.val()) }
            }
            None => HeadProjection::tied(self.model.embed_tokens.weight.val()),
        }
    }
}
