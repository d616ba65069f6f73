//! GPT-2 as Hugging Face defines it, with module names that follow HF's keys (`wte`, `wpe`,
//! `h.N.ln_1`, `attn.c_attn`, `attn.c_proj`, `mlp.c_fc`, `mlp.c_proj`, `ln_f`): its config, its
//! model (a [`crate::decoder::Decoder`]), its checkpoint keys and an exporter to HF's format.

mod config;
mod export;
mod loader;
mod model;

pub use config::Gpt2Config;
pub use export::{ExportError, export_gpt2};
pub use loader::{GPT2_KEYS, load_gpt2, load_tokenizer};
pub use model::{Gpt2, Gpt2Attention, Gpt2Block, Gpt2Mlp};
