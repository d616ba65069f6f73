//! Which device a run computes on: `--device auto|cpu|cuda:N`.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicI64, Ordering};

use burn::tensor::Device;

use crate::RuntimeError;

/// The libtorch CPU device (tests and tools that never use a GPU).
#[allow(deprecated)] // burn 0.22 marks burn-tch deprecated; the project trains on libtorch.
pub fn libtorch_cpu() -> Device {
    Device::libtorch()
}

/// Sets libtorch's intra-op CPU threads (as `torch.set_num_threads`) and returns the number now
/// in use.
pub fn set_cpu_threads(threads: usize) -> usize {
    tch::set_num_threads(threads as i32);
    tch::get_num_threads().max(0) as usize
}

/// The user's device request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum DeviceChoice {
    /// CUDA device 0 when libtorch sees a GPU, otherwise the CPU.
    #[default]
    Auto,
    /// The libtorch CPU device.
    Cpu,
    /// The libtorch CUDA devices with these indices (distinct, at least one): one trains alone;
    /// several train data-parallel through the Learner's multi-device strategy, the first being
    /// the main device (`cuda:0,cuda:1`).
    Cuda(Vec<usize>),
}

impl FromStr for DeviceChoice {
    type Err = RuntimeError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let syntax = || RuntimeError::DeviceSyntax(text.to_string());
        match text.trim() {
            "auto" => Ok(Self::Auto),
            "cpu" => Ok(Self::Cpu),
            list => {
                let mut indices = Vec::new();
                for part in list.split(',') {
                    let index = match part.trim() {
                        "cuda" => 0,
                        other => other.strip_prefix("cuda:").and_then(|index| index.parse().ok()).ok_or_else(syntax)?,
                    };
                    if indices.contains(&index) {
                        return Err(RuntimeError::DeviceRepeated(index));
                    }
                    indices.push(index);
                }
                Ok(Self::Cuda(indices))
            }
        }
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Auto => write!(f, "auto"),
            Self::Cpu => write!(f, "cpu"),
            Self::Cuda(indices) => {
                let names: Vec<String> = indices.iter().map(|index| format!("cuda:{index}")).collect();
                write!(f, "{}", names.join(","))
            }
        }
    }
}

/// A resolved device and how to name it in logs and summaries (`cpu`, `cuda:0`, `cuda:0,cuda:1`).
#[derive(Debug, Clone)]
pub struct ResolvedDevice {
    /// The main device: where the model is built and evaluated.
    pub device: Device,
    /// Every device that trains, the main one first (one element unless data-parallel).
    pub devices: Vec<Device>,
    pub name: String,
}

impl ResolvedDevice {
    /// Whether training runs data-parallel on several devices.
    pub fn is_data_parallel(&self) -> bool {
        self.devices.len() > 1
    }
}

/// The CUDA device last resolved in this process (-1: none), for [`synchronize`].
static RESOLVED_CUDA: AtomicI64 = AtomicI64::new(-1);

/// Waits until the resolved (main) CUDA device has finished its queued work, so that a timing
/// taken after it covers the work (CUDA runs asynchronously); does nothing on the CPU, where
/// libtorch runs synchronously.
pub fn synchronize() {
    let index = RESOLVED_CUDA.load(Ordering::SeqCst);
    if index >= 0 {
        tch::Cuda::synchronize(index);
    }
}

impl DeviceChoice {
    /// Resolves the request against what libtorch sees. Asking for a CUDA device that does not
    /// exist is an error (libtorch would abort the process instead).
    pub fn resolve(&self) -> Result<ResolvedDevice, RuntimeError> {
        let cuda_count = if tch::Cuda::is_available() { tch::Cuda::device_count().max(0) as usize } else { 0 };
        let resolved = self.resolve_with(cuda_count)?;
        if resolved.name != "cpu" {
            // Peak GPU memory for the run's summary; without it the run still trains.
            if let Err(error) = crate::gpu_memory::start_gpu_memory_sampling() {
                tracing::warn!(%error, "peak GPU memory will not be reported");
            }
        }
        Ok(resolved)
    }

