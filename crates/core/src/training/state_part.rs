//! The carried state's part as a validation metric: how many bits per byte the state carried
//! from window to window saves against the same windows read with the state reset before each,
//! `(sum(nll reset) - sum(nll carried)) / (ln 2 x bytes)` over an epoch (positive: the state
//! helps), so that every epoch of a run says whether its recurrence carries anything yet.

use burn::tensor::{Tensor, TensorReadError};

use super::bits_per_byte::bits_per_byte;
use super::mean_metric::{MeanMetric, StepValue};

/// What [`CarriedStatePartMetric`] reads from one batch.
#[derive(Debug, Clone)]
pub struct CarriedStatePartInput {
    /// Summed NLL (nats) of the batch's targets, the state carried. `[1]`
    pub carried_nll_sum: Tensor<1>,
    /// ... and reset before every window; `None` where the batch was not also read reset (in
    /// training, or for a model that carries nothing): the batch is skipped. `[1]`
    pub reset_nll_sum: Option<Tensor<1>>,
    /// UTF-8 bytes the targets stand for.
    pub bytes: usize,
}

/// The carried state's part in bits per byte (reset minus carried; each batch weighs by its bytes).
pub struct CarriedStatePart;

/// The validation metric of [`CarriedStatePart`].
pub type CarriedStatePartMetric = MeanMetric<CarriedStatePart>;

impl StepValue for CarriedStatePart {
    type Input = CarriedStatePartInput;
    const NAME: &'static str = "Carried State Part";

    fn read(input: &CarriedStatePartInput) -> Result<Option<(f64, usize)>, TensorReadError> {
        let Some(reset) = &input.reset_nll_sum else { return Ok(None) };
        if input.bytes == 0 {
            return Ok(None);
        }
        let reset = reset.clone().try_into_scalar::<f64>()?;
        let carried = input.carried_nll_sum.clone().try_into_scalar::<f64>()?;
        Ok(Some((bits_per_byte(reset - carried, input.bytes), input.bytes)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    #[test]
    fn the_part_is_reset_minus_carried_in_bits_per_byte_and_skips_batches_read_once() {
        let device = Device::default();
        let scalar = |value: f64| Tensor::<1>::from_floats([value as f32], &device);
        let ln2 = std::f64::consts::LN_2;
        // 10 bytes; reset costs 2 ln 2 nats more than carried: 0.2 bits per byte.
        let input = CarriedStatePartInput {
            carried_nll_sum: scalar(5.0),
            reset_nll_sum: Some(scalar(5.0 + 2.0 * ln2)),
            bytes: 10,
        };
        let (value, weight) = CarriedStatePart::read(&input).unwrap().unwrap();
        assert!((value - 0.2).abs() < 1e-6 && weight == 10, "{value} {weight}");
        let once = CarriedStatePartInput { reset_nll_sum: None, ..input };
        assert!(CarriedStatePart::read(&once).unwrap().is_none());
    }
}
