/* ref/kernels_avx512.c: AVX-512 (F, BW, VL, DQ) + VNNI kernels; compiled with the AVX-512 flags
 * and only called after fl_cpu_best_isa() found those features.
 *
 * Quantized matmul, two shapes:
 * - Streaming (T < TILE_MIN_T, decode): eight weight rows at a time, the same block of two rows
 *   in one 512-bit vector ([row a | row b], activations broadcast to both halves). Weights
 *   become unsigned bytes u = w + off (Q4_0/Q5_0 codes as stored, Q8_0 xor 0x80, off =
 *   8/16/128); vpdpbusd(u, x) starts from -off * (partial sums of x), precomputed per token and
 *   block, so each int32 lane holds an exact partial of sum w * x. Lanes are converted, scaled
 *   by d_w * d_x (the eight d_w assembled in integer registers, one fp16 convert) and
 *   accumulated in fp32; one horizontal sum per row. A later group of rows is prefetched
 *   (Q8_0: linearly, Q4_0/Q5_0: per row; see ref/kernels_impl.h).
 * - Tiled (T >= TILE_MIN_T, prefill): 16 weight rows are decoded to signed bytes and
 *   transposed in registers so that 32-bit lane j of a 512-bit vector holds 4 consecutive
 *   weights of row j; activations become unsigned (x + 128) and are broadcast 4 bytes at a
 *   time, so one vpdpbusd does 16 rows x 4 elements for one token, with the weight vector
 *   reused for up to 8 tokens. The correction -128 * sum(w) per row and block is precomputed
 *   at interleave time. Each lane then holds the exact block dot of one row: one convert and
 *   one FMA per block, token and 16 rows. Rows are interleaved TILE_KB blocks at a time into a
 *   20 KB scratch tile and reused for all T tokens: no repacking of the weights at load, no
 *   memory beyond T * k * 1.125 bytes of prepared activations per call.
 * F32/F16 rows: fp32 FMA over 16 elements, four rows x up to four tokens at a time; for one
 * token the next four rows are prefetched. AVX2-level helpers shared with ref/kernels_avx2.c
 * are in ref/kernels_x86.h. */
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#include "flare/fp16.h"
#include "ref/kernels_x86.h"

#define TILE_ROWS 16 /* rows per interleaved tile (lanes of a 512-bit int32 vector) */
#define TILE_KB 16   /* blocks of k interleaved at a time */
#define TILE_MIN_T 2 /* tokens from which the tiled kernel is used */

// ---- activation quantization (ggml's CPU quantize_row_q8_0) -------------------------------

void fl_quantize_act_q8_0_avx512(const float *x, block_q8_0 *xq, int64_t T, int64_t k)
{
    const int64_t nb = T * (k / FL_QK);
    for (int64_t i = 0; i < nb; i++) {
        const float *xb = x + i * FL_QK;
        __m512 v0 = _mm512_loadu_ps(xb), v1 = _mm512_loadu_ps(xb + 16);
        __m512 m = _mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1));
        const float amax = _mm512_reduce_max_ps(m);
        const float d = amax / 127.f;
        const float id = amax != 0.0f ? 127.f / amax : 0.0f;
        xq[i].d = fl_fp32_to_fp16(d);
        const __m512 mul = _mm512_set1_ps(id);
        v0 = _mm512_roundscale_ps(_mm512_mul_ps(v0, mul), _MM_FROUND_TO_NEAREST_INT);
        v1 = _mm512_roundscale_ps(_mm512_mul_ps(v1, mul), _MM_FROUND_TO_NEAREST_INT);
        /* saturating narrow, as AVX2's packs: NaN (INT32_MIN) becomes -128 */
        _mm_storeu_si128((__m128i *)xq[i].qs, _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(v0)));
        _mm_storeu_si128((__m128i *)(xq[i].qs + 16),
                         _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(v1)));
    }
}

// ---- weight block decoders (the shared ones are in ref/kernels_x86.h) ---------------------

