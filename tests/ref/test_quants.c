/* tests/ref/test_quants.c: the scalar ggml-exact quantizers, dequantizers and dots (ref/quants.h).
 *
 * Independent references: blocks whose bytes are worked out by hand below (scales chosen so that
 * d = +-1 and every product is exact in fp32), error bounds on random data, a float64 dot of the
 * dequantized values, and every Q8_0 block of a file llama.cpp wrote (dequantize -> quantize
 * must give its bytes back). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "flare/error.h"
#include "flare/fp16.h"
#include "host/gguf.h"
#include "ref/quants.h"

// ---- helpers ------------------------------------------------------------------------------

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rng_u32(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

/* uniform in [-a, a) */
static float rng_f(float a)
{
    return ((float)(rng_u32() & 0xffffff) / 16777216.0f * 2.0f - 1.0f) * a;
}

/* Largest error of rounding a value near d to fp16. */
static double fp16_err(double d)
{
    return fmax(d * ldexp(1, -11), ldexp(1, -25));
}

/* Packs 32 hand-derived Q4_0 codes the way ggml-common.h describes the layout. */
static void pack_q4(const int q[32], uint8_t qs[16])
{
    for (int j = 0; j < 16; j++)
        qs[j] = (uint8_t)(q[j] | (q[j + 16] << 4));
}

/* Element j's code of a Q4_0 / Q5_0 block, by ggml-common.h's layout. */
static int q4_code(const block_q4_0 *b, int j)
{
    return j < 16 ? b->qs[j] & 15 : b->qs[j - 16] >> 4;
}

static int q5_code(const block_q5_0 *b, int j)
{
    int lo = j < 16 ? b->qs[j] & 15 : b->qs[j - 16] >> 4;
    return lo | ((b->qh[j / 8] >> (j % 8)) & 1) << 4;
}

// ---- hand-worked blocks -------------------------------------------------------------------

/* Q4_0 block: the element of largest magnitude is x[0] = -8, so d = -8 / -8 = 1 and id = 1:
 * every x * id + 8.5 is exact and q = MIN(15, trunc(x + 8.5)). Worked out per element. */
static const float q4_x[32] = {-8,   7,    7.5f,  0,    -0.5f, 0.5f,  -3.2f, 2.49f,
                               1.5f, -1.5f, 6.99f, -7.99f, 3,   -3,    0.25f, -0.25f,
                               4.5f, -4.5f, 5.5f, -5.5f, 2,     -2,    1,     -1,
                               0.75f, -0.75f, 6.5f, -6.5f, 7.49f, -7.49f, 0.1f, -0.1f};
static const int q4_q[32] = {
    0,  /* -8+8.5=0.5 */  15, /* 15.5 */ 15, /* 16 clamped */ 8, /* 8.5 */
    8,  /* 8.0 */         9,  /* 9.0 */  5,  /* 5.3 */        10, /* 10.99 */
    10, /* 10.0 */        7,  /* 7.0 */  15, /* 15.49 */      0,  /* 0.51 */
    11, /* 11.5 */        5,  /* 5.5 */  8,  /* 8.75 */       8,  /* 8.25 */
    13, /* 13.0 */        4,  /* 4.0 */  14, /* 14.0 */       3,  /* 3.0 */
    10, /* 10.5 */        6,  /* 6.5 */  9,  /* 9.5 */        7,  /* 7.5 */
    9,  /* 9.25 */        7,  /* 7.75 */ 15, /* 15.0 */       2,  /* 2.0 */
    15, /* 15.99 */       1,  /* 1.01 */ 8,  /* 8.6 */        8,  /* 8.4 */
};

Test(quants, q4_0_hand_block)
{
    block_q4_0 b;
    uint8_t want[16];
    fl_quantize_row_q4_0(q4_x, &b, 32);
    pack_q4(q4_q, want);
    cr_assert_eq(b.d, 0x3c00, "d = 1.0 is fp16 0x3c00, got %04x", b.d);
    cr_assert_eq(b.qs[0], 0xd0, "qs[0] = q0 | q16 << 4 = 0 | 13 << 4");
    cr_assert_eq(b.qs[1], 0x4f, "qs[1] = 15 | 4 << 4");
    for (int j = 0; j < 16; j++)
        cr_assert_eq(b.qs[j], want[j], "qs[%d] = %02x, expected %02x", j, b.qs[j], want[j]);

    /* Max at a positive value: -x has max +8, d = 8 / -8 = -1, id = -1, so
     * q = trunc(-(-x) + 8.5): the same codes with d = -1.0 (fp16 0xbc00). */
    float neg[32];
    for (int j = 0; j < 32; j++)
        neg[j] = -q4_x[j];
    fl_quantize_row_q4_0(neg, &b, 32);
    cr_assert_eq(b.d, 0xbc00, "d = -1.0 is fp16 0xbc00, got %04x", b.d);
    cr_assert_eq(memcmp(b.qs, want, 16), 0);
}

