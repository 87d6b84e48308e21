/* ref/kernels_avx2.c: AVX2 + FMA + F16C kernels; compiled with the AVX2 flags and only called
 * after fl_cpu_best_isa() found those features.
 *
 * Quantized matmul, two shapes:
 * - Streaming (T = 1): 4 rows at a time over the blocks as stored. Per row and block, 32
 *   products are summed exactly in int32 lanes:
 *   Q8_0: |w| (unsigned, up to 128) times x with w's sign (vpmaddubsw; a pair of products is
 *   at most 2 * 128 * 127 < 2^15, no saturation since activations are in -127..127), then
 *   vpmaddwd with ones. Q4_0/Q5_0: the stored codes u = w + off (0..15, 0..31) times x, plus
 *   a correction -off * (partial sums of x) precomputed per token and block.
 *   Lanes are converted to fp32, scaled by d_w * d_x and accumulated; one horizontal sum per
 *   row. A later group of rows is prefetched (ref/kernels_impl.h).
 * - Tiled (T >= 2): 8 rows transposed in registers (lane j = row j), up to 4 tokens per
 *   weight vector; see the section below.
 * F32/F16: fp32 FMA over 8 elements, 4 rows x 2 tokens at a time.
 * Helpers shared with ref/kernels_avx512.c are in ref/kernels_x86.h. */
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#include "ref/kernels_x86.h"

#define TILE_MIN_T 2 /* tokens from which the tiled kernel is used */

// ---- activation quantization (ggml's CPU quantize_row_q8_0) -------------------------------

#define RNE (_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC) /* round half to even */

void fl_quantize_act_q8_0_avx2(const float *x, block_q8_0 *xq, int64_t T, int64_t k)
{
    const int64_t nb = T * (k / FL_QK);
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (int64_t i = 0; i < nb; i++) {
        const float *xb = x + i * FL_QK;
        __m256 v0 = _mm256_loadu_ps(xb), v1 = _mm256_loadu_ps(xb + 8);
        __m256 v2 = _mm256_loadu_ps(xb + 16), v3 = _mm256_loadu_ps(xb + 24);
        __m256 m = _mm256_max_ps(_mm256_andnot_ps(sign, v0), _mm256_andnot_ps(sign, v1));
        m = _mm256_max_ps(m, _mm256_max_ps(_mm256_andnot_ps(sign, v2),
                                           _mm256_andnot_ps(sign, v3)));
        __m128 m4 = _mm_max_ps(_mm256_extractf128_ps(m, 1), _mm256_castps256_ps128(m));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
        const float amax = _mm_cvtss_f32(m4);
        const float d = amax / 127.f;
        const float id = amax != 0.0f ? 127.f / amax : 0.0f;
        xq[i].d = _cvtss_sh(d, 0);
        const __m256 mul = _mm256_set1_ps(id);
        __m256i i0 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v0, mul), RNE));
        __m256i i1 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v1, mul), RNE));
        __m256i i2 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v2, mul), RNE));
        __m256i i3 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v3, mul), RNE));
        /* packs work within 128-bit lanes: the permute restores element order */
        __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
        p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256((__m256i *)xq[i].qs, p);
    }
}

// ---- block helpers (the shared ones are in ref/kernels_x86.h) -----------------------------

/* Byte j = 0x10 where bit j of qh is set (Q5_0 fifth bits). */
static inline __m256i fifth_bits(const uint8_t *qhp)
{
    uint32_t qh;
    memcpy(&qh, qhp, 4);
    const __m256i shuf = _mm256_setr_epi64x(0, 0x0101010101010101ll, 0x0202020202020202ll,
                                            0x0303030303030303ll);
    __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)qh), shuf); /* byte j = qh byte j/8 */
    const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ull);
    v = _mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit);
    return _mm256_and_si256(v, _mm256_set1_epi8(0x10));
}

