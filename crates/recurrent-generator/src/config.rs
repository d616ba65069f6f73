use std::path::PathBuf;

use retrofit_core::CoreError;
use retrofit_core::base::BasePrecision;
use retrofit_core::language_model::{ExamplePlan, TrainOrder};
use retrofit_core::training::TrainingConfig;
use retrofit_data::source::DataSource;
use serde::{Deserialize, Serialize};

/// The recurrent connection under test (`[model] recurrence = ...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Recurrence {
    /// Inserted blocks only: the control.
    #[default]
    None,
    /// A GRU along the tokens inside each inserted block, added to the block's output before
    /// the gate.
    TokenGru,
    /// A state vector carried from window to window: after each window a GRU cell updates it
    /// from the mean of the window's final hidden states; the next window's inserted blocks add
    /// a learned projection of it (zero bias: a zero state adds nothing) to their input.
    SegmentState,
    /// The parameter-free control: every attention layer, base and inserted, also attends to the
    /// previous window's keys and values (no gradient into them, no new parameters). They are
    /// computed afresh at positions `0..context` with the current window at
    /// `context..2 * context`, so that the positions are the ones the base was trained on (a
    /// GPT-2 base's learned absolute positions included); the base needs `2 * context`
    /// positions.
    NoneCache,
    /// A memory of `memory_slots` vectors carried from window to window: each inserted block
    /// reads it with attention (its tokens query the slots), and after each window the slots
    /// query the window's final hidden states and take a gated update of what they read.
    Memory,
    /// Transformer-XL's recurrent cache: every attention layer, base and inserted, also reads
    /// what the previous window's own forward computed there (keys and values; an inserted
    /// block's input), detached, so the cache reaches further back with depth at no
    /// recomputation and no new parameters. Rotary bases only (the cached keys are rotated back
    /// so relative positions hold); the base needs `2 * context` positions.
    XlCache,
    /// `memory_slots` memory vectors before each window's tokens (read by every layer's own
    /// attention, the frozen base's included) and as many after them (write), whose final hidden
    /// states, through a learned map, are the next window's read vectors. The base needs
    /// `2 * memory_slots + context` positions.
    MemoryTokens,
}

impl Recurrence {
    /// The config's spelling (`model.recurrence`).
    pub fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::TokenGru => "token-gru",
            Self::SegmentState => "segment-state",
            Self::NoneCache => "none-cache",
            Self::Memory => "memory",
            Self::XlCache => "xl-cache",
            Self::MemoryTokens => "memory-tokens",
        }
    }

    /// Whether the recurrence hands something from one window to the next.
    pub fn carries_state(self) -> bool {
        matches!(self, Self::SegmentState | Self::NoneCache | Self::Memory | Self::XlCache | Self::MemoryTokens)
    }
}

/// Which parameters a run trains (`[model] train = ...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum TrainedParts {
    /// The inserted blocks, the logit bias and the connection.
    #[default]
    All,
    /// The connection's parameters and the logit bias only: the inserted blocks stay as they
    /// start (from `model.init_from`, a trained run): does a state learn to matter when it is
    /// all that can change?
    Connection,
}

/// What [`InsertionConfig::validate`] checks the settings against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BaseShape {
    pub n_layer: usize,
    /// Longest sequence the base takes.
    pub max_positions: usize,
    /// Whether its positions are rotary (relative): what `xl-cache` needs.
    pub rotary: bool,
}

/// What is inserted into the frozen base (`[model]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InsertionConfig {
    /// k: blocks inserted before base blocks `i * n_layer / k` (i in 0..k), plus one after the
    /// last block (k + 1 in all; k at most the base's `n_layer`). 0 with `recurrence = "none"`
    /// trains the logit bias only.
    pub inserted_blocks: usize,
    /// Explicit insertion points instead (base block index each inserted block precedes; `n_layer`
    /// means after the last block), in order.
    pub positions: Option<Vec<usize>>,
    /// Attention heads of an inserted block (narrow heads: they must divide the base's width).
    pub heads: usize,
    /// Feed-forward width of an inserted block as a multiple of the base's width.
    pub ff_mult: usize,
    pub recurrence: Recurrence,
    /// Size of the `segment-state` vector, or `"auto"`: the base's width.
    #[serde(with = "retrofit_runtime::setting::auto")]
    pub state_size: Option<usize>,
    /// Vectors of the `memory` recurrence, or memory tokens on each side of a window of
    /// `memory-tokens` (each the base's width).
    pub memory_slots: usize,
    /// Training only: the chance that a stream's carried state is reset (to its initial value:
    /// zero, the learned initial memory, or no previous window) before a window, drawn per
    /// stream and window from the run's seeded generator, so that a reset state is a state the
    /// model has trained on. Validation and the final evaluation never reset at random.
    pub state_reset_rate: f64,
    /// `xl-cache`: the stream's first positions that stay in the cache for every later window
    /// (attention sinks, as StreamingLLM keeps them; 0: none). The base needs
    /// `attention_sinks + 2 * context` positions.
    pub attention_sinks: usize,
    /// A trained run's checkpoint directory (`results/recurrent-generator/<run>/checkpoint`,
    /// trained on the same base with the same inserted blocks) whose inserted blocks and logit
    /// bias this run starts from (`None`: gates closed, as a new run starts); its connection, if
    /// it has one, is not read.
    pub init_from: Option<PathBuf>,
    /// Which parameters train: `"all"` or `"connection"` (see [`TrainedParts`]).
    pub train: TrainedParts,
    /// The format the frozen base computes in: `"auto"` (bf16 where the device computes it
    /// natively: CUDA with bf16, a CPU with AVX-512 bf16; float32 elsewhere), `"float32"`, or
    /// `"bfloat16"` (warned about where it is slow). The trainable parts stay float32.
    pub base_precision: BasePrecision,
}

