//! Bits per byte as a Learner metric: summed negative log-likelihood over `ln 2 x` the UTF-8
//! bytes of the predicted text, exact over an epoch (each batch weighs by its bytes).

use burn::tensor::{Tensor, TensorReadError};

use super::mean_metric::{MeanMetric, StepValue};

/// What [`BitsPerByteMetric`] reads from one batch.
#[derive(Debug, Clone)]
pub struct BitsPerByteInput {
    /// Summed negative log-likelihood (nats) of the batch's targets. `[1]`
    pub nll_sum: Tensor<1>,
    /// UTF-8 bytes the targets stand for.
    pub bytes: usize,
}

/// Bits per byte of an epoch: `sum(nll) / (ln 2 * sum(bytes))` (each batch weighs by its bytes).
pub struct BitsPerByte;

/// The bits-per-byte Learner metric.
pub type BitsPerByteMetric = MeanMetric<BitsPerByte>;

impl StepValue for BitsPerByte {
    type Input = BitsPerByteInput;
    const NAME: &'static str = "Bits Per Byte";

    fn read(input: &BitsPerByteInput) -> Result<Option<(f64, usize)>, TensorReadError> {
        if input.bytes == 0 {
            return Ok(None);
        }
        let nll = input.nll_sum.clone().try_into_scalar::<f64>()?;
        Ok(Some((bits_per_byte(nll, input.bytes), input.bytes)))
    }
}

/// Bits per byte of a summed NLL in nats over `bytes` bytes.
pub fn bits_per_byte(nll_nats: f64, bytes: usize) -> f64 {
    nll_nats / (std::f64::consts::LN_2 * bytes.max(1) as f64)
}
