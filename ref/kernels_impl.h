/* ref/kernels_impl.h: internal to the kernels: the per-ISA entry points that ref/kernels.c
 * dispatches to (ref/kernels_avx2.c, ref/kernels_avx512.c), same contracts as ref/kernels.h, and
 * the software prefetch both use for one token. Their shared AVX2-level helpers are in
 * ref/kernels_x86.h. */
#ifndef FLARE_REF_KERNELS_IMPL_H
#define FLARE_REF_KERNELS_IMPL_H

#include <immintrin.h>

#include "ref/kernels.h"

/* ---- streaming prefetch (T = 1) ------------------------------------------------------------ */

/* Prefetch into L1 (A/B against prefetcht1/t2 and prefetchnta: t0 best or equal from L3 and
 * from DRAM). */
#define FL_PF_HINT _MM_HINT_T0
/* Quantized T = 1 prefetch distance: whole row groups ahead, at least this many bytes (short
 * rows need more than one group to cover the DRAM latency: stories110M Q8_0, 816-byte rows,
 * 26.8 GB/s one group ahead, 33-38 two groups ahead; stories110M Q4_0, 432-byte rows, 23-25
 * GB/s at one group, 33 at 8 KB, 30-32 at 16 KB; one 8-row group of 2048-wide Q8_0 rows is
 * 17 KB already). */
#define FL_PF_MIN_BYTES 8192

/* Linear software prefetch of a span of memory (the rows of a later row group, taken as the
 * bytes from its first to its last row), spread evenly over the nb steps of the current
 * group: every 64-byte line of the span once, in address order. Prefetching each row at the
 * offset being read instead (one line every other 34-byte block) skips one line in 17, and
 * each skip is a demand miss to DRAM: one core streamed 21-27 GB/s that way, 31-34 this way
 * (tinyllama Q8_0, DRAM read bandwidth about 34.6). Keep it a local variable (in registers):
 * updated through a pointer the stores serialise the loop. */
typedef struct {
    const char *base;
    size_t len, step, target, cur; /* bytes: span, per step, due so far, issued so far */
} fl_pf_span;

/* Rows [r, r + n) clipped to r1 (empty when r >= r1), spread over nb steps. */
static inline fl_pf_span fl_pf_span_init(const void *W, size_t w_row_bytes, int64_t r,
                                         int64_t n, int64_t r1, int64_t nb)
{
    fl_pf_span s = {NULL, 0, 0, 0, 0};
    if (r >= r1 || nb <= 0)
        return s;
    const int64_t m = r1 - r < n ? r1 - r : n;
    s.base = (const char *)W + (size_t)r * w_row_bytes;
    s.len = (size_t)m * w_row_bytes;
    s.step = ((size_t)n * w_row_bytes + (size_t)nb - 1) / (size_t)nb;
    return s;
}

static inline void fl_pf_span_step(fl_pf_span *s)
{
    s->target += s->step;
    const size_t lim = s->target < s->len ? s->target : s->len;
    for (; s->cur < lim; s->cur += 64)
        _mm_prefetch(s->base + s->cur, FL_PF_HINT);
}

/* Per row instead: rows [r, r + n) (NULL when they are not all below r1), each prefetched at
 * the byte offset the current group reads (FL_PF_ROWS_AT), called every other block. Right for
 * blocks of at most 32 bytes (two steps cover every line). For Q4_0/Q5_0 it is faster with one
 * thread (tinyllama Q4_0: 59 against 53 tok/s) but slower with two, where decode runs (63
 * against 72 tok/s, 3 alternating runs each, 2026-11-26): the AVX-512 T = 1 kernel uses the
 * linear span for every quantized type; the AVX2 one still prefetches Q4_0/Q5_0 per row. */
static inline const char *fl_pf_rows(const void *W, size_t w_row_bytes, int64_t r, int64_t n,
                                     int64_t r1)
{
    return r + n <= r1 ? (const char *)W + (size_t)r * w_row_bytes : NULL;
}

/* Prefetch byte offset off of n rows from pf (n a constant, at most 8). A macro, so that the
 * loop is unrolled where n is known: gcc deletes a rolled loop whose only statements are
 * prefetches (it has no effect the compiler can see), and it does so inside an inline function
 * before inlining makes n constant. */
#define FL_PF_ROWS_AT(pf, w_row_bytes, n, off)                                                 \
    do {                                                                                       \
        _Pragma("GCC unroll 8") for (int pf_i_ = 0; pf_i_ < (n); pf_i_++)                      \
            _mm_prefetch((pf) + (size_t)pf_i_ * (w_row_bytes) + (off), FL_PF_HINT);            \
    } while (0)

/* Prefetch distance in rows for groups of n rows: whole groups, at least min_bytes. */
static inline int64_t fl_pf_rows_ahead(size_t w_row_bytes, int n, size_t min_bytes)
{
    const size_t g = (size_t)n * w_row_bytes;
    if (g == 0 || g >= min_bytes) /* (k = 0: empty rows) */
        return n;
    return (int64_t)n * (int64_t)((min_bytes + g - 1) / g);
}

/* ---- per-ISA entries -------------------------------------------------------------------- */

void fl_quantize_act_q8_0_scalar(const float *x, block_q8_0 *xq, int64_t T, int64_t k);
void fl_matmul_rows_scalar(uint32_t wtype, const void *W, size_t w_row_bytes, int64_t k,
                           const void *x, int64_t T, float *y, int64_t y_stride, int64_t r0,
                           int64_t r1);

void fl_quantize_act_q8_0_avx2(const float *x, block_q8_0 *xq, int64_t T, int64_t k);
void fl_matmul_rows_avx2(uint32_t wtype, const void *W, size_t w_row_bytes, int64_t k,
                         const void *x, int64_t T, float *y, int64_t y_stride, int64_t r0,
                         int64_t r1);

void fl_quantize_act_q8_0_avx512(const float *x, block_q8_0 *xq, int64_t T, int64_t k);
void fl_matmul_rows_avx512(uint32_t wtype, const void *W, size_t w_row_bytes, int64_t k,
                           const void *x, int64_t T, float *y, int64_t y_stride, int64_t r0,
                           int64_t r1);

#endif
