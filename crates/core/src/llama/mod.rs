//! Llama-family models as Hugging Face defines `LlamaForCausalLM` (SmolLM2, TinyLlama, Llama):
//! RMSNorm, rotary embeddings in the rotate-half layout, grouped-query attention, a SwiGLU MLP and
//! a tied or separate head, with module names that follow HF's keys: its config, its model (a
//! [`crate::decoder::Decoder`]), its checkpoint keys and an exporter to HF's format.

mod config;
mod export;
mod hf_config;
mod loader;
mod model;
mod rotary;

pub use config::{LLAMA_MODEL_TYPE, LlamaConfig};
pub use export::export_llama;
pub(crate) use hf_config::{FamilyDefaults, HfLlamaFamilyConfig};
pub use loader::{LLAMA_KEYS, load_llama, load_llama_weights, load_tokenizer};
pub use model::{Llama, LlamaAttention, LlamaDecoderLayer, LlamaMlp, LlamaModel};
pub use rotary::{RotaryAngles, RotaryTables};
