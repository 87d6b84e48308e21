/* sim/xrtsim.h: the flare-specific extension of libflare_xrtsim.so, the simulated XRT device.
 *
 * libflare_xrtsim.so implements the XRT C API subset of driver/xrt_api.h over the Verilator
 * model of hw/ (qmatmul_rtl, kernel name "fl_qmatmul") and the AXI4 memory model
 * (sim/axi_mem.h). These extra C functions configure the device before xrtDeviceOpen and report
 * what a real card cannot: exact cycles and per-port traffic. The driver (driver/dev_xrt.c)
 * looks them up with dlsym; on a real card they are absent. C header, usable from C and C++. */
#ifndef FLARE_SIM_XRTSIM_H
#define FLARE_SIM_XRTSIM_H

#include <stdint.h>

#include "driver/xrt_api.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FLSIM_MAX_PORTS 8u

/* Options for the next xrtDeviceOpen, as a comma-separated list (the sim URI's parameters with
 * ':' turned into ','):
 *   mem=ddr4|hbm       memory preset (default ddr4): latency and bytes per cycle per port
 *   trace=FILE         write an FST waveform of every run to FILE
 *   timeout=CYCLES     a run past this many cycles ends with ERT_CMD_STATE_ERROR (default 2^32)
 * Returns 0, or -1 with flsim_last_error() naming the bad option. */
int flsim_configure(const char *opts);

/* The last error of the library in this thread ("" when none), e.g. "run 12: timeout after
 * 4294967296 cycles" or "xrtBOWrite: 4096 bytes at offset 8192 exceed the 8192-byte buffer". */
const char *flsim_last_error(void);

/* Cumulative counters since xrtDeviceOpen. The driver takes differences around a run. */
typedef struct {
    char name[16];        /* "gmem0" .. "gmem5" */
    uint64_t rd_bytes;    /* bytes read through the port */
    uint64_t wr_bytes;    /* bytes written through the port */
    uint64_t busy_cycles; /* cycles with a transaction outstanding or in flight (read or write) */
} flsim_port_stats;

typedef struct {
    uint64_t runs;            /* kernel runs completed */
    uint64_t cycles;          /* kernel clock cycles simulated in runs */
    double wall_s;            /* wall seconds spent simulating them */
    uint32_t data_bits;       /* AXI data width of the masters (512) */
    double bytes_per_cycle;   /* the preset's read bandwidth per port, bytes per cycle */
    uint32_t rd_latency;      /* the preset's first-beat latency, cycles */
    double clock_mhz;         /* the preset's nominal kernel clock (for time projections) */
    char mem[8];              /* "ddr4" or "hbm" */
    uint32_t n_ports;
    flsim_port_stats port[FLSIM_MAX_PORTS];
} flsim_stats;

/* Fill *out for the device; 0, or -1 for a handle the library did not open. */
int flsim_get_stats(xrtDeviceHandle dhdl, flsim_stats *out);

/* The kernel's status register (FL_QMATMUL_REG_STATUS, an FL_KST_* code) as read back after
 * the run's ap_done; completes the run first if it is still in flight (as xrtRunWaitFor does).
 * 0, or -1 for a bad handle or a run that was not started or ended in ERT_CMD_STATE_ERROR.
 * (On a real card the driver reads the register with xrtKernelReadRegister instead.) */
int flsim_run_status(xrtRunHandle rhdl, uint32_t *status);

#ifdef __cplusplus
}
#endif

#endif
