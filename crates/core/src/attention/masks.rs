use burn::tensor::{Bool, Device, Tensor};

/// Which keys every query may attend to, decided where it is known (the model knows whether it is
/// causal and whether its batch has padding), so that the attention picks its kernel from the
/// variant and its shapes without reading anything back from the device.
///
/// Causality is aligned to the end: of `q_len` queries and `k_len` keys, query `i` sees keys
/// `j ≤ i + k_len - q_len`, so queries that follow a key/value cache, a carried prefix or memory
/// slots see all of those (and one new query sees every key).
// One per forward pass, shared by reference: the size of a tensor handle costs nothing here.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum AttentionMask {
    /// Every query sees every key.
    Unmasked,
    /// Each query sees the keys up to its own position.
    Causal,
    /// The keys marked in `padding` are hidden from every query, and the later keys too when
    /// `causal`. `padding`: `[batch, k_len]`, `true` at keys not to attend to.
    PaddedKeys { padding: Tensor<2, Bool>, causal: bool },
}

impl AttentionMask {
    /// Causal, plus the padded keys of `padding` (`[batch, k_len]`, `true` at padding) if any.
    pub fn causal(padding: Option<Tensor<2, Bool>>) -> Self {
        match padding {
            Some(padding) => Self::PaddedKeys { padding, causal: true },
            None => Self::Causal,
        }
    }

    /// Not causal: only the padded keys of `padding` (`[batch, k_len]`) hidden, if any.
    pub fn padded(padding: Option<Tensor<2, Bool>>) -> Self {
        match padding {
            Some(padding) => Self::PaddedKeys { padding, causal: false },
            None => Self::Unmasked,
        }
    }

    /// Whether the later keys are hidden.
    pub fn is_causal(&self) -> bool {
        match self {
            Self::Unmasked => false,
            Self::Causal => true,
            Self::PaddedKeys { causal, .. } => *causal,
        }
    }

    /// The padded keys, if any. `[batch, k_len]`
    pub fn padding(&self) -> Option<&Tensor<2, Bool>> {
        match self {
            Self::PaddedKeys { padding, .. } => Some(padding),
            Self::Unmasked | Self::Causal => None,
        }
    }

    /// The mask as booleans, `true` where a key must not be attended to (for the unfused
    /// reference), or `None` for [`Self::Unmasked`].
    ///
    /// # Shapes
    /// output: `[batch or 1, 1, q_len, k_len]`
    pub fn to_bool(&self, q_len: usize, k_len: usize, device: &Device) -> Option<Tensor<4, Bool>> {
        let causal = self.is_causal().then(|| {
            let offset = k_len as i64 - q_len as i64;
            Tensor::<2, Bool>::tril_mask([q_len, k_len], offset, device).reshape([1, 1, q_len, k_len])
        });
        let padding = self.padding().map(|padding| {
            let [batch, keys] = padding.dims();
            padding.clone().reshape([batch, 1, 1, keys]).expand([batch, 1, q_len, keys])
        });
        match (padding, causal) {
            (Some(padding), Some(causal)) => {
                let shape = padding.dims();
                Some(padding.bool_or(causal.expand(shape)))
            }
            (Some(padding), None) => Some(padding),
            (None, causal) => causal,
        }
    }
}
