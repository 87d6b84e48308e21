/* ref/cuda/mma.cuh: quantized weights x Q8_0 activations on int8 tensor cores (prompt chunks of
 * MMA_MIN_T+ tokens; included by kernels.cuh).
 *
 * mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32: one QK block is exactly one k32 step, so each
 * mma yields the int32 sums of one block for 16 rows x 8 tokens, scaled by d_w * d_x in fp32 as
 * the dp4a kernels (and ggml's vec_dot_*_q8_0) do. Two kernels:
 *   mmq_tile_kernel  (opts.mma 1, the default) a block computes 64 rows x 64 tokens; weights and
 *                    activations go through shared memory in stages of 4 blocks of k, unpacked
 *                    once there into signed bytes in fragment order, the next stage's loads in
 *                    flight while the 4 warps multiply the current one (32 rows x 32 tokens a
 *                    warp: 8 mma a k step, fragments read with 8-byte loads, no bank conflicts);
 *   mmq_mma_kernel   (opts.mma 2, the first version, kept for the A/B) a warp computes 16 rows x
 *                    32 tokens straight from global memory, no reuse between warps.
 * Both sum the same products in the same order: the same results bit for bit. */
#ifndef FLARE_REF_CUDA_MMA_CUH
#define FLARE_REF_CUDA_MMA_CUH

/* Per-byte a - b (no borrow between bytes). */
HD int vsub4(int a, int b)
{
#ifdef __CUDA_ARCH__
    return (int)__vsub4((unsigned)a, (unsigned)b);
#else
    unsigned r = 0;
    for (int i = 0; i < 4; i++)
        r |= ((((unsigned)a >> (8 * i)) - ((unsigned)b >> (8 * i))) & 0xFFu) << (8 * i);
    return (int)r;
#endif
}

/* Word t (t = 0..3) of a Q4_0/Q5_0 block's quants (qh: the block's fifth bits) as signed bytes:
 * *lo = elements 4t..4t+3 (low nibbles), *hi = elements 16+4t..16+4t+3 (high nibbles). */
template <int TYPE>
HD void quant_pair(int w, uint32_t qh, int t, int *lo, int *hi)
{
    int l = w & 0x0F0F0F0F, h = (w >> 4) & 0x0F0F0F0F;
    if (TYPE == T_Q5_0) {
        l |= q5_high((qh >> (4 * t)) & 0xFu);
        h |= q5_high((qh >> (16 + 4 * t)) & 0xFu);
    }
    int off = TYPE == T_Q4_0 ? 0x08080808 : 0x10101010;
    *lo = vsub4(l, off);
    *hi = vsub4(h, off);
}

/* The A fragment of mma.m16n8k32.row.col.s32.s8.s8.s32 (PTX ISA, "Matrix Fragments for
 * mma.m16n8k32"; g = lane / 4, t = lane % 4) for one weight block of 16 rows:
 *   a0 row g, k 4t..4t+3 | a1 row g+8, k 4t.. | a2 row g, k 16+4t.. | a3 row g+8, k 16+4t..
 * blk_lo, blk_hi: the block index of rows g and g+8. Values are signed (offset taken out). */
template <int TYPE>
HD void load_a_frag(const dmat &m, size_t blk_lo, size_t blk_hi, int t, int *a)
{
    if (TYPE == T_Q8_0) {
        const int *lo = (const int *)(m.qs + blk_lo * 32), *hi = (const int *)(m.qs + blk_hi * 32);
        a[0] = ldg(lo + t);
        a[1] = ldg(hi + t);
        a[2] = ldg(lo + t + 4);
        a[3] = ldg(hi + t + 4);
        return;
    }
    /* word t of a Q4_0/Q5_0 block holds elements 4t..4t+3 (low nibbles), 16+4t.. (high) */
    int wl = ldg((const int *)(m.qs + blk_lo * 16) + t);
    int wh = ldg((const int *)(m.qs + blk_hi * 16) + t);
    uint32_t ql = TYPE == T_Q5_0 ? ldg(m.qh + blk_lo) : 0u;
    uint32_t qh = TYPE == T_Q5_0 ? ldg(m.qh + blk_hi) : 0u;
    quant_pair<TYPE>(wl, ql, t, &a[0], &a[2]);
    quant_pair<TYPE>(wh, qh, t, &a[1], &a[3]);
}

