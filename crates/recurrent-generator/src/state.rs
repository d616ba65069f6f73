//! What one window of a stream hands the next, one variant per recurrence that carries
//! something.

use burn::tensor::{Bool, Int, Tensor};

use crate::xl_cache::XlCache;

/// What one window of a stream hands the next.
// One per stream batch, moved once a window: boxing the larger variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum StreamState {
    /// `segment-state`: `[batch, state_size]`
    Vector(Tensor<2>),
    /// `memory`: `[batch, slots, d_model]`
    Memory(Tensor<3>),
    /// `none-cache`: the previous window's tokens, `[batch, context]`, and the rows whose previous
    /// window is not to be read (reset at random in training), `[batch, context]`.
    PreviousWindow { ids: Tensor<2, Int>, unread: Option<Tensor<2, Bool>> },
    /// `xl-cache`: what the previous window's forward left every attention layer.
    Cache(XlCache),
    /// `memory-tokens`: the next window's read embeddings, `[batch, m, d_model]`.
    MemoryTokens(Tensor<3>),
}

impl StreamState {
    /// The state without its gradient history (truncated BPTT).
    pub fn detach(self) -> Self {
        match self {
            Self::Vector(state) => Self::Vector(state.detach()),
            Self::Memory(memory) => Self::Memory(memory.detach()),
            Self::MemoryTokens(memory) => Self::MemoryTokens(memory.detach()),
            // Held without gradient already.
            window @ (Self::PreviousWindow { .. } | Self::Cache(_)) => window,
        }
    }

    /// The states moved one stream up: row `s` becomes the state of row `s + 1`, the last row
    /// that of row 0 ([`StateCarry::Shuffled`](retrofit_core::language_model::StateCarry::Shuffled)).
    pub fn rolled(self) -> Self {
        // roll by -1: new row s = old row s + 1.
        match self {
            Self::Vector(state) => Self::Vector(state.roll_dim(-1, 0)),
            Self::Memory(memory) => Self::Memory(memory.roll_dim(-1, 0)),
            Self::MemoryTokens(memory) => Self::MemoryTokens(memory.roll_dim(-1, 0)),
            Self::PreviousWindow { ids, unread } => {
                Self::PreviousWindow { ids: ids.roll_dim(-1, 0), unread: unread.map(|unread| unread.roll_dim(-1, 0)) }
            }
            Self::Cache(cache) => Self::Cache(cache.rolled()),
        }
    }

    /// Streams (batch rows) it holds.
    pub fn rows(&self) -> usize {
        match self {
            Self::Vector(state) => state.dims()[0],
            Self::Memory(memory) | Self::MemoryTokens(memory) => memory.dims()[0],
            Self::PreviousWindow { ids, .. } => ids.dims()[0],
            Self::Cache(cache) => cache.rows(),
        }
    }

    /// Positions a window reads before its own: the previous window's (`none-cache`,
    /// `xl-cache`), 0 otherwise.
    pub fn seen(&self) -> usize {
        match self {
            Self::PreviousWindow { ids, .. } => ids.dims()[1],
            Self::Cache(cache) => cache.read_len(),
            Self::Vector(_) | Self::Memory(_) | Self::MemoryTokens(_) => 0,
        }
    }

    /// The rows that must not read the previous window (`none-cache`, `xl-cache`).
    /// `[batch, seen]`
    pub fn unread(&self) -> Option<Tensor<2, Bool>> {
        match self {
            Self::PreviousWindow { unread, .. } => unread.clone(),
            Self::Cache(cache) => cache.unread.clone(),
            Self::Vector(_) | Self::Memory(_) | Self::MemoryTokens(_) => None,
        }
    }

    /// Rows where `keep` is 1 stay as they are, rows where it is 0 become `start`'s (a carried
    /// vector or memory; any other state is returned as it is).
    ///
    /// # Shapes
    /// `keep`: `[rows, 1]`, 1 or 0
    pub fn toward(self, start: Self, keep: Tensor<2>) -> Self {
        match (self, start) {
            (Self::Vector(state), Self::Vector(start)) => Self::Vector(start.clone() + (state - start) * keep),
            (Self::Memory(memory), Self::Memory(start)) => {
                Self::Memory(start.clone() + (memory - start) * keep.unsqueeze_dim::<3>(2))
            }
            (Self::MemoryTokens(memory), Self::MemoryTokens(start)) => {
                Self::MemoryTokens(start.clone() + (memory - start) * keep.unsqueeze_dim::<3>(2))
            }
            (state, _) => state,
        }
    }

    /// The `segment-state` vector, if that is what it is.
    pub fn vector(&self) -> Option<&Tensor<2>> {
        match self {
            Self::Vector(state) => Some(state),
            _ => None,
        }
    }
}