/* Unsigned codes of one block: Q4_0 0..15, Q5_0 0..31, Q8_0 w + 128 (as bytes). */
static inline __m256i unsigned_q5_0(const block_q5_0 *b)
{
    uint32_t qh;
    memcpy(&qh, b->qh, 4);
    const __m256i hi = _mm256_maskz_mov_epi8(_cvtu32_mask32(qh), _mm256_set1_epi8(0x10));
    return _mm256_or_si256(nibbles(b->qs), hi);
}

static inline __m256i unsigned_q8_0(const block_q8_0 *b)
{
    return _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)b->qs),
                            _mm256_set1_epi8((char)0x80));
}

/* The offset between unsigned codes and signed weights. */
static inline int code_offset(uint32_t wtype)
{
    return wtype == FL_TYPE_Q4_0 ? 8 : wtype == FL_TYPE_Q5_0 ? 16 : 128;
}

static inline __m256i unsigned_block(uint32_t wtype, const void *b)
{
    if (wtype == FL_TYPE_Q4_0)
        return nibbles(((const block_q4_0 *)b)->qs);
    if (wtype == FL_TYPE_Q5_0)
        return unsigned_q5_0(b);
    return unsigned_q8_0(b);
}

// ---- streaming quantized matmul (decode) --------------------------------------------------

/* One token's xprep (ref/kernels_x86.h): corrections with vpdpbusd, off also for Q8_0. */
static void prep_stream(xprep *p, int64_t nb, int off)
{
    const __m256i voff = _mm256_set1_epi8((char)off);
    for (int64_t b = 0; b < nb; b++) {
        p->dx[b] = _cvtsh_ss(p->x[b].d);
        const __m256i xv = _mm256_loadu_si256((const __m256i *)p->x[b].qs);
        const __m256i s = _mm256_dpbusd_epi32(_mm256_setzero_si256(), voff, xv);
        p->corr[b] = _mm256_sub_epi32(_mm256_setzero_si256(), s);
    }
}

/* Unsigned codes of the same block in two rows: [row a | row b]. */
static inline __m512i unsigned_pair(uint32_t wtype, const char *a, const char *b)
{
    if (wtype == FL_TYPE_Q8_0) {
        const __m512i w = _mm512_inserti64x4(
            _mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(a + 2))),
            _mm256_loadu_si256((const __m256i *)(b + 2)), 1);
        return _mm512_xor_si512(w, _mm512_set1_epi8((char)0x80));
    }
    const size_t qs = wtype == FL_TYPE_Q4_0 ? 2 : 6; /* offset of the nibbles */
    const __m256i q = _mm256_inserti128_si256(
        _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(a + qs))),
        _mm_loadu_si128((const __m128i *)(b + qs)), 1);                    /* [qa | qb] */
    __m512i z = _mm512_inserti64x4(_mm512_castsi256_si512(q), _mm256_srli_epi16(q, 4), 1);
    z = _mm512_shuffle_i64x2(z, z, _MM_SHUFFLE(3, 1, 2, 0)); /* [qa, qa>>4, qb, qb>>4] */
    z = _mm512_and_si512(z, _mm512_set1_epi8(0x0f));
    if (wtype == FL_TYPE_Q5_0) {
        uint32_t ha, hb;
        memcpy(&ha, a + 2, 4);
        memcpy(&hb, b + 2, 4);
        const __mmask64 m = _cvtu64_mask64((uint64_t)ha | (uint64_t)hb << 32);
        z = _mm512_or_si512(z, _mm512_maskz_mov_epi8(m, _mm512_set1_epi8(0x10)));
    }
    return z;
}

/* The fp16 scales at the start of four blocks, as fp32, assembled in integer registers. */
static inline __m128 half4(const char *a, const char *b, const char *c, const char *d)
{
    uint16_t h[4];
    memcpy(&h[0], a, 2);
    memcpy(&h[1], b, 2);
    memcpy(&h[2], c, 2);
    memcpy(&h[3], d, 2);
    uint64_t v;
    memcpy(&v, h, 8);
    return _mm_cvtph_ps(_mm_cvtsi64_si128((long long)v));
}

/* acc += lanes of a row pair (int32) * the pair's scales (lanes idx of s, 8 each) */
#define ACC_PAIR(acc, d, idx, s)                                                               \
    _mm512_fmadd_ps(_mm512_cvtepi32_ps(d), _mm512_permutexvar_ps(idx, s), acc)

