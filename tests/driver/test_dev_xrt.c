/* tests/driver/test_dev_xrt.c: the xrt and sim backends (driver/dev_xrt.c) through the device
 * API: URIs and their errors (sim:mem=foo, xrt:0 without XRT: one clear message), and on the
 * simulated device (libflare_xrtsim.so, the Verilator model of hw/) buffers, bounds, launches
 * against direct calls of the hls/ kernel (bit-identical y expected), arguments at an offset
 * (sub-buffers), kernel status and launch errors, a kernel the device lacks, and the per-kernel
 * counters (cycles, per-port bytes) against the bytes each argument occupies.
 *
 * The sim tests are skipped, with the reason printed, where the library was not built (no
 * verilator). Under `make asan` they run too: flare and the tests are instrumented, the
 * dlopen'ed Verilated library is not, which ASan allows (its allocations are its own). */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../hls/hls_testlib.h"
#include "driver/dev.h"
#include "flare/error.h"
#include "hls/hls.h"
#include "tests/common/testutil.h"

/* ---- URIs: no library needed ---- */
Test(dev_xrt, bad_uris)
{
    static const struct {
        const char *uri, *msg;
        int rc;
    } cases[] = {
        {"sim:mem=foo", "mem=foo: expected mem=hbm or mem=ddr4", FLARE_EINVAL},
        {"sim:mem=", "mem=: expected", FLARE_EINVAL},
        {"sim:bogus", "unknown option 'bogus'", FLARE_EINVAL},
        {"sim:trace=", "trace=: expected a file name", FLARE_EINVAL},
        {"sim:timeout=-3", "timeout=-3", FLARE_EINVAL},
        {"sim:mem=hbm:trace=a,b", "without ','", FLARE_EINVAL},
        {"xrt:abc", "expected xrt:N[:xclbin=FILE]", FLARE_EINVAL},
        {"xrt:0:foo=1", "unknown option 'foo=1'", FLARE_EINVAL},
        {"xrt:999", "card index N in 0..255", FLARE_EINVAL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fl_dev *d = (fl_dev *)1;
        int rc = fl_dev_open(cases[i].uri, &d);
        cr_expect_eq(rc, cases[i].rc, "%s: rc %d: %s", cases[i].uri, rc, flare_last_error());
        cr_expect(d == NULL, "%s", cases[i].uri);
        cr_expect(strstr(flare_last_error(), cases[i].msg), "%s: %s", cases[i].uri,
                  flare_last_error());
        cr_expect(strstr(flare_last_error(), cases[i].uri), "%s: names the device: %s",
                  cases[i].uri, flare_last_error());
    }
}

static int xrt_installed(void)
{
    void *h = dlopen("libxrt_coreutil.so", RTLD_NOW | RTLD_LOCAL);
    if (!h)
        h = dlopen("/opt/xilinx/xrt/lib/libxrt_coreutil.so", RTLD_NOW | RTLD_LOCAL);
    if (h)
        dlclose(h);
    return h != NULL;
}

/* Without XRT, xrt:N says so in one line, through the API and the CLI. */
Test(dev_xrt, xrt_without_xrt_one_message)
{
    if (xrt_installed() || getenv("FLARE_XRT_LIB"))
        cr_skip_test("XRT is installed here: the message for its absence cannot be seen");
    const char *uris[] = {"xrt:0", "xrt", "xrt:1:xclbin=/nonexistent.xclbin"};
    for (size_t i = 0; i < 3; i++) {
        fl_dev *d = (fl_dev *)1;
        cr_expect_eq(fl_dev_open(uris[i], &d), FLARE_EUNSUP, "%s", uris[i]);
        cr_expect(d == NULL);
        const char *e = flare_last_error();
        cr_expect(strstr(e, "XRT is not installed (libxrt_coreutil.so: cannot open shared "
                            "object file)"), "%s: %s", uris[i], e);
        cr_expect(strstr(e, "install XRT or use --device sim"), "%s", e);
        cr_expect(!strchr(e, '\n'), "one line: %s", e);
    }
    char *out;
    char args[1024], m[512];
    snprintf(m, sizeof m, "%s/devxrt_%d.gguf", FLARE_TMPDIR, (int)getpid());
    snprintf(args, sizeof args, "mkmodel --preset tiny --seed 1 -o %s", m);
    cr_assert_eq(t_flare(args, &out), 0, "%s", out);
    free(out);
    snprintf(args, sizeof args, "run -m %s -p hi -n 2 --device xrt:0", m);
    int st = t_flare(args, &out);
    cr_expect_eq(st, 1, "exit %d: %s", st, out);
    cr_expect(strstr(out, "XRT is not installed") && strstr(out, "--device sim"), "%s", out);
    cr_expect(strchr(out, '\n') == out + strlen(out) - 1, "exactly one line: %s", out);
    free(out);
    snprintf(args, sizeof args, "bench -m %s --device xrt:0", m);
    st = t_flare(args, &out);
    cr_expect_eq(st, 1, "exit %d: %s", st, out);
    cr_expect(strstr(out, "XRT is not installed"), "%s", out);
    free(out);
    unlink(m);
}

/* ---- the simulated device ---- */

static fl_dev_buf upload(fl_dev *d, const void *src, uint64_t bytes, uint64_t alloc_bytes,
                         uint32_t bank, uint64_t off)
{
    fl_dev_buf b;
    cr_assert_eq(fl_dev_alloc(d, alloc_bytes, bank, &b), 0, "%s", fl_dev_last_error(d));
    if (src)
        cr_assert_eq(fl_dev_write(d, &b, off, src, bytes), 0, "%s", fl_dev_last_error(d));
    return b;
}

Test(dev_xrt, sim_buffers_and_bounds, .timeout = 60)
{
    fl_dev *d = t_open_dev("sim");
    cr_assert(fl_dev_supports(d, FL_KERNEL_QMATMUL));
    fl_dev_buf b, b2;
    cr_assert_eq(fl_dev_alloc(d, 0, 0, &b), FLARE_EINVAL);
    cr_assert_eq(fl_dev_alloc(d, 100, FL_DEV_MAX_BANKS, &b), FLARE_EINVAL);
    cr_assert_eq(fl_dev_alloc(d, 100, 1, &b), 0, "%s", fl_dev_last_error(d));
    cr_assert_eq(fl_dev_alloc(d, 70000, 0, &b2), 0, "%s", fl_dev_last_error(d));
    cr_assert_eq(b.addr % FL_DEV_ALIGN, 0, "0x%llx", (unsigned long long)b.addr);
    cr_assert_eq(b2.addr % FL_DEV_ALIGN, 0);
    cr_assert(b2.addr >= b.addr + 100 || b.addr >= b2.addr + 70000, "buffers overlap");
    uint8_t src[70000], dst[70000];
    for (size_t i = 0; i < sizeof src; i++)
        src[i] = (uint8_t)(i * 13 + 5);
    cr_assert_eq(fl_dev_write(d, &b2, 0, src, sizeof src), 0, "%s", fl_dev_last_error(d));
    cr_assert_eq(fl_dev_write(d, &b, 0, src, 100), 0);
    cr_assert_eq(fl_dev_write(d, &b, 90, src, 20), FLARE_ERANGE);
    cr_assert_eq(fl_dev_read(d, &b, 60, dst, 41), FLARE_ERANGE);
    cr_assert_eq(fl_dev_write(d, &b, UINT64_MAX, src, 2), FLARE_ERANGE);
    memset(dst, 0, sizeof dst);
    cr_assert_eq(fl_dev_read(d, &b2, 0, dst, sizeof dst), 0, "%s", fl_dev_last_error(d));
    cr_assert(memcmp(src, dst, sizeof src) == 0, "read back differs");
    cr_assert_eq(fl_dev_read(d, &b2, 12345, dst, 777), 0);
    cr_assert(memcmp(src + 12345, dst, 777) == 0, "partial read at an offset differs");
    cr_assert_eq(fl_dev_write(d, &b2, 4097, src, 3), 0);
    cr_assert_eq(fl_dev_read(d, &b2, 4096, dst, 5), 0);
    cr_assert(dst[0] == src[4096] && dst[1] == src[0] && dst[3] == src[2] && dst[4] == src[4100]);
    fl_dev_buf stale = b;
    cr_assert_eq(fl_dev_free(d, &b), 0);
    cr_assert_eq(fl_dev_write(d, &stale, 0, src, 8), FLARE_EINVAL, "use after free");
    cr_assert_eq(fl_dev_free(d, &stale), FLARE_EINVAL, "double free");
    fl_dev_stats s;
    cr_assert_eq(fl_dev_get_stats(d, &s), 0);
    cr_assert_gt(s.mem.n_ports, 0);
    cr_assert_gt(s.mem.bytes_per_cycle, 0);
    cr_assert_str_eq(s.mem.mem, "ddr4", "the default memory preset");
    cr_assert_eq(s.alloc_bytes, 70000);
    fl_dev_close(d);
    /* opened and closed again in one process */
    d = t_open_dev("sim:mem=hbm");
    cr_assert_eq(fl_dev_get_stats(d, &s), 0);
    cr_assert_str_eq(s.mem.mem, "hbm");
    fl_dev_close(d);
}

/* y = W x through the device against fl_qmatmul on the same bytes, for every weight type; the
 * arguments at offsets inside their buffers (sub-buffers) and at byte 0. */
Test(dev_xrt, sim_qmatmul_matches_hls, .timeout = 120)
{
    fl_dev *d = t_open_dev("sim");
    fl_hls_state *st;
    cr_assert_eq(fl_hls_state_open(&st), 0);
    static const struct {
        uint32_t type, n, k;
        uint64_t w_off, x_off, y_off;
    } cases[] = {
        {FL_TYPE_Q4_0, 40, 256, 0, 0, 0},
        {FL_TYPE_Q5_0, 33, 320, 4096, 128, 64},
        {FL_TYPE_Q8_0, 17, 96, 306, 4, 12},
        {FL_TYPE_Q4_0, 64, 2048, 18 * 64, 8192, 256},
    };
    uint64_t runs = 0, wsum = 0, xsum = 0, ysum = 0;
    fl_dev_stats s0;
    fl_dev_get_stats(d, &s0);
    tl_rng r = {11};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint32_t type = cases[i].type, n = cases[i].n, k = cases[i].k;
        uint64_t wbytes = (uint64_t)n * (k / 32) * tl_block_bytes(type);
        uint8_t *w = tl_random_matrix(&r, type, n, k);
        float *x = malloc(k * 4u), *y = malloc(n * 4u), *yref = malloc(n * 4u);
        tl_fill(&r, x, k, -2, 2);
        fl_dev_buf bw = upload(d, w, wbytes, cases[i].w_off + wbytes + 100, 0, cases[i].w_off);
        fl_dev_buf bx = upload(d, x, k * 4u, cases[i].x_off + k * 4u, 1, cases[i].x_off);
        fl_dev_buf by = upload(d, NULL, 0, cases[i].y_off + n * 4u, 2, 0);
        fl_kernel_call c = {.kernel = FL_KERNEL_QMATMUL};
        c.u.qmm = (fl_qmatmul_args){.w = bw.addr + cases[i].w_off, .x = bx.addr + cases[i].x_off,
                                    .y = by.addr + cases[i].y_off, .wtype = type, .n = n,
                                    .k = k, .t = 1, .eps = 1e-5f};
        for (int rep = 0; rep < 2; rep++) { /* the second run reuses the cached sub-buffers */
            uint32_t ks = 99;
            cr_assert_eq(fl_dev_run(d, &c, 60000, &ks), 0, "case %zu: %s", i,
                         fl_dev_last_error(d));
            cr_assert_eq(ks, FL_KST_OK);
            cr_assert_eq(fl_dev_read(d, &by, cases[i].y_off, y, n * 4u), 0);
            uint32_t status;
            fl_qmatmul(st, w, NULL, x, NULL, NULL, yref, type, n, k, 1, 0, 1e-5f, &status);
            cr_assert_eq(status, FL_KST_OK);
            for (uint32_t j = 0; j < n; j++)
                cr_assert(memcmp(&y[j], &yref[j], 4) == 0, "case %zu row %u: sim %a, hls %a", i,
                          j, y[j], yref[j]);
            memset(y, 0, n * 4u);
            runs++, wsum += wbytes, xsum += k * 4u, ysum += n * 4u;
        }
        fl_dev_free(d, &bw);
        fl_dev_free(d, &bx);
        fl_dev_free(d, &by);
        free(w);
        free(x);
        free(y);
        free(yref);
    }
    fl_dev_stats s;
    cr_assert_eq(fl_dev_get_stats(d, &s), 0);
    const fl_dev_kstats *k = &s.k[FL_KERNEL_QMATMUL];
    cr_assert_eq(k->runs - s0.k[FL_KERNEL_QMATMUL].runs, runs);
    cr_assert_gt(k->cycles, 0, "the simulator counts cycles");
    cr_assert_eq(s.cycles, k->cycles);
    /* the weight port (gmem0) reads every weight byte; bursts may round to whole beats */
    uint64_t beat = s.mem.data_bits / 8;
    cr_assert_geq(k->port_read_bytes[0], wsum, "gmem0 read %llu of %llu weight bytes",
                  (unsigned long long)k->port_read_bytes[0], (unsigned long long)wsum);
    cr_assert_leq(k->port_read_bytes[0], wsum + runs * 2 * beat, "gmem0 read %llu bytes for %llu",
                  (unsigned long long)k->port_read_bytes[0], (unsigned long long)wsum);
    cr_assert_geq(k->read_bytes, wsum + xsum);
    cr_assert_geq(k->write_bytes, ysum);
    uint64_t busy = 0;
    for (uint32_t p = 0; p < s.mem.n_ports; p++) {
        cr_assert_leq(k->port_busy_cycles[p], k->cycles, "port %u busier than the kernel", p);
        busy += k->port_busy_cycles[p];
    }
    cr_assert_gt(busy, 0);
    cr_assert_eq(k->port_read_bytes[1], 0, "w_up (gmem1) idle without SwiGLU");
    fl_hls_state_close(st);
    fl_dev_close(d);
}

