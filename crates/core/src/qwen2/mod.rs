//! Qwen2 (`Qwen2ForCausalLM`): Llama's module tree and checkpoint keys with biases on the query,
//! key and value projections, read from Qwen2's own `config.json` keys. Everything but the
//! config is Llama's ([`crate::llama`]).

mod config;

pub use config::{QWEN2_MODEL_TYPE, Qwen2Config, load_qwen2};
