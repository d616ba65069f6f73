use burn::module::{Module, Param};
use burn::nn::attention::{MhaInput, MultiHeadAttention, MultiHeadAttentionConfig};
use burn::nn::{Gru, GruConfig, Initializer, Linear, LinearConfig};
use burn::tensor::activation::sigmoid;
use burn::tensor::{Bool, Device, Distribution, Int, Tensor};
use retrofit_core::CoreError;
use retrofit_core::base::PretrainedBase;
use retrofit_core::decoder::Decoder;
use retrofit_core::generation::LayerCache;
use retrofit_core::language_model::{StateCarry, WindowedLm};

use crate::config::{InsertionConfig, Recurrence};
use crate::inserted::{BlockExtra, BlockPrefix, InsertedBlock, WindowInputs};
use retrofit_core::positions::position_ids;

/// What one window of a stream hands the next.
// One per stream batch, moved once a window: boxing the larger variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum StreamState {
    /// `segment-state`: `[batch, state_size]`
    Vector(Tensor<2>),
    /// `memory`: `[batch, slots, d_model]`
    Memory(Tensor<3>),
    /// `none-cache`: the previous window's tokens, `[batch, context]`, and the rows whose previous
    /// window is not to be read (reset at random in training), `[batch, context]`.
    PreviousWindow { ids: Tensor<2, Int>, unread: Option<Tensor<2, Bool>> },
}

impl StreamState {
    /// The state without its gradient history (truncated BPTT).
    pub fn detach(self) -> Self {
        match self {
            Self::Vector(state) => Self::Vector(state.detach()),
            Self::Memory(memory) => Self::Memory(memory.detach()),
            window @ Self::PreviousWindow { .. } => window,
        }
    }

    /// The states moved one stream up: row `s` becomes the state of row `s + 1`, the last row
    /// that of row 0 ([`StateCarry::Shuffled`]).
    pub fn rolled(self) -> Self {
        // roll by -1: new row s = old row s + 1.
        match self {
            Self::Vector(state) => Self::Vector(state.roll_dim(-1, 0)),
            Self::Memory(memory) => Self::Memory(memory.roll_dim(-1, 0)),
            Self::PreviousWindow { ids, unread } => {
                Self::PreviousWindow { ids: ids.roll_dim(-1, 0), unread: unread.map(|unread| unread.roll_dim(-1, 0)) }
            }
        }
    }

    /// Streams (batch rows) it holds.
    pub fn rows(&self) -> usize {
        match self {
            Self::Vector(state) => state.dims()[0],
            Self::Memory(memory) => memory.dims()[0],
            Self::PreviousWindow { ids, .. } => ids.dims()[0],
        }
    }

    /// The `segment-state` vector, if that is what it is.
    pub fn vector(&self) -> Option<&Tensor<2>> {
        match self {
            Self::Vector(state) => Some(state),
            _ => None,
        }
    }
}

/// The `segment-state` connection: a GRU cell that updates the state from a window's mean final
/// hidden state, and the projection of the state that the next window's inserted blocks add to
/// their input.
#[derive(Module, Debug)]
pub struct SegmentState {
    pub cell: Gru,
    pub project: Linear,
}

impl SegmentState {
    /// # Shapes
    /// - `state`: `[batch, state_size]`
    /// - output: `[batch, 1, d_model]`
    pub fn cond(&self, state: Tensor<2>) -> Tensor<3> {
        self.project.forward(state).unsqueeze_dim(1)
    }

    /// # Shapes
    /// - `hidden`: `[batch, seq, d_model]`, `state`: `[batch, state_size]` → `[batch, state_size]`
    pub fn update(&self, hidden: Tensor<3>, state: Tensor<2>) -> Tensor<2> {
        let [batch, _, _] = hidden.dims();
        let summary = hidden.mean_dim(1); // [batch, 1, d_model]
        let next = self.cell.forward(summary, Some(state)); // [batch, 1, state_size]
        let [_, _, size] = next.dims();
        next.reshape([batch, size])
    }
}

/// The `memory` recurrence's write: after each window the slots query the window's final hidden
/// states (attention), and each slot takes a gated share of what it read,
/// `m' = (1 - z) * m + z * read`, `z = sigmoid(gate([m, read]))` (a GRU-like update, as the
/// Block-Recurrent Transformer gates its state).
#[derive(Module, Debug)]
pub struct MemoryState {
    /// The memory every stream starts from, and returns to on a reset. `[slots, d_model]`
    pub initial: Param<Tensor<2>>,
    pub write: MultiHeadAttention,
    /// `[2 * d_model, d_model]`
    pub gate: Linear,
}