Test(dev_xrt, sim_launch_errors_and_missing_kernel, .timeout = 60)
{
    fl_dev *d = t_open_dev("sim");
    const uint32_t n = 4, k = 64;
    tl_rng r = {6};
    uint8_t *w = tl_random_matrix(&r, FL_TYPE_Q8_0, n, k);
    float x[64];
    tl_fill(&r, x, k, -1, 1);
    fl_dev_buf bw = upload(d, w, n * 2 * 34, n * 2 * 34, 0, 0),
               bx = upload(d, x, sizeof x, sizeof x, 0, 0), by = upload(d, NULL, 0, n * 4 - 4, 0, 0);
    fl_kernel_call c = {.kernel = FL_KERNEL_QMATMUL};
    c.u.qmm = (fl_qmatmul_args){bw.addr, 0, bx.addr, 0, 0, by.addr, FL_TYPE_Q8_0, n, k, 1, 0, 0};
    uint32_t ks = 99;
    cr_assert_eq(fl_dev_wait(d, 10, &ks), FLARE_EINVAL, "nothing to wait for");
    cr_assert_eq(fl_dev_launch(d, &c), FLARE_ERANGE, "y one float short");
    cr_assert(strstr(fl_dev_last_error(d), "argument y"), "%s", fl_dev_last_error(d));
    c.u.qmm.y = by.addr + 2;
    cr_assert_eq(fl_dev_launch(d, &c), FLARE_EINVAL, "misaligned y");
    c.u.qmm.y = 0x123456780ull;
    cr_assert_eq(fl_dev_launch(d, &c), FLARE_ERANGE, "y in no buffer");

    /* the simulator has no attention kernel: reported, refused, nothing left pending */
    cr_assert_eq(fl_dev_supports(d, FL_KERNEL_ATTENTION), 0);
    cr_assert_eq(fl_dev_supports(d, 9), 0);
    fl_kernel_call a = {.kernel = FL_KERNEL_ATTENTION};
    a.u.att = (fl_attention_args){.q = bx.addr, .k = bx.addr, .v = bx.addr, .out = bx.addr,
                                  .t = 1, .n_head = 1, .n_kv = 1, .head_dim = 16};
    cr_assert_eq(fl_dev_launch(d, &a), FLARE_EUNSUP);
    cr_assert(strstr(fl_dev_last_error(d), "no attention kernel"), "%s", fl_dev_last_error(d));

    /* a shape the kernel refuses comes back as its status from wait */
    fl_dev_buf by2 = upload(d, NULL, 0, 4096, 0, 0);
    c.u.qmm.y = by2.addr;
    c.u.qmm.k = 33;
    cr_assert_eq(fl_dev_launch(d, &c), 0, "%s", fl_dev_last_error(d));
    cr_assert_eq(fl_dev_free(d, &bw), FLARE_EINVAL, "free while a launch is outstanding");
    cr_assert_eq(fl_dev_wait(d, 60000, &ks), FLARE_EDEVICE, "%s", fl_dev_last_error(d));
    cr_assert_eq(ks, FL_KST_BAD_SHAPE, "status %u", ks);
    cr_assert(strstr(fl_dev_last_error(d), "(bad shape)"), "%s", fl_dev_last_error(d));
    c.u.qmm.k = k;
    cr_assert_eq(fl_dev_run(d, &c, 60000, &ks), 0, "the device still works: %s",
                 fl_dev_last_error(d));
    fl_dev_stats s;
    fl_dev_get_stats(d, &s);
    cr_assert_eq(s.k[FL_KERNEL_QMATMUL].runs, 2);
    cr_assert_eq(s.k[FL_KERNEL_ATTENTION].runs, 0);
    cr_assert_eq(s.errors, 1);
    fl_dev_close(d);
    free(w);
}

