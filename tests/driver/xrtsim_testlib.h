/* tests/driver/xrtsim_testlib.h: helpers of the libflare_xrtsim.so tests (test_xrtsim*.c):
 * dlopen the library by path (FLARE_XRTSIM_LIB) and resolve the XRT C API into an fl_xrt_api
 * table as driver/dev_xrt.c does (the test is skipped when the library is not built), open a
 * device with the kernel, upload buffers, run one qmatmul through the XRT calls, and the same
 * call on fl_qmatmul (hls/) as the reference. */
#ifndef FLARE_TESTS_XRTSIM_TESTLIB_H
#define FLARE_TESTS_XRTSIM_TESTLIB_H

#include <criterion/criterion.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../hls/hls_testlib.h"
#include "hls/hls.h"
#include "sim/xrtsim.h"

#ifndef FLARE_XRTSIM_LIB
#define FLARE_XRTSIM_LIB "build/libflare_xrtsim.so"
#endif

/* ---- the library, resolved as the driver does ---- */
typedef struct {
    fl_xrt_api x;
    int (*configure)(const char *);
    const char *(*last_error)(void);
    int (*get_stats)(xrtDeviceHandle, flsim_stats *);
    int (*run_status)(xrtRunHandle, uint32_t *);
} xs_api;

static xs_api A; /* per test file; filled by xs_load() */

