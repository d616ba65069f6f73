//! A Learner metric for one number per step (or batch), averaged over an epoch with weights:
//! the shared mechanics of the gradient-norm and bits-per-byte metrics.

use std::marker::PhantomData;
use std::sync::Arc;

use burn::tensor::TensorReadError;
use burn::train::metric::state::{FormatOptions, NumericMetricState};
use burn::train::metric::{
    Metric, MetricAttributes, MetricMetadata, MetricName, Numeric, NumericAttributes, NumericEntry, SerializedEntry,
};

/// What a [`MeanMetric`] reads from each item.
pub trait StepValue: Send + Sync + 'static {
    /// The metric's input (what the model output adapts to).
    type Input: Send + Sync + 'static;
    /// The name in logs and summaries (`train_<name>` in snake case).
    const NAME: &'static str;

    /// The item's value and its weight in the epoch mean; `None` skips the item.
    fn read(input: &Self::Input) -> Result<Option<(f64, usize)>, TensorReadError>;
}

/// The weighted epoch mean of a [`StepValue`] (lower is better).
pub struct MeanMetric<V> {
    state: NumericMetricState,
    value: PhantomData<V>,
}

impl<V: StepValue> MeanMetric<V> {
    pub const NAME: &'static str = V::NAME;
}

impl<V> Default for MeanMetric<V> {
    fn default() -> Self {
        Self { state: NumericMetricState::default(), value: PhantomData }
    }
}

impl<V> Clone for MeanMetric<V> {
    fn clone(&self) -> Self {
        Self { state: self.state.clone(), value: PhantomData }
    }
}

impl<V: StepValue> Metric for MeanMetric<V> {
    type Input = V::Input;

    fn name(&self) -> MetricName {
        Arc::new(V::NAME.to_string())
    }

    fn attributes(&self) -> MetricAttributes {
        NumericAttributes { unit: None, higher_is_better: false }.into()
    }

    fn update(&mut self, item: &V::Input, _metadata: &MetricMetadata) -> Result<SerializedEntry, TensorReadError> {
        if let Some((value, weight)) = V::read(item)? {
            self.state.update(value, weight);
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

impl<V: StepValue> Numeric for MeanMetric<V> {
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