/* Sums of the four rows in two pair accumulators [a | b], [c | d]. */
static inline __m128 hsum_pairs(__m512 ab, __m512 cd)
{
    return hsum8x4(_mm512_castps512_ps256(ab), _mm512_extractf32x8_ps(ab, 1),
                   _mm512_castps512_ps256(cd), _mm512_extractf32x8_ps(cd, 1));
}

#define STREAM_ROW_STEP(R)                                                                     \
    do {                                                                                       \
        const void *wb = (const char *)w##R + b * bsz;                                         \
        const __m256i u = unsigned_block(wtype, wb);                                           \
        const __m256i dot = _mm256_dpbusd_epi32(corr, u, xv);                                  \
        const float s = half_at(wb) * dx;                                                       \
        acc##R = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_set1_ps(s), acc##R);          \
    } while (0)

static inline __attribute__((always_inline)) void
stream_q(uint32_t wtype, const void *W, size_t w_row_bytes, int64_t nb, const xprep *p,
         float *y, int64_t r0, int64_t r1)
{
    const size_t bsz = block_bytes(wtype);
    const __m512i idxA = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
    const __m512i idxB = _mm512_setr_epi32(2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m512i idxC = _mm512_setr_epi32(4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5);
    const __m512i idxD = _mm512_setr_epi32(6, 6, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7);
    const int64_t ahead8 = fl_pf_rows_ahead(w_row_bytes, 8, FL_PF_MIN_BYTES);
    const int64_t ahead4 = fl_pf_rows_ahead(w_row_bytes, 4, FL_PF_MIN_BYTES);
    int64_t r = r0;
    for (; r + 8 <= r1; r += 8) {
        const char *w[8];
        for (int i = 0; i < 8; i++)
            w[i] = (const char *)W + (size_t)(r + i) * w_row_bytes;
        /* a later group of eight rows: short rows defeat the hardware prefetcher */
        fl_pf_span pf = fl_pf_span_init(W, w_row_bytes, r + ahead8, 8, r1, nb);
        __m512 accA = _mm512_setzero_ps(), accB = accA, accC = accA, accD = accA;
        for (int64_t b = 0; b < nb; b++) {
            fl_pf_span_step(&pf);
            const size_t o = (size_t)b * bsz;
            const __m512i xv = _mm512_broadcast_i64x4(
                _mm256_loadu_si256((const __m256i *)p->x[b].qs));
            const __m512i corr = _mm512_broadcast_i64x4(p->corr[b]);
            const __m512i dA =
                _mm512_dpbusd_epi32(corr, unsigned_pair(wtype, w[0] + o, w[1] + o), xv);
            const __m512i dB =
                _mm512_dpbusd_epi32(corr, unsigned_pair(wtype, w[2] + o, w[3] + o), xv);
            const __m512i dC =
                _mm512_dpbusd_epi32(corr, unsigned_pair(wtype, w[4] + o, w[5] + o), xv);
            const __m512i dD =
                _mm512_dpbusd_epi32(corr, unsigned_pair(wtype, w[6] + o, w[7] + o), xv);
            const __m128 lo = half4(w[0] + o, w[1] + o, w[2] + o, w[3] + o);
            const __m128 hi = half4(w[4] + o, w[5] + o, w[6] + o, w[7] + o);
            const __m256 s8 = _mm256_mul_ps(
                _mm256_insertf128_ps(_mm256_castps128_ps256(lo), hi, 1), _mm256_set1_ps(p->dx[b]));
            const __m512 s = _mm512_castps256_ps512(s8);
            accA = ACC_PAIR(accA, dA, idxA, s);
            accB = ACC_PAIR(accB, dB, idxB, s);
            accC = ACC_PAIR(accC, dC, idxC, s);
            accD = ACC_PAIR(accD, dD, idxD, s);
        }
        _mm_storeu_ps(y + r, hsum_pairs(accA, accB));
        _mm_storeu_ps(y + r + 4, hsum_pairs(accC, accD));
    }
    for (; r + 4 <= r1; r += 4) {
        const char *w0 = (const char *)W + (size_t)r * w_row_bytes;
        const char *w1 = w0 + w_row_bytes, *w2 = w1 + w_row_bytes, *w3 = w2 + w_row_bytes;
        /* a later group of four rows */
        fl_pf_span pf = fl_pf_span_init(W, w_row_bytes, r + ahead4, 4, r1, nb);
        /* rows 0,1 in accA and rows 2,3 in accB: [row a lanes | row b lanes] */
        __m512 accA = _mm512_setzero_ps(), accB = accA;
        for (int64_t b = 0; b < nb; b++) {
            fl_pf_span_step(&pf);
            const size_t o = (size_t)b * bsz;
            const __m512i xv = _mm512_broadcast_i64x4(
                _mm256_loadu_si256((const __m256i *)p->x[b].qs));
            const __m512i corr = _mm512_broadcast_i64x4(p->corr[b]);
            const __m512i dA = _mm512_dpbusd_epi32(corr, unsigned_pair(wtype, w0 + o, w1 + o), xv);
            const __m512i dB = _mm512_dpbusd_epi32(corr, unsigned_pair(wtype, w2 + o, w3 + o), xv);
            /* d of the four rows (integer pipes), times d_x, spread over the halves */
            const __m128 s4 = _mm_mul_ps(half4(w0 + o, w1 + o, w2 + o, w3 + o),
                                         _mm_set1_ps(p->dx[b]));
            const __m512 s = _mm512_castps128_ps512(s4);
            accA = ACC_PAIR(accA, dA, idxA, s);
            accB = ACC_PAIR(accB, dB, idxB, s);
        }
        _mm_storeu_ps(y + r, hsum_pairs(accA, accB));
    }
    for (; r < r1; r++) {
        const char *w0 = (const char *)W + (size_t)r * w_row_bytes;
        __m256 acc0 = _mm256_setzero_ps();
        for (int64_t b = 0; b < nb; b++) {
            const __m256i xv = _mm256_loadu_si256((const __m256i *)p->x[b].qs);
            const __m256i corr = p->corr[b];
            const float dx = p->dx[b];
            STREAM_ROW_STEP(0);
        }
        y[r] = hsum8(acc0);
    }
}

static void matmul_stream_q(uint32_t wtype, const void *W, size_t w_row_bytes, int64_t k,
                            const block_q8_0 *x, int64_t T, float *y, int64_t y_stride,
                            int64_t r0, int64_t r1)
{
    const int64_t nb = k / FL_QK;
    __m256i corr_stack[XPREP_NB_STACK];
    float dx_stack[XPREP_NB_STACK];
    xprep p;
    void *heap;
    if (!xprep_buffers(&p, nb, corr_stack, dx_stack, &heap)) {
        /* no memory: the scalar definition needs none */
        fl_matmul_rows_scalar(wtype, W, w_row_bytes, k, x, T, y, y_stride, r0, r1);
        return;
    }
    for (int64_t t = 0; t < T; t++) {
        p.x = x + t * nb;
        prep_stream(&p, nb, code_offset(wtype));
        float *yt = y + t * y_stride;
        /* separate instances so each decoder is inlined into its own loop */
        if (wtype == FL_TYPE_Q4_0)
            stream_q(FL_TYPE_Q4_0, W, w_row_bytes, nb, &p, yt, r0, r1);
        else if (wtype == FL_TYPE_Q5_0)
            stream_q(FL_TYPE_Q5_0, W, w_row_bytes, nb, &p, yt, r0, r1);
        else
            stream_q(FL_TYPE_Q8_0, W, w_row_bytes, nb, &p, yt, r0, r1);
    }
    free(heap);
}

// ---- tiled quantized matmul (prefill) -----------------------------------------------------

/* 16 rows x TILE_KB blocks, interleaved: wi[b][i] lane j = bytes 4i..4i+3 of row j, block b. */
typedef struct {
    __m512i wi[TILE_KB][8];
    __m512i negsum[TILE_KB]; /* lane j: -128 * sum of row j's 32 weights */
    __m512 dw[TILE_KB];      /* lane j: d of row j */
} wtile;

/* Signed weights of one block. */
static inline __m256i signed_block(uint32_t wtype, const void *b)
{
    if (wtype == FL_TYPE_Q8_0)
        return _mm256_loadu_si256((const __m256i *)((const block_q8_0 *)b)->qs);
    const __m256i u = unsigned_block(wtype, b);
    return _mm256_sub_epi8(u, _mm256_set1_epi8((char)code_offset(wtype)));
}

/* Rows j = 0..15 of one block as signed bytes, transposed in registers: out[i] lane j = bytes
 * 4i..4i+3 of row j. P[m] = [row m | row m + 8]; each 256-bit half is an 8 x 8 transpose of
 * dwords (unpack 32, unpack 64, then 128-bit lanes exchanged by a two-source permute). */
static inline __attribute__((always_inline)) void
interleave(uint32_t wtype, const char *const rows[TILE_ROWS], int64_t b0, int nkb, wtile *wt)
{
    const size_t bsz = block_bytes(wtype);
    const __m512i lo = _mm512_setr_epi64(0, 1, 8, 9, 4, 5, 12, 13);
    const __m512i hi = _mm512_setr_epi64(2, 3, 10, 11, 6, 7, 14, 15);
    const __m512i ones = _mm512_set1_epi8(1);
    for (int b = 0; b < nkb; b++) {
        const size_t off = (size_t)(b0 + b) * bsz;
        uint16_t d[TILE_ROWS] __attribute__((aligned(32)));
        __m512i P[8];
#pragma GCC unroll 8
        for (int m = 0; m < 8; m++) {
            P[m] = _mm512_inserti64x4(
                _mm512_castsi256_si512(signed_block(wtype, rows[m] + off)),
                signed_block(wtype, rows[m + 8] + off), 1);
            memcpy(&d[m], rows[m] + off, 2);
            memcpy(&d[m + 8], rows[m + 8] + off, 2);
        }
        const __m512i t0 = _mm512_unpacklo_epi32(P[0], P[1]);
        const __m512i t1 = _mm512_unpackhi_epi32(P[0], P[1]);
        const __m512i t2 = _mm512_unpacklo_epi32(P[2], P[3]);
        const __m512i t3 = _mm512_unpackhi_epi32(P[2], P[3]);
        const __m512i t4 = _mm512_unpacklo_epi32(P[4], P[5]);
        const __m512i t5 = _mm512_unpackhi_epi32(P[4], P[5]);
        const __m512i t6 = _mm512_unpacklo_epi32(P[6], P[7]);
        const __m512i t7 = _mm512_unpackhi_epi32(P[6], P[7]);
        const __m512i u0 = _mm512_unpacklo_epi64(t0, t2), u1 = _mm512_unpackhi_epi64(t0, t2);
        const __m512i u2 = _mm512_unpacklo_epi64(t1, t3), u3 = _mm512_unpackhi_epi64(t1, t3);
        const __m512i u4 = _mm512_unpacklo_epi64(t4, t6), u5 = _mm512_unpackhi_epi64(t4, t6);
        const __m512i u6 = _mm512_unpacklo_epi64(t5, t7), u7 = _mm512_unpackhi_epi64(t5, t7);
        __m512i *out = wt->wi[b];
        out[0] = _mm512_permutex2var_epi64(u0, lo, u4);
        out[4] = _mm512_permutex2var_epi64(u0, hi, u4);
        out[1] = _mm512_permutex2var_epi64(u1, lo, u5);
        out[5] = _mm512_permutex2var_epi64(u1, hi, u5);
        out[2] = _mm512_permutex2var_epi64(u2, lo, u6);
        out[6] = _mm512_permutex2var_epi64(u2, hi, u6);
        out[3] = _mm512_permutex2var_epi64(u3, lo, u7);
        out[7] = _mm512_permutex2var_epi64(u3, hi, u7);
        __m512i sum = _mm512_setzero_si512();
#pragma GCC unroll 8
        for (int i = 0; i < 8; i++)
            sum = _mm512_dpbusd_epi32(sum, ones, out[i]);
        wt->negsum[b] = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(sum, 7));
        wt->dw[b] = _mm512_cvtph_ps(_mm256_load_si256((const __m256i *)d));
    }
}

