/* driver/dev_xrt.c: the `xrt` and `sim` devices: XRT's native C API (driver/xrt_api.h), loaded
 * with dlopen() into an fl_xrt_api table, so one flare binary runs with or without XRT.
 *
 *   xrt:N[:xclbin=FILE]              libxrt_coreutil.so (XRT), Alveo card N, the xclbin loaded
 *   sim[:mem=hbm|ddr4][:trace=FILE]  libflare_xrtsim.so: the same API over the Verilator model
 *                                    of hw/ (sim/xrtsim.h), configured by flsim_configure
 *
 * The library is found by name on the loader path (xrt; FLARE_XRT_LIB overrides) or, for sim,
 * from FLARE_XRTSIM_LIB, else next to the running executable, in its ../lib, then in its parent
 * directory (build/tests/flare_tests finds build/libflare_xrtsim.so): driver/xrt_lib.c. It
 * stays loaded for the life of the process.
 *
 * Memory groups: at open the memory group of every address argument of every kernel is asked
 * (xrtKernelArgGroupId: the xclbin's connectivity, e.g. gmem0 -> HBM[3]). When they are all
 * one group G (a U250 linked to one DDR bank, the simulator), every buffer goes to G whatever
 * bank the caller asked for; otherwise the bank is the group, and a launch whose buffer lies in
 * another group than its port is connected to is refused, naming the argument and both groups.
 * A device buffer is an XRT buffer object (xrtBOAlloc); its device address is xrtBOAddress.
 * A launch sets the kernel's arguments by index, in the order of the tables of flare/kernels.h:
 * an address becomes the buffer holding it, or a sub-buffer (xrtBOSubAlloc, cached per
 * (buffer, offset)) when it is not the buffer's byte 0; an argument the call's flags leave
 * unused gets any buffer of the call (the kernel ignores it); u32 and f32 scalars go as
 * `unsigned int` bits. Then xrtRunStart, on one of FL_DEV_QUEUE run objects per kernel; wait is
 * xrtRunWaitFor with the bound, oldest launch first.
 * The kernel's status word: on the simulator flsim_run_status (read by the harness at each
 * ap_done, exact per call, so launches queue FL_DEV_QUEUE deep and the kernel overlaps them:
 * ap_ctrl_chain); on a card xrtKernelReadRegister(FL_*_REG_STATUS) after the wait, which needs
 * the compute unit opened exclusively (xrtPLKernelOpenExclusive) and is exact only while one
 * call is in flight, so a card queues one launch. The simulator's cumulative counters
 * (flsim_get_stats) are read at the first launch of a busy period and at every wait; the
 * differences (cycles, per-port bytes and busy cycles) go to the completed launch's kernel.
 * A kernel missing from the device (fl_attention on the simulator today) is reported by
 * fl_dev_supports, and launching it is FLARE_EUNSUP. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver/dev.h"
#include "driver/xrt_api.h"
#include "driver/xrt_lib.h"
#include "flare/error.h"
#include "sim/xrtsim.h"

/* ---- device context ------------------------------------------------------------------------- */

typedef struct {
    xrtBufferHandle bo; /* NULL once freed */
    uint64_t addr, size_bytes;
    uint32_t bank;
} xbuf;

typedef struct {
    uint32_t parent; /* index into bufs */
    uint64_t off;
    xrtBufferHandle bo;
} xsub;

typedef struct {
    xrt_lib *lib;
    int sim;
    unsigned int index;
    xrtDeviceHandle dev;
    xuid_t uuid;
    xrtKernelHandle kern[FL_KERNEL_COUNT]; /* NULL: the device lacks the kernel */
    xrtRunHandle run[FL_KERNEL_COUNT][FL_DEV_QUEUE];
    int group[FL_KERNEL_COUNT][FL_KERNEL_REG_WORDS]; /* memory group per address argument */
    int one_group;                                   /* the one group of every port, or -1 */
    struct {
        xrtRunHandle run;
        uint64_t est_read, est_write; /* bytes the call touches, by its regions (a card) */
    } q[FL_DEV_QUEUE]; /* launches outstanding, oldest first, as d->pending_kernel */
    xbuf *bufs; /* (n_bufs), index = id - 1 */
    uint32_t n_bufs, cap_bufs;
    xsub *subs; /* (n_subs) sub-buffers made for offset arguments */
    uint32_t n_subs, cap_subs;
    flsim_stats before; /* the simulator's counters at the last wait or idle launch */
    int have_before;
} xrt_ctx;