/* Q5_0 block: 2 * q4_x, largest magnitude x[0] = -16, d = 1, q = MIN(31, trunc(x + 16.5)). */
static const int q5_q[32] = {
    0,  /* -16 */   30, /* 14 */  31, /* 15: 31.5 */ 16, /* 0 */
    15, /* -1 */    17, /* 1 */   10, /* -6.4 */     21, /* 4.98 */
    19, /* 3 */     13, /* -3 */  30, /* 13.98 */    0,  /* -15.98 */
    22, /* 6 */     10, /* -6 */  17, /* 0.5 */      16, /* -0.5 */
    25, /* 9 */     7,  /* -9 */  27, /* 11 */       5,  /* -11 */
    20, /* 4 */     12, /* -4 */  18, /* 2 */        14, /* -2 */
    18, /* 1.5 */   15, /* -1.5 */ 29, /* 13 */      3,  /* -13 */
    31, /* 14.98 */ 1,  /* -14.98 */ 16, /* 0.2 */   16, /* -0.2 */
};

Test(quants, q5_0_hand_block)
{
    float x[32];
    for (int j = 0; j < 32; j++)
        x[j] = 2 * q4_x[j];
    block_q5_0 b;
    fl_quantize_row_q5_0(x, &b, 32);
    cr_assert_eq(b.d, 0x3c00);
    /* qh: bit j set where q[j] >= 16. j 0..7: bits 1,2,3,5,7 -> 0xae; j 8..15: 8,10,12,14,15
     * -> 0xd5; j 16..23: 16,18,20,22 -> 0x55; j 24..31: 24,26,28,30,31 -> 0xd5. */
    const uint8_t qh[4] = {0xae, 0xd5, 0x55, 0xd5};
    cr_assert_eq(memcmp(b.qh, qh, 4), 0, "qh %02x %02x %02x %02x", b.qh[0], b.qh[1], b.qh[2],
                 b.qh[3]);
    for (int j = 0; j < 16; j++) {
        uint8_t want = (uint8_t)((q5_q[j] & 15) | ((q5_q[j + 16] & 15) << 4));
        cr_assert_eq(b.qs[j], want, "qs[%d] = %02x, expected %02x", j, b.qs[j], want);
    }
    /* dequantize gives (q - 16) * 1 back */
    float y[32];
    fl_dequantize_row_q5_0(&b, y, 32);
    for (int j = 0; j < 32; j++)
        cr_assert_eq(y[j], (float)(q5_q[j] - 16));
}

/* Q8_0 block with amax = 127: d = 127 / 127 = 1, id = 1, q = roundf(x) (halves away from 0). */
Test(quants, q8_0_hand_block)
{
    float x[32] = {127, -126.5f, 2.5f, -2.5f, 0.5f, -0.5f, 1.5f, -1.5f, 3.7f, -3.2f, 0,
                   100.49f, -100.51f, 64, -64, 0.49f};
    const int want[32] = {127, -127, 3, -3, 1, -1, 2, -2, 4, -3, 0, 100, -101, 64, -64, 0};
    block_q8_0 b;
    fl_quantize_row_q8_0(x, &b, 32);
    cr_assert_eq(b.d, 0x3c00);
    for (int j = 0; j < 32; j++)
        cr_assert_eq(b.qs[j], want[j], "qs[%d] = %d, expected %d", j, b.qs[j], want[j]);
}