/* c (16x8 s32) += A (16x32 s8) B (32x8 s8), one warp. */
__device__ __forceinline__ void mma_s8(int *c, const int *a, const int *b)
{
#ifdef FLCU_EMU
    flcu_emu::mma_m16n8k32_s8(c, a, b);
#else
    asm volatile("mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
                 "{%8,%9}, {%0,%1,%2,%3};"
                 : "+r"(c[0]), "+r"(c[1]), "+r"(c[2]), "+r"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#endif
}

/* ---- the tiled kernel ------------------------------------------------------------------------- */

#define TL_ROWS (16 * MM_WARPS) /* weight rows a block (64) */
#define TL_TOK 64               /* tokens a block */
#define TL_KB 4                 /* QK blocks of k a stage */
#define TL_S (8 * TL_KB + 8)    /* words a tile row: 8 a block + 8 of padding, so the rows of a
                                   fragment start 8 banks apart */
#define TL_THREADS (32 * MM_WARPS)
#define TL_ITEMS (TL_ROWS * TL_KB / TL_THREADS) /* (row, block) pairs a thread stages (2) */
/* dynamic shared memory: A (TL_ROWS, TL_S) and B (TL_TOK, TL_S) words, d_w (TL_KB, TL_ROWS) and
 * d_x (TL_KB, TL_TOK) floats */
#define TL_SMEM_BYTES ((size_t)4 * ((TL_ROWS + TL_TOK) * TL_S + TL_KB * (TL_ROWS + TL_TOK)))
static_assert(TL_ROWS == TL_TOK && TL_ROWS * TL_KB % TL_THREADS == 0, "tile staging");

/* One block of weights (TYPE) or activations (T_Q8_0) as loaded for a stage: the quants as
 * stored (Q8_0: 8 words in element order; Q4_0/Q5_0: 4 words of nibbles, q[4..7] unused, and
 * the fifth bits) and the scale. */
struct stage_blk {
    int q[8];
    uint32_t qh;
    float d;
};

template <int TYPE>
HD void stage_load_w(const dmat &m, size_t blk, stage_blk &s)
{
    const int4 *p = (const int4 *)(m.qs + blk * (TYPE == T_Q8_0 ? 32 : 16));
    int4 a = ldg(p);
    s.q[0] = a.x; s.q[1] = a.y; s.q[2] = a.z; s.q[3] = a.w;
    if (TYPE == T_Q8_0) {
        int4 b = ldg(p + 1);
        s.q[4] = b.x;
        s.q[5] = b.y;
        s.q[6] = b.z;
        s.q[7] = b.w;
    }
    s.qh = TYPE == T_Q5_0 ? ldg(m.qh + blk) : 0u;
    s.d = __half2float(ldg(m.d + blk));
}

/* The block's signed quants as a tile row's 8 words, in fragment order: word 2t holds elements
 * 4t..4t+3, word 2t+1 elements 16+4t..16+4t+3 (t = 0..3), which is (a0, a2) of an A fragment
 * row and (b0, b1) of a B fragment column: lane t reads its pair with one 8-byte load. */
template <int TYPE>
HD void tile_words(const stage_blk &s, int *w)
{
    for (int t = 0; t < 4; t++) {
        if (TYPE == T_Q8_0) {
            w[2 * t] = s.q[t];
            w[2 * t + 1] = s.q[t + 4];
        } else {
            quant_pair<TYPE>(s.q[t], s.qh, t, &w[2 * t], &w[2 * t + 1]);
        }
    }
}

/* (float)c, exactly, for |c| < 2^22 (a block's sum is at most 32 x 128 x 127), without the
 * conversion unit (I2F issues at 16 a clock and SM on sm_80/sm_90, a quarter of the fp32 adds):
 * the float whose bits are those of 1.5 x 2^23 plus c, less 1.5 x 2^23. */
__device__ __forceinline__ float i2f_small(int c)
{
    return __int_as_float(0x4B400000 + c) - 12582912.0f;
}

/* Stage the (row, block) pairs of this thread for the stage starting at block b0: weights of rows
 * row0.., activations of tokens tok0.. (rows, tokens and blocks past the end clamped: loaded,
 * never used). */
template <int TYPE>
__device__ __forceinline__ void tile_fetch(const dmat &m, const int8_t *__restrict__ xqs,
                                           const float *__restrict__ xd, uint32_t T,
                                           uint32_t row0, uint32_t tok0, uint32_t b0,
                                           uint32_t tid, stage_blk *sw, stage_blk *sx)
{
    uint32_t nb = m.k / QK;
#pragma unroll
    for (int i = 0; i < TL_ITEMS; i++) {
        uint32_t it = tid + i * TL_THREADS, r = it / TL_KB;
        uint32_t b = min(b0 + it % TL_KB, nb - 1);
        stage_load_w<TYPE>(m, (size_t)min(row0 + r, m.rows - 1) * nb + b, sw[i]);
        size_t tok = min(tok0 + r, T - 1);
        const int4 *p = (const int4 *)(xqs + tok * m.k + (size_t)b * QK);
        int4 a = __ldg(p), c = __ldg(p + 1);
        sx[i] = stage_blk{{a.x, a.y, a.z, a.w, c.x, c.y, c.z, c.w}, 0u, 0.0f};
        sx[i].d = __ldg(xd + tok * nb + b);
    }
}

/* The staged pairs into shared memory as tile rows (tile_words) and scales. */
template <int TYPE>
__device__ __forceinline__ void tile_store(int *As, int *Bs, float *dws, float *dxs, uint32_t tid,
                                           const stage_blk *sw, const stage_blk *sx)
{
#pragma unroll
    for (int i = 0; i < TL_ITEMS; i++) {
        uint32_t it = tid + i * TL_THREADS, r = it / TL_KB, kb = it % TL_KB;
        int w[8];
        tile_words<TYPE>(sw[i], w);
        int4 *pa = (int4 *)(As + r * TL_S + kb * 8);
        pa[0] = make_int4(w[0], w[1], w[2], w[3]);
        pa[1] = make_int4(w[4], w[5], w[6], w[7]);
        tile_words<T_Q8_0>(sx[i], w);
        int4 *pb = (int4 *)(Bs + r * TL_S + kb * 8);
        pb[0] = make_int4(w[0], w[1], w[2], w[3]);
        pb[1] = make_int4(w[4], w[5], w[6], w[7]);
        dws[kb * TL_ROWS + r] = sw[i].d;
        dxs[kb * TL_TOK + r] = sx[i].d;
    }
}

/* y (T, rows) [+]= W (rows, k) x per matrix of the group, x as Q8_0 (xqs (T, k), xd (T, k/32)).
 * grid (sum of ceil(rows / TL_ROWS), ceil(T / TL_TOK)), block (32, MM_WARPS), TL_SMEM_BYTES of
 * dynamic shared memory. Warp w takes rows 32 (w / 2).. and tokens 32 (w % 2).. of the tile: 2 A
 * fragments (16 rows) x 4 B fragments (8 tokens); a B fragment wholly past T is skipped. */
template <int TYPE>
__global__ void mmq_tile_kernel(mm_group G, const int8_t *__restrict__ xqs,
                                const float *__restrict__ xd, uint32_t T, int accumulate)
{
    FLCU_DYN_SHARED(int, tile_sm);
    int *As = tile_sm, *Bs = tile_sm + TL_ROWS * TL_S;
    float *dws = (float *)(Bs + TL_TOK * TL_S), *dxs = dws + TL_KB * TL_ROWS;
    uint32_t bx;
    int gi = group_pick(G, blockIdx.x, &bx);
    const dmat m = G.m[gi];
    uint32_t nb = m.k / QK, n_stage = (nb + TL_KB - 1) / TL_KB;
    uint32_t row0 = bx * TL_ROWS, tok0 = blockIdx.y * TL_TOK;
    uint32_t tid = threadIdx.y * 32 + threadIdx.x, g = threadIdx.x / 4, t = threadIdx.x % 4;
    uint32_t wr = threadIdx.y / 2 * 32, wc = threadIdx.y % 2 * 32;
    float acc[2][4][4];
#pragma unroll
    for (int i = 0; i < 2; i++)
#pragma unroll
        for (int j = 0; j < 4; j++)
            acc[i][j][0] = acc[i][j][1] = acc[i][j][2] = acc[i][j][3] = 0.0f;
    stage_blk sw[TL_ITEMS], sx[TL_ITEMS]; /* weights (TYPE), activations (Q8_0) */
    tile_fetch<TYPE>(m, xqs, xd, T, row0, tok0, 0, tid, sw, sx);
    for (uint32_t s = 0; s < n_stage; s++) {
        tile_store<TYPE>(As, Bs, dws, dxs, tid, sw, sx);
        __syncthreads();
        if (s + 1 < n_stage) /* the next stage's loads in flight during this one's products */
            tile_fetch<TYPE>(m, xqs, xd, T, row0, tok0, (s + 1) * TL_KB, tid, sw, sx);
        uint32_t nkb = min((uint32_t)TL_KB, nb - s * TL_KB);
        for (uint32_t kb = 0; kb < nkb; kb++) {
            int a[2][4];
            float dw[2][2];
#pragma unroll
            for (int i = 0; i < 2; i++) {
                uint32_t r = wr + 16 * i + g;
                int2 lo = *(const int2 *)(As + r * TL_S + kb * 8 + 2 * t);
                int2 hi = *(const int2 *)(As + (r + 8) * TL_S + kb * 8 + 2 * t);
                a[i][0] = lo.x; /* row g, k 4t.. */
                a[i][1] = hi.x; /* row g+8, k 4t.. */
                a[i][2] = lo.y; /* row g, k 16+4t.. */
                a[i][3] = hi.y; /* row g+8, k 16+4t.. */
                dw[i][0] = dws[kb * TL_ROWS + r];
                dw[i][1] = dws[kb * TL_ROWS + r + 8];
            }
#pragma unroll
            for (int j = 0; j < 4; j++) {
                if (tok0 + wc + 8 * j >= T) /* the same for the whole warp */
                    continue;
                uint32_t col = wc + 8 * j;
                int2 bw = *(const int2 *)(Bs + (col + g) * TL_S + kb * 8 + 2 * t);
                int bf[2] = {bw.x, bw.y}; /* column g: k 4t.., 16+4t.. */
                float2 dx = *(const float2 *)(dxs + kb * TL_TOK + col + 2 * t);
#pragma unroll
                for (int i = 0; i < 2; i++) {
                    int c[4] = {0, 0, 0, 0};
                    mma_s8(c, a[i], bf);
                    acc[i][j][0] += i2f_small(c[0]) * dw[i][0] * dx.x; /* row g, token 2t */
                    acc[i][j][1] += i2f_small(c[1]) * dw[i][0] * dx.y; /* row g, token 2t+1 */
                    acc[i][j][2] += i2f_small(c[2]) * dw[i][1] * dx.x; /* row g+8, token 2t */
                    acc[i][j][3] += i2f_small(c[3]) * dw[i][1] * dx.y; /* row g+8, 2t+1 */
                }
            }
        }
        __syncthreads(); /* before the next stage overwrites the tiles */
    }
    float *y = G.y[gi];
#pragma unroll
    for (int i = 0; i < 2; i++)
#pragma unroll
        for (int j = 0; j < 4; j++)
#pragma unroll
            for (int e = 0; e < 4; e++) {
                uint32_t row = row0 + wr + 16 * i + g + (e >= 2 ? 8 : 0);
                uint32_t tok = tok0 + wc + 8 * j + 2 * t + (e & 1);
                if (row < m.rows && tok < T) {
                    float *o = y + (size_t)tok * m.rows + row;
                    *o = accumulate ? *o + acc[i][j][e] : acc[i][j][e];
                }
            }
}

/* ---- the per-warp kernel (opts.mma 2) ----------------------------------------------------- */

#define MMA_NTN 4 /* 8-token tiles per warp: a warp computes 16 rows x 32 tokens */

/* y (T, rows) [+]= W (rows, k) x per matrix of the group, x as Q8_0 (xqs (T, k), xd (T, k/32)).
 * grid (sum of ceil(rows / (16 MM_WARPS)), ceil(T / (8 MMA_NTN))), block (32, MM_WARPS). Rows
 * and tokens past the end are loaded clamped and never stored. */
template <int TYPE>
__global__ void mmq_mma_kernel(mm_group G, const int8_t *__restrict__ xqs,
                               const float *__restrict__ xd, uint32_t T, int accumulate)
{
    uint32_t bx;
    int gi = group_pick(G, blockIdx.x, &bx);
    const dmat m = G.m[gi];
    float *y = G.y[gi];
    uint32_t ystride = m.rows, row0 = (bx * MM_WARPS + threadIdx.y) * 16;
    if (row0 >= m.rows)
        return;
    uint32_t g = threadIdx.x / 4, t = threadIdx.x % 4, nb = m.k / QK;
    uint32_t tok0 = blockIdx.y * 8 * MMA_NTN;
    uint32_t r_lo = min(row0 + g, m.rows - 1), r_hi = min(row0 + g + 8, m.rows - 1);
    uint32_t tok_b[MMA_NTN], tok_c[MMA_NTN][2]; /* B column g; C columns 2t, 2t+1 (clamped) */
#pragma unroll
    for (int j = 0; j < MMA_NTN; j++) {
        tok_b[j] = min(tok0 + 8 * j + g, T - 1);
        tok_c[j][0] = min(tok0 + 8 * j + 2 * t, T - 1);
        tok_c[j][1] = min(tok0 + 8 * j + 2 * t + 1, T - 1);
    }
    float acc[MMA_NTN][4];
#pragma unroll
    for (int j = 0; j < MMA_NTN; j++)
        acc[j][0] = acc[j][1] = acc[j][2] = acc[j][3] = 0.0f;
    for (uint32_t b = 0; b < nb; b++) {
        size_t blk_lo = (size_t)r_lo * nb + b, blk_hi = (size_t)r_hi * nb + b;
        int a[4];
        load_a_frag<TYPE>(m, blk_lo, blk_hi, (int)t, a);
        float dw_lo = __half2float(m.d[blk_lo]), dw_hi = __half2float(m.d[blk_hi]);
#pragma unroll
        for (int j = 0; j < MMA_NTN; j++) {
            const int *xb = (const int *)(xqs + (size_t)tok_b[j] * m.k + (size_t)b * QK);
            int bf[2] = {__ldg(xb + t), __ldg(xb + t + 4)}; /* k 4t.., 16+4t.. of column g */
            int c[4] = {0, 0, 0, 0};
            mma_s8(c, a, bf);
            float dx0 = __ldg(xd + (size_t)tok_c[j][0] * nb + b);
            float dx1 = __ldg(xd + (size_t)tok_c[j][1] * nb + b);
            acc[j][0] += (float)c[0] * dw_lo * dx0; /* row g,   token 2t */
            acc[j][1] += (float)c[1] * dw_lo * dx1; /* row g,   token 2t+1 */
            acc[j][2] += (float)c[2] * dw_hi * dx0; /* row g+8, token 2t */
            acc[j][3] += (float)c[3] * dw_hi * dx1; /* row g+8, token 2t+1 */
        }
    }
#pragma unroll
    for (int j = 0; j < MMA_NTN; j++)
#pragma unroll
        for (int i = 0; i < 4; i++) {
            uint32_t row = row0 + g + (i >= 2 ? 8 : 0), tok = tok0 + 8 * j + 2 * t + (i & 1);
            if (row < m.rows && tok < T) {
                float *o = y + (size_t)tok * ystride + row;
                *o = accumulate ? *o + acc[j][i] : acc[j][i];
            }
        }
}

#endif