/* Closing with a launch outstanding and with live buffers frees everything without a crash. */
Test(dev_xrt, sim_close_with_launch_outstanding, .timeout = 60)
{
    fl_dev *d = t_open_dev("sim");
    tl_rng r = {3};
    uint8_t *w = tl_random_matrix(&r, FL_TYPE_Q4_0, 32, 64);
    float x[64];
    tl_fill(&r, x, 64, -1, 1);
    fl_dev_buf bw = upload(d, w, 32 * 2 * 18, 32 * 2 * 18, 0, 0),
               bx = upload(d, x, sizeof x, sizeof x + 64, 0, 32),
               by = upload(d, NULL, 0, 32 * 4, 0, 0);
    fl_kernel_call c = {.kernel = FL_KERNEL_QMATMUL};
    c.u.qmm = (fl_qmatmul_args){bw.addr, 0, bx.addr + 32, 0, 0, by.addr, FL_TYPE_Q4_0, 32, 64,
                                1, 0, 0};
    cr_assert_eq(fl_dev_launch(d, &c), 0, "%s", fl_dev_last_error(d));
    fl_dev_close(d);
    free(w);
}

/* The xrt backend's own path (xclbin loading, status register, counters by regions: a
 * card), driven through the simulator's implementation of the same XRT C API. */
