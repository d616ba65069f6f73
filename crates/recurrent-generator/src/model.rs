//! The recurrent generator's model: a frozen pre-trained base, trainable blocks inserted between
//! its blocks, a trainable logit bias and at most one recurrent connection (see [`Connection`];
//! each lives in a file of its own).

use burn::module::{Module, Param};
use burn::tensor::{Bool, Device, Distribution, Int, Tensor};
use retrofit_core::CoreError;
use retrofit_core::base::PretrainedBase;
use retrofit_core::decoder::Decoder;
use retrofit_core::language_model::{StateCarry, WindowedLm};
use retrofit_core::positions::position_ids;

use crate::config::{BaseShape, InsertionConfig, Recurrence};
use crate::connection::Connection;
use crate::inserted::{BlockExtra, BlockPrefix, InsertedBlock, WindowInputs};
use crate::memory_tokens::MemoryTokens;
use crate::schedule::{Layer, LayerSchedule};
use crate::state::StreamState;
use crate::xl_cache::XlRecorder;

/// A frozen pre-trained base (any supported family) with trainable inserted blocks, a trainable
/// bias on its logits and, for a recurrence that carries something from window to window, its
/// [`Connection`].
#[derive(Module, Debug)]
pub struct RecurrentLm {
    /// Frozen: no parameter requires a gradient.
    pub base: PretrainedBase,
    pub inserted: Vec<InsertedBlock>,
    /// The order of base and inserted blocks every pass walks.
    #[module(skip)]
    pub schedule: LayerSchedule,
    /// Added to the logits. `[vocab]`
    pub logit_bias: Param<Tensor<1>>,
    /// What a stream carries from window to window (`None`: nothing, as `none` and `token-gru`).
    pub connection: Option<Connection>,
    /// Tokens per window.
    pub context: usize,
    /// See [`InsertionConfig::state_reset_rate`].
    #[module(skip)]
    pub state_reset_rate: f64,
}

/// One window's pass: its final hidden states and what it leaves the next window.
#[derive(Debug, Clone)]
pub struct WindowPass {
    /// After the base's final norm, the window's own positions only. `[batch, seq, d_model]`
    pub hidden: Tensor<3>,
    /// What the next window of the stream starts from (`None`: nothing to carry).
    pub next: Option<StreamState>,
}

impl RecurrentLm {
    /// Wraps `base` (frozen here) for windows of `context` tokens; the settings are checked
    /// against the base first ([`InsertionConfig::validate`]).
    pub fn new(
        base: PretrainedBase,
        config: &InsertionConfig,
        context: usize,
        device: &Device,
    ) -> Result<Self, CoreError> {
        let shape = BaseShape {
            n_layer: base.n_layer(),
            max_positions: base.max_positions(),
            rotary: base.rotary_tables().is_some(),
        };
        let insert_before = config.validate(&shape, context)?;
        let d_model = base.d_model();
        let extra = match config.recurrence {
            Recurrence::TokenGru => BlockExtra::TokenGru,
            Recurrence::Memory => BlockExtra::MemoryRead,
            Recurrence::None
            | Recurrence::SegmentState
            | Recurrence::NoneCache
            | Recurrence::XlCache
            | Recurrence::MemoryTokens => BlockExtra::Plain,
        };
        let inserted = insert_before
            .iter()
            .map(|_| InsertedBlock::new(d_model, config.heads, config.ff_mult, extra, device))
            .collect::<Result<Vec<_>, _>>()?;
        let connection = Connection::new(config, d_model, device);
        let precision = base.resolve_precision(config.base_precision, device);
        tracing::info!("{}", precision.reason);
        if let Some(warning) = &precision.warning {
            tracing::warn!("{warning}");
        }
        let vocab = base.vocab_size();
        Ok(Self {
            schedule: LayerSchedule::new(&insert_before, shape.n_layer),
            base: base.with_precision(precision.format).no_grad(),
            inserted,
            logit_bias: Param::from_tensor(Tensor::zeros([vocab], device)),
            connection,
            context,
            state_reset_rate: config.state_reset_rate,
        })
    }

    /// The recurrence this model implements: its connection's, or, without one, `token-gru` when
    /// the inserted blocks hold a GRU.
    pub fn recurrence(&self) -> Recurrence {
        match &self.connection {
            Some(connection) => connection.recurrence(),
            None if self.inserted.iter().any(|block| block.gru.is_some()) => Recurrence::TokenGru,
            None => Recurrence::None,
        }
    }

    /// The model with its inserted blocks frozen (no gradient, so the optimizer leaves them as
    /// they are): `train = "connection"`.
    pub fn with_inserted_frozen(mut self) -> Self {
        self.inserted = self.inserted.into_iter().map(Module::no_grad).collect();
        self
    }