Test(quants, zero_blocks)
{
    float x[64] = {0};
    x[32] = -0.0f;
    block_q4_0 b4[2];
    block_q5_0 b5[2];
    block_q8_0 b8[2];
    fl_quantize_row_q4_0(x, b4, 64);
    fl_quantize_row_q5_0(x, b5, 64);
    fl_quantize_row_q8_0(x, b8, 64);
    for (int i = 0; i < 2; i++) {
        /* d = 0 / -8 = -0 (fp16 0x8000), id = 0: q = trunc(8.5) = 8 */
        cr_assert_eq(b4[i].d & 0x7fff, 0);
        for (int j = 0; j < 16; j++)
            cr_assert_eq(b4[i].qs[j], 0x88);
        /* q = 16: low nibbles 0, every fifth bit set */
        cr_assert_eq(b5[i].d & 0x7fff, 0);
        for (int j = 0; j < 16; j++)
            cr_assert_eq(b5[i].qs[j], 0x00);
        for (int j = 0; j < 4; j++)
            cr_assert_eq(b5[i].qh[j], 0xff);
        cr_assert_eq(b8[i].d, 0);
        for (int j = 0; j < 32; j++)
            cr_assert_eq(b8[i].qs[j], 0);
    }
    float y[64];
    fl_dequantize_row_q4_0(b4, y, 64);
    for (int j = 0; j < 64; j++)
        cr_assert_eq(y[j], 0.0f);
}

/* A NaN or an infinity in a row (a model with such weights, or activations that overflowed)
 * must quantize without undefined behaviour (make asan runs this under UBSan, which aborts):
 * ggml's arithmetic for what is defined, a NaN's own code from to_i8 (NaN -> 0 before the
 * offset). The reference for each case is the same block with the value replaced by 0, or the
 * arithmetic worked out below. */
Test(quants, non_finite_rows_defined)
{
    float x[32], z[32];
    for (int j = 0; j < 32; j++)
        x[j] = z[j] = (float)(j - 10) * 0.125f; /* largest magnitude 21/8 at j = 31 */
    x[5] = NAN;
    z[5] = 0.0f;
    block_q4_0 a4, b4;
    block_q5_0 a5, b5;
    block_q8_0 a8, b8;
    fl_quantize_row_q4_0(x, &a4, 32);
    fl_quantize_row_q4_0(z, &b4, 32);
    fl_quantize_row_q5_0(x, &a5, 32);
    fl_quantize_row_q5_0(z, &b5, 32);
    fl_quantize_row_q8_0(x, &a8, 32);
    fl_quantize_row_q8_0(z, &b8, 32);
    /* the NaN never wins the absolute maximum (compared with <, >): same scale, same codes for
     * every other element; its own code is trunc(0) clamped: 0 in every format */
    cr_expect_eq(a4.d, b4.d);
    cr_expect_eq(a5.d, b5.d);
    cr_expect_eq(a8.d, b8.d);
    for (int j = 0; j < 32; j++) {
        cr_expect_eq(q4_code(&a4, j), j == 5 ? 0 : q4_code(&b4, j), "q4_0 element %d", j);
        cr_expect_eq(q5_code(&a5, j), j == 5 ? 0 : q5_code(&b5, j), "q5_0 element %d", j);
        cr_expect_eq(a8.qs[j], j == 5 ? 0 : b8.qs[j], "q8_0 element %d", j);
    }
    /* +inf: Q8_0 d = inf / 127 = inf, id = 1 / inf = 0: finite * 0 = 0, inf * 0 = NaN -> 0.
     * Q4_0 d = inf / -8 = -inf, id = -0: finite elements give trunc(0 + 8.5) = 8, the infinity
     * NaN -> 0. Q5_0 likewise with 16. */
    x[5] = INFINITY;
    fl_quantize_row_q4_0(x, &a4, 32);
    fl_quantize_row_q5_0(x, &a5, 32);
    fl_quantize_row_q8_0(x, &a8, 32);
    cr_expect_eq(a8.d, 0x7c00);
    cr_expect_eq(a4.d, 0xfc00);
    cr_expect_eq(a5.d, 0xfc00);
    for (int j = 0; j < 32; j++) {
        cr_expect_eq(a8.qs[j], 0, "q8_0 element %d", j);
        cr_expect_eq(q4_code(&a4, j), j == 5 ? 0 : 8, "q4_0 element %d", j);
        cr_expect_eq(q5_code(&a5, j), j == 5 ? 0 : 16, "q5_0 element %d", j);
    }
}

// ---- error bounds and idempotence on random data ------------------------------------------

