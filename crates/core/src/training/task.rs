use std::sync::{Arc, Mutex};
use std::time::Instant;

use burn::module::{Module, ModuleDisplay};
use burn::optim::GradientsParams;
use burn::tensor::{ExecutionError, Tensor};
use burn::train::metric::{AccuracyInput, Adaptor, ItemLazy, LossInput, PerplexityInput};
use burn::train::{InferenceStep, TrainOutput, TrainStep};

use super::bits_per_byte::BitsPerByteInput;
use super::divergence::DivergenceGuard;
use super::grad_norm::{GradNormInput, clip_by_global_norm};

/// What a stage's model provides to be trained by the harness.
pub trait TaskModel: Module + ModuleDisplay + 'static {
    /// One batch.
    type Batch: Send + 'static;
    /// What the metrics read (e.g. burn's `ClassificationOutput`).
    type Output: ItemLazy + 'static;

    /// The record path under which the model's frozen part lies (e.g. a frozen base), left out
    /// of the Learner's checkpoints: it is loaded from its own files. Paths start with `model.`
    /// (the field of [`Trainable`] that holds the task).
    const FROZEN_PREFIX: Option<&'static str> = None;

    /// Record path prefixes that older checkpoints used, each with the one that replaced it
    /// (`(old, new)`, both from `model.`): a resumed run written before a rename still loads.
    const RENAMED_PREFIXES: &'static [(&'static str, &'static str)] = &[];

    /// Forward pass on a batch: the loss to minimise (`[1]`) and the metrics' input.
    fn forward_task(&self, batch: Self::Batch) -> (Tensor<1>, Self::Output);
}

/// Seconds of each training step (forward, backward, gradient norm and clipping; not the
/// optimizer update or data loading), shared by every clone of the model the Learner makes.
/// Exact on the CPU, where libtorch runs synchronously; on CUDA the step's one read of its loss
/// and gradient norm waits for its kernels before the time is taken.
#[derive(Debug, Clone, Default)]
pub struct StepTimes {
    times: Arc<Mutex<Vec<f64>>>,
    /// Steps trained before this process (a resumed run).
    before: usize,
}

impl StepTimes {
    /// Step times of a run that trained `before` steps before this process (resumed).
    pub fn after(before: usize) -> Self {
        Self { times: Arc::default(), before }
    }

    pub fn record(&self, seconds: f64) {
        if let Ok(mut times) = self.times.lock() {
            times.push(seconds);
        }
    }

    /// The run's steps so far (those before a resume included).
    pub fn count(&self) -> usize {
        self.before + self.times.lock().map(|times| times.len()).unwrap_or_default()
    }

    /// Every step recorded by this process, in order.
    pub fn all(&self) -> Vec<f64> {
        self.times.lock().map(|times| times.clone()).unwrap_or_default()
    }

    /// Median step time, the first step (warm-up) left out when there are others.
    pub fn median(&self) -> Option<f64> {
        let times = self.all();
        let mut timed = if times.len() > 1 { times[1..].to_vec() } else { times };
        if timed.is_empty() {
            return None;
        }
        timed.sort_by(f64::total_cmp);
        let middle = timed.len() / 2;
        Some(if timed.len() % 2 == 1 { timed[middle] } else { (timed[middle - 1] + timed[middle]) / 2.0 })
    }
}

/// A stage model wrapped for the Learner: each training step back-propagates the loss, measures
/// the global gradient norm and clips it to `max_grad_norm` (`None`: no clipping).
#[derive(Module, Debug)]
pub struct Trainable<M: Module> {
    pub model: M,
    #[module(skip)]
    pub max_grad_norm: Option<f64>,
    #[module(skip)]
    pub step_times: StepTimes,
    #[module(skip)]
    pub guard: DivergenceGuard,
}

/// A training step's output: the task's output and the gradient norm before clipping (read
/// back with the loss, once).
#[derive(Debug, Clone)]
pub struct TrainItem<O> {
    pub output: O,
    pub grad_norm: Option<f64>,
}

impl<M: TaskModel> TrainStep for Trainable<M> {
    type Input = M::Batch;
    type Output = TrainItem<M::Output>;

    fn step(&self, batch: M::Batch) -> TrainOutput<TrainItem<M::Output>> {
        let start = Instant::now();
        let (loss, output) = self.model.forward_task(batch);
        let output_loss = loss.clone();
        let grads = GradientsParams::from_grads(loss.backward(), self);
        let (grads, grad_norm) = clip_by_global_norm(self, grads, self.max_grad_norm);
        // The step's one read from the device: the loss and the norm together. It waits for the
        // step's queued kernels (CUDA runs asynchronously), so the time after it covers them.
        let (loss_value, norm_value) = read_loss_and_norm(output_loss, grad_norm);
        self.step_times.record(start.elapsed().as_secs_f64());
        let step = self.step_times.count();
        // A non-finite step leaves the weights as they are: no gradient reaches the optimizer.
        let grads = if self.guard.check(step, loss_value, norm_value) { grads } else { GradientsParams::new() };
        if retrofit_runtime::interrupt::stop_requested() {
            // Ctrl-C: this step's update is the last; the epoch stops here.
            self.guard.interrupt();
        }
        TrainOutput { grads, item: TrainItem { output, grad_norm: norm_value } }
    }
}

/// The values of a step's loss (`[1]`) and gradient norm (`[1]`), in one read from the device.
fn read_loss_and_norm(loss: Tensor<1>, norm: Option<Tensor<1>>) -> (f64, Option<f64>) {
    let both = match norm {
        Some(norm) => Tensor::cat(vec![loss.detach(), norm], 0),
        None => loss.detach(),
    };
    let values: Vec<f64> = both.into_data().iter::<f64>().collect();
    (values[0], values.get(1).copied())
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
        Ok(Self { output: self.output.sync()?, grad_norm: self.grad_norm })
    }
}

impl<O> Adaptor<GradNormInput> for TrainItem<O> {
    fn adapt(&self) -> GradNormInput {
        GradNormInput { norm: self.grad_norm }
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

impl<O: Adaptor<BitsPerByteInput>> Adaptor<BitsPerByteInput> for TrainItem<O> {
    fn adapt(&self) -> BitsPerByteInput {
        self.output.adapt()
    }
}