/* Exact int32 lanes of one block's dot: 8 partial sums of 4 products w * x. */
static inline __m256i block_dot(uint32_t wtype, const void *wb, __m256i xv, __m256i corr)
{
    const __m256i ones = _mm256_set1_epi16(1);
    if (wtype == FL_TYPE_Q8_0) {
        const __m256i w = _mm256_loadu_si256((const __m256i *)((const block_q8_0 *)wb)->qs);
        const __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(xv, w));
        return _mm256_madd_epi16(p, ones);
    }
    __m256i u;
    if (wtype == FL_TYPE_Q4_0) {
        u = nibbles(((const block_q4_0 *)wb)->qs);
    } else {
        const block_q5_0 *b = wb;
        u = _mm256_or_si256(nibbles(b->qs), fifth_bits(b->qh));
    }
    return _mm256_add_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(u, xv), ones), corr);
}

// ---- quantized matmul ---------------------------------------------------------------------

/* One token's xprep (ref/kernels_x86.h): Q4_0/Q5_0 corrections with vpmaddubsw, Q8_0 none. */
static void prep(xprep *p, int64_t nb, uint32_t wtype)
{
    const int off = wtype == FL_TYPE_Q4_0 ? 8 : 16;
    for (int64_t b = 0; b < nb; b++) {
        p->dx[b] = half_at(&p->x[b]);
        if (wtype == FL_TYPE_Q8_0) {
            p->corr[b] = _mm256_setzero_si256();
            continue;
        }
        const __m256i xv = _mm256_loadu_si256((const __m256i *)p->x[b].qs);
        const __m256i s = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8((char)off),
                                                                 xv), _mm256_set1_epi16(1));
        p->corr[b] = _mm256_sub_epi32(_mm256_setzero_si256(), s);
    }
}

#define ROW_STEP(ACC, WROW, P, B)                                                              \
    do {                                                                                       \
        const char *wb = (WROW) + (B) * bsz;                                                   \
        const __m256i xv = _mm256_loadu_si256((const __m256i *)(P)->x[B].qs);                  \
        const __m256i dot = block_dot(wtype, wb, xv, (P)->corr[B]);                            \
        const float s = half_at(wb) * (P)->dx[B];                                              \
        ACC = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_set1_ps(s), ACC);                \
    } while (0)

/* One token, rows [r0, r1), four at a time. */
static inline __attribute__((always_inline)) void
rows_1tok(uint32_t wtype, const void *W, size_t w_row_bytes, int64_t nb, const xprep *p,
          float *y, int64_t r0, int64_t r1)
{
    const size_t bsz = block_bytes(wtype);
    const int64_t ahead = fl_pf_rows_ahead(w_row_bytes, 4, FL_PF_MIN_BYTES);
    int64_t r = r0;
    for (; r + 4 <= r1; r += 4) {
        const char *w0 = (const char *)W + (size_t)r * w_row_bytes;
        const char *w1 = w0 + w_row_bytes, *w2 = w1 + w_row_bytes, *w3 = w2 + w_row_bytes;
        /* a later group of four rows: short rows defeat the hardware prefetcher */
        /* (Q8_0 linearly, Q4_0/Q5_0 per row: see ref/kernels_impl.h) */
        fl_pf_span pf = fl_pf_span_init(W, w_row_bytes, r + ahead, 4, r1, nb);
        const char *pfr = fl_pf_rows(W, w_row_bytes, r + ahead, 4, r1);
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int64_t b = 0; b < nb; b++) {
            if (wtype == FL_TYPE_Q8_0) {
                fl_pf_span_step(&pf);
            } else if (pfr && (b & 1) == 0) {
                FL_PF_ROWS_AT(pfr, w_row_bytes, 4, (size_t)b * bsz);
            }
            ROW_STEP(a0, w0, p, b);
            ROW_STEP(a1, w1, p, b);
            ROW_STEP(a2, w2, p, b);
            ROW_STEP(a3, w3, p, b);
        }
        _mm_storeu_ps(y + r, hsum8x4(a0, a1, a2, a3));
    }
    for (; r < r1; r++) {
        const char *w0 = (const char *)W + (size_t)r * w_row_bytes;
        __m256 a0 = _mm256_setzero_ps();
        for (int64_t b = 0; b < nb; b++)
            ROW_STEP(a0, w0, p, b);
        y[r] = hsum8(a0);
    }
}

