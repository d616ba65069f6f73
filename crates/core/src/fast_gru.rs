//! burn's `Gru` at PyTorch's speed: the same module and parameters, another way to run them.
//!
//! burn 0.22's `Gru::forward` runs six `Linear`s per time step, input projections included, and
//! records every piece for autodiff. [`gru_forward`] computes the input projections of all time
//! steps in one matmul before the time loop, then runs the recurrence as one libtorch op through
//! burn's backend-extension mechanism (as `fused_softmax.rs`): per step one `addmm` and five
//! element-wise kernels forward, backpropagation through time in closed form backward, and the
//! hidden-to-hidden weight gradient as one matmul over all steps at the end.
//!
//! The equations are burn's (`reset_after = true`, PyTorch's): with `x W_i* + b_i*` the input
//! projections and `h W_h* + b_h*` the hidden ones,
//! ```text
//! r  = σ(x W_ir + b_ir + h W_hr + b_hr)
//! z  = σ(x W_iz + b_iz + h W_hz + b_hz)
//! n  = tanh(x W_in + b_in + r ⊙ (h W_hn + b_hn))
//! h' = (1 − z) ⊙ n + z ⊙ h
//! ```
//! A `Gru` configured otherwise (`reset_after = false`, other activations, a clip) runs through
//! burn's own `Gru::forward`.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, LibTorch, backend_extension};
use burn::nn::activation::Activation;
use burn::nn::{Gru, Linear};
use burn::tensor::Tensor;
use burn::tensor::module::linear;
use burn_tch::TchTensor;
use tch::Tensor as TchRaw;

/// The GRU recurrence over input projections computed beforehand.
#[backend_extension(LibTorch, Autodiff)]
pub trait FusedGruBackend: Backend {
    /// The hidden state after every step, differentiable on `Autodiff`.
    ///
    /// # Shapes
    /// - `input_gates`: `[batch, seq, 3 * hidden]`, the input projections of the reset, update
    ///   and new gates (in that order), with every bias except `b_hn` added
    /// - `initial`: `[batch, hidden]`
    /// - `hidden_weight`: `[hidden, 3 * hidden]`, `W_hr`, `W_hz`, `W_hn` side by side
    /// - `new_bias`: `[hidden]`, `b_hn`
    /// - output: `[batch, seq, hidden]`
    fn gru_recurrence(
        input_gates: FloatTensor<Self>,
        initial: FloatTensor<Self>,
        hidden_weight: FloatTensor<Self>,
        new_bias: FloatTensor<Self>,
    ) -> FloatTensor<Self>;
}

/// The two halves of the differentiable recurrence, on the backend that computes them.
pub trait FusedGruParts: Backend {
    /// The forward: the output and what [`Self::recurrence_backward`] needs.
    fn recurrence_forward(
        input_gates: FloatTensor<Self>,
        initial: FloatTensor<Self>,
        hidden_weight: FloatTensor<Self>,
        new_bias: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, Vec<FloatTensor<Self>>);

