/* driver/xrt_lib.h: the two libraries behind the xrt and sim devices, loaded once per process
 * with dlopen() and resolved into an fl_xrt_api table (driver/xrt_api.h): XRT's
 * libxrt_coreutil.so for cards, libflare_xrtsim.so (XRT's C API over the Verilator model, plus
 * the flsim_* extension of sim/xrtsim.h) for the simulator. Used by driver/dev_xrt.c. */
#ifndef FLARE_DRIVER_XRT_LIB_H
#define FLARE_DRIVER_XRT_LIB_H

#include <limits.h>
#include <stdint.h>

#include "driver/xrt_api.h"
#include "sim/xrtsim.h"

typedef struct {
    void *handle;
    char path[PATH_MAX];
    fl_xrt_api api;
    /* the simulator's extension (sim/xrtsim.h); NULL in XRT */
    int (*configure)(const char *opts);
    const char *(*last_error)(void);
    int (*get_stats)(xrtDeviceHandle dhdl, flsim_stats *out);
    int (*run_status)(xrtRunHandle rhdl, uint32_t *status); /* optional even in the simulator */
} xrt_lib;

/* The simulator's library (sim = 1: FLARE_XRTSIM_LIB, else next to the running program, its
 * ../lib, then its parent directory) or XRT's (sim = 0: the loader path, then
 * /opt/xilinx/xrt/lib; FLARE_XRT_LIB overrides), loaded on first use and kept for the life of
 * the process. 0 and *out, or FLARE_EUNSUP with one line saying what is missing. */
int fl_xrt_lib_load(int sim, xrt_lib **out);

#endif
