/* sim/simdev.h: the simulated accelerator card: the Verilator model of the qmatmul kernel top
 * (hw/qmatmul_rtl.v) clocked cycle by cycle, its six AXI4 masters (m_axi_gmem0..gmem5) served by
 * one sparse device memory (sim/axi_mem.h, one axi_port per master), and an AXI4-Lite master
 * on s_axi_control that reads and writes registers the way a driver does.
 *
 * A C API (usable from C and C++), single-threaded per device; libflare_xrtsim.so
 * (sim/xrtsim.cpp) builds the XRT C API on it. The kernel is an ap_ctrl_chain kernel (it takes
 * the next call while one runs); the harness drives it as XRT does:
 *     simdev_start(d, regs, n)   the first call: GIE = 1, IER = ap_done; a later one: poll the
 *                                control word until the kernel has taken the previous call's
 *                                arguments (ap_start reads 0), completing calls meanwhile;
 *                                then the argument words and ap_start = 1
 *     simdev_wait(d, &st)        the oldest call not yet waited for: clock until the
 *                                `interrupt` pin rises (ap_done through GIE/IER/ISR), read the
 *                                control word (ap_done must be set), the status word
 *                                (FL_QMATMUL_REG_STATUS),
 *                                clear ISR by writing 1 (toggle-on-write), write ap_continue
 * Calls complete in order. A call's cycles count from its ap_start write, or from the previous
 * call's completion if that is later, to its interrupt: back to back, the cycles of a sequence
 * add up to its span. A run ends with an error (-1, simdev_error() says why) on the cycle
 * timeout, an AXI protocol error of the memory model, a control register that does not answer,
 * or AXI transactions still open at the ap_done of the last call handed over; every call still
 * in the kernel then ends with that error and the next simdev_start, once they are waited for,
 * resets the kernel (ap_rst_n low for 16 cycles).
 *
 * Memory presets (per port; every port has its own bandwidth):
 *   ddr4  64 bytes/cycle read and write, read latency 80 cycles, nominal clock 300 MHz
 *   hbm   32 bytes/cycle, read latency 60 cycles, nominal clock 450 MHz */
#ifndef FLARE_SIM_SIMDEV_H
#define FLARE_SIM_SIMDEV_H

#include <stddef.h>
#include <stdint.h>

#include "sim/xrtsim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- device memory: SIMDEV_BANKS banks of SIMDEV_BANK_BYTES each, bank b at
 * SIMDEV_MEM_BASE + b * SIMDEV_BANK_BYTES (address 0 is outside the memory) ---- */
#define SIMDEV_MEM_BASE 0x400000000ull  /* 16 GiB */
#define SIMDEV_BANK_BYTES 0x100000000ull /* 4 GiB */
#define SIMDEV_BANKS 32u
#define SIMDEV_N_PORTS 6u
#define SIMDEV_DEFAULT_TIMEOUT (1ull << 32)

typedef struct simdev simdev;

typedef struct {
    const char *mem;         /* "ddr4" (also when NULL) or "hbm" */
    const char *trace_path;  /* write an FST waveform of every cycle to this file; NULL: none */
    uint64_t timeout_cycles; /* a run past this many cycles fails; 0: SIMDEV_DEFAULT_TIMEOUT */
} simdev_cfg;

/* Open a device (model reset, memory empty). NULL on error, with the reason in err. */
simdev *simdev_open(const simdev_cfg *cfg, char *err, size_t err_len);
void simdev_close(simdev *d);
/* The last error of d ("" when none). */
const char *simdev_error(const simdev *d);
/* 1 when the library was built with tracing (--trace-fst), else 0. */
int simdev_can_trace(void);

/* ---- device memory (host access, no cycles) ----
 * [addr, addr + n) must lie inside the memory: 0, or -1 with simdev_error(). */
int simdev_mem_write(simdev *d, uint64_t addr, const void *src, uint64_t n);
int simdev_mem_read(simdev *d, uint64_t addr, void *dst, uint64_t n);
int simdev_mem_zero(simdev *d, uint64_t addr, uint64_t n); /* also releases whole pages */
uint64_t simdev_mem_resident(const simdev *d);              /* bytes of memory allocated */

/* ---- s_axi_control (each access takes a few cycles) ---- */
int simdev_reg_write(simdev *d, uint32_t off, uint32_t val);
int simdev_reg_read(simdev *d, uint32_t off, uint32_t *val);

/* ---- runs ----
 * regs: the register image indexed by byte offset / 4 (fl_kernel_regs); words
 * [FL_REG_ARGS / 4, n_words) are written. */
int simdev_start(simdev *d, const uint32_t *regs, uint32_t n_words);
int simdev_wait(simdev *d, uint32_t *status);
/* calls handed over and not yet waited for */
uint32_t simdev_outstanding(const simdev *d);
/* cycles of the call the last simdev_wait completed */
uint64_t simdev_last_cycles(const simdev *d);

/* Cumulative counters since open, in the layout of sim/xrtsim.h (ports gmem0..gmem5). */
void simdev_get_stats(const simdev *d, flsim_stats *out);

#ifdef __cplusplus
}
#endif

#endif