Test(quants, error_bounds_random)
{
    enum { K = 32 * 64 };
    static float x[K], y[K];
    static block_q4_0 b4[K / 32];
    static block_q5_0 b5[K / 32];
    static block_q8_0 b8[K / 32];
    for (int rep = 0; rep < 20; rep++) {
        float scale = ldexpf(1.0f, (int)(rng_u32() % 20) - 10);
        for (int i = 0; i < K; i++)
            x[i] = rng_f(scale);
        fl_quantize_row_q8_0(x, b8, K);
        fl_dequantize_row_q8_0(b8, y, K);
        for (int i = 0; i < K; i++) {
            double d = fl_fp16_to_fp32(b8[i / 32].d);
            /* round-off d/2, plus |q| * (fp16 rounding of d: d * 2^-11, or 2^-25 where d is
             * an fp16 subnormal) */
            double bound = d / 2 + 127 * fp16_err(d) + 1e-30;
            cr_assert_leq(fabs((double)x[i] - y[i]), bound, "q8_0 x=%g y=%g d=%g", x[i], y[i],
                          d);
        }
        fl_quantize_row_q4_0(x, b4, K);
        fl_dequantize_row_q4_0(b4, y, K);
        for (int i = 0; i < K; i++) {
            double d = fabs(fl_fp16_to_fp32(b4[i / 32].d));
            /* d/2 away from the clamp; the clamp at +8 -> 7 costs up to d */
            double bound = d + 8 * fp16_err(d) + 1e-30;
            cr_assert_leq(fabs((double)x[i] - y[i]), bound, "q4_0 x=%g y=%g d=%g", x[i], y[i],
                          d);
        }
        fl_quantize_row_q5_0(x, b5, K);
        fl_dequantize_row_q5_0(b5, y, K);
        for (int i = 0; i < K; i++) {
            double d = fabs(fl_fp16_to_fp32(b5[i / 32].d));
            double bound = d + 16 * fp16_err(d) + 1e-30;
            cr_assert_leq(fabs((double)x[i] - y[i]), bound, "q5_0 x=%g y=%g d=%g", x[i], y[i],
                          d);
        }
    }
}

/* quantize(dequantize(q)) == q: the element of largest magnitude maps back to the same d. */
Test(quants, requantize_idempotent)
{
    enum { K = 32 * 256 };
    static float x[K], y[K];
    static uint8_t a[K * 2], b[K * 2];
    const uint32_t types[3] = {FL_TYPE_Q4_0, FL_TYPE_Q5_0, FL_TYPE_Q8_0};
    for (int i = 0; i < K; i++)
        x[i] = rng_f(1.0f) * (1 + (i / 32) % 7);
    for (int t = 0; t < 3; t++) {
        uint64_t nbytes = fl_row_bytes(types[t], K);
        cr_assert_eq(fl_quantize_row(types[t], x, a, K), 0);
        cr_assert_eq(fl_dequantize_row(types[t], a, y, K), 0);
        cr_assert_eq(fl_quantize_row(types[t], y, b, K), 0);
        cr_assert_eq(memcmp(a, b, nbytes), 0, "%s not idempotent", fl_type_name(types[t]));
    }
}

Test(quants, generic_rows_and_errors)
{
    float x[64], y[64];
    uint16_t h[64];
    for (int i = 0; i < 64; i++)
        x[i] = (float)i / 8 - 3;
    cr_assert_eq(fl_quantize_row(FL_TYPE_F16, x, h, 64), 0);
    cr_assert_eq(fl_dequantize_row(FL_TYPE_F16, h, y, 64), 0);
    for (int i = 0; i < 64; i++)
        cr_assert_eq(y[i], x[i]); /* multiples of 1/8: exact in fp16 */
    cr_assert_eq(fl_quantize_row(FL_TYPE_F32, x, y, 64), 0);
    cr_assert_eq(memcmp(x, y, sizeof x), 0);
    cr_assert_eq(fl_quantize_row(FL_TYPE_Q4_0, x, h, 33), FLARE_EINVAL);
    cr_assert(strstr(flare_last_error(), "33") != NULL, "message: %s", flare_last_error());
    cr_assert_eq(fl_dequantize_row(FL_TYPE_Q4_1, h, y, 32), FLARE_EUNSUP);
    cr_assert(fl_type_supported(FL_TYPE_Q5_0));
    cr_assert(!fl_type_supported(FL_TYPE_Q4_1));
    cr_assert(!fl_type_supported(FL_TYPE_BF16));
}

