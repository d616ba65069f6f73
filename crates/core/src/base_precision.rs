//! The number format a frozen base computes in. In bf16 its weights are stored and its blocks
//! run in bf16; what goes in and out of the base stays float32, so that the trainable parts around
//! it, the loss and the optimizer stay float32.
//!
//! bf16 pays only where the hardware computes it natively: on a CPU with AVX-512 bf16 (or AMX)
//! libtorch's bf16 matmuls are faster than float32's, on an AVX2-only CPU they are 7-70x slower
//! (see the README's bf16 table). `auto`, the default, therefore decides from the device.

use std::time::Instant;

use burn::module::{ModuleMapper, Param};
use burn::tensor::{DType, Device, Distribution, Tensor};
use serde::{Deserialize, Serialize};

/// `[model] base_precision`: what the config asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum BasePrecision {
    /// bf16 where the device computes it natively, float32 elsewhere.
    #[default]
    Auto,
    Float32,
    Bfloat16,
}

/// The format a base computes in: what [`BasePrecision`] resolves to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BaseFormat {
    Float32,
    Bfloat16,
}

impl BaseFormat {
    pub fn dtype(self) -> DType {
        match self {
            Self::Float32 => DType::F32,
            Self::Bfloat16 => DType::BF16,
        }
    }

    /// The format of a tensor of `dtype` (bf16, or float32 for anything else).
    pub fn of(dtype: DType) -> Self {
        if dtype == DType::BF16 { Self::Bfloat16 } else { Self::Float32 }
    }
}

impl std::fmt::Display for BaseFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Float32 => "float32",
            Self::Bfloat16 => "bfloat16",
        })
    }
}

/// Whether a device computes bf16 natively, and what says so.
#[derive(Debug, Clone, PartialEq)]
pub struct Bf16Support {
    pub native: bool,
    /// One clause for the log line, e.g. `the CPU has avx512_bf16`.
    pub evidence: String,
}

/// The format a run's base computes in, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct PrecisionChoice {
    pub format: BaseFormat,
    /// One line for the log: the format, what was asked for and why.
    pub reason: String,
    /// Set when bf16 was asked for on a device without it: how much slower it will be.
    pub warning: Option<String>,
}

impl BasePrecision {
    /// Resolves the request: `support` tells whether the device has native bf16; `slowdown`
    /// (bf16 matmul time over float32's) is measured only to warn when bf16 is asked for on a
    /// device without it. Both are injected so that the decision is testable on any machine.
    pub fn resolve(self, support: impl FnOnce() -> Bf16Support, slowdown: impl FnOnce() -> f64) -> PrecisionChoice {
        let plain = |format: BaseFormat, reason: String| PrecisionChoice { format, reason, warning: None };
        match self {
            Self::Float32 => plain(BaseFormat::Float32, "base precision float32 (as configured)".to_string()),
            Self::Auto => {
                let support = support();
                let format = if support.native { BaseFormat::Bfloat16 } else { BaseFormat::Float32 };
                plain(format, format!("base precision {format} (auto: {})", support.evidence))
            }
            Self::Bfloat16 => {
                let support = support();
                if support.native {
                    return plain(
                        BaseFormat::Bfloat16,
                        format!("base precision bfloat16 (as configured; {})", support.evidence),
                    );
                }
                let factor = slowdown();
                PrecisionChoice {
                    format: BaseFormat::Bfloat16,
                    reason: format!("base precision bfloat16 (as configured; {})", support.evidence),
                    warning: Some(format!(
                        "base_precision = \"bfloat16\" on a device without native bf16 ({}): its matmuls measured {factor:.1}x slower than float32 here; use \"auto\" or \"float32\"",
                        support.evidence
                    )),
                }
            }
        }
    }
}

/// Whether `device` computes bf16 natively: on the CPU from its instruction set (AVX-512 bf16,
/// which every CPU with AMX also has), on CUDA from a timing of a large matmul in both formats.
pub fn bf16_support(device: &Device) -> Bf16Support {
    if is_cuda(device) {
        let factor = matmul_slowdown(device, 1024, 4096, 2048);
        return Bf16Support {
            native: factor < 1.0,
            evidence: format!("a bf16 matmul takes {factor:.2}x the float32 time on this GPU"),
        };
    }
    cpu_bf16_support()
}

/// The CPU's answer of [`bf16_support`].
pub fn cpu_bf16_support() -> Bf16Support {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512bf16") {
            return Bf16Support { native: true, evidence: "the CPU has avx512_bf16".to_string() };
        }
        Bf16Support { native: false, evidence: "the CPU has no avx512_bf16".to_string() }
    }
    #[cfg(target_arch = "aarch64")]
    {
        let native = std::arch::is_aarch64_feature_detected!("bf16");
        let evidence = if native { "the CPU has bf16 instructions" } else { "the CPU has no bf16 instructions" };
        Bf16Support { native, evidence: evidence.to_string() }
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    Bf16Support { native: false, evidence: "bf16 support is not known for this CPU".to_string() }
}

fn is_cuda(device: &Device) -> bool {
    format!("{device:?}").to_lowercase().contains("cuda")
}

/// bf16 matmul time over float32's on `device`, for `[rows, inner] @ [inner, outer]` (the
/// forward layout) plus the transposed product a backward takes (`[rows, outer] @ [inner, outer]ᵀ`);
/// the best of two after a warm-up, each read back so that CUDA's queue is included.
pub fn matmul_slowdown(device: &Device, rows: usize, inner: usize, outer: usize) -> f64 {
    let time = |dtype: DType| {
        let input = Tensor::<2>::random([rows, inner], Distribution::Normal(0.0, 1.0), device).cast(dtype);
        let weight = Tensor::<2>::random([inner, outer], Distribution::Normal(0.0, 1.0), device).cast(dtype);
        let grad = Tensor::<2>::random([rows, outer], Distribution::Normal(0.0, 1.0), device).cast(dtype);
        let once = || {
            let start = Instant::now();
            let forward = input.clone().matmul(weight.clone());
            let backward = grad.clone().matmul(weight.clone().transpose());
            let _ = (
                forward.sum().cast(DType::F32).into_scalar::<f32>(),
                backward.sum().cast(DType::F32).into_scalar::<f32>(),
            );
            start.elapsed().as_secs_f64()
        };
        once();
        once().min(once())
    };
    let float32 = time(DType::F32);
    let bfloat16 = time(DType::BF16);
    bfloat16 / float32.max(1e-9)
}

/// Casts every float parameter of a module to `dtype`.
pub(crate) struct CastParameters(pub DType);

impl ModuleMapper for CastParameters {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let dtype = self.0;
        param.map(|tensor| if tensor.dtype() == dtype { tensor } else { tensor.cast(dtype) })
    }
}

/// `tensor` in `dtype` (unchanged when it already is).
pub(crate) fn in_dtype<const D: usize>(tensor: Tensor<D>, dtype: DType) -> Tensor<D> {
    if tensor.dtype() == dtype { tensor } else { tensor.cast(dtype) }
}
