#!/usr/bin/env bash
# The GPU check: one command on a CUDA machine that has PyTorch (for its libtorch) but no Rust
# and no network. Run it from the unpacked package that `just gpu-package` builds (binaries, a
# small GPT-2 and Llama base, a text, a stage-6 config; see docs/gpu-check.md):
#
#   tar -xJf retrofit-gpu-check.tar.xz && retrofit-gpu-check/gpu-check.sh --out "$OUT"
#
# It reports, into OUT/report.md (and stdout):
#   1. parity: bits per byte of the GPT-2 and the Llama base on the device against the CPU;
#   2. the stage-6 step (llama-iblocks: SmolLM2-135M's shape, random weights, 3+1 inserted
#      blocks) at a 1,024-token window, bf16 base and float32: median step time, model FLOPs,
#      MFU, peak GPU memory (NVML, this process) beside nvidia-smi's peak;
#   3. one short stage-6 run end to end (training, selection, evaluation) on the device.
# `--device cpu` runs the same steps on the CPU (a smaller window and float32 unless given), which
# is how the script is tested on a machine without a GPU.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
device=cuda
out=$PWD/gpu-check-out
context="" batch=4 steps="" precision="" peak_tflops="" python=${PYTHON:-python3}

usage() {
    cat <<EOF
usage: gpu-check.sh [--device cuda|cuda:N|cpu] [--out DIR] [--context N] [--batch N] [--steps N]
                    [--precision bf16|float32|both] [--peak-tflops X] [--python PYTHON]
defaults: cuda: --context 1024 --steps 10 --precision both; cpu: --context 64 --steps 1 --precision float32
EOF
}

while [ $# -gt 0 ]; do
    case $1 in
        --device) device=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --context) context=$2; shift 2 ;;
        --batch) batch=$2; shift 2 ;;
        --steps) steps=$2; shift 2 ;;
        --precision) precision=$2; shift 2 ;;
        --peak-tflops) peak_tflops=$2; shift 2 ;;
        --python) python=$2; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) echo "gpu-check: unknown argument $1" >&2; usage >&2; exit 2 ;;
    esac
done
on_cpu=no
[ "$device" = cpu ] && on_cpu=yes
if [ $on_cpu = yes ]; then
    context=${context:-64} steps=${steps:-1} precision=${precision:-float32}
else
    context=${context:-1024} steps=${steps:-10} precision=${precision:-both}
fi
case $precision in bf16 | float32 | both) ;; *) echo "gpu-check: --precision bf16, float32 or both" >&2; exit 2 ;; esac
for file in bin/bench bin/pretrained bin/recurrent-generator models/gpt2-bytes/config.json models/llama-tiny/config.json \
    data/alice29.txt configs/stage6.toml; do
    [ -e "$here/$file" ] || { echo "gpu-check: $here/$file is missing: run this script from the package \`just gpu-package\` builds" >&2; exit 1; }
done

# libtorch: the local PyTorch's, ahead of the build machine's path the binaries carry.
if torch_lib=$("$python" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))' 2>/dev/null); then
    export LD_LIBRARY_PATH=$torch_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    torch_version=$("$python" -c 'import torch; print(torch.__version__, "CUDA", torch.version.cuda)')
    # The binaries reach CUDA through libtorch_cuda; preload it in case the linker dropped it.
    if [ $on_cpu = no ] && [ -f "$torch_lib/libtorch_cuda.so" ]; then
        export LD_PRELOAD=$torch_lib/libtorch_cuda.so${LD_PRELOAD:+:$LD_PRELOAD}
    fi
else
    torch_lib="(none: $python cannot import torch; the binaries' own RUNPATH)"
    torch_version="unknown"
    [ $on_cpu = no ] && { echo "gpu-check: $python cannot import torch: pass --python with PyTorch's python" >&2; exit 1; }
fi