impl MemoryState {
    fn new(slots: usize, d_model: usize, heads: usize, device: &Device) -> Self {
        Self {
            initial: Param::from_tensor(Tensor::random([slots, d_model], Distribution::Normal(0.0, 1.0), device)),
            write: MultiHeadAttentionConfig::new(d_model, heads).with_dropout(0.0).init(device),
            gate: LinearConfig::new(2 * d_model, d_model).init(device),
        }
    }

    /// # Shapes
    /// output: `[batch, slots, d_model]`
    pub fn start(&self, batch: usize) -> Tensor<3> {
        let [slots, d_model] = self.initial.dims();
        self.initial.val().unsqueeze_dim::<3>(0).expand([batch, slots, d_model])
    }

    /// # Shapes
    /// - `hidden`: `[batch, seq, d_model]`, `memory`: `[batch, slots, d_model]` → `[batch, slots, d_model]`
    pub fn update(&self, hidden: Tensor<3>, memory: Tensor<3>) -> Tensor<3> {
        let read = self.write.forward(MhaInput::new(memory.clone(), hidden.clone(), hidden)).context;
        let share = sigmoid(self.gate.forward(Tensor::cat(vec![memory.clone(), read.clone()], 2)));
        memory.clone() + (read - memory) * share
    }
}

/// `none-cache`: what the previous window leaves every layer (computed without gradient).
struct WindowPrefix {
    /// Each base block's keys and values of the previous window.
    base: Vec<Option<LayerCache>>,
    /// Each inserted block's input at the previous window's positions.
    inserted: Vec<Tensor<3>>,
    /// `[batch, context]`, `true` for rows that must not read it.
    unread: Option<Tensor<2, Bool>>,
}

/// A frozen pre-trained base (any supported family) with trainable inserted blocks, a trainable
/// bias on its logits and, optionally, a recurrent connection.
#[derive(Module, Debug)]
pub struct RecurrentLm {
    /// Frozen: no parameter requires a gradient.
    pub base: PretrainedBase,
    pub inserted: Vec<InsertedBlock>,
    /// Base block index each inserted block precedes (`n_layer`: after the last block).
    #[module(skip)]
    pub insert_before: Vec<usize>,
    /// Added to the logits. `[vocab]`
    pub logit_bias: Param<Tensor<1>>,
    pub segment: Option<SegmentState>,
    pub memory: Option<MemoryState>,
    #[module(skip)]
    pub recurrence: Recurrence,
    /// Tokens per window.
    pub context: usize,
    /// See [`InsertionConfig::state_reset_rate`].
    #[module(skip)]
    pub state_reset_rate: f64,
}