static void matmul_q(uint32_t wtype, const void *W, size_t w_row_bytes, int64_t k,
                     const block_q8_0 *x, int64_t T, float *y, int64_t y_stride, int64_t r0,
                     int64_t r1)
{
    const int64_t nb = k / FL_QK;
    /* one token's d_x and corrections: on the stack up to k = 8192 */
    __m256i corr_stack[XPREP_NB_STACK];
    float dx_stack[XPREP_NB_STACK];
    xprep p;
    void *heap;
    if (!xprep_buffers(&p, nb, corr_stack, dx_stack, &heap)) {
        fl_matmul_rows_scalar(wtype, W, w_row_bytes, k, x, T, y, y_stride, r0, r1);
        return;
    }
    for (int64_t t = 0; t < T; t++) {
        p.x = x + t * nb;
        prep(&p, nb, wtype);
        float *yt = y + t * y_stride;
        if (wtype == FL_TYPE_Q4_0)
            rows_1tok(FL_TYPE_Q4_0, W, w_row_bytes, nb, &p, yt, r0, r1);
        else if (wtype == FL_TYPE_Q5_0)
            rows_1tok(FL_TYPE_Q5_0, W, w_row_bytes, nb, &p, yt, r0, r1);
        else
            rows_1tok(FL_TYPE_Q8_0, W, w_row_bytes, nb, &p, yt, r0, r1);
    }
    free(heap);
}

// ---- tiled quantized matmul (prefill) -----------------------------------------------------
// 8 rows transposed in registers so that 32-bit lane j holds 4 consecutive weights of row j;
// activations broadcast 4 bytes at a time, the weight vector reused for up to 4 tokens.
// Q4_0/Q5_0: vpmaddubsw(x + 128, w) (|w| <= 16: a pair is at most 2 * 255 * 16, and four
// chunks summed in int16 at most 32640) plus -128 * sum(w) per row. Q8_0: |w| times x with w's
// sign, as in the streaming kernel.

#define TILE8_KB 32 /* blocks of k interleaved at a time */

typedef struct {
    __m256i wi[TILE8_KB][8];  /* lane j: bytes 4i..4i+3 of row j (signed) */
    __m256i aux[TILE8_KB][8]; /* Q8_0: |wi|; Q4_0/Q5_0: unused */
    __m256i negsum[TILE8_KB]; /* Q4_0/Q5_0: lane j -128 * sum of row j's weights; Q8_0: 0 */
    __m256 dw[TILE8_KB];      /* lane j: d of row j */
} wtile8;

static inline __m256i signed_block(uint32_t wtype, const char *blk)
{
    if (wtype == FL_TYPE_Q8_0)
        return _mm256_loadu_si256((const __m256i *)(blk + 2));
    if (wtype == FL_TYPE_Q4_0)
        return _mm256_sub_epi8(nibbles((const uint8_t *)blk + 2), _mm256_set1_epi8(8));
    const __m256i u = _mm256_or_si256(nibbles((const uint8_t *)blk + 6),
                                      fifth_bits((const uint8_t *)blk + 2));
    return _mm256_sub_epi8(u, _mm256_set1_epi8(16));
}

