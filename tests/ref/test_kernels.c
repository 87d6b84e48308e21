/* tests/ref/test_kernels.c: every ISA of ref/kernels.h against the scalar definition.
 *
 * - Activation quantization: byte-identical to the scalar one (and hand-checked ties to even).
 * - Quantized matmul with every scale 1.0: all results are integers below 2^24, exact in fp32
 *   whatever the summation order, so every ISA must equal scalar exactly (the integer part).
 * - Random scales and shapes (tails of rows, tokens and k chunks, sub-ranges, strides): within
 *   1e-5 * sum |w_i x_i| of scalar: the fp32 steps run in another order (blockwise FMA), each
 *   rounding at most 2^-24 relative to the running magnitude, over at most a few hundred terms.
 * - Decode (T = 1) over hundreds of rows, exact: many row groups of the streaming kernels.
 * - Rows outside [r0, r1) and columns past r1 are never written. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "flare/fp16.h"
#include "ref/kernels.h"
#include "ref/quants.h"

static uint64_t rng_state = 0x243f6a8885a308d3ull;

static uint32_t rng_u32(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

static float rng_f(float a)
{
    return ((float)(rng_u32() & 0xffffff) / 16777216.0f * 2.0f - 1.0f) * a;
}

static const uint32_t wtypes[5] = {FL_TYPE_Q4_0, FL_TYPE_Q5_0, FL_TYPE_Q8_0, FL_TYPE_F16,
                                   FL_TYPE_F32};

static int isa_available(fl_isa isa)
{
    return isa <= fl_cpu_best_isa();
}

// ---- activation quantization --------------------------------------------------------------

Test(kernels, quantize_act_ties_to_even)
{
    /* amax = 127: d = 1, id = 127 / 127 = 1, so q = x rounded half to even */
    float x[32] = {127, 2.5f, -2.5f, 0.5f, 1.5f, -126.5f, 3.5f, -0.5f, 100.49f};
    const int want[32] = {127, 2, -2, 0, 2, -126, 4, 0, 100};
    for (int isa = 0; isa < FL_ISA_COUNT; isa++) {
        if (!isa_available((fl_isa)isa))
            continue;
        block_q8_0 b;
        fl_quantize_act_q8_0_isa((fl_isa)isa, x, &b, 1, 32);
        cr_assert_eq(b.d, 0x3c00, "%s", fl_isa_name((fl_isa)isa));
        for (int j = 0; j < 32; j++)
            cr_assert_eq(b.qs[j], want[j], "%s: q[%d] = %d, expected %d",
                         fl_isa_name((fl_isa)isa), j, b.qs[j], want[j]);
    }
}

Test(kernels, quantize_act_matches_scalar)
{
    enum { T = 7, K = 32 * 13 };
    static float x[T * K];
    static block_q8_0 ref[T * K / 32], got[T * K / 32];
    for (int rep = 0; rep < 30; rep++) {
        float scale = ldexpf(1.0f, (int)(rng_u32() % 30) - 15);
        for (int i = 0; i < T * K; i++) {
            x[i] = rng_f(scale);
            if (rng_u32() % 16 == 0) /* exact halves of the quantization step */
                x[i] = ((float)(int)(rng_u32() % 200) - 100 + 0.5f) * scale / 128;
        }
        for (int i = 0; i < 32; i++) /* an all-zero block */
            x[32 * 3 + i] = 0;
        fl_quantize_act_q8_0_isa(FL_ISA_SCALAR, x, ref, T, K);
        for (int isa = 1; isa < FL_ISA_COUNT; isa++) {
            if (!isa_available((fl_isa)isa))
                continue;
            memset(got, 0x55, sizeof got);
            fl_quantize_act_q8_0_isa((fl_isa)isa, x, got, T, K);
            cr_assert_eq(memcmp(ref, got, sizeof ref), 0, "%s differs from scalar",
                         fl_isa_name((fl_isa)isa));
        }
    }
}

/* Inf and NaN: no undefined behaviour, and every ISA writes the same bytes (as x86 converts:
 * NaN -> -128). */
Test(kernels, quantize_act_non_finite)
{
    float x[96];
    for (int i = 0; i < 96; i++)
        x[i] = (float)(i % 7) - 3;
    x[3] = INFINITY;      /* block 0: amax inf, id 0: finite -> 0, inf * 0 = NaN -> -128 */
    x[40] = NAN;          /* block 1 */
    x[70] = -INFINITY;    /* block 2 */
    block_q8_0 ref[3], got[3];
    fl_quantize_act_q8_0_isa(FL_ISA_SCALAR, x, ref, 1, 96);
    cr_assert_eq(ref[0].qs[3], -128);
    cr_assert_eq(ref[0].qs[4], 0);
    cr_assert_eq(ref[0].d, 0x7c00, "d = inf / 127 = inf");
    for (int isa = 1; isa < FL_ISA_COUNT; isa++) {
        if (!isa_available((fl_isa)isa))
            continue;
        fl_quantize_act_q8_0_isa((fl_isa)isa, x, got, 1, 96);
        for (int b = 0; b < 3; b++)
            cr_assert_eq(memcmp(&ref[b], &got[b], sizeof ref[b]), 0, "%s block %d",
                         fl_isa_name((fl_isa)isa), b);
    }
}