impl RecurrentLm {
    /// Wraps `base` (frozen here) for windows of `context` tokens.
    pub fn new(
        base: PretrainedBase,
        config: &InsertionConfig,
        context: usize,
        device: &Device,
    ) -> Result<Self, CoreError> {
        let n_layer = base.n_layer();
        let d_model = base.d_model();
        let vocab = base.vocab_size();
        if context == 0 || context > base.max_positions() {
            return Err(CoreError::setting(
                "data.context",
                format!("must be between 1 and the base's {} positions", base.max_positions()),
            ));
        }
        if config.positions.is_none() && config.inserted_blocks > n_layer {
            return Err(CoreError::setting(
                "model.inserted_blocks",
                format!(
                    "at most the base's {n_layer} blocks (one before each of k evenly spaced base blocks, plus one after the last); got {}",
                    config.inserted_blocks
                ),
            ));
        }
        let insert_before = config.insertion_points(n_layer);
        if insert_before.windows(2).any(|pair| pair[0] > pair[1]) || insert_before.iter().any(|&p| p > n_layer) {
            return Err(CoreError::setting(
                "model.positions",
                format!("{insert_before:?} must be ascending and at most n_layer ({n_layer})"),
            ));
        }
        if insert_before.is_empty() && config.recurrence != Recurrence::None {
            return Err(CoreError::setting(
                "model.recurrence",
                format!("{:?} needs inserted blocks (model.inserted_blocks > 0)", config.recurrence),
            ));
        }
        if config.recurrence == Recurrence::NoneCache && 2 * context > base.max_positions() {
            return Err(CoreError::setting(
                "data.context",
                format!(
                    "none-cache reads the previous window at positions 0..{context} and the current one after it: 2 x {context} is more than the base's {} positions",
                    base.max_positions()
                ),
            ));
        }
        if !(0.0..1.0).contains(&config.state_reset_rate) {
            return Err(CoreError::setting("model.state_reset_rate", "must be at least 0 and below 1"));
        }
        if config.recurrence == Recurrence::Memory && config.memory_slots == 0 {
            return Err(CoreError::setting("model.memory_slots", "must be at least 1"));
        }
        let extra = match config.recurrence {
            Recurrence::TokenGru => BlockExtra::TokenGru,
            Recurrence::Memory => BlockExtra::MemoryRead,
            Recurrence::None | Recurrence::SegmentState | Recurrence::NoneCache => BlockExtra::Plain,
        };
        let inserted = insert_before
            .iter()
            .map(|_| InsertedBlock::new(d_model, config.heads, config.ff_mult, extra, device))
            .collect::<Result<Vec<_>, _>>()?;
        let state_size = config.state_size.unwrap_or(d_model);
        // No bias and small weights: a zero state adds nothing, and a small one little.
        let segment = (config.recurrence == Recurrence::SegmentState).then(|| SegmentState {
            cell: GruConfig::new(d_model, state_size, true).init(device),
            project: LinearConfig::new(state_size, d_model)
                .with_bias(false)
                .with_initializer(Initializer::Normal { mean: 0.0, std: 0.02 })
                .init(device),
        });
        let memory = (config.recurrence == Recurrence::Memory)
            .then(|| MemoryState::new(config.memory_slots, d_model, config.heads, device));
        let precision = base.resolve_precision(config.base_precision, device);
        tracing::info!("{}", precision.reason);
        if let Some(warning) = &precision.warning {
            tracing::warn!("{warning}");
        }
        Ok(Self {
            base: base.with_precision(precision.format).no_grad(),
            inserted,
            insert_before,
            logit_bias: Param::from_tensor(Tensor::zeros([vocab], device)),
            segment,
            memory,
            recurrence: config.recurrence,
            context,
            state_reset_rate: config.state_reset_rate,
        })
    }

    /// One window: the final hidden states (after the base's final norm), reading `state` (what
    /// the previous window left; `None`: nothing, as at a stream's start).
    ///
    /// # Shapes
    /// - `ids`: `[batch, seq]`
    /// - output: `[batch, seq, d_model]`
    pub fn forward_window(&self, ids: Tensor<2, Int>, state: Option<&StreamState>) -> Tensor<3> {
        let [batch, seq] = ids.dims();
        let device = ids.device();
        let inputs = WindowInputs {
            cond: match (&self.segment, state) {
                (Some(segment), Some(StreamState::Vector(state))) => Some(segment.cond(state.clone())),
                _ => None,
            },
            memory: match state {
                Some(StreamState::Memory(memory)) => Some(memory.clone()),
                _ => None,
            },
        };
        let mut prefix = match state {
            Some(StreamState::PreviousWindow { ids, unread }) => {
                Some(self.previous_window(ids.clone(), unread.clone()))
            }
            _ => None,
        };
        // After a previous window (at positions 0..seen) this one takes the positions after it.
        let seen = match state {
            Some(StreamState::PreviousWindow { ids, .. }) => ids.dims()[1],
            _ => 0,
        };
        let mut positions = position_ids(batch, seq, seen, &device);
        let unread = prefix.as_ref().and_then(|prefix| prefix.unread.clone());
        if let Some(unread) = &unread {
            // A row that must not read the previous window starts at position 0, as a stream does.
            let restart = unread.clone().slice([0..batch, 0..1]).int() * seen as i64; // [batch, 1]
            positions = positions - restart;
        }
        let padding =
            unread.map(|unread| Tensor::cat(vec![unread, Tensor::<2, Bool>::zeros([batch, seq], &device)], 1));
        let context = self.base.context(positions.clone(), padding, seen);
        let mut x = self.base.embed(ids, positions);
        let block_prefix = |prefix: &Option<WindowPrefix>, index: usize| {
            prefix
                .as_ref()
                .map(|prefix| BlockPrefix { input: prefix.inserted[index].clone(), padding: prefix.unread.clone() })
        };
        let mut next = 0;
        for layer in 0..self.base.n_layer() {
            while next < self.inserted.len() && self.insert_before[next] == layer {
                x = self.inserted[next].forward(x, &inputs, block_prefix(&prefix, next));
                next += 1;
            }
            let mut cache = prefix.as_mut().and_then(|prefix| prefix.base[layer].take());
            x = self.base.block(layer, x, &context, &mut cache);
        }
        while next < self.inserted.len() {
            x = self.inserted[next].forward(x, &inputs, block_prefix(&prefix, next));
            next += 1;
        }
        self.base.final_norm(x)
    }

