//! Shared plumbing and model building blocks for every retrofit stage: device choice,
//! configuration, run directories, run summaries, logging.

pub mod attention;
pub mod block;
pub mod classification;
pub mod config;
pub mod device;
pub mod gpt2;
pub mod language_model;
pub mod error;
#[allow(deprecated)]
pub mod fast_gru;
// burn-tch is deprecated upstream but is the backend this project is built on.
#[allow(deprecated)]
pub mod fused_attention;
#[allow(deprecated)]
pub mod fused_softmax;
pub mod memory;
pub mod pooling;
pub mod run_dir;
pub mod summary;
pub mod telemetry;
pub mod training;

pub use error::CoreError;
