use burn::nn::{EmbeddingConfig, LinearConfig};
use burn::tensor::Device;
use retrofit_core::CoreError;
use retrofit_core::attention::HeadForm;
use retrofit_core::block::{NormPlacement, TransformerBlockConfig};
use retrofit_core::classification::ClassificationDataConfig;
use retrofit_core::pooling::Pooling;
use retrofit_core::training::TrainingConfig;
use retrofit_data::labelled::NUM_CLASSES;
use serde::{Deserialize, Serialize};

use crate::model::TransformerClassifier;

/// The model (`[model]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TransformerClassifierModelConfig {
    pub d_model: usize,
    pub heads: usize,
    pub depth: usize,
    pub form: HeadForm,
    /// Feed-forward width as a multiple of `d_model`.
    pub ff_mult: usize,
    pub norm: NormPlacement,
    pub dropout: f64,
    pub pooling: Pooling,
}

impl Default for TransformerClassifierModelConfig {
    fn default() -> Self {
        Self {
            d_model: 128,
            heads: 8,
            depth: 6,
            form: HeadForm::Narrow,
            ff_mult: 4,
            norm: NormPlacement::Post,
            dropout: 0.0,
            pooling: Pooling::Max,
        }
    }
}

impl TransformerClassifierModelConfig {
    /// Builds the model for a vocabulary of `vocab_size` and sequences up to `max_length`.
    pub fn init(
        &self,
        vocab_size: usize,
        max_length: usize,
        device: &Device,
    ) -> Result<TransformerClassifier, CoreError> {
        if self.depth == 0 || vocab_size == 0 || max_length == 0 {
            return Err(CoreError::setting("model.depth", "depth, the vocabulary and max_length must not be empty"));
        }
        let block = TransformerBlockConfig::new(self.d_model, self.heads)
            .with_form(self.form)
            .with_ff_mult(self.ff_mult)
            .with_norm(self.norm)
            .with_dropout(self.dropout);
        Ok(TransformerClassifier {
            tokens: EmbeddingConfig::new(vocab_size, self.d_model).init(device),
            positions: EmbeddingConfig::new(max_length, self.d_model).init(device),
            blocks: (0..self.depth).map(|_| block.init(device)).collect::<Result<_, _>>()?,
            pooling: self.pooling,
            output: LinearConfig::new(self.d_model, NUM_CLASSES).init(device),
        })
    }
}

/// The stage's config (`configs/transformer-classifier.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TransformerClassifierConfig {
    pub data: ClassificationDataConfig,
    pub model: TransformerClassifierModelConfig,
    pub training: TrainingConfig,
}

impl Default for TransformerClassifierConfig {
    /// former's IMDb settings on the embedded sample: Adam 1e-4 with warm-up, clipping 1.0.
    fn default() -> Self {
        Self {
            data: ClassificationDataConfig::default(),
            model: TransformerClassifierModelConfig::default(),
            training: TrainingConfig::former_classifier(),
        }
    }
}
