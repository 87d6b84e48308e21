#!/usr/bin/env bash
# tools/bench_info_open.sh BIN [PRESET TYPE]: `flare info` on a multi-GB GGUF must not read it.
#
# Generates the model with `flare mkmodel` (default llama2-7b q4_0, about 3.8 GB) under
# build/bench/, drops it from the page cache, runs `flare info` under /usr/bin/time -v, and
# reports wall time, max RSS and how many bytes of the file became resident (mincore). Prints a
# Markdown section for docs/perf.md and deletes the model afterwards (KEEP=1 keeps it).
# Not a test: it takes minutes and gigabytes.
set -euo pipefail

[ $# -ge 1 ] || { echo "usage: tools/bench_info_open.sh PATH/TO/flare [PRESET TYPE]" >&2; exit 2; }
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
PRESET=${2:-llama2-7b}
TYPE=${3:-q4_0}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$ROOT/build/bench
MODEL=$OUT/$PRESET-$TYPE.gguf
TOOL=$OUT/bench_info_open
mkdir -p "$OUT"
cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -o "$TOOL" "$ROOT/tools/bench_info_open.c"
[ -x /usr/bin/time ] || { echo "bench: needs /usr/bin/time (Debian package 'time')" >&2; exit 1; }
cleanup() { [ "${KEEP:-0}" = 1 ] || rm -f "$MODEL"; }
trap cleanup EXIT

# GNU time -v field by label
field() { awk -v k="$1" '{ sub(/^[ \t]+/, "") } index($0, k ": ") == 1 { print substr($0, length(k) + 3) }' "$2"; }

ms_now() { date +%s%N | awk '{printf "%.1f", $1 / 1e6}'; }

if [ "${KEEP:-0}" = 1 ] && [ -f "$MODEL" ]; then
  echo "bench: reusing $MODEL (KEEP=1)" >&2
else
  echo "bench: generating $PRESET $TYPE -> $MODEL" >&2
  /usr/bin/time -v "$BIN" mkmodel --preset "$PRESET" --type "$TYPE" -o "$MODEL" 2> "$OUT/mk.time"
fi
GEN_WALL=$(field "Elapsed (wall clock) time (h:mm:ss or m:ss)" "$OUT/mk.time")
GEN_RSS=$(field "Maximum resident set size (kbytes)" "$OUT/mk.time")
GEN_CPU=$(awk -F': ' '/User time|System time/ {s += $2} END {printf "%.1f", s}' "$OUT/mk.time")

"$TOOL" evict "$MODEL"
read -r RES0 SIZE < <("$TOOL" count "$MODEL")
T0=$(ms_now)
/usr/bin/time -v "$BIN" info "$MODEL" > "$OUT/info.txt" 2> "$OUT/info.time"
T1=$(ms_now)
read -r RES1 _ < <("$TOOL" count "$MODEL")
WALL=$(awk "BEGIN {printf \"%.1f\", $T1 - $T0}")
RSS=$(field "Maximum resident set size (kbytes)" "$OUT/info.time")
MAJ=$(field "Major (requiring I/O) page faults" "$OUT/info.time")
INB=$(field "File system inputs" "$OUT/info.time")
# warm runs (the header pages now cached): the best of 5
WALL2=
for _ in 1 2 3 4 5; do
  T0=$(ms_now); "$BIN" info "$MODEL" > /dev/null; T1=$(ms_now)
  WALL2=$(awk -v a="$WALL2" -v b="$(awk "BEGIN {print $T1 - $T0}")" \
    'BEGIN {printf "%.1f", (a == "" || b < a) ? b : a}')
done
DOFF=$(sed -n 's/.*from offset \([0-9]*\).*/\1/p' "$OUT/info.txt")
NT=$(sed -n 's/.*metadata keys, \([0-9]*\) tensors.*/\1/p' "$OUT/info.txt")

CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
MEM=$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)
cat <<MD
## GGUF open time

\`flare info\` on a $PRESET $TYPE model from \`flare mkmodel\` ($SIZE bytes, $NT tensors, data
section from byte $DOFF), measured by \`tools/bench_info_open.sh\` on $(date -u +%Y-%m-%d)
($CPU, $(nproc) CPUs, $MEM, $(uname -sr)). The file was dropped from the page cache first
(posix_fadvise DONTNEED); residency is counted with mincore().

| what | value |
|---|---|
| \`flare info\` wall time (process start to exit), cold cache | $WALL ms |
| \`flare info\` wall time, warm (best of 5) | $WALL2 ms |
| \`flare info\` max RSS | $RSS KiB |
| major page faults / file-system inputs (512-byte blocks) | $MAJ / $INB |
| file bytes resident before -> after | $RES0 -> $RES1 of $SIZE ($(awk "BEGIN {printf \"%.4f\", 100 * $RES1 / $SIZE}")%) |
| header + metadata + tensor infos | $DOFF bytes |
| \`flare mkmodel\` to write it: wall, CPU, max RSS | $GEN_WALL (m:ss), $GEN_CPU s, $GEN_RSS KiB |

Reading: the open maps the file and touches only the header, metadata and tensor-info pages
(plus kernel read-ahead around them), never the tensor data; the generator streams tensors
through the writer, so its memory stays near one tensor, not the file.
MD
