use burn::module::{Module, Param};
use burn::nn::{Gru, GruConfig, Linear, LinearConfig};
use burn::tensor::{Device, Int, Tensor};
use retrofit_core::CoreError;
use retrofit_core::base::PretrainedBase;
use retrofit_core::language_model::{StateCarry, WindowedLm, token_nll};

use crate::config::{InsertionConfig, Recurrence};
use crate::inserted::{InsertedBlock, TokenGru};
use retrofit_core::positions::position_ids;

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

/// A frozen pre-trained base (any supported family) with trainable inserted blocks, a trainable
/// bias on its logits and, optionally, a recurrent connection.
#[derive(Module, Debug)]
pub struct RecurrentLm {
    /// Frozen: no parameter requires a gradient.
    pub base: PretrainedBase,
    pub inserted: Vec<InsertedBlock>,
    /// Base block index each inserted block precedes (`n_layer`: after the last block).
    #[module(skip)]
    pub positions: Vec<usize>,
    /// Added to the logits. `[vocab]`
    pub logit_bias: Param<Tensor<1>>,
    pub segment: Option<SegmentState>,
    /// Tokens per window.
    pub context: usize,
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
        let positions = config.resolved_positions(n_layer);
        if positions.windows(2).any(|pair| pair[0] > pair[1]) || positions.iter().any(|&p| p > n_layer) {
            return Err(CoreError::setting(
                "model.positions",
                format!("{positions:?} must be ascending and at most n_layer ({n_layer})"),
            ));
        }
        if positions.is_empty() && config.recurrence != Recurrence::None {
            return Err(CoreError::setting(
                "model.recurrence",
                format!("{:?} needs inserted blocks (model.inserted_blocks > 0)", config.recurrence),
            ));
        }
        let token_gru = match config.recurrence {
            Recurrence::TokenGru => TokenGru::Along,
            Recurrence::None | Recurrence::SegmentState => TokenGru::Without,
        };
        let inserted = positions
            .iter()
            .map(|_| InsertedBlock::new(d_model, config.heads, config.ff_mult, token_gru, device))
            .collect::<Result<Vec<_>, _>>()?;
        let state_size = config.state_size.unwrap_or(d_model);
        let segment = (config.recurrence == Recurrence::SegmentState).then(|| SegmentState {
            cell: GruConfig::new(d_model, state_size, true).init(device),
            project: LinearConfig::new(state_size, d_model).init(device),
        });
        let precision = base.resolve_precision(config.base_precision, device);
        tracing::info!("{}", precision.reason);
        if let Some(warning) = &precision.warning {
            tracing::warn!("{warning}");
        }
        Ok(Self {
            base: base.with_precision(precision.format).no_grad(),
            inserted,
            positions,
            logit_bias: Param::from_tensor(Tensor::zeros([vocab], device)),
            segment,
            context,
        })
    }

    /// One window: the final hidden states (after `ln_f`) and the logits.
    ///
    /// # Shapes
    /// - `ids`: `[batch, seq]`, positions `0..seq`
    /// - `cond`: `[batch, 1, d_model]`
    /// - output: `[batch, seq, d_model]` and `[batch, seq, vocab]`
    pub fn forward_window(&self, ids: Tensor<2, Int>, cond: Option<Tensor<3>>) -> (Tensor<3>, Tensor<3>) {
        let [batch, seq] = ids.dims();
        let device = ids.device();
        let positions = position_ids(batch, seq, 0, &device);
        let context = self.base.context(positions.clone(), None, 0);
        let mut x = self.base.embed(ids, positions);
        let mut next = 0;
        for layer in 0..self.base.n_layer() {
            while next < self.inserted.len() && self.positions[next] == layer {
                x = self.inserted[next].forward(x, cond.clone());
                next += 1;
            }
            x = self.base.block(layer, x, &context, &mut None);
        }
        for inserted in &self.inserted[next..] {
            x = inserted.forward(x, cond.clone());
        }
        let hidden = self.base.final_norm(x);
        let logits =
            self.base.head(hidden.clone()) + self.logit_bias.val().reshape([1, 1, self.logit_bias.val().dims()[0]]);
        (hidden, logits)
    }

    /// Logits of one window without state (what the benchmark and the gate-0 test use).
    ///
    /// # Shapes
    /// `ids`: `[batch, seq]` → `[batch, seq, vocab]`
    pub fn logits(&self, ids: Tensor<2, Int>) -> Tensor<3> {
        let cond = self.segment.as_ref().map(|segment| {
            let [batch, _] = ids.dims();
            segment.cond(Tensor::zeros([batch, segment.project.weight.dims()[0]], &ids.device()))
        });
        self.forward_window(ids, cond).1
    }

    /// The `segment-state` vector's size (`None` without one).
    pub fn state_size(&self) -> Option<usize> {
        self.segment.as_ref().map(|segment| segment.project.weight.dims()[0])
    }

    /// Negative log-likelihood of every target of consecutive windows: `inputs` holds
    /// `n * context` tokens per row, read as `n` windows of `context` in order. With
    /// `segment-state` the state starts at `initial` (zero when `None`) and is carried from window
    /// to window, or zeroed before every window when `carry` is [`StateCarry::Reset`]; the state
    /// after the last window is returned with the NLL (`None` without `segment-state`).
    ///
    /// # Shapes
    /// - `inputs`, `targets`: `[batch, n * context]`
    /// - `initial`, returned state: `[batch, state_size]`
    /// - output: `[batch, n * context]`
    pub fn stream_nll(
        &self,
        inputs: Tensor<2, Int>,
        targets: Tensor<2, Int>,
        carry: StateCarry,
        initial: Option<Tensor<2>>,
    ) -> (Tensor<2>, Option<Tensor<2>>) {
        let [batch, total] = inputs.dims();
        let context = self.context.min(total);
        let device = inputs.device();
        let zero_state = || self.state_size().map(|size| Tensor::<2>::zeros([batch, size], &device));
        let mut state = match initial {
            Some(initial) if self.segment.is_some() && carry == StateCarry::Carried => Some(initial),
            _ => zero_state(),
        };
        let mut nll = Vec::with_capacity(total.div_ceil(context));
        for start in (0..total).step_by(context) {
            let end = (start + context).min(total);
            let window = inputs.clone().slice([0..batch, start..end]);
            let window_targets = targets.clone().slice([0..batch, start..end]);
            if carry == StateCarry::Reset {
                state = zero_state();
            }
            let cond = match (&self.segment, &state) {
                (Some(segment), Some(state)) => Some(segment.cond(state.clone())),
                _ => None,
            };
            let (hidden, logits) = self.forward_window(window, cond);
            nll.push(token_nll(logits, window_targets));
            if let (Some(segment), Some(current)) = (&self.segment, state.take()) {
                state = Some(segment.update(hidden, current));
            }
        }
        (Tensor::cat(nll, 1), state)
    }

    /// [`Self::stream_nll`] from a zero state.
    pub fn segment_nll(&self, inputs: Tensor<2, Int>, targets: Tensor<2, Int>, carry: StateCarry) -> Tensor<2> {
        self.stream_nll(inputs, targets, carry, None).0
    }
}

impl WindowedLm for RecurrentLm {
    fn context(&self) -> usize {
        self.context
    }

    fn windows_nll(&self, inputs: Tensor<2, Int>, targets: Tensor<2, Int>, carry: StateCarry) -> Tensor<2> {
        self.segment_nll(inputs, targets, carry)
    }
}
