/* tests/hls/test_qmatmul.c: the qmatmul kernel (hls/qmatmul.c) against float64 models.
 *
 * Two references per output:
 *   - exact-input model (no RMSNorm, no SwiGLU): x quantized to Q8_0 as the contract says
 *     (tests/hls/hls_testlib.h), block integer sums times both scales in float64. The kernel
 *     differs only by fp32 rounding: one per block product, (nb/8 + 3) per lane-and-tree sum,
 *     so |y - ref| <= (nb/8 + 5) * 2^-24 * sum|terms| (+ the residual add's rounding).
 *   - true model: W decoded to float64 times the unquantized (optionally RMS-normalised) x.
 *     The bound is the Q8_0 error of x: per element at most amax_block / 254 (half a step)
 *     plus amax_block * 2^-11 (fp16 scale), times |W|, plus 1e-5 relative for fp32 sums and the
 *     norm; SwiGLU propagates it with |silu'| <= 1.1. Also the NMSE against the true model
 *     stays under ggml's 5e-4 for quantized matmul (2e-3 for the SwiGLU product). */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "hls/hls.h"
#include "hls_testlib.h"

#define SENTINEL 12345.0f

typedef struct {
    uint32_t type, n, k, t, flags;
    uint64_t seed;
} qcase;

static double silu_d(double g)
{
    return g / (1.0 + exp(-g));
}

/* True-model dot of decoded row wr with xin (k,), and its error bound. */
static void true_dot(const double *wr, const double *xin, uint32_t k, double *val, double *bound)
{
    double s = 0, b = 0, sabs = 0;
    for (uint32_t blk = 0; blk < k / 32u; blk++) {
        double amax = 0;
        for (int j = 0; j < 32; j++)
            amax = fmax(amax, fabs(xin[blk * 32 + j]));
        for (int j = 0; j < 32; j++) {
            double w = wr[blk * 32 + j], xv = xin[blk * 32 + j];
            s += w * xv;
            sabs += fabs(w * xv);
            b += fabs(w) * tl_q8_err(amax);
        }
    }
    *val = s;
    *bound = b + 1e-5 * sabs + 1e-30;
}

