use burn::nn::{EmbeddingConfig, LinearConfig};
use burn::tensor::Device;
use retrofit_core::CoreError;
use retrofit_core::attention::{HeadForm, MultiHeadSelfAttentionConfig, SimpleSelfAttention};
use retrofit_core::classification::ClassificationDataConfig;
use retrofit_core::pooling::Pooling;
use retrofit_core::training::TrainingConfig;
use retrofit_data::labelled::NUM_CLASSES;
use serde::{Deserialize, Serialize};

use crate::model::{AttentionClassifier, SelfAttention};

/// Which attention layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum AttentionKind {
    /// `softmax(X Xᵀ) X`, no parameters.
    Simple,
    /// Multi-head self-attention with learned projections.
    #[default]
    MultiHead,
}

/// The model (`[model]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AttentionClassifierModelConfig {
    pub d_model: usize,
    pub attention: AttentionKind,
    /// Heads of multi-head attention.
    pub heads: usize,
    pub form: HeadForm,
    pub pooling: Pooling,
    /// Add learned position embeddings (up to the data's `max_length`).
    pub position_embeddings: bool,
}

impl Default for AttentionClassifierModelConfig {
    fn default() -> Self {
        Self {
            d_model: 128,
            attention: AttentionKind::MultiHead,
            heads: 8,
            form: HeadForm::Narrow,
            pooling: Pooling::Max,
            position_embeddings: false,
        }
    }
}

impl AttentionClassifierModelConfig {
    /// Builds the model for a vocabulary of `vocab_size` and sequences up to `max_length`.
    pub fn init(
        &self,
        vocab_size: usize,
        max_length: usize,
        device: &Device,
    ) -> Result<AttentionClassifier, CoreError> {
        if self.d_model == 0 || vocab_size == 0 {
            return Err(CoreError::setting("model.d_model", "d_model and the vocabulary must not be empty"));
        }
        let attention = match self.attention {
            AttentionKind::Simple => SelfAttention::Simple(SimpleSelfAttention),
            AttentionKind::MultiHead => SelfAttention::MultiHead(
                MultiHeadSelfAttentionConfig::new(self.d_model, self.heads).with_form(self.form).init(device)?,
            ),
        };
        Ok(AttentionClassifier {
            tokens: EmbeddingConfig::new(vocab_size, self.d_model).init(device),
            positions: self.position_embeddings.then(|| EmbeddingConfig::new(max_length, self.d_model).init(device)),
            attention,
            pooling: self.pooling,
            output: LinearConfig::new(self.d_model, NUM_CLASSES).init(device),
        })
    }
}

/// The stage's config (`configs/attention-classifier.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AttentionClassifierConfig {
    pub data: ClassificationDataConfig,
    pub model: AttentionClassifierModelConfig,
    pub training: TrainingConfig,
}

impl Default for AttentionClassifierConfig {
    /// former's IMDb settings on the embedded sample: Adam 1e-4 with warm-up, clipping 1.0.
    fn default() -> Self {
        Self {
            data: ClassificationDataConfig::default(),
            model: AttentionClassifierModelConfig::default(),
            training: TrainingConfig::former_classifier(),
        }
    }
}