/* C tokens x R * 16 rows over nkb blocks: wt[h] holds rows 16h..16h+15 of the tile, each
 * activation broadcast feeds R vpdpbusd. xu: per token (nb, 32) bytes x + 128; dxf (nb,);
 * yp[c]: y of token c at the tile's first row. */
static inline __attribute__((always_inline)) void
tile_kernel(int R, int C, const wtile *const wt[2], int nkb, const uint8_t *const xu[],
            const float *const dxf[], float *const yp[], const __mmask16 mask[2], int first)
{
    __m512 accf[2][8];
#pragma GCC unroll 2
    for (int h = 0; h < R; h++)
#pragma GCC unroll 8
        for (int c = 0; c < C; c++)
            accf[h][c] = first ? _mm512_setzero_ps()
                               : _mm512_maskz_loadu_ps(mask[h], yp[c] + 16 * h);
    for (int b = 0; b < nkb; b++) {
        __m512i acci[2][8];
#pragma GCC unroll 2
        for (int h = 0; h < R; h++)
#pragma GCC unroll 8
            for (int c = 0; c < C; c++)
                acci[h][c] = wt[h]->negsum[b];
#pragma GCC unroll 8
        for (int i = 0; i < 8; i++) {
            __m512i wv[2];
#pragma GCC unroll 2
            for (int h = 0; h < R; h++)
                wv[h] = wt[h]->wi[b][i];
#pragma GCC unroll 8
            for (int c = 0; c < C; c++) {
                int32_t xw;
                memcpy(&xw, xu[c] + (size_t)b * 32 + 4 * i, 4);
                const __m512i xb = _mm512_set1_epi32(xw);
#pragma GCC unroll 2
                for (int h = 0; h < R; h++)
                    acci[h][c] = _mm512_dpbusd_epi32(acci[h][c], xb, wv[h]);
            }
        }
#pragma GCC unroll 2
        for (int h = 0; h < R; h++) {
            const __m512 dw = wt[h]->dw[b];
#pragma GCC unroll 8
            for (int c = 0; c < C; c++)
                accf[h][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acci[h][c]),
                                             _mm512_mul_ps(dw, _mm512_set1_ps(dxf[c][b])),
                                             accf[h][c]);
        }
    }
