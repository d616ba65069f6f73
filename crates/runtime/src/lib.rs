//! The runtime layer under every retrofit crate and binary: configuration (TOML with `--set`
//! overrides), run directories, run summaries with typed metrics, device choice, telemetry
//! (logging, peak host and GPU memory) and progress. It knows nothing about models or data.

pub mod config;
pub mod curves;
pub mod device;
pub mod error;
pub mod gpu_memory;
pub mod interrupt;
pub mod memory;
pub mod metric;
pub mod plot;
pub mod progress;
pub mod run_dir;
pub mod setting;
pub mod summary;
pub mod telemetry;

pub use error::RuntimeError;
pub use metric::{Direction, Metric, MetricSet, Quantity, Split};
