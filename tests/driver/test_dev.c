/* tests/driver/test_dev.c: the device API (driver/dev.h) on the csim backend: URIs, buffer
 * bounds, launch errors, counters, and kernel launches through the API against direct calls of
 * the hls/ kernels on their own state (bit-identical results expected). */
#include <criterion/criterion.h>
#include <string.h>

#include "../hls/hls_testlib.h"
#include "driver/dev.h"
#include "flare/error.h"
#include "hls/hls.h"

/* ---- open ---- */
Test(dev, uris)
{
    fl_dev *d;
    cr_assert_eq(fl_dev_open("csim", &d), 0, "%s", flare_last_error());
    fl_dev_close(d);
    cr_assert_eq(fl_dev_open("csim:fast", &d), FLARE_EINVAL);
    cr_assert(d == NULL);
    cr_assert(strstr(flare_last_error(), "no parameters"), "%s", flare_last_error());
    /* xrt and sim: tests/driver/test_dev_xrt.c */
    cr_assert_neq(fl_dev_open("xrt:0:xclbin=/nonexistent/a.xclbin", &d), 0);
    cr_assert(d == NULL);
    cr_assert_eq(fl_dev_open("sim:mem=foo", &d), FLARE_EINVAL);
    cr_assert_eq(fl_dev_open("opencl:0:1", &d), FLARE_EUNSUP);
    cr_assert_eq(fl_dev_open("cuda", &d), FLARE_EUNSUP);
    cr_assert_eq(fl_dev_open("tpu:0", &d), FLARE_EINVAL);
    cr_assert(strstr(flare_last_error(), "unknown scheme 'tpu'"), "%s", flare_last_error());
    cr_assert_eq(fl_dev_open("csimx", &d), FLARE_EINVAL);
    cr_assert_eq(fl_dev_open("", &d), FLARE_EINVAL);
}

/* ---- buffers ---- */
Test(dev, buffer_bounds)
{
    fl_dev *d;
    cr_assert_eq(fl_dev_open("csim", &d), 0);
    fl_dev_buf b, b2;
    cr_assert_eq(fl_dev_alloc(d, 0, 0, &b), FLARE_EINVAL);
    cr_assert_eq(fl_dev_alloc(d, 100, FL_DEV_MAX_BANKS, &b), FLARE_EINVAL);
    cr_assert(strstr(fl_dev_last_error(d), "bank"), "%s", fl_dev_last_error(d));
    cr_assert_eq(fl_dev_alloc(d, 100, 3, &b), 0);
    cr_assert_eq(fl_dev_alloc(d, 5000, 3, &b2), 0);
    cr_assert_eq(b.addr % FL_DEV_ALIGN, 0);
    cr_assert_eq(b2.addr % FL_DEV_ALIGN, 0);
    cr_assert_eq(b.bank, 3);
    cr_assert_eq(b.size_bytes, 100);
    cr_assert(b2.addr >= b.addr + 100, "buffers overlap");

    uint8_t src[128], dst[128];
    for (int i = 0; i < 128; i++)
        src[i] = (uint8_t)(i * 7);
    cr_assert_eq(fl_dev_write(d, &b, 0, src, 100), 0);
    cr_assert_eq(fl_dev_write(d, &b, 90, src, 20), FLARE_ERANGE);
    cr_assert(strstr(fl_dev_last_error(d), "offset 90"), "%s", fl_dev_last_error(d));
    cr_assert_eq(fl_dev_write(d, &b, 101, src, 0), FLARE_ERANGE);
    cr_assert_eq(fl_dev_write(d, &b, UINT64_MAX, src, 2), FLARE_ERANGE);
    cr_assert_eq(fl_dev_read(d, &b, 60, dst, 41), FLARE_ERANGE);
    cr_assert_eq(fl_dev_read(d, &b, 60, dst, 40), 0);
    cr_assert(memcmp(dst, src + 60, 40) == 0);

    fl_dev_buf forged = b;
    forged.size_bytes = 4096; /* the caller's copy lies about the size */
    cr_assert_eq(fl_dev_write(d, &forged, 200, src, 8), FLARE_EINVAL);
    fl_dev_buf stale = b;
    cr_assert_eq(fl_dev_free(d, &b), 0);
    cr_assert_eq(b.id, 0);
    cr_assert_eq(fl_dev_free(d, &b), 0, "freeing a zeroed buffer is a no-op");
    cr_assert_eq(fl_dev_write(d, &stale, 0, src, 8), FLARE_EINVAL, "use after free");
    cr_assert_eq(fl_dev_write(d, &b, 0, src, 8), FLARE_EINVAL);

    fl_dev_stats s;
    cr_assert_eq(fl_dev_get_stats(d, &s), 0);
    cr_assert_eq(s.write_bytes, 100);
    cr_assert_eq(s.read_bytes, 40);
    cr_assert_eq(s.alloc_bytes, 5000);
    cr_assert_eq(s.alloc_peak_bytes, 5100);
    fl_dev_close(d);
}

