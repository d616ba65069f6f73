//! The number format a frozen base computes in. In `bfloat16` its weights are stored and its
//! blocks run in bf16 (libtorch's bf16 matmuls are about twice as fast as float32 on CPUs with
//! bf16 instructions, and on GPUs); what goes in and out of the base stays float32, so that the
//! trainable parts around it, the loss and the optimizer stay float32.

use burn::module::{ModuleMapper, Param};
use burn::tensor::{DType, Tensor};
use serde::{Deserialize, Serialize};

/// `[model] base_precision`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum BasePrecision {
    #[default]
    Float32,
    Bfloat16,
}

impl BasePrecision {
    pub fn dtype(self) -> DType {
        match self {
            Self::Float32 => DType::F32,
            Self::Bfloat16 => DType::BF16,
        }
    }
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
