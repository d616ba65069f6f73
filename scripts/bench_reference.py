#!/usr/bin/env python3
"""PyTorch eager reference for `just bench` (CPU, float32, no torch.compile by default).

The PyTorch side of the race against our Rust workloads (`experiments/src/bin/bench.rs`,
raced by `experiments/src/bin/bench-race.rs`). Needs torch==2.9.0 and transformers==5.24.0.

    python scripts/bench_reference.py --workload NAME [--steps N] [--warmup W] [--threads T]
        [--attn explicit|sdpa] [--hf-attn sdpa|eager] [--base-precision float32|bfloat16]
        [--compile]

Workloads (random weights, `torch.manual_seed(0)` before the model, one batch drawn once with
`torch.randint` and reused every step; Adam lr 1e-4 on the trainable parameters; mean
cross-entropy; every dropout 0):

| # | workload | data (batch, seq) | model | params total / optimised |
|---|---|---|---|---|
| 1 | attention-classifier | ids (32, 512) < 50000, labels (32,) < 2 | Embedding(50000, 128) -> SelfAttention(128, 8 heads, bidirectional) -> max over seq -> Linear(128, 2) | 6,465,922 / all |
| 2 | transformer-classifier | as 1 | token + learned position Embedding(512, 128) -> 6 x Block(128, 8 heads, bidirectional, ff 512) -> max -> Linear(128, 2) | 7,653,122 / all |
| 3 | generator | bytes (32, 257) < 256: input [:, :256], target [:, 1:] | token + position Embedding(256, 256) -> 12 x Block(256, 8 heads, causal, ff 1024) -> Linear(256, 256) | 9,664,768 / all |
| 4 | gpt2-iblocks | (2, 257) < 50257, shifted | frozen random GPT-2 (768 wide, 6 layers, 12 heads, tied lm_head) with 4 IBlock(768, 8 heads, ff 3072) before layers 0, 2, 4 and after the last, + logit bias | 110,305,109 / 28,392,533 |
| 5 | gpt2-iblocks-gru | as 4 | as 4, each IBlock also adds GRU(768, 768)(x) | 124,479,317 / 42,566,741 |
| 6 | gpt2-generate | prompt (1, 32) < 50257 | the frozen GPT-2 of 4, greedy `generate`, 128 new tokens, KV cache | 81,912,576 / - |
| 7 | llama-iblocks | (4, 257) < 49152, shifted | frozen random SmolLM2-135M-shaped Llama (576 wide, 30 layers, 9 q / 3 kv heads of 64, RoPE theta 1e5, tied lm_head) with 4 IBlock(576, 8 heads, ff 2304) before layers 0, 10, 20 and after the last, + logit bias | 150,512,452 / 15,997,444 |
| 8 | llama-iblocks-gru | as 7 | as 7, each IBlock also adds GRU(576, 576)(x) | 158,488,900 / 23,973,892 |
| 9 | llama-generate | prompt (1, 32) < 49152 | the frozen Llama of 7, greedy `generate`, 128 new tokens, KV cache | 134,515,008 / - |

Building blocks (Peter Bloem's `former`):
* SelfAttention(e, h): Wq, Wk, Wv = Linear(e, e, bias=False); heads of s = e/h folded into the
  batch; q and k each scaled by s**-0.25; bmm, causal mask (-inf above the diagonal), softmax,
  bmm; unifyheads = Linear(e, e) with bias. `--attn sdpa` swaps the middle for
  `F.scaled_dot_product_attention` (same math, fused kernel).
* Block(e, h, ff): post-norm, `x = LN(attn(x) + x); x = LN(Linear(ReLU(Linear(x))) + x)`, LN eps 1e-5.
* IBlock(x) = x + mult * (Block(x) [+ GRU(x).output]), `mult` a scalar parameter initialised to 0,
  so at init (with the logit bias 0) the inserted model equals its base: asserted before timing
  (observed bit-exact). The Hugging Face layers are driven by hand with the causal mask of
  `transformers.masking_utils.create_causal_mask` (None for sdpa) and, for Llama, the rotary
  (cos, sin) of `model.model.rotary_emb`.

One timed training step is `zero_grad(set_to_none) ; forward ; cross_entropy ; backward ;
Adam step`; one generation step is one whole `generate` call (1 prefill + 127 cached decodes;
each timed output is asserted equal to the warm-up's). Defaults: 2 warm-up and 5 timed steps
(generation: 1 and 3).

Output: diagnostics on lines starting with `INFO` (versions, parameter counts, shapes, losses,
step times); the last line is always

    BENCH <workload> backend=pytorch-eager threads=<n> median_step_s=<x.xxxx> throughput=<y> <unit>

with `threads = torch.get_num_threads()`, `median_step_s` the `statistics.median` of the timed
steps and `throughput` = batch * seq / median in `tokens/s` for training, 128 / median in
`generated_tokens/s` for generation (`backend=pytorch-compile` under `--compile`).
"""