static inline __attribute__((always_inline)) void
interleave8(uint32_t wtype, const char *const rows[8], int64_t b0, int nkb, wtile8 *wt)
{
    const size_t bsz = block_bytes(wtype);
    for (int b = 0; b < nkb; b++) {
        const size_t off = (size_t)(b0 + b) * bsz;
        uint16_t d[8] __attribute__((aligned(16)));
        __m256i r[8];
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++) {
            r[j] = signed_block(wtype, rows[j] + off);
            memcpy(&d[j], rows[j] + off, 2);
        }
        /* 8 x 8 dword transpose */
        const __m256i t0 = _mm256_unpacklo_epi32(r[0], r[1]);
        const __m256i t1 = _mm256_unpackhi_epi32(r[0], r[1]);
        const __m256i t2 = _mm256_unpacklo_epi32(r[2], r[3]);
        const __m256i t3 = _mm256_unpackhi_epi32(r[2], r[3]);
        const __m256i t4 = _mm256_unpacklo_epi32(r[4], r[5]);
        const __m256i t5 = _mm256_unpackhi_epi32(r[4], r[5]);
        const __m256i t6 = _mm256_unpacklo_epi32(r[6], r[7]);
        const __m256i t7 = _mm256_unpackhi_epi32(r[6], r[7]);
        const __m256i u0 = _mm256_unpacklo_epi64(t0, t2), u1 = _mm256_unpackhi_epi64(t0, t2);
        const __m256i u2 = _mm256_unpacklo_epi64(t1, t3), u3 = _mm256_unpackhi_epi64(t1, t3);
        const __m256i u4 = _mm256_unpacklo_epi64(t4, t6), u5 = _mm256_unpackhi_epi64(t4, t6);
        const __m256i u6 = _mm256_unpacklo_epi64(t5, t7), u7 = _mm256_unpackhi_epi64(t5, t7);
        __m256i *out = wt->wi[b];
        out[0] = _mm256_permute2x128_si256(u0, u4, 0x20);
        out[4] = _mm256_permute2x128_si256(u0, u4, 0x31);
        out[1] = _mm256_permute2x128_si256(u1, u5, 0x20);
        out[5] = _mm256_permute2x128_si256(u1, u5, 0x31);
        out[2] = _mm256_permute2x128_si256(u2, u6, 0x20);
        out[6] = _mm256_permute2x128_si256(u2, u6, 0x31);
        out[3] = _mm256_permute2x128_si256(u3, u7, 0x20);
        out[7] = _mm256_permute2x128_si256(u3, u7, 0x31);
        __m256i sum = _mm256_setzero_si256();
#pragma GCC unroll 8
        for (int i = 0; i < 8; i++) {
            if (wtype == FL_TYPE_Q8_0)
                wt->aux[b][i] = _mm256_sign_epi8(out[i], out[i]);
            else
                sum = _mm256_add_epi32(sum, _mm256_madd_epi16(
                    _mm256_maddubs_epi16(_mm256_set1_epi8(1), out[i]), _mm256_set1_epi16(1)));
        }
        wt->negsum[b] = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(sum, 7));
        wt->dw[b] = _mm256_cvtph_ps(_mm_load_si128((const __m128i *)d));
    }
}

static inline int32_t word_at(const uint8_t *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* C tokens x 8 rows over nkb blocks. xs: per token (nb, 32) bytes (x + 128 for Q4_0/Q5_0,
 * x for Q8_0); dxf (nb,). */
static inline __attribute__((always_inline)) void
tile8_kernel(uint32_t wtype, int C, const wtile8 *wt, int nkb, const uint8_t *const xs[],
             const float *const dxf[], float *const yp[], int nt, int nr, int first)
{
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 accf[4];
#pragma GCC unroll 4
    for (int c = 0; c < C; c++)
        accf[c] = _mm256_setzero_ps();
    for (int b = 0; b < nkb; b++) {
        __m256i acci[4];
#pragma GCC unroll 4
        for (int c = 0; c < C; c++)
            acci[c] = wt->negsum[b];
        if (wtype == FL_TYPE_Q8_0) {
#pragma GCC unroll 8
            for (int i = 0; i < 8; i++) {
                const __m256i w = wt->wi[b][i], aw = wt->aux[b][i];
#pragma GCC unroll 4
                for (int c = 0; c < C; c++) {
                    const __m256i xv = _mm256_set1_epi32(word_at(xs[c] + b * 32 + 4 * i));
                    const __m256i p = _mm256_maddubs_epi16(aw, _mm256_sign_epi8(xv, w));
                    acci[c] = _mm256_add_epi32(acci[c], _mm256_madd_epi16(p, ones));
                }
            }
        } else {
#pragma GCC unroll 2
            for (int h = 0; h < 8; h += 4) {
#pragma GCC unroll 4
                for (int c = 0; c < C; c++) {
                    const uint8_t *xb = xs[c] + b * 32 + 4 * h;
                    __m256i p = _mm256_maddubs_epi16(_mm256_set1_epi32(word_at(xb)),
                                                     wt->wi[b][h]);
#pragma GCC unroll 3
                    for (int i = 1; i < 4; i++)
                        p = _mm256_add_epi16(p, _mm256_maddubs_epi16(
                                                    _mm256_set1_epi32(word_at(xb + 4 * i)),
                                                    wt->wi[b][h + i]));
                    acci[c] = _mm256_add_epi32(acci[c], _mm256_madd_epi16(p, ones));
                }
            }
        }
        const __m256 dw = wt->dw[b];
#pragma GCC unroll 4
        for (int c = 0; c < C; c++)
            accf[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acci[c]),
                                      _mm256_mul_ps(dw, _mm256_set1_ps(dxf[c][b])), accf[c]);
    }
    for (int c = 0; c < nt; c++) { /* tokens past nt repeat the last one: not stored */
        float v[8];
        _mm256_storeu_ps(v, accf[c]);
        for (int j = 0; j < nr; j++)
            yp[c][j] = first ? v[j] : yp[c][j] + v[j];
    }
}

