//! `xl-cache` (Transformer-XL's recurrence): every attention layer, base and inserted, also
//! reads what the previous window's own forward computed there: each base block's keys and
//! values, each inserted block's input (whose keys and values its attention recomputes, as
//! Transformer-XL reads its cached hidden states). Since that forward itself read the window
//! before it, the cache reaches further back with depth, at no recomputation. Nothing in it
//! carries a gradient. For a rotary base the window takes positions `len..len + seq` after a
//! cache of `len`, and the keys it leaves are rotated back to `0..seq`, so relative positions are
//! right and no position grows along a stream; a base with learned absolute positions cannot
//! continue them and is refused (`none-cache` recomputes the previous window at the positions the
//! base was trained on instead).

use burn::tensor::{Bool, Tensor};
use retrofit_core::generation::LayerCache;
use retrofit_core::llama::RotaryTables;

/// What a window leaves the next one under `xl-cache`.
#[derive(Debug, Clone)]
pub struct XlCache {
    /// Each base block's keys (rotated to positions `0..len`) and values,
    /// `[batch, kv_heads, len, head_dim]` each.
    pub base: Vec<LayerCache>,
    /// Each inserted block's input at the window's positions. `[batch, len, d_model]`
    pub inserted: Vec<Tensor<3>>,
    /// `[batch, len]`, `true` for the rows that must not read it (a reset).
    pub unread: Option<Tensor<2, Bool>>,
}

impl XlCache {
    /// Positions cached.
    pub fn len(&self) -> usize {
        self.inserted
            .first()
            .map(|input| input.dims()[1])
            .or_else(|| self.base.first().map(LayerCache::len))
            .unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Streams (batch rows).
    pub fn rows(&self) -> usize {
        self.inserted
            .first()
            .map(|input| input.dims()[0])
            .or_else(|| self.base.first().map(|cache| cache.keys().dims()[0]))
            .unwrap_or(0)
    }

    /// Row `s` becomes row `s + 1`'s.
    pub fn rolled(self) -> Self {
        Self {
            base: self
                .base
                .into_iter()
                .map(|cache| LayerCache::new(cache.keys().roll_dim(-1, 0), cache.values().roll_dim(-1, 0)))
                .collect(),
            inserted: self.inserted.into_iter().map(|input| input.roll_dim(-1, 0)).collect(),
            unread: self.unread.map(|unread| unread.roll_dim(-1, 0)),
        }
    }
}

/// Collects what one window's forward leaves the next under `xl-cache`.
#[derive(Debug, Default)]
pub(crate) struct XlRecorder {
    base: Vec<LayerCache>,
    inserted: Vec<Tensor<3>>,
}

impl XlRecorder {
    /// An inserted block's input (detached).
    pub fn inserted(&mut self, input: &Tensor<3>) {
        self.inserted.push(input.clone().detach());
    }

    /// A base block's cache after the window: the window's own `seq` newest positions, which sat
    /// after `seen` cached ones, moved back to `0..seq` (detached).
    pub fn base(&mut self, cache: LayerCache, seen: usize, rotary: &RotaryTables) {
        let (keys, values) = (cache.keys(), cache.values());
        let [batch, heads, total, dim] = keys.dims();
        let own = [0..batch, 0..heads, seen..total, 0..dim];
        let keys = rotary.rotate_back(keys.slice(own.clone()).detach(), seen);
        self.base.push(LayerCache::new(keys, values.slice(own).detach()));
    }

    pub fn finish(self) -> XlCache {
        XlCache { base: self.base, inserted: self.inserted, unread: None }
    }
}
