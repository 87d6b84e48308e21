/* tests/driver/test_xrtsim.c: libflare_xrtsim.so (sim/xrtsim.cpp), the Verilator device behind
 * the XRT C API, loaded with dlopen and resolved into an fl_xrt_api table as driver/dev_xrt.c
 * does (tests/driver/xrtsim_testlib.h). Checked here: qmatmul through the XRT calls
 * bit-identical to fl_qmatmul (hls/, linked in) for the three weight types, t > 1 and the fused
 * steps; the kernel's status for arguments it refuses; cycle and traffic counters against the
 * weight/x/y sizes; the cycle timeout; an AXI error and the reset after it; the FST trace file;
 * run order and buffer lifetimes. test_xrtsim_api.c: handles, buffers, kernels, options.
 * Skipped (with the reason) when the library is not built (verilator missing). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xrtsim_testlib.h"

/* ---- qmatmul, t = 1, no flags: bit-identical to the C kernel ---- */
Test(xrtsim, qmatmul_t1_bit_exact)
{
    xs_load();
    static const uint32_t types[3] = {FL_TYPE_Q4_0, FL_TYPE_Q5_0, FL_TYPE_Q8_0};
    static const uint32_t shapes[3][2] = {{40, 320}, {7, 96}, {64, 1024}}; /* n, k */
    tl_rng r = {0x51d};
    xs_dev v = xs_open("");
    for (int ti = 0; ti < 3; ti++)
        for (int si = 0; si < 3; si++) {
            qmm_call c = {0};
            c.wtype = types[ti];
            c.n = shapes[si][0];
            c.k = shapes[si][1];
            c.t = 1;
            c.w_bytes = (size_t)c.n * (c.k / 32) * tl_block_bytes(c.wtype);
            uint8_t *w = tl_random_matrix(&r, c.wtype, c.n, c.k);
            float *x = malloc((size_t)c.k * 4), *y = malloc((size_t)c.n * 4),
                  *want = malloc((size_t)c.n * 4);
            tl_fill(&r, x, c.k, -3, 3);
            c.w = w;
            c.x = x;
            /* w at an odd byte offset and x at a multiple of 4 in the second shape */
            c.w_off = si == 1 ? 6 : 0;
            c.x_off = si == 1 ? 4 : 0;
            uint32_t st = 99;
            cr_assert_eq(ref_qmatmul(&c, want), FL_KST_OK);
            cr_assert_eq(xs_qmatmul(&v, &c, y, &st), ERT_CMD_STATE_COMPLETED,
                         "type %u n %u k %u: %s", c.wtype, c.n, c.k, ERR);
            cr_assert_eq(st, FL_KST_OK, "type %u n %u k %u: status %u", c.wtype, c.n, c.k, st);
            cr_assert(memcmp(y, want, (size_t)c.n * 4) == 0, "type %u n %u k %u: y differs",
                      c.wtype, c.n, c.k);
            free(w);
            free(x);
            free(y);
            free(want);
        }
    flsim_stats s;
    cr_assert_eq(A.get_stats(v.d, &s), 0);
    cr_assert_eq(s.runs, 9);
    xs_close(&v);
}

/* ---- t > 1 and the fused steps: bit-exact where the RTL does them; what it refuses (status
 * FL_KST_RANGE / FL_KST_BAD_FLAGS while the C accepts) is printed as skipped; arguments the
 * C refuses must give the C's status ---- */