static void run_case(const qcase *c)
{
    tl_rng r = {c->seed};
    uint32_t n = c->n, k = c->k, t = c->t, nb = k / 32u;
    int norm = (c->flags & FL_QMM_NORM) != 0, swiglu = (c->flags & FL_QMM_SWIGLU) != 0,
        resid = (c->flags & FL_QMM_RESID) != 0;
    float eps = 1e-5f;
    uint8_t *w = tl_random_matrix(&r, c->type, n, k);
    uint8_t *wu = swiglu ? tl_random_matrix(&r, c->type, n, k) : NULL;
    float *x = malloc(sizeof(float) * t * k), *nw = malloc(sizeof(float) * k);
    float *res = malloc(sizeof(float) * t * n), *y = malloc(sizeof(float) * t * n);
    tl_fill(&r, x, (size_t)t * k, -2.0, 2.0);
    tl_fill(&r, nw, k, 0.5, 1.5);
    tl_fill(&r, res, (size_t)t * n, -1.0, 1.0);
    x[5] = 40.0f;                              /* an outlier: a coarse block */
    if (k >= 64)
        memset(x + 32, 0, 32 * sizeof(float)); /* an all-zero block: scale 0 */
    for (size_t i = 0; i < (size_t)t * n; i++)
        y[i] = SENTINEL;

    fl_hls_state *st;
    cr_assert_eq(fl_hls_state_open(&st), 0);
    uint32_t status = 99;
    fl_qmatmul(st, w, wu, x, norm ? nw : NULL, resid ? res : NULL, y, c->type, n, k, t, c->flags,
               eps, &status);
    cr_assert_eq(status, FL_KST_OK, "status %u", status);

    double *xin = malloc(sizeof(double) * k), *wr = malloc(sizeof(double) * k),
           *ur = malloc(sizeof(double) * k);
    int8_t *xq = malloc(k);
    double *xd = malloc(sizeof(double) * nb);
    double worst = 0, err2 = 0, ref2 = 0;
    for (uint32_t tt = 0; tt < t; tt++) {
        const float *xr = x + (size_t)tt * k;
        double ms = 0;
        for (uint32_t i = 0; i < k; i++)
            ms += (double)xr[i] * xr[i];
        double sc = 1.0 / sqrt(ms / k + eps);
        for (uint32_t i = 0; i < k; i++)
            xin[i] = norm ? xr[i] * sc * nw[i] : xr[i];
        if (!norm)
            for (uint32_t b = 0; b < nb; b++)
                tl_quant_q8(xr + b * 32, 32, xq + b * 32, &xd[b]);
        for (uint32_t row = 0; row < n; row++) {
            float got = y[(size_t)tt * n + row];
            double rv = resid ? res[(size_t)tt * n + row] : 0.0;
            /* exact-input model */
            if (!norm && !swiglu) {
                const uint8_t *rb = w + (size_t)row * nb * tl_block_bytes(c->type);
                double s = 0, sabs = 0;
                for (uint32_t b = 0; b < nb; b++) {
                    const uint8_t *blk = rb + (size_t)b * tl_block_bytes(c->type);
                    long sumi = 0;
                    for (int j = 0; j < 32; j++)
                        sumi += (long)tl_block_int(blk, c->type, j) * xq[b * 32 + j];
                    double term = (double)sumi * tl_block_scale(blk) * xd[b];
                    s += term;
                    sabs += fabs(term);
                }
                double tol = (nb / 8.0 + 5) * ldexp(1.0, -24) * sabs +
                             ldexp(1.0, -24) * fabs(s + rv) + 1e-30;
                cr_assert(fabs(got - (s + rv)) <= tol,
                          "%s t=%u row=%u: %.9g, exact-input model %.9g (tol %g)",
                          fl_type_name(c->type), tt, row, (double)got, s + rv, tol);
            }
            /* true model */
            double g, bg;
            tl_decode_row(w, c->type, k, row, wr);
            true_dot(wr, xin, k, &g, &bg);
            double ref = g, bound = bg;
            if (swiglu) {
                double u, bu;
                tl_decode_row(wu, c->type, k, row, ur);
                true_dot(ur, xin, k, &u, &bu);
                ref = silu_d(g) * u;
                bound = 1.1 * bg * (fabs(u) + bu) + fabs(silu_d(g)) * bu + 1e-5 * fabs(ref);
            }
            ref += rv;
            bound += 1e-6 * fabs(ref);
            cr_assert(fabs(got - ref) <= bound,
                      "%s flags=%u t=%u row=%u: %.9g, float64 %.9g (bound %g)",
                      fl_type_name(c->type), c->flags, tt, row, (double)got, ref, bound);
            err2 += (got - ref) * (got - ref);
            ref2 += ref * ref;
            if (fabs(got - ref) / bound > worst)
                worst = fabs(got - ref) / bound;
        }
    }
    /* ggml's test-backend-ops accepts 5e-4 NMSE for quantized matmul against the CPU; with
     * SwiGLU two such products multiply (relative errors add), so twice that, plus margin */
    double nmse = err2 / ref2;
    cr_assert(nmse < (swiglu ? 2e-3 : 5e-4), "NMSE %g", nmse);
    cr_log_info("%s n=%u k=%u t=%u flags=%u: worst error / bound %.3f, NMSE vs float64 %.2e",
                fl_type_name(c->type), n, k, t, c->flags, worst, nmse);
    fl_hls_state_close(st);
    free(w);
    free(wu);
    free(x);
    free(nw);
    free(res);
    free(y);
    free(xin);
    free(wr);
    free(ur);
    free(xq);
    free(xd);
}

static const uint32_t types[3] = {FL_TYPE_Q4_0, FL_TYPE_Q5_0, FL_TYPE_Q8_0};

/* ---- shapes ---- */
Test(hls_qmatmul, k_not_multiple_of_256_t3)
{
    for (int i = 0; i < 3; i++)
        run_case(&(qcase){types[i], 13, 800, 3, 0, 11 + i});
}

