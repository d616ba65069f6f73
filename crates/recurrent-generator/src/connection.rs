//! The recurrent connection of a [`RecurrentLm`](crate::RecurrentLm): what a stream carries
//! from window to window, one variant per recurrence that carries something, each in a file of
//! its own (`none`, `token-gru` and the head bias carry nothing: the model has no connection).
//! A variant says what a stream starts from, what the window reads of the state, how the state
//! returns to its start (a reset), and what the window leaves the next one
//! ([`RecurrentLm::forward_window`](crate::RecurrentLm::forward_window) walks the layers).
//!
//! Checkpoints name the parameters `connection.<Variant>.…`; those written before the connection
//! was one type (`segment.…`, `memory.…`, `memory_tokens.…`) load through [`LEGACY_NAMES`].

use burn::module::{Module, Param};
use burn::tensor::{Bool, Device, Tensor};

use crate::config::{InsertionConfig, Recurrence};
use crate::memory::MemoryState;
use crate::memory_tokens::MemoryTokens;
use crate::segment_state::SegmentState;
use crate::state::StreamState;

/// What a stream carries from window to window and the parameters that write and read it.
// One per model, built once: boxing the larger variants would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Connection {
    /// `segment-state`: a vector, written by a GRU cell, read by the inserted blocks.
    SegmentState(SegmentState),
    /// `memory`: slots read and written with attention by the inserted blocks.
    Memory(MemoryState),
    /// `none-cache`: the previous window, recomputed (no parameters).
    PreviousWindow(PreviousWindow),
    /// `xl-cache`: what the previous window's forward left every attention layer (no parameters).
    XlCache(XlCacheReader),
    /// `memory-tokens`: vectors the frozen base reads before the window and writes after it.
    MemoryTokens(MemoryTokens),
}

/// `none-cache`: the previous window's tokens, recomputed before each window (see
/// [`crate::previous_window`]).
#[derive(Module, Debug)]
pub struct PreviousWindow;

/// `xl-cache`: the previous window's forward, as it computed it (see [`crate::xl_cache`]).
#[derive(Module, Debug)]
pub struct XlCacheReader {
    /// The stream's first positions kept in the cache.
    #[module(skip)]
    pub attention_sinks: usize,
}

/// The prefixes under which checkpoints written before [`Connection`] held its parameters, and
/// where they are now, as the Learner's resume records name them (the task's `model.model.`;
/// the stage's own checkpoints name them without it: [`TASK_PREFIX`]).
pub const LEGACY_NAMES: &[(&str, &str)] = &[
    ("model.model.segment.", "model.model.connection.SegmentState."),
    ("model.model.memory.", "model.model.connection.Memory."),
    ("model.model.memory_tokens.", "model.model.connection.MemoryTokens."),
];

/// The Learner's path to the model inside [`RecurrentLanguageModeling`](crate::RecurrentLanguageModeling).
pub const TASK_PREFIX: &str = "model.model.";

impl Connection {
    /// The connection `config.recurrence` needs on a base of width `d_model` (`None`: it
    /// carries nothing).
    pub fn new(config: &InsertionConfig, d_model: usize, device: &Device) -> Option<Self> {
        let slots = config.memory_slots;
        match config.recurrence {
            Recurrence::None | Recurrence::TokenGru => None,
            Recurrence::SegmentState => {
                Some(Self::SegmentState(SegmentState::new(d_model, config.state_size.unwrap_or(d_model), device)))
            }
            Recurrence::Memory => Some(Self::Memory(MemoryState::new(slots, d_model, config.heads, device))),
            Recurrence::NoneCache => Some(Self::PreviousWindow(PreviousWindow)),
            Recurrence::XlCache => Some(Self::XlCache(XlCacheReader { attention_sinks: config.attention_sinks })),
            Recurrence::MemoryTokens => Some(Self::MemoryTokens(MemoryTokens::new(slots, d_model, device))),
        }
    }

    /// The recurrence it implements.
    pub fn recurrence(&self) -> Recurrence {
        match self {
            Self::SegmentState(_) => Recurrence::SegmentState,
            Self::Memory(_) => Recurrence::Memory,
            Self::PreviousWindow(_) => Recurrence::NoneCache,
            Self::XlCache(_) => Recurrence::XlCache,
            Self::MemoryTokens(_) => Recurrence::MemoryTokens,
        }
    }

    /// What a stream starts from: a zero vector, a learned initial memory, or nothing (the
    /// caches: no previous window).
    pub fn start(&self, batch: usize, device: &Device) -> Option<StreamState> {
        match self {
            Self::SegmentState(segment) => Some(StreamState::Vector(segment.start(batch, device))),
            Self::Memory(memory) => Some(StreamState::Memory(per_stream(&memory.initial, batch))),
            Self::MemoryTokens(tokens) => Some(StreamState::MemoryTokens(per_stream(&tokens.initial, batch))),
            Self::PreviousWindow(_) | Self::XlCache(_) => None,
        }
    }

    /// `state` with the rows where `keep` is 0 returned to the stream's start: a carried
    /// vector or memory becomes its start's again, a cached previous window is marked unread.
    ///
    /// # Shapes
    /// `keep`: `[rows, 1]`, 1 or 0
    pub fn reset_rows(&self, state: StreamState, keep: Tensor<2>) -> StreamState {
        let rows = state.rows();
        let unread = |seen: usize| -> Tensor<2, Bool> { keep.clone().lower_elem(0.5).expand([rows, seen]) };
        match state {
            StreamState::PreviousWindow { ids, .. } => {
                let seen = ids.dims()[1];
                StreamState::PreviousWindow { ids, unread: Some(unread(seen)) }
            }
            StreamState::Cache(mut cache) => {
                cache.unread = Some(unread(cache.read_len()));
                StreamState::Cache(cache)
            }
            carried => match self.start(rows, &keep.device()) {
                Some(start) => carried.toward(start, keep),
                None => carried,
            },
        }
    }
}

/// A learned `[slots, d_model]` parameter, the same for every stream. `[batch, slots, d_model]`
pub(crate) fn per_stream(slots: &Param<Tensor<2>>, batch: usize) -> Tensor<3> {
    let [count, d_model] = slots.dims();
    slots.val().unsqueeze_dim::<3>(0).expand([batch, count, d_model])
}