static const char *const kernel_names[FL_KERNEL_COUNT] = {"fl_qmatmul", "fl_attention"};

/* The library's own word on the last failure ("" when it has none). */
static const char *lib_why(const xrt_ctx *x)
{
    if (x->lib->last_error) {
        const char *e = x->lib->last_error();
        if (e && *e)
            return e;
    }
    return errno ? strerror(errno) : "no reason given";
}

static void xrt_close(fl_dev *d);

/* ---- open ----------------------------------------------------------------------------------- */

/* sim parameters "mem=hbm:trace=FILE" -> flsim_configure's "mem=hbm,trace=FILE" (checked). */
static int sim_opts(const char *params, char *out, size_t cap)
{
    char buf[256];
    size_t n = 0;
    out[0] = 0;
    if (strlen(params) >= sizeof buf)
        return flare_error(FLARE_EINVAL, "parameters longer than %zu bytes", sizeof buf - 1);
    snprintf(buf, sizeof buf, "%s", params);
    for (char *save = NULL, *opt = strtok_r(buf, ":", &save); opt;
         opt = strtok_r(NULL, ":", &save)) {
        char *eq = strchr(opt, '=');
        const char *val = eq ? eq + 1 : "";
        if (eq)
            *eq = 0;
        if (!strcmp(opt, "mem")) {
            if (strcmp(val, "hbm") && strcmp(val, "ddr4"))
                return flare_error(FLARE_EINVAL, "mem=%s: expected mem=hbm or mem=ddr4",
                                   val);
        } else if (!strcmp(opt, "trace")) {
            if (!*val || strchr(val, ','))
                return flare_error(FLARE_EINVAL, "trace=%s: expected a file name without "
                                   "',' (trace=FILE writes an FST waveform)", val);
        } else if (!strcmp(opt, "timeout")) {
            char *end;
            errno = 0;
            unsigned long long c = strtoull(val, &end, 10);
            if (!*val || *end || errno || c == 0 || *val == '-')
                return flare_error(FLARE_EINVAL, "timeout=%s: expected a cycle count > 0",
                                   val);
        } else {
            return flare_error(FLARE_EINVAL, "unknown option '%s' (expected mem=hbm|ddr4, "
                               "trace=FILE or timeout=CYCLES)", opt);
        }
        int w = snprintf(out + n, cap - n, "%s%s=%s", n ? "," : "", opt, val);
        if (w < 0 || (size_t)w >= cap - n)
            return flare_error(FLARE_EINVAL, "parameters too long");
        n += (size_t)w;
    }
    return 0;
}

/* xrt parameters "N[:xclbin=FILE]". */
static int xrt_params(const char *params, unsigned int *index, char *xclbin, size_t cap)
{
    *index = 0;
    xclbin[0] = 0;
    const char *p = params;
    if (*p && *p != ':') {
        char *end;
        errno = 0;
        unsigned long v = strtoul(p, &end, 10);
        if (end == p || errno || v > 255 || *p == '-' || (*end && *end != ':'))
            return flare_error(FLARE_EINVAL, "'%s': expected xrt:N[:xclbin=FILE] with a card "
                               "index N in 0..255", params);
        *index = (unsigned int)v;
        p = end;
    }
    while (*p == ':') {
        p++;
        const char *next = strchr(p, ':');
        size_t len = next ? (size_t)(next - p) : strlen(p);
        if (len > 7 && !strncmp(p, "xclbin=", 7)) {
            if (len - 7 >= cap)
                return flare_error(FLARE_EINVAL, "xclbin path longer than %zu bytes",
                                   cap - 1);
            memcpy(xclbin, p + 7, len - 7);
            xclbin[len - 7] = 0;
        } else {
            return flare_error(FLARE_EINVAL, "unknown option '%.*s' (expected "
                               "xclbin=FILE)", (int)len, p);
        }
        p += len;
    }
    return 0;
}