#pragma GCC unroll 2
    for (int h = 0; h < R; h++)
#pragma GCC unroll 8
        for (int c = 0; c < C; c++)
            _mm512_mask_storeu_ps(yp[c] + 16 * h, mask[h], accf[h][c]);
}

static inline void interleave_any(uint32_t wtype, const char *const rows[TILE_ROWS], int64_t b0,
                                  int nkb, wtile *wt)
{
    if (wtype == FL_TYPE_Q4_0)
        interleave(FL_TYPE_Q4_0, rows, b0, nkb, wt);
    else if (wtype == FL_TYPE_Q5_0)
        interleave(FL_TYPE_Q5_0, rows, b0, nkb, wt);
    else
        interleave(FL_TYPE_Q8_0, rows, b0, nkb, wt);
}

/* Row tiles of 32 (two interleaved halves, 6 tokens per pass) while more than 16 rows remain,
 * then of 16 (8 tokens per pass). */
static void matmul_tiled_q(uint32_t wtype, const void *W, size_t w_row_bytes, int64_t k,
                           const block_q8_0 *x, int64_t T, float *y, int64_t y_stride,
                           int64_t r0, int64_t r1)
{
    const int64_t nb = k / FL_QK;
    uint8_t *xu = aligned_alloc(64, (size_t)(T * nb * 32 + T * nb * 4 + 64) / 64 * 64);
    wtile *wts = aligned_alloc(64, 2 * sizeof(wtile));
    if (!xu || !wts) {
        free(xu);
        free(wts);
        fl_matmul_rows_scalar(wtype, W, w_row_bytes, k, x, T, y, y_stride, r0, r1);
        return;
    }
    float *dxf = (float *)(xu + T * nb * 32);
    tile_act(x, T * nb, (char)0x80, xu, dxf); /* x + 128 as unsigned bytes, scales as fp32 */
    const wtile *const wt[2] = {wts, wts + 1};
    for (int64_t r = r0; r < r1;) {
        const int R = r1 - r > TILE_ROWS ? 2 : 1;
        const int64_t rn = r1 - r < R * TILE_ROWS ? r1 - r : R * TILE_ROWS; /* rows in tile */
        __mmask16 mask[2] = {0, 0};
        const char *rows[2][TILE_ROWS];
        for (int h = 0; h < R; h++) {
            const int nr = (int)(rn - 16 * h < TILE_ROWS ? rn - 16 * h : TILE_ROWS);
            mask[h] = (__mmask16)((1u << nr) - 1u);
            for (int j = 0; j < TILE_ROWS; j++) /* missing rows repeat the last one */
                rows[h][j] = (const char *)W +
                             (size_t)(r + 16 * h + (j < nr ? j : nr - 1)) * w_row_bytes;
        }
        const int step = R == 2 ? 6 : 8;
        for (int64_t b0 = 0; b0 < nb; b0 += TILE_KB) {
            const int nkb = (int)(nb - b0 < TILE_KB ? nb - b0 : TILE_KB);
            for (int h = 0; h < R; h++)
                interleave_any(wtype, rows[h], b0, nkb, wts + h);
            for (int64_t t = 0; t < T; t += step) {
                const int nt = (int)(T - t < step ? T - t : step);
                const uint8_t *xs[8];
                const float *ds[8];
                float *yp[8];
                for (int c = 0; c < 8; c++) { /* missing tokens repeat the last one */
                    const int64_t tc = t + (c < nt ? c : nt - 1);
                    xs[c] = xu + (tc * nb + b0) * 32;
                    ds[c] = dxf + tc * nb + b0;
                    yp[c] = y + tc * y_stride + r;
                }
                const int first = b0 == 0;
                if (R == 2 && nt > 4)
                    tile_kernel(2, 6, wt, nkb, xs, ds, yp, mask, first);
                else if (R == 2 && nt > 2)
                    tile_kernel(2, 4, wt, nkb, xs, ds, yp, mask, first);
                else if (R == 2)
                    tile_kernel(2, 2, wt, nkb, xs, ds, yp, mask, first);
                else if (nt > 4)
                    tile_kernel(1, 8, wt, nkb, xs, ds, yp, mask, first);
                else if (nt > 2)
                    tile_kernel(1, 4, wt, nkb, xs, ds, yp, mask, first);
                else
                    tile_kernel(1, 2, wt, nkb, xs, ds, yp, mask, first);
            }
        }
        r += rn;
    }
    free(wts);
    free(xu);
}