    /// The gradients of `input_gates`, `initial`, `hidden_weight` and `new_bias`.
    fn recurrence_backward(
        grad: FloatTensor<Self>,
        saved: Vec<FloatTensor<Self>>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
}

/// Every intermediate of the forward, step-major.
struct Trace {
    /// `[seq, batch, hidden]`, the hidden state after each step.
    hidden: TchRaw,
    /// `[seq, batch, 2 * hidden]`, `r` and `z`.
    reset_update: TchRaw,
    /// `[seq, batch, hidden]`, `n`.
    new: TchRaw,
    /// `[seq, batch, 3 * hidden]`, `h W_h* + [0, 0, b_hn]` of the previous state.
    hidden_gates: TchRaw,
}

fn run(input_gates: &TchRaw, initial: &TchRaw, hidden_weight: &TchRaw, new_bias: &TchRaw) -> Trace {
    let [batch, seq, three] = input_gates.size()[..] else {
        panic!("GRU recurrence: input gates of rank {}, not 3", input_gates.dim());
    };
    let size = three / 3;
    let options = (input_gates.kind(), input_gates.device());
    let trace = Trace {
        hidden: TchRaw::empty([seq, batch, size], options),
        reset_update: TchRaw::empty([seq, batch, 2 * size], options),
        new: TchRaw::empty([seq, batch, size], options),
        hidden_gates: TchRaw::empty([seq, batch, three], options),
    };
    let bias = TchRaw::cat(&[&TchRaw::zeros([2 * size], options), new_bias], 0);
    let mut previous = initial.shallow_clone();
    for step in 0..seq {
        let gates = input_gates.select(1, step);
        let hidden_gates = trace.hidden_gates.get(step);
        let _ = bias.addmm_out(&hidden_gates, &previous, hidden_weight);
        let mut reset_update = trace.reset_update.get(step);
        let _ = gates.narrow(1, 0, 2 * size).add_out(&reset_update, &hidden_gates.narrow(1, 0, 2 * size));
        let _ = reset_update.sigmoid_();
        let (reset, update) = (reset_update.narrow(1, 0, size), reset_update.narrow(1, size, size));
        let mut new = trace.new.get(step);
        let _ = gates.narrow(1, 2 * size, size).addcmul_out(&new, &reset, &hidden_gates.narrow(1, 2 * size, size));
        let _ = new.tanh_();
        let hidden = trace.hidden.get(step);
        // n + z (h − n) = (1 − z) n + z h
        let _ = new.lerp_tensor_out(&hidden, &previous, &update);
        previous = hidden;
    }
    trace
}

/// Backpropagation through time; returns the gradients of the input gates (step-major), the
/// initial state, the hidden weight and `b_hn`.
fn backward(grad: &TchRaw, trace: &Trace, initial: &TchRaw, hidden_weight: &TchRaw) -> [TchRaw; 4] {
    let [seq, batch, size] = trace.hidden.size()[..] else {
        unreachable!("the trace is built with rank 3");
    };
    let options = (grad.kind(), grad.device());
    let grad = grad.permute([1, 0, 2]); // [seq, batch, hidden]
    let grad_input_gates = TchRaw::empty([seq, batch, 3 * size], options);
    let grad_hidden_gates = TchRaw::empty([seq, batch, 3 * size], options);
    let grad_reset_update = TchRaw::empty([batch, 2 * size], options);
    let hidden_weight_t = hidden_weight.tr();
    let mut carry = TchRaw::zeros([batch, size], options);
    for step in (0..seq).rev() {
        let previous = if step == 0 { initial.shallow_clone() } else { trace.hidden.get(step - 1) };
        let reset_update = trace.reset_update.get(step);
        let (reset, update) = (reset_update.narrow(1, 0, size), reset_update.narrow(1, size, size));
        let new = trace.new.get(step);
        let hidden_new = trace.hidden_gates.get(step).narrow(1, 2 * size, size);
        let d_hidden = carry + grad.get(step);
        // h' = n + z (h − n)
        let _ = (&previous - &new).mul_out(&grad_reset_update.narrow(1, size, size), &d_hidden);
        let through_update = &d_hidden * &update;
        let d_new = &d_hidden - &through_update;
        let gates = grad_input_gates.get(step);
        let d_new_pre = gates.narrow(1, 2 * size, size);
        let _ = TchRaw::tanh_backward_grad_input(&d_new_pre, &d_new, &new);
        let _ = d_new_pre.mul_out(&grad_reset_update.narrow(1, 0, size), &hidden_new);
        let hidden_gates = grad_hidden_gates.get(step);
        let _ = d_new_pre.mul_out(&hidden_gates.narrow(1, 2 * size, size), &reset);
        let d_reset_update_pre = gates.narrow(1, 0, 2 * size);
        let _ = TchRaw::sigmoid_backward_grad_input(&d_reset_update_pre, &grad_reset_update, &reset_update);
        hidden_gates.narrow(1, 0, 2 * size).copy_(&d_reset_update_pre);
        carry = through_update.addmm(&hidden_gates, &hidden_weight_t);
    }
    let previous_all = TchRaw::cat(&[&initial.unsqueeze(0), &trace.hidden.narrow(0, 0, seq - 1)], 0);
    let flat = grad_hidden_gates.view([seq * batch, 3 * size]);
    let grad_hidden_weight = previous_all.view([seq * batch, size]).tr().mm(&flat);
    let grad_new_bias = flat.narrow(1, 2 * size, size).sum_dim_intlist(0, false, flat.kind());
    [grad_input_gates, carry, grad_hidden_weight, grad_new_bias]
}

impl FusedGruBackend for LibTorch {
    fn gru_recurrence(
        input_gates: FloatTensor<Self>,
        initial: FloatTensor<Self>,
        hidden_weight: FloatTensor<Self>,
        new_bias: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        Self::recurrence_forward(input_gates, initial, hidden_weight, new_bias).0
    }
}

impl FusedGruParts for LibTorch {
    fn recurrence_forward(
        input_gates: FloatTensor<Self>,
        initial: FloatTensor<Self>,
        hidden_weight: FloatTensor<Self>,
        new_bias: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, Vec<FloatTensor<Self>>) {
        let trace = run(&input_gates.tensor, &initial.tensor, &hidden_weight.tensor, &new_bias.tensor);
        let output = TchTensor::new(trace.hidden.permute([1, 0, 2]));
        // The saved states share the output's storage reference: burn never overwrites them.
        let hidden = TchTensor { tensor: trace.hidden, storage: output.storage.clone() };
        let saved = vec![
            hidden,
            TchTensor::new(trace.reset_update),
            TchTensor::new(trace.new),
            TchTensor::new(trace.hidden_gates),
            initial,
            hidden_weight,
        ];
        (output, saved)
    }

