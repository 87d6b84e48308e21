#!/usr/bin/env bash
# scripts/deps.sh: make sure the Debian packages flare needs are installed.
# As root: runs `apt-get update` once and installs what is missing. Otherwise: prints the exact
# command to run and fails. `make test` and `make demo` call this first.
set -euo pipefail

PKGS=(
  gcc make pkg-config              # the build
  libcriterion-dev                 # the C test framework
  libjansson-dev                   # the tests: a strict JSON parser for the --json reports
  libutf8proc-dev                  # Unicode categories for the BPE pre-tokenizer
  clang libclang-rt-14-dev         # make asan / make fuzz (ASan, UBSan, libFuzzer runtimes)
  verilator                        # make sim / test-hw: the RTL testbenches (hw/, sim/)
  zlib1g-dev g++                   # libflare_xrtsim.so: Verilator's FST trace writer, the C++ side
  libboost-context-dev             # libflare_cuda_emu.so: CUDA threads as fibers (ref/cuda/emu.cpp)
  libtsan2                         # make racecheck: g++'s ThreadSanitizer runtime
)

missing=()
for p in "${PKGS[@]}"; do
  if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "flare: missing Debian packages: ${missing[*]}" >&2
  echo "flare: run as root:  apt-get update && $cmd" >&2
  exit 1
fi
echo "flare: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
