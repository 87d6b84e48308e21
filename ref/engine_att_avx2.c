/* ref/engine_att_avx2.c: attention heads with AVX2 + F16C + FMA (ref/engine_att.h). Built with
 * the AVX2 flags (Makefile: *_avx2.c) and only called after fl_att_select's cpuid check. */
#include "ref/engine_att.h"

#include <immintrin.h>
#include <math.h>
#include <string.h>

#define MAX_HD 512

static float hsum(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* exp(x) for x <= ~88: x = n ln2 + r, |r| <= ln2/2, exp(r) by a degree-6 polynomial, times 2^n
 * (relative error about 2e-7; inputs below -87 flush to 0). */
static inline __m256 exp256(__m256 x)
{
    const __m256 log2e = _mm256_set1_ps(1.44269504f), ln2_hi = _mm256_set1_ps(0.693359375f),
                 ln2_lo = _mm256_set1_ps(-2.12194440e-4f);
    x = _mm256_max_ps(x, _mm256_set1_ps(-87.0f));
    x = _mm256_min_ps(x, _mm256_set1_ps(88.0f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, log2e), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, ln2_hi, x);
    r = _mm256_fnmadd_ps(n, ln2_lo, r);
    __m256 p = _mm256_set1_ps(1.3981999507e-3f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    __m256 r2 = _mm256_mul_ps(r, r);
    p = _mm256_fmadd_ps(p, r2, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

static void softmax(float *sc, uint32_t n)
{
    float mx = -INFINITY;
    uint32_t n8 = n & ~7u, p = 0;
    if (n8) {
        __m256 m8 = _mm256_loadu_ps(sc);
        for (p = 8; p < n8; p += 8)
            m8 = _mm256_max_ps(m8, _mm256_loadu_ps(sc + p));
        float m[8];
        _mm256_storeu_ps(m, m8);
        for (int j = 0; j < 8; j++)
            mx = m[j] > mx ? m[j] : mx;
    }
    for (p = n8; p < n; p++)
        mx = sc[p] > mx ? sc[p] : mx;
    double sum = 0;
    p = 0;
    __m256 vmx = _mm256_set1_ps(mx);
    __m256d acc = _mm256_setzero_pd();
    for (; p < n8; p += 8) {
        __m256 e = exp256(_mm256_sub_ps(_mm256_loadu_ps(sc + p), vmx));
        _mm256_storeu_ps(sc + p, e);
        acc = _mm256_add_pd(acc, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
        acc = _mm256_add_pd(acc, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
    }
    double a4[4];
    _mm256_storeu_pd(a4, acc);
    sum = a4[0] + a4[1] + a4[2] + a4[3];
    for (; p < n; p++)
        sum += (sc[p] = expf(sc[p] - mx));
    float inv = (float)(1.0 / sum);
    __m256 vinv = _mm256_set1_ps(inv);
    for (p = 0; p < n8; p += 8)
        _mm256_storeu_ps(sc + p, _mm256_mul_ps(_mm256_loadu_ps(sc + p), vinv));
    for (; p < n; p++)
        sc[p] *= inv;
}

/* Sum each of 8 vectors: out lane j = hsum(v[j]). */
static inline __m256 hsum8(__m256 v0, __m256 v1, __m256 v2, __m256 v3, __m256 v4, __m256 v5,
                           __m256 v6, __m256 v7)
{
    __m256 a = _mm256_hadd_ps(v0, v1), b = _mm256_hadd_ps(v2, v3);
    __m256 c = _mm256_hadd_ps(v4, v5), d = _mm256_hadd_ps(v6, v7);
    __m256 ab = _mm256_hadd_ps(a, b), cd = _mm256_hadd_ps(c, d);
    /* ab: lanes [s0 s1 s2 s3 | s0' s1' s2' s3'] (low/high halves of each sum) */
    __m256 lo = _mm256_permute2f128_ps(ab, cd, 0x20), hi = _mm256_permute2f128_ps(ab, cd, 0x31);
    return _mm256_add_ps(lo, hi);
}

void fl_swiglu_avx2(float *g, const float *u, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 x = _mm256_loadu_ps(g + i);
        __m256 e = exp256(_mm256_sub_ps(_mm256_setzero_ps(), x));
        __m256 s = _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
        _mm256_storeu_ps(g + i, _mm256_mul_ps(s, _mm256_loadu_ps(u + i)));
    }
    for (; i < n; i++)
        g[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}

static inline __m256 load_h8(const uint16_t *p)
{
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
}

static inline float h2f(uint16_t h)
{
    return _cvtsh_ss(h);
}

void fl_att_head_f16_avx2(const float *q, const void *kc, const void *vc, size_t stride,
                          uint32_t n_kv, uint32_t hd, float scale, float *sc, float *out)
{
    const uint16_t *k = kc, *v = vc;
    float qh[MAX_HD];
    uint32_t h8 = hd & ~7u;
    for (uint32_t i = 0; i < h8; i += 8) /* q rounded to fp16 */
        _mm256_storeu_ps(qh + i, _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_loadu_ps(q + i),
                                                                 _MM_FROUND_TO_NEAREST_INT)));
    for (uint32_t i = h8; i < hd; i++)
        qh[i] = h2f(_cvtss_sh(q[i], _MM_FROUND_TO_NEAREST_INT));
    uint32_t p = 0;
    if (h8 == hd) /* eight positions at a time, one reduction for the eight */
        for (; p + 8 <= n_kv; p += 8) {
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0,
                   a6 = a0, a7 = a0;
            const uint16_t *k0 = k + p * stride;
            for (uint32_t i = 0; i < hd; i += 8) {
                __m256 qv = _mm256_loadu_ps(qh + i);
                a0 = _mm256_fmadd_ps(qv, load_h8(k0 + i), a0);
                a1 = _mm256_fmadd_ps(qv, load_h8(k0 + stride + i), a1);
                a2 = _mm256_fmadd_ps(qv, load_h8(k0 + 2 * stride + i), a2);
                a3 = _mm256_fmadd_ps(qv, load_h8(k0 + 3 * stride + i), a3);
                a4 = _mm256_fmadd_ps(qv, load_h8(k0 + 4 * stride + i), a4);
                a5 = _mm256_fmadd_ps(qv, load_h8(k0 + 5 * stride + i), a5);
                a6 = _mm256_fmadd_ps(qv, load_h8(k0 + 6 * stride + i), a6);
                a7 = _mm256_fmadd_ps(qv, load_h8(k0 + 7 * stride + i), a7);
            }
            __m256 s8 = hsum8(a0, a1, a2, a3, a4, a5, a6, a7);
            _mm256_storeu_ps(sc + p, _mm256_mul_ps(s8, _mm256_set1_ps(scale)));
        }
    for (; p < n_kv; p++) {
        const uint16_t *kp = k + p * stride;
        __m256 acc = _mm256_setzero_ps();
        for (uint32_t i = 0; i < h8; i += 8)
            acc = _mm256_fmadd_ps(_mm256_loadu_ps(qh + i), load_h8(kp + i), acc);
        float s = hsum(acc);
        for (uint32_t i = h8; i < hd; i++)
            s += qh[i] * h2f(kp[i]);
        sc[p] = s * scale;
    }
    softmax(sc, n_kv);
    uint32_t n8 = n_kv & ~7u;
    for (p = 0; p < n8; p += 8) /* probabilities rounded to fp16 */
        _mm256_storeu_ps(sc + p, _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_loadu_ps(sc + p),
                                                                 _MM_FROUND_TO_NEAREST_INT)));
    for (p = n8; p < n_kv; p++)
        sc[p] = h2f(_cvtss_sh(sc[p], _MM_FROUND_TO_NEAREST_INT));
    memset(out, 0, hd * sizeof *out);
    uint32_t i = 0;
    for (; i + 32 <= h8; i += 32) { /* four independent accumulators per position */
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (p = 0; p < n_kv; p++) {
            const uint16_t *vp = v + p * stride + i;
            __m256 w = _mm256_set1_ps(sc[p]);
            a0 = _mm256_fmadd_ps(w, load_h8(vp), a0);
            a1 = _mm256_fmadd_ps(w, load_h8(vp + 8), a1);
            a2 = _mm256_fmadd_ps(w, load_h8(vp + 16), a2);
            a3 = _mm256_fmadd_ps(w, load_h8(vp + 24), a3);
        }
        _mm256_storeu_ps(out + i, a0);
        _mm256_storeu_ps(out + i + 8, a1);
        _mm256_storeu_ps(out + i + 16, a2);
        _mm256_storeu_ps(out + i + 24, a3);
    }
    for (; i < h8; i += 8) { /* one vector: positions split over four accumulators */
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (p = 0; p + 4 <= n_kv; p += 4) {
            a0 = _mm256_fmadd_ps(_mm256_set1_ps(sc[p]), load_h8(v + p * stride + i), a0);
            a1 = _mm256_fmadd_ps(_mm256_set1_ps(sc[p + 1]), load_h8(v + (p + 1) * stride + i), a1);
            a2 = _mm256_fmadd_ps(_mm256_set1_ps(sc[p + 2]), load_h8(v + (p + 2) * stride + i), a2);
            a3 = _mm256_fmadd_ps(_mm256_set1_ps(sc[p + 3]), load_h8(v + (p + 3) * stride + i), a3);
        }
        for (; p < n_kv; p++)
            a0 = _mm256_fmadd_ps(_mm256_set1_ps(sc[p]), load_h8(v + p * stride + i), a0);
        _mm256_storeu_ps(out + i, _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    }
    for (i = h8; i < hd; i++)
        for (p = 0; p < n_kv; p++)
            out[i] += sc[p] * h2f(v[p * stride + i]);
}

void fl_att_head_f32_avx2(const float *q, const void *kc, const void *vc, size_t stride,
                          uint32_t n_kv, uint32_t hd, float scale, float *sc, float *out)
{
    const float *k = kc, *v = vc;
    uint32_t h8 = hd & ~7u;
    for (uint32_t p = 0; p < n_kv; p++) {
        const float *kp = k + p * stride;
        __m256 acc = _mm256_setzero_ps();
        for (uint32_t i = 0; i < h8; i += 8)
            acc = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), _mm256_loadu_ps(kp + i), acc);
        float s = hsum(acc);
        for (uint32_t i = h8; i < hd; i++)
            s += q[i] * kp[i];
        sc[p] = s * scale;
    }
    softmax(sc, n_kv);
    memset(out, 0, hd * sizeof *out);
    for (uint32_t i = 0; i < h8; i += 8) {
        __m256 acc = _mm256_setzero_ps();
        for (uint32_t p = 0; p < n_kv; p++)
            acc = _mm256_fmadd_ps(_mm256_set1_ps(sc[p]), _mm256_loadu_ps(v + p * stride + i), acc);
        _mm256_storeu_ps(out + i, acc);
    }
    for (uint32_t i = h8; i < hd; i++)
        for (uint32_t p = 0; p < n_kv; p++)
            out[i] += sc[p] * v[p * stride + i];
}

void fl_f32_to_f16_avx2(const float *x, uint16_t *y, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(y + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++)
        y[i] = _cvtss_sh(x[i], _MM_FROUND_TO_NEAREST_INT);
}

void fl_rmsnorm_avx2(float *out, const float *x, const float *w, size_t n, float eps)
{
    __m256d a0 = _mm256_setzero_pd(), a1 = a0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        __m256 sq = _mm256_mul_ps(v, v); /* float products, double sum, as ggml */
        a0 = _mm256_add_pd(a0, _mm256_cvtps_pd(_mm256_castps256_ps128(sq)));
        a1 = _mm256_add_pd(a1, _mm256_cvtps_pd(_mm256_extractf128_ps(sq, 1)));
    }
    double s4[4];
    _mm256_storeu_pd(s4, _mm256_add_pd(a0, a1));
    double ss = s4[0] + s4[1] + s4[2] + s4[3];
    for (; i < n; i++)
        ss += (double)(x[i] * x[i]);
    float scale = 1.0f / sqrtf((float)(ss / (double)n) + eps);
    __m256 vs = _mm256_set1_ps(scale);
    for (i = 0; i + 8 <= n; i += 8)
        _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), vs),
                                                _mm256_loadu_ps(w + i)));
    for (; i < n; i++)
        out[i] = x[i] * scale * w[i];
}

void fl_rope_avx2(float *x, const float *cs, uint32_t n_rot)
{
    uint32_t i = 0;
    for (; i + 8 <= n_rot; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i), a = _mm256_loadu_ps(cs + i);
        __m256 c = _mm256_moveldup_ps(a), sn = _mm256_movehdup_ps(a);
        __m256 sw = _mm256_permute_ps(v, 0xB1); /* (x1, x0, x3, x2, ...) */
        /* even lanes: x0 c - x1 s; odd lanes: x1 c + x0 s */
        _mm256_storeu_ps(x + i, _mm256_fmaddsub_ps(v, c, _mm256_mul_ps(sw, sn)));
    }
    for (; i < n_rot; i += 2) {
        float c = cs[i], sn = cs[i + 1], x0 = x[i], x1 = x[i + 1];
        x[i] = x0 * c - x1 * sn;
        x[i + 1] = x0 * sn + x1 * c;
    }
}
