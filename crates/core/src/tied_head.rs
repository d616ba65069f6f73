//! The output head tied to the token embedding, shared by GPT-2 and Llama.

use burn::tensor::Tensor;

/// Logits of hidden states under a head tied to the token embedding `weight`: one 2-D matmul
/// with the weight's transpose, which libtorch's GEMM reads transposed in place. (A batched
/// matmul against the broadcast transpose is slower: 7x in bf16 on the CPU.)
///
/// # Shapes
/// - `hidden`: `[batch, seq, d_model]`
/// - `weight`: `[vocab, d_model]`
/// - output: `[batch, seq, vocab]`
pub fn tied_logits(hidden: Tensor<3>, weight: Tensor<2>) -> Tensor<3> {
    let [batch, seq, d_model] = hidden.dims();
    let [vocab, _] = weight.dims();
    hidden.reshape([batch * seq, d_model]).matmul(weight.transpose()).reshape([batch, seq, vocab])
}
