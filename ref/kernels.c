/* ref/kernels.c: ISA selection (cpuid, FLARE_ISA), dispatch, and the scalar kernels that define
 * what the SIMD ones (ref/kernels_avx2.c, ref/kernels_avx512.c) compute. */
#include "ref/kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "flare/error.h"
#include "flare/fp16.h"
#include "ref/kernels_impl.h"
#include "ref/quants.h"

// ---- ISA selection ------------------------------------------------------------------------

static const char *const isa_names[FL_ISA_COUNT] = {"scalar", "avx2", "avx512"};

const char *fl_isa_name(fl_isa isa)
{
    return (unsigned)isa < FL_ISA_COUNT ? isa_names[isa] : "?";
}

int fl_isa_from_name(const char *name)
{
    for (int i = 0; i < FL_ISA_COUNT; i++)
        if (name && strcasecmp(name, isa_names[i]) == 0)
            return i;
    return -1;
}

/* F16C straight from cpuid leaf 1 (ECX bit 29): clang's __builtin_cpu_supports lacks "f16c".
 * The AVX state check (XGETBV) is part of __builtin_cpu_supports("avx2"). */
static int has_f16c(void)
{
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, c, d;
    return __get_cpuid(1, &a, &b, &c, &d) && (c >> 29) & 1u;
#else
    return 0;
#endif
}