Test(xrtsim, qmatmul_flags_and_tokens)
{
    xs_load();
    static const uint32_t cases[][3] = {
        /* t, flags, type */
        {2, 0, FL_TYPE_Q8_0},
        {4, 0, FL_TYPE_Q4_0},
        {1, FL_QMM_NORM, FL_TYPE_Q5_0},
        {1, FL_QMM_RESID, FL_TYPE_Q8_0},
        {1, FL_QMM_SWIGLU, FL_TYPE_Q4_0},
        {3, FL_QMM_NORM | FL_QMM_RESID | FL_QMM_SWIGLU, FL_TYPE_Q8_0},
    };
    tl_rng r = {0x7a11};
    xs_dev v = xs_open("mem=hbm");
    int done = 0, skipped = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        qmm_call c = {0};
        c.t = cases[i][0];
        c.flags = cases[i][1];
        c.wtype = cases[i][2];
        c.n = 24;
        c.k = 256;
        c.w_bytes = (size_t)c.n * (c.k / 32) * tl_block_bytes(c.wtype);
        size_t ny = (size_t)c.t * c.n;
        uint8_t *w = tl_random_matrix(&r, c.wtype, c.n, c.k);
        uint8_t *wu = tl_random_matrix(&r, c.wtype, c.n, c.k);
        float *x = malloc((size_t)c.t * c.k * 4), *nw = malloc((size_t)c.k * 4),
              *res = malloc(ny * 4), *y = malloc(ny * 4), *want = malloc(ny * 4);
        tl_fill(&r, x, (size_t)c.t * c.k, -2, 2);
        tl_fill(&r, nw, c.k, 0.5, 1.5);
        tl_fill(&r, res, ny, -1, 1);
        c.w = w;
        c.w_up = wu;
        c.x = x;
        c.norm_w = nw;
        c.r = res;
        uint32_t st = 99;
        cr_assert_eq(ref_qmatmul(&c, want), FL_KST_OK);
        cr_assert_eq(xs_qmatmul(&v, &c, y, &st), ERT_CMD_STATE_COMPLETED, "%s", ERR);
        if (st == FL_KST_RANGE || st == FL_KST_BAD_FLAGS) {
            printf("xrtsim: t %u flags 0x%x: the RTL refuses it (status %u, %s): skipped\n",
                   c.t, c.flags, st, fl_kstatus_name(st));
            skipped++;
        } else {
            cr_assert_eq(st, FL_KST_OK, "t %u flags 0x%x: status %u", c.t, c.flags, st);
            cr_assert(memcmp(y, want, ny * 4) == 0, "t %u flags 0x%x: y differs", c.t, c.flags);
            done++;
        }
        free(w);
        free(wu);
        free(x);
        free(nw);
        free(res);
        free(y);
        free(want);
    }
    printf("xrtsim: t > 1 / fused steps: %d bit-exact, %d refused by the RTL\n", done, skipped);

    /* arguments the C kernel rejects: the same status, y untouched */
    static const uint32_t bad[][4] = {{3, 8, 64, 1}, {FL_TYPE_Q8_0, 0, 64, 1},
                                      {FL_TYPE_Q8_0, 4, 48, 1}, {FL_TYPE_Q8_0, 4, 64, 0},
                                      {FL_TYPE_Q8_0, 4, FL_MAX_K + 32, 1}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        qmm_call c = {0};
        c.wtype = bad[i][0];
        c.n = bad[i][1];
        c.k = bad[i][2];
        c.t = bad[i][3];
        uint8_t w[64] = {0};
        float *x = calloc((size_t)c.k + 1, 4), y[8];
        c.w = w;
        c.w_bytes = sizeof w;
        c.x = x;
        uint32_t want_st = fl_qmatmul_check(c.wtype, c.n, c.k, c.t, 0), st = 99;
        cr_assert_neq(want_st, FL_KST_OK);
        cr_assert_eq(xs_qmatmul(&v, &c, y, &st), ERT_CMD_STATE_COMPLETED, "%s", ERR);
        cr_assert_eq(st, want_st, "type %u n %u k %u t %u: status %u, want %u", c.wtype, c.n,
                     c.k, c.t, st, want_st);
        for (uint32_t j = 0; j < (size_t)c.t * c.n && j < 8; j++) {
            uint32_t u;
            memcpy(&u, &y[j], 4);
            cr_assert_eq(u, 0xa5a5a5a5u, "y written on a refused call");
        }
        free(x);
    }
    xs_close(&v);
}