    /// Whether a window hands something to the next.
    pub fn carries_state(&self) -> bool {
        self.connection.is_some()
    }

    /// One window, reading `state` (what the previous window left; `None`: nothing, as at a
    /// stream's start): its final hidden states (after the base's final norm) and what it
    /// leaves the next window.
    ///
    /// # Shapes
    /// - `ids`: `[batch, seq]`
    /// - output's `hidden`: `[batch, seq, d_model]`
    pub fn forward_window(&self, ids: Tensor<2, Int>, state: Option<&StreamState>) -> WindowPass {
        if let (Some(Connection::MemoryTokens(tokens)), Some(StreamState::MemoryTokens(read))) =
            (&self.connection, state)
        {
            return self.forward_with_memory_tokens(tokens, ids, read.clone());
        }
        let [batch, seq] = ids.dims();
        let device = ids.device();
        let inputs = WindowInputs {
            cond: match (&self.connection, state) {
                (Some(Connection::SegmentState(segment)), Some(StreamState::Vector(state))) => {
                    Some(segment.cond(state.clone()))
                }
                _ => None,
            },
            memory: match state {
                Some(StreamState::Memory(memory)) => Some(memory.clone()),
                _ => None,
            },
        };
        // none-cache: the previous window recomputed; xl-cache: what its own forward left.
        let mut prefix = match state {
            Some(StreamState::PreviousWindow { ids, .. }) => Some(self.previous_window(ids.clone())),
            _ => None,
        };
        let xl = match state {
            Some(StreamState::Cache(cache)) => Some(cache),
            _ => None,
        };
        // xl-cache: the sinks and the previous window, at the positions before this one's.
        let xl_read = xl.and_then(|cache| self.base.rotary_tables().map(|rotary| cache.read(rotary)));
        let mut recorder = match &self.connection {
            Some(Connection::XlCache(reader)) => Some((XlRecorder::default(), reader.attention_sinks)),
            _ => None,
        };
        // After a previous window (at positions 0..seen) this one takes the positions after it.
        let seen = state.map_or(0, StreamState::seen);
        let unread = state.and_then(StreamState::unread);
        let mut positions = position_ids(batch, seq, seen, &device);
        if let (Some(unread), Some(_)) = (&unread, &prefix) {
            // none-cache: a row that must not read the previous window starts at position 0, as
            // a stream does (a rotary base's xl-cache needs nothing: only relative positions count).
            let restart = unread.clone().slice([0..batch, 0..1]).int() * seen as i64; // [batch, 1]
            positions = positions - restart;
        }
        let padding =
            unread.clone().map(|unread| Tensor::cat(vec![unread, Tensor::<2, Bool>::zeros([batch, seq], &device)], 1));
        let context = self.base.context(positions.clone(), padding, seen);
        let mut x = self.base.embed(ids.clone(), positions);
        for layer in &self.schedule.layers {
            x = match *layer {
                Layer::Inserted(index) => {
                    let block_prefix = match (&prefix, &xl_read) {
                        (Some(prefix), _) => {
                            Some(BlockPrefix { input: prefix.inserted[index].clone(), padding: unread.clone() })
                        }
                        (None, Some(read)) => {
                            Some(BlockPrefix { input: read.inserted[index].clone(), padding: unread.clone() })
                        }
                        (None, None) => None,
                    };
                    if let Some((recorder, _)) = &mut recorder {
                        recorder.inserted(&x);
                    }
                    self.inserted[index].forward(x, &inputs, block_prefix)
                }
                Layer::Base(index) => {
                    let mut cache = match (&mut prefix, &xl_read) {
                        (Some(prefix), _) => prefix.base[index].take(),
                        (None, Some(read)) => Some(read.base[index].clone()),
                        (None, None) => None,
                    };
                    let x = self.base.block(index, x, &context, &mut cache);
                    if let (Some((recorder, _)), Some(cache), Some(rotary)) =
                        (&mut recorder, cache, self.base.rotary_tables())
                    {
                        recorder.base(cache, seen, rotary);
                    }
                    x
                }
            };
        }
        let hidden = self.base.final_norm(x);
        let next = match (&self.connection, state) {
            (None, _) => None,
            (Some(Connection::XlCache(_)), _) => {
                recorder.map(|(recorder, sinks)| StreamState::Cache(recorder.finish(xl, sinks)))
            }
            (Some(Connection::PreviousWindow(_)), _) => Some(StreamState::PreviousWindow { ids, unread: None }),
            (Some(Connection::SegmentState(segment)), Some(StreamState::Vector(vector))) => {
                Some(StreamState::Vector(segment.update(hidden.clone(), vector.clone())))
            }
            (Some(Connection::Memory(write)), Some(StreamState::Memory(memory))) => {
                Some(StreamState::Memory(write.update(hidden.clone(), memory.clone())))
            }
            (Some(_), state) => state.cloned(),
        };
        WindowPass { hidden, next }
    }

