/* hls/numerics.h: the numerics contract in C (docs/numerics.md explains each choice).
 *
 * Everything here is the definition hls/ and hw/ implement bit-exactly: the 8-lane fp32 sum,
 * the exp (fixed-point range reduction, 64-entry table, cubic), SiLU, and the Q8 quantization
 * of activations and int8 KV entries. Pure fp32 / integer C in the synthesizable subset; the
 * Makefile builds with -ffp-contract=off so no multiply-add is fused. Also the HLS pragma and
 * loop-label macros, which expand to nothing outside synthesis. */
#ifndef FLARE_HLS_NUMERICS_H
#define FLARE_HLS_NUMERICS_H

#include <stdint.h>

#include "flare/fp16.h"
#include "flare/kernels.h"

/* ---- HLS annotations ----
 * FL_HLS(PIPELINE II=1) becomes `#pragma HLS PIPELINE II=1` under Vitis (__SYNTHESIS__) and
 * nothing under gcc (which would warn about an unknown pragma). FL_LABEL names a loop for the
 * HLS reports; the unused attribute keeps -Wunused-label quiet. */
#ifdef __SYNTHESIS__
#define FL_PRAGMA(x) _Pragma(#x)
#else
#define FL_PRAGMA(x)
#endif
#define FL_HLS(...) FL_PRAGMA(HLS __VA_ARGS__)
#define FL_LABEL(name) name: __attribute__((unused))

/* ---- 8-lane fp32 sum ----
 * Term i of a sum goes to lane i % 8 (each lane adds in increasing i, starting from +0.0f); the
 * result is ((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7)). Eight lanes hide an fp32 adder
 * latency of up to 8 cycles at one term per cycle. */
typedef struct {
    float l[FL_NUM_LANES];
} fl_lanes;

static inline void fl_lanes_zero(fl_lanes *a)
{
    for (uint32_t i = 0; i < FL_NUM_LANES; i++)
        a->l[i] = 0.0f;
}

static inline void fl_lanes_add(fl_lanes *a, uint32_t i, float v)
{
    a->l[i % FL_NUM_LANES] = a->l[i % FL_NUM_LANES] + v;
}

static inline float fl_lanes_sum(const fl_lanes *a)
{
    const float *l = a->l;
    return ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
}

/* ---- exp ----
 * Fixed-point range reduction: for |x| < 100, a = (uint64)(|x| * 2^24) (exact scaling, then
 * truncation), t = (a * LOG2E_Q32) >> 33 is |x| * log2(e) in Q.23 (truncated), negated for
 * x < 0. t >= 128 * 2^23 gives +inf, t < -126 * 2^23 gives +0 (results below 2^-126 are flushed
 * to zero); |x| >= 100 gives +inf or +0 directly, NaN stays NaN. With u = t + 126 * 2^23,
 * n = (u >> 23) - 126 and f = u & (2^23 - 1) (the fraction in Q0.23), 2^f = T[f >> 17] * p(r):
 * T[i] = round(2^(i/64) * 2^30) and p(r) = 1 + z + z^2/2 + z^3/6 with z = r * ln 2 in Q0.32,
 * r = f & (2^17 - 1), all in unsigned 64-bit integers with truncating shifts. The Q1.30 product
 * is rounded to 24 bits (half up) and placed in an fp32 with exponent n. Relative error below
 * 2.5e-7 over the whole range (tests/hls/test_numerics.c measures it). */
static const uint32_t fl_exp2_table[64] = {
    1073741824u, 1085434106u, 1097253708u, 1109202018u, 1121280436u, 1133490379u, 1145833280u,
    1158310587u, 1170923762u, 1183674286u, 1196563654u, 1209593378u, 1222764986u, 1236080024u,
    1249540052u, 1263146652u, 1276901417u, 1290805962u, 1304861917u, 1319070932u, 1333434672u,
    1347954824u, 1362633090u, 1377471191u, 1392470869u, 1407633882u, 1422962010u, 1438457051u,
    1454120821u, 1469955159u, 1485961921u, 1502142985u, 1518500250u, 1535035634u, 1551751076u,
    1568648537u, 1585730000u, 1602997467u, 1620452965u, 1638098541u, 1655936265u, 1673968228u,
    1692196547u, 1710623359u, 1729250827u, 1748081133u, 1767116489u, 1786359126u, 1805811301u,
    1825475297u, 1845353420u, 1865448001u, 1885761398u, 1906295993u, 1927054196u, 1948038440u,
    1969251188u, 1990694927u, 2012372174u, 2034285470u, 2056437387u, 2078830522u, 2101467502u,
    2124350982u,
};
#define FL_EXP_LOG2E_Q32 6196328019ull /* round(log2(e) * 2^32) */
#define FL_EXP_LN2_Q32 2977044472u      /* round(ln 2 * 2^32) */
#define FL_EXP_SIXTH_Q32 715827883u     /* round(2^32 / 6) */