/* ---- helpers: a buffer filled from host memory ---- */
static fl_dev_buf upload(fl_dev *d, const void *src, uint64_t bytes, uint32_t bank)
{
    fl_dev_buf b;
    cr_assert_eq(fl_dev_alloc(d, bytes, bank, &b), 0, "%s", fl_dev_last_error(d));
    if (src)
        cr_assert_eq(fl_dev_write(d, &b, 0, src, bytes), 0);
    return b;
}

/* ---- qmatmul through the API ---- */
Test(dev, qmatmul_launch_matches_direct_call)
{
    const uint32_t n = 24, k = 320, t = 3;
    tl_rng r = {5};
    uint8_t *w = tl_random_matrix(&r, FL_TYPE_Q5_0, n, k);
    uint8_t *wu = tl_random_matrix(&r, FL_TYPE_Q5_0, n, k);
    float x[3 * 320], nw[320], res[3 * 24], y_dev[3 * 24], y_dir[3 * 24];
    tl_fill(&r, x, t * k, -2, 2);
    tl_fill(&r, nw, k, 0.5, 1.5);
    tl_fill(&r, res, t * n, -1, 1);
    uint64_t wbytes = (uint64_t)n * (k / 32) * 22;
    uint32_t flags_list[4] = {0, FL_QMM_NORM, FL_QMM_RESID,
                              FL_QMM_NORM | FL_QMM_SWIGLU | FL_QMM_RESID};

    fl_dev *d;
    cr_assert_eq(fl_dev_open("csim", &d), 0);
    fl_dev_buf bw = upload(d, w, wbytes, 0), bu = upload(d, wu, wbytes, 1),
               bx = upload(d, x, sizeof x, 2), bn = upload(d, nw, sizeof nw, 2),
               br = upload(d, res, sizeof res, 3), by = upload(d, NULL, sizeof y_dev, 3);
    fl_hls_state *st;
    cr_assert_eq(fl_hls_state_open(&st), 0);
    for (int i = 0; i < 4; i++) {
        fl_kernel_call c = {.kernel = FL_KERNEL_QMATMUL};
        c.u.qmm = (fl_qmatmul_args){bw.addr, bu.addr, bx.addr, bn.addr, br.addr, by.addr,
                                    FL_TYPE_Q5_0, n, k, t, flags_list[i], 1e-6f};
        uint32_t ks = 99;
        cr_assert_eq(fl_dev_run(d, &c, 1000, &ks), 0, "%s", fl_dev_last_error(d));
        cr_assert_eq(ks, FL_KST_OK);
        cr_assert_eq(fl_dev_read(d, &by, 0, y_dev, sizeof y_dev), 0);
        uint32_t status;
        fl_qmatmul(st, w, wu, x, nw, res, y_dir, FL_TYPE_Q5_0, n, k, t, flags_list[i], 1e-6f,
                   &status);
        cr_assert_eq(status, FL_KST_OK);
        cr_assert(memcmp(y_dev, y_dir, sizeof y_dev) == 0, "flags %u: results differ",
                  flags_list[i]);
    }
    fl_dev_stats s;
    cr_assert_eq(fl_dev_get_stats(d, &s), 0);
    cr_assert_eq(s.runs[FL_KERNEL_QMATMUL], 4);
    cr_assert_eq(s.cycles, 0, "csim knows no cycles");
    /* w four times, w_up once, x four times, norm_w twice, r twice */
    cr_assert_eq(s.kernel_read_bytes, 5 * wbytes + 4 * sizeof x + 2 * sizeof nw + 2 * sizeof res);
    cr_assert_eq(s.kernel_write_bytes, 4 * sizeof y_dev);
    fl_hls_state_close(st);
    fl_dev_close(d);
    free(w);
    free(wu);
}

