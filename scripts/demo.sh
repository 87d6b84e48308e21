#!/usr/bin/env bash
# scripts/demo.sh BIN: the `make demo` walk-through.
#   1. `flare mkmodel` writes the `tiny` preset (seeded random weights, a real llama GGUF with the
#      built-in vocabulary) under build/demo/;
#   2. `flare info` prints its metadata, tensor table and derived figures;
#   3. a short generation on the CPU reference engine;
#   4. the same prompt on the csim device (the HLS kernels through the device API and the layer
#      scheduler), every layer and token cross-checked against the CPU reference: the check
#      table, the launch and transfer counts, and the verdict.
# Environment: FLARE_DEMO_DIR (default build/demo).
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: scripts/demo.sh PATH/TO/flare" >&2
  exit 2
fi
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${FLARE_DEMO_DIR:-$ROOT/build/demo}
MODEL=$OUT/tiny-q8_0.gguf
[ -x "$BIN" ] || { echo "demo: $BIN is not an executable (run 'make' first)" >&2; exit 1; }
mkdir -p "$OUT"

step() { printf '\n==== %s\n$' "$1"; printf ' %q' "${@:2}"; printf '\n'; "${@:2}"; }

step "1. a tiny llama model with seeded random weights" \
  "$BIN" mkmodel --preset tiny --type q8_0 --seed 1 -o "$MODEL"
step "2. what is in it" "$BIN" info "$MODEL"

step "3. a short generation on the CPU reference engine (random weights: the text is noise)" \
  "$BIN" run -m "$MODEL" --prompt "Once upon a time" --n-predict 24 --seed 1
step "4. the same on the csim accelerator, checked layer by layer against the CPU reference" \
  "$BIN" run -m "$MODEL" --prompt "Once upon a time" --n-predict 24 --seed 1 --device csim --check cpu
printf '\ndemo: done (files in %s)\n' "$OUT"