mkdir -p "$out/logs"
report=$out/report.md
work=$(mktemp -d)
smi_pid=""
cleanup() { [ -n "$smi_pid" ] && kill "$smi_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
cd "$here"
threads=$(nproc)
started=$(date +%s)

say() { echo "$*" | tee -a "$report"; }
field() { # field KEY FILE: the value of KEY=value on the last line that has it (empty if none)
    { grep -o "$1=[^ ]*" "$2" || true; } | tail -1 | cut -d= -f2
}

: > "$report"
say "# retrofit GPU check, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
say ""
say "- device: $device; $(if [ $on_cpu = yes ]; then grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //' | tr -d '\n'; echo ", flags: $(grep -o 'avx2\|avx512[a-z_0-9]*\|amx[a-z_]*' /proc/cpuinfo | sort -u | tr '\n' ' ')"; else nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | head -1; fi)"
say "- PyTorch $torch_version; libtorch from $torch_lib"
say "- binaries: $(cat "$here/BUILD" 2>/dev/null || echo 'not recorded')"
say ""

# 1. Parity: the same text's bits per byte on the CPU and on the device.
say "## 1. Parity against the CPU (bits per byte, the first 20,000 bytes of Alice)"
say ""
say "| base | cpu | $device | abs diff | within 1e-4 |"
say "|---|---:|---:|---:|---|"
head -c 20000 data/alice29.txt > "$work/parity.txt"
failed=0
for model in gpt2-bytes llama-tiny; do
    positions=$(grep -o '"\(n_positions\|max_position_embeddings\)": *[0-9]*' "models/$model/config.json" | grep -o '[0-9]*$')
    eval_context=$((positions < 256 ? positions : 256))
    bpb() { # bpb DEVICE LABEL
        local log=$out/logs/parity-$model-$2.log
        bin/pretrained eval --model "models/$model" --text "$work/parity.txt" --context $eval_context --stride $((eval_context / 2)) \
            --device "$1" --results "$work/results" --run-name "parity-$model-$2" > "$log" 2>&1
        grep -o 'bits per byte [0-9.]*' "$log" | grep -o '[0-9.]*$'
    }
    cpu=$(bpb cpu reference)
    here_bpb=$(bpb "$device" device)
    verdict=$(awk -v a="$cpu" -v b="$here_bpb" 'BEGIN { d = a - b; if (d < 0) d = -d; printf "%.2e %s", d, (d <= 1e-4 ? "yes" : "NO") }')
    [ "${verdict##* }" = yes ] || failed=1
    say "| $model | $cpu | $here_bpb | ${verdict% *} | ${verdict##* } |"
done
say ""

# 2. The stage-6 step at SmolLM2's shape.
say "## 2. Stage-6 step, llama-iblocks (SmolLM2-135M shape, random weights, 3+1 inserted blocks), batch $batch x window $context"
say ""
if [ $on_cpu = no ]; then
    gpu_name=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)
    if [ -z "$peak_tflops" ]; then
        # Dense bf16 tensor-core peaks from the vendors' data sheets (SXM parts).
        case $gpu_name in
            *H200* | *H100*) peak_tflops=989 ;;
            *A100*) peak_tflops=312 ;;
            *L40S*) peak_tflops=362 ;;
            *L4*) peak_tflops=121 ;;
            *A10*) peak_tflops=125 ;;
        esac
    fi
    nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 100 >> "$work/smi.log" 2>/dev/null &
    smi_pid=$!
fi
say "| base precision | median step s | tokens/s | model TFLOPs a step | MFU | peak GPU memory (NVML, process) | peak nvidia-smi (device, all processes) |"
say "|---|---:|---:|---:|---:|---:|---:|"
precisions=$precision
[ "$precision" = both ] && precisions="bf16 float32"
for p in $precisions; do
    log=$out/logs/step-$p.log
    flag=""
    [ "$p" = bf16 ] && flag=--bf16-base
    [ -f "$work/smi.log" ] && : > "$work/smi.log"
    bin/bench --workload llama-iblocks --device "$device" --context "$context" --batch "$batch" --steps "$steps" --warmup 2 \
        --threads "$threads" $flag > "$log" 2>&1 || { say "| $p | failed, see logs/step-$p.log | | | | | |"; continue; }
    step_s=$(field median_step_s "$log")
    throughput=$(field throughput "$log")
    flops=$(field model_flops_per_step "$log")
    nvml=$(field peak_gpu_memory_bytes "$log")
    smi=$( [ -s "$work/smi.log" ] && sort -n "$work/smi.log" | tail -1 || true)
    read -r tflops mfu < <(awk -v f="$flops" -v s="$step_s" -v peak="$peak_tflops" \
        'BEGIN { printf "%.3f %s\n", f / 1e12, (peak == "" ? "n/a" : sprintf("%.1f %%", 100 * f / s / (peak * 1e12))) }')
    say "| $p | $step_s | $throughput | $tflops | $mfu | ${nvml:+$((nvml / 1048576)) MiB}${nvml:-n/a} | ${smi:+$smi MiB}${smi:-n/a} |"
done
say ""
say "MFU = model FLOPs a step (bench's estimate: 4 FLOPs a frozen weight and token, 6 a trainable one, attention 12 x window x width a token and layer) / step time / the peak (${peak_tflops:-unknown} TFLOP/s dense bf16; float32 rows use the same peak)."
say ""

# 3. One short stage-6 run end to end.
say "## 3. A short stage-6 run end to end (configs/stage6.toml on the GPT-2 byte base, segment-state)"
say ""
run_log=$out/logs/stage6-run.log
if bin/recurrent-generator --config configs/stage6.toml --set base=models/gpt2-bytes --set model.recurrence=segment-state --device "$device" \
    --results "$work/results" --run-name gpu-check-stage6 --quiet > "$run_log" 2>&1; then
    summary=$work/results/recurrent-generator/gpu-check-stage6/summary.json
    cp "$summary" "$out/stage6-summary.json"
    "$python" - "$summary" <<'PY' 2>/dev/null | tee -a "$report" || say "finished; its summary is stage6-summary.json"
import json, sys
s = json.load(open(sys.argv[1]))
valid = s["best_metrics"]["valid_bits_per_byte"]["value"]
host, gpu = s.get("peak_memory_bytes"), s.get("peak_gpu_memory_bytes")
memory = ", ".join(f"{name} {value / 2**20:.0f} MiB" for name, value in (("host", host), ("GPU", gpu)) if value)
print(f"finished in {s['wall_time_s']:.1f} s on {s['device']}: {s['parameters']['trainable']:,} trainable parameters, "
      f"{s['epochs_trained']} epoch(s), selected epoch {s['selected_epoch']}, valid bits per byte {valid:.4f}; "
      f"peak memory: {memory or 'n/a'}")
PY
else
    say "FAILED: see logs/stage6-run.log"
    failed=1
fi
say ""
say "Total $(($(date +%s) - started)) s."
exit $failed
