//! GPT-2 as Hugging Face defines it, with module names that follow HF's keys (`wte`, `wpe`,
//! `h.N.ln_1`, `attn.c_attn`, `attn.c_proj`, `mlp.c_fc`, `mlp.c_proj`, `ln_f`), a loader for any
//! HF GPT-2-family directory, a key/value cache for generation, sampling and evaluation.

mod config;
mod export;
mod generate;
mod loader;
mod model;
mod sampling;

pub use config::Gpt2Config;
pub use export::{TOKENIZER_FILE, export_gpt2};
pub use generate::{CachedLm, GenerationConfig, GenerationError, generate, generate_tokens};
pub use loader::{Gpt2Error, load_gpt2, load_tokenizer};
pub use model::{Gpt2, Gpt2Attention, Gpt2Block, Gpt2Mlp, KvCache, LayerCache};
pub use sampling::{Sampler, SamplingConfig};
