//! `LlamaForCausalLM` with module names that follow Hugging Face's keys: `model.embed_tokens`,
//! `model.layers.N.{input_layernorm, self_attn.{q,k,v,o}_proj, post_attention_layernorm,
//! mlp.{gate,up,down}_proj}`, `model.norm`, `lm_head` (absent when tied to the embedding).

use burn::module::Module;
use burn::nn::{Embedding, Linear, RmsNorm};
use burn::tensor::activation::silu;
use burn::tensor::{Bool, Device, Int, Tensor};

use super::rotary::{RotaryAngles, RotaryTables};
use crate::attention::{cached_causal_mask, scaled_dot_product_attention};
use crate::gpt2::{KvCache, LayerCache};

/// What every layer of one forward pass shares, built once per forward by [`Llama::context`].
#[derive(Debug, Clone)]
pub struct LlamaContext {
    /// `[batch, 1, seq, seen + seq]`, `true` where a key must not be attended to (causality and
    /// padding together).
    pub key_mask: Tensor<4, Bool>,
    /// Rotary cos/sin of the `seq` new positions.
    pub rotary: RotaryAngles,
}

/// Grouped-query self-attention: `n_head` query heads share `n_kv_head` key/value heads (query
/// head `h` reads key/value head `h / (n_head / n_kv_head)`, as transformers' `repeat_kv`),
/// rotary embeddings on queries and keys.
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
    /// The cache keeps keys after rotation and before they are repeated for the query heads.
    ///
    /// # Shapes
    /// - `x`: `[batch, seq, d_model]`, the `seq` newest positions
    /// - output: `[batch, seq, d_model]`
    pub fn forward(&self, x: Tensor<3>, context: &LlamaContext, cache: &mut Option<LayerCache>) -> Tensor<3> {
        let [batch, seq, _] = x.dims();
        let heads = |t: Tensor<3>, count: usize| t.reshape([batch, seq, count, self.head_dim]).swap_dims(1, 2);
        let queries = context.rotary.apply(heads(self.q_proj.forward(x.clone()), self.n_head)); // [b, h, s, hd]
        let mut keys = context.rotary.apply(heads(self.k_proj.forward(x.clone()), self.n_kv_head)); // [b, kv, s, hd]
        let mut values = heads(self.v_proj.forward(x), self.n_kv_head); // [b, kv, s, hd]
        if let Some(past) = cache.take() {
            keys = Tensor::cat(vec![past.keys, keys], 2);
            values = Tensor::cat(vec![past.values, values], 2);
        }
        *cache = Some(LayerCache { keys: keys.clone(), values: values.clone() });
        let keys = self.repeat_kv(keys); // [b, h, seen + s, hd]
        let values = self.repeat_kv(values);
        let scale = (self.head_dim as f64).powf(-0.5);
        let context = scaled_dot_product_attention(queries, keys, values, Some(context.key_mask.clone()), false, scale); // [b, h, s, hd]
        self.o_proj.forward(context.swap_dims(1, 2).reshape([batch, seq, self.n_head * self.head_dim]))
    }

    /// Each key/value head repeated for the query heads that share it.
    ///
    /// # Shapes
    /// `[batch, n_kv_head, len, head_dim]` → `[batch, n_head, len, head_dim]`
    fn repeat_kv(&self, x: Tensor<4>) -> Tensor<4> {
        let repeats = self.n_head / self.n_kv_head;
        if repeats == 1 {
            return x;
        }
        let [batch, kv_heads, len, head_dim] = x.dims();
        x.unsqueeze_dim::<5>(2).expand([batch, kv_heads, repeats, len, head_dim]).reshape([
            batch,
            kv_heads * repeats,
            len,
            head_dim,
        ])
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
    pub fn forward(&self, x: Tensor<3>, context: &LlamaContext, cache: &mut Option<LayerCache>) -> Tensor<3> {
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

impl Llama {
    /// Number of decoder layers.
    pub fn n_layer(&self) -> usize {
        self.model.layers.len()
    }

    /// Width of the residual stream.
    pub fn d_model(&self) -> usize {
        self.model.embed_tokens.weight.dims()[1]
    }

    pub fn vocab_size(&self) -> usize {
        self.model.embed_tokens.weight.dims()[0]
    }

    /// Token embeddings (Llama has no position embeddings: positions enter through rotary).
    ///
    /// # Shapes
    /// `ids`: `[batch, seq]` → `[batch, seq, d_model]`
    pub fn embed(&self, ids: Tensor<2, Int>) -> Tensor<3> {
        self.model.embed_tokens.forward(ids)
    }

    /// The mask and rotary angles of `seq` new positions after `seen` cached ones.
    ///
    /// # Shapes
    /// - `positions`: `[batch, seq]` (each row counts its real tokens: left padding shifts them)
    /// - `padding`: `[batch, seen + seq]`, `true` at padded positions
    pub fn context(&self, positions: Tensor<2, Int>, padding: Option<Tensor<2, Bool>>, seen: usize) -> LlamaContext {
        let [batch, seq] = positions.dims();
        let device: Device = positions.device();
        LlamaContext {
            key_mask: cached_causal_mask(batch, seq, seen, padding, &device),
            rotary: self.rotary.angles(positions),
        }
    }

    /// The final hidden states (after `model.norm`) of `ids`, continuing the cache.
    ///
    /// # Shapes
    /// - `ids`, `positions`: `[batch, seq]`
    /// - `padding`: `[batch, seen + seq]`, `true` at padded positions (left padding)
    /// - output: `[batch, seq, d_model]`
    pub fn hidden(
        &self,
        ids: Tensor<2, Int>,
        positions: Tensor<2, Int>,
        padding: Option<Tensor<2, Bool>>,
        cache: &mut KvCache,
    ) -> Tensor<3> {
        if cache.layers.len() != self.n_layer() {
            *cache = KvCache::new(self.n_layer());
        }
        let context = self.context(positions, padding, cache.len());
        let mut x = self.embed(ids);
        for (layer, layer_cache) in self.model.layers.iter().zip(cache.layers.iter_mut()) {
            x = layer.forward(x, &context, layer_cache);
        }
        self.model.norm.forward(x)
    }

    /// Logits of final hidden states through `lm_head`, or the embedding when tied.
    ///
    /// # Shapes
    /// `[batch, seq, d_model]` → `[batch, seq, vocab]`
    pub fn head(&self, hidden: Tensor<3>) -> Tensor<3> {
        match &self.lm_head {
            Some(lm_head) => lm_head.forward(hidden),
            None => crate::tied_head::tied_logits(hidden, self.model.embed_tokens.weight.val()),
        }
    }

    /// Logits of a whole sequence without padding or cache, positions `0..seq`.
    ///
    /// # Shapes
    /// `ids`: `[batch, seq]` → `[batch, seq, vocab]`
    pub fn forward(&self, ids: Tensor<2, Int>) -> Tensor<3> {
        let [batch, seq] = ids.dims();
        let positions = Tensor::<1, Int>::arange(0..seq as i64, &ids.device()).reshape([1, seq]).expand([batch, seq]);
        self.head(self.hidden(ids, positions, None, &mut KvCache::default()))
    }
}

impl crate::language_model::CausalLm for Llama {
    fn logits(&self, inputs: Tensor<2, Int>) -> Tensor<3> {
        self.forward(inputs)
    }
}