// ---- matmul helpers -----------------------------------------------------------------------

/* Random weight rows (n, k) of `type` in buf; unit_scale: every block d = 1.0 and random codes
 * (Q8_0 codes include -128, which files may hold). */
static void fill_weights(uint32_t type, uint8_t *buf, uint64_t rb, int64_t n, int64_t k,
                         int unit_scale)
{
    float *row = malloc((size_t)k * sizeof(float));
    for (int64_t r = 0; r < n; r++) {
        uint8_t *dst = buf + r * rb;
        if (type == FL_TYPE_F32 || type == FL_TYPE_F16) {
            for (int64_t i = 0; i < k; i++)
                row[i] = unit_scale ? (float)((int)(rng_u32() % 17) - 8) : rng_f(0.05f);
            fl_quantize_row(type, row, dst, k);
            continue;
        }
        if (!unit_scale) {
            for (int64_t i = 0; i < k; i++)
                row[i] = rng_f(0.05f) * (1 + (i / 32) % 5);
            fl_quantize_row(type, row, dst, k);
            continue;
        }
        const uint32_t bsz = fl_type_get(type)->block_bytes;
        for (int64_t b = 0; b < k / 32; b++) {
            uint8_t *blk = dst + b * bsz;
            for (uint32_t j = 2; j < bsz; j++)
                blk[j] = (uint8_t)rng_u32();
            blk[0] = 0x00; /* fp16 1.0 = 0x3c00, little-endian */
            blk[1] = 0x3c;
        }
    }
    free(row);
}

/* Activations (T, k) for `type`: floats, or Q8_0 blocks (unit_scale: d = 1, codes -127..127). */
static void fill_x(uint32_t wtype, void *x, float *xf, int64_t T, int64_t k, int unit_scale)
{
    for (int64_t i = 0; i < T * k; i++)
        xf[i] = unit_scale ? (float)((int)(rng_u32() % 255) - 127) : rng_f(2.0f);
    if (fl_matmul_x_type(wtype) == FL_TYPE_F32) {
        memcpy(x, xf, (size_t)(T * k) * sizeof(float));
    } else if (unit_scale) { /* amax forced to 127 so d = 1 exactly */
        for (int64_t i = 0; i < T * k; i += 32)
            xf[i] = 127;
        fl_quantize_act_q8_0_isa(FL_ISA_SCALAR, xf, x, T, k);
    } else {
        fl_quantize_act_q8_0_isa(FL_ISA_SCALAR, xf, x, T, k);
    }
}

/* sum_i |w_i x_i| in double for row r and token t, from dequantized values. */
static double row_magnitude(uint32_t wtype, const uint8_t *W, uint64_t rb, const void *x,
                            int64_t k, int64_t r, int64_t t, float *wd, float *xd)
{
    fl_dequantize_row(wtype, W + r * rb, wd, k);
    if (fl_matmul_x_type(wtype) == FL_TYPE_F32)
        memcpy(xd, (const float *)x + t * k, (size_t)k * sizeof(float));
    else
        fl_dequantize_row_q8_0((const block_q8_0 *)x + t * (k / 32), xd, k);
    double m = 0;
    for (int64_t i = 0; i < k; i++)
        m += fabs((double)wd[i] * xd[i]);
    return m;
}