/* ---- launch errors ---- */
Test(dev, launch_errors)
{
    const uint32_t n = 4, k = 64, t = 2;
    tl_rng r = {6};
    uint8_t *w = tl_random_matrix(&r, FL_TYPE_Q8_0, n, k);
    float x[2 * 64];
    tl_fill(&r, x, t * k, -1, 1);
    fl_dev *d;
    cr_assert_eq(fl_dev_open("csim", &d), 0);
    fl_dev_buf bw = upload(d, w, n * 2 * 34, 0), bx = upload(d, x, sizeof x, 0),
               by = upload(d, NULL, t * n * 4 - 4, 0); /* one float short */
    fl_kernel_call c = {.kernel = FL_KERNEL_QMATMUL};
    c.u.qmm = (fl_qmatmul_args){bw.addr, 0, bx.addr, 0, 0, by.addr, FL_TYPE_Q8_0, n, k, t, 0, 0};
    uint32_t ks = 99;
    cr_assert_eq(fl_dev_wait(d, 10, &ks), FLARE_EINVAL, "nothing to wait for");
    cr_assert_eq(fl_dev_launch(d, &c), FLARE_ERANGE, "y one float short");
    cr_assert(strstr(fl_dev_last_error(d), "argument y"), "%s", fl_dev_last_error(d));
    c.u.qmm.y = by.addr + 2;
    cr_assert_eq(fl_dev_launch(d, &c), FLARE_EINVAL, "misaligned y");
    c.u.qmm.y = 0x123456780ull;
    cr_assert_eq(fl_dev_launch(d, &c), FLARE_ERANGE, "y in no buffer");
    c.kernel = 7;
    cr_assert_eq(fl_dev_launch(d, &c), FLARE_EINVAL);

    /* a kernel error status comes back from wait, the launch itself succeeds */
    c.kernel = FL_KERNEL_QMATMUL;
    c.u.qmm.k = 33;
    cr_assert_eq(fl_dev_launch(d, &c), 0, "%s", fl_dev_last_error(d));
    float yb[2];
    cr_assert_eq(fl_dev_read(d, &by, 0, yb, sizeof yb), FLARE_EINVAL, "read while outstanding");
    cr_assert(strstr(fl_dev_last_error(d), "outstanding"), "%s", fl_dev_last_error(d));
    cr_assert_eq(fl_dev_run(d, &c, 10, &ks), FLARE_EINVAL, "run while one is outstanding");
    cr_assert_eq(fl_dev_wait(d, 10, &ks), FLARE_EDEVICE);
    cr_assert_eq(ks, FL_KST_BAD_SHAPE);
    cr_assert(strstr(fl_dev_last_error(d), "status 2 (bad shape)"), "%s", fl_dev_last_error(d));
    fl_dev_stats s;
    fl_dev_get_stats(d, &s);
    cr_assert_eq(s.runs[FL_KERNEL_QMATMUL], 1);
    cr_assert_eq(s.errors, 1);
    cr_assert_eq(s.kernel_read_bytes, 0);
    fl_dev_close(d);
    free(w);
}

