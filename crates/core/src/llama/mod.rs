//! Llama-family models as Hugging Face defines `LlamaForCausalLM` (SmolLM2, TinyLlama, Llama):
//! RMSNorm, rotary embeddings in the rotate-half layout, grouped-query attention, a SwiGLU MLP and
//! a tied or separate head, with module names that follow HF's keys; a loader for any HF Llama
//! directory, generation with a key/value cache and sliding-window evaluation.

mod config;
mod error;
mod eval;
mod generate;
mod loader;
mod model;
mod rotary;

pub use config::{LLAMA_MODEL_TYPE, LlamaConfig};
pub use error::LlamaError;
pub use eval::evaluate_text;
pub use generate::generate;
pub use loader::{load_llama, load_tokenizer};
pub use model::{Llama, LlamaAttention, LlamaContext, LlamaDecoderLayer, LlamaMlp, LlamaModel};
pub use rotary::{RotaryAngles, RotaryTables};
