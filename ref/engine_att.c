/* ref/engine_att.c: scalar attention heads and the cpuid choice (ref/engine_att.h). */
#include "ref/engine_att.h"

#include <math.h>
#include <string.h>

#include "flare/fp16.h"
#include "ref/kernels.h"

#define MAX_HD 512

/* softmax of sc (n) in place, max subtracted, sum in double; returns nothing */
static void softmax(float *sc, uint32_t n)
{
    float mx = -INFINITY;
    for (uint32_t p = 0; p < n; p++)
        mx = sc[p] > mx ? sc[p] : mx;
    double sum = 0;
    for (uint32_t p = 0; p < n; p++)
        sum += (sc[p] = expf(sc[p] - mx));
    float inv = (float)(1.0 / sum);
    for (uint32_t p = 0; p < n; p++)
        sc[p] *= inv;
}

void fl_att_head_f16_scalar(const float *q, const void *kc, const void *vc, size_t stride,
                            uint32_t n_kv, uint32_t hd, float scale, float *sc, float *out)
{
    const uint16_t *k = kc, *v = vc;
    float qh[MAX_HD];
    for (uint32_t i = 0; i < hd; i++)
        qh[i] = fl_fp16_to_fp32(fl_fp32_to_fp16(q[i]));
    for (uint32_t p = 0; p < n_kv; p++) {
        float s = 0;
        for (uint32_t i = 0; i < hd; i++)
            s += qh[i] * fl_fp16_to_fp32(k[p * stride + i]);
        sc[p] = s * scale;
    }
    softmax(sc, n_kv);
    memset(out, 0, hd * sizeof *out);
    for (uint32_t p = 0; p < n_kv; p++) {
        float a = fl_fp16_to_fp32(fl_fp32_to_fp16(sc[p]));
        for (uint32_t i = 0; i < hd; i++)
            out[i] += a * fl_fp16_to_fp32(v[p * stride + i]);
    }
}

void fl_att_head_f32_scalar(const float *q, const void *kc, const void *vc, size_t stride,
                            uint32_t n_kv, uint32_t hd, float scale, float *sc, float *out)
{
    const float *k = kc, *v = vc;
    for (uint32_t p = 0; p < n_kv; p++) {
        float s = 0;
        for (uint32_t i = 0; i < hd; i++)
            s += q[i] * k[p * stride + i];
        sc[p] = s * scale;
    }
    softmax(sc, n_kv);
    memset(out, 0, hd * sizeof *out);
    for (uint32_t p = 0; p < n_kv; p++)
        for (uint32_t i = 0; i < hd; i++)
            out[i] += sc[p] * v[p * stride + i];
}

void fl_swiglu_scalar(float *g, const float *u, size_t n)
{
    for (size_t i = 0; i < n; i++)
        g[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}

/* AVX2 + FMA + F16C, as the kernels' cpuid check says (lowered by FLARE_ISA=scalar). */
static int have_avx2(void)
{
    return fl_kernels_isa() >= FL_ISA_AVX2;
}

fl_swiglu_fn fl_swiglu_select(int simd)
{
    return simd && have_avx2() ? fl_swiglu_avx2 : fl_swiglu_scalar;
}

fl_att_head_fn fl_att_select(int kv_f16, int simd)
{
    if (simd && have_avx2())
        return kv_f16 ? fl_att_head_f16_avx2 : fl_att_head_f32_avx2;
    return kv_f16 ? fl_att_head_f16_scalar : fl_att_head_f32_scalar;
}

void fl_f32_to_f16_scalar(const float *x, uint16_t *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = fl_fp32_to_fp16(x[i]);
}

fl_f32_to_f16_fn fl_f32_to_f16_select(int simd)
{
    return simd && have_avx2() ? fl_f32_to_f16_avx2 : fl_f32_to_f16_scalar;
}

void fl_rmsnorm_scalar(float *out, const float *x, const float *w, size_t n, float eps)
{
    double ss = 0;
    for (size_t i = 0; i < n; i++)
        ss += (double)(x[i] * x[i]);
    float scale = 1.0f / sqrtf((float)(ss / (double)n) + eps);
    for (size_t i = 0; i < n; i++)
        out[i] = x[i] * scale * w[i];
}

fl_rmsnorm_fn fl_rmsnorm_select(int simd)
{
    return simd && have_avx2() ? fl_rmsnorm_avx2 : fl_rmsnorm_scalar;
}

void fl_rope_scalar(float *x, const float *cs, uint32_t n_rot)
{
    for (uint32_t i = 0; i < n_rot; i += 2) {
        float c = cs[i], s = cs[i + 1];
        float x0 = x[i], x1 = x[i + 1];
        x[i] = x0 * c - x1 * s;
        x[i + 1] = x0 * s + x1 * c;
    }
}

fl_rope_fn fl_rope_select(int simd)
{
    return simd && have_avx2() ? fl_rope_avx2 : fl_rope_scalar;
}
