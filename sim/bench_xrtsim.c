/* sim/bench_xrtsim.c: simulation speed of libflare_xrtsim.so through the XRT C API (dlopen'ed
 * from the path given, as the driver does): simulated cycles per wall second for
 *   big    one qmatmul n 2048, k 2048, Q8_0, t = 1 (4.4 MB of weights)
 *   token  the matrices of one decoded token of the stories15M shape (dim 288, ffn 768, 6
 *          layers, vocab 32000; 16.1 MB of Q8_0 weights), t = 1, no fused steps
 * Usage: bench_xrtsim LIB [OPTS]   (OPTS: flsim_configure options, e.g. mem=hbm,trace=F.fst)
 * Weights are random bytes (the simulator's speed does not depend on the values). */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim/xrtsim.h"

static fl_xrt_api X;
static int (*configure)(const char *);
static const char *(*last_error)(void);
static int (*get_stats)(xrtDeviceHandle, flsim_stats *);
static int (*run_status)(xrtRunHandle, uint32_t *);

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* CPU seconds of this process (the speed on a shared machine) */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- one device with buffers for the largest matrix ---- */
typedef struct {
    xrtDeviceHandle d;
    xrtKernelHandle k;
    xrtBufferHandle w, x, y;
} bench_dev;

static int die(const char *what)
{
    fprintf(stderr, "bench_xrtsim: %s: %s\n", what, last_error());
    exit(1);
}

/* start one qmatmul, n x k Q8_0, weights at the start of the w buffer (the kernel takes it
   behind the calls in flight: ap_ctrl_chain) */
static xrtRunHandle qmm_start(bench_dev *b, uint32_t n, uint32_t k)
{
    xrtRunHandle r = X.xrtRunOpen(b->k);
    if (!r)
        die("xrtRunOpen");
    unsigned scal[6] = {8 /* Q8_0 */, n, k, 1, 0, 0};
    if (X.xrtRunSetArg(r, 0, b->w) || X.xrtRunSetArg(r, 1, b->w) || X.xrtRunSetArg(r, 2, b->x) ||
        X.xrtRunSetArg(r, 3, b->x) || X.xrtRunSetArg(r, 4, b->y) || X.xrtRunSetArg(r, 5, b->y))
        die("xrtRunSetArg");
    for (int i = 0; i < 6; i++)
        if (X.xrtRunSetArg(r, 6 + i, scal[i]))
            die("xrtRunSetArg");
    if (X.xrtRunStart(r))
        die("xrtRunStart");
    return r;
}

/* wait for a run (oldest first); the simulator's cycles so far */
static uint64_t qmm_finish(bench_dev *b, xrtRunHandle r)
{
    if (X.xrtRunWaitFor(r, 0) != ERT_CMD_STATE_COMPLETED)
        die("xrtRunWaitFor");
    uint32_t st = 99;
    if (run_status(r, &st) || st != 0)
        die("kernel status");
    X.xrtRunClose(r);
    flsim_stats s;
    get_stats(b->d, &s);
    return s.cycles;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_xrtsim LIB [OPTS]\n");
        return 2;
    }
    void *so = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!so) {
        fprintf(stderr, "bench_xrtsim: %s\n", dlerror());
        return 1;
    }
#define RESOLVE(ret, name, params) *(void **)&X.name = dlsym(so, #name);
    FL_XRT_FUNCS(RESOLVE)