/* The memory group of each address argument of kernel k (xrtKernelArgGroupId). */
static int arg_groups(xrt_ctx *x, uint32_t k)
{
#define ARG_ADDR 1
#define ARG_U32 0
#define ARG_F32 0
#define IS_ADDR(name, kind, off) ARG_##kind,
    static const int qmm[] = {FL_QMATMUL_ARGS(IS_ADDR)};
    static const int att[] = {FL_ATTENTION_ARGS(IS_ADDR)};
#undef IS_ADDR
#undef ARG_ADDR
#undef ARG_U32
#undef ARG_F32
    const int *is_addr = k == FL_KERNEL_QMATMUL ? qmm : att;
    int n = k == FL_KERNEL_QMATMUL ? (int)(sizeof qmm / sizeof qmm[0])
                                   : (int)(sizeof att / sizeof att[0]);
    for (int i = 0; i < n; i++) {
        x->group[k][i] = -1;
        if (!is_addr[i])
            continue;
        errno = 0;
        int g = x->lib->api.xrtKernelArgGroupId(x->kern[k], i);
        if (g < 0 || g >= (int)FL_DEV_MAX_BANKS)
            return flare_error(FLARE_EDEVICE, "xrtKernelArgGroupId(%s, %d) gave %d (%s): "
                               "expected a memory group 0..%u", kernel_names[k], i, g,
                               lib_why(x), FL_DEV_MAX_BANKS - 1);
        x->group[k][i] = g;
        x->one_group = x->one_group == -2 || x->one_group == g ? g : -1;
    }
    return 0;
}

static int open_common(fl_dev *d, xrt_ctx *x, const char *xclbin)
{
    const fl_xrt_api *A = &x->lib->api;
    int rc;
    errno = 0;
    x->dev = A->xrtDeviceOpen(x->index);
    if (!x->dev)
        return x->sim ? flare_error(FLARE_EDEVICE, "xrtDeviceOpen(0) failed (%s)", lib_why(x))
                      : flare_error(FLARE_EDEVICE, "xrtDeviceOpen(%u) failed (%s): is card %u "
                                    "there? (xbutil examine lists the cards)",
                                    x->index, lib_why(x), x->index);
    if (xclbin && A->xrtDeviceLoadXclbinFile(x->dev, xclbin) != 0)
        return flare_error(FLARE_EDEVICE, "xclbin=%s: xrtDeviceLoadXclbinFile failed (%s)",
                           xclbin, lib_why(x));
    if (A->xrtDeviceGetXclbinUUID(x->dev, x->uuid) != 0)
        return flare_error(FLARE_EDEVICE, "xrtDeviceGetXclbinUUID failed (%s)", lib_why(x));
    char why[256] = "";
    x->one_group = -2; /* none seen yet */
    for (uint32_t k = 0; k < FL_KERNEL_COUNT; k++) {
        /* a card: exclusive, so that the status register can be read */
        x->kern[k] = x->sim ? A->xrtPLKernelOpen(x->dev, x->uuid, kernel_names[k])
                            : A->xrtPLKernelOpenExclusive(x->dev, x->uuid, kernel_names[k]);
        if (!x->kern[k]) {
            if (k == FL_KERNEL_QMATMUL)
                snprintf(why, sizeof why, "%s", lib_why(x));
            continue; /* the device lacks it (attention on the simulator) */
        }
        for (uint32_t q = 0; q < FL_DEV_QUEUE; q++)
            if (!(x->run[k][q] = A->xrtRunOpen(x->kern[k])))
                return flare_error(FLARE_EDEVICE, "xrtRunOpen(%s) failed (%s)",
                                   kernel_names[k], lib_why(x));
        if ((rc = arg_groups(x, k)))
            return rc;
    }
    if (x->one_group == -2)
        x->one_group = 0;
    if (!x->kern[FL_KERNEL_QMATMUL])
        return flare_error(FLARE_EUNSUP, "the %s%s%s has no fl_qmatmul kernel%s (%s)",
                           x->sim ? "simulator" : "xclbin", xclbin ? " " : "",
                           xclbin ? xclbin : "",
                           x->sim ? "" : ", or another process holds its compute unit "
                           "(flare opens it exclusively to read its status register)", why);
    if (x->sim) {
        flsim_stats s;
        if (x->lib->get_stats(x->dev, &s) != 0)
            return flare_error(FLARE_EDEVICE, "flsim_get_stats failed (%s)", lib_why(x));
        fl_dev_mem *m = &d->stats.mem;
        m->n_ports = s.n_ports < FL_DEV_MAX_PORTS ? s.n_ports : FL_DEV_MAX_PORTS;
        for (uint32_t p = 0; p < m->n_ports; p++)
            snprintf(m->port_name[p], sizeof m->port_name[p], "%.15s", s.port[p].name);
        m->bytes_per_cycle = s.bytes_per_cycle;
        m->clock_mhz = s.clock_mhz;
        m->data_bits = s.data_bits;
        snprintf(m->mem, sizeof m->mem, "%.7s", s.mem);
    }
    return 0;
}

