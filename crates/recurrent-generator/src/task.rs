use std::sync::{Arc, Mutex};

use burn::module::Module;
use burn::tensor::Tensor;
use retrofit_core::language_model::{LmOutput, StateCarry, ValidStateParts};
use retrofit_core::training::TaskModel;
use retrofit_data::lm_batch::LmBatch;
use retrofit_data::streams::StreamStep;

use crate::connection::LEGACY_NAMES;
use crate::model::{RecurrentLm, StreamLoss};
use crate::state::StreamState;

/// The state a batch of streams left for the next batch of the same streams, detached: no
/// gradient flows from one step into the previous one (truncated BPTT). Shared by the copies of
/// the task the Learner makes; training and validation never interleave within a pass, and
/// every pass starts with a [`StreamStep::First`] batch, which starts from zero.
#[derive(Debug, Clone, Default)]
pub struct CarriedState(Arc<Mutex<Option<StreamState>>>);

impl CarriedState {
    /// The state to start `stream` from: the stored one for a continuing batch of as many rows.
    fn take(&self, stream: StreamStep, rows: usize) -> Option<StreamState> {
        let stored = self.0.lock().ok()?.take();
        match stream {
            StreamStep::Next => stored.filter(|state| state.rows() == rows),
            StreamStep::First | StreamStep::Independent => None,
        }
    }

    fn store(&self, state: Option<StreamState>) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = state.map(StreamState::detach);
        }
    }
}

/// Language modelling over batches of consecutive windows: a batch of stream chunks continues
/// from the state the previous batch of the same streams left (detached).
#[derive(Module, Debug)]
pub struct RecurrentLanguageModeling {
    pub model: RecurrentLm,
    #[module(skip)]
    pub carried: CarriedState,
    /// What validation reads besides the carried state (the reset, another stream's state).
    #[module(skip)]
    pub parts: ValidStateParts,
}

impl RecurrentLanguageModeling {
    /// Validation reads what `parts` asks for where `model` carries a state.
    pub fn new(model: RecurrentLm, parts: ValidStateParts) -> Self {
        Self { model, carried: CarriedState::default(), parts }
    }
}

impl TaskModel for RecurrentLanguageModeling {
    type Batch = LmBatch;
    type Output = LmOutput;

    /// The frozen base stays out of the Learner's checkpoints (`Trainable.model` is this task,
    /// whose `model` holds the base); the stage saves the trainable part with the name of its
    /// base at the end (see `checkpoint`).
    const FROZEN_PREFIX: Option<&'static str> = Some("model.model.base.");

    /// Resume records written before the connection was one type.
    const RENAMED_PREFIXES: &'static [(&'static str, &'static str)] = LEGACY_NAMES;

    fn forward_task(&self, batch: LmBatch) -> (Tensor<1>, LmOutput) {
        let rows = batch.inputs.dims()[0];
        let initial = self.carried.take(batch.stream, rows);
        // Validation (nothing tracks a gradient) of a model that carries a state also reads the
        // batch with the state reset before every window, and where `parts` asks (and there are
        // two streams or more) with every window reading another stream's state, starting from
        // another stream's carried one: the carried state's parts, per epoch.
        let validating = !self.model.logit_bias.val().is_require_grad() && self.model.carries_state();
        let read_as = |carry: StateCarry| {
            self.model.stream_loss_from(batch.inputs.clone(), batch.targets.clone(), carry, initial.clone()).nll
        };
        let reset = (validating && self.parts != ValidStateParts::None).then(|| read_as(StateCarry::Reset));
        let shuffled = (validating && self.parts == ValidStateParts::ResetAndShuffled && rows >= 2)
            .then(|| read_as(StateCarry::Shuffled));
        let StreamLoss { loss, nll, state } =
            self.model.stream_loss_from(batch.inputs, batch.targets, StateCarry::Carried, initial);
        self.carried.store(state);
        let mut output = LmOutput::new(nll, batch.target_bytes);
        if let Some(reset) = reset {
            output = output.with_reset(reset);
        }
        if let Some(shuffled) = shuffled {
            output = output.with_shuffled(shuffled);
        }
        (loss, output)
    }
}