#define TILE8(WT)                                                                              \
    do {                                                                                       \
        interleave8(WT, rows, b0, nkb, wt);                                                    \
        for (int64_t t = 0; t < T; t += 4) {                                                   \
            const int nt = (int)(T - t < 4 ? T - t : 4);                                       \
            const uint8_t *xs[4];                                                              \
            const float *ds[4];                                                                \
            float *yp[4];                                                                      \
            for (int c = 0; c < 4; c++) {                                                      \
                const int64_t tc = t + (c < nt ? c : nt - 1);                                  \
                xs[c] = xq + (tc * nb + b0) * 32;                                              \
                ds[c] = dxf + tc * nb + b0;                                                    \
                yp[c] = y + tc * y_stride + r;                                                 \
            }                                                                                  \
            if (nt > 2)                                                                        \
                tile8_kernel(WT, 4, wt, nkb, xs, ds, yp, nt, nr, b0 == 0);                       \
            else                                                                               \
                tile8_kernel(WT, 2, wt, nkb, xs, ds, yp, nt, nr, b0 == 0);                       \
        }                                                                                      \
    } while (0)

static void matmul_tiled_q(uint32_t wtype, const void *W, size_t w_row_bytes, int64_t k,
                           const block_q8_0 *x, int64_t T, float *y, int64_t y_stride,
                           int64_t r0, int64_t r1)
{
    const int64_t nb = k / FL_QK;
    uint8_t *xq = aligned_alloc(32, (size_t)(T * nb * 32 + T * nb * 4 + 32) / 32 * 32);
    wtile8 *wt = aligned_alloc(32, sizeof(wtile8));
    if (!xq || !wt) {
        free(xq);
        free(wt);
        fl_matmul_rows_scalar(wtype, W, w_row_bytes, k, x, T, y, y_stride, r0, r1);
        return;
    }
    float *dxf = (float *)(xq + T * nb * 32);
    tile_act(x, T * nb, wtype == FL_TYPE_Q8_0 ? 0 : (char)0x80, xq, dxf);
    for (int64_t r = r0; r < r1; r += 8) {
        const int nr = (int)(r1 - r < 8 ? r1 - r : 8);
        const char *rows[8];
        for (int j = 0; j < 8; j++) /* missing rows repeat the last one, not stored */
            rows[j] = (const char *)W + (size_t)(r + (j < nr ? j : nr - 1)) * w_row_bytes;
        for (int64_t b0 = 0; b0 < nb; b0 += TILE8_KB) {
            const int nkb = (int)(nb - b0 < TILE8_KB ? nb - b0 : TILE8_KB);
            if (wtype == FL_TYPE_Q4_0)
                TILE8(FL_TYPE_Q4_0);
            else if (wtype == FL_TYPE_Q5_0)
                TILE8(FL_TYPE_Q5_0);
            else
                TILE8(FL_TYPE_Q8_0);
        }
    }
    free(wt);
    free(xq);
}

// ---- F32 / F16 ----------------------------------------------------------------------------

static inline __m256 load_w8(uint32_t wtype, const char *w, int64_t i)
{
    if (wtype == FL_TYPE_F16)
        return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)w + i)));
    return _mm256_loadu_ps((const float *)w + i);
}

static inline float w_at(uint32_t wtype, const char *w, int64_t i)
{
    if (wtype == FL_TYPE_F16)
        return half_at((const uint16_t *)w + i);
    return ((const float *)w)[i];
}