/* ---- counters: cycles against the bandwidth floor, bytes per port ---- */
static void check_stats(const char *opts, const char *mem, double bpc, uint32_t lat)
{
    const uint32_t n = 256, k = 512, wt = FL_TYPE_Q8_0;
    tl_rng r = {0x57a7};
    size_t wb = (size_t)n * (k / 32) * 34;
    uint8_t *w = tl_random_matrix(&r, wt, n, k);
    float x[512], *y = malloc(n * 4);
    tl_fill(&r, x, k, -1, 1);
    xs_dev v = xs_open(opts);
    qmm_call c = {.w = w, .w_bytes = wb, .x = x, .wtype = wt, .n = n, .k = k, .t = 1};
    flsim_stats s0, s1;
    cr_assert_eq(A.get_stats(v.d, &s0), 0);
    cr_assert_eq(s0.runs, 0);
    cr_assert_eq(s0.cycles, 0);
    uint32_t st;
    cr_assert_eq(xs_qmatmul(&v, &c, y, &st), ERT_CMD_STATE_COMPLETED, "%s", ERR);
    cr_assert_eq(st, FL_KST_OK);
    cr_assert_eq(A.get_stats(v.d, &s1), 0);
    cr_assert_eq(s1.runs, 1);
    cr_assert_str_eq(s1.mem, mem);
    cr_assert_eq(s1.bytes_per_cycle, bpc);
    cr_assert_eq(s1.rd_latency, lat);
    cr_assert_eq(s1.data_bits, 512);
    cr_assert_eq(s1.n_ports, 6);
    cr_assert(s1.clock_mhz > 100 && s1.clock_mhz < 1000);
    /* the weight stream alone needs wb / bpc cycles, plus the first beat's latency */
    cr_assert(s1.cycles > wb / bpc + lat, "%s: %llu cycles for %zu weight bytes", mem,
              (unsigned long long)s1.cycles, wb);
    cr_assert(s1.wall_s > 0);
    /* w (64-byte aligned) read in whole beats: exactly its bytes (wb is a multiple of 64 here),
       x the same, y written word by word; the idle bundles move nothing */
    cr_assert_eq(wb % 64, 0);
    static const char *names[6] = {"gmem0", "gmem1", "gmem2", "gmem3", "gmem4", "gmem5"};
    uint64_t want_rd[6] = {wb, 0, sizeof x, 0, 0, 0}, want_wr[6] = {0, 0, 0, 0, 0, n * 4u};
    for (int p = 0; p < 6; p++) {
        cr_assert_str_eq(s1.port[p].name, names[p]);
        cr_assert_eq(s1.port[p].rd_bytes, want_rd[p], "%s %s: read %llu bytes, want %llu", mem,
                     names[p], (unsigned long long)s1.port[p].rd_bytes,
                     (unsigned long long)want_rd[p]);
        cr_assert_eq(s1.port[p].wr_bytes, want_wr[p], "%s %s: wrote %llu bytes", mem, names[p],
                     (unsigned long long)s1.port[p].wr_bytes);
        cr_assert(s1.port[p].busy_cycles <= s1.cycles + 64);
    }
    cr_assert(s1.port[0].busy_cycles >= wb / bpc, "the weight port is busy while it streams");
    cr_assert_eq(s1.port[1].busy_cycles, 0);
    printf("xrtsim %s: n %u k %u Q8_0: %llu cycles (floor %.0f at %.0f B/cycle), %.0f cycles/s\n",
           mem, n, k, (unsigned long long)s1.cycles, wb / bpc, bpc,
           (double)s1.cycles / s1.wall_s);
    xs_close(&v);
    free(w);
    free(y);
}

Test(xrtsim, stats_ddr4)
{
    xs_load();
    check_stats("", "ddr4", 64, 80);
}

Test(xrtsim, stats_hbm)
{
    xs_load();
    check_stats("mem=hbm", "hbm", 32, 60);
}

