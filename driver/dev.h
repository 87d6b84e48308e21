/* driver/dev.h: the device API: open a target by URI, allocate device buffers, copy data, launch
 * the kernels of flare/kernels.h and wait for them with a bound.
 *
 * A device is {ops; ctx}: a table of function pointers (fl_dev_ops, one file per backend:
 * driver/dev_csim.c, driver/dev_xrt.c (xrt and sim), later dev_opencl.c, dev_cuda.c) over a
 * backend context. Callers use the fl_dev_* functions below, which check arguments (buffer
 * bounds, the launch queue, a kernel the device implements), count bytes and runs, keep the
 * device's last error, and then call the backend.
 * Launches queue: up to fl_dev_queue_depth() launches may be outstanding; they run in launch
 * order and each sees the memory its predecessors wrote (a launch may read an earlier one's
 * output), so a dependent sequence is launched back to back and the kernel overlaps the next
 * call's weight reads with the previous call's tail (ap_ctrl_chain on sim and cards). Waits
 * complete launches oldest first. Host copies and frees wait for nothing: they are refused
 * while launches are outstanding (fl_dev_drain first). URIs:
 *   csim                           the hls/ kernels run in-process (golden model)
 *   sim[:mem=hbm|ddr4][:trace=FILE] the Verilator model of hw/ through libflare_xrtsim.so, a
 *                                  library with XRT's C API (dlopen'ed; qmatmul only so far)
 *   xrt:N[:xclbin=FILE]            Alveo card N through XRT's libxrt_coreutil.so (dlopen'ed)
 *   opencl[:P:D]                   OpenCL platform P, device D                      (later)
 *   cuda[:N]                       the CUDA reference engine as a device            (later)
 * Every function returns 0 or a negative FLARE_E* code with a message (flare/error.h), also
 * kept per device in fl_dev_last_error(). */
#ifndef FLARE_DRIVER_DEV_H
#define FLARE_DRIVER_DEV_H

#include <stdint.h>

#include "flare/kernels.h"

#define FL_DEV_MAX_BANKS 32u           /* memory banks (U280: 32 HBM pseudo-channels) */
#define FL_DEV_ALIGN 4096u             /* buffer alignment in device address space */
#define FL_DEV_MAX_ALLOC (1ull << 38)  /* largest single buffer (256 GiB) */
#define FL_DEV_QUEUE 4u                /* launches outstanding at most (any backend) */

/* A device buffer. Kernel arguments take device addresses: addr + byte offset. */
typedef struct {
    uint64_t addr;       /* device address of byte 0 (FL_DEV_ALIGN-aligned) */
    uint64_t size_bytes; /* usable bytes */
    uint32_t bank;       /* memory bank it lives in (HBM pseudo-channel / DDR bank) */
    uint32_t id;         /* backend handle (0 = none) */
} fl_dev_buf;

#define FL_DEV_MAX_PORTS 8u /* AXI4 master ports of a kernel counted per port (sim) */

/* Counters of one kernel, kept by the wrappers (runs) and the backend (the rest). */
typedef struct {
    uint64_t runs;        /* launches completed */
    uint64_t cycles;      /* kernel clock cycles (0 where unknown: csim, a card) */
    uint64_t read_bytes;  /* bytes the kernel read from device memory */
    uint64_t write_bytes; /* bytes it wrote */
    double sim_wall_s;    /* wall seconds the simulator spent on its runs (sim) */
    uint64_t port_read_bytes[FL_DEV_MAX_PORTS];  /* per AXI4 master port (sim) */
    uint64_t port_write_bytes[FL_DEV_MAX_PORTS];
    uint64_t port_busy_cycles[FL_DEV_MAX_PORTS]; /* cycles with a transaction under way */
} fl_dev_kstats;

/* The memory system behind the ports (sim; n_ports = 0 where not known). */
typedef struct {
    uint32_t n_ports;
    char port_name[FL_DEV_MAX_PORTS][16]; /* "gmem0" .. */
    double bytes_per_cycle;               /* peak read bytes per cycle of one port */
    double clock_mhz;                     /* nominal kernel clock of the memory preset */
    uint32_t data_bits;                   /* AXI data width */
    char mem[8];                          /* "hbm", "ddr4" */
} fl_dev_mem;

typedef struct {
    uint64_t runs[FL_KERNEL_COUNT]; /* launches completed, per kernel */
    uint64_t errors;                /* launches that returned a non-zero kernel status */
    uint64_t write_bytes;           /* host -> device copies */
    uint64_t read_bytes;            /* device -> host copies */
    uint64_t kernel_read_bytes;     /* bytes the kernels read from device memory */
    uint64_t kernel_write_bytes;    /* bytes the kernels wrote to device memory */
    uint64_t cycles;                /* kernel clock cycles; 0 where unknown (csim) */
    uint64_t alloc_bytes;           /* bytes currently allocated */
    uint64_t alloc_peak_bytes;
    fl_dev_kstats k[FL_KERNEL_COUNT]; /* per kernel */
    fl_dev_mem mem;
} fl_dev_stats;

typedef struct fl_dev fl_dev;

/* ---- backend interface: what a backend file implements ----
 * The fl_dev_* wrappers have already checked the arguments the comments name; a backend checks
 * what only it knows (a buffer handle is its own, an address lies in one of its buffers). */
