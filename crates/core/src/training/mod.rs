//! The training harness every stage uses: a stage supplies its model (a [`TaskModel`]), data
//! loaders and metrics; the harness builds the optimizer, warm-up schedule and global gradient
//! clipping, runs burn's Learner, and reads the metric history back for the run summary.

mod bits_per_byte;
mod config;
mod divergence;
mod grad_norm;
#[allow(deprecated)]
mod graph_tracking;
mod harness;
mod mean_metric;
mod parameters;
mod progress_renderer;
mod quiet_renderer;
mod resume;
mod schedule;
mod sealed_checkpoint;
mod selection;
mod state_part;
mod task;
mod training_clock;

pub use bits_per_byte::{BitsPerByteInput, BitsPerByteMetric, bits_per_byte};
pub use config::{LrDecay, Optimizer, TrainingConfig};
pub use divergence::{Divergence, DivergenceGuard};
pub use grad_norm::{GradNormInput, GradNormMetric, clip_by_global_norm};
pub(crate) use graph_tracking::node_is_tracked;
pub use graph_tracking::{GraphTrackingBackend, is_tracked};
pub use harness::{LearnerMetric, MetricHistory, TrainingReport, execution_strategy, step_value, train};
pub use mean_metric::{MeanMetric, StepValue};
pub use parameters::{count_parameters, parameters_with_gradient};
pub use progress_renderer::{LOG_EVERY, ProgressOutput, ProgressRenderer};
pub use quiet_renderer::QuietRenderer;
pub use resume::{
    ModelCheckpointer, RESUME_DIR, ResumableLoader, discard_logs_after, epoch_seed, latest_checkpoint, resume_dir,
};
pub use schedule::learning_rate_schedule;
pub use sealed_checkpoint::{
    CHECKPOINT_PARTS, CheckpointWriteFailure, SealedCheckpointer, checkpoint_file, damage_of, newest_intact_checkpoint,
};
pub use selection::{NoImprovementStopping, selected_epoch};
pub use state_part::{
    CarriedStatePart, CarriedStatePartInput, CarriedStatePartMetric, ShuffledStatePart, ShuffledStatePartMetric,
};
pub use task::{StepTimes, TaskModel, TrainItem, Trainable};
pub use training_clock::TrainingClock;
