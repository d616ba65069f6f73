//! `xl-cache` (Transformer-XL's recurrence): every attention layer, base and inserted, also
//! reads what the previous window's own forward computed there: each base block's keys and
//! values, each inserted block's input (whose keys and values its attention recomputes, as
//! Transformer-XL reads its cached hidden states). Since that forward itself read the window
//! before it, the cache reaches further back with depth, at no recomputation. Nothing in it
//! carries a gradient.
//!
//! **Attention sinks.** A frozen base parks much of its attention on a sequence's first tokens;
//! read without them (every window after the second sees only a previous window whose own first
//! token had a cache before it) SmolLM2 does worse than with no cache at all (measured: -0.098
//! bits per byte at window 64). So the stream's first `sinks` positions, as its first window
//! computed them, stay in the cache, as StreamingLLM keeps them: a window reads the sinks at
//! positions `0..sinks`, the previous window at `sinks..sinks + len` and itself after them (the
//! stream's second window reads the first at `0..len`, sinks included). Keys are moved along the
//! rotary positions (rotations compose), so no position grows along a stream; a base with learned
//! absolute positions cannot do this and is refused (`none-cache` recomputes the previous window
//! at the positions the base was trained on instead).

use burn::tensor::{Bool, Tensor};
use retrofit_core::generation::LayerCache;
use retrofit_core::llama::RotaryTables;

/// A stream's cached positions at every layer.
#[derive(Debug, Clone)]
pub struct LayerKeys {
    /// Each base block's keys (rotated to positions `0..len`) and values,
    /// `[batch, kv_heads, len, head_dim]` each.
    pub base: Vec<LayerCache>,
    /// Each inserted block's input. `[batch, len, d_model]`
    pub inserted: Vec<Tensor<3>>,
}

impl LayerKeys {
    /// Positions held.
    pub fn len(&self) -> usize {
        self.base.first().map_or(0, LayerCache::len)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Streams (batch rows).
    pub fn rows(&self) -> usize {
        self.base.first().map_or(0, |cache| cache.keys().dims()[0])
    }

    /// The first `count` positions.
    fn first(&self, count: usize) -> Self {
        Self {
            base: self
                .base
                .iter()
                .map(|cache| {
                    let [batch, heads, _, dim] = cache.keys().dims();
                    let range = [0..batch, 0..heads, 0..count, 0..dim];
                    LayerCache::new(cache.keys().slice(range.clone()), cache.values().slice(range))
                })
                .collect(),
            inserted: self
                .inserted
                .iter()
                .map(|input| {
                    let [batch, _, width] = input.dims();
                    input.clone().slice([0..batch, 0..count, 0..width])
                })
                .collect(),
        }
    }

    /// `self` then `after`, whose keys move `self.len()` positions along.
    fn then(&self, after: &Self, rotary: &RotaryTables) -> Self {
        let shift = self.len() as isize;
        Self {
            base: self
                .base
                .iter()
                .zip(&after.base)
                .map(|(first, second)| {
                    LayerCache::new(
                        Tensor::cat(vec![first.keys(), rotary.shift(second.keys(), shift)], 2),
                        Tensor::cat(vec![first.values(), second.values()], 2),
                    )
                })
                .collect(),
            inserted: self
                .inserted
                .iter()
                .zip(&after.inserted)
                .map(|(first, second)| Tensor::cat(vec![first.clone(), second.clone()], 1))
                .collect(),
        }
    }

    /// Row `s` becomes row `s + 1`'s.
    fn rolled(self) -> Self {
        Self {
            base: self
                .base
                .into_iter()
                .map(|cache| LayerCache::new(cache.keys().roll_dim(-1, 0), cache.values().roll_dim(-1, 0)))
                .collect(),
            inserted: self.inserted.into_iter().map(|input| input.roll_dim(-1, 0)).collect(),
        }
    }
}

/// What a window leaves the next one under `xl-cache`.
#[derive(Debug, Clone)]
pub struct XlCache {
    /// The window's own positions, moved to `0..len`.
    pub previous: LayerKeys,
    /// The stream's first positions (`0..sinks`), kept for every later window; `None` while the
    /// previous window is the stream's first (it holds them itself) or without sinks.
    pub sinks: Option<LayerKeys>,
    /// `[batch, sinks + len]`, `true` for the rows that must not read the cache (a reset).
    pub unread: Option<Tensor<2, Bool>>,
}

impl XlCache {
    /// What the next window reads, positions `0..read_len()`: the sinks, then the previous window.
    pub fn read(&self, rotary: &RotaryTables) -> LayerKeys {
        match &self.sinks {
            Some(sinks) => sinks.then(&self.previous, rotary),
            None => self.previous.clone(),
        }
    }

    /// Positions the next window reads before its own.
    pub fn read_len(&self) -> usize {
        self.sinks.as_ref().map_or(0, LayerKeys::len) + self.previous.len()
    }

    /// Streams (batch rows).
    pub fn rows(&self) -> usize {
        self.previous.rows()
    }

    /// Row `s` becomes row `s + 1`'s.
    pub fn rolled(self) -> Self {
        Self {
            previous: self.previous.rolled(),
            sinks: self.sinks.map(LayerKeys::rolled),
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
    /// An inserted block's input at the window's positions (detached).
    pub fn inserted(&mut self, input: &Tensor<3>) {
        self.inserted.push(input.clone().detach());
    }

    /// A base block's cache after the window: the window's own `seq` newest positions, which sat
    /// after `seen` cached ones, moved back to `0..seq` (detached).
    pub fn base(&mut self, cache: LayerCache, seen: usize, rotary: &RotaryTables) {
        let (keys, values) = (cache.keys(), cache.values());
        let [batch, heads, total, dim] = keys.dims();
        let own = [0..batch, 0..heads, seen..total, 0..dim];
        let keys = rotary.shift(keys.slice(own.clone()).detach(), -(seen as isize));
        self.base.push(LayerCache::new(keys, values.slice(own).detach()));
    }

    /// The next window's cache: this window's positions, and the stream's sinks (`sinks`
    /// positions): those `read` held, or, at a stream's start (`read` is `None`), none yet (this
    /// window holds them; they are cut from it when the next window records).
    pub fn finish(self, read: Option<&XlCache>, sinks: usize) -> XlCache {
        let previous = LayerKeys { base: self.base, inserted: self.inserted };
        let sinks = match read {
            None => None,
            Some(read) => match &read.sinks {
                Some(kept) => Some(kept.clone()),
                // The stream's second window: its first held the sinks.
                None if sinks > 0 => Some(read.previous.first(sinks.min(read.previous.len()))),
                None => None,
            },
        };
        XlCache { previous, sinks, unread: None }
    }
}