Test(hls_qmatmul, decode_t1)
{
    for (int i = 0; i < 3; i++)
        run_case(&(qcase){types[i], 9, 2080, 1, 0, 21 + i});
}

Test(hls_qmatmul, max_t_and_max_k)
{
    run_case(&(qcase){FL_TYPE_Q8_0, 7, 512, FL_MAX_T, 0, 31});
    run_case(&(qcase){FL_TYPE_Q4_0, 3, FL_MAX_K, 2, 0, 32});
}

Test(hls_qmatmul, single_block)
{
    for (int i = 0; i < 3; i++)
        run_case(&(qcase){types[i], 5, 32, 2, 0, 41 + i});
}

/* ---- fused steps ---- */
Test(hls_qmatmul, rmsnorm_prologue)
{
    for (int i = 0; i < 3; i++)
        run_case(&(qcase){types[i], 11, 288, 2, FL_QMM_NORM, 51 + i});
}

Test(hls_qmatmul, residual_epilogue)
{
    for (int i = 0; i < 3; i++)
        run_case(&(qcase){types[i], 11, 320, 4, FL_QMM_RESID, 61 + i});
}

Test(hls_qmatmul, swiglu_epilogue)
{
    for (int i = 0; i < 3; i++)
        run_case(&(qcase){types[i], 10, 352, 3, FL_QMM_SWIGLU, 71 + i});
}

Test(hls_qmatmul, all_fused)
{
    run_case(&(qcase){FL_TYPE_Q5_0, 10, 416, 5, FL_QMM_NORM | FL_QMM_SWIGLU | FL_QMM_RESID, 81});
    run_case(&(qcase){FL_TYPE_Q4_0, 10, 416, 1, FL_QMM_NORM | FL_QMM_RESID, 82});
}

/* ---- errors: status set, nothing read or written ---- */
static void expect_status(uint32_t type, uint32_t n, uint32_t k, uint32_t t, uint32_t flags,
                          uint32_t want)
{
    fl_hls_state *st;
    cr_assert_eq(fl_hls_state_open(&st), 0);
    float y[4] = {SENTINEL, SENTINEL, SENTINEL, SENTINEL};
    uint32_t status = 99;
    /* NULL inputs: a kernel that read them before checking would crash the test */
    fl_qmatmul(st, NULL, NULL, NULL, NULL, NULL, y, type, n, k, t, flags, 1e-5f, &status);
    cr_assert_eq(status, want, "type %u n %u k %u t %u flags %u: status %u, expected %u (%s)", type,
                 n, k, t, flags, status, want, fl_kstatus_name(want));
    cr_assert_eq(fl_qmatmul_check(type, n, k, t, flags), want);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(y[i], SENTINEL, "y written on error");
    fl_hls_state_close(st);
}

Test(hls_qmatmul, bad_arguments)
{
    expect_status(FL_TYPE_Q4_0, 4, 33, 1, 0, FL_KST_BAD_SHAPE);
    expect_status(FL_TYPE_Q4_0, 4, 0, 1, 0, FL_KST_BAD_SHAPE);
    expect_status(FL_TYPE_Q4_0, 0, 32, 1, 0, FL_KST_BAD_SHAPE);
    expect_status(FL_TYPE_Q4_0, 4, 32, 0, 0, FL_KST_BAD_SHAPE);
    expect_status(FL_TYPE_Q8_0, 4, FL_MAX_K + 32, 1, 0, FL_KST_RANGE);
    expect_status(FL_TYPE_Q8_0, 4, 64, FL_MAX_T + 1, 0, FL_KST_RANGE);
    expect_status(FL_TYPE_Q8_0, FL_MAX_N + 1, 64, 1, 0, FL_KST_RANGE);
    expect_status(FL_TYPE_F16, 4, 64, 1, 0, FL_KST_BAD_TYPE);
    expect_status(FL_TYPE_Q4_1, 4, 64, 1, 0, FL_KST_BAD_TYPE);
    expect_status(FL_TYPE_Q4_0, 4, 64, 1, 0x8, FL_KST_BAD_FLAGS);
}
