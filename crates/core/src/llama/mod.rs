//! Llama-family models as Hugging Face defines `LlamaForCausalLM` (SmolLM2, TinyLlama, Llama):
//! RMSNorm, rotary embeddings in the rotate-half layout, grouped-query attention, a SwiGLU MLP and
//! a tied or separate head, with module names that follow HF's keys; a loader for any HF Llama
//! directory and generation with a key/value cache. Evaluation is the language-model pipeline's
//! (`crate::language_model::evaluate_text`), as for every [`crate::language_model::CausalLm`].

mod config;
mod error;
mod generate;
mod loader;
mod model;
mod rotary;

pub use config::{LLAMA_MODEL_TYPE, LlamaConfig};
pub use error::LlamaError;
pub use generate::generate;
pub use loader::{load_llama, load_tokenizer};
pub use model::{Llama, LlamaAttention, LlamaContext, LlamaDecoderLayer, LlamaMlp, LlamaModel};
pub use rotary::{RotaryAngles, RotaryTables};
