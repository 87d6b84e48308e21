/* ref/quants.c: the scalar, ggml-exact definitions of quantize / dequantize / dot (ref/quants.h).
 *
 * Quantizers follow ggml's quantize_row_*_ref step by step (same fp32 operations in the same
 * order, built with -ffp-contract=off so no FMA is formed), so the bytes equal llama.cpp's for
 * the same floats:
 *   Q4_0: max = the element of largest magnitude (first one on ties, sign kept); d = max / -8;
 *         id = d ? 1/d : 0; q = MIN(15, (int8)(x * id + 8.5f))  (truncation toward zero).
 *   Q5_0: the same with d = max / -16, q = MIN(31, (int8)(x * id + 16.5f)); bit 4 to qh.
 *   Q8_0: amax = max |x|; d = amax / 127; id = d ? 1/d : 0; q = roundf(x * id) (half away).
 * d is stored with fp32 -> fp16 round-to-nearest-even (flare/fp16.h, as F16C does). */
#include "ref/quants.h"

#include <math.h>
#include <string.h>

#include "flare/error.h"
#include "flare/fp16.h"

#define FL_MIN(a, b) ((a) < (b) ? (a) : (b))
#define FL_MAX(a, b) ((a) > (b) ? (a) : (b))

// ---- quantize -----------------------------------------------------------------------------

/* float -> int8 as C converts (toward zero) wherever that is defined, and defined where it is
 * not: NaN gives 0 (as hls/numerics.h), values past the int8 range saturate. Only non-finite
 * input reaches those cases (a row with an infinity or a NaN, from a model with such weights):
 * finite rows give ggml's bytes. */
static inline int8_t to_i8(float v)
{
    if (v != v)
        return 0;
    if (v >= 127.0f)
        return 127;
    if (v <= -128.0f)
        return -128;
    return (int8_t)v;
}

/* The element of largest magnitude, sign kept; the first one wins a tie (strict <). */
static float signed_absmax(const float *x, int n)
{
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < n; j++) {
        if (amax < fabsf(x[j])) {
            amax = fabsf(x[j]);
            max = x[j];
        }
    }
    return max;
}

void fl_quantize_row_q4_0(const float *x, block_q4_0 *y, int64_t k)
{
    const int64_t nb = k / FL_QK;
    for (int64_t i = 0; i < nb; i++) {
        const float *xb = x + i * FL_QK;
        const float max = signed_absmax(xb, FL_QK);
        const float d = max / -8;
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = fl_fp32_to_fp16(d);
        for (int j = 0; j < FL_QK / 2; j++) {
            const float x0 = xb[j] * id;
            const float x1 = xb[FL_QK / 2 + j] * id;
            const uint8_t q0 = (uint8_t)FL_MIN(15, to_i8(x0 + 8.5f));
            const uint8_t q1 = (uint8_t)FL_MIN(15, to_i8(x1 + 8.5f));
            y[i].qs[j] = (uint8_t)(q0 | (q1 << 4));
        }
    }
}

void fl_quantize_row_q5_0(const float *x, block_q5_0 *y, int64_t k)
{
    const int64_t nb = k / FL_QK;
    for (int64_t i = 0; i < nb; i++) {
        const float *xb = x + i * FL_QK;
        const float max = signed_absmax(xb, FL_QK);
        const float d = max / -16;
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = fl_fp32_to_fp16(d);
        uint32_t qh = 0;
        for (int j = 0; j < FL_QK / 2; j++) {
            const float x0 = xb[j] * id;
            const float x1 = xb[FL_QK / 2 + j] * id;
            const uint8_t q0 = (uint8_t)FL_MIN(31, to_i8(x0 + 16.5f));
            const uint8_t q1 = (uint8_t)FL_MIN(31, to_i8(x1 + 16.5f));
            y[i].qs[j] = (uint8_t)((q0 & 0x0f) | ((q1 & 0x0f) << 4));
            qh |= (uint32_t)((q0 >> 4) & 1u) << j;
            qh |= (uint32_t)((q1 >> 4) & 1u) << (j + FL_QK / 2);
        }
        for (int b = 0; b < 4; b++) /* little-endian */
            y[i].qh[b] = (uint8_t)(qh >> (8 * b));
    }
}

