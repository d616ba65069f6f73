//! Position ids, built once here for every model that embeds positions.

use burn::tensor::{Device, Int, Tensor};

/// Positions `offset..offset + seq` for every row.
///
/// # Shapes
/// output: `[batch, seq]`
pub fn position_ids(batch: usize, seq: usize, offset: usize, device: &Device) -> Tensor<2, Int> {
    Tensor::<1, Int>::arange(offset as i64..(offset + seq) as i64, device).reshape([1, seq]).expand([batch, seq])
}