    /// Logits of final hidden states: the base's head plus the trainable logit bias.
    ///
    /// # Shapes
    /// `hidden`: `[batch, seq, d_model]` → `[batch, seq, vocab]`
    pub fn window_logits(&self, hidden: Tensor<3>) -> Tensor<3> {
        let bias = self.logit_bias.val();
        let vocab = bias.dims()[0];
        self.base.head(hidden) + bias.reshape([1, 1, vocab])
    }

    /// `none-cache`: the previous window alone at positions `0..context`, recording every base
    /// block's keys and values and every inserted block's input, without gradient.
    fn previous_window(&self, ids: Tensor<2, Int>, unread: Option<Tensor<2, Bool>>) -> WindowPrefix {
        let [batch, seq] = ids.dims();
        let positions = position_ids(batch, seq, 0, &ids.device());
        let context = self.base.context(positions.clone(), None, 0);
        let mut x = self.base.embed(ids, positions).detach();
        let (mut base, mut inserted) =
            (Vec::with_capacity(self.base.n_layer()), Vec::with_capacity(self.inserted.len()));
        let plain = WindowInputs::default();
        let mut next = 0;
        for layer in 0..self.base.n_layer() {
            while next < self.inserted.len() && self.insert_before[next] == layer {
                inserted.push(x.clone());
                x = self.inserted[next].forward(x, &plain, None).detach();
                next += 1;
            }
            let mut cache = None;
            x = self.base.block(layer, x, &context, &mut cache).detach();
            base.push(cache.map(LayerCache::detach));
        }
        while next < self.inserted.len() {
            inserted.push(x.clone());
            x = self.inserted[next].forward(x, &plain, None).detach();
            next += 1;
        }
        WindowPrefix { base, inserted, unread }
    }

    /// Logits of one window from a stream's start (what the benchmark and the gate-0 test use).
    ///
    /// # Shapes
    /// `ids`: `[batch, seq]` → `[batch, seq, vocab]`
    pub fn logits(&self, ids: Tensor<2, Int>) -> Tensor<3> {
        let [batch, _] = ids.dims();
        let state = self.initial_state(batch, &ids.device());
        self.window_logits(self.forward_window(ids, state.as_ref()))
    }

    /// The base's vocabulary.
    pub fn vocab_size(&self) -> usize {
        self.base.vocab_size()
    }

    /// The `segment-state` vector's size (`None` without one).
    pub fn state_size(&self) -> Option<usize> {
        self.segment.as_ref().map(|segment| segment.project.weight.dims()[0])
    }

    /// What a stream starts from: a zero vector, the learned initial memory, or nothing.
    pub fn initial_state(&self, batch: usize, device: &Device) -> Option<StreamState> {
        match self.recurrence {
            Recurrence::SegmentState => {
                self.state_size().map(|size| StreamState::Vector(Tensor::zeros([batch, size], device)))
            }
            Recurrence::Memory => self.memory.as_ref().map(|memory| StreamState::Memory(memory.start(batch))),
            Recurrence::None | Recurrence::TokenGru | Recurrence::NoneCache => None,
        }
    }

    /// What the window just read (`ids`, with final hidden states `hidden`) leaves the next one.
    pub(crate) fn next_state(
        &self,
        state: Option<StreamState>,
        ids: Tensor<2, Int>,
        hidden: Tensor<3>,
    ) -> Option<StreamState> {
        match (state, self.recurrence) {
            (Some(StreamState::Vector(state)), _) => {
                self.segment.as_ref().map(|segment| StreamState::Vector(segment.update(hidden, state)))
            }
            (Some(StreamState::Memory(memory)), _) => {
                self.memory.as_ref().map(|write| StreamState::Memory(write.update(hidden, memory)))
            }
            (_, Recurrence::NoneCache) => Some(StreamState::PreviousWindow { ids, unread: None }),
            (state, _) => state,
        }
    }

