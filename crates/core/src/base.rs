//! One pre-trained base for the stages that build on one (the recurrent generator, the bench):
//! any supported family behind the [`Decoder`] seam, chosen from `config.json`'s `model_type`,
//! with its weights in the format the run asks for.

use std::fmt;
use std::path::Path;

use burn::module::Module;
use burn::tensor::{Bool, DType, Device, Int, Tensor};
use retrofit_data::tokenizer::TextTokenizer;
use serde::{Deserialize, Serialize};

use crate::CoreError;
pub use crate::base_precision::{
    BaseFormat, BasePrecision, Bf16Support, PrecisionChoice, bf16_support, cpu_bf16_support, matmul_slowdown,
};
use crate::base_precision::{CastParameters, in_dtype};
pub use crate::decoder::{Decoder, ForwardContext};
use crate::generation::{self, GenerationConfig, GenerationError, LayerCache};
use crate::gpt2::{self, Gpt2, Gpt2Config};
use crate::head_projection::HeadProjection;
use crate::hf_checkpoint::{self, HfConfig, LoadError, TokenizerFallback};
use crate::language_model::TextEvaluation;
use crate::llama::{self, Llama, LlamaConfig, RotaryAngles, RotaryTables};
use crate::qwen2::{self, Qwen2Config};

/// The architectures a base can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BaseFamily {
    /// GPT-2 (`model_type` `gpt2`): learned positions, LayerNorm, GELU, tied head.
    Gpt2,
    /// Llama (`model_type` `llama`): rotary positions, RMSNorm, SwiGLU, grouped-query attention.
    Llama,
    /// Qwen2 (`model_type` `qwen2`): Llama with biases on the query, key and value projections.
    Qwen2,
}

impl BaseFamily {
    /// Every family, in the order error messages list them.
    pub const ALL: [BaseFamily; 3] = [BaseFamily::Gpt2, BaseFamily::Llama, BaseFamily::Qwen2];

    /// The `model_type` of the family's `config.json`.
    pub fn model_type(self) -> &'static str {
        match self {
            Self::Gpt2 => "gpt2",
            Self::Llama => llama::LLAMA_MODEL_TYPE,
            Self::Qwen2 => qwen2::QWEN2_MODEL_TYPE,
        }
    }

    /// The family of a `model_type`, if supported.
    pub fn from_model_type(model_type: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|family| family.model_type() == model_type)
    }

    /// What a directory of this family without a tokenizer of its own uses.
    fn tokenizer_fallback(self) -> TokenizerFallback {
        match self {
            Self::Gpt2 => TokenizerFallback::Gpt2,
            Self::Llama | Self::Qwen2 => TokenizerFallback::Required,
        }
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

/// Errors of choosing, loading and using a base; each displays as one line.
#[derive(Debug, thiserror::Error)]
pub enum BaseError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Generation(#[from] GenerationError),
    #[error("token id {id} is outside the model's vocabulary of {vocab}: use the model's own tokenizer")]
    TokenOutOfVocabulary { id: u32, vocab: usize },
    #[error("a context of {context} tokens exceeds the model's {positions} positions: use {positions} or less")]
    ContextTooLong { context: usize, positions: usize },
    #[error(transparent)]
    Evaluation(Box<CoreError>),
}

/// The family of the model in `dir`, from `config.json`'s `model_type`.
pub fn base_family(dir: &Path) -> Result<BaseFamily, LoadError> {
    #[derive(Deserialize)]
    struct ModelType {
        model_type: Option<String>,
    }
    let (path, text) = hf_checkpoint::read_config(dir)?;
    let found = serde_json::from_str::<ModelType>(&text)
        .map_err(|source| LoadError::Config { path: path.clone(), source })?
        .model_type
        .ok_or_else(|| LoadError::NoModelType { path: path.clone(), supported: supported_model_types() })?;
    BaseFamily::from_model_type(&found).ok_or(LoadError::UnsupportedModelType {
        path,
        found,
        supported: supported_model_types(),
    })
}

/// A base's architecture, as read from its `config.json` (written into run settings).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "family", rename_all = "kebab-case")]
pub enum BaseConfig {
    Gpt2(Gpt2Config),
    Llama(LlamaConfig),
    Qwen2(Qwen2Config),
}

impl BaseConfig {
    pub fn family(&self) -> BaseFamily {
        match self {
            Self::Gpt2(_) => BaseFamily::Gpt2,
            Self::Llama(_) => BaseFamily::Llama,
            Self::Qwen2(_) => BaseFamily::Qwen2,
        }
    }

    pub fn vocab_size(&self) -> usize {
        match self {
            Self::Gpt2(config) => config.vocab_size,
            Self::Llama(config) => config.vocab_size,
            Self::Qwen2(config) => config.llama().vocab_size,
        }
    }

    /// The model directory's tokenizer; its vocabulary must match the model's.
    pub fn load_tokenizer(&self, dir: &Path) -> Result<TextTokenizer, LoadError> {
        hf_checkpoint::load_tokenizer(dir, self.vocab_size(), self.family().tokenizer_fallback())
    }
}

/// The architecture of the model in `dir`, without its weights (to read its tokenizer, say).
pub fn read_base_config(dir: &Path) -> Result<BaseConfig, LoadError> {
    Ok(match base_family(dir)? {
        BaseFamily::Gpt2 => BaseConfig::Gpt2(Gpt2Config::from_dir(dir)?),
        BaseFamily::Llama => BaseConfig::Llama(LlamaConfig::from_dir(dir)?),
        BaseFamily::Qwen2 => BaseConfig::Qwen2(Qwen2Config::from_dir(dir)?),
    })
}

/// Loads the model in `dir`, of the family its `config.json` names.
pub fn load_base(dir: &Path, device: &Device) -> Result<(PretrainedBase, BaseConfig), LoadError> {
    Ok(match base_family(dir)? {
        BaseFamily::Gpt2 => {
            let (model, config) = gpt2::load_gpt2(dir, device)?;
            (PretrainedBase::Gpt2(model), BaseConfig::Gpt2(config))
        }
        BaseFamily::Llama => {
            let (model, config) = llama::load_llama(dir, device)?;
            (PretrainedBase::Llama(model), BaseConfig::Llama(config))
        }
        BaseFamily::Qwen2 => {
            let (model, config) = qwen2::load_qwen2(dir, device)?;
            (PretrainedBase::Qwen2(model), BaseConfig::Qwen2(config))
        }
    })
}

/// A pre-trained causal language model of any supported family. As a [`Decoder`] it delegates
/// to its family's, computing every block, the final norm and the head in the format of its
/// weights while taking and returning float32 (see [`crate::base_precision`]).
// One per run, matched on every call: boxing the larger variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum PretrainedBase {
    Gpt2(Gpt2),
    Llama(Llama),
    /// Qwen2 shares Llama's module tree.
    Qwen2(Llama),
}