impl Default for InsertionConfig {
    fn default() -> Self {
        Self {
            inserted_blocks: 3,
            positions: None,
            heads: 8,
            ff_mult: 4,
            recurrence: Recurrence::None,
            state_size: None,
            memory_slots: 16,
            state_reset_rate: 0.05,
            attention_sinks: 4,
            init_from: None,
            train: TrainedParts::All,
            base_precision: BasePrecision::Auto,
        }
    }
}

impl InsertionConfig {
    /// Every check of these settings for windows of `context` tokens on a base of `shape`, each
    /// failure naming its key; the insertion points when they hold.
    pub fn validate(&self, shape: &BaseShape, context: usize) -> Result<Vec<usize>, CoreError> {
        let BaseShape { n_layer, max_positions, rotary } = *shape;
        let recurrence = self.recurrence;
        if context == 0 || context > max_positions {
            return Err(CoreError::setting(
                "data.context",
                format!("must be between 1 and the base's {max_positions} positions"),
            ));
        }
        if self.positions.is_none() && self.inserted_blocks > n_layer {
            return Err(CoreError::setting(
                "model.inserted_blocks",
                format!(
                    "at most the base's {n_layer} blocks (one before each of k evenly spaced base blocks, plus one after the last); got {}",
                    self.inserted_blocks
                ),
            ));
        }
        let insert_before = self.insertion_points(n_layer);
        if insert_before.windows(2).any(|pair| pair[0] > pair[1]) || insert_before.iter().any(|&p| p > n_layer) {
            return Err(CoreError::setting(
                "model.positions",
                format!("{insert_before:?} must be ascending and at most n_layer ({n_layer})"),
            ));
        }
        if insert_before.is_empty() && recurrence != Recurrence::None {
            return Err(CoreError::setting(
                "model.recurrence",
                format!("{recurrence:?} needs inserted blocks (model.inserted_blocks > 0)"),
            ));
        }
        if recurrence == Recurrence::XlCache && !rotary {
            return Err(CoreError::setting(
                "model.recurrence",
                "xl-cache needs a base with rotary positions (Llama, Qwen2): a GPT-2 base's learned positions cannot continue along a stream; use \"none-cache\", which recomputes the previous window at the positions the base was trained on",
            ));
        }
        let reads_previous_window = matches!(recurrence, Recurrence::NoneCache | Recurrence::XlCache);
        if reads_previous_window && 2 * context > max_positions {
            return Err(CoreError::setting(
                "data.context",
                format!(
                    "{} reads the previous window before the current one: 2 x {context} is more than the base's {max_positions} positions",
                    recurrence.name()
                ),
            ));
        }
        if recurrence == Recurrence::XlCache && self.attention_sinks + 2 * context > max_positions {
            return Err(CoreError::setting(
                "model.attention_sinks",
                format!(
                    "xl-cache reads {} sinks and the previous window before the current one: {} + 2 x {context} is more than the base's {max_positions} positions",
                    self.attention_sinks, self.attention_sinks
                ),
            ));
        }
        if recurrence == Recurrence::XlCache && self.attention_sinks > context {
            return Err(CoreError::setting("model.attention_sinks", format!("at most a window ({context})")));
        }
        let has_parameters =
            matches!(recurrence, Recurrence::SegmentState | Recurrence::Memory | Recurrence::MemoryTokens);
        if self.train == TrainedParts::Connection && !has_parameters {
            return Err(CoreError::setting(
                "model.train",
                format!(
                    "\"connection\" trains a recurrence's own parameters; {} has none (segment-state, memory and memory-tokens have)",
                    recurrence.name()
                ),
            ));
        }
        if !(0.0..1.0).contains(&self.state_reset_rate) {
            return Err(CoreError::setting("model.state_reset_rate", "must be at least 0 and below 1"));
        }
        if matches!(recurrence, Recurrence::Memory | Recurrence::MemoryTokens) && self.memory_slots == 0 {
            return Err(CoreError::setting("model.memory_slots", "must be at least 1"));
        }
        if recurrence == Recurrence::MemoryTokens && 2 * self.memory_slots + context > max_positions {
            return Err(CoreError::setting(
                "model.memory_slots",
                format!(
                    "memory-tokens puts {0} memory tokens on each side of a window: 2 x {0} + {context} is more than the base's {max_positions} positions",
                    self.memory_slots
                ),
            ));
        }
        Ok(insert_before)
    }

