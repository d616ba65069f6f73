use burn::module::{Module, ModuleDisplay};
use burn::optim::GradientsParams;
use burn::tensor::{ExecutionError, Tensor};
use burn::train::metric::{AccuracyInput, Adaptor, ItemLazy, LossInput, PerplexityInput};
use burn::train::{InferenceStep, TrainOutput, TrainStep};

use super::grad_norm::{GradNormInput, clip_by_global_norm};

/// What a stage's model provides to be trained by the harness.
pub trait TaskModel: Module + ModuleDisplay + 'static {
    /// One batch.
    type Batch: Send + 'static;
    /// What the metrics read (e.g. burn's `ClassificationOutput`).
    type Output: ItemLazy + 'static;

    /// Forward pass on a batch: the loss to minimise (`[1]`) and the metrics' input.
    fn forward_task(&self, batch: Self::Batch) -> (Tensor<1>, Self::Output);
}

/// A stage model wrapped for the Learner: each training step back-propagates the loss, measures
/// the global gradient norm and clips it to `max_grad_norm` (0: no clipping).
#[derive(Module, Debug)]
pub struct Trainable<M: Module> {
    pub model: M,
    pub max_grad_norm: f64,
}

/// A training step's output: the task's output and the gradient norm before clipping.
#[derive(Debug, Clone)]
pub struct TrainItem<O> {
    pub output: O,
    pub grad_norm: Option<Tensor<1>>,
}

impl<M: TaskModel> TrainStep for Trainable<M> {
    type Input = M::Batch;
    type Output = TrainItem<M::Output>;

    fn step(&self, batch: M::Batch) -> TrainOutput<TrainItem<M::Output>> {
        let (loss, output) = self.model.forward_task(batch);
        let grads = GradientsParams::from_grads(loss.backward(), self);
        let (grads, grad_norm) = clip_by_global_norm(self, grads, self.max_grad_norm);
        TrainOutput { grads, item: TrainItem { output, grad_norm } }
    }
}

impl<M: TaskModel> InferenceStep for Trainable<M> {
    type Input = M::Batch;
    type Output = M::Output;

    fn step(&self, batch: M::Batch) -> M::Output {
        self.model.forward_task(batch).1
    }
}

impl<O: ItemLazy> ItemLazy for TrainItem<O> {
    fn sync(self) -> Result<Self, ExecutionError> {
        Ok(Self {
            output: self.output.sync()?,
            grad_norm: self.grad_norm.map(Tensor::without_autodiff),
        })
    }
}

impl<O> Adaptor<GradNormInput> for TrainItem<O> {
    fn adapt(&self) -> GradNormInput {
        GradNormInput { norm: self.grad_norm.clone() }
    }
}

impl<O: Adaptor<LossInput>> Adaptor<LossInput> for TrainItem<O> {
    fn adapt(&self) -> LossInput {
        self.output.adapt()
    }
}

impl<O: Adaptor<AccuracyInput>> Adaptor<AccuracyInput> for TrainItem<O> {
    fn adapt(&self) -> AccuracyInput {
        self.output.adapt()
    }
}

impl<O: Adaptor<PerplexityInput>> Adaptor<PerplexityInput> for TrainItem<O> {
    fn adapt(&self) -> PerplexityInput {
        self.output.adapt()
    }
}