    fn recurrence_backward(
        grad: FloatTensor<Self>,
        saved: Vec<FloatTensor<Self>>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let [hidden, reset_update, new, hidden_gates, initial, hidden_weight] = saved.as_slice() else {
            panic!("GRU recurrence: the backward got {} saved tensors, not 6", saved.len());
        };
        let trace = Trace {
            hidden: hidden.tensor.shallow_clone(),
            reset_update: reset_update.tensor.shallow_clone(),
            new: new.tensor.shallow_clone(),
            hidden_gates: hidden_gates.tensor.shallow_clone(),
        };
        let [input_gates, initial, hidden_weight, new_bias] =
            backward(&grad.tensor, &trace, &initial.tensor, &hidden_weight.tensor);
        (
            TchTensor::new(input_gates.permute([1, 0, 2])),
            TchTensor::new(initial),
            TchTensor::new(hidden_weight),
            TchTensor::new(new_bias),
        )
    }
}

#[derive(Debug)]
struct RecurrenceBackward;

impl<B: FusedGruParts> Backward<B, 4> for RecurrenceBackward {
    /// The saved tensors.
    type State = Vec<FloatTensor<B>>;

    fn backward(self, ops: Ops<Self::State, 4>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let grad = grads.consume::<B>(&ops.node);
        let (input_gates, initial, hidden_weight, new_bias) = B::recurrence_backward(grad, ops.state);
        for (parent, grad) in ops.parents.into_iter().zip([input_gates, initial, hidden_weight, new_bias]) {
            if let Some(parent) = parent {
                grads.register::<B>(parent.id, grad);
            }
        }
    }
}

impl<B: FusedGruParts, C: CheckpointStrategy> FusedGruBackend for Autodiff<B, C> {
    fn gru_recurrence(
        input_gates: FloatTensor<Self>,
        initial: FloatTensor<Self>,
        hidden_weight: FloatTensor<Self>,
        new_bias: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let nodes = [input_gates.node(), initial.node(), hidden_weight.node(), new_bias.node()];
        let inner = [input_gates, initial, hidden_weight, new_bias].map(|tensor| tensor.into_primitive());
        let [input_gates, initial, hidden_weight, new_bias] = inner;
        let (output, saved) = B::recurrence_forward(input_gates, initial, hidden_weight, new_bias);
        match RecurrenceBackward.prepare::<C>(nodes).compute_bound().stateful() {
            OpsKind::Tracked(prep) => prep.finish(saved, output),
            OpsKind::UnTracked(prep) => prep.finish(output),
        }
    }
}

/// Whether [`gru_forward`] computes what `Gru::forward` computes with the fused recurrence.
pub fn is_fusable(gru: &Gru) -> bool {
    gru.reset_after
        && gru.clip.is_none()
        && matches!(gru.gate_activation, Activation::Sigmoid(_))
        && matches!(gru.hidden_activation, Activation::Tanh(_))
}

/// `gru.forward(input, state)` (burn's `Gru`, same parameters, same result up to rounding), with
/// all input projections in one matmul and the recurrence as one libtorch op; a `Gru` that
/// [`is_fusable`] rejects runs through `Gru::forward`.
///
/// # Shapes
/// - `input`: `[batch, seq, d_input]`
/// - `state`: `[batch, d_hidden]`, zeros when `None`
/// - output: `[batch, seq, d_hidden]`, the hidden state after every step
pub fn gru_forward(gru: &Gru, input: Tensor<3>, state: Option<Tensor<2>>) -> Tensor<3> {
    let [batch, seq, _] = input.dims();
    if !is_fusable(gru) || seq == 0 {
        return gru.forward(input, state);
    }
    let size = gru.d_hidden;
    let device = input.device();
    let bias = |linear: &Linear| match &linear.bias {
        Some(bias) => bias.val(),
        None => Tensor::zeros([size], &device),
    };
    let gates = [&gru.reset_gate, &gru.update_gate, &gru.new_gate];
    let input_weight = Tensor::cat(gates.iter().map(|gate| gate.input_transform.weight.val()).collect(), 1);
    let hidden_weight = Tensor::cat(gates.iter().map(|gate| gate.hidden_transform.weight.val()).collect(), 1);
    // r and z add both of their biases; n keeps `b_hn` inside `r ⊙ (h W_hn + b_hn)`.
    let input_bias = Tensor::cat(
        vec![
            bias(&gru.reset_gate.input_transform) + bias(&gru.reset_gate.hidden_transform),
            bias(&gru.update_gate.input_transform) + bias(&gru.update_gate.hidden_transform),
            bias(&gru.new_gate.input_transform),
        ],
        0,
    );
    let input_gates = linear(input, input_weight, Some(input_bias)); // [batch, seq, 3 * d_hidden]
    let initial = state.unwrap_or_else(|| Tensor::zeros([batch, size], &device));
    Tensor::from_dispatch(<burn::backend::Dispatch as FusedGruBackend>::gru_recurrence(
        input_gates.into_dispatch(),
        initial.into_dispatch(),
        hidden_weight.into_dispatch(),
        bias(&gru.new_gate.hidden_transform).into_dispatch(),
    ))
}
