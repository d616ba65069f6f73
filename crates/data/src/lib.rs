//! Stage 1, data: loaders (IMDb, enwik8, text, CSV), tokenizers (bytes, GPT-2 BPE, words) and
//! batchers for classification and language modelling.

pub mod classification_batch;
pub mod corpus;
pub mod enwik8;
pub mod error;
pub mod labelled;
pub mod lm_batch;
pub mod probe;
pub mod seeds;
pub mod source;
pub mod stage;
pub mod stats;
pub mod streams;
pub mod text;
pub mod tokenizer;

pub use corpus::ByteSplits;
pub use error::DataError;