import argparse
import inspect
import math
import os
import statistics
import sys
import time
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

TRAINING_WORKLOADS = (
    "attention-classifier",
    "transformer-classifier",
    "generator",
    "gpt2-iblocks",
    "gpt2-iblocks-gru",
    "llama-iblocks",
    "llama-iblocks-gru",
)
GENERATE_WORKLOADS = ("gpt2-generate", "llama-generate")
WORKLOADS = (
    "attention-classifier",
    "transformer-classifier",
    "generator",
    "gpt2-iblocks",
    "gpt2-iblocks-gru",
    "gpt2-generate",
    "llama-iblocks",
    "llama-iblocks-gru",
    "llama-generate",
)
LLAMA_TRAINING = ("llama-iblocks", "llama-iblocks-gru")

LEARNING_RATE = 1e-4
PROMPT_TOKENS = 32
NEW_TOKENS = 128

GPT2_VOCAB = 50257
LLAMA_VOCAB = 49152
LLAMA_ROPE_THETA = 100000.0
LLAMA_HEAD_DIM = 64


def info(message):
    print(f"INFO {message}", flush=True)


def count(params):
    return sum(p.numel() for p in params)


def unwrap_hidden(out):
    """A Hugging Face layer's hidden states: transformers 4.x returns a tuple, 5.x the tensor
    (indexing a 5.x result with [0] would silently take batch element 0)."""
    return out[0] if isinstance(out, tuple) else out


# --------------------------------------------------------------------------------------------
# former-style building blocks
# --------------------------------------------------------------------------------------------


class SelfAttention(nn.Module):
    """former's "narrow" multi-head self-attention (see the module docstring)."""

    def __init__(self, emb, heads, causal, attn="explicit"):
        super().__init__()
        assert emb % heads == 0, (emb, heads)
        self.heads, self.causal, self.attn = heads, causal, attn
        self.tokeys = nn.Linear(emb, emb, bias=False)
        self.toqueries = nn.Linear(emb, emb, bias=False)
        self.tovalues = nn.Linear(emb, emb, bias=False)
        self.unifyheads = nn.Linear(emb, emb)
        self._masks = {}

    def _upper_triangle(self, t, device):
        """Boolean (t, t) mask, True where key position > query position (cached)."""
        key = (t, device)
        if key not in self._masks:
            self._masks[key] = torch.ones(t, t, dtype=torch.bool, device=device).triu_(1)
        return self._masks[key]

    def _explicit(self, q, k, v):
        """former's code: heads folded into the batch, (b*h, t, s) each."""
        s = q.size(-1)
        q = q * (s ** -0.25)
        k = k * (s ** -0.25)
        dot = torch.bmm(q, k.transpose(1, 2))
        if self.causal:
            dot = dot.masked_fill_(self._upper_triangle(dot.size(1), dot.device), float("-inf"))
        return torch.bmm(F.softmax(dot, dim=2), v)

    def forward(self, x):
        b, t, e = x.shape
        h = self.heads
        s = e // h
        # (b, t, e) -> (b, h, t, s)
        q, k, v = (proj(x).view(b, t, h, s).transpose(1, 2)
                   for proj in (self.toqueries, self.tokeys, self.tovalues))
        if self.attn == "sdpa":
            out = F.scaled_dot_product_attention(q, k, v, is_causal=self.causal,
                                                 scale=1.0 / math.sqrt(s))
        else:
            fold = lambda z: z.contiguous().view(b * h, t, s)  # noqa: E731
            out = self._explicit(fold(q), fold(k), fold(v)).view(b, h, t, s)
        return self.unifyheads(out.transpose(1, 2).contiguous().view(b, t, e))


