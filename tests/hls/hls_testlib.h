/* tests/hls/hls_testlib.h: test helpers for the hls/ kernels, written independently of them:
 * a seeded RNG, random ggml weight blocks, a float64 block decoder, and a float64 emulation of
 * the Q8_0 activation quantization of docs/numerics.md. Shared by tests/hls and tests/driver. */
#ifndef FLARE_TESTS_HLS_TESTLIB_H
#define FLARE_TESTS_HLS_TESTLIB_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "flare/fp16.h"
#include "flare/ggml.h"

/* ---- RNG (xorshift64*) ---- */
typedef struct {
    uint64_t s;
} tl_rng;

static inline uint64_t tl_next(tl_rng *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 2685821657736338717ull;
}

/* uniform in [lo, hi) */
static inline double tl_uniform(tl_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * (double)(tl_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

static inline void tl_fill(tl_rng *r, float *x, size_t n, double lo, double hi)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)tl_uniform(r, lo, hi);
}

/* ---- weight blocks ---- */
static inline uint32_t tl_block_bytes(uint32_t type)
{
    return type == FL_TYPE_Q4_0 ? 18u : type == FL_TYPE_Q5_0 ? 22u : 34u;
}

/* n rows of k elements: random payload bytes and an fp16 scale in [0.002, 0.05). */
static inline uint8_t *tl_random_matrix(tl_rng *r, uint32_t type, uint32_t n, uint32_t k)
{
    size_t bytes = (size_t)n * (k / 32u) * tl_block_bytes(type);
    uint8_t *m = malloc(bytes);
    for (size_t i = 0; i < bytes; i++)
        m[i] = (uint8_t)tl_next(r);
    for (size_t b = 0; b < bytes / tl_block_bytes(type); b++) {
        uint16_t d = fl_fp32_to_fp16((float)tl_uniform(r, 0.002, 0.05));
        m[b * tl_block_bytes(type)] = (uint8_t)d;
        m[b * tl_block_bytes(type) + 1] = (uint8_t)(d >> 8);
    }
    return m;
}

/* Decode element j of one block: the integer value and the scale, separately. */
static inline int tl_block_int(const uint8_t *b, uint32_t type, int j)
{
    if (type == FL_TYPE_Q8_0)
        return (int8_t)b[2 + j];
    if (type == FL_TYPE_Q4_0)
        return (j < 16 ? (b[2 + j] & 15) : (b[2 + j - 16] >> 4)) - 8;
    uint32_t qh = b[2] | (b[3] << 8) | (b[4] << 16) | ((uint32_t)b[5] << 24);
    int lo = j < 16 ? (b[6 + j] & 15) : (b[6 + j - 16] >> 4);
    return (lo | (int)(((qh >> j) & 1u) << 4)) - 16;
}

static inline double tl_block_scale(const uint8_t *b)
{
    return (double)fl_fp16_to_fp32((uint16_t)(b[0] | (b[1] << 8)));
}

/* Row `row` of a matrix as float64 (k,) */
static inline void tl_decode_row(const uint8_t *m, uint32_t type, uint32_t k, uint32_t row,
                                 double *out)
{
    const uint8_t *rb = m + (size_t)row * (k / 32u) * tl_block_bytes(type);
    for (uint32_t b = 0; b < k / 32u; b++) {
        const uint8_t *blk = rb + (size_t)b * tl_block_bytes(type);
        for (int j = 0; j < 32; j++)
            out[b * 32 + j] = tl_block_int(blk, type, j) * tl_block_scale(blk);
    }
}

/* ---- Q8 quantization as the contract states it: amax, id = 127/amax (fp32), q = rint ---- */
static inline void tl_quant_q8(const float *x, int n, int8_t *q, double *d)
{
    float amax = 0.0f;
    for (int i = 0; i < n; i++)
        if (fabsf(x[i]) > amax)
            amax = fabsf(x[i]);
    float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    for (int i = 0; i < n; i++) {
        float v = x[i] * id; /* one fp32 rounding, as the contract */
        q[i] = (int8_t)lrint((double)v);
    }
    *d = (double)fl_fp16_to_fp32(fl_fp32_to_fp16(amax / 127.0f));
}

/* Rigorous bound on |x_i - q_i d| for a block of absolute maximum amax: half a step, plus the
 * fp16 rounding of the scale (relative 2^-11) on values up to 127 d. */
static inline double tl_q8_err(double amax)
{
    return amax / 254.0 * 1.0001 + amax * ldexp(1.0, -11) * 1.0001;
}

#endif