fl_isa fl_cpu_best_isa(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    const int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                     has_f16c();
    if (avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vnni"))
        return FL_ISA_AVX512;
    if (avx2)
        return FL_ISA_AVX2;
#endif
    return FL_ISA_SCALAR;
}

static _Atomic int g_isa = -1; /* -1: not chosen yet */

fl_isa fl_kernels_isa(void)
{
    int isa = atomic_load_explicit(&g_isa, memory_order_relaxed);
    if (isa >= 0)
        return (fl_isa)isa;
    isa = fl_cpu_best_isa();
    const char *env = getenv("FLARE_ISA");
    int want = env && *env ? fl_isa_from_name(env) : -1;
    if (want >= 0 && want < isa)
        isa = want;
    atomic_store_explicit(&g_isa, isa, memory_order_relaxed);
    return (fl_isa)isa;
}

int fl_kernels_set_isa(fl_isa isa)
{
    if ((unsigned)isa >= FL_ISA_COUNT)
        return flare_error(FLARE_EINVAL, "kernels: ISA %d: expected 0..%d", (int)isa,
                           FL_ISA_COUNT - 1);
    if (isa > fl_cpu_best_isa())
        return flare_error(FLARE_EUNSUP, "kernels: ISA %s: this CPU supports at most %s",
                           fl_isa_name(isa), fl_isa_name(fl_cpu_best_isa()));
    atomic_store_explicit(&g_isa, (int)isa, memory_order_relaxed);
    return FLARE_OK;
}

/* The ISA an explicit request runs: the request, or scalar when the CPU lacks it. */
static fl_isa usable(fl_isa isa)
{
    static _Atomic int best = -1;
    int b = atomic_load_explicit(&best, memory_order_relaxed);
    if (b < 0) {
        b = fl_cpu_best_isa();
        atomic_store_explicit(&best, b, memory_order_relaxed);
    }
    return (unsigned)isa < FL_ISA_COUNT && (int)isa <= b ? isa : FL_ISA_SCALAR;
}

// ---- scalar kernels (the definition) ------------------------------------------------------

/* round half to even, then as x86 converts (cvtps2dq: NaN and |r| >= 2^31 give INT32_MIN)
 * and packs (saturation to int8): the SIMD results for non-finite input too, without UB. */
static int8_t act_code(float v)
{
    const float r = nearbyintf(v); /* default rounding mode: ties to even */
    if (isnan(r) || fabsf(r) >= 2147483648.0f)
        return -128;
    return (int8_t)(r > 127.0f ? 127.0f : r < -128.0f ? -128.0f : r);
}

/* ggml's CPU-backend activation quantizer: id = 127 / amax, round half to even. */
void fl_quantize_act_q8_0_scalar(const float *x, block_q8_0 *xq, int64_t T, int64_t k)
{
    const int64_t nb = k / FL_QK;
    for (int64_t i = 0; i < T * nb; i++) {
        const float *xb = x + i * FL_QK;
        float amax = 0.0f;
        for (int j = 0; j < FL_QK; j++) {
            float a = fabsf(xb[j]);
            amax = a > amax ? a : amax;
        }
        const float d = amax / 127.f;
        const float id = amax != 0.0f ? 127.f / amax : 0.0f;
        xq[i].d = fl_fp32_to_fp16(d);
        for (int j = 0; j < FL_QK; j++)
            xq[i].qs[j] = act_code(xb[j] * id);
    }
}

void fl_matmul_rows_scalar(uint32_t wtype, const void *W, size_t w_row_bytes, int64_t k,
                           const void *x, int64_t T, float *y, int64_t y_stride, int64_t r0,
                           int64_t r1)
{
    const int64_t nb = k / FL_QK;
    for (int64_t t = 0; t < T; t++) {
        for (int64_t r = r0; r < r1; r++) {
            const void *w = (const char *)W + (size_t)r * w_row_bytes;
            const block_q8_0 *xq = (const block_q8_0 *)x + t * nb;
            const float *xf = (const float *)x + t * k;
            float v;
            switch (wtype) {
            case FL_TYPE_Q4_0: v = fl_vec_dot_q4_0_q8_0(k, w, xq); break;
            case FL_TYPE_Q5_0: v = fl_vec_dot_q5_0_q8_0(k, w, xq); break;
            case FL_TYPE_Q8_0: v = fl_vec_dot_q8_0_q8_0(k, w, xq); break;
            case FL_TYPE_F16: v = fl_vec_dot_f16_f32(k, w, xf); break;
            case FL_TYPE_F32: v = fl_vec_dot_f32_f32(k, w, xf); break;
            default: return;
            }
            y[t * y_stride + r] = v;
        }
    }
}

// ---- dispatch -----------------------------------------------------------------------------

uint32_t fl_matmul_x_type(uint32_t wtype)
{
    return (wtype == FL_TYPE_F32 || wtype == FL_TYPE_F16) ? FL_TYPE_F32 : FL_TYPE_Q8_0;
}

void fl_quantize_act_q8_0_isa(fl_isa isa, const float *x, block_q8_0 *xq, int64_t T, int64_t k)
{
    switch (usable(isa)) {
    case FL_ISA_AVX512: fl_quantize_act_q8_0_avx512(x, xq, T, k); break;
    case FL_ISA_AVX2: fl_quantize_act_q8_0_avx2(x, xq, T, k); break;
    default: fl_quantize_act_q8_0_scalar(x, xq, T, k); break;
    }
}

void fl_quantize_act_q8_0(const float *x, block_q8_0 *xq, int64_t T, int64_t k)
{
    fl_quantize_act_q8_0_isa(fl_kernels_isa(), x, xq, T, k);
}

void fl_matmul_rows_isa(fl_isa isa, uint32_t wtype, const void *W, size_t w_row_bytes,
                        int64_t k, const void *x, int64_t T, float *y, int64_t y_stride,
                        int64_t r0, int64_t r1)
{
    if (r1 <= r0 || T <= 0 || !fl_type_supported(wtype))
        return;
    switch (usable(isa)) {
    case FL_ISA_AVX512:
        fl_matmul_rows_avx512(wtype, W, w_row_bytes, k, x, T, y, y_stride, r0, r1);
        break;
    case FL_ISA_AVX2:
        fl_matmul_rows_avx2(wtype, W, w_row_bytes, k, x, T, y, y_stride, r0, r1);
        break;
    default:
        fl_matmul_rows_scalar(wtype, W, w_row_bytes, k, x, T, y, y_stride, r0, r1);
        break;
    }
}

void fl_matmul_rows(uint32_t wtype, const void *W, size_t w_row_bytes, int64_t k, const void *x,
                    int64_t T, float *y, int64_t y_stride, int64_t r0, int64_t r1)
{
    fl_matmul_rows_isa(fl_kernels_isa(), wtype, W, w_row_bytes, k, x, T, y, y_stride, r0, r1);
}