class TransformerBlock(nn.Module):
    """former's post-norm block with a ReLU feed-forward of width ff_mult * emb."""

    def __init__(self, emb, heads, causal, ff_mult=4, attn="explicit"):
        super().__init__()
        self.attention = SelfAttention(emb, heads, causal, attn)
        self.norm1 = nn.LayerNorm(emb)
        self.norm2 = nn.LayerNorm(emb)
        self.ff = nn.Sequential(nn.Linear(emb, ff_mult * emb), nn.ReLU(),
                                nn.Linear(ff_mult * emb, emb))

    def forward(self, x):
        x = self.norm1(self.attention(x) + x)
        return self.norm2(self.ff(x) + x)


class FormerModel(nn.Module):
    """Workloads 1-3: token embedding (+ optional learned positions), a stack of blocks (or a
    bare attention layer), then max-pool + classifier head or per-position logits."""

    def __init__(self, vocab, emb, heads, depth, seq, causal, pooled, out_dim,
                 positions=True, bare_attention=False, attn="explicit"):
        super().__init__()
        self.token_embedding = nn.Embedding(vocab, emb)
        self.pos_embedding = nn.Embedding(seq, emb) if positions else None
        if bare_attention:
            self.body = SelfAttention(emb, heads, causal, attn)
        else:
            self.body = nn.Sequential(*[TransformerBlock(emb, heads, causal, 4, attn)
                                        for _ in range(depth)])
        self.pooled = pooled
        self.head = nn.Linear(emb, out_dim)

    def forward(self, ids):
        x = self.token_embedding(ids)
        if self.pos_embedding is not None:
            x = x + self.pos_embedding(torch.arange(ids.size(1), device=ids.device))[None]
        x = self.body(x)
        if self.pooled:
            x = x.max(dim=1)[0]
        return self.head(x)


class IBlock(nn.Module):
    """Inserted trainable block: x + mult * (block(x) [+ gru(x)]), mult initialised to 0."""

    def __init__(self, emb, gru, attn):
        super().__init__()
        self.block = TransformerBlock(emb, heads=8, causal=True, ff_mult=4, attn=attn)
        self.gru = nn.GRU(emb, emb, batch_first=True) if gru else None
        self.mult = nn.Parameter(torch.tensor(0.0))

    def forward(self, x):
        y = self.block(x)
        if self.gru is not None:
            y = y + self.gru(x)[0]
        return x + self.mult * y


# --------------------------------------------------------------------------------------------
# Hugging Face bases (random init, frozen)
# --------------------------------------------------------------------------------------------


def causal_mask(config, inputs_embeds, position_ids):
    """The mask exactly as GPT2Model / LlamaModel.forward build it (None for sdpa)."""
    from transformers.masking_utils import create_causal_mask

    params = inspect.signature(create_causal_mask).parameters
    kwargs = dict(config=config, inputs_embeds=inputs_embeds, attention_mask=None,
                  position_ids=position_ids)
    for cache_name in ("cache", "past_key_values"):
        if cache_name in params:
            kwargs[cache_name] = None
            break
    if "cache_position" in params:  # older 4.x releases
        kwargs["cache_position"] = position_ids[0]
    return create_causal_mask(**kwargs)


