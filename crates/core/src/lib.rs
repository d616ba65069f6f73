//! The models and training every retrofit stage shares: attention variants, the transformer
//! block, GPT-2 and its Hugging Face loader, sampling, the training harness around burn's
//! Learner, and the one language-model pipeline (windows, training, evaluation). Run plumbing
//! (config, run directories, summaries, device) is `retrofit-runtime`'s.

pub mod attention;
pub mod base;
mod base_precision;
pub mod block;
pub mod classification;
pub mod error;
#[allow(deprecated)]
pub mod fast_gru;
pub mod gpt2;
pub mod language_model;
pub mod llama;
// burn-tch is deprecated upstream but is the backend this project is built on.
#[allow(deprecated)]
pub mod fused_attention;
#[allow(deprecated)]
pub mod fused_softmax;
pub mod pooling;
pub mod positions;
pub mod tied_head;
pub mod training;

pub use error::CoreError;