static int sim_open(fl_dev *d, const char *params)
{
    char opts[320];
    xrt_lib *lib = NULL;
    int rc = sim_opts(params, opts, sizeof opts);
    if (rc == 0)
        rc = fl_xrt_lib_load(1, &lib);
    if (rc)
        return rc;
    xrt_ctx *x = calloc(1, sizeof *x);
    if (!x)
        return flare_error(FLARE_ENOMEM, "sim: out of memory");
    x->lib = lib;
    x->sim = 1;
    d->ctx = x;
    if (lib->configure(opts) != 0) {
        rc = flare_error(FLARE_EINVAL, "%s (flsim_configure)", lib_why(x));
        xrt_close(d);
        return rc;
    }
    if ((rc = open_common(d, x, NULL))) {
        xrt_close(d);
        return rc;
    }
    return 0;
}

static int xrt_open(fl_dev *d, const char *params)
{
    char xclbin[PATH_MAX];
    unsigned int index;
    xrt_lib *lib = NULL;
    int rc = xrt_params(params, &index, xclbin, sizeof xclbin);
    if (rc == 0)
        rc = fl_xrt_lib_load(0, &lib); /* "XRT is not installed" before an xclbin */
    if (rc)
        return rc;
    if (!xclbin[0])
        return flare_error(FLARE_EINVAL, "xclbin=FILE is required for a card (the bitstream "
                           "with fl_qmatmul, e.g. xrt:%u:xclbin=flare.xclbin)", index);
    xrt_ctx *x = calloc(1, sizeof *x);
    if (!x)
        return flare_error(FLARE_ENOMEM, "xrt: out of memory");
    x->lib = lib;
    x->index = index;
    d->ctx = x;
    if ((rc = open_common(d, x, xclbin))) {
        xrt_close(d);
        return rc;
    }
    return 0;
}

static void xrt_close(fl_dev *d)
{
    xrt_ctx *x = d->ctx;
    if (!x)
        return;
    const fl_xrt_api *A = &x->lib->api;
    for (uint32_t i = 0; i < d->pending; i++) /* let them finish before freeing */
        A->xrtRunWaitFor(x->q[i].run, 10000);
    for (uint32_t i = 0; i < x->n_subs; i++)
        A->xrtBOFree(x->subs[i].bo);
    for (uint32_t i = 0; i < x->n_bufs; i++)
        if (x->bufs[i].bo)
            A->xrtBOFree(x->bufs[i].bo);
    for (uint32_t k = 0; k < FL_KERNEL_COUNT; k++) {
        for (uint32_t q = 0; q < FL_DEV_QUEUE; q++)
            if (x->run[k][q])
                A->xrtRunClose(x->run[k][q]);
        if (x->kern[k])
            A->xrtKernelClose(x->kern[k]);
    }
    if (x->dev)
        A->xrtDeviceClose(x->dev);
    free(x->subs);
    free(x->bufs);
    free(x);
    d->ctx = NULL;
}

static int xrt_supports(fl_dev *d, uint32_t kernel)
{
    const xrt_ctx *x = d->ctx;
    return kernel < FL_KERNEL_COUNT && x->kern[kernel] != NULL;
}

