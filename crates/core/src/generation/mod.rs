//! Generation from any [`Decoder`](crate::decoder::Decoder): a key/value cache, the loop over a
//! left-padded batch, sampling (greedy, temperature, top-k, top-p) and stop rules.

mod cache;
mod generate;
mod sampling;
mod stop;

pub use cache::{KvCache, LayerCache};
pub use generate::{GenerationConfig, GenerationError, generate};
pub use sampling::{Sampler, SamplingConfig};
pub use stop::{StopReason, StopRule};