def build_gpt2(hf_attn):
    """DistilGPT-2's shape: 768 wide, 6 layers, 12 heads, context 1024, every dropout 0."""
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config(vocab_size=GPT2_VOCAB, n_positions=1024, n_embd=768, n_layer=6,
                        n_head=12, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
    model = GPT2LMHeadModel._from_config(config, attn_implementation=hf_attn).float()
    assert model.lm_head.weight is model.transformer.wte.weight, "lm_head must be tied to wte"
    return model


def build_llama(hf_attn):
    """SmolLM2-135M's shape: 576 wide, 30 layers, 9 query / 3 key-value heads of 64."""
    from transformers import LlamaConfig, LlamaForCausalLM

    kwargs = dict(vocab_size=LLAMA_VOCAB, hidden_size=576, intermediate_size=1536,
                  num_hidden_layers=30, num_attention_heads=9, num_key_value_heads=3,
                  head_dim=LLAMA_HEAD_DIM, max_position_embeddings=8192, rms_norm_eps=1e-5,
                  tie_word_embeddings=True, hidden_act="silu", attention_bias=False,
                  mlp_bias=False, attention_dropout=0.0)
    if "rope_parameters" in inspect.signature(LlamaConfig.__init__).parameters:  # 5.x
        kwargs["rope_parameters"] = {"rope_theta": LLAMA_ROPE_THETA, "rope_type": "default"}
    else:  # 4.x
        kwargs["rope_theta"] = LLAMA_ROPE_THETA
    model = LlamaForCausalLM._from_config(LlamaConfig(**kwargs),
                                          attn_implementation=hf_attn).float()
    assert model.lm_head.weight is model.model.embed_tokens.weight, \
        "lm_head must be tied to embed_tokens"
    assert model.model.embed_tokens.padding_idx is None
    rotary = model.model.rotary_emb
    expected = 1.0 / (LLAMA_ROPE_THETA ** (
        torch.arange(0, LLAMA_HEAD_DIM, 2, dtype=torch.float) / LLAMA_HEAD_DIM))
    assert torch.equal(rotary.inv_freq, expected) and rotary.attention_scaling == 1.0, \
        "plain (unscaled) RoPE expected"
    return model


class InsertedModel(nn.Module):
    """A frozen Hugging Face causal LM with k + 1 inserted IBlocks: before base layers
    i * n_layers // k (i < k) and after the last one, plus a trainable logit bias.
    `family` is "gpt2" or "llama"; the base layers are driven by hand as the HF model does."""

    def __init__(self, base, family, gru, attn, k=3):
        super().__init__()
        self.base, self.family = base, family
        for p in base.parameters():
            p.requires_grad_(False)
        cfg = base.config
        n_layers = cfg.n_layer if family == "gpt2" else cfg.num_hidden_layers
        emb = cfg.n_embd if family == "gpt2" else cfg.hidden_size
        self.insert_before = {i * n_layers // k: i for i in range(k)}
        self.iblocks = nn.ModuleList([IBlock(emb, gru, attn) for _ in range(k + 1)])
        self.logit_bias = nn.Parameter(torch.zeros(cfg.vocab_size))
        self.base_dtype = torch.float32

    def trainable_parameters(self):
        return list(self.iblocks.parameters()) + [self.logit_bias]

    def cast_base(self, dtype):
        """`--base-precision bfloat16`: the frozen base's weights (and so compute) in `dtype`;
        each base layer's input and output stay float32 (the project's base_precision)."""
        self.base.to(dtype)
        self.base_dtype = dtype

    def _layers(self):
        return self.base.transformer.h if self.family == "gpt2" else self.base.model.layers

    def forward(self, ids):
        position_ids = torch.arange(ids.size(1), device=ids.device).unsqueeze(0)
        dt = self.base_dtype
        if self.family == "gpt2":
            tr = self.base.transformer
            embeds = tr.wte(ids)
            hidden = tr.drop(embeds + tr.wpe(position_ids))
            mask = causal_mask(self.base.config, embeds, position_ids)
            layer_kwargs = dict(attention_mask=mask)
            final_norm = tr.ln_f
        else:
            m = self.base.model
            embeds = m.embed_tokens(ids)
            hidden = embeds
            mask = causal_mask(self.base.config, embeds, position_ids)
            cos_sin = tuple(p.to(dt) for p in m.rotary_emb(hidden, position_ids=position_ids))
            layer_kwargs = dict(attention_mask=mask, position_ids=position_ids,
                                position_embeddings=cos_sin)
            final_norm = m.norm
        hidden = hidden.float()
        for i, layer in enumerate(self._layers()):
            if i in self.insert_before:
                hidden = self.iblocks[self.insert_before[i]](hidden)
            hidden = unwrap_hidden(layer(hidden.to(dt), **layer_kwargs)).float()
        hidden = self.iblocks[-1](hidden)
        return self.base.lm_head(final_norm(hidden.to(dt))).float() + self.logit_bias


# --------------------------------------------------------------------------------------------
# Workload construction: (model, trainable params, inputs, targets, loss)
# --------------------------------------------------------------------------------------------


@dataclass
class TrainingSetup:
    model: nn.Module
    params: list
    inputs: torch.Tensor
    targets: torch.Tensor
    loss_fn: object


def flat_cross_entropy(logits, targets):
    return F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1))


def shifted_batch(batch, seq, vocab):
    """Next-token data: (batch, seq + 1) ids; input [:, :seq], target [:, 1:]."""
    data = torch.randint(0, vocab, (batch, seq + 1))
    return data[:, :-1].contiguous(), data[:, 1:].contiguous()


