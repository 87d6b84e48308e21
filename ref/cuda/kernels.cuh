/* ref/cuda/kernels.cuh: the CUDA kernels of the reference engine (included by engine.cu only).
 *
 * Same arithmetic as the CPU engine (ref/engine_cpu.c), step by step:
 *   quant_q8   activations -> Q8_0 blocks exactly as ggml's quantize_row_q8_0_ref (also fused
 *              into rmsnorm, swiglu and attention, whose outputs feed matrix products)
 *   mmq<TYPE>  Q4_0/Q5_0/Q8_0 weights x Q8_0 activations: per block an int32 sum (__dp4a), then
 *              sumi * d_w * d_x accumulated in fp32 (ggml's vec_dot_*_q8_0)
 *   mmf<F16>   F16/F32 weights x f32 activations
 *   rmsnorm, rope_store (rotate q, k with the host-made cos/sin table, append k, v to the fp16
 *   cache), attention (q rounded to fp16, softmax, probabilities rounded to fp16, as the CPU's
 *   f16 path), swiglu, dequant_rows (embedding lookup, norm weights).
 *
 * Weights live on the device repacked per matrix as three aligned arrays (engine.cu: upload):
 *   qs (rows, nb, 16 or 32 bytes)  the quants, 16-byte aligned per block so a lane loads int4s
 *   qh (rows, nb) uint32           Q5_0 fifth bits
 *   d  (rows, nb) half             block scales
 * Matrix-vector products run one warp per row, lanes over blocks; T > 1 tokens run NT at a time
 * so each weight block fetched is used NT times (prefill). In a single-token forward the step
 * after a matrix product (RoPE + cache, SwiGLU, RMSNorm) runs at the end of that product's launch
 * in the block that finishes last (mm_epilogue): 5 launches a layer instead of 10. Position-
 * dependent kernels read the first position from device memory (pos0), so a single-token
 * forward can be a CUDA graph. */
#ifndef FLARE_REF_CUDA_KERNELS_CUH
#define FLARE_REF_CUDA_KERNELS_CUH

#ifndef FLCU_EMU /* the host emulator (emu.h) supplies these */
#include <cuda_fp16.h>
#define FLCU_DYN_SHARED(T, name) extern __shared__ T name[]
#endif
#include <stdint.h>

#define QK 32
#define MM_WARPS 4 /* rows (warps) per block in the matrix kernels */

enum { T_F32 = 0, T_F16 = 1, T_Q4_0 = 2, T_Q5_0 = 6, T_Q8_0 = 8 };

/* A weight matrix on the device (see the layout above). */
struct dmat {
    int type;
    uint32_t rows, k;     /* ne1, ne0 */
    const uint8_t *qs;    /* quantized: (rows, nb, QS_BYTES); F16/F32: (rows, k) values */
    const uint32_t *qh;   /* Q5_0: (rows, nb) */
    const __half *d;      /* quantized: (rows, nb) */
};

/* Up to three matrices that share one input (q/k/v, gate/up) in one launch: blockIdx.x counts
 * through their row blocks one matrix after the other (blk_end: cumulative block counts), each
 * writes its own y (T, rows). */
#define MM_GROUP 3
struct mm_group {
    dmat m[MM_GROUP];
    float *y[MM_GROUP];
    uint32_t blk_end[MM_GROUP];
    int n;
};

/* Which matrix of the group block bx belongs to, and the block's index within it. */
__device__ __forceinline__ int group_pick(const mm_group &G, uint32_t bx, uint32_t *local)
{
    int i = 0;
    uint32_t start = 0;
    while (i < G.n - 1 && bx >= G.blk_end[i])
        start = G.blk_end[i++];
    *local = bx - start;
    return i;
}

/* ---- helpers shared with the host self-test (flcu_selftest) ------------------------------- */

#define HD __host__ __device__ __forceinline__

/* Read-only load: through the texture path on the device, plain on the host. */
template <typename V>
HD V ldg(const V *p)
{
#if defined(__CUDA_ARCH__) || defined(FLCU_EMU)
    return __ldg(p);
#else
    return *p;
#endif
}

/* c + the dot product of the four signed bytes of a and b. */
HD int dp4a(int a, int b, int c)
{
#ifdef __CUDA_ARCH__
    return __dp4a(a, b, c);
#else
    for (int i = 0; i < 4; i++)
        c += (int)(int8_t)(a >> (8 * i)) * (int)(int8_t)(b >> (8 * i));
    return c;
#endif
}

