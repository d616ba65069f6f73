//! Rotary position embeddings in Hugging Face's rotate-half layout: the first and second halves
//! of each head are the two coordinates of a rotated pair (not interleaved pairs, as in Meta's
//! original code), and position `p` rotates pair `i` by `p * theta^(-2i / head_dim)`.

use burn::module::Module;
use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::base_precision::in_dtype;

/// cos and sin of every position's angles, computed once when the model is built.
///
/// Not parameters: burn treats plain tensor fields of a module as constants (moved with the
/// module, never loaded, saved or trained).
#[derive(Module, Debug)]
pub struct RotaryTables {
    /// `[max_positions, head_dim]`
    pub cos: Tensor<2>,
    /// `[max_positions, head_dim]`
    pub sin: Tensor<2>,
}

/// cos and sin for the positions of one forward pass, shared by every layer.
#[derive(Debug, Clone)]
pub struct RotaryAngles {
    /// `[batch, 1, seq, head_dim]`
    pub cos: Tensor<4>,
    /// `[batch, 1, seq, head_dim]`
    pub sin: Tensor<4>,
}

impl RotaryTables {
    /// The tables for `max_positions` positions, computed as transformers does in float32:
    /// `inv_freq = 1 / theta^(2i / head_dim)`, angles `p * inv_freq` repeated for both halves.
    pub fn new(head_dim: usize, max_positions: usize, theta: f64, device: &Device) -> Self {
        let half = head_dim / 2;
        let exponents: Vec<f32> = (0..half).map(|i| (2 * i) as f32 / head_dim as f32).collect();
        let exponents: Tensor<1> = Tensor::from_data(TensorData::new(exponents, [half]), device);
        let inv_freq = Tensor::<1>::full([half], theta as f32, device).powf(exponents).recip(); // [half]
        let positions = Tensor::<1, Int>::arange(0..max_positions as i64, device).float().reshape([max_positions, 1]);
        let angles = positions * inv_freq.reshape([1, half]); // [max_positions, half]
        let angles = Tensor::cat(vec![angles.clone(), angles], 1); // [max_positions, head_dim]
        Self { cos: angles.clone().cos(), sin: angles.sin() }
    }

    /// Longest sequence covered.
    pub fn max_positions(&self) -> usize {
        self.cos.dims()[0]
    }

    /// The rows of `positions`.
    ///
    /// # Shapes
    /// - `positions`: `[batch, seq]`, each below `max_positions`
    /// - output: `[batch, 1, seq, head_dim]` twice
    pub fn angles(&self, positions: Tensor<2, Int>) -> RotaryAngles {
        let [batch, seq] = positions.dims();
        let [_, head_dim] = self.cos.dims();
        let rows = positions.reshape([batch * seq]);
        let pick = |table: &Tensor<2>| table.clone().select(0, rows.clone()).reshape([batch, 1, seq, head_dim]);
        RotaryAngles { cos: pick(&self.cos), sin: pick(&self.sin) }
    }

    /// Rotated keys moved `by` positions along (`p` to `p + by`; negative: back): a rotation
    /// composes, so rotating by the angles of `by` (for a negative `by`, cos of `|by|` and minus
    /// its sin) is exact up to rounding. What a cache of keys computed at some positions needs to
    /// be read at others.
    ///
    /// # Shapes
    /// `keys`: `[batch, heads, seq, head_dim]` → `[batch, heads, seq, head_dim]`
    ///
    /// # Panics
    /// If `|by| >= max_positions`.
    pub fn shift(&self, keys: Tensor<4>, by: isize) -> Tensor<4> {
        if by == 0 {
            return keys;
        }
        let [_, head_dim] = self.cos.dims();
        let dtype = keys.dtype();
        let row = by.unsigned_abs();
        let pick = |table: &Tensor<2>| {
            in_dtype(table.clone().slice([row..row + 1, 0..head_dim]), dtype).reshape([1, 1, 1, head_dim])
        };
        let sin = if by > 0 { pick(&self.sin) } else { pick(&self.sin).neg() };
        RotaryAngles { cos: pick(&self.cos), sin }.apply(keys)
    }
}

impl RotaryAngles {
    /// Rotates queries or keys: `x * cos + rotate_half(x) * sin`, where `rotate_half` of
    /// halves `(a, b)` is `(-b, a)`.
    ///
    /// # Shapes
    /// `x`: `[batch, heads, seq, head_dim]` → `[batch, heads, seq, head_dim]`
    pub fn apply(&self, x: Tensor<4>) -> Tensor<4> {
        let [batch, heads, seq, head_dim] = x.dims();
        let half = head_dim / 2;
        let first = x.clone().slice([0..batch, 0..heads, 0..seq, 0..half]);
        let second = x.clone().slice([0..batch, 0..heads, 0..seq, half..head_dim]);
        let rotated = Tensor::cat(vec![second.neg(), first], 3);
        x * self.cos.clone() + rotated * self.sin.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Distribution;

    #[test]
    fn shifting_rotated_keys_equals_rotating_them_at_the_shifted_positions() {
        let device = Device::default();
        let tables = RotaryTables::new(8, 32, 10_000.0, &device);
        let keys = Tensor::<4>::random([1, 2, 3, 8], Distribution::Normal(0.0, 1.0), &device);
        let at = |first: i64| {
            let positions = Tensor::<1, Int>::arange(first..first + 3, &device).reshape([1, 3]);
            tables.angles(positions).apply(keys.clone())
        };
        let difference = |a: Tensor<4>, b: Tensor<4>| (a - b).abs().max().into_scalar::<f32>();
        assert!(difference(tables.shift(at(9), -9), at(0)) < 1e-5);
        assert!(difference(tables.shift(at(2), 5), at(7)) < 1e-5);
        assert_eq!(difference(tables.shift(at(4), 0), at(4)), 0.0);
    }
}
