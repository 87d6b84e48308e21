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

.PHONY: all lib cli test test-run asan racecheck fuzz demo bench install clean help deps check-criterion \
        sim test-hw lint-hw check-verilator
all: lib cli

help:
	@echo "flare targets:"
	@echo "  make            library (build/libflare.a, .so) and CLI (build/flare)"
	@echo "  make test       install missing Debian packages, build, run every test"
	@echo "  make demo       generate a model with 'flare mkmodel' and run it"
	@echo "  make bench      benchmarks (results belong in docs/perf.md)"
	@echo "  make asan       the whole test suite under ASan + UBSan (clang)"
	@echo "  make racecheck  the CUDA kernels' data races: the emulator under ThreadSanitizer"
	@echo "  make sim        Verilator models of hw/ with their testbenches (build/sim/)"
	@echo "  make test-hw    lint hw/, check the generated registers, run the RTL testbenches"
	@echo "  make xrtsim     build/libflare_xrtsim.so: the RTL behind the XRT C API (bench-xrtsim)"
	@echo "  make lint       verilator -Wall (and yosys) on every hw/ file (= lint-hw)"
	@echo "  make cuda       build/libflare_cuda.so, the CUDA engine (needs nvcc)"
	@echo "  make cuda-emu   build/libflare_cuda_emu.so, the CUDA engine on the CPU emulator"
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
	$(CC) $(LDFLAGS) -o $@ $(TEST_OBJ) $(LIB_A) -lcriterion -ljansson $(LDLIBS)

test: deps
	@$(MAKE) --no-print-directory test-run

test-run: all $(TESTS)
	@mkdir -p $(BUILD)/tmp
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	    $(TESTS) --jobs=$(or $(JOBS),2) $(TEST_ARGS)
	$(if $(SAN),,@$(MAKE) --no-print-directory test-hw)

# The whole suite under AddressSanitizer + UndefinedBehaviorSanitizer, built with clang.
asan: deps
	@$(MAKE) --no-print-directory BUILD=build/asan CC=clang \
	    SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
	    FLARE_OPT="-O1 -g" test-run

# The CUDA kernels' data races, on the emulator under ThreadSanitizer (g++'s, whose runtime has
# room for a block's fibers: ref/cuda/emu.cpp makes every CUDA thread a TSan fiber). bench_cuda's
# GPU check on shapes that take every attention path (head dims 16, 12, 32, 64, 128, 256; GQA),
# every weight type, long prompts over several tiles and decode split over 4 blocks a head,
# with 4 host threads so blocks of a launch interleave. Any report fails it (docs/cuda.md).
RACECHECK_PRESETS := tiny,tiny:dim=96:heads=8:kv=4,tiny:dim=128:heads=4:kv=2
RACECHECK_PRESETS := $(RACECHECK_PRESETS),tiny:dim=128:heads=2:kv=1,tiny:dim=256:heads=2:kv=1
RACECHECK_PRESETS := $(RACECHECK_PRESETS),tiny:dim=256:heads=1:kv=1
.PHONY: racecheck
racecheck: deps
	@$(MAKE) --no-print-directory BUILD=build/tsan CC=gcc SAN=-fsanitize=thread \
	    build/tsan/bench_cuda build/tsan/libflare_cuda_emu.so
	FLCU_EMU_THREADS=4 TSAN_OPTIONS="halt_on_error=1 exitcode=66" \
	    FLARE_CUDA_LIB=build/tsan/libflare_cuda_emu.so build/tsan/bench_cuda --check \
	    --presets $(RACECHECK_PRESETS) --long 300 --att-split 4

# libFuzzer targets: build/fuzz/<name>, run for FUZZ_SECONDS each on a corpus seeded from
# tests/fuzz/corpus/<name>/ (crash inputs kept there are regression tests) and, where a rule
# below writes them, build/fuzz/seeds/<name>/. The library is built by the normal rules (so
# per-file ISA flags apply) with coverage instrumentation (fuzzer-no-link) and sanitizers into
# build/fuzz/libflare.a; each target links against it.
FUZZ_SECONDS ?= 60
FUZZ_SAN   := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
fuzz: deps
	@$(MAKE) --no-print-directory build/fuzz/seeds/fuzz_model
	@$(MAKE) --no-print-directory BUILD=build/fuzz CC=clang FLARE_OPT="-O1 -g" \
	    SAN="-fsanitize=fuzzer-no-link $(FUZZ_SAN)" build/fuzz/libflare.a
	@for f in $(FUZZ_SRC); do \
	  n=$$(basename $$f .c); \
	  echo "== $$n"; \
	  clang -std=c11 -D_GNU_SOURCE -Iinclude -I. -ffp-contract=off -g -O1 -fsanitize=fuzzer $(FUZZ_SAN) \
	    -DFLARE_VERSION='"$(FLARE_VERSION)"' -o build/fuzz/$$n $$f build/fuzz/libflare.a $(LDLIBS) \
	    -ljansson || exit 1; \
	  mkdir -p build/fuzz/$$n.corpus; \
	  seeds=$$(ls -d tests/fuzz/corpus/$$n build/fuzz/seeds/$$n 2>/dev/null); \
	  ./build/fuzz/$$n -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=build/fuzz/$$n- build/fuzz/$$n.corpus $$seeds || exit 1; \
	done