    /// `memory-tokens`: `[read, window, write]` through every layer, the read vectors at
    /// positions `0..m`, the window at `m..m + seq`, the write ones after it.
    fn forward_with_memory_tokens(&self, tokens: &MemoryTokens, ids: Tensor<2, Int>, read: Tensor<3>) -> WindowPass {
        let [batch, seq] = ids.dims();
        let device = ids.device();
        let slots = tokens.slots();
        let total = 2 * slots + seq;
        let positions = position_ids(batch, total, 0, &device);
        let part = |range: std::ops::Range<usize>| positions.clone().slice([0..batch, range]);
        let x = Tensor::cat(
            vec![
                self.base.embed_vectors(read, part(0..slots)),
                self.base.embed(ids, part(slots..slots + seq)),
                self.base.embed_vectors(tokens.write_inputs(batch), part(slots + seq..total)),
            ],
            1,
        );
        let context = self.base.context(positions, None, 0);
        let hidden = self.walk(x, &context);
        let [_, _, d_model] = hidden.dims();
        let written = hidden.clone().slice([0..batch, slots + seq..total, 0..d_model]);
        WindowPass {
            hidden: hidden.slice([0..batch, slots..slots + seq, 0..d_model]),
            next: Some(StreamState::MemoryTokens(tokens.update(written))),
        }
    }

    /// Every layer over `x` without a prefix or extra inputs, then the final norm.
    ///
    /// # Shapes
    /// `x`: `[batch, seq, d_model]` → `[batch, seq, d_model]`
    fn walk(&self, mut x: Tensor<3>, context: &retrofit_core::decoder::ForwardContext) -> Tensor<3> {
        let plain = WindowInputs::default();
        for layer in &self.schedule.layers {
            x = match *layer {
                Layer::Inserted(index) => self.inserted[index].forward(x, &plain, None),
                Layer::Base(index) => self.base.block(index, x, context, &mut None),
            };
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

    /// Logits of one window from a stream's start (what the benchmark and the gate-0 test use).
    ///
    /// # Shapes
    /// `ids`: `[batch, seq]` → `[batch, seq, vocab]`
    pub fn logits(&self, ids: Tensor<2, Int>) -> Tensor<3> {
        let [batch, _] = ids.dims();
        let state = self.initial_state(batch, &ids.device());
        self.window_logits(self.forward_window(ids, state.as_ref()).hidden)
    }

    /// The base's vocabulary.
    pub fn vocab_size(&self) -> usize {
        self.base.vocab_size()
    }

    /// The `segment-state` vector's size (`None` without one).
    pub fn state_size(&self) -> Option<usize> {
        match &self.connection {
            Some(Connection::SegmentState(segment)) => Some(segment.size()),
            _ => None,
        }
    }

    /// What a stream starts from: a zero vector, a learned initial memory, or nothing (the
    /// caches: no previous window).
    pub fn initial_state(&self, batch: usize, device: &Device) -> Option<StreamState> {
        self.connection.as_ref().and_then(|connection| connection.start(batch, device))
    }

    /// Training: each stream's state returns to its start with probability `state_reset_rate`.
    fn reset_at_random(&self, state: StreamState, device: &Device) -> StreamState {
        let Some(connection) = &self.connection else { return state };
        let keep = Tensor::<2>::random([state.rows(), 1], Distribution::Bernoulli(1.0 - self.state_reset_rate), device);
        connection.reset_rows(state, keep)
    }

    /// The loss and the negative log-likelihood of every target of consecutive windows:
    /// `inputs` holds `n * context` tokens per row, read as `n` windows of `context` in order. A
    /// recurrence's state starts at `initial` (the stream's start when `None`) and is carried
    /// from window to window, or returned to its start before every window when `carry` is
    /// [`StateCarry::Reset`], or moved one stream up before every window (the first included: a
    /// stream starts from another's `initial`) when it is [`StateCarry::Shuffled`]; in training (the parameters require gradients) each stream's state
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
            Some(initial) if carry != StateCarry::Reset && initial.rows() == batch => Some(initial),
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
                StateCarry::Carried if training => state.map(|state| self.reset_at_random(state, &device)),
                StateCarry::Carried => state,
                StateCarry::Shuffled => state.map(StreamState::rolled),
            };
            let pass = self.forward_window(window, state.as_ref());
            let window_loss = head.loss(pass.hidden, window_targets, Some(self.logit_bias.val()), scale);
            losses.push(window_loss.loss);
            nll.push(window_loss.nll.reshape([batch, end - start]));
            state = pass.next;
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