static inline float fl_exp(float x)
{
    if (x != x)
        return x;
    float ax = fl_bits_f32(fl_f32_bits(x) & 0x7fffffffu);
    int neg = (fl_f32_bits(x) >> 31) != 0;
    if (ax >= 100.0f)
        return neg ? 0.0f : fl_bits_f32(0x7f800000u);
    uint64_t a = (uint64_t)(ax * 16777216.0f);       /* |x| in Q.24, < 2^31 */
    uint64_t tm = (a * FL_EXP_LOG2E_Q32) >> 33;      /* |x| log2(e) in Q.23, < 2^31 */
    if (!neg && tm >= (128ull << 23))
        return fl_bits_f32(0x7f800000u);
    if (neg && tm > (126ull << 23))
        return 0.0f;
    uint32_t u = neg ? (126u << 23) - (uint32_t)tm : (126u << 23) + (uint32_t)tm;
    int32_t n = (int32_t)(u >> 23) - 126;
    uint32_t f = u & 0x7fffffu;
    uint64_t z = ((uint64_t)(f & 0x1ffffu) * FL_EXP_LN2_Q32) >> 23; /* r ln2, Q0.32, < 2^26 */
    uint64_t z2 = (z * z) >> 32;
    uint64_t z3 = (z2 * z) >> 32;
    uint64_t p = (1ull << 32) + z + (z2 >> 1) + ((z3 * FL_EXP_SIXTH_Q32) >> 32); /* Q32 */
    uint64_t m = ((uint64_t)fl_exp2_table[f >> 17] * p) >> 32;                   /* Q1.30 */
    uint32_t mant = (uint32_t)((m + 64u) >> 7); /* 24 bits, 2^23 <= mant <= 2^24 */
    if (mant >= (1u << 24)) {
        mant >>= 1;
        n++;
    }
    if (n + 127 >= 255)
        return fl_bits_f32(0x7f800000u);
    return fl_bits_f32(((uint32_t)(n + 127) << 23) | (mant & 0x7fffffu));
}

/* SiLU: g / (1 + exp(-g)), IEEE fp32 add and divide. */
static inline float fl_silu(float g)
{
    return g / (1.0f + fl_exp(-g));
}

/* ---- Q8 quantization (activations to Q8_0, int8 KV entries) ----
 * amax = max |x_i| (NaN ignored), d = amax / 127, id = 127 / amax (0 when amax is 0), both IEEE
 * fp32 divisions; q_i = round-to-nearest-even(x_i * id) clamped to [-127, 127] (NaN -> 0); the
 * stored scale is fp16(d). This is what ggml's x86 CPU backend computes (quantize_row_q8_0,
 * AVX2: 127/amax and _MM_ROUND_NEAREST); the rounding is done by adding and subtracting
 * 1.5 * 2^23, which rounds to an integer in the default IEEE mode. */
static inline int8_t fl_rne_clamp127(float v)
{
    if (v != v)
        return 0;
    if (v >= 127.0f)
        return 127;
    if (v <= -127.0f)
        return -127;
    float r = (v + 12582912.0f) - 12582912.0f;
    return (int8_t)(int32_t)r;
}

static inline uint16_t fl_q8_quant(const float *x, uint32_t n, int8_t *q)
{
    float amax = 0.0f;
    for (uint32_t i = 0; i < n; i++) {
        float a = fl_bits_f32(fl_f32_bits(x[i]) & 0x7fffffffu);
        if (a > amax)
            amax = a;
    }
    float d = amax / 127.0f;
    float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    for (uint32_t i = 0; i < n; i++)
        q[i] = fl_rne_clamp127(x[i] * id);
    return fl_fp32_to_fp16(d);
}

#endif