/* ---- the cycle timeout ends a run with an error; the device recovers ---- */
Test(xrtsim, timeout)
{
    xs_load();
    const uint32_t n = 64, k = 256;
    tl_rng r = {0x71};
    uint8_t *w = tl_random_matrix(&r, FL_TYPE_Q8_0, n, k);
    float x[256], y[64], want[64];
    tl_fill(&r, x, k, -1, 1);
    qmm_call c = {.w = w, .w_bytes = (size_t)n * 8 * 34, .x = x, .wtype = FL_TYPE_Q8_0,
                  .n = n, .k = k, .t = 1};
    /* 64 rows of 272 bytes need > 272 cycles at 64 B/cycle: 200 is too few */
    xs_dev v = xs_open("timeout=200");
    uint32_t st = 99;
    cr_assert_eq(xs_qmatmul(&v, &c, y, &st), ERT_CMD_STATE_ERROR);
    cr_assert(strstr(ERR, "timeout after 200 cycles"), "%s", ERR);
    cr_assert(strstr(ERR, "run "), "the message names the run: %s", ERR);
    cr_assert_eq(st, 99, "no status after a timeout");
    /* the next run resets the kernel first and fails the same way, cleanly */
    cr_assert_eq(xs_qmatmul(&v, &c, y, &st), ERT_CMD_STATE_ERROR);
    flsim_stats s;
    cr_assert_eq(A.get_stats(v.d, &s), 0);
    cr_assert_eq(s.runs, 0, "runs counts completed runs");
    xs_close(&v);
    /* the options applied to that one open: the next device has the default timeout */
    v = xs_open("");
    cr_assert_eq(xs_qmatmul(&v, &c, y, &st), ERT_CMD_STATE_COMPLETED, "%s", ERR);
    cr_assert_eq(ref_qmatmul(&c, want), FL_KST_OK);
    cr_assert(memcmp(y, want, sizeof y) == 0);
    xs_close(&v);
    free(w);
}

