//! One pre-trained base for the stages that build on one (the recurrent generator, the bench):
//! every supported family seen as embeddings → indexable blocks → final norm → head, so that
//! blocks can be inserted between the base's blocks without knowing the family. The family is
//! chosen from `config.json`'s `model_type`.

use std::fmt;
use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::tensor::{Bool, DType, Device, Int, Tensor};
use retrofit_data::tokenizer::TextTokenizer;
use serde::{Deserialize, Serialize};

use crate::CoreError;
pub use crate::base_precision::{
    BaseFormat, BasePrecision, Bf16Support, PrecisionChoice, bf16_support, cpu_bf16_support, matmul_slowdown,
};
use crate::base_precision::{CastParameters, in_dtype};
use crate::gpt2::{self, GenerationConfig, Gpt2, Gpt2Config, Gpt2Error, KvCache, LayerCache};
use crate::language_model::TextEvaluation;
use crate::llama::{self, Llama, LlamaConfig, LlamaContext, LlamaError, RotaryAngles};

/// The architectures a base can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BaseFamily {
    /// GPT-2 (`model_type` `gpt2`): learned positions, LayerNorm, GELU, tied head.
    Gpt2,
    /// Llama (`model_type` `llama`): rotary positions, RMSNorm, SwiGLU, grouped-query attention.
    Llama,
}

impl BaseFamily {
    /// Every family, in the order error messages list them.
    pub const ALL: [BaseFamily; 2] = [BaseFamily::Gpt2, BaseFamily::Llama];

    /// The `model_type` of the family's `config.json`.
    pub fn model_type(self) -> &'static str {
        match self {
            Self::Gpt2 => "gpt2",
            Self::Llama => llama::LLAMA_MODEL_TYPE,
        }
    }

    /// The family of a `model_type`, if supported.
    pub fn from_model_type(model_type: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|family| family.model_type() == model_type)
    }
}

impl fmt::Display for BaseFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.model_type())
    }
}

fn supported_model_types() -> String {
    BaseFamily::ALL.map(BaseFamily::model_type).join(", ")
}