def former_workload(workload, attn):
    """Workloads 1-3 (all parameters trained)."""
    if workload == "generator":
        model = FormerModel(vocab=256, emb=256, heads=8, depth=12, seq=256, causal=True,
                            pooled=False, out_dim=256, attn=attn)
        inputs, targets = shifted_batch(32, 256, 256)
        loss_fn = flat_cross_entropy
    else:
        bare = workload == "attention-classifier"
        model = FormerModel(vocab=50000, emb=128, heads=8, depth=6, seq=512, causal=False,
                            pooled=True, out_dim=2, positions=not bare, bare_attention=bare,
                            attn=attn)
        inputs = torch.randint(0, 50000, (32, 512))
        targets = torch.randint(0, 2, (32,))
        loss_fn = F.cross_entropy
    return TrainingSetup(model, list(model.parameters()), inputs, targets, loss_fn)


def inserted_workload(workload, args):
    """Workloads 4, 5, 7, 8: a frozen HF base with inserted blocks, checked equal to the base
    at init before timing."""
    family = "gpt2" if workload.startswith("gpt2") else "llama"
    gru = workload.endswith("-gru")
    if family == "gpt2":
        base, (batch, vocab) = build_gpt2(args.hf_attn), (2, GPT2_VOCAB)
    else:
        base, (batch, vocab) = build_llama(args.hf_attn), (4, LLAMA_VOCAB)
    model = InsertedModel(base, family, gru=gru, attn=args.attn)
    params = model.trainable_parameters()
    assert all(p.requires_grad for p in params)
    assert not any(p.requires_grad for p in base.parameters())
    inputs, targets = shifted_batch(batch, 256, vocab)
    if family == "llama":
        n_layers = base.config.num_hidden_layers
        info(f"inserted before base layers {sorted(model.insert_before)} and after the last "
             f"({n_layers} layers)")

    with torch.no_grad():  # mult == 0 and bias == 0: the model is its base
        expected = base(inputs).logits
        got = model(inputs)
    max_diff = (expected - got).abs().max().item()
    info(f"init-equality max|logits - base_logits| = {max_diff:.3e} "
         f"(exact={torch.equal(expected, got)})")
    assert max_diff <= 1e-5, f"inserted model differs from its base at init: {max_diff}"
    del expected, got

    if args.base_precision == "bfloat16":
        model.cast_base(torch.bfloat16)
        assert all(p.dtype == torch.float32 for p in params)
        info("base_precision=bfloat16 (frozen base weights and compute in bf16)")
    info(f"hf attn_implementation={base.config._attn_implementation}")
    return TrainingSetup(model, params, inputs, targets, flat_cross_entropy)


# --------------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------------


def timed(fn, steps, warmup):
    """Runs fn warmup times untimed, then steps times under time.perf_counter();
    returns (warm-up results, timed results, timed seconds)."""
    warm = [fn() for _ in range(warmup)]
    results, times = [], []
    for _ in range(steps):
        start = time.perf_counter()
        results.append(fn())
        times.append(time.perf_counter() - start)
    return warm, results, times


def run_training(args):
    torch.manual_seed(0)
    if args.workload in ("gpt2-iblocks", "gpt2-iblocks-gru") + LLAMA_TRAINING:
        setup = inserted_workload(args.workload, args)
    else:
        setup = former_workload(args.workload, args.attn)
    model, inputs, targets = setup.model, setup.inputs, setup.targets
    assert inputs.abs().sum() > 0, "inputs all zero"
    info(f"params total={count(model.parameters())} trainable(optimised)={count(setup.params)}")
    info(f"inputs {tuple(inputs.shape)} targets {tuple(targets.shape)} attn={args.attn}")

    model.train()
    optimizer = torch.optim.Adam(setup.params, lr=LEARNING_RATE)  # betas (0.9, 0.999), eps 1e-8
    forward = torch.compile(model) if args.compile else model

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = setup.loss_fn(forward(inputs), targets)
        loss.backward()
        optimizer.step()
        return loss.detach()

    warm, losses, times = timed(step, args.steps, args.warmup)
    losses = [float(loss) for loss in warm + losses]
    info("losses " + " ".join(f"{loss:.4f}" for loss in losses))
    assert all(math.isfinite(loss) for loss in losses), "non-finite loss"
    info("step_s " + " ".join(f"{t:.4f}" for t in times))
    median = statistics.median(times)
    return median, inputs.numel() / median, "tokens/s"