#undef RESOLVE
    *(void **)&configure = dlsym(so, "flsim_configure");
    *(void **)&last_error = dlsym(so, "flsim_last_error");
    *(void **)&get_stats = dlsym(so, "flsim_get_stats");
    *(void **)&run_status = dlsym(so, "flsim_run_status");
    if (!configure || !last_error || !get_stats || !run_status || !X.xrtRunClose) {
        fprintf(stderr, "bench_xrtsim: %s lacks the XRT / flsim symbols\n", argv[1]);
        return 1;
    }
    if (configure(argc > 2 ? argv[2] : ""))
        die("flsim_configure");
    bench_dev b;
    b.d = X.xrtDeviceOpen(0);
    if (!b.d)
        die("xrtDeviceOpen");
    xuid_t uuid;
    X.xrtDeviceGetXclbinUUID(b.d, uuid);
    b.k = X.xrtPLKernelOpen(b.d, uuid, "fl_qmatmul");
    if (!b.k)
        die("xrtPLKernelOpen");
    const size_t w_bytes = (size_t)32000 * 288 / 32 * 34, x_bytes = 4 * 2048, y_bytes = 4 * 32000;
    b.w = X.xrtBOAlloc(b.d, w_bytes, 0, 0);
    b.x = X.xrtBOAlloc(b.d, x_bytes, 0, 1);
    b.y = X.xrtBOAlloc(b.d, y_bytes, 0, 2);
    if (!b.w || !b.x || !b.y)
        die("xrtBOAlloc");
    uint8_t *w = malloc(w_bytes);
    float *x = malloc(x_bytes);
    uint64_t s = 88172645463325252ull;
    for (size_t i = 0; i < w_bytes; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        w[i] = (uint8_t)s;
    }
    for (size_t i = 0; i < w_bytes; i += 34) { /* fp16 scales: small and finite */
        w[i] = (uint8_t)(s >> 8);
        w[i + 1] = 0x1c;
    }
    for (size_t i = 0; i < x_bytes / 4; i++)
        x[i] = (float)((int)(i % 17) - 8) * 0.125f;
    if (X.xrtBOWrite(b.w, w, w_bytes, 0) || X.xrtBOWrite(b.x, x, x_bytes, 0) ||
        X.xrtBOSync(b.w, XCL_BO_SYNC_BO_TO_DEVICE, w_bytes, 0) ||
        X.xrtBOSync(b.x, XCL_BO_SYNC_BO_TO_DEVICE, x_bytes, 0))
        die("upload");

    flsim_stats st;
    get_stats(b.d, &st);
    printf("bench_xrtsim: %s, mem %s (%.0f B/cycle/port, latency %u), options '%s'\n", argv[1],
           st.mem, st.bytes_per_cycle, st.rd_latency, argc > 2 ? argv[2] : "");

    /* big: one 2048 x 2048 */
    double t0 = now_s(), u0 = cpu_s();
    uint64_t c0 = qmm_finish(&b, qmm_start(&b, 2048, 2048));
    double dt = now_s() - t0, du = cpu_s() - u0;
    double wb = 2048.0 * 64 * 34;
    printf("big   n 2048 k 2048 Q8_0: %llu cycles (floor %.0f), %.3f s wall, %.3f s CPU, "
           "%.0f cycles per CPU second\n", (unsigned long long)c0, wb / st.bytes_per_cycle, dt, du,
           (double)c0 / du);

    /* token: stories15M's matrices, one decode step, started back to back (as the scheduler
       queues a layer) */
    t0 = now_s();
    u0 = cpu_s();
    uint64_t before = c0;
    double tok_bytes = 0;
    xrtRunHandle runs[43];
    int nr = 0;
    for (int layer = 0; layer < 6; layer++) {
        static const uint32_t shapes[7][2] = {{288, 288}, {288, 288}, {288, 288}, {288, 288},
                                              {768, 288}, {768, 288}, {288, 768}};
        for (int m = 0; m < 7; m++) {
            runs[nr++] = qmm_start(&b, shapes[m][0], shapes[m][1]);
            tok_bytes += (double)shapes[m][0] * shapes[m][1] / 32 * 34;
        }
    }
    runs[nr++] = qmm_start(&b, 32000, 288);
    uint64_t c1 = 0;
    for (int i = 0; i < nr; i++)
        c1 = qmm_finish(&b, runs[i]);
    tok_bytes += 32000.0 * 288 / 32 * 34;
    dt = now_s() - t0;
    du = cpu_s() - u0;
    printf("token stories15M, 43 matrices, %.1f MB Q8_0: %llu cycles (floor %.0f), %.3f s wall, "
           "%.3f s CPU, %.0f cycles per CPU second\n", tok_bytes / 1e6,
           (unsigned long long)(c1 - before), tok_bytes / st.bytes_per_cycle, dt, du,
           (double)(c1 - before) / du);
    free(w);
    free(x);
    X.xrtBOFree(b.w);
    X.xrtBOFree(b.x);
    X.xrtBOFree(b.y);
    X.xrtKernelClose(b.k);
    X.xrtDeviceClose(b.d);
    return 0;
}
