use burn::module::Module;
use burn::nn::{Embedding, LayerNorm, Linear};
use burn::tensor::activation::gelu_approximate;
use burn::tensor::{Bool, Int, Tensor};

use crate::attention::scaled_dot_product_attention;

/// Keys and values of one layer for the positions seen so far.
#[derive(Debug, Clone)]
pub struct LayerCache {
    /// `[batch, heads, seen, head_dim]`
    pub keys: Tensor<4>,
    /// `[batch, heads, seen, head_dim]`
    pub values: Tensor<4>,
}

/// The key/value cache of every layer.
#[derive(Debug, Clone, Default)]
pub struct KvCache {
    pub layers: Vec<Option<LayerCache>>,
}

impl KvCache {
    pub fn new(layers: usize) -> Self {
        Self { layers: vec![None; layers] }
    }

    /// Positions already cached.
    pub fn len(&self) -> usize {
        self.layers.first().and_then(|layer| layer.as_ref()).map_or(0, |layer| layer.keys.dims()[2])
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

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
    /// - `key_mask`: `[batch, 1, seq, seen + seq]`, `true` where a key must not be attended to
    ///   (causality and padding together)
    /// - output: `[batch, seq, n_embd]`
    pub fn forward(&self, x: Tensor<3>, key_mask: Tensor<4, Bool>, cache: &mut Option<LayerCache>) -> Tensor<3> {
        let [batch, seq, n_embd] = x.dims();
        let head_dim = n_embd / self.n_head;
        let qkv = self.c_attn.forward(x); // [batch, seq, 3 * n_embd]
        let heads = |t: Tensor<3>| t.reshape([batch, seq, self.n_head, head_dim]).swap_dims(1, 2);
        let mut parts = qkv.chunk(3, 2).into_iter().map(heads);
        let (queries, mut keys, mut values) = (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
        if let Some(past) = cache.take() {
            keys = Tensor::cat(vec![past.keys, keys], 2);
            values = Tensor::cat(vec![past.values, values], 2);
        }
        *cache = Some(LayerCache { keys: keys.clone(), values: values.clone() });
        let scale = (head_dim as f64).powf(-0.5);
        let context = scaled_dot_product_attention(queries, keys, values, Some(key_mask), false, scale)
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
    pub fn forward(&self, x: Tensor<3>, key_mask: Tensor<4, Bool>, cache: &mut Option<LayerCache>) -> Tensor<3> {
        let x = x.clone() + self.attn.forward(self.ln_1.forward(x), key_mask, cache);
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

impl Gpt2 {
    /// Token plus position embeddings.
    ///
    /// # Shapes
    /// - `ids`, `positions`: `[batch, seq]` → `[batch, seq, n_embd]`
    pub fn embed(&self, ids: Tensor<2, Int>, positions: Tensor<2, Int>) -> Tensor<3> {
        self.wte.forward(ids) + self.wpe.forward(positions)
    }

    /// The attention mask for `seq` new positions after `seen` cached ones: causal, plus the
    /// padded keys of `padding` (`[batch, seen + seq]`, `true` at padding).
    ///
    /// # Shapes
    /// output: `[batch, 1, seq, seen + seq]`
    pub fn key_mask(
        &self,
        batch: usize,
        seq: usize,
        seen: usize,
        padding: Option<Tensor<2, Bool>>,
        device: &burn::tensor::Device,
    ) -> Tensor<4, Bool> {
        crate::attention::cached_causal_mask(batch, seq, seen, padding, device)
    }

    /// The final hidden states (after `ln_f`) of `ids`, continuing the cache when one is given.
    ///
    /// # Shapes
    /// - `ids`, `positions`: `[batch, seq]`
    /// - `padding`: `[batch, seen + seq]`, `true` at padded positions (left padding)
    /// - output: `[batch, seq, n_embd]`
    pub fn hidden(
        &self,
        ids: Tensor<2, Int>,
        positions: Tensor<2, Int>,
        padding: Option<Tensor<2, Bool>>,
        cache: &mut KvCache,
    ) -> Tensor<3> {
        let [batch, seq] = ids.dims();
        if cache.layers.len() != self.h.len() {
            *cache = KvCache::new(self.h.len());
        }
        let mask = self.key_mask(batch, seq, cache.len(), padding, &ids.device());
        let mut x = self.embed(ids, positions);
        for (block, layer_cache) in self.h.iter().zip(cache.layers.iter_mut()) {
            x = block.forward(x, mask.clone(), layer_cache);
        }
        self.ln_f.forward(x)
    }

    /// Logits of hidden states through the tied head.
    ///
    /// # Shapes
    /// `[batch, seq, n_embd]` → `[batch, seq, vocab]`
    pub fn head(&self, hidden: Tensor<3>) -> Tensor<3> {
        crate::tied_head::tied_logits(hidden, self.wte.weight.val())
    }

    /// Logits of a whole sequence without padding or cache, positions `0..seq`.
    ///
    /// # Shapes
    /// `ids`: `[batch, seq]` → `[batch, seq, vocab]`
    pub fn forward(&self, ids: Tensor<2, Int>) -> Tensor<3> {
        let [batch, seq] = ids.dims();
        let positions = crate::positions::position_ids(batch, seq, 0, &ids.device());
        self.head(self.hidden(ids, positions, None, &mut KvCache::default()))
    }
}

impl crate::language_model::CausalLm for Gpt2 {
    fn logits(&self, inputs: Tensor<2, Int>) -> Tensor<3> {
        self.forward(inputs)
    }
}
