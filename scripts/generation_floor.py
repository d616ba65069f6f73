#!/usr/bin/env python3
"""The floor of batch-1 generation on this machine: only the matrix-vector products of the
benchmark's generation workloads (`bench --workload gpt2-generate | llama-generate`: a 32-token
prompt, then 128 new tokens, one at a time), every weight read once a token in float32, as
PyTorch's `F.linear` does them. No attention, norms, cache or sampling: a generator that did
nothing else would take this long, so it bounds how much faster than Hugging Face's `generate`
any implementation with the same libtorch can be.

    python scripts/generation_floor.py --workload llama-generate --threads 2 --steps 3

Prints one `BENCH ... backend=weights-floor median_step_s=...` line, as `bench` does.
"""
import argparse
import statistics
import time

import torch

# (input width, output width) of every weight a token reads, per block, and the tied head.
SHAPES = {
    # DistilGPT-2: 768 wide, 6 blocks (fused qkv, out, MLP 4x), tied 50,257-word head.
    "gpt2-generate": dict(blocks=6, block=[(768, 2304), (768, 768), (768, 3072), (3072, 768)], head=(768, 50257)),
    # SmolLM2-135M: 576 wide, 30 blocks, 9 query / 3 key-value heads of 64, SwiGLU 1,536, tied 49,152-word head.
    "llama-generate": dict(
        blocks=30,
        block=[(576, 576), (576, 192), (576, 192), (576, 576), (576, 1536), (576, 1536), (1536, 576)],
        head=(576, 49152),
    ),
}
NEW_TOKENS = 128


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workload", required=True, choices=sorted(SHAPES))
    ap.add_argument("--steps", type=int, default=3, help="timed generations (medianed)")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    shape = SHAPES[args.workload]
    weights = [torch.randn(out, inp) for _ in range(shape["blocks"]) for (inp, out) in shape["block"]]
    weights.append(torch.randn(shape["head"][1], shape["head"][0]))
    inputs = {w.shape[1]: torch.randn(1, w.shape[1]) for w in weights}
    total = sum(w.numel() for w in weights)

    def generation():
        with torch.no_grad():
            for _ in range(NEW_TOKENS):
                for w in weights:
                    torch.nn.functional.linear(inputs[w.shape[1]], w)

    for _ in range(args.warmup):
        generation()
    times = []
    for _ in range(args.steps):
        start = time.perf_counter()
        generation()
        times.append(time.perf_counter() - start)
    med = statistics.median(times)
    print(f"INFO weights {total} ({total * 4 / 1e6:.0f} MB float32), read {NEW_TOKENS} times")
    print(f"INFO run_s {' '.join(f'{t:.4f}' for t in times)}; {total * 4 * NEW_TOKENS / med / 1e9:.1f} GB/s")
    print(f"BENCH {args.workload} backend=weights-floor threads={torch.get_num_threads()} "
          f"median_step_s={med:.4f} throughput={NEW_TOKENS / med:.1f} generated_tokens/s")


if __name__ == "__main__":
    main()