// ---- dot products against float64 --------------------------------------------------------

Test(quants, dots_vs_float64)
{
    enum { K = 32 * 24 };
    static float w[K], a[K], wd[K], ad[K];
    static block_q4_0 w4[K / 32];
    static block_q5_0 w5[K / 32];
    static block_q8_0 w8[K / 32], a8[K / 32];
    static uint16_t wh[K];
    for (int rep = 0; rep < 50; rep++) {
        for (int i = 0; i < K; i++) {
            w[i] = rng_f(0.1f);
            a[i] = rng_f(3.0f);
        }
        fl_quantize_row_q8_0(a, a8, K);
        fl_dequantize_row_q8_0(a8, ad, K);
        for (int t = 0; t < 3; t++) {
            float got;
            if (t == 0) {
                fl_quantize_row_q4_0(w, w4, K);
                fl_dequantize_row_q4_0(w4, wd, K);
                got = fl_vec_dot_q4_0_q8_0(K, w4, a8);
            } else if (t == 1) {
                fl_quantize_row_q5_0(w, w5, K);
                fl_dequantize_row_q5_0(w5, wd, K);
                got = fl_vec_dot_q5_0_q8_0(K, w5, a8);
            } else {
                fl_quantize_row_q8_0(w, w8, K);
                fl_dequantize_row_q8_0(w8, wd, K);
                got = fl_vec_dot_q8_0_q8_0(K, w8, a8);
            }
            double ref = 0, mag = 0;
            for (int i = 0; i < K; i++) {
                ref += (double)wd[i] * ad[i];
                mag += fabs((double)wd[i] * ad[i]);
            }
            /* fp32 per-block products and a sequential fp32 sum of 24 terms */
            cr_assert_leq(fabs(got - ref), 1e-5 * mag + 1e-30, "type %d: %g vs %g", t, got, ref);
        }
        double ref = 0, mag = 0;
        for (int i = 0; i < K; i++) {
            ref += (double)w[i] * a[i];
            mag += fabs((double)w[i] * a[i]);
        }
        cr_assert_leq(fabs(fl_vec_dot_f32_f32(K, w, a) - ref), 1e-6 * mag + 1e-30);
        fl_quantize_row(FL_TYPE_F16, w, wh, K);
        ref = 0;
        for (int i = 0; i < K; i++)
            ref += (double)fl_fp16_to_fp32(wh[i]) * a[i];
        cr_assert_leq(fabs(fl_vec_dot_f16_f32(K, wh, a) - ref), 1e-6 * mag + 1e-30);
    }
}

// ---- a file llama.cpp wrote ---------------------------------------------------------------

/* Every Q8_0 block of stories15M-Q8_0.gguf: dequantize, quantize again, same 34 bytes. */
Test(quants, llamacpp_q8_0_file_roundtrip)
{
    gguf_file *f = NULL;
    int rc = gguf_open(&f, FLARE_TESTDATA "/llamacpp/stories15M-Q8_0.gguf");
    cr_assert_eq(rc, 0, "%s", flare_last_error());
    uint64_t n_q8 = 0, n_blocks = 0;
    for (uint64_t t = 0; t < gguf_n_tensors(f); t++) {
        const gguf_tensor *ti = gguf_tensor_at(f, t);
        if (ti->type != FL_TYPE_Q8_0)
            continue;
        n_q8++;
        const block_q8_0 *src = ti->data;
        uint64_t nb = ti->n_elements / 32;
        for (uint64_t i = 0; i < nb; i++) {
            float y[32];
            block_q8_0 back;
            fl_dequantize_row_q8_0(&src[i], y, 32);
            fl_quantize_row_q8_0(y, &back, 32);
            cr_assert_eq(memcmp(&back, &src[i], sizeof back), 0, "tensor %.*s block %llu differs",
                         (int)ti->name.len, ti->name.data, (unsigned long long)i);
        }
        n_blocks += nb;
    }
    gguf_close(f);
    cr_assert_geq(n_q8, 43, "expected the 43 Q8_0 weight tensors, found %llu",
                  (unsigned long long)n_q8);
    cr_assert_gt(n_blocks, 400000);
}