    /// Training: each stream's state returns to its start with probability `state_reset_rate`.
    fn reset_at_random(&self, state: StreamState) -> StreamState {
        let rows = state.rows();
        let device = match &state {
            StreamState::Vector(state) => state.device(),
            StreamState::Memory(memory) => memory.device(),
            StreamState::PreviousWindow { ids, .. } => ids.device(),
        };
        let keep = Tensor::<2>::random([rows, 1], Distribution::Bernoulli(1.0 - self.state_reset_rate), &device);
        match state {
            StreamState::Vector(state) => StreamState::Vector(state * keep),
            StreamState::Memory(memory) => {
                let start = self.memory.as_ref().map(|write| write.start(rows)).unwrap_or_else(|| memory.zeros_like());
                let keep = keep.unsqueeze_dim::<3>(2);
                StreamState::Memory(start.clone() + (memory - start) * keep)
            }
            StreamState::PreviousWindow { ids, .. } => {
                let [_, seq] = ids.dims();
                let unread = keep.lower_elem(0.5).expand([rows, seq]);
                StreamState::PreviousWindow { ids, unread: Some(unread) }
            }
        }
    }

    /// The loss and the negative log-likelihood of every target of consecutive windows:
    /// `inputs` holds `n * context` tokens per row, read as `n` windows of `context` in order. A
    /// recurrence's state starts at `initial` (the stream's start when `None`) and is carried
    /// from window to window, or returned to its start before every window when `carry` is
    /// [`StateCarry::Reset`]; in training (the parameters require gradients) each stream's state
    /// is also reset at random before a window (see [`InsertionConfig::state_reset_rate`]). The
    /// state after the last window is returned with them.
    ///
    /// The head and the cross-entropy run as one op ([`HeadProjection::loss`](retrofit_core::head_projection::HeadProjection::loss)): the
    /// `[tokens, vocab]` logits are never materialised.
    ///
    /// # Shapes
    /// - `inputs`, `targets`: `[batch, n * context]`
    pub fn stream_loss_from(
        &self,
        inputs: Tensor<2, Int>,
        targets: Tensor<2, Int>,
        carry: StateCarry,
        initial: Option<StreamState>,
    ) -> StreamLoss {
        let [batch, total] = inputs.dims();
        let context = self.context.min(total);
        let device = inputs.device();
        let mut state = match initial {
            Some(initial) if carry == StateCarry::Carried && initial.rows() == batch => Some(initial),
            _ => self.initial_state(batch, &device),
        };
        let training = self.logit_bias.val().is_require_grad() && self.state_reset_rate > 0.0;
        let head = self.base.head_projection();
        let scale = 1.0 / (batch * total).max(1) as f64;
        let (mut losses, mut nll) = (Vec::new(), Vec::with_capacity(total.div_ceil(context)));
        for start in (0..total).step_by(context) {
            let end = (start + context).min(total);
            let window = inputs.clone().slice([0..batch, start..end]);
            let window_targets = targets.clone().slice([0..batch, start..end]);
            state = match carry {
                StateCarry::Reset => self.initial_state(batch, &device),
                StateCarry::Carried if training => state.map(|state| self.reset_at_random(state)),
                StateCarry::Carried => state,
                StateCarry::Shuffled => state.map(StreamState::rolled),
            };
            let hidden = self.forward_window(window.clone(), state.as_ref());
            let window_loss = head.loss(hidden.clone(), window_targets, Some(self.logit_bias.val()), scale);
            losses.push(window_loss.loss);
            nll.push(window_loss.nll.reshape([batch, end - start]));
            state = self.next_state(state, window, hidden);
        }
        let loss = Tensor::cat(losses, 0).sum();
        StreamLoss { loss, nll: Tensor::cat(nll, 1), state }
    }
}

/// What [`RecurrentLm::stream_loss_from`] computes.
#[derive(Debug, Clone)]
pub struct StreamLoss {
    /// The mean NLL of every target, differentiable. `[1]`
    pub loss: Tensor<1>,
    /// The NLL (nats) of every target, without a graph. `[batch, n * context]`
    pub nll: Tensor<2>,
    /// The state after the last window.
    pub state: Option<StreamState>,
}

impl WindowedLm for RecurrentLm {
    fn context(&self) -> usize {
        self.context
    }

    fn stream_nll(&self, inputs: Tensor<2, Int>, targets: Tensor<2, Int>, carry: StateCarry) -> Tensor<2> {
        self.stream_loss_from(inputs, targets, carry, None).nll
    }
}