// ---- F32 / F16 ----------------------------------------------------------------------------

static inline __m512 load_w16(uint32_t wtype, const void *w, int64_t i, __mmask16 m)
{
    if (wtype == FL_TYPE_F16)
        return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, (const uint16_t *)w + i));
    return _mm512_maskz_loadu_ps(m, (const float *)w + i);
}

static inline __m512 load_w16_full(uint32_t wtype, const void *w, int64_t i)
{
    if (wtype == FL_TYPE_F16)
        return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)((const uint16_t *)w + i)));
    return _mm512_loadu_ps((const float *)w + i);
}

/* 4 rows (nr valid) x NT tokens (1..4), k in steps of 16 (masked tail). */
static inline __attribute__((always_inline)) void
float_tile(uint32_t wtype, int NT, const char *const w[4], int nr, const float *const xt[4],
           int64_t k, float *const yt[4], const char *pf, size_t w_row_bytes)
{
    const size_t esz = wtype == FL_TYPE_F16 ? 2 : 4;
    __m512 acc[4][4];
#pragma GCC unroll 4
    for (int a = 0; a < 4; a++)
#pragma GCC unroll 4
        for (int c = 0; c < 4; c++)
            acc[a][c] = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= k; i += 16) {
        /* one 64-byte step per row: every line once (F16: every other iteration) */
        if (pf && ((size_t)i * esz & 63) == 0)
            FL_PF_ROWS_AT(pf, w_row_bytes, 4, (size_t)i * esz);
        __m512 xv[4];
#pragma GCC unroll 4
        for (int c = 0; c < NT; c++)
            xv[c] = _mm512_loadu_ps(xt[c] + i);
#pragma GCC unroll 4
        for (int a = 0; a < 4; a++) {
            const __m512 wv = load_w16_full(wtype, w[a], i);
#pragma GCC unroll 4
            for (int c = 0; c < NT; c++)
                acc[a][c] = _mm512_fmadd_ps(wv, xv[c], acc[a][c]);
        }
    }
    if (i < k) { /* masked tail */
        const __mmask16 m = (__mmask16)((1u << (k - i)) - 1u);
        __m512 xv[4];
#pragma GCC unroll 4
        for (int c = 0; c < NT; c++)
            xv[c] = _mm512_maskz_loadu_ps(m, xt[c] + i);
#pragma GCC unroll 4
        for (int a = 0; a < 4; a++) {
            const __m512 wv = load_w16(wtype, w[a], i, m);
#pragma GCC unroll 4
            for (int c = 0; c < NT; c++)
                acc[a][c] = _mm512_fmadd_ps(wv, xv[c], acc[a][c]);
        }
    }
    for (int c = 0; c < NT; c++)
        for (int a = 0; a < nr; a++)
            yt[c][a] = _mm512_reduce_add_ps(acc[a][c]);
}

