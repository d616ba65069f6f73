//! Sampling from a trained model window by window, its state carried across window boundaries
//! exactly as evaluation carries it: the text (prompt, then what is generated) is cut into
//! consecutive windows of `context` tokens from its start; each next token is predicted from the
//! current window so far, read with the state the previous whole windows left.

use burn::tensor::{Device, Int, Tensor, TensorData};
use retrofit_core::generation::{Sampler, SamplingConfig};

use crate::error::RecurrentError;
use crate::model::RecurrentLm;
use crate::state::StreamState;

/// A text being continued by a [`RecurrentLm`]: its tokens, and the state that the whole windows
/// before its current one left.
pub struct WindowedText<'a> {
    model: &'a RecurrentLm,
    device: Device,
    ids: Vec<u32>,
    /// Where the current window starts; every whole window before it has updated `state`.
    window_start: usize,
    state: Option<StreamState>,
}

impl<'a> WindowedText<'a> {
    /// A text starting with `prompt` (at least one token, each in the vocabulary).
    pub fn new(model: &'a RecurrentLm, prompt: &[u32], device: &Device) -> Result<Self, RecurrentError> {
        if prompt.is_empty() {
            return Err(RecurrentError::Usage("the prompt needs at least one token".to_string()));
        }
        let mut text = Self {
            model,
            device: device.clone(),
            ids: Vec::with_capacity(prompt.len()),
            window_start: 0,
            state: model.initial_state(1, device),
        };
        for &id in prompt {
            text.push(id)?;
        }
        Ok(text)
    }

    /// Appends `id`.
    pub fn push(&mut self, id: u32) -> Result<(), RecurrentError> {
        let vocab = self.model.vocab_size();
        if id as usize >= vocab {
            return Err(RecurrentError::Usage(format!("token id {id} is outside the model's vocabulary of {vocab}")));
        }
        self.ids.push(id);
        Ok(())
    }

    /// The tokens so far.
    pub fn ids(&self) -> &[u32] {
        &self.ids
    }

    /// Logits of the token after the last one (`[vocab]`): the window holding the last token,
    /// read with the state the windows before it left.
    pub fn next_logits(&mut self) -> Result<Vec<f32>, RecurrentError> {
        let context = self.model.context;
        while self.ids.len() - self.window_start > context {
            let window = row(&self.ids[self.window_start..self.window_start + context], &self.device);
            self.state = self.model.forward_window(window, self.state.as_ref()).next;
            self.window_start += context;
        }
        let window = row(&self.ids[self.window_start..], &self.device);
        let logits = self.model.window_logits(self.model.forward_window(window, self.state.as_ref()).hidden); // [1, seq, vocab]
        let [_, seq, vocab] = logits.dims();
        logits
            .slice([0..1, seq - 1..seq, 0..vocab])
            .try_into_vec_as::<f32>()
            .map_err(|error| RecurrentError::TensorRead(error.to_string()))
    }
}

/// New ids after `prompt`: `tokens` of them, or fewer when one of `stop_ids` comes (kept as the
/// last; empty: never early).
pub fn sample_ids(
    model: &RecurrentLm,
    prompt: &[u32],
    tokens: usize,
    sampling: SamplingConfig,
    stop_ids: &[u32],
    device: &Device,
) -> Result<Vec<u32>, RecurrentError> {
    sampling.validate().map_err(RecurrentError::Usage)?;
    let mut text = WindowedText::new(model, prompt, device)?;
    let mut sampler = Sampler::new(sampling);
    for _ in 0..tokens {
        let logits = text.next_logits()?;
        let token = sampler.choose(&logits);
        text.push(token)?;
        if stop_ids.contains(&token) {
            break;
        }
    }
    Ok(text.ids()[prompt.len()..].to_vec())
}

/// `[1, ids.len()]`
fn row(ids: &[u32], device: &Device) -> Tensor<2, Int> {
    let values: Vec<i64> = ids.iter().map(|&id| i64::from(id)).collect();
    Tensor::from_data(TensorData::new(values, [1, ids.len()]), device)
}