static inline void xs_load(void)
{
    if (access(FLARE_XRTSIM_LIB, R_OK) != 0)
        cr_skip_test("%s not built (verilator missing when make ran?): skipped", FLARE_XRTSIM_LIB);
    void *so = dlopen(FLARE_XRTSIM_LIB, RTLD_NOW | RTLD_LOCAL);
    cr_assert(so, "dlopen: %s", dlerror());
#define XS_RESOLVE(ret, name, params)                                                            \
    *(void **)&A.x.name = dlsym(so, #name);                                                      \
    cr_assert(A.x.name, "symbol %s missing", #name);
    FL_XRT_FUNCS(XS_RESOLVE)
#undef XS_RESOLVE
    *(void **)&A.configure = dlsym(so, "flsim_configure");
    *(void **)&A.last_error = dlsym(so, "flsim_last_error");
    *(void **)&A.get_stats = dlsym(so, "flsim_get_stats");
    *(void **)&A.run_status = dlsym(so, "flsim_run_status");
    cr_assert(A.configure && A.last_error && A.get_stats && A.run_status, "flsim_* missing");
}

#define ERR (A.last_error())

/* an open device with the qmatmul kernel */
typedef struct {
    xrtDeviceHandle d;
    xrtKernelHandle k;
} xs_dev;

static inline xs_dev xs_open(const char *opts)
{
    xs_dev v;
    cr_assert_eq(A.configure(opts), 0, "%s", ERR);
    v.d = A.x.xrtDeviceOpen(0);
    cr_assert(v.d, "%s", ERR);
    xuid_t uuid;
    cr_assert_eq(A.x.xrtDeviceGetXclbinUUID(v.d, uuid), 0, "%s", ERR);
    v.k = A.x.xrtPLKernelOpen(v.d, uuid, "fl_qmatmul");
    cr_assert(v.k, "%s", ERR);
    return v;
}

static inline void xs_close(xs_dev *v)
{
    cr_assert_eq(A.x.xrtKernelClose(v->k), 0, "%s", ERR);
    cr_assert_eq(A.x.xrtDeviceClose(v->d), 0, "%s", ERR);
}

/* a buffer with `bytes` of src at byte offset `off` (a sub-buffer when off > 0), synced */
typedef struct {
    xrtBufferHandle parent, bo;
} xs_buf;

static inline xs_buf xs_upload(xs_dev *v, const void *src, size_t bytes, size_t off,
                               unsigned bank)
{
    xs_buf b;
    b.parent = A.x.xrtBOAlloc(v->d, bytes + off, XRT_BO_FLAGS_NONE, bank);
    cr_assert(b.parent, "%s", ERR);
    b.bo = off ? A.x.xrtBOSubAlloc(b.parent, bytes, off) : b.parent;
    cr_assert(b.bo, "%s", ERR);
    if (src) {
        cr_assert_eq(A.x.xrtBOWrite(b.bo, src, bytes, 0), 0, "%s", ERR);
        cr_assert_eq(A.x.xrtBOSync(b.bo, XCL_BO_SYNC_BO_TO_DEVICE, bytes, 0), 0, "%s", ERR);
    }
    return b;
}

static inline void xs_free(xs_buf *b)
{
    if (b->bo != b->parent)
        cr_assert_eq(A.x.xrtBOFree(b->bo), 0, "%s", ERR);
    cr_assert_eq(A.x.xrtBOFree(b->parent), 0, "%s", ERR);
}

/* One qmatmul call: inputs as host arrays; w at byte offset w_off of its buffer, x at x_off.
   w_up, norm_w and r may be NULL (then w, ones and zeros are passed). */
typedef struct {
    const uint8_t *w, *w_up;
    size_t w_bytes, w_off, x_off;
    const float *x, *norm_w, *r;
    uint32_t wtype, n, k, t, flags;
} qmm_call;

/* Through the XRT calls. Returns the final run state; *status the kernel's status register;
   y (t, n) read back (poisoned with 0xa5 bytes before the run). */
static inline enum ert_cmd_state xs_qmatmul(xs_dev *v, const qmm_call *c, float *y,
                                            uint32_t *status)
{
    size_t x_bytes = (size_t)c->t * c->k * 4, y_bytes = (size_t)c->t * c->n * 4;
    size_t nw_bytes = (size_t)c->k * 4;
    float *ones = malloc(nw_bytes + 4), *zeros = calloc(y_bytes + 4, 1);
    for (uint32_t i = 0; i < c->k; i++)
        ones[i] = 1.0f;
    xs_buf bw = xs_upload(v, c->w, c->w_bytes ? c->w_bytes : 64, c->w_off, 0);
    xs_buf bu = xs_upload(v, c->w_up ? c->w_up : c->w, c->w_bytes ? c->w_bytes : 64, 0, 3);
    xs_buf bx = xs_upload(v, c->x, x_bytes ? x_bytes : 64, c->x_off, 1);
    xs_buf bn = xs_upload(v, c->norm_w ? c->norm_w : ones, nw_bytes ? nw_bytes : 4, 0, 1);
    xs_buf br = xs_upload(v, c->r ? c->r : zeros, y_bytes ? y_bytes : 4, 0, 2);
    xs_buf by = xs_upload(v, NULL, y_bytes ? y_bytes : 64, 0, 2);
    if (y_bytes) { /* y poisoned, on the device too */
        memset(y, 0xa5, y_bytes);
        cr_assert_eq(A.x.xrtBOWrite(by.bo, y, y_bytes, 0), 0);
        cr_assert_eq(A.x.xrtBOSync(by.bo, XCL_BO_SYNC_BO_TO_DEVICE, y_bytes, 0), 0);
    }
    xrtRunHandle r = A.x.xrtRunOpen(v->k);
    cr_assert(r, "%s", ERR);
    /* argument order of FL_QMATMUL_ARGS: w, w_up, x, norm_w, r, y, wtype, n, k, t, flags, eps */
    cr_assert_eq(A.x.xrtRunSetArg(r, 0, bw.bo), 0, "%s", ERR);
    cr_assert_eq(A.x.xrtRunSetArg(r, 1, bu.bo), 0, "%s", ERR);
    cr_assert_eq(A.x.xrtRunSetArg(r, 2, bx.bo), 0, "%s", ERR);
    cr_assert_eq(A.x.xrtRunSetArg(r, 3, bn.bo), 0, "%s", ERR);
    cr_assert_eq(A.x.xrtRunSetArg(r, 4, br.bo), 0, "%s", ERR);
    cr_assert_eq(A.x.xrtRunSetArg(r, 5, by.bo), 0, "%s", ERR);
    cr_assert_eq(A.x.xrtRunSetArg(r, 6, (unsigned)c->wtype), 0, "%s", ERR);
    cr_assert_eq(A.x.xrtRunSetArg(r, 7, (unsigned)c->n), 0, "%s", ERR);
    cr_assert_eq(A.x.xrtRunSetArg(r, 8, (unsigned)c->k), 0, "%s", ERR);
    cr_assert_eq(A.x.xrtRunSetArg(r, 9, (unsigned)c->t), 0, "%s", ERR);
    cr_assert_eq(A.x.xrtRunSetArg(r, 10, (unsigned)c->flags), 0, "%s", ERR);
    cr_assert_eq(A.x.xrtRunSetArg(r, 11, 0x358637bdu /* 1e-6f */), 0, "%s", ERR);
    cr_assert_eq(A.x.xrtRunState(r), ERT_CMD_STATE_NEW);
    cr_assert_eq(A.x.xrtRunStart(r), 0, "%s", ERR);
    enum ert_cmd_state s = A.x.xrtRunWaitFor(r, 1000);
    if (s == ERT_CMD_STATE_COMPLETED) {
        cr_assert_eq(A.run_status(r, status), 0, "%s", ERR);
        if (y_bytes) {
            cr_assert_eq(A.x.xrtBOSync(by.bo, XCL_BO_SYNC_BO_FROM_DEVICE, y_bytes, 0), 0);
            cr_assert_eq(A.x.xrtBORead(by.bo, y, y_bytes, 0), 0);
        }
    } else {
        cr_assert_eq(A.run_status(r, status), -1, "no status after an error");
    }
    cr_assert_eq(A.x.xrtRunState(r), s);
    cr_assert_eq(A.x.xrtRunClose(r), 0, "%s", ERR);
    xs_free(&bw);
    xs_free(&bu);
    xs_free(&bx);
    xs_free(&bn);
    xs_free(&br);
    xs_free(&by);
    free(ones);
    free(zeros);
    return s;
}

/* The same call on fl_qmatmul: y (t, n) (poisoned first) and the status. */
static inline uint32_t ref_qmatmul(const qmm_call *c, float *y)
{
    fl_hls_state *st;
    cr_assert_eq(fl_hls_state_open(&st), 0);
    float *ones = malloc((size_t)c->k * 4 + 4), *zeros = calloc((size_t)c->t * c->n + 1, 4);
    for (uint32_t i = 0; i < c->k; i++)
        ones[i] = 1.0f;
    uint32_t status = 99;
    memset(y, 0xa5, (size_t)c->t * c->n * 4);
    fl_qmatmul(st, c->w, c->w_up ? c->w_up : c->w, c->x, c->norm_w ? c->norm_w : ones,
               c->r ? c->r : zeros, y, c->wtype, c->n, c->k, c->t, c->flags, 1e-6f, &status);
    fl_hls_state_close(st);
    free(ones);
    free(zeros);
    return status;
}

#endif
