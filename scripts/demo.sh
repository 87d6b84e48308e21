#!/usr/bin/env bash
# scripts/demo.sh BIN: the `make demo` walk-through.
#   1. `flare mkmodel` writes the `tiny` preset (seeded random weights, a real llama GGUF with the
#      built-in vocabulary) under build/demo/;
#   2. `flare info` prints its metadata, tensor table and derived figures;
#   3. when this build has `flare run` (its `--help` exits 0), a short generation on it.
# Environment: FLARE_DEMO_DIR (default build/demo), FLARE_DEMO_RUN_ARGS (replaces the default
# arguments of step 3, the model path excepted).
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

if "$BIN" run --help >/dev/null 2>&1; then
  # shellcheck disable=SC2206
  ARGS=(${FLARE_DEMO_RUN_ARGS:---prompt "Once upon a time" --n-predict 24 --seed 1})
  step "3. a short generation (random weights: the text is noise; sampling seed fixed)" "$BIN" run -m "$MODEL" "${ARGS[@]}"
else
  printf '\n==== 3. generation: skipped (this build has no "flare run" yet)\n'
fi
printf '\ndemo: done (files in %s)\n' "$OUT"
