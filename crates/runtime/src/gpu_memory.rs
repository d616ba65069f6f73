//! Peak GPU memory of this process, as the NVIDIA driver reports it (NVML), sampled every 50 ms
//! by a background thread from the moment a CUDA device is resolved.
//!
//! libtorch's caching allocator keeps exact peak statistics, but tch exposes none of them; the
//! driver's figure is the one `nvidia-smi` shows: the memory the process holds on every GPU
//! (the allocator's cache and the CUDA context included), an upper bound of what its tensors
//! needed. A peak shorter than the sampling interval can be missed.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use nvml_wrapper::Nvml;
use nvml_wrapper::enums::device::UsedGpuMemory;

use crate::error::RuntimeError;

const SAMPLE_EVERY: Duration = Duration::from_millis(50);

/// Whether sampling started (`Ok`) or why it cannot (`Err`: no NVIDIA driver), decided once.
static SAMPLER: OnceLock<Result<(), String>> = OnceLock::new();
/// The highest figure sampled so far, in bytes.
static PEAK: AtomicU64 = AtomicU64::new(0);

/// Starts sampling this process's GPU memory; later calls only return the first call's outcome.
/// An error where NVML cannot be loaded or initialised (no NVIDIA driver): then there is no GPU
/// figure, and training goes on.
pub fn start_gpu_memory_sampling() -> Result<(), RuntimeError> {
    SAMPLER
        .get_or_init(|| {
            let nvml = Nvml::init().map_err(|error| error.to_string())?;
            record(process_usage(&nvml));
            std::thread::Builder::new()
                .name("gpu-memory".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(SAMPLE_EVERY);
                        record(process_usage(&nvml));
                    }
                })
                .map(|_| ())
                .map_err(|error| error.to_string())
        })
        .clone()
        .map_err(RuntimeError::GpuMemory)
}

/// The peak of this process's GPU memory so far, in bytes; `None` unless sampling runs.
pub fn peak_gpu_memory_bytes() -> Option<u64> {
    matches!(SAMPLER.get(), Some(Ok(()))).then(|| PEAK.load(Ordering::Relaxed))
}

fn record(bytes: u64) {
    PEAK.fetch_max(bytes, Ordering::Relaxed);
}

/// The memory this process holds now, summed over every GPU the driver lists (NVML's device
/// order need not be CUDA's, so every device is read).
fn process_usage(nvml: &Nvml) -> u64 {
    let pid = std::process::id();
    let devices = nvml.device_count().unwrap_or(0);
    (0..devices)
        .filter_map(|index| nvml.device_by_index(index).ok())
        .filter_map(|device| device.running_compute_processes().ok())
        .flatten()
        .filter(|process| process.pid == pid)
        .map(|process| match process.used_gpu_memory {
            UsedGpuMemory::Used(bytes) => bytes,
            UsedGpuMemory::Unavailable => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_driver_there_is_no_figure_and_no_panic() {
        // On a machine with an NVIDIA driver sampling starts and the peak is a figure; without
        // one the start is an error that names the cause, and no figure is reported.
        match start_gpu_memory_sampling() {
            Ok(()) => assert!(peak_gpu_memory_bytes().is_some()),
            Err(error) => {
                assert!(error.to_string().contains("GPU memory"), "{error}");
                assert_eq!(peak_gpu_memory_bytes(), None);
            }
        }
        // The outcome is decided once.
        assert_eq!(start_gpu_memory_sampling().is_ok(), peak_gpu_memory_bytes().is_some());
    }
}