Test(dev_xrt, xrt_path_over_the_simulators_api, .timeout = 60)
{
    char xclbin[512], uri[600];
    if (t_xrt_over_sim("devxrt", uri, sizeof uri, xclbin, sizeof xclbin))
        cr_skip_test("libflare_xrtsim.so is not built (make builds it where verilator is "
                     "installed)");
    fl_dev *d = NULL;
    cr_assert_eq(fl_dev_open("xrt:0", &d), FLARE_EINVAL);
    cr_assert(strstr(flare_last_error(), "xclbin=FILE is required"), "%s", flare_last_error());
    cr_assert_eq(fl_dev_open("xrt:0:xclbin=/nonexistent/flare.xclbin", &d), FLARE_EDEVICE);
    cr_assert(strstr(flare_last_error(), "xclbin=/nonexistent/flare.xclbin"), "%s",
              flare_last_error());
    cr_assert_eq(fl_dev_open(uri, &d), 0, "%s", flare_last_error());
    cr_assert_eq(fl_dev_supports(d, FL_KERNEL_ATTENTION), 0);
    const uint32_t n = 48, k = 128;
    tl_rng r = {21};
    uint8_t *w = tl_random_matrix(&r, FL_TYPE_Q5_0, n, k);
    float x[128], y[48], yref[48];
    tl_fill(&r, x, k, -2, 2);
    uint64_t wbytes = (uint64_t)n * (k / 32) * 22;
    fl_dev_buf bw = upload(d, w, wbytes, wbytes + 22, 3, 22),
               bx = upload(d, x, sizeof x, sizeof x, 4, 0), by = upload(d, NULL, 0, sizeof y, 5, 0);
    fl_kernel_call c = {.kernel = FL_KERNEL_QMATMUL};
    c.u.qmm = (fl_qmatmul_args){.w = bw.addr + 22, .x = bx.addr, .y = by.addr,
                                .wtype = FL_TYPE_Q5_0, .n = n, .k = k, .t = 1};
    uint32_t ks = 99;
    cr_assert_eq(fl_dev_run(d, &c, 60000, &ks), 0, "%s", fl_dev_last_error(d));
    cr_assert_eq(ks, FL_KST_OK);
    cr_assert_eq(fl_dev_read(d, &by, 0, y, sizeof y), 0);
    fl_hls_state *st;
    cr_assert_eq(fl_hls_state_open(&st), 0);
    fl_qmatmul(st, w, NULL, x, NULL, NULL, yref, FL_TYPE_Q5_0, n, k, 1, 0, 0.0f, &ks);
    cr_assert(memcmp(y, yref, sizeof y) == 0, "y differs from the hls/ kernel");
    fl_dev_stats s;
    fl_dev_get_stats(d, &s);
    cr_assert_eq(s.cycles, 0, "a card reports no cycles");
    cr_assert_eq(s.k[FL_KERNEL_QMATMUL].read_bytes, wbytes + sizeof x, "bytes by the regions");
    cr_assert_eq(s.k[FL_KERNEL_QMATMUL].write_bytes, sizeof y);
    cr_assert_eq(s.mem.n_ports, 0);
    fl_hls_state_close(st);
    fl_dev_close(d);
    free(w);
    unlink(xclbin);
}
