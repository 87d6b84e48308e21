# config.mk: the one place for build configuration. Every value here becomes a -D flag for the
# C code (and, as the RTL lands, a Verilog parameter and part of the bitstream names).
# Override on the command line: make FLARE_OPT=-O3

FLARE_VERSION := 0.1.0

# Compiler and optimisation for the library, the CLI and the tests.
CC        ?= gcc
FLARE_OPT ?= -O2 -g

# Install prefix for `make install`.
PREFIX    ?= /usr/local