void fl_quantize_row_q8_0(const float *x, block_q8_0 *y, int64_t k)
{
    const int64_t nb = k / FL_QK;
    for (int64_t i = 0; i < nb; i++) {
        const float *xb = x + i * FL_QK;
        float amax = 0.0f;
        for (int j = 0; j < FL_QK; j++)
            amax = FL_MAX(amax, fabsf(xb[j]));
        const float d = amax / 127;
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = fl_fp32_to_fp16(d);
        for (int j = 0; j < FL_QK; j++)
            y[i].qs[j] = to_i8(roundf(xb[j] * id));
    }
}

// ---- dequantize ---------------------------------------------------------------------------

void fl_dequantize_row_q4_0(const block_q4_0 *x, float *y, int64_t k)
{
    const int64_t nb = k / FL_QK;
    for (int64_t i = 0; i < nb; i++) {
        const float d = fl_fp16_to_fp32(x[i].d);
        for (int j = 0; j < FL_QK / 2; j++) {
            y[i * FL_QK + j] = (float)((x[i].qs[j] & 0x0f) - 8) * d;
            y[i * FL_QK + FL_QK / 2 + j] = (float)((x[i].qs[j] >> 4) - 8) * d;
        }
    }
}

static uint32_t q5_qh(const block_q5_0 *b)
{
    return (uint32_t)b->qh[0] | (uint32_t)b->qh[1] << 8 | (uint32_t)b->qh[2] << 16 |
           (uint32_t)b->qh[3] << 24;
}

void fl_dequantize_row_q5_0(const block_q5_0 *x, float *y, int64_t k)
{
    const int64_t nb = k / FL_QK;
    for (int64_t i = 0; i < nb; i++) {
        const float d = fl_fp16_to_fp32(x[i].d);
        const uint32_t qh = q5_qh(&x[i]);
        for (int j = 0; j < FL_QK / 2; j++) {
            const int h0 = (int)((qh >> j) & 1u) << 4;
            const int h1 = (int)((qh >> (j + FL_QK / 2)) & 1u) << 4;
            y[i * FL_QK + j] = (float)(((x[i].qs[j] & 0x0f) | h0) - 16) * d;
            y[i * FL_QK + FL_QK / 2 + j] = (float)(((x[i].qs[j] >> 4) | h1) - 16) * d;
        }
    }
}

void fl_dequantize_row_q8_0(const block_q8_0 *x, float *y, int64_t k)
{
    const int64_t nb = k / FL_QK;
    for (int64_t i = 0; i < nb; i++) {
        const float d = fl_fp16_to_fp32(x[i].d);
        for (int j = 0; j < FL_QK; j++)
            y[i * FL_QK + j] = (float)x[i].qs[j] * d;
    }
}

// ---- generic rows -------------------------------------------------------------------------

int fl_type_supported(uint32_t type)
{
    return type == FL_TYPE_F32 || type == FL_TYPE_F16 || type == FL_TYPE_Q8_0 ||
           type == FL_TYPE_Q5_0 || type == FL_TYPE_Q4_0;
}

static int check_row(const char *what, uint32_t type, int64_t k)
{
    if (!fl_type_supported(type))
        return flare_error(FLARE_EUNSUP, "%s: type %u (%s) is not one of f32, f16, q8_0, q5_0, "
                                         "q4_0", what, type, fl_type_name(type));
    const int64_t blk = (type == FL_TYPE_F32 || type == FL_TYPE_F16) ? 1 : FL_QK;
    if (k < 0 || k % blk != 0)
        return flare_error(FLARE_EINVAL, "%s: row of %lld elements for type %s: expected a "
                                         "non-negative multiple of %lld", what, (long long)k,
                           fl_type_name(type), (long long)blk);
    return FLARE_OK;
}

