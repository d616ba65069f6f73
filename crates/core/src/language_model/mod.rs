//! Language modelling, shared by the generator and the recurrent generator: the [`CausalLm`]
//! trait, next-token cross-entropy as a training task with bits per byte, the `[data]` settings
//! and loaders, and the run from a model to its summary.

mod data;
mod run;
mod task;

pub use data::{EMBEDDED_TEXT, LanguageModelDataConfig, LmData, load_lm_data};
pub use run::train_language_model;
pub use task::{CausalLm, LanguageModeling, LmOutput, token_nll};