/* ---- attention through the API: the KV cache persists across launches ---- */
Test(dev, attention_launch_matches_direct_call)
{
    const uint32_t nh = 8, nkv = 2, hd = 64, nrot = 64;
    tl_rng r = {8};
    fl_dev *d;
    cr_assert_eq(fl_dev_open("csim", &d), 0);
    fl_hls_state *st;
    cr_assert_eq(fl_hls_state_open(&st), 0);
    uint32_t steps[3][2] = {{0, 4}, {4, 1}, {5, 2}};
    for (uint32_t flags = 0; flags <= FL_ATT_KV_INT8; flags++)
        for (int i = 0; i < 3; i++) {
            uint32_t pos = steps[i][0], t = steps[i][1];
            size_t nq = (size_t)t * nh * hd, nk = (size_t)t * nkv * hd;
            float *q = calloc(nq, 4), *kk = calloc(nk, 4), *v = calloc(nk, 4),
                  *cs = calloc((size_t)t * nrot, 4), *o_dev = calloc(nq, 4), *o_dir = calloc(nq, 4);
            tl_fill(&r, q, nq, -2, 2);
            tl_fill(&r, kk, nk, -1, 1);
            tl_fill(&r, v, nk, -1, 1);
            fl_rope_table(cs, pos, t, nrot, 10000.0f);
            fl_dev_buf bq = upload(d, q, nq * 4, 0), bk = upload(d, kk, nk * 4, 1),
                       bv = upload(d, v, nk * 4, 2), bc = upload(d, cs, (size_t)t * nrot * 4, 3),
                       bo = upload(d, NULL, nq * 4, 4);
            fl_kernel_call c = {.kernel = FL_KERNEL_ATTENTION};
            c.u.att = (fl_attention_args){bq.addr, bk.addr, bv.addr, bc.addr, bo.addr, 5, pos, t,
                                          nh, nkv, hd, nrot, flags};
            cr_assert_eq(fl_dev_run(d, &c, 1000, NULL), 0, "%s", fl_dev_last_error(d));
            cr_assert_eq(fl_dev_read(d, &bo, 0, o_dev, nq * 4), 0);
            uint32_t status;
            fl_attention(st, q, kk, v, cs, o_dir, 5, pos, t, nh, nkv, hd, nrot, flags, &status);
            cr_assert_eq(status, FL_KST_OK);
            cr_assert(memcmp(o_dev, o_dir, nq * 4) == 0, "flags %u step %d differ", flags, i);
            fl_dev_buf *bs[5] = {&bq, &bk, &bv, &bc, &bo};
            for (int j = 0; j < 5; j++)
                cr_assert_eq(fl_dev_free(d, bs[j]), 0);
            free(q);
            free(kk);
            free(v);
            free(cs);
            free(o_dev);
            free(o_dir);
        }
    fl_dev_stats s;
    fl_dev_get_stats(d, &s);
    cr_assert_eq(s.runs[FL_KERNEL_ATTENTION], 6);
    cr_assert_eq(s.alloc_bytes, 0);
    fl_hls_state_close(st);
    fl_dev_close(d);
}

/* ---- two csim devices do not share kernel state ---- */
static void att_launch(fl_dev *d, const float *q, const float *kv, const float *cs, uint32_t pos,
                       uint32_t t, float *out)
{
    const uint32_t nh = 2, nkv = 1, hd = 16;
    fl_dev_buf bq = upload(d, q, (size_t)t * nh * hd * 4, 0),
               bk = upload(d, kv, (size_t)t * nkv * hd * 4, 0),
               bc = upload(d, cs, (size_t)t * hd * 4, 0),
               bo = upload(d, NULL, (size_t)t * nh * hd * 4, 0);
    fl_kernel_call c = {.kernel = FL_KERNEL_ATTENTION};
    c.u.att = (fl_attention_args){bq.addr, bk.addr, bk.addr, bc.addr, bo.addr, 0, pos, t, nh, nkv,
                                  hd, hd, 0};
    cr_assert_eq(fl_dev_run(d, &c, 1000, NULL), 0, "%s", fl_dev_last_error(d));
    cr_assert_eq(fl_dev_read(d, &bo, 0, out, (size_t)t * nh * hd * 4), 0);
}

Test(dev, devices_have_separate_kv_caches)
{
    tl_rng r = {12};
    float qa[2 * 32], ka[2 * 16], qb[2 * 32], kb[2 * 16], qz[32], kz[16], cs[2 * 16];
    tl_fill(&r, qa, 64, -2, 2);
    tl_fill(&r, ka, 32, -1, 1);
    tl_fill(&r, qb, 64, -2, 2);
    tl_fill(&r, kb, 32, -1, 1);
    tl_fill(&r, qz, 32, -2, 2);
    tl_fill(&r, kz, 16, -1, 1);
    fl_rope_table(cs, 0, 2, 16, 10000.0f);
    fl_dev *da, *db;
    cr_assert_eq(fl_dev_open("csim", &da), 0);
    cr_assert_eq(fl_dev_open("csim", &db), 0);
    float out[64], ref[64];
    att_launch(da, qa, ka, cs, 0, 2, out); /* sequence A on device a */
    att_launch(db, qb, kb, cs, 0, 2, out); /* sequence B on device b, same layer and positions */
    float cs2[16];
    fl_rope_table(cs2, 2, 1, 16, 10000.0f);
    att_launch(da, qz, kz, cs2, 2, 1, out); /* decode on a: must see A's cache, not B's */

    fl_hls_state *st;
    cr_assert_eq(fl_hls_state_open(&st), 0);
    uint32_t status;
    fl_attention(st, qa, ka, ka, cs, ref, 0, 0, 2, 2, 1, 16, 16, 0, &status);
    fl_attention(st, qz, kz, kz, cs2, ref, 0, 2, 1, 2, 1, 16, 16, 0, &status);
    cr_assert_eq(status, FL_KST_OK);
    cr_assert(memcmp(out, ref, 32 * sizeof(float)) == 0, "device a saw another device's cache");
    fl_hls_state_close(st);
    fl_dev_close(da);
    fl_dev_close(db);
}

