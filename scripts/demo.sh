#!/usr/bin/env bash
# scripts/demo.sh BIN: the `make demo` walk-through.
#   1. `flare mkmodel` writes the `tiny` preset (seeded random weights, a real llama GGUF with the
#      built-in vocabulary) under build/demo/;
#   2. `flare info` prints its metadata, tensor table and derived figures;
#   3. a short generation on the CPU reference engine;
#   4. the same prompt on the sim device (the RTL qmatmul of hw/ simulated cycle by cycle in
#      Verilator behind XRT's C API, build/libflare_xrtsim.so; attention on the host), every
#      layer and token cross-checked against the CPU reference: the tokens, the launch, cycle
#      and bandwidth summary, the check table and the verdict. Where the simulator library is
#      not built (no verilator) the csim device (the HLS kernels in-process) stands in, said so;
#   5. the per-kernel cycles, bytes and port utilization of decode on the sim device
#      (`flare bench --device sim`).
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
LIB=${FLARE_XRTSIM_LIB:-$(dirname "$BIN")/libflare_xrtsim.so}
if [ -r "$LIB" ]; then
  step "4. the same on the simulated RTL (sim), checked layer by layer against the CPU reference" \
    "$BIN" run -m "$MODEL" --prompt "Once upon a time" --n-predict 24 --seed 1 --device sim --check cpu
  step "5. what the simulated kernel did per decode token: cycles, bytes, port utilization" \
    "$BIN" bench -m "$MODEL" --device sim -p 0 -n 8
else
  printf '\ndemo: %s is not built (it needs verilator: make deps, then make); using csim\n' "$LIB"
  step "4. the same on the csim accelerator, checked layer by layer against the CPU reference" \
    "$BIN" run -m "$MODEL" --prompt "Once upon a time" --n-predict 24 --seed 1 --device csim --check cpu
fi
printf '\ndemo: done (files in %s)\n' "$OUT"