/* ---- reductions ----------------------------------------------------------------------------- */

__device__ __forceinline__ float warp_sum(float v)
{
    for (int o = 16; o > 0; o >>= 1)
        v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float warp_max(float v)
{
    for (int o = 16; o > 0; o >>= 1)
        v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

/* ---- activations to Q8_0 -------------------------------------------------------------------- */

/* One Q8_0 block from a warp, lane j holding element j: *q = the lane's quant, *d = the
 * fp16-rounded scale (lane 0). Exactly ggml's quantize_row_q8_0_ref. */
__device__ __forceinline__ void quant_lane(float v, int8_t *q, float *d, uint32_t lane)
{
    float amax = warp_max(fabsf(v));
    float dd = amax / 127.0f;
    float id = dd != 0.0f ? 1.0f / dd : 0.0f;
    *q = (int8_t)roundf(v * id);
    if (lane == 0)
        *d = __half2float(__float2half_rn(dd));
}

/* x (n_blocks * 32) -> qs (n_blocks, 32) int8, d (n_blocks) fp16-rounded scales as float.
 * One warp per block, lane j holds element j. blockDim (32, MM_WARPS). */
__global__ void quant_q8_kernel(const float *__restrict__ x, int8_t *__restrict__ qs,
                                float *__restrict__ d, uint32_t n_blocks)
{
    uint32_t b = blockIdx.x * MM_WARPS + threadIdx.y;
    if (b >= n_blocks)
        return;
    size_t i = (size_t)b * QK + threadIdx.x;
    quant_lane(x[i], qs + i, d + b, threadIdx.x);
}

/* ---- per-token steps: a launch of their own, or fused into the end of the single-token
 * matrix product before them (mm_epilogue). Each runs on a whole block of any shape (tid, nthr:
 * the linear thread index and count, warps of 32 consecutive tids); activations another block
 * of the same launch wrote are read through L2 (__ldcg). */

/* out (T, n) = x (T, n) / rms(x) * w, quantized to Q8_0 into qs (T, n), qd (T, n/32) (the next
 * matrix product's input); n a multiple of 32. */
struct norm_args {
    const float *x, *w;
    float *out;
    uint32_t n;
    float eps;
    int8_t *qs;
    float *qd;
};

/* Row r of the RMSNorm. Sums in double per thread, then per warp, then over warps in order:
 * the same for every caller with the same thread count (ROW_THREADS). One block does a whole
 * row (a fused one runs in the last block of a launch), so its loads go NORM_BATCH at a time
 * (independent loads in flight, one memory latency per batch instead of per element). */
#define ROW_THREADS (32 * MM_WARPS)
#define NORM_BATCH 8
__device__ void rmsnorm_row(const norm_args &a, uint32_t r, uint32_t tid, uint32_t nthr)
{
    __shared__ double part[32];
    const float *xr = a.x + (size_t)r * a.n;
    double ss = 0;
    for (uint32_t i0 = tid; i0 < a.n; i0 += NORM_BATCH * nthr) {
        float v[NORM_BATCH];
#pragma unroll
        for (int u = 0; u < NORM_BATCH; u++) {
            uint32_t i = i0 + u * nthr;
            v[u] = i < a.n ? __ldcg(xr + i) : 0.0f;
        }
#pragma unroll
        for (int u = 0; u < NORM_BATCH; u++) /* past the end: + 0.0, exact */
            ss += (double)(v[u] * v[u]);
    }
    for (int o = 16; o > 0; o >>= 1)
        ss += __shfl_xor_sync(0xffffffffu, ss, o);
    if (tid % 32 == 0)
        part[tid / 32] = ss;
    __syncthreads();
    if (tid == 0) {
        double s = 0;
        for (uint32_t i = 0; i < nthr / 32; i++)
            s += part[i];
        part[0] = s;
    }
    __syncthreads();
    float scale = 1.0f / sqrtf((float)(part[0] / (double)a.n) + a.eps);
    uint32_t lane = tid % 32, nb = a.n / QK, nw = nthr / 32;
    for (uint32_t b0 = tid / 32; b0 < nb; b0 += NORM_BATCH * nw) { /* a warp per block */
        float v[NORM_BATCH], w[NORM_BATCH];
#pragma unroll
        for (int u = 0; u < NORM_BATCH; u++) {
            uint32_t b = b0 + u * nw;
            v[u] = b < nb ? __ldcg(xr + b * QK + lane) : 0.0f;
            w[u] = b < nb ? a.w[b * QK + lane] : 0.0f;
        }
#pragma unroll
        for (int u = 0; u < NORM_BATCH; u++) {
            uint32_t b = b0 + u * nw; /* the same for the whole warp */
            if (b < nb) {
                size_t o = (size_t)r * a.n + b * QK + lane;
                float y = v[u] * scale * w[u];
                a.out[o] = y;
                quant_lane(y, a.qs + o, a.qd + (size_t)r * nb + b, lane);
            }
        }
    }
}

/* grid (T), block ROW_THREADS. */
__global__ void rmsnorm_kernel(norm_args a)
{
    rmsnorm_row(a, blockIdx.x, threadIdx.x, blockDim.x);
}

/* RoPE on q (n_head heads) and k (n_head_kv heads) with the cos/sin pairs of cs (n_ctx, n_rot),
 * then k, v appended to this layer's fp16 caches kc, vc (n_ctx, kv_dim). */
struct rope_args {
    float *q, *k;
    const float *v, *cs;
    __half *kc, *vc;
    const int32_t *pos0;
    uint32_t n_head, n_head_kv, hd, n_rot;
};

/* Token t, at position pos0[0] + t. */
__device__ void rope_store_token(const rope_args &a, uint32_t t, uint32_t tid, uint32_t nthr)
{
    uint32_t pos = (uint32_t)a.pos0[0] + t;
    uint32_t q_dim = a.n_head * a.hd, kv_dim = a.n_head_kv * a.hd, half_rot = a.n_rot / 2;
    const float *cs = a.cs + (size_t)pos * a.n_rot;
    float *qt = a.q + (size_t)t * q_dim, *kt = a.k + (size_t)t * kv_dim;
    uint32_t n_pairs = (a.n_head + a.n_head_kv) * half_rot;
    for (uint32_t p = tid; p < n_pairs; p += nthr) {
        uint32_t h = p / half_rot, i = 2 * (p % half_rot);
        float *xh = h < a.n_head ? qt + (size_t)h * a.hd : kt + (size_t)(h - a.n_head) * a.hd;
        float c = cs[i], s = cs[i + 1], x0 = __ldcg(xh + i), x1 = __ldcg(xh + i + 1);
        xh[i] = x0 * c - x1 * s;
        xh[i + 1] = x0 * s + x1 * c;
    }
    __syncthreads();
    const float *vt = a.v + (size_t)t * kv_dim;
    for (uint32_t i = tid; i < kv_dim; i += nthr) {
        a.kc[(size_t)pos * kv_dim + i] = __float2half_rn(__ldcg(kt + i));
        a.vc[(size_t)pos * kv_dim + i] = __float2half_rn(__ldcg(vt + i));
    }
}

/* grid (T), any block size. */
__global__ void rope_store_kernel(rope_args a)
{
    rope_store_token(a, blockIdx.x, threadIdx.x, blockDim.x);
}

/* The same for one token, rows r and r + 1 (r even) of matrix gi of the q/k/v launch (0 q,
 * 1 k, 2 v) written by this block: a rotation pair never straddles a block when the head dim is a
 * multiple of MM_WARPS, so RoPE and the cache append need no other block. */
__device__ __forceinline__ void rope_store_pair(const rope_args &a, int gi, uint32_t r)
{
    uint32_t pos = (uint32_t)a.pos0[0], kv_dim = a.n_head_kv * a.hd, e = r % a.hd;
    float *y = gi == 0 ? a.q : gi == 1 ? a.k : (float *)a.v;
    float x0 = __ldcg(y + r), x1 = __ldcg(y + r + 1);
    if (gi < 2 && e < a.n_rot) {
        const float *cs = a.cs + (size_t)pos * a.n_rot + e;
        float c = cs[0], s = cs[1], r0 = x0 * c - x1 * s, r1 = x0 * s + x1 * c;
        x0 = r0;
        x1 = r1;
        y[r] = x0;
        y[r + 1] = x1;
    }
    if (gi > 0) {
        __half *cache = (gi == 1 ? a.kc : a.vc) + (size_t)pos * kv_dim + r;
        cache[0] = __float2half_rn(x0);
        cache[1] = __float2half_rn(x1);
    }
}

/* g = silu(g) * u, and g quantized to Q8_0 into qs, qd (the down projection's input). */
struct swiglu_args {
    float *g;
    const float *u;
    int8_t *qs;
    float *qd;
};

/* The 32 elements of block b: one warp, lane j element j. */
__device__ __forceinline__ void swiglu_block(const swiglu_args &a, uint32_t b, uint32_t lane)
{
    size_t i = (size_t)b * QK + lane;
    float g = __ldcg(a.g + i);
    float v = g / (1.0f + expf(-g)) * __ldcg(a.u + i);
    a.g[i] = v;
    quant_lane(v, a.qs + i, a.qd + b, lane);
}

/* n_blocks * 32 elements, one warp per block; blockDim (32, MM_WARPS). */
__global__ void swiglu_kernel(swiglu_args a, uint32_t n_blocks)
{
    uint32_t b = blockIdx.x * MM_WARPS + threadIdx.y;
    if (b < n_blocks)
        swiglu_block(a, b, threadIdx.x);
}

/* The step after a single-token matrix product, fused into its end, so a decode step needs no
 * launch (and no launch gap) for it:
 *   EPI_ROPE_STORE after q/k/v (one launch): each block rotates its own row pairs and appends
 *              its k and v rows to the cache (rope_store_pair);
 *   EPI_SWIGLU after gate/up (one launch, gate's blocks then up's, MM_WARPS rows a block): per
 *              32 rows, the last to arrive of the 2 x 32 / MM_WARPS blocks of those rows;
 *   EPI_NORM after Wo and Wdown (x += ...): the next RMSNorm, by the last block to arrive.
 * Arrival is the grid-synchronization pattern (each thread's writes fenced device-wide, block
 * barrier, one atomic per block, the last block fences again before reading); count holds one
 * counter per arrival group, zero between launches (the last arrival resets it). */
enum { EPI_NONE = 0, EPI_ROPE_STORE, EPI_SWIGLU, EPI_NORM };
struct mm_epi {
    int kind;
    uint32_t *count;
    rope_args rope;
    swiglu_args sw;
    norm_args norm;
};

/* gi, bx: the block's matrix in the group and its block index within it. */
__device__ void mm_epilogue(const mm_epi &e, int gi, uint32_t bx)
{
    __shared__ uint32_t last;
    uint32_t tid = threadIdx.y * blockDim.x + threadIdx.x, nthr = blockDim.x * blockDim.y;
    if (e.kind == EPI_ROPE_STORE) {
        __syncthreads(); /* the block's rows are written */
        if (tid < MM_WARPS / 2)
            rope_store_pair(e.rope, gi, bx * MM_WARPS + 2 * tid);
        return;
    }
    int sw = e.kind == EPI_SWIGLU;
    uint32_t c = sw ? bx * MM_WARPS / QK : 0;
    uint32_t expect = sw ? 2 * QK / MM_WARPS : gridDim.x * gridDim.y;
    __threadfence();
    __syncthreads();
    if (tid == 0) {
        last = atomicAdd(e.count + c, 1u) == expect - 1;
        if (last)
            atomicExch(e.count + c, 0u);
    }
    __syncthreads();
    if (!last)
        return;
    __threadfence();
    if (e.kind == EPI_NORM)
        rmsnorm_row(e.norm, 0, tid, nthr);
    else if (threadIdx.y == 0)
        swiglu_block(e.sw, c, threadIdx.x);
}

/* ---- quantized matrix x Q8_0 activations ---------------------------------------------------- */

/* The signed sum of one weight block against 32 int8 activations a0 (elements 0..15) and a1
 * (16..31). Weight values are unsigned 0..15 (Q4_0) or 0..31 (Q5_0) with the offset taken out
 * through the activation sum, or int8 (Q8_0). */
template <int TYPE>
HD int block_dot(const int *w, int4 a0, int4 a1)
{
    int s = 0;
    s = dp4a(w[0], a0.x, s);
    s = dp4a(w[1], a0.y, s);
    s = dp4a(w[2], a0.z, s);
    s = dp4a(w[3], a0.w, s);
    s = dp4a(w[4], a1.x, s);
    s = dp4a(w[5], a1.y, s);
    s = dp4a(w[6], a1.z, s);
    s = dp4a(w[7], a1.w, s);
    if (TYPE != T_Q8_0) {
        const int ones = 0x01010101;
        int sy = dp4a(ones, a0.x, 0);
        sy = dp4a(ones, a0.y, sy);
        sy = dp4a(ones, a0.z, sy);
        sy = dp4a(ones, a0.w, sy);
        sy = dp4a(ones, a1.x, sy);
        sy = dp4a(ones, a1.y, sy);
        sy = dp4a(ones, a1.z, sy);
        sy = dp4a(ones, a1.w, sy);
        s -= (TYPE == T_Q4_0 ? 8 : 16) * sy;
    }
    return s;
}

/* Fifth bits h (4 bits, element order) spread to bit 4 of each byte. */
HD int q5_high(uint32_t h)
{
    return (int)(((h & 1u) << 4) | ((h & 2u) << 11) | ((h & 4u) << 18) | ((h & 8u) << 25));
}

/* Weight block b of `row` as 8 ints of bytes in element order (elements 4i..4i+3 in w[i]). */
template <int TYPE>
HD void load_block(const dmat &m, size_t blk, int *w)
{
    if (TYPE == T_Q8_0) {
        const int4 *p = (const int4 *)(m.qs + blk * 32);
        int4 a = ldg(p), b = ldg(p + 1);
        w[0] = a.x; w[1] = a.y; w[2] = a.z; w[3] = a.w;
        w[4] = b.x; w[5] = b.y; w[6] = b.z; w[7] = b.w;
    } else {
        int4 q = ldg((const int4 *)(m.qs + blk * 16));
        int qi[4] = {q.x, q.y, q.z, q.w};
        uint32_t qh = TYPE == T_Q5_0 ? ldg(m.qh + blk) : 0u;
        for (int i = 0; i < 4; i++) {
            w[i] = qi[i] & 0x0F0F0F0F;            /* elements 4i..4i+3: low nibbles */
            w[4 + i] = (qi[i] >> 4) & 0x0F0F0F0F; /* elements 16+4i..: high nibbles */
            if (TYPE == T_Q5_0) {
                w[i] |= q5_high((qh >> (4 * i)) & 0xFu);
                w[4 + i] |= q5_high((qh >> (16 + 4 * i)) & 0xFu);
            }
        }
    }
}

/* Row `row` of W (one warp, lanes over blocks) for the NT tokens of this block's tile. */
template <int TYPE, int NT>
__device__ __forceinline__ void mmq_row(const dmat &m, float *y, uint32_t row,
                                        const int8_t *__restrict__ xqs,
                                        const float *__restrict__ xd, uint32_t T, int accumulate)
{
    uint32_t ystride = m.rows, t0 = blockIdx.y * NT;
    uint32_t nb = m.k / QK, nt = T - t0 < NT ? T - t0 : NT;
    float acc[NT];
#pragma unroll
    for (int t = 0; t < NT; t++)
        acc[t] = 0.0f;
#pragma unroll 2
    for (uint32_t b = threadIdx.x; b < nb; b += 32) {
        size_t blk = (size_t)row * nb + b;
        int w[8];
        load_block<TYPE>(m, blk, w);
        float dw = __half2float(m.d[blk]);
#pragma unroll
        for (int t = 0; t < NT; t++) {
            if ((uint32_t)t < nt) {
                const int4 *xp = (const int4 *)(xqs + (size_t)(t0 + t) * m.k + (size_t)b * QK);
                int s = block_dot<TYPE>(w, __ldg(xp), __ldg(xp + 1));
                acc[t] += (float)s * dw * __ldg(xd + (size_t)(t0 + t) * nb + b);
            }
        }
    }
#pragma unroll
    for (int t = 0; t < NT; t++) {
        float s = warp_sum(acc[t]);
        if (threadIdx.x == 0 && (uint32_t)t < nt) {
            float *o = y + (size_t)(t0 + t) * ystride + row;
            *o = accumulate ? *o + s : s;
        }
    }
}

/* y (T, rows) [+]= W (rows, k) x for each matrix of the group, x given as Q8_0: xqs (T, k)
 * int8, xd (T, k/32); then, for a single token, the fused step `epi` (mm_epilogue).
 * grid (sum of ceil(rows / MM_WARPS), ceil(T / NT)), block (32, MM_WARPS). */
template <int TYPE, int NT>
__global__ void mmq_kernel(mm_group G, const int8_t *__restrict__ xqs,
                           const float *__restrict__ xd, uint32_t T, int accumulate, mm_epi epi)
{
    uint32_t bx;
    int gi = group_pick(G, blockIdx.x, &bx);
    uint32_t row = bx * MM_WARPS + threadIdx.y;
    if (row < G.m[gi].rows)
        mmq_row<TYPE, NT>(G.m[gi], G.y[gi], row, xqs, xd, T, accumulate);
    if (NT == 1 && epi.kind != EPI_NONE)
        mm_epilogue(epi, gi, bx);
}

/* ---- quantized matrix x Q8_0 activations on int8 tensor cores (prefill) ------------------- */

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
    a[0] = wl & 0x0F0F0F0F;
    a[2] = (wl >> 4) & 0x0F0F0F0F;
    a[1] = wh & 0x0F0F0F0F;
    a[3] = (wh >> 4) & 0x0F0F0F0F;
    if (TYPE == T_Q5_0) {
        uint32_t ql = ldg(m.qh + blk_lo), qh = ldg(m.qh + blk_hi);
        a[0] |= q5_high((ql >> (4 * t)) & 0xFu);
        a[2] |= q5_high((ql >> (16 + 4 * t)) & 0xFu);
        a[1] |= q5_high((qh >> (4 * t)) & 0xFu);
        a[3] |= q5_high((qh >> (16 + 4 * t)) & 0xFu);
    }
    int off = TYPE == T_Q4_0 ? 0x08080808 : 0x10101010;
    for (int i = 0; i < 4; i++)
        a[i] = vsub4(a[i], off);
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

#define MMA_NTN 4 /* 8-token tiles per warp: a warp computes 16 rows x 32 tokens */

/* y (T, rows) [+]= W (rows, k) x per matrix of the group, x as Q8_0 (xqs (T, k), xd (T, k/32)).
 * One QK block is exactly one k32 step, so each mma's int32 result is one block's sum, scaled
 * by d_w * d_x as the dp4a kernel does. grid (sum of ceil(rows / (16 MM_WARPS)),
 * ceil(T / (8 MMA_NTN))), block (32, MM_WARPS). Rows and tokens past the end are loaded clamped
 * and never stored. */
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

/* ---- F16 / F32 matrix x f32 activations ----------------------------------------------------- */

/* y (T, rows) [+]= W (rows, k) x (T, k) per matrix of the group, then the fused step `epi` for
 * a single token; lanes take 8 consecutive elements at a time. Grid and block as mmq_kernel. */
template <int F16, int NT>
__device__ __forceinline__ void mmf_row(const dmat &m, float *y, uint32_t row,
                                        const float *__restrict__ x, uint32_t T, int accumulate)
{
    uint32_t ystride = m.rows, t0 = blockIdx.y * NT;
    uint32_t nt = T - t0 < NT ? T - t0 : NT;
    float acc[NT];
#pragma unroll
    for (int t = 0; t < NT; t++)
        acc[t] = 0.0f;
    for (uint32_t i = threadIdx.x * 8; i < m.k; i += 32 * 8) {
        float w[8];
        if (F16) {
            int4 raw = __ldg((const int4 *)((const __half *)m.qs + (size_t)row * m.k + i));
            const __half2 *h = (const __half2 *)&raw;
#pragma unroll
            for (int j = 0; j < 4; j++) {
                float2 f = __half22float2(h[j]);
                w[2 * j] = f.x;
                w[2 * j + 1] = f.y;
            }
        } else {
            const float4 *p = (const float4 *)((const float *)m.qs + (size_t)row * m.k + i);
            float4 a = __ldg(p), b = __ldg(p + 1);
            w[0] = a.x; w[1] = a.y; w[2] = a.z; w[3] = a.w;
            w[4] = b.x; w[5] = b.y; w[6] = b.z; w[7] = b.w;
        }
#pragma unroll
        for (int t = 0; t < NT; t++) {
            if ((uint32_t)t < nt) {
                const float4 *xp = (const float4 *)(x + (size_t)(t0 + t) * m.k + i);
                float4 a = __ldg(xp), b = __ldg(xp + 1);
                acc[t] += w[0] * a.x + w[1] * a.y + w[2] * a.z + w[3] * a.w + w[4] * b.x +
                          w[5] * b.y + w[6] * b.z + w[7] * b.w;
            }
        }
    }
#pragma unroll
    for (int t = 0; t < NT; t++) {
        float s = warp_sum(acc[t]);
        if (threadIdx.x == 0 && (uint32_t)t < nt) {
            float *o = y + (size_t)(t0 + t) * ystride + row;
            *o = accumulate ? *o + s : s;
        }
    }
}

template <int F16, int NT>
__global__ void mmf_kernel(mm_group G, const float *__restrict__ x, uint32_t T, int accumulate,
                           mm_epi epi)
{
    uint32_t bx;
    int gi = group_pick(G, blockIdx.x, &bx);
    uint32_t row = bx * MM_WARPS + threadIdx.y;
    if (row < G.m[gi].rows)
        mmf_row<F16, NT>(G.m[gi], G.y[gi], row, x, T, accumulate);
    if (NT == 1 && epi.kind != EPI_NONE)
        mm_epilogue(epi, gi, bx);
}

/* ---- embedding rows, attention ------------------------------------------------------------- */

/* Element j of row `row` of m as a float. */
HD float dequant_elem(const dmat &m, size_t row, uint32_t j)
{
    uint32_t nb = m.k / QK, e = j % QK;
    size_t blk = row * nb + j / QK;
    switch (m.type) {
    case T_F32:
        return ((const float *)m.qs)[row * m.k + j];
    case T_F16:
        return __half2float(((const __half *)m.qs)[row * m.k + j]);
    case T_Q8_0:
        return (float)(int8_t)m.qs[blk * 32 + e] * __half2float(m.d[blk]);
    default: { /* Q4_0, Q5_0 */
        uint8_t byte = m.qs[blk * 16 + (e % 16)];
        int q = e < 16 ? (byte & 15) : (byte >> 4);
        if (m.type == T_Q5_0)
            q = (q | (int)(((m.qh[blk] >> e) & 1u) << 4)) - 16;
        else
            q -= 8;
        return (float)q * __half2float(m.d[blk]);
    }
    }
}

/* out (n_rows, k) = rows of m dequantized; row ids from `ids` (device) or 0..n_rows-1.
 * grid (n_rows), any block size. */
__global__ void dequant_rows_kernel(dmat m, const int32_t *__restrict__ ids,
                                    float *__restrict__ out)
{
    uint32_t r = blockIdx.x;
    size_t row = ids ? (size_t)ids[r] : r;
    for (uint32_t j = threadIdx.x; j < m.k; j += blockDim.x)
        out[(size_t)r * m.k + j] = dequant_elem(m, row, j);
}

#define ATT_THREADS 128
#define ATT_WARPS (ATT_THREADS / 32)
#define ATT_VB 4 /* positions a warp takes per pass of the weighted sum of v */
#define ATT_VE 8 /* at most this many elements a lane in that sum: head dim <= 256 */

/* Dynamic shared memory of attention_kernel in floats: q, the warps' partial sums of v, a score
 * per position. */
#define ATT_SMEM_FLOATS(hd, n_ctx) ((size_t)(hd) * (1 + ATT_WARPS) + (n_ctx))

/* Causal attention of token t (position pos0[0] + t), head h over cache positions 0..pos; with
 * oq, od (hd a multiple of 32), out is also quantized to Q8_0 there (Wo's input).
 * grid (n_head, T), block ATT_THREADS, dynamic shared memory ATT_SMEM_FLOATS(hd, n_ctx).
 * One block does a whole (token, head): in decode that is a chain of dependent memory reads, so
 * the loads are arranged to be independent and many in flight: scores one thread per position
 * (its K row as int4s, head dim a multiple of 8), the weighted sum of v with warps over
 * positions, ATT_VB at a time, lanes over elements (head dim a multiple of 32), combined in
 * shared memory. Other head dims take one warp per position and one thread per element. */
__global__ void attention_kernel(const float *__restrict__ q, const __half *__restrict__ kc,
                                 const __half *__restrict__ vc, float *__restrict__ out,
                                 const int32_t *__restrict__ pos0, uint32_t n_head, uint32_t group,
                                 uint32_t hd, float scale, int8_t *__restrict__ oq,
                                 float *__restrict__ od)
{
    FLCU_DYN_SHARED(float, sm);
    __shared__ float red[ATT_WARPS];
    float *qs = sm, *vpart = sm + hd, *sc = sm + (size_t)hd * (1 + ATT_WARPS);
    uint32_t h = blockIdx.x, t = blockIdx.y, g = h / group;
    uint32_t q_dim = n_head * hd, kv_dim = n_head / group * hd;
    uint32_t n_kv = (uint32_t)pos0[0] + t + 1;
    uint32_t lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    const float *qh = q + (size_t)t * q_dim + (size_t)h * hd;
    for (uint32_t i = threadIdx.x; i < hd; i += ATT_THREADS)
        qs[i] = __half2float(__float2half_rn(qh[i])); /* q meets the cache in fp16 */
    __syncthreads();

    // scores
    if (hd % 8 == 0) {
        for (uint32_t p = threadIdx.x; p < n_kv; p += ATT_THREADS) {
            const int4 *kp = (const int4 *)(kc + (size_t)p * kv_dim + (size_t)g * hd);
            float s = 0.0f;
#pragma unroll 4
            for (uint32_t j = 0; j < hd / 8; j++) {
                int4 raw = __ldg(kp + j);
                const __half2 *k2 = (const __half2 *)&raw;
#pragma unroll
                for (int c = 0; c < 4; c++) {
                    float2 f = __half22float2(k2[c]);
                    s += qs[8 * j + 2 * c] * f.x;
                    s += qs[8 * j + 2 * c + 1] * f.y;
                }
            }
            sc[p] = s * scale;
        }
    } else {
        for (uint32_t p = warp; p < n_kv; p += ATT_WARPS) {
            const __half *kp = kc + (size_t)p * kv_dim + (size_t)g * hd;
            float s = 0.0f;
            for (uint32_t i = lane; i < hd; i += 32)
                s += qs[i] * __half2float(kp[i]);
            s = warp_sum(s);
            if (lane == 0)
                sc[p] = s * scale;
        }
    }
    __syncthreads();

    // softmax: max, exp, sum
    float mx = -INFINITY;
    for (uint32_t p = threadIdx.x; p < n_kv; p += ATT_THREADS)
        mx = fmaxf(mx, sc[p]);
    mx = warp_max(mx);
    if (lane == 0)
        red[warp] = mx;
    __syncthreads();
    mx = red[0];
    for (uint32_t w = 1; w < ATT_WARPS; w++)
        mx = fmaxf(mx, red[w]);
    __syncthreads();
    float sum = 0.0f;
    for (uint32_t p = threadIdx.x; p < n_kv; p += ATT_THREADS) {
        float e = expf(sc[p] - mx);
        sc[p] = e;
        sum += e;
    }
    sum = warp_sum(sum);
    if (lane == 0)
        red[warp] = sum;
    __syncthreads();
    sum = 0.0f;
    for (uint32_t w = 0; w < ATT_WARPS; w++)
        sum += red[w];
    float inv = 1.0f / sum;
    for (uint32_t p = threadIdx.x; p < n_kv; p += ATT_THREADS)
        sc[p] = __half2float(__float2half_rn(sc[p] * inv)); /* probabilities in fp16 */
    __syncthreads();

    // weighted sum of v; thread i then owns output element i (a warp a 32-element block)
    if (hd % 32 == 0 && hd <= 32 * ATT_VE) {
        uint32_t E = hd / 32;
        float acc[ATT_VE];
#pragma unroll
        for (int e = 0; e < ATT_VE; e++)
            acc[e] = 0.0f;
        const __half *vb = vc + (size_t)g * hd + lane * E;
        for (uint32_t p0 = warp; p0 < n_kv; p0 += ATT_WARPS * ATT_VB) {
#pragma unroll
            for (int u = 0; u < ATT_VB; u++) {
                uint32_t p = p0 + u * ATT_WARPS;
                if (p < n_kv) {
                    float w = sc[p];
                    const __half *vp = vb + (size_t)p * kv_dim;
#pragma unroll
                    for (int e = 0; e < ATT_VE; e++)
                        if ((uint32_t)e < E)
                            acc[e] += w * __half2float(vp[e]);
                }
            }
        }
#pragma unroll
        for (int e = 0; e < ATT_VE; e++)
            if ((uint32_t)e < E)
                vpart[warp * hd + lane * E + e] = acc[e];
        __syncthreads();
        for (uint32_t i = threadIdx.x; i < hd; i += ATT_THREADS) {
            float a = vpart[i];
            for (uint32_t w = 1; w < ATT_WARPS; w++)
                a += vpart[w * hd + i];
            size_t o = (size_t)t * q_dim + (size_t)h * hd + i;
            out[o] = a;
            if (oq)
                quant_lane(a, oq + o, od + o / QK, lane);
        }
    } else {
        for (uint32_t i = threadIdx.x; i < hd; i += ATT_THREADS) {
            const __half *vp = vc + (size_t)g * hd + i;
            float acc = 0.0f;
#pragma unroll 8
            for (uint32_t p = 0; p < n_kv; p++)
                acc += sc[p] * __half2float(vp[(size_t)p * kv_dim]);
            size_t o = (size_t)t * q_dim + (size_t)h * hd + i;
            out[o] = acc;
            if (oq)
                quant_lane(acc, oq + o, od + o / QK, lane);
        }
    }
}

#endif