# fuzz_model's seeds: the smallest models mkmodel writes (one layer, dim 32, grouped-query
# heads, the built-in vocabulary), one per weight type; tensor bytes do not matter to it.
build/fuzz/seeds/fuzz_model: $(FLARE)
	@mkdir -p $@
	@for t in f32 f16 q8_0 q5_0 q4_0; do \
	  $(FLARE) mkmodel --dim 32 --ffn 32 --layers 1 --heads 2 --kv-heads 1 --vocab-size 648 \
	    --ctx 16 --type $$t -o $@/micro_$$t.gguf >/dev/null || exit 1; \
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

# ---- RTL (hw/) and its Verilator testbenches (sim/) ----
# `make sim` builds one Verilator model per unit under $(BUILD)/sim/<unit>/Vtb (C++ at -O1 to
# keep the compiles short); `make test-hw` lints every hw/ file (verilator -Wall, module name =
# file name), checks hw/generated/qmatmul_regs.vh against sim/gen_regs.c, and runs each model;
# each prints "N passed, M failed". `make test` runs it after the Criterion suite (not under SAN).
SIM       := $(BUILD)/sim
VERILATOR ?= verilator
HW_SRC    := $(sort $(wildcard hw/*.v hw/fp/*.v))
HW_INC    := -Ihw -Ihw/fp -Ihw/generated
HW_REGS   := hw/generated/qmatmul_regs.vh
HW_VH     := $(wildcard hw/*.vh hw/fp/*.vh)  # functions `include'd by the hw/ modules
FP_CORE   := hw/fp/fp32_round_pack.v hw/fp/fp_pipe.v
VL_BUILD   = $(VERILATOR) --cc --exe --build -O1 -MAKEFLAGS OPT_FAST=-O1 $(HW_INC) \
             -CFLAGS "-O1 -ffp-contract=off -I$(CURDIR)/include -I$(CURDIR) -I$(CURDIR)/sim $(1)" \
             -Mdir $(SIM)/$(or $(3),$(2)) --top-module $(2) -o Vtb
SIM_MODELS := $(SIM)/fp32_add/Vtb $(SIM)/fp32_mul/Vtb $(SIM)/int32_to_fp32/Vtb \
              $(SIM)/fp16_to_fp32/Vtb $(SIM)/qmatmul_ctrl/Vtb $(SIM)/tb_qblock_top/Vtb \
              $(SIM)/lanesum_lat8/Vtb $(SIM)/lanesum_lat2/Vtb $(SIM)/fp32_div/Vtb $(SIM)/fp32_sqrt/Vtb \
              $(SIM)/fp32_to_fp16/Vtb $(SIM)/fp32_exp/Vtb $(SIM)/q8_quant32/Vtb \
              $(SIM)/lanesumw_w2_lat4/Vtb $(SIM)/lanesumw_w4_lat2/Vtb \
              $(SIM)/axi_mem/Vtb $(SIM)/axi_rd_w512/Vtb $(SIM)/axi_rd_w64/Vtb \
              $(SIM)/axi_rdq_w512/Vtb $(SIM)/axi_rdq_w64/Vtb \
              $(SIM)/qmatmul_w512/Vtb $(SIM)/qmatmul_w64/Vtb $(SIM)/qmatmul_rtl/Vtb \
              $(SIM)/qmm_xprep_w512/Vtb $(SIM)/qmm_xprep_w64/Vtb \
              $(SIM)/qmm_epi_w512/Vtb $(SIM)/qmm_epi_w64/Vtb $(SIM)/fp32_div_pipe/Vtb

sim: $(SIM_MODELS)
$(SIM_MODELS): $(HW_VH)

check-verilator:
	@command -v $(VERILATOR) >/dev/null || { echo "flare: $(VERILATOR) not found: \
	    'make deps' (scripts/deps.sh) or 'apt-get install verilator' installs it"; exit 1; }
$(SIM_MODELS): | check-verilator

$(SIM)/gen_regs: sim/gen_regs.c include/flare/kernels.h include/flare/ggml.h hls/config.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $<

# The generated register map is committed; make rewrites it when the headers change.
# (Replaced atomically, and only when its text changes.)
$(HW_REGS): $(SIM)/gen_regs
	@$(SIM)/gen_regs $(SIM)/qmatmul_regs.vh && { cmp -s $(SIM)/qmatmul_regs.vh $@ || { \
	    echo "regenerated $@"; cp $(SIM)/qmatmul_regs.vh $@.tmp.$$$$ && mv $@.tmp.$$$$ $@; }; }

$(SIM)/fp32_add/Vtb: hw/fp/fp32_add.v $(FP_CORE) sim/tb_fp32_binop.cpp sim/tb_common.h
	$(call VL_BUILD,-DTB_ADD -DTB_LATENCY=2,fp32_add) -GLATENCY=2 $(filter %.v,$^) \
	    $(CURDIR)/sim/tb_fp32_binop.cpp >$(SIM)/fp32_add.log 2>&1 || { cat $(SIM)/fp32_add.log; exit 1; }

$(SIM)/fp32_mul/Vtb: hw/fp/fp32_mul.v $(FP_CORE) sim/tb_fp32_binop.cpp sim/tb_common.h
	$(call VL_BUILD,-DTB_MUL -DTB_LATENCY=2,fp32_mul) -GLATENCY=2 $(filter %.v,$^) \
	    $(CURDIR)/sim/tb_fp32_binop.cpp >$(SIM)/fp32_mul.log 2>&1 || { cat $(SIM)/fp32_mul.log; exit 1; }

$(SIM)/int32_to_fp32/Vtb: hw/fp/int32_to_fp32.v $(FP_CORE) sim/tb_int32_to_fp32.cpp sim/tb_common.h
	$(call VL_BUILD,-DTB_LATENCY=1,int32_to_fp32) -GLATENCY=1 $(filter %.v,$^) \
	    $(CURDIR)/sim/tb_int32_to_fp32.cpp >$(SIM)/int32_to_fp32.log 2>&1 || { cat $(SIM)/int32_to_fp32.log; exit 1; }

$(SIM)/fp16_to_fp32/Vtb: hw/fp/fp16_to_fp32.v hw/fp/fp_pipe.v sim/tb_fp16_to_fp32.cpp sim/tb_common.h include/flare/fp16.h
	$(call VL_BUILD,-DTB_LATENCY=1,fp16_to_fp32) -GLATENCY=1 $(filter %.v,$^) \
	    $(CURDIR)/sim/tb_fp16_to_fp32.cpp >$(SIM)/fp16_to_fp32.log 2>&1 || { cat $(SIM)/fp16_to_fp32.log; exit 1; }

$(SIM)/qmatmul_ctrl/Vtb: hw/qmatmul_ctrl.v hw/axil_ctrl.v $(HW_REGS) sim/tb_axil.cpp sim/tb_common.h include/flare/kernels.h
	$(call VL_BUILD,,qmatmul_ctrl) $(filter %.v,$^) \
	    $(CURDIR)/sim/tb_axil.cpp >$(SIM)/qmatmul_ctrl.log 2>&1 || { cat $(SIM)/qmatmul_ctrl.log; exit 1; }

$(SIM)/tb_qblock_top/Vtb: sim/tb_qblock_top.v hw/qblock_decode.v hw/q8_mac32.v hw/qblock_dot.v \
    hw/fp/int32_to_fp32.v hw/fp/fp16_to_fp32.v hw/fp/fp32_mul.v $(FP_CORE) $(HW_REGS) \
    sim/tb_qblock.cpp sim/tb_common.h include/flare/fp16.h include/flare/ggml.h
	$(call VL_BUILD,-DTB_LATENCY=5,tb_qblock_top) -GLAT_A=3 -GLAT_B=2 \
	    $(filter %.v,$^) $(CURDIR)/sim/tb_qblock.cpp >$(SIM)/tb_qblock_top.log 2>&1 || { cat $(SIM)/tb_qblock_top.log; exit 1; }

$(SIM)/fp32_div/Vtb: hw/fp/fp32_div.v hw/fp/fp32_round_pack.v sim/tb_fp32_div.cpp sim/tb_common.h
	$(call VL_BUILD,,fp32_div) $(filter %.v,$^) \
	    $(CURDIR)/sim/tb_fp32_div.cpp >$(SIM)/fp32_div.log 2>&1 || { cat $(SIM)/fp32_div.log; exit 1; }

$(SIM)/fp32_sqrt/Vtb: hw/fp/fp32_sqrt.v hw/fp/fp32_round_pack.v sim/tb_fp32_sqrt.cpp sim/tb_common.h
	$(call VL_BUILD,,fp32_sqrt) $(filter %.v,$^) \
	    $(CURDIR)/sim/tb_fp32_sqrt.cpp >$(SIM)/fp32_sqrt.log 2>&1 || { cat $(SIM)/fp32_sqrt.log; exit 1; }

$(SIM)/fp32_to_fp16/Vtb: hw/fp/fp32_to_fp16.v hw/fp/fp_pipe.v sim/tb_fp32_to_fp16.cpp sim/tb_common.h include/flare/fp16.h
	$(call VL_BUILD,-DTB_LATENCY=1,fp32_to_fp16) -GLATENCY=1 $(filter %.v,$^) \
	    $(CURDIR)/sim/tb_fp32_to_fp16.cpp >$(SIM)/fp32_to_fp16.log 2>&1 || { cat $(SIM)/fp32_to_fp16.log; exit 1; }

$(SIM)/fp32_exp/Vtb: hw/fp/fp32_exp.v hw/fp/fp_pipe.v sim/tb_fp32_exp.cpp sim/tb_common.h hls/numerics.h
	$(call VL_BUILD,-DTB_LATENCY=4,fp32_exp) -GLATENCY=4 $(filter %.v,$^) \
	    $(CURDIR)/sim/tb_fp32_exp.cpp >$(SIM)/fp32_exp.log 2>&1 || { cat $(SIM)/fp32_exp.log; exit 1; }

$(SIM)/q8_quant32/Vtb: hw/q8_quant32.v hw/q8_rne_clamp.v hw/fp/fp32_div.v hw/fp/fp32_mul.v \
    hw/fp/fp32_to_fp16.v $(FP_CORE) sim/tb_q8_quant.cpp sim/tb_common.h hls/numerics.h
	$(call VL_BUILD,,q8_quant32) $(filter %.v,$^) \
	    $(CURDIR)/sim/tb_q8_quant.cpp >$(SIM)/q8_quant32.log 2>&1 || { cat $(SIM)/q8_quant32.log; exit 1; }

# The 8-lane sum at the longest adder latency it allows (forwarding every cycle) and a short one.
LANESUM_SRC := hw/fp/fp32_lanesum.v hw/fp/fp32_tree8.v hw/fp/fp32_add.v $(FP_CORE) \
               sim/tb_lanesum.cpp sim/tb_common.h hls/numerics.h
$(SIM)/lanesum_lat%/Vtb: $(LANESUM_SRC)
	$(call VL_BUILD,,fp32_lanesum,lanesum_lat$*) -GADD_LAT=$* $(filter %.v,$^) \
	    $(CURDIR)/sim/tb_lanesum.cpp >$(SIM)/lanesum_lat$*.log 2>&1 || { cat $(SIM)/lanesum_lat$*.log; exit 1; }

# The 8-lane sum taking 2 or 4 terms per cycle, each at its longest adder latency (8 / ways).
LANESUMW_SRC := hw/fp/fp32_lanesumw.v hw/fp/fp32_tree8.v hw/fp/fp32_add.v $(FP_CORE) \
                sim/tb_lanesumw.cpp sim/tb_common.h hls/numerics.h
$(SIM)/lanesumw_w2_lat4/Vtb $(SIM)/lanesumw_w4_lat2/Vtb: $(SIM)/lanesumw_w%/Vtb: $(LANESUMW_SRC)
	@mkdir -p $(SIM)
	$(call VL_BUILD,-DTB_WAYS=$(word 1,$(subst _lat, ,$*)),fp32_lanesumw,lanesumw_w$*) \
	    -GWAYS=$(word 1,$(subst _lat, ,$*)) -GADD_LAT=$(word 2,$(subst _lat, ,$*)) $(filter %.v,$^) \
	    $(CURDIR)/sim/tb_lanesumw.cpp >$(SIM)/lanesumw_w$*.log 2>&1 || { cat $(SIM)/lanesumw_w$*.log; exit 1; }

# The AXI4 memory model's self-test (plain C++), then the read-master stream against the model
# at two data widths: 512 bits (64-beat bursts, 4 outstanding), 64 bits (256-beat bursts, 2).
AXI_MEM_SRC := sim/axi_mem.cpp sim/axi_mem.h sim/tb_common.h
$(SIM)/axi_mem/Vtb: sim/tb_axi_mem.cpp $(AXI_MEM_SRC)
	@mkdir -p $(dir $@)
	$(CXX) -std=c++14 -O1 -Wall -Wextra -Werror -Isim -o $@ sim/tb_axi_mem.cpp sim/axi_mem.cpp
AXI_RD_SRC  := hw/axi_rd_stream.v sim/tb_axi_rd.cpp $(AXI_MEM_SRC)
AXI_RD_512  := 512 64 4 8
AXI_RD_64   := 64 256 2 9
$(SIM)/axi_rd_w%/Vtb: $(AXI_RD_SRC)
	@mkdir -p $(SIM)
	$(call VL_BUILD,-DTB_DATA_W=$(word 1,$(AXI_RD_$*)) -DTB_MAX_OUT=$(word 3,$(AXI_RD_$*)),axi_rd_stream,axi_rd_w$*) \
	    -GDATA_W=$(word 1,$(AXI_RD_$*)) -GMAX_BURST=$(word 2,$(AXI_RD_$*)) -GMAX_OUT=$(word 3,$(AXI_RD_$*)) \
	    -GFIFO_LOG2=$(word 4,$(AXI_RD_$*)) hw/axi_rd_stream.v $(CURDIR)/sim/tb_axi_rd.cpp $(CURDIR)/sim/axi_mem.cpp \
	    >$(SIM)/axi_rd_w$*.log 2>&1 || { cat $(SIM)/axi_rd_w$*.log; exit 1; }
# The queued two-beat read master of the qmatmul weight streams (hw/axi_rd_queue.v), the
# same testbench with -DTB_QUEUE, at the two widths with the kernel's FIFO depth (2^9 beats).
AXI_RDQ_SRC := hw/axi_rd_queue.v sim/tb_axi_rd.cpp $(AXI_MEM_SRC)
AXI_RDQ_512 := 512 64 4 9
AXI_RDQ_64  := 64 256 2 9
$(SIM)/axi_rdq_w%/Vtb: $(AXI_RDQ_SRC)
	@mkdir -p $(SIM)
	$(call VL_BUILD,-DTB_QUEUE -DTB_DATA_W=$(word 1,$(AXI_RDQ_$*)) -DTB_MAX_OUT=$(word 3,$(AXI_RDQ_$*)),axi_rd_queue,axi_rdq_w$*) \
	    -GDATA_W=$(word 1,$(AXI_RDQ_$*)) -GMAX_BURST=$(word 2,$(AXI_RDQ_$*)) -GMAX_OUT=$(word 3,$(AXI_RDQ_$*)) \
	    -GFIFO_LOG2=$(word 4,$(AXI_RDQ_$*)) hw/axi_rd_queue.v $(CURDIR)/sim/tb_axi_rd.cpp $(CURDIR)/sim/axi_mem.cpp \
	    >$(SIM)/axi_rdq_w$*.log 2>&1 || { cat $(SIM)/axi_rdq_w$*.log; exit 1; }

# The qmatmul datapath (hw/qmatmul_core.v with the prologue hw/qmm_*.v) on six AXI4 ports of
# the memory model, against fl_qmatmul (hls/qmatmul.c, hls/native.c and common/error.c compiled
# as for the library, linked in), at 512 bits (WAYS 8) and 64 bits (WAYS 4, so both lane-slot
# layouts are tested). QMM_HW: every file the datapath may use
# (verilator elaborates only what the top instantiates).
QMM_HW     := hw/qmatmul_core.v $(sort $(wildcard hw/qmm_*.v)) hw/axi_rd_stream.v hw/axi_rd_queue.v \
              hw/axi_wr_words.v hw/q8_quant32.v hw/q8_rne_clamp.v hw/qblock_decode.v \
              hw/qblock_dot.v hw/q8_mac32.v $(sort $(wildcard hw/fp/*.v))
QMM_C      := $(OBJ)/hls/qmatmul.o $(OBJ)/hls/native.o $(OBJ)/common/error.o
$(SIM)/qmatmul_w%/Vtb: $(QMM_HW) $(HW_REGS) sim/tb_qmatmul.cpp sim/tb_qmatmul_host.h sim/tb_qmatmul_perf.h $(AXI_MEM_SRC) $(QMM_C)
	@mkdir -p $(SIM)
	$(call VL_BUILD,-DTB_DATA_W=$*,qmatmul_core,qmatmul_w$*) -GDATA_W=$* $(if $(filter 64,$*),-GWAYS=4) $(QMM_HW) \
	    $(CURDIR)/sim/tb_qmatmul.cpp $(CURDIR)/sim/axi_mem.cpp $(abspath $(QMM_C)) \
	    >$(SIM)/qmatmul_w$*.log 2>&1 || { cat $(SIM)/qmatmul_w$*.log; exit 1; }

# The same against the kernel top (register file + datapath), driven through s_axi_control.
$(SIM)/qmatmul_rtl/Vtb: hw/qmatmul_rtl.v hw/qmatmul_ctrl.v hw/axil_ctrl.v $(QMM_HW) $(HW_REGS) \
    sim/tb_qmatmul.cpp sim/tb_qmatmul_host.h sim/tb_qmatmul_perf.h $(AXI_MEM_SRC) $(QMM_C) include/flare/kernels.h
	@mkdir -p $(SIM)
	$(call VL_BUILD,-DTB_DATA_W=512 -DTB_KERNEL_TOP,qmatmul_rtl) hw/qmatmul_rtl.v hw/qmatmul_ctrl.v \
	    hw/axil_ctrl.v $(QMM_HW) $(CURDIR)/sim/tb_qmatmul.cpp $(CURDIR)/sim/axi_mem.cpp \
	    $(abspath $(QMM_C)) >$(SIM)/qmatmul_rtl.log 2>&1 || { cat $(SIM)/qmatmul_rtl.log; exit 1; }

# The qmatmul prologue (x rows -> optional RMSNorm -> Q8_0 blocks) on its two AXI4 read ports,
# against fl_qmm_quantize_rows (hls/qmatmul.c): at 512 bits with the defaults, at 64 bits with
# 2-cycle lane adders and 4 quantizer slots.
QMM_XPREP_G64 := -GSS_LAT=2 -GN_QUANT=4
QMM_XPREP_HW := hw/qmm_xprep.v hw/qmm_q8pool.v hw/qmm_wgear.v hw/axi_rd_stream.v hw/q8_rne_clamp.v \
                hw/fp/fp32_div.v hw/fp/fp32_sqrt.v hw/fp/fp32_mul.v hw/fp/fp32_add.v \
                hw/fp/fp32_tree8.v hw/fp/fp32_to_fp16.v hw/fp/int32_to_fp32.v $(FP_CORE)
QMM_XPREP_C  := $(OBJ)/hls/qmatmul.o $(OBJ)/hls/native.o $(OBJ)/common/error.o
$(SIM)/qmm_xprep_w%/Vtb: $(QMM_XPREP_HW) sim/tb_qmm_xprep.cpp $(AXI_MEM_SRC) $(QMM_XPREP_C)
	@mkdir -p $(SIM)
	$(call VL_BUILD,-DTB_DATA_W=$*,qmm_xprep,qmm_xprep_w$*) -GDATA_W=$* $(QMM_XPREP_G$*) $(QMM_XPREP_HW) \
	    $(CURDIR)/sim/tb_qmm_xprep.cpp $(CURDIR)/sim/axi_mem.cpp $(abspath $(QMM_XPREP_C)) \
	    >$(SIM)/qmm_xprep_w$*.log 2>&1 || { cat $(SIM)/qmm_xprep_w$*.log; exit 1; }

# The pipelined divider (one division a cycle, for SiLU in qmm_epi), latency 29.
$(SIM)/fp32_div_pipe/Vtb: hw/fp/fp32_div_pipe.v hw/fp/fp32_round_pack.v sim/tb_fp32_div_pipe.cpp sim/tb_common.h
	@mkdir -p $(SIM)
	$(call VL_BUILD,-DTB_LATENCY=29,fp32_div_pipe) $(filter %.v,$^) \
	    $(CURDIR)/sim/tb_fp32_div_pipe.cpp >$(SIM)/fp32_div_pipe.log 2>&1 || { cat $(SIM)/fp32_div_pipe.log; exit 1; }

# The qmatmul epilogue and y writer (hw/qmm_epi.v) on two AXI4 ports of the memory model (r read,
# y write), against mm_epilogue's arithmetic from hls/numerics.h, at 512 and 64 bits.
QMM_EPI_HW := hw/qmm_epi.v hw/qmm_epi_walk.v hw/fp/fp32_div_pipe.v hw/fp/fp32_exp.v \
              hw/fp/fp32_add.v hw/fp/fp32_mul.v $(FP_CORE)
$(SIM)/qmm_epi_w%/Vtb: $(QMM_EPI_HW) sim/tb_qmm_epi.cpp $(AXI_MEM_SRC) hls/numerics.h
	@mkdir -p $(SIM)
	$(call VL_BUILD,-DTB_DATA_W=$*,qmm_epi,qmm_epi_w$*) -GDATA_W=$* $(QMM_EPI_HW) \
	    $(CURDIR)/sim/tb_qmm_epi.cpp $(CURDIR)/sim/axi_mem.cpp \
	    >$(SIM)/qmm_epi_w$*.log 2>&1 || { cat $(SIM)/qmm_epi_w$*.log; exit 1; }

# Lint: every hw/ file as a top (verilator -Wall); where yosys is installed, also its parser and
# `check` on every top (yosys is optional: not in scripts/deps.sh).
lint-hw: $(HW_REGS) | check-verilator
	@for f in $(HW_SRC); do \
	  $(VERILATOR) --lint-only -Wall $(HW_INC) --top-module $$(basename $$f .v) $(HW_SRC) \
	    || { echo "lint-hw: $$f is not verilator -Wall clean"; exit 1; }; \
	done; echo "lint-hw: $(words $(HW_SRC)) files clean (verilator --lint-only -Wall)"
	@if command -v yosys >/dev/null; then \
	  for f in $(HW_SRC); do \
	    yosys -q -p "read_verilog $(HW_INC) $(HW_SRC); hierarchy -check -top $$(basename $$f .v); \
	      proc; opt -fast; check -assert" || { echo "lint-hw: yosys rejects $$f"; exit 1; }; \
	  done; echo "lint-hw: yosys reads and checks every top"; \
	else echo "lint-hw: yosys not installed, its check skipped"; fi

test-hw: lint-hw sim $(SIM)/gen_regs
	@$(SIM)/gen_regs $(SIM)/qmatmul_regs.check.vh && cmp -s $(SIM)/qmatmul_regs.check.vh $(HW_REGS) \
	    || { echo "test-hw: $(HW_REGS) differs from what sim/gen_regs.c writes"; exit 1; }
	@echo "test-hw: $(HW_REGS) matches include/flare/kernels.h"
	@fail=0; for m in $(SIM_MODELS); do \
	  echo "== $$m"; $$m || fail=1; \
	done; [ $$fail -eq 0 ] || { echo "test-hw: FAILED"; exit 1; }; echo "test-hw: all passed"

# ---- libflare_xrtsim.so: the Verilator device behind the XRT C API (sim/simdev, sim/xrtsim) ----
# hw/qmatmul_rtl.v verilated (-O3, --x-assign/--x-initial fast, FST tracing compiled in but only
# active when a run asks for it) from all of $(HW_SRC) with --top-module qmatmul_rtl, so new or
# renamed hw/ files are picked up; the model, the Verilator runtime and the sim/ C++
# at -O3 -fPIC (6% faster than -O2) in one shared object exporting only xrt* and flsim_*
# (sim/xrtsim.map). Single-threaded model (one device = one thread). Part of
# `all` when verilator is installed. XRTSIM_TRACE=0 builds it without tracing into
# $(BUILD)/xrtsim-notrace/ (for speed comparisons). `make bench-xrtsim`: cycles per second.
XRTSIM_TRACE ?= 1
XRTSIM_VLOPT ?= -O3 --x-assign fast --x-initial fast
XRTSIM_COPT  ?= -O3
ifeq ($(XRTSIM_TRACE),1)
XRTSIM_DIR   := $(BUILD)/xrtsim
XRTSIM_LIB   := $(BUILD)/libflare_xrtsim.so
else
XRTSIM_DIR   := $(BUILD)/xrtsim-notrace
XRTSIM_LIB   := $(XRTSIM_DIR)/libflare_xrtsim.so
endif
HAVE_VERILATOR := $(shell command -v $(VERILATOR) 2>/dev/null)
VL_ROOT       = $(shell $(VERILATOR) --getenv VERILATOR_ROOT)
XRTSIM_CXX    = $(CXX) -std=c++17 $(XRTSIM_COPT) -fPIC -fvisibility=hidden -faligned-new -DVM_COVERAGE=0 \
                -DVM_SC=0 -DVM_TRACE=$(XRTSIM_TRACE) -DVM_TRACE_FST=$(XRTSIM_TRACE) -DVM_TRACE_VCD=0 \
                -isystem $(XRTSIM_DIR) -isystem $(VL_ROOT)/include -isystem $(VL_ROOT)/include/vltstd -Iinclude -I. -Isim
XRTSIM_RT    := verilated verilated_threads $(if $(filter 1,$(XRTSIM_TRACE)),verilated_fst_c)
XRTSIM_OBJ   := $(addprefix $(XRTSIM_DIR)/obj/,simdev.o xrtsim.o axi_mem.o $(XRTSIM_RT:%=vl_%.o))
XRTSIM_HDR   := sim/simdev.h sim/xrtsim.h sim/axi_mem.h driver/xrt_api.h include/flare/kernels.h \
                hls/config.h
.PHONY: xrtsim lint bench-xrtsim
ifneq ($(HAVE_VERILATOR),)
all: xrtsim
endif
xrtsim: $(XRTSIM_LIB)
lint: lint-hw

$(XRTSIM_DIR)/Vqmatmul_rtl__ALL.a: $(HW_SRC) $(HW_VH) $(HW_REGS) | check-verilator
	@mkdir -p $(XRTSIM_DIR)
	$(VERILATOR) --cc --build $(XRTSIM_VLOPT) -Wno-fatal -Wno-lint -Wno-style \
	    $(if $(filter 1,$(XRTSIM_TRACE)),--trace-fst) $(HW_INC) \
	    -CFLAGS "-fPIC -fvisibility=hidden" -MAKEFLAGS "OPT_FAST='$(XRTSIM_COPT)' OPT_SLOW=-O1" \
	    -Mdir $(XRTSIM_DIR) --top-module qmatmul_rtl $(HW_SRC) \
	    >$(XRTSIM_DIR)/verilator.log 2>&1 || { cat $(XRTSIM_DIR)/verilator.log; exit 1; }
$(XRTSIM_DIR)/obj/%.o: sim/%.cpp $(XRTSIM_HDR) $(XRTSIM_DIR)/Vqmatmul_rtl__ALL.a
	@mkdir -p $(dir $@)
	$(XRTSIM_CXX) -Wall -Wextra -Werror -c -o $@ $<
$(XRTSIM_DIR)/obj/vl_%.o: | $(XRTSIM_DIR)/Vqmatmul_rtl__ALL.a
	@mkdir -p $(dir $@)
	$(XRTSIM_CXX) -c -o $@ $(VL_ROOT)/include/$*.cpp
$(XRTSIM_LIB): $(XRTSIM_OBJ) $(XRTSIM_DIR)/Vqmatmul_rtl__ALL.a sim/xrtsim.map
	$(CXX) -shared -o $@ $(XRTSIM_OBJ) $(XRTSIM_DIR)/Vqmatmul_rtl__ALL.a \
	    -Wl,--version-script=sim/xrtsim.map -Wl,--no-undefined -lz -pthread

# The tests dlopen the library from here (and skip when it is not built).
$(OBJ)/tests/%.o: CFLAGS += -DFLARE_XRTSIM_LIB='"$(abspath $(XRTSIM_LIB))"'

$(BUILD)/bench_xrtsim: sim/bench_xrtsim.c driver/xrt_api.h sim/xrtsim.h
	$(CC) $(CFLAGS) -o $@ $< -ldl
bench-xrtsim: $(BUILD)/bench_xrtsim xrtsim
	$(BUILD)/bench_xrtsim $(abspath $(XRTSIM_LIB)) $(BENCH_ARGS)

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

# ---- CUDA reference engine (ref/cuda/, docs/cuda.md) -------------------------------------------
# build/libflare_cuda.so, dlopen()ed by ref/engine_cuda.c, built when nvcc is found (PATH, else
# /usr/local/cuda/bin) and then part of `all`; rebuilt only when ref/cuda/ changes. cudart is
# linked statically, so only the driver (libcuda.so.1) is needed at run time.
ifeq ($(origin NVCC),undefined)
NVCC := $(or $(shell command -v nvcc 2>/dev/null),$(wildcard /usr/local/cuda/bin/nvcc))
endif
CUDA_ARCH  ?= -gencode arch=compute_90,code=[sm_90,compute_90]
CUDA_FLAGS := -std=c++17 -O3 $(CUDA_ARCH) -cudart static -shared -Xcompiler -fPIC,-Wall,-Wextra \
              -Werror=all-warnings -Iinclude -I.
CUDA_LIB   := $(BUILD)/libflare_cuda.so
.PHONY: cuda bench-cuda
ifneq ($(NVCC),)
all: cuda
cuda: $(CUDA_LIB) $(BUILD)/bench_cuda
$(CUDA_LIB): $(wildcard ref/cuda/*.cu ref/cuda/*.cuh ref/cuda/*.h) include/flare/llama.h
	@mkdir -p $(dir $@)
	$(NVCC) $(CUDA_FLAGS) -o $@ ref/cuda/engine.cu -ldl
else
cuda:
	@echo "make cuda: nvcc not found (PATH, /usr/local/cuda/bin); install the CUDA toolkit" >&2; exit 1
endif
# build/libflare_cuda_emu.so: the same engine source (engine.cu, kernels.cuh) compiled by g++
# against the CUDA host emulator (ref/cuda/emu.h: threads as Boost.Context fibers), built on
# every machine; the cuda/* tests run it when no GPU is usable (docs/cuda.md).
# Under make asan it is built by clang++ with the sanitizers too (AddressSanitizer then sees a
# kernel reading past a cudaMalloc'd buffer, as compute-sanitizer would).
comma          := ,
CUDA_EMU_LIB   := $(BUILD)/libflare_cuda_emu.so
CUDA_EMU_TSAN  := $(if $(findstring thread,$(SAN)),-DFLCU_EMU_TSAN)
CUDA_EMU_CXX   := $(if $(SAN),$(if $(CUDA_EMU_TSAN),$(CXX),clang++),$(CXX))
CUDA_EMU_FLAGS := -std=c++17 $(if $(SAN),-O1 $(SAN) $(if $(CUDA_EMU_TSAN),-Wno-tsan,\
                  -fno-sanitize=vptr$(comma)function),-O2) -g \
                  -fPIC -shared -DFLCU_EMU -fno-strict-aliasing -Wall -Wextra -Werror \
                  -Wno-unknown-pragmas -Iinclude -I.
.PHONY: cuda-emu
all: cuda-emu
cuda-emu: $(CUDA_EMU_LIB)
# Under make racecheck (ThreadSanitizer, g++) the execution model itself, emu.cpp, is compiled
# without the instrumentation but with its annotations: the machine is not the program under test.
$(CUDA_EMU_LIB): $(wildcard ref/cuda/*) include/flare/llama.h include/flare/fp16.h
	@mkdir -p $(dir $@) $(OBJ)/ref/cuda
	$(CUDA_EMU_CXX) $(filter-out -shared $(if $(CUDA_EMU_TSAN),-fsanitize=thread -Wno-tsan),\
	    $(CUDA_EMU_FLAGS)) $(CUDA_EMU_TSAN) -c -o $(OBJ)/ref/cuda/emu.o ref/cuda/emu.cpp
	$(CUDA_EMU_CXX) $(CUDA_EMU_FLAGS) -o $@ -x c++ ref/cuda/engine.cu -x none \
	    $(OBJ)/ref/cuda/emu.o ref/cuda/emu_runtime.cpp ref/cuda/emu_selftest.cpp -ldl \
	    -lboost_context -pthread -Wl,-z,nodelete
# build/bench_cuda: the CUDA engine's benchmark and GPU check; it needs only libflare (the engine
# is loaded at run time), so it is built everywhere and its --check is tested on the emulator.
all: $(BUILD)/bench_cuda
$(BUILD)/bench_cuda: tools/bench_cuda.c $(LIB_A)
	$(CC) $(CFLAGS) -o $@ $< $(LIB_A) $(LDLIBS)
bench-cuda: cuda
	$(BUILD)/bench_cuda

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