/* ---- buffers -------------------------------------------------------------------------------- */

static int xrt_alloc(fl_dev *d, uint64_t bytes, uint32_t bank, fl_dev_buf *out)
{
    xrt_ctx *x = d->ctx;
    if (x->n_bufs == UINT32_MAX - 1)
        return flare_error(FLARE_ENOMEM, "too many buffers");
    if (x->n_bufs == x->cap_bufs) {
        uint32_t cap = x->cap_bufs ? x->cap_bufs * 2u : 64u;
        xbuf *nb = realloc(x->bufs, sizeof *nb * cap);
        if (!nb)
            return flare_error(FLARE_ENOMEM, "out of memory for the buffer table");
        x->bufs = nb;
        x->cap_bufs = cap;
    }
    errno = 0;
    if (x->one_group >= 0) /* every port reaches only that group */
        bank = (uint32_t)x->one_group;
    xrtBufferHandle bo = x->lib->api.xrtBOAlloc(x->dev, (size_t)bytes, XRT_BO_FLAGS_NONE, bank);
    if (!bo)
        return flare_error(FLARE_ENOMEM, "xrtBOAlloc of %llu bytes in memory group %u failed "
                           "(%s)", (unsigned long long)bytes, bank, lib_why(x));
    xbuf *b = &x->bufs[x->n_bufs++];
    *b = (xbuf){bo, x->lib->api.xrtBOAddress(bo), bytes, bank};
    *out = (fl_dev_buf){b->addr, bytes, bank, x->n_bufs};
    return 0;
}

/* The live buffer a handle names, checked against the caller's copy; NULL when none. */
static xbuf *lookup(xrt_ctx *x, const fl_dev_buf *b)
{
    if (b->id == 0 || b->id > x->n_bufs)
        return NULL;
    xbuf *xb = &x->bufs[b->id - 1];
    if (!xb->bo || xb->addr != b->addr || xb->size_bytes != b->size_bytes)
        return NULL;
    return xb;
}

static int xrt_free(fl_dev *d, const fl_dev_buf *b)
{
    xrt_ctx *x = d->ctx;
    xbuf *xb = lookup(x, b);
    if (!xb)
        return flare_error(FLARE_EINVAL, "free of buffer %u: not a live buffer", b->id);
    uint32_t parent = b->id - 1, keep = 0;
    for (uint32_t i = 0; i < x->n_subs; i++) { /* its sub-buffers first */
        if (x->subs[i].parent == parent)
            x->lib->api.xrtBOFree(x->subs[i].bo);
        else
            x->subs[keep++] = x->subs[i];
    }
    x->n_subs = keep;
    x->lib->api.xrtBOFree(xb->bo);
    xb->bo = NULL;
    return 0;
}

static int xrt_write(fl_dev *d, const fl_dev_buf *b, uint64_t off, const void *src,
                     uint64_t bytes)
{
    xrt_ctx *x = d->ctx;
    xbuf *xb = lookup(x, b);
    if (!xb)
        return flare_error(FLARE_EINVAL, "write to buffer %u: not a live buffer", b->id);
    if (x->lib->api.xrtBOWrite(xb->bo, src, (size_t)bytes, (size_t)off) != 0 ||
        x->lib->api.xrtBOSync(xb->bo, XCL_BO_SYNC_BO_TO_DEVICE, (size_t)bytes, (size_t)off) != 0)
        return flare_error(FLARE_EDEVICE, "write of %llu bytes at offset %llu of buffer %u "
                           "failed (%s)", (unsigned long long)bytes, (unsigned long long)off,
                           b->id, lib_why(x));
    return 0;
}

static int xrt_read(fl_dev *d, const fl_dev_buf *b, uint64_t off, void *dst, uint64_t bytes)
{
    xrt_ctx *x = d->ctx;
    xbuf *xb = lookup(x, b);
    if (!xb)
        return flare_error(FLARE_EINVAL, "read of buffer %u: not a live buffer", b->id);
    if (x->lib->api.xrtBOSync(xb->bo, XCL_BO_SYNC_BO_FROM_DEVICE, (size_t)bytes, (size_t)off) !=
            0 ||
        x->lib->api.xrtBORead(xb->bo, dst, (size_t)bytes, (size_t)off) != 0)
        return flare_error(FLARE_EDEVICE, "read of %llu bytes at offset %llu of buffer %u "
                           "failed (%s)", (unsigned long long)bytes, (unsigned long long)off,
                           b->id, lib_why(x));
    return 0;
}

