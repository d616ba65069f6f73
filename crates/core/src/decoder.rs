//! The seam every pre-trained family implements: a decoder-only transformer seen as embeddings
//! → indexable blocks → final norm → head, with what its blocks share per forward pass. Whole
//! forward passes, cached generation ([`crate::generation`]) and language-model evaluation
//! ([`CausalLm`]) are written once over it, and blocks can be inserted between a base's blocks
//! without knowing its family.

use burn::module::{Module, ModuleDisplay};
use burn::tensor::{Bool, DType, Int, Tensor};

use crate::attention::AttentionMask;
use crate::generation::{KvCache, LayerCache};
use crate::head_projection::HeadProjection;
use crate::language_model::CausalLm;
use crate::llama::{RotaryAngles, RotaryTables};

/// What every block of one forward pass shares, built once per forward by
/// [`Decoder::context`].
#[derive(Debug, Clone)]
pub struct ForwardContext {
    /// Causal after the cache, plus the padded keys (`[batch, seen + seq]`) when the batch has
    /// padding.
    pub mask: AttentionMask,
    /// Rotary cos/sin of the `seq` new positions, for families with rotary positions.
    pub rotary: Option<RotaryAngles>,
}

impl ForwardContext {
    /// The causal mask after the cache, plus the padded keys of `padding` (`[batch, seen + seq]`,
    /// `true` at padding), and no rotary angles.
    pub fn causal(padding: Option<Tensor<2, Bool>>) -> Self {
        Self { mask: AttentionMask::causal(padding), rotary: None }
    }
}

/// A decoder-only causal language model of one family (GPT-2, Llama, Qwen2).
pub trait Decoder {
    /// Number of blocks.
    fn n_layer(&self) -> usize;
    /// Width of the residual stream.
    fn d_model(&self) -> usize;
    fn vocab_size(&self) -> usize;
    /// Longest sequence the model takes (positions `0..max_positions`).
    fn max_positions(&self) -> usize;
    /// The format the weights are in (that of the token embedding).
    fn dtype(&self) -> DType;

    /// The input of the first block.
    ///
    /// # Shapes
    /// - `ids`, `positions`: `[batch, seq]`
    /// - output: `[batch, seq, d_model]`
    fn embed(&self, ids: Tensor<2, Int>, positions: Tensor<2, Int>) -> Tensor<3>;

    /// The input of the first block for vectors that are not tokens (memory tokens): `x` plus
    /// the family's position embeddings of `positions` (GPT-2's learned ones; a rotary family
    /// adds nothing here, its positions enter through [`context`](Self::context)).
    ///
    /// # Shapes
    /// - `x`: `[batch, seq, d_model]`, `positions`: `[batch, seq]`
    /// - output: `[batch, seq, d_model]`
    fn embed_vectors(&self, x: Tensor<3>, _positions: Tensor<2, Int>) -> Tensor<3> {
        x
    }

    /// The rotary tables, for a family with rotary positions (to move cached keys along).
    fn rotary_tables(&self) -> Option<&RotaryTables> {
        None
    }

    /// The mask (causal, plus padding) and position encodings of `seq` new positions after
    /// `seen` cached ones, for every block of one forward pass.
    ///
    /// # Shapes
    /// - `positions`: `[batch, seq]` (each row counts its real tokens: left padding shifts them)
    /// - `padding`: `[batch, seen + seq]`, `true` at padded positions
    fn context(&self, _positions: Tensor<2, Int>, padding: Option<Tensor<2, Bool>>, _seen: usize) -> ForwardContext {
        ForwardContext::causal(padding)
    }

    /// Block `index` (`0..n_layer`), continuing its cache (`None` to run without one).
    ///
    /// # Shapes
    /// `x`: `[batch, seq, d_model]` → `[batch, seq, d_model]`
    ///
    /// # Panics
    /// If `index >= n_layer()`.
    fn block(&self, index: usize, x: Tensor<3>, context: &ForwardContext, cache: &mut Option<LayerCache>) -> Tensor<3>;

    /// The norm after the last block.
    ///
    /// # Shapes
    /// `[batch, seq, d_model]` → `[batch, seq, d_model]`
    fn final_norm(&self, x: Tensor<3>) -> Tensor<3>;

    /// The output head as one projection (the embedding's transpose when tied), in the weights'
    /// format.
    fn head_projection(&self) -> HeadProjection;

    /// Logits of final hidden states (after [`final_norm`](Self::final_norm)).
    ///
    /// # Shapes
    /// `[batch, seq, d_model]` → `[batch, seq, vocab]`
    fn head(&self, hidden: Tensor<3>) -> Tensor<3> {
        self.head_projection().logits(hidden)
    }

    /// The final hidden states (after the final norm) of `ids`, continuing the cache.
    ///
    /// # Shapes
    /// - `ids`, `positions`: `[batch, seq]`
    /// - `padding`: `[batch, seen + seq]`, `true` at padded positions (left padding)
    /// - output: `[batch, seq, d_model]`
    fn hidden(
        &self,
        ids: Tensor<2, Int>,
        positions: Tensor<2, Int>,
        padding: Option<Tensor<2, Bool>>,
        cache: &mut KvCache,
    ) -> Tensor<3> {
        if cache.layers.len() != self.n_layer() {
            *cache = KvCache::new(self.n_layer());
        }
        let context = self.context(positions.clone(), padding, cache.len());
        let mut x = self.embed(ids, positions);
        for (index, layer_cache) in cache.layers.iter_mut().enumerate() {
            x = self.block(index, x, &context, layer_cache);
        }
        self.final_norm(x)
    }

    /// Logits of a whole sequence without padding or cache, positions `0..seq`.
    ///
    /// # Shapes
    /// `ids`: `[batch, seq]` → `[batch, seq, vocab]`
    fn forward(&self, ids: Tensor<2, Int>) -> Tensor<3> {
        let [batch, seq] = ids.dims();
        let positions = crate::positions::position_ids(batch, seq, 0, &ids.device());
        self.head(self.hidden(ids, positions, None, &mut KvCache::default()))
    }
}

impl<M: Decoder + Module + ModuleDisplay + 'static> CausalLm for M {
    fn logits(&self, inputs: Tensor<2, Int>) -> Tensor<3> {
        self.forward(inputs)
    }
}
