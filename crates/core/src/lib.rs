//! Shared plumbing and model building blocks for every retrofit stage: device choice,
//! configuration, run directories, run summaries, logging.

pub mod config;
pub mod device;
pub mod error;
pub mod memory;
pub mod run_dir;
pub mod summary;
pub mod telemetry;

pub use error::CoreError;
