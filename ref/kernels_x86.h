/* ref/kernels_x86.h: internal to the x86 kernels: the AVX2-level helpers that
 * ref/kernels_avx2.c and ref/kernels_avx512.c share (block decoding, fp16 scales, horizontal
 * sums, the per-token activation preparation of the streaming kernels). All static inline:
 * they are inlined into each kernel and compiled with that file's flags.
 *
 * Include it ONLY from *_avx2.c / *_avx512.c files (built with the Makefile's AVX2_FLAGS or
 * AVX512_FLAGS): it needs AVX2 + FMA + F16C. */
#ifndef FLARE_REF_KERNELS_X86_H
#define FLARE_REF_KERNELS_X86_H

#if !defined(__AVX2__) || !defined(__FMA__) || !defined(__F16C__)
#error "ref/kernels_x86.h needs AVX2 + FMA + F16C: include it only from *_avx2.c / *_avx512.c"
#endif

#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#include "ref/kernels_impl.h"

/* ---- weight blocks ---------------------------------------------------------------------- */

/* Block size in bytes of a quantized weight type (Q4_0, Q5_0, else Q8_0). */
static inline size_t block_bytes(uint32_t wtype)
{
    return wtype == FL_TYPE_Q4_0 ? sizeof(block_q4_0)
           : wtype == FL_TYPE_Q5_0 ? sizeof(block_q5_0) : sizeof(block_q8_0);
}

/* The fp16 scale at the start of a block (F16C: same values as flare/fp16.h). */
static inline float half_at(const void *blk)
{
    uint16_t h;
    memcpy(&h, blk, 2);
    return _cvtsh_ss(h);
}

/* The 32 4-bit codes of a Q4_0/Q5_0 block (16 bytes at qs) as bytes 0..15: low nibbles in
 * bytes 0..15, high nibbles in bytes 16..31 (ggml's element order). */
static inline __m256i nibbles(const uint8_t *qs)
{
    const __m128i q = _mm_loadu_si128((const __m128i *)qs);
    const __m256i v = _mm256_inserti128_si256(_mm256_castsi128_si256(q),
                                              _mm_srli_epi16(q, 4), 1);
    return _mm256_and_si256(v, _mm256_set1_epi8(0x0f));
}

/* ---- horizontal sums -------------------------------------------------------------------- */

static inline float hsum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* Four horizontal sums at once: {sum a, sum b, sum c, sum d}. */
static inline __m128 hsum8x4(__m256 a, __m256 b, __m256 c, __m256 d)
{
    const __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));
    return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

/* ---- streaming kernels: one token's activations ----------------------------------------- */

/* One token: d_x per block and the Q4_0/Q5_0 correction -off * (partial sums of 4 x) per
 * block (filled by each file's prep: the instructions differ). */
typedef struct {
    const block_q8_0 *x; /* (nb,) */
    float *dx;           /* (nb,) */
    __m256i *corr;       /* (nb,) */
} xprep;

enum { XPREP_NB_STACK = 256 }; /* blocks of the caller's stack buffers: k up to 8192 */

/* Points p's buffers at the caller's stack arrays (XPREP_NB_STACK blocks each) when nb fits,
 * else at one heap allocation returned in *heap (NULL otherwise; free it after use). Returns 0
 * when out of memory. */
static inline int xprep_buffers(xprep *p, int64_t nb, __m256i *corr_stack, float *dx_stack,
                                void **heap)
{
    p->x = NULL;
    p->dx = dx_stack;
    p->corr = corr_stack;
    *heap = NULL;
    if (nb <= XPREP_NB_STACK)
        return 1;
    const size_t bytes = (size_t)nb * (sizeof(__m256i) + sizeof(float));
    *heap = aligned_alloc(32, (bytes + 31) / 32 * 32);
    if (!*heap)
        return 0;
    p->corr = *heap;
    p->dx = (float *)(p->corr + nb);
    return 1;
}

/* ---- tiled kernels: all tokens' activations --------------------------------------------- */

/* n blocks of x: the 32 bytes of each xor flip (0x80: x + 128 as unsigned bytes; 0: as is)
 * into xq (n, 32) (32-byte aligned), d as fp32 into dxf (n,). */
static inline void tile_act(const block_q8_0 *x, int64_t n, char flip, uint8_t *xq, float *dxf)
{
    const __m256i f = _mm256_set1_epi8(flip);
    for (int64_t i = 0; i < n; i++) {
        const __m256i v = _mm256_loadu_si256((const __m256i *)x[i].qs);
        _mm256_store_si256((__m256i *)(xq + i * 32), _mm256_xor_si256(v, f));
        dxf[i] = half_at(&x[i]);
    }
}

#endif