/* ---- FST trace of the runs ---- */
Test(xrtsim, trace_file)
{
    xs_load();
    char path[512], opts[600];
    mkdir(FLARE_TMPDIR, 0755);
    snprintf(path, sizeof path, "%s/xrtsim_trace_%d.fst", FLARE_TMPDIR, (int)getpid());
    unlink(path);
    snprintf(opts, sizeof opts, "trace=%s,mem=hbm", path);
    tl_rng r = {0x7ace};
    uint8_t *w = tl_random_matrix(&r, FL_TYPE_Q4_0, 8, 64);
    float x[64], y[8];
    tl_fill(&r, x, 64, -1, 1);
    qmm_call c = {.w = w, .w_bytes = 8 * 2 * 18, .x = x, .wtype = FL_TYPE_Q4_0, .n = 8, .k = 64,
                  .t = 1};
    if (A.configure(opts) != 0 && strstr(ERR, "built without tracing")) {
        free(w);
        cr_skip_test("%s: skipped", ERR);
    }
    xs_dev v = xs_open(opts);
    uint32_t st;
    cr_assert_eq(xs_qmatmul(&v, &c, y, &st), ERT_CMD_STATE_COMPLETED, "%s", ERR);
    xs_close(&v); /* closing the device finishes the file */
    FILE *f = fopen(path, "rb");
    cr_assert(f, "no trace file %s", path);
    unsigned char hdr[64];
    size_t got = fread(hdr, 1, sizeof hdr, f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    /* FST: the header block first (block type 0, FST_BL_HDR), a big-endian section length,
       start and end time (big-endian u64), then the endianness test double e in the writer's
       byte order */
    cr_assert_eq(got, sizeof hdr);
    cr_assert_eq(hdr[0], 0, "FST header block type");
    uint64_t end_time = 0;
    for (int i = 0; i < 8; i++)
        end_time = end_time << 8 | hdr[17 + i];
    cr_assert(end_time > 100, "trace end time %llu: the run's cycles",
              (unsigned long long)end_time);
    double e;
    memcpy(&e, hdr + 25, 8);
    cr_assert(e > 2.718281828 && e < 2.718281829, "FST endianness test value %g", e);
    cr_assert(size > 1000, "trace of %ld bytes", size);
    unlink(path);
    /* a trace file that cannot be created: the open fails and says so */
    cr_assert_eq(A.configure("trace=/nonexistent-dir/x.fst"), 0, "%s", ERR);
    cr_assert(A.x.xrtDeviceOpen(0) == NULL);
    cr_assert(strstr(ERR, "cannot create '/nonexistent-dir/x.fst'"), "%s", ERR);
    free(w);
}

/* ---- runs: buffers freed while a run is in flight stay valid for it; a second start
 * completes the first (the kernel takes calls in order); restarting a run reuses its args ---- */
Test(xrtsim, run_order_and_lifetimes)
{
    xs_load();
    const uint32_t n = 16, k = 128;
    tl_rng r = {0x0dd};
    uint8_t *w1 = tl_random_matrix(&r, FL_TYPE_Q5_0, n, k);
    uint8_t *w2 = tl_random_matrix(&r, FL_TYPE_Q5_0, n, k);
    size_t wb = (size_t)n * (k / 32) * 22;
    float x[128], y1[16], y2[16], want1[16], want2[16];
    tl_fill(&r, x, k, -2, 2);
    qmm_call c1 = {.w = w1, .w_bytes = wb, .x = x, .wtype = FL_TYPE_Q5_0, .n = n, .k = k,
                   .t = 1};
    qmm_call c2 = c1;
    c2.w = w2;
    cr_assert_eq(ref_qmatmul(&c1, want1), FL_KST_OK);
    cr_assert_eq(ref_qmatmul(&c2, want2), FL_KST_OK);

    xs_dev v = xs_open("");
    xs_buf bw1 = xs_upload(&v, w1, wb, 0, 0), bw2 = xs_upload(&v, w2, wb, 0, 0);
    xs_buf bx = xs_upload(&v, x, sizeof x, 0, 1);
    xs_buf by1 = xs_upload(&v, NULL, sizeof y1, 0, 2), by2 = xs_upload(&v, NULL, sizeof y2, 0, 2);
    xrtRunHandle r1 = A.x.xrtRunOpen(v.k), r2 = A.x.xrtRunOpen(v.k);
    cr_assert(r1 && r2, "%s", ERR);
    xrtBufferHandle args1[6] = {bw1.bo, bw1.bo, bx.bo, bx.bo, by1.bo, by1.bo};
    xrtBufferHandle args2[6] = {bw2.bo, bw2.bo, bx.bo, bx.bo, by2.bo, by2.bo};
    unsigned scal[6] = {FL_TYPE_Q5_0, n, k, 1, 0, 0};
    for (int i = 0; i < 6; i++) {
        cr_assert_eq(A.x.xrtRunSetArg(r1, i, args1[i]), 0, "%s", ERR);
        cr_assert_eq(A.x.xrtRunSetArg(r2, i, args2[i]), 0, "%s", ERR);
        cr_assert_eq(A.x.xrtRunSetArg(r1, 6 + i, scal[i]), 0, "%s", ERR);
        cr_assert_eq(A.x.xrtRunSetArg(r2, 6 + i, scal[i]), 0, "%s", ERR);
    }
    cr_assert_eq(A.x.xrtRunStart(r1), 0, "%s", ERR);
    cr_assert_eq(A.x.xrtRunState(r1), ERT_CMD_STATE_COMPLETED, "state completes the run");
    cr_assert_eq(A.x.xrtRunStart(r1), 0, "a run starts again with the same arguments: %s", ERR);
    cr_assert_eq(A.x.xrtRunStart(r2), 0, "%s", ERR); /* completes r1 first */
    /* the inputs freed while r2 is in flight: the run keeps them */
    xs_free(&bw2);
    xs_free(&bx);
    cr_assert_eq(A.x.xrtRunWaitFor(r2, 0), ERT_CMD_STATE_COMPLETED, "%s", ERR);
    cr_assert_eq(A.x.xrtRunWaitFor(r1, 0), ERT_CMD_STATE_COMPLETED, "%s", ERR);
    uint32_t st = 99;
    cr_assert_eq(A.run_status(r1, &st), 0);
    cr_assert_eq(st, FL_KST_OK);
    cr_assert_eq(A.run_status(r2, &st), 0);
    cr_assert_eq(st, FL_KST_OK);
    cr_assert_eq(A.x.xrtBOSync(by1.bo, XCL_BO_SYNC_BO_FROM_DEVICE, sizeof y1, 0), 0);
    cr_assert_eq(A.x.xrtBOSync(by2.bo, XCL_BO_SYNC_BO_FROM_DEVICE, sizeof y2, 0), 0);
    cr_assert_eq(A.x.xrtBORead(by1.bo, y1, sizeof y1, 0), 0);
    cr_assert_eq(A.x.xrtBORead(by2.bo, y2, sizeof y2, 0), 0);
    cr_assert(memcmp(y1, want1, sizeof y1) == 0);
    cr_assert(memcmp(y2, want2, sizeof y2) == 0, "the inputs were freed during the run");
    flsim_stats s;
    cr_assert_eq(A.get_stats(v.d, &s), 0);
    cr_assert_eq(s.runs, 3);
    cr_assert_eq(s.port[0].rd_bytes, 3 * ((wb + 63) / 64 * 64), "w read three times");
    cr_assert_eq(s.port[5].wr_bytes, 3 * sizeof y1);
    cr_assert_eq(A.x.xrtRunClose(r1), 0);
    cr_assert_eq(A.x.xrtRunClose(r2), 0);
    xs_free(&bw1);
    xs_free(&by1);
    xs_free(&by2);
    /* a device closed with a run still open: the run finishes on its own */
    xrtRunHandle r3 = A.x.xrtRunOpen(v.k);
    xs_close(&v);
    cr_assert_eq(A.x.xrtRunSetArg(r3, 6, 3u), 0, "%s", ERR);
    cr_assert_eq(A.x.xrtRunStart(r3), 0, "%s", ERR);
    cr_assert_eq(A.x.xrtRunWaitFor(r3, 0), ERT_CMD_STATE_COMPLETED, "%s", ERR);
    cr_assert_eq(A.run_status(r3, &st), 0);
    cr_assert_eq(st, FL_KST_BAD_TYPE);
    cr_assert_eq(A.x.xrtRunClose(r3), 0);
    free(w1);
    free(w2);
}

/* ---- an AXI protocol error of the memory model ends the run; the next run resets the kernel
 * and works ---- */
Test(xrtsim, axi_error_and_recovery)
{
    xs_load();
    xs_dev v = xs_open("");
    xrtRunHandle r = A.x.xrtRunOpen(v.k);
    cr_assert(r, "%s", ERR);
    /* address arguments never set are 0, outside the device memory: the first burst fails */
    unsigned scal[6] = {FL_TYPE_Q8_0, 4, 64, 1, 0, 0};
    for (int i = 0; i < 6; i++)
        cr_assert_eq(A.x.xrtRunSetArg(r, 6 + i, scal[i]), 0, "%s", ERR);
    cr_assert_eq(A.x.xrtRunStart(r), 0, "%s", ERR);
    cr_assert_eq(A.x.xrtRunWaitFor(r, 0), ERT_CMD_STATE_ERROR);
    cr_assert(strstr(ERR, "AXI error") && strstr(ERR, "outside the memory"), "%s", ERR);
    cr_assert(strstr(ERR, "port gmem"), "the message names the port: %s", ERR);
    uint32_t st;
    cr_assert_eq(A.run_status(r, &st), -1);
    cr_assert_eq(A.x.xrtRunClose(r), 0);
    tl_rng rng = {0xe77};
    uint8_t *w = tl_random_matrix(&rng, FL_TYPE_Q8_0, 4, 64);
    float x[64], y[4], want[4];
    tl_fill(&rng, x, 64, -1, 1);
    qmm_call c = {.w = w, .w_bytes = 4 * 2 * 34, .x = x, .wtype = FL_TYPE_Q8_0, .n = 4, .k = 64,
                  .t = 1};
    cr_assert_eq(xs_qmatmul(&v, &c, y, &st), ERT_CMD_STATE_COMPLETED, "%s", ERR);
    cr_assert_eq(st, FL_KST_OK);
    cr_assert_eq(ref_qmatmul(&c, want), FL_KST_OK);
    cr_assert(memcmp(y, want, sizeof y) == 0, "after the reset");
    xs_close(&v);
    free(w);
}