/* ---- launch --------------------------------------------------------------------------------- */

/* Index of the live buffer holding [addr, addr + bytes), or -1. */
static int64_t find_buf(const xrt_ctx *x, uint64_t addr, uint64_t bytes)
{
    for (uint32_t i = 0; i < x->n_bufs; i++) {
        const xbuf *b = &x->bufs[i];
        if (b->bo && addr >= b->addr && addr - b->addr <= b->size_bytes &&
            bytes <= b->size_bytes - (addr - b->addr))
            return i;
    }
    return -1;
}

/* The buffer object whose byte 0 is at offset `off` of buffer i (a cached sub-buffer). */
static xrtBufferHandle bo_at(xrt_ctx *x, uint32_t i, uint64_t off)
{
    if (off == 0)
        return x->bufs[i].bo;
    for (uint32_t s = 0; s < x->n_subs; s++)
        if (x->subs[s].parent == i && x->subs[s].off == off)
            return x->subs[s].bo;
    if (x->n_subs == x->cap_subs) {
        uint32_t cap = x->cap_subs ? x->cap_subs * 2u : 64u;
        xsub *ns = realloc(x->subs, sizeof *ns * cap);
        if (!ns) {
            flare_error(FLARE_ENOMEM, "out of memory for the sub-buffer table");
            return NULL;
        }
        x->subs = ns;
        x->cap_subs = cap;
    }
    errno = 0;
    xrtBufferHandle bo = x->lib->api.xrtBOSubAlloc(x->bufs[i].bo,
                                                   (size_t)(x->bufs[i].size_bytes - off),
                                                   (size_t)off);
    if (!bo) {
        flare_error(FLARE_EDEVICE, "xrtBOSubAlloc at offset %llu of buffer %u failed (%s)",
                    (unsigned long long)off, i + 1, lib_why(x));
        return NULL;
    }
    x->subs[x->n_subs++] = (xsub){i, off, bo};
    return bo;
}

typedef struct {
    xrt_ctx *x;
    uint32_t kernel;
    xrtRunHandle run;
    const fl_dev_region *r;
    int n;
    int idx; /* next argument index */
    xrtBufferHandle fill; /* passed for address arguments the call does not use */
} argset;

static int set_ADDR(argset *s, const char *name, uint64_t addr)
{
    const fl_dev_region *reg = NULL;
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->r[i].name, name))
            reg = &s->r[i];
    xrtBufferHandle bo = s->fill;
    if (reg) {
        if (addr % reg->align != 0)
            return flare_error(FLARE_EINVAL, "argument %s: address 0x%llx not %u-byte aligned",
                               name, (unsigned long long)addr, reg->align);
        int64_t i = find_buf(s->x, addr, reg->bytes);
        if (i < 0)
            return flare_error(FLARE_ERANGE,
                               "argument %s: %llu bytes at 0x%llx are not inside one buffer",
                               name, (unsigned long long)reg->bytes, (unsigned long long)addr);
        int want = s->x->group[s->kernel][s->idx];
        if (s->x->one_group < 0 && want >= 0 && (int)s->x->bufs[i].bank != want)
            return flare_error(FLARE_EINVAL, "argument %s: its buffer is in memory group %u, "
                               "but the xclbin connects the port of %s to group %d "
                               "(allocate it in bank %d)", name, s->x->bufs[i].bank, name,
                               want, want);
        if (!(bo = bo_at(s->x, (uint32_t)i, addr - s->x->bufs[i].addr)))
            return FLARE_EDEVICE;
    }
    if (s->x->lib->api.xrtRunSetArg(s->run, s->idx, bo) != 0)
        return flare_error(FLARE_EDEVICE, "xrtRunSetArg(%d, %s) failed (%s)", s->idx, name,
                           lib_why(s->x));
    s->idx++;
    return 0;
}