int fl_quantize_row(uint32_t type, const float *x, void *dst, int64_t k)
{
    int rc = check_row("quantize_row", type, k);
    if (rc)
        return rc;
    switch (type) {
    case FL_TYPE_F32:
        memcpy(dst, x, (size_t)k * sizeof(float));
        break;
    case FL_TYPE_F16:
        for (int64_t i = 0; i < k; i++)
            ((uint16_t *)dst)[i] = fl_fp32_to_fp16(x[i]);
        break;
    case FL_TYPE_Q8_0:
        fl_quantize_row_q8_0(x, dst, k);
        break;
    case FL_TYPE_Q5_0:
        fl_quantize_row_q5_0(x, dst, k);
        break;
    default:
        fl_quantize_row_q4_0(x, dst, k);
        break;
    }
    return FLARE_OK;
}

int fl_dequantize_row(uint32_t type, const void *src, float *y, int64_t k)
{
    int rc = check_row("dequantize_row", type, k);
    if (rc)
        return rc;
    switch (type) {
    case FL_TYPE_F32:
        memcpy(y, src, (size_t)k * sizeof(float));
        break;
    case FL_TYPE_F16:
        for (int64_t i = 0; i < k; i++)
            y[i] = fl_fp16_to_fp32(((const uint16_t *)src)[i]);
        break;
    case FL_TYPE_Q8_0:
        fl_dequantize_row_q8_0(src, y, k);
        break;
    case FL_TYPE_Q5_0:
        fl_dequantize_row_q5_0(src, y, k);
        break;
    default:
        fl_dequantize_row_q4_0(src, y, k);
        break;
    }
    return FLARE_OK;
}

// ---- dot products -------------------------------------------------------------------------
// Per block: integer sum in int32, then sumf += (float)sumi * d_x * d_y (left to right, fp32).

float fl_vec_dot_q4_0_q8_0(int64_t n, const block_q4_0 *x, const block_q8_0 *y)
{
    float sumf = 0.0f;
    for (int64_t i = 0; i < n / FL_QK; i++) {
        int32_t sumi = 0;
        for (int j = 0; j < FL_QK / 2; j++) {
            sumi += ((x[i].qs[j] & 0x0f) - 8) * y[i].qs[j];
            sumi += ((x[i].qs[j] >> 4) - 8) * y[i].qs[j + FL_QK / 2];
        }
        sumf += (float)sumi * fl_fp16_to_fp32(x[i].d) * fl_fp16_to_fp32(y[i].d);
    }
    return sumf;
}

float fl_vec_dot_q5_0_q8_0(int64_t n, const block_q5_0 *x, const block_q8_0 *y)
{
    float sumf = 0.0f;
    for (int64_t i = 0; i < n / FL_QK; i++) {
        const uint32_t qh = q5_qh(&x[i]);
        int32_t sumi = 0;
        for (int j = 0; j < FL_QK / 2; j++) {
            const int h0 = (int)((qh >> j) & 1u) << 4;
            const int h1 = (int)((qh >> (j + FL_QK / 2)) & 1u) << 4;
            sumi += (((x[i].qs[j] & 0x0f) | h0) - 16) * y[i].qs[j];
            sumi += (((x[i].qs[j] >> 4) | h1) - 16) * y[i].qs[j + FL_QK / 2];
        }
        sumf += (float)sumi * fl_fp16_to_fp32(x[i].d) * fl_fp16_to_fp32(y[i].d);
    }
    return sumf;
}

float fl_vec_dot_q8_0_q8_0(int64_t n, const block_q8_0 *x, const block_q8_0 *y)
{
    float sumf = 0.0f;
    for (int64_t i = 0; i < n / FL_QK; i++) {
        int32_t sumi = 0;
        for (int j = 0; j < FL_QK; j++)
            sumi += x[i].qs[j] * y[i].qs[j];
        sumf += (float)sumi * fl_fp16_to_fp32(x[i].d) * fl_fp16_to_fp32(y[i].d);
    }
    return sumf;
}

/* F16/F32 rows: fp32 products summed in double (as ggml's scalar ggml_vec_dot_f16/f32). */
float fl_vec_dot_f16_f32(int64_t n, const uint16_t *x, const float *y)
{
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++)
        sum += (double)(fl_fp16_to_fp32(x[i]) * y[i]);
    return (float)sum;
}

float fl_vec_dot_f32_f32(int64_t n, const float *x, const float *y)
{
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++)
        sum += (double)(x[i] * y[i]);
    return (float)sum;
}