static void check_shape(uint32_t wtype, int64_t n, int64_t k, int64_t T, int unit_scale)
{
    const uint64_t rb = fl_row_bytes(wtype, (uint64_t)k) + (rng_u32() % 2) * 64; /* padded rows */
    uint8_t *W = malloc(rb * (size_t)n);
    float *xf = malloc((size_t)(T * k) * sizeof(float));
    void *x = malloc((size_t)(T * k) * sizeof(float));
    float *wd = malloc((size_t)k * sizeof(float)), *xd = malloc((size_t)k * sizeof(float));
    const int64_t ys = n + 3;
    float *yref = malloc((size_t)(T * ys) * sizeof(float));
    float *y = malloc((size_t)(T * ys) * sizeof(float));
    fill_weights(wtype, W, rb, n, k, unit_scale);
    fill_x(wtype, x, xf, T, k, unit_scale);
    int64_t r0 = rng_u32() % 3 == 0 ? (int64_t)(rng_u32() % (uint32_t)n) : 0;
    int64_t r1 = rng_u32() % 3 == 0 ? r0 + 1 + (int64_t)(rng_u32() % (uint32_t)(n - r0)) : n;
    for (int64_t i = 0; i < T * ys; i++)
        yref[i] = -12345.0f;
    fl_matmul_rows_isa(FL_ISA_SCALAR, wtype, W, rb, k, x, T, yref, ys, r0, r1);
    for (int isa = 1; isa < FL_ISA_COUNT; isa++) {
        if (!isa_available((fl_isa)isa))
            continue;
        for (int64_t i = 0; i < T * ys; i++)
            y[i] = -12345.0f;
        fl_matmul_rows_isa((fl_isa)isa, wtype, W, rb, k, x, T, y, ys, r0, r1);
        for (int64_t t = 0; t < T; t++) {
            for (int64_t r = 0; r < ys; r++) {
                const float a = y[t * ys + r], b = yref[t * ys + r];
                if (r < r0 || r >= r1) {
                    cr_assert_eq(a, -12345.0f, "%s %s: y[%lld][%lld] outside [%lld,%lld) written",
                                 fl_isa_name((fl_isa)isa), fl_type_name(wtype), (long long)t,
                                 (long long)r, (long long)r0, (long long)r1);
                    continue;
                }
                if (unit_scale) {
                    cr_assert_eq(a, b, "%s %s n=%lld k=%lld T=%lld: y[%lld][%lld] = %.1f, "
                                 "scalar %.1f", fl_isa_name((fl_isa)isa), fl_type_name(wtype),
                                 (long long)n, (long long)k, (long long)T, (long long)t,
                                 (long long)r, a, b);
                } else {
                    double m = row_magnitude(wtype, W, rb, x, k, r, t, wd, xd);
                    cr_assert_leq(fabs((double)a - b), 1e-5 * m + 1e-30,
                                  "%s %s n=%lld k=%lld T=%lld: y[%lld][%lld] = %g, scalar %g",
                                  fl_isa_name((fl_isa)isa), fl_type_name(wtype), (long long)n,
                                  (long long)k, (long long)T, (long long)t, (long long)r, a, b);
                }
            }
        }
    }
    free(W);
    free(xf);
    free(x);
    free(wd);
    free(xd);
    free(yref);
    free(y);
}

static const int64_t ks[] = {32, 64, 288, 800, 2080};
static const int64_t Ts[] = {1, 2, 3, 4, 5, 8, 9, 17};

Test(kernels, matmul_integer_exact, .timeout = 120)
{
    for (int w = 0; w < 5; w++)
        for (int ki = 0; ki < 5; ki++)
            for (int ti = 0; ti < 8; ti++) {
                int64_t n = 1 + (int64_t)(rng_u32() % 37);
                check_shape(wtypes[w], n, ks[ki], Ts[ti], 1);
            }
}

Test(kernels, matmul_random_vs_scalar, .timeout = 120)
{
    for (int w = 0; w < 5; w++)
        for (int ki = 0; ki < 5; ki++)
            for (int ti = 0; ti < 8; ti++) {
                int64_t n = 1 + (int64_t)(rng_u32() % 37);
                check_shape(wtypes[w], n, ks[ki], Ts[ti], 0);
            }
}

/* Decode (T = 1) over hundreds of rows: many row groups, so the streaming kernels' prefetch of
 * later groups (several groups ahead for short rows, clipped at r1) runs through every case;
 * rows are padded at random and r0/r1 are random, results exact against scalar. */
Test(kernels, matmul_decode_many_rows, .timeout = 120)
{
    static const int64_t kd[] = {32, 288, 800, 2080};
    for (int w = 0; w < 5; w++)
        for (int ki = 0; ki < 4; ki++)
            for (int rep = 0; rep < 3; rep++) {
                int64_t n = 64 + (int64_t)(rng_u32() % 300);
                check_shape(wtypes[w], n, kd[ki], 1, 1);
            }
}

Test(kernels, isa_selection)
{
    fl_isa best = fl_cpu_best_isa();
    cr_assert_leq(fl_kernels_isa(), best);
    cr_assert_eq(fl_kernels_set_isa(FL_ISA_SCALAR), 0);
    cr_assert_eq(fl_kernels_isa(), FL_ISA_SCALAR);
    cr_assert_eq(fl_kernels_set_isa(best), 0);
    cr_assert_eq(fl_kernels_isa(), best);
    cr_assert_neq(fl_kernels_set_isa((fl_isa)7), 0);
    cr_assert_eq(fl_isa_from_name("AVX512"), FL_ISA_AVX512);
    cr_assert_eq(fl_isa_from_name("neon"), -1);
    cr_assert_str_eq(fl_isa_name(FL_ISA_AVX2), "avx2");
    cr_assert_eq(fl_matmul_x_type(FL_TYPE_Q4_0), FL_TYPE_Q8_0);
    cr_assert_eq(fl_matmul_x_type(FL_TYPE_F16), FL_TYPE_F32);
}