static int set_U32(argset *s, const char *name, uint32_t v)
{
    if (s->x->lib->api.xrtRunSetArg(s->run, s->idx, (unsigned int)v) != 0)
        return flare_error(FLARE_EDEVICE, "xrtRunSetArg(%d, %s) failed (%s)", s->idx, name,
                           lib_why(s->x));
    s->idx++;
    return 0;
}

static int set_F32(argset *s, const char *name, float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    return set_U32(s, name, u);
}

/* A run object of `kernel` not used by an outstanding launch. */
static xrtRunHandle free_run(const fl_dev *d, const xrt_ctx *x, uint32_t kernel)
{
    for (uint32_t r = 0; r < FL_DEV_QUEUE; r++) {
        int used = 0;
        for (uint32_t i = 0; i < d->pending; i++)
            used |= x->q[i].run == x->run[kernel][r];
        if (!used)
            return x->run[kernel][r];
    }
    return NULL; /* not reached: fl_dev_launch keeps at most FL_DEV_QUEUE outstanding */
}

static int xrt_launch(fl_dev *d, const fl_kernel_call *c)
{
    xrt_ctx *x = d->ctx;
    fl_dev_region r[6];
    int n = fl_kernel_regions(c, r);
    /* n < 0: shapes out of range; the kernel sets its status without touching memory */
    argset s = {x, c->kernel, free_run(d, x, c->kernel), r, n < 0 ? 0 : n, 0, NULL};
    for (int i = 0; i < s.n && !s.fill; i++) {
        int64_t b = find_buf(x, r[i].addr, 0);
        s.fill = b >= 0 ? x->bufs[b].bo : NULL;
    }
    for (uint32_t i = 0; i < x->n_bufs && !s.fill; i++)
        s.fill = x->bufs[i].bo;
    if (!s.fill)
        return flare_error(FLARE_EINVAL, "launch with no device buffer allocated");
    int rc = 0;
#define SET_QMM(name, kind, off) rc = rc ? rc : set_##kind(&s, #name, c->u.qmm.name);
#define SET_ATT(name, kind, off) rc = rc ? rc : set_##kind(&s, #name, c->u.att.name);
    if (c->kernel == FL_KERNEL_QMATMUL) {
        FL_QMATMUL_ARGS(SET_QMM)
    } else {
        FL_ATTENTION_ARGS(SET_ATT)
    }
#undef SET_QMM
#undef SET_ATT
    if (rc)
        return rc;
    uint64_t est_read = 0, est_write = 0;
    for (int i = 0; i < s.n; i++)
        *(r[i].write ? &est_write : &est_read) += r[i].bytes;
    if (d->pending == 0) /* a busy period starts: count from here */
        x->have_before = x->sim && x->lib->get_stats(x->dev, &x->before) == 0;
    if (x->lib->api.xrtRunStart(s.run) != 0)
        return flare_error(FLARE_EDEVICE, "xrtRunStart(%s) failed (%s)", kernel_names[c->kernel],
                           lib_why(x));
    x->q[d->pending].run = s.run;
    x->q[d->pending].est_read = est_read;
    x->q[d->pending].est_write = est_write;
    return 0;
}

/* Add the simulator's counters since the last snapshot to the kernel's (calls complete in order,
   so the difference up to a call's completion is that call's share of the busy period). */
static void add_sim_stats(fl_dev *d, xrt_ctx *x, uint32_t kernel)
{
    flsim_stats a;
    if (!x->have_before || x->lib->get_stats(x->dev, &a) != 0)
        return;
    const flsim_stats *b = &x->before;
    fl_dev_kstats *k = &d->stats.k[kernel];
    uint64_t rd = 0, wr = 0;
    uint32_t np = a.n_ports < FL_DEV_MAX_PORTS ? a.n_ports : FL_DEV_MAX_PORTS;
    for (uint32_t p = 0; p < np; p++) {
        uint64_t pr = a.port[p].rd_bytes - b->port[p].rd_bytes;
        uint64_t pw = a.port[p].wr_bytes - b->port[p].wr_bytes;
        k->port_read_bytes[p] += pr;
        k->port_write_bytes[p] += pw;
        k->port_busy_cycles[p] += a.port[p].busy_cycles - b->port[p].busy_cycles;
        rd += pr;
        wr += pw;
    }
    k->cycles += a.cycles - b->cycles;
    k->sim_wall_s += a.wall_s - b->wall_s;
    k->read_bytes += rd;
    k->write_bytes += wr;
    d->stats.cycles += a.cycles - b->cycles;
    d->stats.kernel_read_bytes += rd;
    d->stats.kernel_write_bytes += wr;
    x->before = a;
}