    /// Where the inserted blocks go in a base of `n_layer` blocks (see `inserted_blocks`).
    pub fn insertion_points(&self, n_layer: usize) -> Vec<usize> {
        if let Some(positions) = &self.positions {
            return positions.clone();
        }
        if self.inserted_blocks == 0 {
            return Vec::new();
        }
        let k = self.inserted_blocks;
        (0..k).map(|i| i * n_layer / k).chain(std::iter::once(n_layer)).collect()
    }
}

/// Data settings (`[data]`); the tokenizer is the base's.
///
/// Training reads the training split as `training.batch_size` contiguous streams (one per batch
/// row) from an offset drawn every epoch (seed + epoch); each step reads the next `bptt_windows`
/// windows of every stream and starts from the state the previous step left, detached
/// (stateful truncated BPTT); every epoch starts from a zero state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RecurrentDataConfig {
    pub source: DataSource,
    /// Tokens per window (at most the base's `n_positions`).
    pub context: usize,
    /// Consecutive windows per step and stream; gradients flow through all of them, not into
    /// the previous step.
    pub bptt_windows: usize,
    /// Steps per epoch, or `"all"`: every chunk of the streams but one (the room for the offset).
    #[serde(with = "retrofit_runtime::setting::all")]
    pub steps_per_epoch: Option<usize>,
    /// Steps of the validation split's streams (read from their start, the state carried) that
    /// the Learner evaluates after each epoch for the stopping rule, or `"all"`.
    #[serde(with = "retrofit_runtime::setting::all")]
    pub valid_steps: Option<usize>,
    /// Validation also reads every batch with each stream starting from, and every window
    /// reading, another stream's state (one more forward a batch), and logs shuffled − carried
    /// every epoch (`valid_state_gain_bits_per_byte_shuffled`) beside reset − carried; for a
    /// recurrence that carries a state, with `training.batch_size` 2 or more.
    pub valid_shuffled_part: bool,
    /// The split the reported numbers come from (`"test"`; `"valid"` for development runs).
    pub eval_split: EvalSplit,
    /// Final evaluation: the split is read as this many parallel streams of consecutive windows
    /// (equal consecutive parts of the split), the state carried along each stream...
    pub eval_streams: usize,
    /// ...for at most this many windows per stream, or `"all"` that the split holds.
    #[serde(with = "retrofit_runtime::setting::all")]
    pub eval_windows: Option<usize>,
}

/// Which held-out split the final evaluation reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum EvalSplit {
    Valid,
    #[default]
    Test,
}

impl RecurrentDataConfig {
    /// Stream chunks of `bptt_windows` consecutive windows.
    pub fn plan(&self) -> ExamplePlan {
        ExamplePlan {
            example_tokens: self.context * self.bptt_windows,
            order: TrainOrder::Streams { steps: self.steps_per_epoch },
            valid_examples: self.valid_steps,
        }
    }
}

impl Default for RecurrentDataConfig {
    fn default() -> Self {
        Self {
            source: DataSource::default(),
            context: 1024,
            bptt_windows: 2,
            steps_per_epoch: Some(500),
            valid_steps: None,
            valid_shuffled_part: false,
            eval_split: EvalSplit::Test,
            eval_streams: 2,
            eval_windows: None,
        }
    }
}

/// The stage's config (`configs/recurrent-generator.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RecurrentGeneratorConfig {
    /// A Hugging Face GPT-2-family directory (`just fetch-distilgpt2`, or a generator run's
    /// `model/`), loaded frozen.
    pub base: PathBuf,
    pub data: RecurrentDataConfig,
    pub model: InsertionConfig,
    /// Train, or evaluate the model as initialised (`"zero-shot"`: the frozen base).
    pub schedule: Schedule,
    pub training: TrainingConfig,
}

/// Whether the stage trains (`schedule = "train"`) or only evaluates the model as initialised
/// (`schedule = "zero-shot"`: with no inserted blocks, exactly the frozen base).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Schedule {
    #[default]
    Train,
    ZeroShot,
}

impl Default for RecurrentGeneratorConfig {
    /// The thesis's setting: DistilGPT-2, 3+1 inserted blocks, context 1024, batch 2, Adam 3e-4,
    /// clipping 1.0.
    fn default() -> Self {
        Self {
            base: PathBuf::from("data/distilgpt2"),
            data: RecurrentDataConfig::default(),
            model: InsertionConfig::default(),
            schedule: Schedule::Train,
            training: TrainingConfig {
                learning_rate: 3e-4,
                warmup_steps: 0,
                epochs: 1,
                batch_size: 2,
                clip_grad_norm: Some(1.0),
                ..TrainingConfig::default()
            },
        }
    }
}
