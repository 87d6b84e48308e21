/* ref/engine_att.h: one attention head for one query, the CPU engine's inner loop.
 *
 * out (hd) = sum_p softmax_p(scale * q . k_p) v_p over the n_kv cached positions p, where k_p
 * and v_p start at kc + p * stride and vc + p * stride (elements). With an F16 cache, q is
 * rounded to fp16 before the dot and each probability is rounded to fp16 before it weights v,
 * as ggml's mul_mat with fp16 operands does. sc (n_kv) is scratch. The scalar version is the
 * reference; the AVX2 + F16C + FMA one (engine_att_avx2.c) is chosen by cpuid.
 * Also here: the engine's other vector steps (SwiGLU, fp16 rows, RMSNorm), same scheme. */
#ifndef FLARE_REF_ENGINE_ATT_H
#define FLARE_REF_ENGINE_ATT_H

#include <stddef.h>
#include <stdint.h>

typedef void (*fl_att_head_fn)(const float *q, const void *kc, const void *vc, size_t stride,
                               uint32_t n_kv, uint32_t hd, float scale, float *sc, float *out);

/* kv_f16: the cache holds fp16 (else fp32); simd: allow the AVX2 version when the CPU has it. */
fl_att_head_fn fl_att_select(int kv_f16, int simd);

void fl_att_head_f16_scalar(const float *q, const void *kc, const void *vc, size_t stride,
                            uint32_t n_kv, uint32_t hd, float scale, float *sc, float *out);
void fl_att_head_f32_scalar(const float *q, const void *kc, const void *vc, size_t stride,
                            uint32_t n_kv, uint32_t hd, float scale, float *sc, float *out);
void fl_att_head_f16_avx2(const float *q, const void *kc, const void *vc, size_t stride,
                          uint32_t n_kv, uint32_t hd, float scale, float *sc, float *out);
void fl_att_head_f32_avx2(const float *q, const void *kc, const void *vc, size_t stride,
                          uint32_t n_kv, uint32_t hd, float scale, float *sc, float *out);

/* g (n) = silu(g) * u, elementwise (the SwiGLU of the feed-forward). */
typedef void (*fl_swiglu_fn)(float *g, const float *u, size_t n);
fl_swiglu_fn fl_swiglu_select(int simd);
void fl_swiglu_scalar(float *g, const float *u, size_t n);
void fl_swiglu_avx2(float *g, const float *u, size_t n);

/* Row conversion fp32 -> fp16 (round to nearest even): the KV cache append. */
typedef void (*fl_f32_to_f16_fn)(const float *x, uint16_t *y, size_t n);
fl_f32_to_f16_fn fl_f32_to_f16_select(int simd);
void fl_f32_to_f16_scalar(const float *x, uint16_t *y, size_t n);
void fl_f32_to_f16_avx2(const float *x, uint16_t *y, size_t n);

/* out (n) = x / sqrt(mean(x^2) + eps) * w, the squares summed in double (as ggml). */
typedef void (*fl_rmsnorm_fn)(float *out, const float *x, const float *w, size_t n, float eps);
fl_rmsnorm_fn fl_rmsnorm_select(int simd);
void fl_rmsnorm_scalar(float *out, const float *x, const float *w, size_t n, float eps);
void fl_rmsnorm_avx2(float *out, const float *x, const float *w, size_t n, float eps);

/* Rotate adjacent pairs (x[2i], x[2i+1]) by the angles in cs (n_rot/2 (cos, sin) pairs). */
typedef void (*fl_rope_fn)(float *x, const float *cs, uint32_t n_rot);
fl_rope_fn fl_rope_select(int simd);
void fl_rope_scalar(float *x, const float *cs, uint32_t n_rot);
void fl_rope_avx2(float *x, const float *cs, uint32_t n_rot);

#endif
