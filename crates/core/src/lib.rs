//! The models and training every retrofit stage shares: attention variants, the transformer
//! block, the pre-trained families behind one decoder seam (GPT-2, Llama, Qwen2) with one
//! Hugging Face loader and one generation loop, the training harness around burn's Learner, and
//! the one language-model pipeline (windows, training, evaluation). Run plumbing (config, run
//! directories, summaries, device) is `retrofit-runtime`'s.

pub mod attention;
pub mod base;
mod base_precision;
pub mod block;
pub mod classification;
pub mod decoder;
pub mod error;
#[allow(deprecated)]
pub mod fast_gru;
pub mod generation;
pub mod gpt2;
pub mod head_projection;
pub mod hf_checkpoint;
pub mod language_model;
#[allow(deprecated)]
pub mod linear_cross_entropy;
pub mod llama;
pub mod qwen2;
// burn-tch is deprecated upstream but is the backend this project is built on.
#[allow(deprecated)]
pub mod fused_attention;
#[allow(deprecated)]
pub mod fused_softmax;
pub mod pooling;
pub mod positions;
pub mod training;

pub use error::CoreError;
