# flare top-level Makefile. Outputs go under build/ only. `make help` lists the targets.
include config.mk

BUILD    ?= build
SAN      ?=
OBJ      := $(BUILD)/obj
SHARED   ?= $(abspath ../shared)

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CFLAGS   := -std=c11 -D_GNU_SOURCE $(FLARE_OPT) $(WARN) -ffp-contract=off -fPIC \
            -Iinclude -I. -DFLARE_VERSION='"$(FLARE_VERSION)"' $(SAN) $(EXTRA_CFLAGS)
LDLIBS   := -lutf8proc -lpthread -lm -ldl
LDFLAGS  := $(SAN)

# Per-file ISA flags: kernels for an instruction set live in files named *_avx2.c / *_avx512.c
# and are only called after a cpuid check at run time.
AVX2_FLAGS   := -mavx2 -mfma -mf16c
AVX512_FLAGS := -mavx2 -mfma -mf16c -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni

LIB_SRC  := $(sort $(wildcard common/*.c ref/*.c host/*.c driver/*.c hls/*.c))
CLI_SRC  := $(sort $(wildcard host/cli/*.c))
TEST_SRC := $(sort $(wildcard tests/*/*.c))
TEST_SRC := $(filter-out tests/fuzz/%,$(TEST_SRC))
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))

LIB_OBJ  := $(LIB_SRC:%.c=$(OBJ)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(OBJ)/%.o)
TEST_OBJ := $(TEST_SRC:%.c=$(OBJ)/%.o)

LIB_A    := $(BUILD)/libflare.a
LIB_SO   := $(BUILD)/libflare.so
FLARE    := $(BUILD)/flare
TESTS    := $(BUILD)/tests/flare_tests

.PHONY: all lib cli test test-run asan fuzz demo bench install clean help deps check-criterion
all: lib cli

help:
	@echo "flare targets:"
	@echo "  make            library (build/libflare.a, .so) and CLI (build/flare)"
	@echo "  make test       install missing Debian packages, build, run every test"
	@echo "  make demo       generate a model with 'flare mkmodel' and run it"
	@echo "  make bench      benchmarks (results belong in docs/perf.md)"
	@echo "  make asan       the whole test suite under ASan + UBSan (clang)"
	@echo "  make fuzz       libFuzzer targets (FUZZ_SECONDS=60 each)"
	@echo "  make install    PREFIX=/usr/local: program, library, headers, pkg-config file"
	@echo "  make clean      remove build/"

lib: $(LIB_A) $(LIB_SO)
cli: $(FLARE)

deps:
	@scripts/deps.sh

$(OBJ)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(OBJ)/%_avx2.o: %_avx2.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(AVX2_FLAGS) -MMD -MP -c $< -o $@

$(OBJ)/%_avx512.o: %_avx512.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(AVX512_FLAGS) -MMD -MP -c $< -o $@

$(LIB_A): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(LIB_SO): $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,libflare.so.$(FLARE_VERSION) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(FLARE): $(CLI_OBJ) $(LIB_A)
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(LIB_A) $(LDLIBS)

# Tests: one Criterion binary; the tests find the CLI and ../shared/testdata through these.
$(OBJ)/tests/%.o: CFLAGS += -DFLARE_BIN='"$(abspath $(FLARE))"' \
    -DFLARE_TESTDATA='"$(SHARED)/testdata"' -DFLARE_SRCDIR='"$(CURDIR)"' \
    -DFLARE_TMPDIR='"$(abspath $(BUILD))/tmp"'

$(TESTS): $(TEST_OBJ) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(TEST_OBJ) $(LIB_A) -lcriterion $(LDLIBS)

test: deps
	@$(MAKE) --no-print-directory test-run

test-run: all $(TESTS)
	@mkdir -p $(BUILD)/tmp
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	    $(TESTS) --jobs=$(or $(JOBS),2) $(TEST_ARGS)

# The whole suite under AddressSanitizer + UndefinedBehaviorSanitizer, built with clang.
asan: deps
	@$(MAKE) --no-print-directory BUILD=build/asan CC=clang \
	    SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
	    FLARE_OPT="-O1 -g" test-run

# libFuzzer targets: build/fuzz/<name>, run for FUZZ_SECONDS each on a corpus seeded from
# tests/fuzz/corpus/<name>/ (crash inputs kept there are regression tests). The library is built
# by the normal rules (so per-file ISA flags apply) with coverage instrumentation
# (fuzzer-no-link) and sanitizers into build/fuzz/libflare.a; each target links against it.
FUZZ_SECONDS ?= 60
FUZZ_SAN   := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
fuzz: deps
	@$(MAKE) --no-print-directory BUILD=build/fuzz CC=clang FLARE_OPT="-O1 -g" \
	    SAN="-fsanitize=fuzzer-no-link $(FUZZ_SAN)" build/fuzz/libflare.a
	@for f in $(FUZZ_SRC); do \
	  n=$$(basename $$f .c); \
	  echo "== $$n"; \
	  clang -std=c11 -D_GNU_SOURCE -Iinclude -I. -ffp-contract=off -g -O1 -fsanitize=fuzzer $(FUZZ_SAN) \
	    -DFLARE_VERSION='"$(FLARE_VERSION)"' -o build/fuzz/$$n $$f build/fuzz/libflare.a $(LDLIBS) || exit 1; \
	  mkdir -p build/fuzz/$$n.corpus; \
	  seeds=tests/fuzz/corpus/$$n; \
	  ./build/fuzz/$$n -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=build/fuzz/$$n- build/fuzz/$$n.corpus $$seeds || exit 1; \
	done

demo: deps all
	@scripts/demo.sh $(FLARE)

# Benchmarks: the engine against llama.cpp's figures (scripts/bench.sh), then the matrix kernels
# alone (GB/s at T=1, GOP/s at T=128 per ISA). Results belong in docs/perf.md.
bench: all $(BUILD)/bench_kernels
	@scripts/bench.sh $(FLARE)
	@echo; echo "== matrix kernels, 1 thread (tools/bench_kernels.c)"
	@$(BUILD)/bench_kernels 1 0.3 all all

$(BUILD)/bench_kernels: tools/bench_kernels.c $(LIB_A)
	$(CC) $(CFLAGS) -o $@ $< $(LIB_A) $(LDLIBS)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include/flare
	install -m 755 $(FLARE) $(DESTDIR)$(PREFIX)/bin/flare
	install -m 644 $(LIB_A) $(DESTDIR)$(PREFIX)/lib/libflare.a
	install -m 755 $(LIB_SO) $(DESTDIR)$(PREFIX)/lib/libflare.so.$(FLARE_VERSION)
	ln -sf libflare.so.$(FLARE_VERSION) $(DESTDIR)$(PREFIX)/lib/libflare.so
	install -m 644 include/flare/*.h $(DESTDIR)$(PREFIX)/include/flare/
	install -m 644 host/gguf.h ref/quants.h $(DESTDIR)$(PREFIX)/include/flare/
	install -d $(DESTDIR)$(PREFIX)/include/flare/hls
	install -m 644 hls/config.h $(DESTDIR)$(PREFIX)/include/flare/hls/config.h
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(FLARE_VERSION)|' scripts/flare.pc.in \
	    > $(DESTDIR)$(PREFIX)/lib/pkgconfig/flare.pc

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