static int xrt_wait(fl_dev *d, uint32_t timeout_ms, uint32_t *kstatus)
{
    xrt_ctx *x = d->ctx;
    uint32_t kernel = d->pending_kernel[0];
    xrtRunHandle run = x->q[0].run;
    /* XRT reads a zero timeout as "forever": 0 here polls */
    enum ert_cmd_state st = timeout_ms ? x->lib->api.xrtRunWaitFor(run, timeout_ms)
                                       : x->lib->api.xrtRunState(run);
    if (st == ERT_CMD_STATE_TIMEOUT || st == ERT_CMD_STATE_NEW || st == ERT_CMD_STATE_QUEUED ||
        st == ERT_CMD_STATE_RUNNING || st == ERT_CMD_STATE_SUBMITTED)
        return flare_error(FLARE_ETIMEDOUT, "%s still running after %u ms",
                           kernel_names[kernel], timeout_ms);
    uint64_t est_read = x->q[0].est_read, est_write = x->q[0].est_write;
    memmove(x->q, x->q + 1, (d->pending - 1u) * sizeof x->q[0]);
    if (st != ERT_CMD_STATE_COMPLETED)
        return flare_error(FLARE_EDEVICE, "%s run ended in state %d (%s)", kernel_names[kernel],
                           (int)st, lib_why(x));
    if (x->sim) {
        if (x->lib->run_status && x->lib->run_status(run, kstatus) != 0)
            return flare_error(FLARE_EDEVICE, "flsim_run_status(%s) failed (%s)",
                               kernel_names[kernel], lib_why(x));
        add_sim_stats(d, x, kernel);
        return 0;
    }
    uint32_t off = kernel == FL_KERNEL_QMATMUL ? FL_QMATMUL_REG_STATUS : FL_ATTENTION_REG_STATUS;
    if (x->lib->api.xrtKernelReadRegister(x->kern[kernel], off, kstatus) != 0)
        return flare_error(FLARE_EDEVICE, "xrtKernelReadRegister(%s, 0x%x) failed (%s): the "
                           "status register needs the compute unit opened exclusively",
                           kernel_names[kernel], off, lib_why(x));
    if (*kstatus == FL_KST_OK) {
        d->stats.kernel_read_bytes += est_read;
        d->stats.kernel_write_bytes += est_write;
        d->stats.k[kernel].read_bytes += est_read;
        d->stats.k[kernel].write_bytes += est_write;
    }
    return 0;
}

/* The simulator reads each call's status at its ap_done, so calls queue; on a card the status
   register is read after the wait and is exact only for a call that ran alone. */
static uint32_t xrt_queue(const fl_dev *d)
{
    return ((const xrt_ctx *)d->ctx)->sim ? FL_DEV_QUEUE : 1u;
}

/* ---- the two backends ----------------------------------------------------------------------- */

const fl_dev_ops fl_dev_sim_ops = {
    .scheme = "sim",
    .open = sim_open,
    .close = xrt_close,
    .alloc = xrt_alloc,
    .free = xrt_free,
    .write = xrt_write,
    .read = xrt_read,
    .launch = xrt_launch,
    .wait = xrt_wait,
    .stats = NULL, /* counted per run in xrt_wait */
    .supports = xrt_supports,
    .queue = xrt_queue,
};

const fl_dev_ops fl_dev_xrt_ops = {
    .scheme = "xrt",
    .open = xrt_open,
    .close = xrt_close,
    .alloc = xrt_alloc,
    .free = xrt_free,
    .write = xrt_write,
    .read = xrt_read,
    .launch = xrt_launch,
    .wait = xrt_wait,
    .stats = NULL,
    .supports = xrt_supports,
    .queue = xrt_queue,
};
