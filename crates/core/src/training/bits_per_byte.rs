//! Bits per byte as a Learner metric: summed negative log-likelihood over `ln 2 x` the UTF-8
//! bytes of the predicted text, exact over an epoch (each batch weighs by its bytes).

use std::sync::Arc;

use burn::tensor::{Tensor, TensorReadError};
use burn::train::metric::state::{FormatOptions, NumericMetricState};
use burn::train::metric::{
    Metric, MetricAttributes, MetricMetadata, MetricName, Numeric, NumericAttributes, NumericEntry,
    SerializedEntry,
};

/// What [`BitsPerByteMetric`] reads from one batch.
#[derive(Debug, Clone)]
pub struct BitsPerByteInput {
    /// Summed negative log-likelihood (nats) of the batch's targets. `[1]`
    pub nll_sum: Tensor<1>,
    /// UTF-8 bytes the targets stand for.
    pub bytes: usize,
}

/// Bits per byte of an epoch: `sum(nll) / (ln 2 * sum(bytes))`.
#[derive(Clone, Default)]
pub struct BitsPerByteMetric {
    state: NumericMetricState,
}

impl BitsPerByteMetric {
    pub const NAME: &'static str = "Bits Per Byte";
}

/// Bits per byte of a summed NLL in nats over `bytes` bytes.
pub fn bits_per_byte(nll_nats: f64, bytes: usize) -> f64 {
    nll_nats / (std::f64::consts::LN_2 * bytes.max(1) as f64)
}

impl Metric for BitsPerByteMetric {
    type Input = BitsPerByteInput;

    fn name(&self) -> MetricName {
        Arc::new(Self::NAME.to_string())
    }

    fn attributes(&self) -> MetricAttributes {
        NumericAttributes { unit: None, higher_is_better: false }.into()
    }

    fn update(&mut self, item: &BitsPerByteInput, _metadata: &MetricMetadata) -> Result<SerializedEntry, TensorReadError> {
        if item.bytes > 0 {
            let nll = item.nll_sum.clone().try_into_scalar::<f64>()?;
            // Weighted by bytes, the epoch mean is the summed NLL over the summed bytes.
            self.state.update(bits_per_byte(nll, item.bytes), item.bytes);
        }
        Ok(self.state.compute_update(FormatOptions::new(self.name()).precision(4)))
    }

    fn compute(&mut self) -> Result<SerializedEntry, TensorReadError> {
        Ok(self.state.compute_final(FormatOptions::new(self.name()).precision(4)))
    }

    fn clear(&mut self) {
        self.state.reset();
    }
}

impl Numeric for BitsPerByteMetric {
    fn value(&self) -> Option<NumericEntry> {
        Some(self.state.current_value())
    }

    fn running_value(&self) -> Option<NumericEntry> {
        Some(self.state.running_value())
    }

    fn final_value(&self) -> NumericEntry {
        self.state.final_value()
    }
}
