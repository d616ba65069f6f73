//! The one language-model pipeline, shared by the generator, the recurrent generator and the
//! evaluation of pre-trained bases: the [`CausalLm`] trait, next-token cross-entropy as a
//! training task with bits per byte, the corpus cut into windows, the training run from a task
//! to its summary, and evaluation (streams of windows with a state carried or reset, and
//! sliding-window perplexity).

mod bootstrap;
mod data;
mod epoch_loader;
mod evaluate;
mod run;
mod task;

pub use bootstrap::{GainInterval, PairedUnit, bootstrap_difference, paired_gain_interval, paired_units};
pub use data::{ExamplePlan, LanguageModelDataConfig, LmData, TokenizedCorpus, TrainOrder, load_lm_data};
pub use epoch_loader::{EpochDataset, EpochLoader};
pub use evaluate::{
    RecallLoss, StateCarry, StreamEvaluation, TextEvaluation, WindowedLm, evaluate_streams, evaluate_text,
};
pub use run::{ValidStateParts, train_language_model};
pub use task::{CausalLm, LanguageModeling, LmOutput, token_nll};