    /// [`Self::resolve`] on a machine with `cuda_count` CUDA devices.
    fn resolve_with(&self, cuda_count: usize) -> Result<ResolvedDevice, RuntimeError> {
        let indices = match self {
            Self::Cpu => Vec::new(),
            Self::Auto => {
                if cuda_count > 0 {
                    vec![0]
                } else {
                    Vec::new()
                }
            }
            Self::Cuda(indices) => {
                if let Some(&index) = indices.iter().find(|&&index| index >= cuda_count) {
                    return Err(if cuda_count == 0 {
                        RuntimeError::CudaUnavailable(index)
                    } else {
                        RuntimeError::CudaIndex { index, count: cuda_count }
                    });
                }
                indices.clone()
            }
        };
        // The project trains on libtorch (burn-tch), which burn 0.22 marks deprecated.
        #[allow(deprecated)]
        let resolved = match indices.first() {
            Some(&main) => ResolvedDevice {
                device: Device::libtorch_cuda(main),
                devices: indices.iter().map(|&index| Device::libtorch_cuda(index)).collect(),
                name: Self::Cuda(indices.clone()).to_string(),
            },
            None => ResolvedDevice { device: libtorch_cpu(), devices: vec![libtorch_cpu()], name: "cpu".to_string() },
        };
        tracing::info!(requested = %self, device = %resolved.name, "libtorch device chosen");
        if let Some(&main) = indices.first() {
            RESOLVED_CUDA.store(main as i64, Ordering::SeqCst);
        }
        Ok(resolved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form() {
        assert_eq!("auto".parse::<DeviceChoice>().unwrap(), DeviceChoice::Auto);
        assert_eq!("cpu".parse::<DeviceChoice>().unwrap(), DeviceChoice::Cpu);
        assert_eq!("cuda".parse::<DeviceChoice>().unwrap(), DeviceChoice::Cuda(vec![0]));
        assert_eq!("cuda:3".parse::<DeviceChoice>().unwrap(), DeviceChoice::Cuda(vec![3]));
        assert_eq!("cuda:0,cuda:1".parse::<DeviceChoice>().unwrap(), DeviceChoice::Cuda(vec![0, 1]));
        assert_eq!("cuda:2, cuda:0".parse::<DeviceChoice>().unwrap(), DeviceChoice::Cuda(vec![2, 0]));
        assert_eq!(DeviceChoice::Cuda(vec![0, 1]).to_string(), "cuda:0,cuda:1");
        for bad in ["gpu", "cuda:", "cuda:x", "cuda:-1", "", "cpu,cuda:0", "cuda:0,", "cuda:0,auto"] {
            let error = bad.parse::<DeviceChoice>().unwrap_err();
            assert!(error.to_string().contains("expected auto, cpu or cuda:N"), "{bad}: {error}");
        }
        let repeated = "cuda:1,cuda:1".parse::<DeviceChoice>().unwrap_err();
        assert!(repeated.to_string().contains("cuda:1 is listed twice"), "{repeated}");
    }

    #[test]
    fn cpu_always_resolves_and_auto_matches_libtorch() {
        let cpu = DeviceChoice::Cpu.resolve().unwrap();
        assert_eq!((cpu.name.as_str(), cpu.devices.len(), cpu.is_data_parallel()), ("cpu", 1, false));
        let auto = DeviceChoice::Auto.resolve().unwrap();
        let expected = if tch::Cuda::is_available() { "cuda:0" } else { "cpu" };
        assert_eq!(auto.name, expected);
    }

    #[test]
    fn missing_cuda_devices_are_errors_not_panics() {
        let count = if tch::Cuda::is_available() { tch::Cuda::device_count() as usize } else { 0 };
        let error = DeviceChoice::Cuda(vec![count]).resolve().unwrap_err();
        assert!(error.to_string().contains(&format!("cuda:{count}")), "{error}");
        // Without a GPU, and with one GPU for a list of two.
        let none = DeviceChoice::Cuda(vec![0, 1]).resolve_with(0).unwrap_err();
        assert!(none.to_string().contains("sees no CUDA GPU"), "{none}");
        let one = DeviceChoice::Cuda(vec![0, 1]).resolve_with(1).unwrap_err();
        assert!(one.to_string().contains("cuda:1") && one.to_string().contains("only 1"), "{one}");
    }
}
