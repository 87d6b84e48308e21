/* tests/hls/test_numerics.c: the numerics contract pieces (hls/numerics.h) against float64:
 * exp table and accuracy, SiLU, the 8-lane sum order, Q8 rounding (ties to even), RoPE table. */
#include <criterion/criterion.h>
#include <math.h>

#include "hls/hls.h"
#include "hls/numerics.h"
#include "hls_testlib.h"

/* ---- exp ---- */
Test(hls_numerics, exp2_table_is_rounded_2_pow_i_over_64)
{
    for (int i = 0; i < 64; i++) {
        long double v = exp2l((long double)i / 64.0L) * 1073741824.0L;
        cr_assert_eq((long double)fl_exp2_table[i], roundl(v), "T[%d] = %u, expected %.3Lf", i,
                     fl_exp2_table[i], v);
    }
}

Test(hls_numerics, exp_accuracy)
{
    /* Error budget (relative): |x| truncated to 2^-24 (6e-8), |x| log2 e truncated to 2^-23
     * in the exponent (5.8e-8), log2 e in Q32 (< 1.5e-8 at |t| = 128), table and cubic
     * (< 2e-9), the final rounding to 24 bits (6e-8): below 2.5e-7 everywhere. */
    tl_rng r = {42};
    double worst = 0;
    for (int i = 0; i < 200000; i++) {
        float x = (float)tl_uniform(&r, i < 100000 ? -20.0 : -87.0, i < 100000 ? 20.0 : 88.0);
        double ref = exp((double)x);
        double got = (double)fl_exp(x);
        double rel = fabs(got - ref) / ref;
        cr_assert(rel <= 2.5e-7, "exp(%a) = %a, expected %a (rel %g)", (double)x, got,
                  ref, rel);
        if (rel > worst)
            worst = rel;
    }
    cr_log_info("fl_exp worst relative error %g", worst);
}

Test(hls_numerics, exp_special_values)
{
    cr_assert_eq(fl_exp(0.0f), 1.0f);
    cr_assert_eq(fl_exp(-0.0f), 1.0f);
    cr_assert(isinf(fl_exp(89.0f)) && fl_exp(89.0f) > 0);
    cr_assert(isinf(fl_exp(INFINITY)));
    cr_assert_eq(fl_exp(-88.5f), 0.0f, "below 2^-126 flushes to zero");
    cr_assert_eq(fl_exp(-INFINITY), 0.0f);
    cr_assert(isnan(fl_exp(NAN)));
    float lo = fl_exp(-87.0f);
    cr_assert(lo > 0 && fabs((double)lo - exp(-87.0)) / exp(-87.0) < 1e-5);
}

Test(hls_numerics, silu)
{
    tl_rng r = {7};
    for (int i = 0; i < 100000; i++) {
        float g = (float)tl_uniform(&r, -30.0, 30.0);
        double ref = (double)g / (1.0 + exp(-(double)g));
        double got = (double)fl_silu(g);
        cr_assert(fabs(got - ref) <= 5e-7 * fabs(ref) + 1e-30, "silu(%g) = %.9g, expected %.9g",
                  (double)g, got, ref);
    }
    cr_assert_eq(fl_silu(0.0f), 0.0f);
    cr_assert_eq(fl_silu(-200.0f), -0.0f, "exp overflows to inf, g / inf = -0");
    cr_assert_eq(fl_silu(200.0f), 200.0f);
}

/* ---- lane sum order ---- */
Test(hls_numerics, lanes_order)
{
    /* 2^24 in lane 0, ones in lanes 1..7, -2^24 in lane 0 again: the lanes give exactly 7,
     * a sequential fp32 sum would give 0 (every +1 is lost next to 2^24). */
    fl_lanes a;
    fl_lanes_zero(&a);
    fl_lanes_add(&a, 0, 16777216.0f);
    for (uint32_t i = 1; i < 8; i++)
        fl_lanes_add(&a, i, 1.0f);
    fl_lanes_add(&a, 8, -16777216.0f);
    cr_assert_eq(fl_lanes_sum(&a), 7.0f);
    /* tree order: lanes 0 and 1 are added first: (2^24 + 1) rounds to 2^24 and +(-2^24) */
    fl_lanes_zero(&a);
    fl_lanes_add(&a, 0, 16777216.0f);
    fl_lanes_add(&a, 1, 1.0f);
    fl_lanes_add(&a, 2, -16777216.0f);
    fl_lanes_add(&a, 3, 1.0f);
    cr_assert_eq(fl_lanes_sum(&a), 1.0f, "(2^24 + 1) + (-2^24 + 1) = 1; pairing 0-2, 1-3 gives 2");
}

/* ---- Q8 quantization ---- */
Test(hls_numerics, q8_rounds_ties_to_even)
{
    float x[32] = {0};
    x[0] = 127.0f; /* amax 127: id = 1, products exact */
    x[1] = 2.5f;
    x[2] = 3.5f;
    x[3] = -2.5f;
    x[4] = -0.5f;
    x[5] = 0.5f;
    x[6] = 1.5f;
    x[7] = -126.5f;
    int8_t q[32];
    uint16_t d = fl_q8_quant(x, 32, q);
    cr_assert_eq(fl_fp16_to_fp32(d), 1.0f);
    int expect[8] = {127, 2, 4, -2, 0, 0, 2, -126};
    for (int i = 0; i < 8; i++)
        cr_assert_eq(q[i], expect[i], "x=%g -> %d, expected %d", (double)x[i], q[i], expect[i]);
}

Test(hls_numerics, q8_matches_float64_model_and_edges)
{
    tl_rng r = {99};
    for (int it = 0; it < 2000; it++) {
        float x[32];
        tl_fill(&r, x, 32, -3.0, 3.0);
        int8_t q[32], qr[32];
        double dr;
        uint16_t d = fl_q8_quant(x, 32, q);
        tl_quant_q8(x, 32, qr, &dr);
        cr_assert_eq((double)fl_fp16_to_fp32(d), dr);
        for (int i = 0; i < 32; i++) {
            cr_assert_eq(q[i], qr[i]);
            cr_assert(fabs((double)x[i] - q[i] * dr) <= tl_q8_err(dr * 127.0 / 1.0001 + 1e-30) +
                                                             fabs(x[i]) * 1e-6);
        }
    }
    float z[32] = {0}, nanx[32] = {0};
    int8_t q[32];
    cr_assert_eq(fl_q8_quant(z, 32, q), 0);
    for (int i = 0; i < 32; i++)
        cr_assert_eq(q[i], 0);
    nanx[3] = NAN;
    nanx[4] = -2.0f;
    fl_q8_quant(nanx, 32, q);
    cr_assert_eq(q[3], 0, "NaN quantizes to 0");
    cr_assert_eq(q[4], -127);
}

/* ---- RoPE table ---- */
Test(hls_numerics, rope_table)
{
    float cs[5 * 32 * 2];
    fl_rope_table(cs, 100, 5, 64, 10000.0f);
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 32; j++) {
            double th = (100.0 + i) * pow(10000.0, -2.0 * j / 64.0);
            cr_assert(fabs(cs[(i * 32 + j) * 2] - cos(th)) <= 6e-8);
            cr_assert(fabs(cs[(i * 32 + j) * 2 + 1] - sin(th)) <= 6e-8);
        }
}