/* 4 rows (nr valid) x NT tokens (1 or 2); k in steps of 8, scalar tail. */
static inline __attribute__((always_inline)) void
float_tile(uint32_t wtype, int NT, const char *const w[4], int nr, const float *const xt[2],
           int64_t k, float *const yt[2], const char *pf, size_t w_row_bytes)
{
    const size_t esz = wtype == FL_TYPE_F16 ? 2 : 4;
    __m256 acc[4][2];
#pragma GCC unroll 4
    for (int a = 0; a < 4; a++)
        acc[a][0] = acc[a][1] = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= k; i += 8) {
        /* pf: the same offset in rows of a later group, one 64-byte step per row: every line
         * once */
        if (pf && ((size_t)i * esz & 63) == 0)
            FL_PF_ROWS_AT(pf, w_row_bytes, 4, (size_t)i * esz);
        __m256 xv[2];
#pragma GCC unroll 2
        for (int c = 0; c < NT; c++)
            xv[c] = _mm256_loadu_ps(xt[c] + i);
#pragma GCC unroll 4
        for (int a = 0; a < 4; a++) {
            const __m256 wv = load_w8(wtype, w[a], i);
#pragma GCC unroll 2
            for (int c = 0; c < NT; c++)
                acc[a][c] = _mm256_fmadd_ps(wv, xv[c], acc[a][c]);
        }
    }
    for (int c = 0; c < NT; c++) {
        const __m128 s = hsum8x4(acc[0][c], acc[1][c], acc[2][c], acc[3][c]);
        float v[4];
        _mm_storeu_ps(v, s);
        for (int a = 0; a < nr; a++) {
            for (int64_t j = i; j < k; j++)
                v[a] += w_at(wtype, w[a], j) * xt[c][j];
            yt[c][a] = v[a];
        }
    }
}

/* Rows outer, tokens inner: four weight rows are read from memory once and reused from L1
 * for every pair of tokens. T = 1 streams: the next four rows are prefetched. */
static void matmul_float(uint32_t wtype, const void *W, size_t w_row_bytes, int64_t k,
                         const float *x, int64_t T, float *y, int64_t y_stride, int64_t r0,
                         int64_t r1)
{
    for (int64_t r = r0; r < r1; r += 4) {
        const int nr = (int)(r1 - r < 4 ? r1 - r : 4);
        const char *w[4];
        for (int a = 0; a < 4; a++)
            w[a] = (const char *)W + (size_t)(r + (a < nr ? a : nr - 1)) * w_row_bytes;
        const char *pf = T == 1 && r + 8 <= r1 ? w[0] + 4 * w_row_bytes : NULL;
        for (int64_t t = 0; t < T; t += 2) {
            const int nt = T - t >= 2 ? 2 : 1;
            const float *xt[2] = {x + t * k, x + (t + nt - 1) * k};
            float *yt[2] = {y + t * y_stride + r, y + (t + nt - 1) * y_stride + r};
            if (wtype == FL_TYPE_F16) {
                if (nt == 2)
                    float_tile(FL_TYPE_F16, 2, w, nr, xt, k, yt, NULL, w_row_bytes);
                else
                    float_tile(FL_TYPE_F16, 1, w, nr, xt, k, yt, pf, w_row_bytes);
            } else if (nt == 2) {
                float_tile(FL_TYPE_F32, 2, w, nr, xt, k, yt, NULL, w_row_bytes);
            } else {
                float_tile(FL_TYPE_F32, 1, w, nr, xt, k, yt, pf, w_row_bytes);
            }
        }
    }
}

// ---- entry --------------------------------------------------------------------------------

void fl_matmul_rows_avx2(uint32_t wtype, const void *W, size_t w_row_bytes, int64_t k,
                         const void *x, int64_t T, float *y, int64_t y_stride, int64_t r0,
                         int64_t r1)
{
    switch (wtype) {
    case FL_TYPE_Q4_0:
    case FL_TYPE_Q5_0:
    case FL_TYPE_Q8_0:
        if (T >= TILE_MIN_T)
            matmul_tiled_q(wtype, W, w_row_bytes, k, x, T, y, y_stride, r0, r1);
        else
            matmul_q(wtype, W, w_row_bytes, k, x, T, y, y_stride, r0, r1);
        break;
    case FL_TYPE_F32:
    case FL_TYPE_F16:
        matmul_float(wtype, W, w_row_bytes, k, x, T, y, y_stride, r0, r1);
        break;
    default:
        break;
    }
}