typedef struct {
    const char *scheme; /* URI scheme, e.g. "csim" */
    /* params: the URI after "scheme:" ("" when none). Sets d->ctx. */
    int (*open)(fl_dev *d, const char *params);
    void (*close)(fl_dev *d);
    /* bytes in 1..FL_DEV_MAX_ALLOC, bank < FL_DEV_MAX_BANKS (checked) */
    int (*alloc)(fl_dev *d, uint64_t bytes, uint32_t bank, fl_dev_buf *out);
    int (*free)(fl_dev *d, const fl_dev_buf *b);
    /* [off, off + bytes) inside b (checked against b->size_bytes) */
    int (*write)(fl_dev *d, const fl_dev_buf *b, uint64_t off, const void *src, uint64_t bytes);
    int (*read)(fl_dev *d, const fl_dev_buf *b, uint64_t off, void *dst, uint64_t bytes);
    /* kernel id valid, fewer than the backend's queue launches outstanding (checked) */
    int (*launch)(fl_dev *d, const fl_kernel_call *c);
    /* a launch outstanding (checked): complete the oldest, d->pending_kernel[0];
       *kstatus = its FL_KST_* status */
    int (*wait)(fl_dev *d, uint32_t timeout_ms, uint32_t *kstatus);
    /* optional (NULL: none): refresh backend counters (cycles) in d->stats */
    int (*stats)(fl_dev *d);
    /* optional (NULL: every kernel): 1 when the device implements the kernel, else 0 */
    int (*supports)(fl_dev *d, uint32_t kernel);
    /* optional (NULL: 1): launches the backend takes before a wait, 1..FL_DEV_QUEUE */
    uint32_t (*queue)(const fl_dev *d);
} fl_dev_ops;

struct fl_dev {
    const fl_dev_ops *ops;
    void *ctx;               /* backend state */
    char uri[256];
    fl_dev_stats stats;      /* kept by the wrappers and the backend */
    uint32_t pending;                      /* launches waiting for fl_dev_wait */
    uint32_t pending_kernel[FL_DEV_QUEUE]; /* their kernel ids, oldest first */
    char last_error[512];
};

/* Backends built into this library. */
extern const fl_dev_ops fl_dev_csim_ops;
extern const fl_dev_ops fl_dev_sim_ops; /* driver/dev_xrt.c */
extern const fl_dev_ops fl_dev_xrt_ops; /* driver/dev_xrt.c */

/* ---- API ---- */
int fl_dev_open(const char *uri, fl_dev **out);
void fl_dev_close(fl_dev *d);

int fl_dev_alloc(fl_dev *d, uint64_t bytes, uint32_t bank, fl_dev_buf *out);
int fl_dev_free(fl_dev *d, fl_dev_buf *b); /* zeroes *b */

/* Copy bytes to / from [off, off + bytes) of a buffer; out of bounds is FLARE_ERANGE. */
int fl_dev_write(fl_dev *d, const fl_dev_buf *b, uint64_t off, const void *src, uint64_t bytes);
int fl_dev_read(fl_dev *d, const fl_dev_buf *b, uint64_t off, void *dst, uint64_t bytes);

/* 1 when the device implements `kernel` (enum fl_kernel), 0 when it does not (the caller runs
 * it elsewhere, e.g. the scheduler on the host) or the id is unknown. */
int fl_dev_supports(fl_dev *d, uint32_t kernel);

/* Launches the device takes before a wait (1..FL_DEV_QUEUE). */
uint32_t fl_dev_queue_depth(const fl_dev *d);
/* Queue a kernel call; with fl_dev_queue_depth() launches outstanding it is FLARE_EINVAL (wait
 * first); a kernel the device lacks is FLARE_EUNSUP. Every argument address the call uses (by
 * its flags) must lie, with the bytes the kernel touches, inside one buffer. */
int fl_dev_launch(fl_dev *d, const fl_kernel_call *c);
/* Wait up to timeout_ms for the oldest outstanding launch. kstatus (may be NULL) receives the
 * kernel's status; a non-zero status returns FLARE_EDEVICE naming it, a timeout
 * FLARE_ETIMEDOUT (the launch stays outstanding). */
int fl_dev_wait(fl_dev *d, uint32_t timeout_ms, uint32_t *kstatus);
/* Wait for every outstanding launch; returns the first failure (the rest are still waited
 * for, except after a timeout). */
int fl_dev_drain(fl_dev *d, uint32_t timeout_ms);
/* launch + wait: only with no launch outstanding (else FLARE_EINVAL) */
int fl_dev_run(fl_dev *d, const fl_kernel_call *c, uint32_t timeout_ms, uint32_t *kstatus);

int fl_dev_get_stats(fl_dev *d, fl_dev_stats *out);
const char *fl_dev_last_error(const fl_dev *d);

/* ---- helpers shared by backends ---- */
/* The device memory a call touches, by its flags and shapes: up to 6 regions. Returns the
 * count, or -1 when the shape arguments are out of range (the kernel then returns an error
 * status without touching memory, so no region needs to exist). */
typedef struct {
    const char *name; /* argument name */
    uint64_t addr;
    uint64_t bytes;
    int write;        /* the kernel writes it */
    uint32_t align;   /* required address alignment */
} fl_dev_region;
int fl_kernel_regions(const fl_kernel_call *c, fl_dev_region r[6]);

#endif
