//! The carried state's part as validation metrics: how many bits per byte the state carried
//! from window to window saves against the same windows read with the state reset before each,
//! `(sum(nll reset) - sum(nll carried)) / (ln 2 x bytes)` over an epoch (positive: the state
//! helps), and against the same windows read with another stream's state (positive: the state
//! knows its own stream), so that every epoch of a run says whether its recurrence carries
//! anything yet, and whether it is the stream's text.

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
    /// ... and starting from another stream's carried state, every window reading another
    /// stream's (`StateCarry::Shuffled`); `None` where the batch was not also read that way. `[1]`
    pub shuffled_nll_sum: Option<Tensor<1>>,
    /// UTF-8 bytes the targets stand for.
    pub bytes: usize,
}

/// The carried state's part in bits per byte (reset minus carried; each batch weighs by its bytes).
pub struct CarriedStatePart;

/// The validation metric of [`CarriedStatePart`].
pub type CarriedStatePartMetric = MeanMetric<CarriedStatePart>;

/// What another stream's state costs against the stream's own, in bits per byte (shuffled minus
/// carried; each batch weighs by its bytes).
pub struct ShuffledStatePart;

/// The validation metric of [`ShuffledStatePart`].
pub type ShuffledStatePartMetric = MeanMetric<ShuffledStatePart>;

/// `other − carried` in bits per byte, weighed by the batch's bytes; `None` without `other`.
fn part_against(
    other: Option<&Tensor<1>>,
    input: &CarriedStatePartInput,
) -> Result<Option<(f64, usize)>, TensorReadError> {
    let Some(other) = other else { return Ok(None) };
    if input.bytes == 0 {
        return Ok(None);
    }
    let other = other.clone().try_into_scalar::<f64>()?;
    let carried = input.carried_nll_sum.clone().try_into_scalar::<f64>()?;
    Ok(Some((bits_per_byte(other - carried, input.bytes), input.bytes)))
}

impl StepValue for CarriedStatePart {
    type Input = CarriedStatePartInput;
    const NAME: &'static str = "Carried State Part";

    fn read(input: &CarriedStatePartInput) -> Result<Option<(f64, usize)>, TensorReadError> {
        part_against(input.reset_nll_sum.as_ref(), input)
    }
}

impl StepValue for ShuffledStatePart {
    type Input = CarriedStatePartInput;
    const NAME: &'static str = "Shuffled State Part";

    fn read(input: &CarriedStatePartInput) -> Result<Option<(f64, usize)>, TensorReadError> {
        part_against(input.shuffled_nll_sum.as_ref(), input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    #[test]
    fn the_parts_are_reset_and_shuffled_minus_carried_in_bits_per_byte_and_skip_batches_read_once() {
        let device = Device::default();
        let scalar = |value: f64| Tensor::<1>::from_floats([value as f32], &device);
        let ln2 = std::f64::consts::LN_2;
        // 10 bytes; reset costs 2 ln 2 nats more than carried: 0.2 bits per byte.
        // Another stream's state costs ln 2 nats more: 0.1 bits per byte.
        let input = CarriedStatePartInput {
            carried_nll_sum: scalar(5.0),
            reset_nll_sum: Some(scalar(5.0 + 2.0 * ln2)),
            shuffled_nll_sum: Some(scalar(5.0 + ln2)),
            bytes: 10,
        };
        let (value, weight) = CarriedStatePart::read(&input).unwrap().unwrap();
        assert!((value - 0.2).abs() < 1e-6 && weight == 10, "{value} {weight}");
        let (shuffled, weight) = ShuffledStatePart::read(&input).unwrap().unwrap();
        assert!((shuffled - 0.1).abs() < 1e-6 && weight == 10, "{shuffled} {weight}");
        let once = CarriedStatePartInput { reset_nll_sum: None, shuffled_nll_sum: None, ..input };
        assert!(CarriedStatePart::read(&once).unwrap().is_none());
        assert!(ShuffledStatePart::read(&once).unwrap().is_none());
    }
}