/// Errors of choosing and loading a base; each displays as one line.
#[derive(Debug, thiserror::Error)]
pub enum BaseError {
    #[error("{path} is missing: a model directory needs config.json ({source})")]
    Missing {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a model config: {source}")]
    Config {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path} names no model_type: supported are {}", supported_model_types())]
    NoModelType { path: PathBuf },
    #[error("{path}: model_type `{found}` is not supported: supported are {}", supported_model_types())]
    UnsupportedModelType { path: PathBuf, found: String },
    #[error(transparent)]
    Gpt2(#[from] Gpt2Error),
    #[error(transparent)]
    Llama(#[from] LlamaError),
    #[error("token id {id} is outside the model's vocabulary of {vocab}: use the model's own tokenizer")]
    TokenOutOfVocabulary { id: u32, vocab: usize },
    #[error("a context of {context} tokens exceeds the model's {positions} positions: use {positions} or less")]
    ContextTooLong { context: usize, positions: usize },
    #[error(transparent)]
    Evaluation(Box<CoreError>),
}

/// The family of the model in `dir`, from `config.json`'s `model_type`.
pub fn base_family(dir: &Path) -> Result<BaseFamily, BaseError> {
    #[derive(Deserialize)]
    struct ModelType {
        model_type: Option<String>,
    }
    let path = dir.join("config.json");
    let text = std::fs::read_to_string(&path).map_err(|source| BaseError::Missing { path: path.clone(), source })?;
    let found = serde_json::from_str::<ModelType>(&text)
        .map_err(|source| BaseError::Config { path: path.clone(), source })?
        .model_type
        .ok_or_else(|| BaseError::NoModelType { path: path.clone() })?;
    BaseFamily::from_model_type(&found).ok_or(BaseError::UnsupportedModelType { path, found })
}

/// A base's architecture, as read from its `config.json` (written into run settings).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "family", rename_all = "kebab-case")]
pub enum BaseConfig {
    Gpt2(Gpt2Config),
    Llama(LlamaConfig),
}

impl BaseConfig {
    pub fn family(&self) -> BaseFamily {
        match self {
            Self::Gpt2(_) => BaseFamily::Gpt2,
            Self::Llama(_) => BaseFamily::Llama,
        }
    }

    /// The model directory's tokenizer; its vocabulary must match the model's.
    pub fn load_tokenizer(&self, dir: &Path) -> Result<TextTokenizer, BaseError> {
        Ok(match self {
            Self::Gpt2(config) => gpt2::load_tokenizer(dir, config)?,
            Self::Llama(config) => llama::load_tokenizer(dir, config)?,
        })
    }
}

/// Loads the model in `dir`, of the family its `config.json` names.
pub fn load_base(dir: &Path, device: &Device) -> Result<(PretrainedBase, BaseConfig), BaseError> {
    Ok(match base_family(dir)? {
        BaseFamily::Gpt2 => {
            let (model, config) = gpt2::load_gpt2(dir, device)?;
            (PretrainedBase::Gpt2(model), BaseConfig::Gpt2(config))
        }
        BaseFamily::Llama => {
            let (model, config) = llama::load_llama(dir, device)?;
            (PretrainedBase::Llama(model), BaseConfig::Llama(config))
        }
    })
}

/// What every block of one forward pass shares (the key mask; for Llama the rotary angles),
/// built once per forward by [`PretrainedBase::context`].
#[derive(Debug, Clone)]
pub struct ForwardContext {
    /// `[batch, 1, seq, seen + seq]`, `true` where a key must not be attended to.
    key_mask: Tensor<4, Bool>,
    /// `[batch, seq]`
    positions: Tensor<2, Int>,
    /// Llama's cos/sin of `positions`; `None` for GPT-2.
    rotary: Option<RotaryAngles>,
}

impl ForwardContext {
    /// `[batch, 1, seq, seen + seq]`, `true` where a key must not be attended to.
    pub fn key_mask(&self) -> &Tensor<4, Bool> {
        &self.key_mask
    }
}

/// A pre-trained causal language model of any supported family.
// One per run, matched on every call: boxing the larger variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum PretrainedBase {
    Gpt2(Gpt2),
    Llama(Llama),
}

impl PretrainedBase {
    /// The base with its weights in `format`: every block, the final norm and the head then
    /// compute in it, taking and returning float32 (see [`crate::base_precision`]).
    pub fn with_precision(self, format: BaseFormat) -> Self {
        self.map(&mut CastParameters(format.dtype()))
    }

    /// What `precision` means for this base on `device` (`auto`: bf16 where the device has it).
    pub fn resolve_precision(&self, precision: BasePrecision, device: &Device) -> PrecisionChoice {
        let d_model = self.d_model();
        precision.resolve(|| bf16_support(device), || matmul_slowdown(device, 256, d_model, 4 * d_model))
    }

    /// The format the base's weights are in (that of its token embedding).
    pub fn dtype(&self) -> DType {
        match self {
            Self::Gpt2(model) => model.wte.weight.val().dtype(),
            Self::Llama(model) => model.model.embed_tokens.weight.val().dtype(),
        }
    }

    pub fn family(&self) -> BaseFamily {
        match self {
            Self::Gpt2(_) => BaseFamily::Gpt2,
            Self::Llama(_) => BaseFamily::Llama,
        }
    }

    /// Number of blocks.
    pub fn n_layer(&self) -> usize {
        match self {
            Self::Gpt2(model) => model.h.len(),
            Self::Llama(model) => model.n_layer(),
        }
    }

    /// Width of the residual stream.
    pub fn d_model(&self) -> usize {
        match self {
            Self::Gpt2(model) => model.wte.weight.dims()[1],
            Self::Llama(model) => model.d_model(),
        }
    }

    pub fn vocab_size(&self) -> usize {
        match self {
            Self::Gpt2(model) => model.wte.weight.dims()[0],
            Self::Llama(model) => model.vocab_size(),
        }
    }

    /// Longest sequence the model takes (positions `0..max_positions`).
    pub fn max_positions(&self) -> usize {
        match self {
            Self::Gpt2(model) => model.n_positions,
            Self::Llama(model) => model.max_position_embeddings,
        }
    }

    /// The input of the first block: token embeddings, plus GPT-2's position embeddings (Llama
    /// takes positions in every block, through [`ForwardContext`]).
    ///
    /// # Shapes
    /// - `ids`, `positions`: `[batch, seq]`
    /// - output: `[batch, seq, d_model]`
    pub fn embed(&self, ids: Tensor<2, Int>, positions: Tensor<2, Int>) -> Tensor<3> {
        let embedded = match self {
            Self::Gpt2(model) => model.embed(ids, positions),
            Self::Llama(model) => model.embed(ids),
        };
        in_dtype(embedded, DType::F32)
    }

    /// The mask (causal, plus padding) and position encodings of `seq` new positions after
    /// `seen` cached ones, for every block of one forward pass.
    ///
    /// # Shapes
    /// - `positions`: `[batch, seq]` (each row counts its real tokens: left padding shifts them)
    /// - `padding`: `[batch, seen + seq]`, `true` at padded positions
    pub fn context(&self, positions: Tensor<2, Int>, padding: Option<Tensor<2, Bool>>, seen: usize) -> ForwardContext {
        match self {
            Self::Gpt2(model) => {
                let [batch, seq] = positions.dims();
                let key_mask = model.key_mask(batch, seq, seen, padding, &positions.device());
                ForwardContext { key_mask, positions, rotary: None }
            }
            Self::Llama(model) => {
                let LlamaContext { key_mask, rotary } = model.context(positions.clone(), padding, seen);
                // The angles in the format the blocks compute in.
                let dtype = self.dtype();
                let rotary = RotaryAngles { cos: in_dtype(rotary.cos, dtype), sin: in_dtype(rotary.sin, dtype) };
                ForwardContext { key_mask, positions, rotary: Some(rotary) }
            }
        }
    }

    /// Block `index` (`0..n_layer`), continuing its cache (`None` to run without one).
    ///
    /// # Shapes
    /// `x`: `[batch, seq, d_model]` → `[batch, seq, d_model]`
    ///
    /// # Panics
    /// If `index >= n_layer()`.
    pub fn block(
        &self,
        index: usize,
        x: Tensor<3>,
        context: &ForwardContext,
        cache: &mut Option<LayerCache>,
    ) -> Tensor<3> {
        let (dtype, stream) = (self.dtype(), x.dtype());
        let x = in_dtype(x, dtype);
        let y = match self {
            Self::Gpt2(model) => model.h[index].forward(x, context.key_mask.clone(), cache),
            Self::Llama(model) => {
                let rotary = match &context.rotary {
                    Some(rotary) => rotary.clone(),
                    // A context built by another base: the angles follow from its positions.
                    None => {
                        let angles = model.rotary.angles(context.positions.clone());
                        RotaryAngles { cos: in_dtype(angles.cos, dtype), sin: in_dtype(angles.sin, dtype) }
                    }
                };
                let llama_context = LlamaContext { key_mask: context.key_mask.clone(), rotary };
                model.model.layers[index].forward(x, &llama_context, cache)
            }
        };
        in_dtype(y, stream)
    }

    /// The norm after the last block (GPT-2's `ln_f`, Llama's `model.norm`).
    ///
    /// # Shapes
    /// `[batch, seq, d_model]` → `[batch, seq, d_model]`
    pub fn final_norm(&self, x: Tensor<3>) -> Tensor<3> {
        let (dtype, stream) = (self.dtype(), x.dtype());
        let x = in_dtype(x, dtype);
        let y = match self {
            Self::Gpt2(model) => model.ln_f.forward(x),
            Self::Llama(model) => model.model.norm.forward(x),
        };
        in_dtype(y, stream)
    }

    /// Logits of final hidden states (after [`final_norm`](Self::final_norm)).
    ///
    /// # Shapes
    /// `[batch, seq, d_model]` → `[batch, seq, vocab]`
    pub fn head(&self, hidden: Tensor<3>) -> Tensor<3> {
        let hidden = in_dtype(hidden, self.dtype());
        let logits = match self {
            Self::Gpt2(model) => model.head(hidden),
            Self::Llama(model) => model.head(hidden),
        };
        in_dtype(logits, DType::F32)
    }

    /// The final hidden states (after the final norm) of `ids`, continuing the cache.
    ///
    /// # Shapes
    /// - `ids`, `positions`: `[batch, seq]`
    /// - `padding`: `[batch, seen + seq]`, `true` at padded positions (left padding)
    /// - output: `[batch, seq, d_model]`
    pub fn hidden(
        &self,
        ids: Tensor<2, Int>,
        positions: Tensor<2, Int>,
        padding: Option<Tensor<2, Bool>>,
        cache: &mut KvCache,
    ) -> Tensor<3> {
        match self {
            Self::Gpt2(model) => model.hidden(ids, positions, padding, cache),
            Self::Llama(model) => model.hidden(ids, positions, padding, cache),
        }
    }

    /// Logits of a whole sequence without padding or cache, positions `0..seq`.
    ///
    /// # Shapes
    /// `ids`: `[batch, seq]` → `[batch, seq, vocab]`
    pub fn forward(&self, ids: Tensor<2, Int>) -> Tensor<3> {
        match self {
            Self::Gpt2(model) => model.forward(ids),
            Self::Llama(model) => model.forward(ids),
        }
    }

    /// New tokens for each prompt (left-padded batch, key/value cache), as the family's
    /// `generate`.
    pub fn generate(
        &self,
        prompts: &[Vec<u32>],
        config: &GenerationConfig,
        device: &Device,
    ) -> Result<Vec<Vec<u32>>, BaseError> {
        Ok(match self {
            Self::Gpt2(model) => gpt2::generate(model, prompts, config, device)?,
            Self::Llama(model) => llama::generate(model, prompts, config, device)?,
        })
    }

    /// Sliding-window perplexity and bits per byte of `ids` (which encode `bytes` UTF-8 bytes).
    pub fn evaluate_text(
        &self,
        ids: &[u32],
        bytes: usize,
        context: usize,
        stride: usize,
        device: &Device,
    ) -> Result<TextEvaluation, BaseError> {
        if context > self.max_positions() {
            return Err(BaseError::ContextTooLong { context, positions: self.max_positions() });
        }
        if let Some(&id) = ids.iter().find(|&&id| id as usize >= self.vocab_size()) {
            return Err(BaseError::TokenOutOfVocabulary { id, vocab: self.vocab_size() });
        }
        crate::language_model::evaluate_text(self, ids, bytes, context, stride, device)
            .map_err(|error| BaseError::Evaluation(Box::new(error)))
    }
}

impl crate::language_model::CausalLm for PretrainedBase {
    fn logits(&self, inputs: Tensor<2, Int>) -> Tensor<3> {
        self.forward(inputs)
    }
}
