/* ref/cuda/kernels.cuh: the CUDA kernels of the reference engine (included by engine.cu only).
 *
 * Same arithmetic as the CPU engine (ref/engine_cpu.c), step by step:
 *   quant_q8   activations -> Q8_0 blocks exactly as ggml's quantize_row_q8_0_ref (also fused
 *              into rmsnorm, swiglu and attention, whose outputs feed matrix products)
 *   mmq<TYPE>  Q4_0/Q5_0/Q8_0 weights x Q8_0 activations: per block an int32 sum (__dp4a), then
 *              sumi * d_w * d_x accumulated in fp32 (ggml's vec_dot_*_q8_0)
 *   mmf<F16>   F16/F32 weights x f32 activations
 *   steps.cuh      rmsnorm, rope_store (rotate q, k with the host-made cos/sin table, append
 *                  k, v to the fp16 cache), swiglu, and mm_epilogue (them fused into a product)
 *   attention.cuh  attention (q rounded to fp16 as the CPU's f16 path, online softmax in fp32
 *                  over tiles of positions, split over blocks for one token),
 *                  dequant_rows (embedding lookup, norm weights)
 *   mma.cuh        the prompt's quantized products on int8 tensor cores.
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

/* A Q8_0 block's scale from its absolute maximum, as ggml's quantize_row_q8_0_ref: returns the
 * stored (fp16-rounded) scale; a value v is quantized to roundf(v * *id). */
__device__ __forceinline__ float q8_scale(float amax, float *id)
{
    float dd = amax / 127.0f;
    *id = dd != 0.0f ? 1.0f / dd : 0.0f;
    return __half2float(__float2half_rn(dd));
}

/* One Q8_0 block from a warp, lane j holding element j: *q = the lane's quant, *d = the
 * fp16-rounded scale (lane 0). Exactly ggml's quantize_row_q8_0_ref. */
__device__ __forceinline__ void quant_lane(float v, int8_t *q, float *d, uint32_t lane)
{
    float id, ds = q8_scale(warp_max(fabsf(v)), &id);
    *q = (int8_t)roundf(v * id);
    if (lane == 0)
        *d = ds;
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

#include "ref/cuda/steps.cuh"

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

#include "ref/cuda/mma.cuh"

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

#include "ref/cuda/attention.cuh"

#endif
