#!/usr/bin/env bash
# scripts/bench.sh FLARE: `make bench`. Generates the benchmark models with `flare mkmodel`
# (seeded random weights; only the shapes and types matter for speed) under build/bench/, runs
# `flare bench` on each and prints the results next to llama.cpp's figures for the same shapes
# and types (llama-bench, CPU backend; pp128 with 2 threads, tg64 with 2 and 1 threads).
#
# Environment: BENCH_REPS (default 3), BENCH_MODELS (space-separated subset of the names below,
# e.g. "stories15M-q4_0 tinyllama-q8_0"), BENCH_DIR (default build/bench).
set -euo pipefail

FLARE=${1:-build/flare}
DIR=${BENCH_DIR:-build/bench}
REPS=${BENCH_REPS:-3}
mkdir -p "$DIR"

# name preset type llama.cpp: pp128 tg64(2 threads) tg64(1 thread)
TABLE="
stories15M-q4_0   stories15M  q4_0 22230 3162 2180
stories15M-q5_0   stories15M  q5_0 12926 2043 1288
stories15M-q8_0   stories15M  q8_0 14332 2354 1637
stories15M-f32    stories15M  f32  14170 727  526
stories110M-q4_0  stories110M q4_0 2312  557  325
stories110M-q5_0  stories110M q5_0 1166  282  206
stories110M-q8_0  stories110M q8_0 1402  256  222
tinyllama-q4_0    tinyllama   q4_0 231   66.3 39.3
tinyllama-q5_0    tinyllama   q5_0 114   39.0 25.5
tinyllama-q8_0    tinyllama   q8_0 146   34.6 26.3
"

# the avg_ts of one JSON line of flare bench --json for (test, threads)
field() { # file test threads
  grep "\"test\":\"$2\"" "$1" | grep "\"threads\":$3," | sed -e 's/.*"avg_ts":\([0-9.]*\).*/\1/' | head -1
}

printf "flare bench vs llama.cpp (ratio > 1: flare faster); %s, %s reps, %s\n" \
  "$(date -u +%Y-%m-%dT%H:%MZ)" "$REPS" "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //') x $(nproc)"
printf "%-18s | %19s | %19s | %19s | %s\n" model "pp128 2t (ratio)" "tg64 2t (ratio)" "tg64 1t (ratio)" "GB/s 1t"
echo "$TABLE" | while read -r name preset type pp tg2 tg1; do
  [ -z "$name" ] && continue
  if [ -n "${BENCH_MODELS:-}" ] && ! grep -qw -- "$name" <<<"$BENCH_MODELS"; then continue; fi
  f="$DIR/$name.gguf"
  if [ ! -s "$f" ]; then
    "$FLARE" mkmodel --preset "$preset" --type "$type" --seed 1 -o "$f" >/dev/null
  fi
  out="$DIR/$name.json"
  "$FLARE" bench -m "$f" -p 128 -n 64 -t 1,2 -r "$REPS" --json >"$out"
  our_pp=$(field "$out" pp128 2); our_tg2=$(field "$out" tg64 2); our_tg1=$(field "$out" tg64 1)
  gbs=$(grep '"test":"tg64"' "$out" | grep '"threads":1,' | sed -e 's/.*"gbs":\([0-9.]*\).*"mem_bw_gbs":\([0-9.]*\).*/\1 of \2/')
  awk -v n="$name" -v a="$our_pp" -v b="$pp" -v c="$our_tg2" -v d="$tg2" -v e="$our_tg1" -v f="$tg1" -v g="$gbs" \
    'BEGIN { printf "%-18s | %8.1f (%5.2fx) | %8.1f (%5.2fx) | %8.1f (%5.2fx) | %s\n", n, a, a/b, c, c/d, e, e/f, g }'
done