#define FLOAT_TILE(WT)                                                                         \
    do {                                                                                       \
        if (nt == 4)                                                                           \
            float_tile(WT, 4, w, nr, xt, k, yt, NULL, w_row_bytes);                            \
        else if (nt == 3)                                                                      \
            float_tile(WT, 3, w, nr, xt, k, yt, NULL, w_row_bytes);                            \
        else if (nt == 2)                                                                      \
            float_tile(WT, 2, w, nr, xt, k, yt, NULL, w_row_bytes);                            \
        else                                                                                   \
            float_tile(WT, 1, w, nr, xt, k, yt, pf, w_row_bytes);                              \
    } while (0)

/* Rows outer, tokens inner: four weight rows are read from memory once and reused from L1
 * for every group of four tokens. T = 1 streams: each row of the next group of four is
 * prefetched at the offset being read. */
static void matmul_float(uint32_t wtype, const void *W, size_t w_row_bytes, int64_t k,
                         const float *x, int64_t T, float *y, int64_t y_stride, int64_t r0,
                         int64_t r1)
{
    const int64_t ahead = 4; /* one group: more measured no faster (stories15M F32) */
    for (int64_t r = r0; r < r1; r += 4) {
        const int nr = (int)(r1 - r < 4 ? r1 - r : 4);
        const char *w[4];
        for (int a = 0; a < 4; a++)
            w[a] = (const char *)W + (size_t)(r + (a < nr ? a : nr - 1)) * w_row_bytes;
        const char *pf = T == 1 && r + ahead + 4 <= r1
                             ? (const char *)W + (size_t)(r + ahead) * w_row_bytes : NULL;
        for (int64_t t = 0; t < T; t += 4) {
            const int nt = (int)(T - t < 4 ? T - t : 4);
            const float *xt[4];
            float *yt[4];
            for (int c = 0; c < 4; c++) {
                xt[c] = x + (t + (c < nt ? c : nt - 1)) * k;
                yt[c] = y + (t + (c < nt ? c : nt - 1)) * y_stride + r;
            }
            if (wtype == FL_TYPE_F16)
                FLOAT_TILE(FL_TYPE_F16);
            else
                FLOAT_TILE(FL_TYPE_F32);
        }
    }
}

// ---- entry --------------------------------------------------------------------------------

void fl_matmul_rows_avx512(uint32_t wtype, const void *W, size_t w_row_bytes, int64_t k,
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
            matmul_stream_q(wtype, W, w_row_bytes, k, x, T, y, y_stride, r0, r1);
        break;
    case FL_TYPE_F16:
        /* one token: 512-bit fp16 conversion is slower here than two 256-bit ones (measured
         * 33 vs 53 GB/s on stories15M shapes); AVX2 is part of this ISA level */
        if (T == 1) {
            fl_matmul_rows_avx2(wtype, W, w_row_bytes, k, x, T, y, y_stride, r0, r1);
            break;
        }
        matmul_float(wtype, W, w_row_bytes, k, x, T, y, y_stride, r0, r1);
        break;
    case FL_TYPE_F32:
        matmul_float(wtype, W, w_row_bytes, k, x, T, y, y_stride, r0, r1);
        break;
    default:
        break;
    }
}