impl PretrainedBase {
    /// The family's own decoder.
    fn decoder(&self) -> &dyn Decoder {
        match self {
            Self::Gpt2(model) => model,
            Self::Llama(model) | Self::Qwen2(model) => model,
        }
    }

    pub fn family(&self) -> BaseFamily {
        match self {
            Self::Gpt2(_) => BaseFamily::Gpt2,
            Self::Llama(_) => BaseFamily::Llama,
            Self::Qwen2(_) => BaseFamily::Qwen2,
        }
    }

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

    /// New tokens for each prompt (left-padded batch, key/value cache), as
    /// [`generation::generate`].
    pub fn generate(
        &self,
        prompts: &[Vec<u32>],
        config: &GenerationConfig,
        device: &Device,
    ) -> Result<Vec<Vec<u32>>, BaseError> {
        Ok(generation::generate(self, prompts, config, device)?)
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

impl Decoder for PretrainedBase {
    fn n_layer(&self) -> usize {
        self.decoder().n_layer()
    }

    fn d_model(&self) -> usize {
        self.decoder().d_model()
    }

    fn vocab_size(&self) -> usize {
        self.decoder().vocab_size()
    }

    fn max_positions(&self) -> usize {
        self.decoder().max_positions()
    }

    fn dtype(&self) -> DType {
        self.decoder().dtype()
    }

    /// The family's embedding, in float32.
    fn embed(&self, ids: Tensor<2, Int>, positions: Tensor<2, Int>) -> Tensor<3> {
        in_dtype(self.decoder().embed(ids, positions), DType::F32)
    }

    /// The family's vector embedding, in float32.
    fn embed_vectors(&self, x: Tensor<3>, positions: Tensor<2, Int>) -> Tensor<3> {
        in_dtype(self.decoder().embed_vectors(in_dtype(x, self.dtype()), positions), DType::F32)
    }

    fn rotary_tables(&self) -> Option<&RotaryTables> {
        self.decoder().rotary_tables()
    }

    /// The family's context, its rotary angles in the format the blocks compute in.
    fn context(&self, positions: Tensor<2, Int>, padding: Option<Tensor<2, Bool>>, seen: usize) -> ForwardContext {
        let context = self.decoder().context(positions, padding, seen);
        let dtype = self.dtype();
        let rotary = context
            .rotary
            .map(|angles| RotaryAngles { cos: in_dtype(angles.cos, dtype), sin: in_dtype(angles.sin, dtype) });
        ForwardContext { rotary, ..context }
    }

    fn block(&self, index: usize, x: Tensor<3>, context: &ForwardContext, cache: &mut Option<LayerCache>) -> Tensor<3> {
        let stream = x.dtype();
        in_dtype(self.decoder().block(index, in_dtype(x, self.dtype()), context, cache), stream)
    }

    fn final_norm(&self, x: Tensor<3>) -> Tensor<3> {
        let stream = x.dtype();
        in_dtype(self.decoder().final_norm(in_dtype(x, self.dtype())), stream)
    }

    /// The family's head: its weight in the format the base computes in, its bias in float32.
    fn head_projection(&self) -> HeadProjection {
        let head = self.decoder().head_projection();
        HeadProjection { bias: head.bias.map(|bias| in_dtype(bias, DType::F32)), ..head }
    }

    /// Logits in float32.
    fn head(&self, hidden: Tensor<3>) -> Tensor<3> {
        in_dtype(self.decoder().head(in_dtype(hidden, self.dtype())), DType::F32)
    }
}
