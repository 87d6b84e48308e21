#!/usr/bin/env bash
# tools/cuda_device_run.sh: what issue 6 needs a GPU for, in one command on the lent GPU machine
# (docs/cuda.md, "On the H200"). Built here first, carried there:
#
#   make BUILD=build/gpu -j2 all
#   mkdir -p build/gpu/peer && cp ../shared/testdata/llamacpp/stories15M-Q8_0.{gguf,logits.f32} \
#       build/gpu/peer/
#   device run, carry ["build/gpu/bench_cuda", "build/gpu/libflare_cuda.so", "build/gpu/peer"]:
#       tools/cuda_device_run.sh check      # correctness: tiny, stories15M, tinyllama x 5 types,
#                                           # small models of head dims 12, 32, 128, 256
#       tools/cuda_device_run.sh bench      # speed: tinyllama, llama2-7b x Q4_0, Q8_0
#       tools/cuda_device_run.sh sanitize   # compute-sanitizer memcheck, racecheck, synccheck
#       tools/cuda_device_run.sh profile    # ncu: time per kernel of two TinyLlama decode steps,
#                                           # and the tiled prefill kernel's limiters
# (the machine runs Firecracker, where KINDS.md saw ncu and compute-sanitizer work; the emulator
# cannot show what these do: out-of-bounds device accesses, shared-memory races, barrier misuse,
# and where a decode step's time goes)
#
# Each step's output goes to $OUT/<step>.txt (the device tool brings $OUT back) and to stdout.
# Exit status: that of the last failing step.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
B=${BUILD:-build/gpu}
O=${OUT:-$B/out}
mkdir -p "$O"
rc=0
SHAPES=tiny:dim=96:heads=8:kv=4,tiny:dim=128:heads=4:kv=2,tiny:dim=256:heads=2:kv=1,tiny:dim=256:heads=1:kv=1

step() { # name command...
    local name=$1
    shift
    echo "== $name: $*" | tee "$O/$name.txt"
    "$@" 2>&1 | tee -a "$O/$name.txt"
    local st=${PIPESTATUS[0]}
    echo "== $name: exit $st" | tee -a "$O/$name.txt"
    [ "$st" -eq 0 ] || rc=$st
}

{ nvidia-smi -L; nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total \
    --format=csv; date -u; } >"$O/machine.txt" 2>&1
cat "$O/machine.txt"
case "${1:-all}" in
check | all)
    step check "$B/bench_cuda" --check --peer "$B/peer/stories15M-Q8_0"
    # head dims 12, 32, 128 (Llama-2-7B's), 256 and grouped-query heads in 2-layer models
    step check_shapes "$B/bench_cuda" --check --presets "$SHAPES"
    step check_no_split "$B/bench_cuda" --check --att-split 1 --presets tinyllama
    step check_no_mma "$B/bench_cuda" --check --no-mma --presets tiny,stories15M
    step check_mma_untiled "$B/bench_cuda" --check --mma-untiled --presets tiny,stories15M
    step check_no_fuse "$B/bench_cuda" --check --no-fuse --presets tiny,stories15M
    ;;&
bench | all)
    step bench_tinyllama "$B/bench_cuda" --model tinyllama
    step bench_llama2 "$B/bench_cuda" --model llama2-7b --decode 64
    step bench_tinyllama_no_mma "$B/bench_cuda" --model tinyllama --no-mma --decode 16
    # prefill on the first tensor-core kernel: what the shared-memory tiles gain
    step bench_mma_untiled "$B/bench_cuda" --mma-untiled --decode 16
    # decode at position ~4000: attention split over positions (flash-decoding) and not
    step bench_long_context "$B/bench_cuda" --model tinyllama --type q4_0 --decode-at 4000 \
        --decode 64
    step bench_long_context_no_split "$B/bench_cuda" --model tinyllama --type q4_0 \
        --decode-at 4000 --decode 64 --att-split 1
    # decode with one launch a step: what the fused steps save (prefill is the same path)
    step bench_no_fuse "$B/bench_cuda" --no-fuse --prefill 64
    ;;
sanitize)
    for tool in memcheck racecheck synccheck; do
        step "sanitize_$tool" compute-sanitizer --tool "$tool" --error-exitcode 3 \
            "$B/bench_cuda" --check --presets "tiny,stories15M,tiny:dim=256:heads=2:kv=1" \
            --long 100
    done
    ;;
profile)
    # skip the load (45 launches) and the first forwards; 226 launches = 2 decode steps of 113
    step profile_decode ncu --clock-control none --print-summary per-kernel \
        --launch-skip 700 --launch-count 226 \
        "$B/bench_cuda" --model tinyllama --type q4_0 --decode 16 --prefill 16
    # the prefill products: the tiled tensor-core kernel's first 8 launches of a 512-token prompt
    step profile_prefill ncu --clock-control none --kernel-name regex:mmq_tile --launch-count 8 \
        --section SpeedOfLight --section ComputeWorkloadAnalysis --section MemoryWorkloadAnalysis \
        --section Occupancy --section WarpStateStats \
        "$B/bench_cuda" --model tinyllama --type q4_0 --decode 1 --prefill 512
    ;;
check) ;;
*)
    echo "usage: $0 [check|bench|all|sanitize|profile]" >&2
    exit 2
    ;;
esac
exit "$rc"
