//! Which device a run computes on: `--device auto|cpu|cuda:N`.

use std::fmt;
use std::str::FromStr;

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceChoice {
    /// CUDA device 0 when libtorch sees a GPU, otherwise the CPU.
    #[default]
    Auto,
    /// The libtorch CPU device.
    Cpu,
    /// The libtorch CUDA device with this index.
    Cuda(usize),
}

impl FromStr for DeviceChoice {
    type Err = RuntimeError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim() {
            "auto" => Ok(Self::Auto),
            "cpu" => Ok(Self::Cpu),
            "cuda" => Ok(Self::Cuda(0)),
            other => other
                .strip_prefix("cuda:")
                .and_then(|index| index.parse().ok())
                .map(Self::Cuda)
                .ok_or_else(|| RuntimeError::DeviceSyntax(text.to_string())),
        }
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Auto => write!(f, "auto"),
            Self::Cpu => write!(f, "cpu"),
            Self::Cuda(index) => write!(f, "cuda:{index}"),
        }
    }
}

/// A resolved device and how to name it in logs and summaries (`cpu`, `cuda:0`).
#[derive(Debug, Clone)]
pub struct ResolvedDevice {
    pub device: Device,
    pub name: String,
}

impl DeviceChoice {
    /// Resolves the request against what libtorch sees. Asking for a CUDA device that does not
    /// exist is an error (libtorch would abort the process instead).
    pub fn resolve(self) -> Result<ResolvedDevice, RuntimeError> {
        let cuda_count = if tch::Cuda::is_available() { tch::Cuda::device_count().max(0) as usize } else { 0 };
        let index = match self {
            Self::Cpu => None,
            Self::Auto => (cuda_count > 0).then_some(0),
            Self::Cuda(_) if cuda_count == 0 => {
                return Err(RuntimeError::CudaUnavailable(self.cuda_index()));
            }
            Self::Cuda(index) if index >= cuda_count => {
                return Err(RuntimeError::CudaIndex { index, count: cuda_count });
            }
            Self::Cuda(index) => Some(index),
        };
        // The project trains on libtorch (burn-tch), which burn 0.22 marks deprecated.
        #[allow(deprecated)]
        let resolved = match index {
            Some(index) => ResolvedDevice { device: Device::libtorch_cuda(index), name: format!("cuda:{index}") },
            None => ResolvedDevice { device: libtorch_cpu(), name: "cpu".to_string() },
        };
        tracing::info!(requested = %self, device = %resolved.name, "libtorch device chosen");
        Ok(resolved)
    }

    fn cuda_index(self) -> usize {
        match self {
            Self::Cuda(index) => index,
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form() {
        assert_eq!("auto".parse::<DeviceChoice>().unwrap(), DeviceChoice::Auto);
        assert_eq!("cpu".parse::<DeviceChoice>().unwrap(), DeviceChoice::Cpu);
        assert_eq!("cuda".parse::<DeviceChoice>().unwrap(), DeviceChoice::Cuda(0));
        assert_eq!("cuda:3".parse::<DeviceChoice>().unwrap(), DeviceChoice::Cuda(3));
        for bad in ["gpu", "cuda:", "cuda:x", "cuda:-1", ""] {
            let error = bad.parse::<DeviceChoice>().unwrap_err();
            assert!(error.to_string().contains("expected auto, cpu or cuda:N"), "{bad}: {error}");
        }
    }

    #[test]
    fn cpu_always_resolves_and_auto_matches_libtorch() {
        assert_eq!(DeviceChoice::Cpu.resolve().unwrap().name, "cpu");
        let auto = DeviceChoice::Auto.resolve().unwrap();
        let expected = if tch::Cuda::is_available() { "cuda:0" } else { "cpu" };
        assert_eq!(auto.name, expected);
    }

    #[test]
    fn missing_cuda_device_is_an_error_not_a_panic() {
        let count = if tch::Cuda::is_available() { tch::Cuda::device_count() as usize } else { 0 };
        let error = DeviceChoice::Cuda(count).resolve().unwrap_err();
        assert!(error.to_string().contains(&format!("cuda:{count}")), "{error}");
    }
}
