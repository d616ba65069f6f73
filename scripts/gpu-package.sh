#!/usr/bin/env bash
# Assembles the GPU check's package (see scripts/gpu-check.sh and docs/gpu-check.md) from built
# binaries and a small byte-level GPT-2 base:
#
#   scripts/gpu-package.sh BIN_DIR GPT2_BASE_DIR OUT_DIR [TARBALL]
#
# OUT_DIR/ gets gpu-check.sh, bin/ (bench, pretrained, recurrent-generator, stripped), models/
# (the GPT-2 base, the tiny Llama test fixture), data/alice29.txt, configs/stage6.toml and BUILD
# (commit and libtorch it was built against). With TARBALL, also an xz tarball of it (the
# device machine takes at most 64 MiB).
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: scripts/gpu-package.sh BIN_DIR GPT2_BASE_DIR OUT_DIR [TARBALL]" >&2; exit 2; }
bin_dir=$1 gpt2_base=$2 out=$3 tarball=${4:-}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
for binary in bench pretrained recurrent-generator; do
    [ -x "$bin_dir/$binary" ] || { echo "gpu-package: $bin_dir/$binary is missing: build it first" >&2; exit 1; }
done
[ -f "$gpt2_base/config.json" ] || { echo "gpu-package: $gpt2_base has no config.json (a generator run's model/ directory)" >&2; exit 1; }

rm -rf "$out"
mkdir -p "$out/bin" "$out/models" "$out/data" "$out/configs"
for binary in bench pretrained recurrent-generator; do
    cp "$bin_dir/$binary" "$out/bin/"
    strip "$out/bin/$binary" 2>/dev/null || true
done
cp -r "$gpt2_base" "$out/models/gpt2-bytes"
cp -r "$repo/crates/core/tests/fixtures/llama-tiny/tied" "$out/models/llama-tiny"
rm -f "$out/models/llama-tiny/expected.json"
cp "$repo/data/alice29.txt" "$out/data/"
cp "$repo/configs/smoke/recurrent-generator.toml" "$out/configs/stage6.toml"
cp "$repo/scripts/gpu-check.sh" "$out/"
libtorch=$(ldd "$out/bin/bench" 2>/dev/null | awk '/libtorch_cpu/ { print $3 }')
echo "commit $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown), built $(date -u +%Y-%m-%d) against ${libtorch:-unknown libtorch}" > "$out/BUILD"
if [ -n "$tarball" ]; then
    mkdir -p "$(dirname "$tarball")"
    tar -C "$(dirname "$out")" -cJf "$tarball" "$(basename "$out")"
    echo "gpu-package: $tarball ($(du -h "$tarball" | cut -f1))"
fi
