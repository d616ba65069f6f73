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

/// The key mask of `seq` new queries that follow `seen` cached positions: causal (the query at
/// absolute position `seen + i` must not see a later key), plus the padded keys of `padding`.
///
/// # Shapes
/// - `padding`: `[batch, seen + seq]`, `true` at padded positions (left padding)
/// - output: `[batch, 1, seq, seen + seq]`, `true` where a key must not be attended to
pub fn cached_causal_mask(
    batch: usize,
    seq: usize,
    seen: usize,
    padding: Option<Tensor<2, Bool>>,
    device: &Device,
) -> Tensor<4, Bool> {
    let total = seen + seq;
    let causal = Tensor::<2, Bool>::tril_mask([total, total], 0, device)
        .slice([seen..total, 0..total])
        .reshape([1, 1, seq, total])
        .expand([batch, 1, seq, total]);
    match padding {
        Some(padding) => causal.bool_or(padding.reshape([batch, 1, 1, total]).expand([batch, 1, seq, total])),
        None => causal,
    }
}
