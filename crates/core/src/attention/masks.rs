use burn::tensor::{Bool, Device, Tensor};

/// `true` strictly above the diagonal: the future keys that position `i` must not see.
///
/// # Shapes
/// output: `[1, 1, seq, seq]`
pub fn causal_mask(seq: usize, device: &Device) -> Tensor<4, Bool> {
    Tensor::<2, Bool>::tril_mask([seq, seq], 0, device).unsqueeze::<4>()
}

/// Turns a padding mask into a key mask for attention scores.
///
/// # Shapes
/// - `padding_mask`: `[batch, seq]`, `true` at padded positions
/// - output: `[batch, 1, 1, seq]`
pub fn key_padding_mask(padding_mask: Tensor<2, Bool>) -> Tensor<4, Bool> {
    let [batch, seq] = padding_mask.dims();
    padding_mask.reshape([batch, 1, 1, seq])
}
