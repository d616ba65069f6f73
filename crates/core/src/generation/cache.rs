//! The key/value cache that generation and window-to-window evaluation continue.

use burn::tensor::Tensor;

/// Keys and values of one layer for the positions seen so far.
#[derive(Debug, Clone)]
pub struct LayerCache {
    /// `[batch, kv_heads, seen, head_dim]`
    pub keys: Tensor<4>,
    /// `[batch, kv_heads, seen, head_dim]`
    pub values: Tensor<4>,
}

impl LayerCache {
    /// This layer's keys and values with `keys` / `values` of the newest positions appended,
    /// and those of every position seen, for attention to read.
    ///
    /// # Shapes
    /// `keys`, `values`: `[batch, kv_heads, seq, head_dim]` → `[batch, kv_heads, seen + seq, head_dim]`
    pub fn extend(cache: &mut Option<LayerCache>, keys: Tensor<4>, values: Tensor<4>) -> (Tensor<4>, Tensor<4>) {
        let (keys, values) = match cache.take() {
            Some(past) => (Tensor::cat(vec![past.keys, keys], 2), Tensor::cat(vec![past.values, values], 2)),
            None => (keys, values),
        };
        *cache = Some(LayerCache { keys: keys.clone(), values: values.clone() });
        (keys, values)
    }
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
