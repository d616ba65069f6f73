//! The key/value cache that generation and window-to-window evaluation continue.
//!
//! A layer's cache grows by concatenation unless room was reserved for it
//! ([`KvCache::reserve`], what generation does once the prompt is in): then every new position is
//! written in place into the reserved buffer and attention reads a view of the positions written,
//! so a generated token copies only its own keys and values.

use burn::tensor::Tensor;

/// Keys and values of one layer for the positions seen so far.
#[derive(Debug, Clone)]
pub struct LayerCache {
    /// `[batch, kv_heads, capacity, head_dim]`, positions `0..len` written.
    keys: Tensor<4>,
    /// `[batch, kv_heads, capacity, head_dim]`, positions `0..len` written.
    values: Tensor<4>,
    len: usize,
}

impl LayerCache {
    /// A cache holding exactly these positions.
    ///
    /// # Shapes
    /// `keys`, `values`: `[batch, kv_heads, seen, head_dim]`
    pub fn new(keys: Tensor<4>, values: Tensor<4>) -> Self {
        let len = keys.dims()[2];
        Self { keys, values, len }
    }

    /// Positions cached.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Positions that fit without growing.
    pub fn capacity(&self) -> usize {
        self.keys.dims()[2]
    }

    /// The keys of the positions cached. `[batch, kv_heads, len, head_dim]`
    pub fn keys(&self) -> Tensor<4> {
        written(&self.keys, self.len)
    }

    /// The values of the positions cached. `[batch, kv_heads, len, head_dim]`
    pub fn values(&self) -> Tensor<4> {
        written(&self.values, self.len)
    }

    /// The same positions without a gradient graph.
    pub fn detach(self) -> Self {
        Self::new(self.keys().detach(), self.values().detach())
    }

    /// Room for `positions` in all (one copy of what is cached), if there is less.
    pub fn reserve(&mut self, positions: usize) {
        if positions <= self.capacity() {
            return;
        }
        let grow = |buffer: &Tensor<4>, len: usize| {
            let [batch, heads, _, dim] = buffer.dims();
            Tensor::zeros([batch, heads, positions, dim], &buffer.device())
                .slice_assign([0..batch, 0..heads, 0..len, 0..dim], written(buffer, len))
        };
        self.keys = grow(&self.keys, self.len);
        self.values = grow(&self.values, self.len);
    }

    /// This layer's keys and values with `keys` / `values` of the newest positions appended,
    /// and those of every position seen, for attention to read. Written in place when the
    /// reserved room holds them, concatenated otherwise.
    ///
    /// # Shapes
    /// `keys`, `values`: `[batch, kv_heads, seq, head_dim]` → `[batch, kv_heads, seen + seq, head_dim]`
    pub fn extend(cache: &mut Option<LayerCache>, keys: Tensor<4>, values: Tensor<4>) -> (Tensor<4>, Tensor<4>) {
        let layer = match cache.take() {
            Some(past) if past.len + keys.dims()[2] <= past.capacity() => {
                let [batch, heads, seq, dim] = keys.dims();
                let range = [0..batch, 0..heads, past.len..past.len + seq, 0..dim];
                // The buffers are this cache's alone here (attention's views of the last step are
                // gone), so libtorch writes into them without a copy.
                let written_keys = past.keys.slice_assign(range.clone(), keys);
                let written_values = past.values.slice_assign(range, values);
                LayerCache { keys: written_keys, values: written_values, len: past.len + seq }
            }
            Some(past) => {
                LayerCache::new(Tensor::cat(vec![past.keys(), keys], 2), Tensor::cat(vec![past.values(), values], 2))
            }
            None => LayerCache::new(keys, values),
        };
        let seen = (layer.keys(), layer.values());
        *cache = Some(layer);
        seen
    }
}

/// The first `len` positions of a `[batch, heads, capacity, dim]` buffer (the buffer itself when full).
fn written(buffer: &Tensor<4>, len: usize) -> Tensor<4> {
    let [batch, heads, capacity, dim] = buffer.dims();
    if len == capacity { buffer.clone() } else { buffer.clone().slice([0..batch, 0..heads, 0..len, 0..dim]) }
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
        self.layers.first().and_then(|layer| layer.as_ref()).map_or(0, LayerCache::len)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Room for `positions` in all in every layer cached so far, so that later positions are
    /// written in place.
    pub fn reserve(&mut self, positions: usize) {
        for layer in self.layers.iter_mut().flatten() {
            layer.reserve(positions);
        }
    }
}