/* ---- random calls: every one ends in an error code or a kernel status, none crashes ----
 * (run under `make asan` this also checks no kernel touches memory outside its buffers) */
static uint32_t pick_u32(tl_rng *r)
{
    static const uint32_t v[] = {0, 1, 2, 3, 5, 8, 16, 31, 32, 33, 64, 96, 128, 1024,
                                 FL_MAX_T, FL_MAX_CTX, FL_MAX_K, 0xffffffffu};
    return tl_next(r) % 3 == 0 ? (uint32_t)tl_next(r) : v[tl_next(r) % (sizeof v / sizeof v[0])];
}

Test(dev, random_calls_never_crash)
{
    fl_dev *d;
    cr_assert_eq(fl_dev_open("csim", &d), 0);
    fl_dev_buf b[4];
    for (int i = 0; i < 4; i++)
        b[i] = upload(d, NULL, 4096u << i, (uint32_t)i);
    tl_rng r = {77};
    uint32_t ran = 0;
    for (int it = 0; it < 3000; it++) {
        fl_kernel_call c;
        uint32_t w[13];
        for (int i = 0; i < 13; i++)
            w[i] = (uint32_t)tl_next(&r);
        uint64_t a[6];
        for (int i = 0; i < 6; i++) {
            const fl_dev_buf *bb = &b[tl_next(&r) % 4];
            uint64_t pick = tl_next(&r) % 8;
            a[i] = pick < 5 ? bb->addr : pick < 7 ? bb->addr + 4 * (tl_next(&r) % 64) : tl_next(&r);
        }
        c.kernel = (uint32_t)(tl_next(&r) % 3);
        int plausible = tl_next(&r) % 4 != 0; /* small shapes that fit the buffers */
#define P(small) (plausible ? (small) : pick_u32(&r))
        if (c.kernel == FL_KERNEL_QMATMUL) {
            static const uint32_t types[] = {FL_TYPE_Q4_0, FL_TYPE_Q5_0, FL_TYPE_Q8_0, FL_TYPE_F16};
            c.u.qmm = (fl_qmatmul_args){a[0], a[1], a[2], a[3], a[4], a[5], types[w[0] % 4],
                                        P(1 + w[1] % 8), P(32 * (1 + w[2] % 4)), P(1 + w[3] % 4),
                                        w[4] % 9, 1e-5f};
        } else {
            uint32_t nkv = 1 + w[9] % 2, hd = 2 * (1 + w[10] % 8);
            c.u.att = (fl_attention_args){a[0], a[1], a[2], a[3], a[4], P(w[5] % 4), P(w[6] % 6),
                                          P(1 + w[7] % 3), P(nkv * (1 + w[8] % 2)), P(nkv),
                                          P(hd), P(hd - 2 * (w[11] % 2)), w[12] % 3};
        }
#undef P
        int rc = fl_dev_launch(d, &c);
        if (rc == 0) {
            uint32_t ks = 99;
            rc = fl_dev_wait(d, 100, &ks);
            cr_assert(rc == 0 || (rc == FLARE_EDEVICE && ks != 0), "wait %d status %u", rc, ks);
            ran += rc == 0;
        } else {
            cr_assert(rc == FLARE_EINVAL || rc == FLARE_ERANGE, "launch %d: %s", rc,
                      fl_dev_last_error(d));
        }
    }
    cr_log_info("random calls: %u of 3000 ran to completion", ran);
    fl_dev_close(d);
}