def run_generate(args):
    torch.manual_seed(0)
    if args.workload == "gpt2-generate":
        model, vocab = build_gpt2(args.hf_attn), GPT2_VOCAB
    else:
        model, vocab = build_llama(args.hf_attn), LLAMA_VOCAB
    model.eval()
    prompt = torch.randint(0, vocab, (1, PROMPT_TOKENS))  # drawn after the model is built
    attention_mask = torch.ones_like(prompt)
    info(f"params total={count(model.parameters())} "
         f"hf attn_implementation={model.config._attn_implementation}")

    def generate():
        with torch.no_grad():
            out = model.generate(prompt, attention_mask=attention_mask, do_sample=False,
                                 max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS,
                                 use_cache=True, pad_token_id=0)
        assert out.shape == (1, PROMPT_TOKENS + NEW_TOKENS), out.shape
        return out

    warm, outs, times = timed(generate, args.steps, args.warmup)
    if warm:
        for out in outs:
            assert torch.equal(out, warm[0]), "greedy generation not deterministic"
    new = outs[-1][0, PROMPT_TOKENS:PROMPT_TOKENS + 16]
    info("generated ids[:16] " + " ".join(str(int(i)) for i in new))
    info("run_s " + " ".join(f"{t:.4f}" for t in times))
    median = statistics.median(times)
    return median, NEW_TOKENS / median, "generated_tokens/s"


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workload", required=True, choices=WORKLOADS)
    ap.add_argument("--steps", type=int, default=None,
                    help="timed steps (default 5; gpt2-/llama-generate: 3 generation runs)")
    ap.add_argument("--warmup", type=int, default=None,
                    help="untimed warm-up steps (default 2; gpt2-/llama-generate: 1)")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch intra-op threads (default os.cpu_count())")
    ap.add_argument("--attn", choices=("explicit", "sdpa"), default="explicit",
                    help="attention in the former-style blocks: former's bmm/mask/softmax/bmm "
                         "(explicit, default) or F.scaled_dot_product_attention (sdpa)")
    ap.add_argument("--hf-attn", choices=("sdpa", "eager"), default="sdpa",
                    help="attn_implementation of the Hugging Face GPT-2 / Llama base "
                         "(default sdpa, transformers' default)")
    ap.add_argument("--base-precision", choices=("float32", "bfloat16"), default="float32",
                    help="llama-iblocks(-gru): the frozen base's weights and compute in bf16, "
                         "each base layer's input and output float32")
    ap.add_argument("--compile", action="store_true",
                    help="training workloads: the model's forward through torch.compile "
                         "(compiled during warm-up, so --warmup >= 1)")
    args = ap.parse_args()

    generate = args.workload in GENERATE_WORKLOADS
    if args.base_precision != "float32" and args.workload not in LLAMA_TRAINING:
        ap.error("--base-precision applies to llama-iblocks and llama-iblocks-gru only")
    if args.steps is None:
        args.steps = 3 if generate else 5
    if args.warmup is None:
        args.warmup = 1 if generate else 2
    if args.steps < 1:
        ap.error("--steps must be at least 1")
    if args.warmup < 0:
        ap.error("--warmup must not be negative")
    if args.compile and generate:
        ap.error("--compile applies to the training workloads")
    if args.compile and args.warmup < 1:
        ap.error("--compile needs --warmup >= 1 (the compile happens there)")
    return args


def main():
    args = parse_args()
    torch.set_num_threads(args.threads or os.cpu_count())
    threads = torch.get_num_threads()
    info(f"torch {torch.__version__} python {sys.version.split()[0]} "
         f"threads={threads} steps={args.steps} warmup={args.warmup}")
    try:
        import transformers
        info(f"transformers {transformers.__version__}")
    except ImportError:
        pass

    run = run_generate if args.workload in GENERATE_WORKLOADS else run_training
    median, throughput, unit = run(args)
    backend = "pytorch-compile" if args.compile else "pytorch-eager"
    print(f"BENCH {args.workload} backend={backend} threads={threads} "
          f"median_step_s={median:.4f} throughput={throughput:.1f} {unit}", flush=True)


if __name__ == "__main__":
    main()
