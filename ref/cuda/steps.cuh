/* ref/cuda/steps.cuh: the per-token steps of the CUDA engine (RMSNorm, RoPE + cache append,
 * SwiGLU) and the epilogue that fuses them into a single-token matrix product's launch.
 * Included by kernels.cuh only (it needs its Q8_0 helpers; the matrix kernels need mm_epi). */
#ifndef FLARE_REF_CUDA_STEPS_CUH
#define FLARE_REF_CUDA_STEPS_CUH

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

/* Row r of the RMSNorm. One block does a whole row (a fused one in the last block of a launch),
 * so the row is a chain of memory latencies, not of bandwidth: it is read as float4s, NORM_VEC
 * in flight per thread, and quantized a warp 4 blocks at a time (a lane 4 elements, 8 lanes a
 * block, the block's absmax over those 8 lanes: 3 shuffles, not 5 per block). Sums in double per
 * thread, then per warp, then over warps in order: the same for every caller with the same
 * thread count (ROW_THREADS). No more loads in flight than that: this code is in the decode
 * matrix kernels too, which stay at 40 registers a thread so (nvcc -Xptxas -v; 8 float4s of x,
 * or 2 chunks of the second pass, took them to 44-48: 10 blocks of 128 threads an SM, not 12). */
#define ROW_THREADS (32 * MM_WARPS)
#define NORM_VEC 4
__device__ void rmsnorm_row(const norm_args &a, uint32_t r, uint32_t tid, uint32_t nthr)
{
    __shared__ double part[32];
    const float4 *x4 = (const float4 *)(a.x + (size_t)r * a.n), *w4 = (const float4 *)a.w;
    uint32_t n4 = a.n / 4;
    double ss = 0;
    for (uint32_t i0 = tid; i0 < n4; i0 += NORM_VEC * nthr) {
        float4 v[NORM_VEC];
#pragma unroll
        for (int u = 0; u < NORM_VEC; u++) {
            uint32_t i = i0 + u * nthr;
            v[u] = i < n4 ? __ldcg(x4 + i) : float4{0.0f, 0.0f, 0.0f, 0.0f};
        }
#pragma unroll
        for (int u = 0; u < NORM_VEC; u++) { /* past the end: + 0.0, exact */
            ss += (double)(v[u].x * v[u].x);
            ss += (double)(v[u].y * v[u].y);
            ss += (double)(v[u].z * v[u].z);
            ss += (double)(v[u].w * v[u].w);
        }
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
    /* chunk c: elements 128c..128c+127, blocks 4c..4c+3; lane l: elements 128c + 4l.., block
     * 4c + l / 8 */
    uint32_t lane = tid % 32, nb = a.n / QK, n_chunks = (nb + 3) / 4;
    for (uint32_t c = tid / 32; c < n_chunks; c += nthr / 32) {
        uint32_t b = 4 * c + lane / 8, i = 32 * c + lane;
        float4 v = {0.0f, 0.0f, 0.0f, 0.0f}, w = v;
        if (b < nb) {
            v = __ldcg(x4 + i);
            w = w4[i];
        }
        float y[4] = {v.x * scale * w.x, v.y * scale * w.y, v.z * scale * w.z, v.w * scale * w.w};
        /* quant_lane's Q8_0 with the block's 32 values on 8 lanes */
        float amax = fmaxf(fmaxf(fabsf(y[0]), fabsf(y[1])), fmaxf(fabsf(y[2]), fabsf(y[3])));
        for (int o = 4; o > 0; o >>= 1)
            amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, o));
        float id, ds = q8_scale(amax, &id);
        if (b < nb) {
            size_t o = (size_t)r * a.n + 4 * (size_t)i;
            uint32_t packed = 0;
            for (int k = 0; k < 4; k++)
                packed |= (uint32_t)(uint8_t)(int8_t)roundf(y[k] * id) << (8 * k);
            *(float4 *)(a.out + o) = float4{y[0], y[1], y[2], y[3]};
            *(uint32_t *)(a.qs + o) = packed;
            if (lane % 8 == 0)
                a.qd[(size_t)r * nb + b] = ds;
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

/* (x0, x1) rotated by the angle whose cos, sin are c, s: the CPU engine's x0 c - x1 s,
 * x0 s + x1 c, rounded after every operation as there (the _rn intrinsics are never contracted
 * into fused multiply-adds, so both callers below round alike). */
__device__ __forceinline__ void rope_rotate(float *x0, float *x1, float c, float s)
{
    float r0 = __fsub_rn(__fmul_rn(*x0, c), __fmul_rn(*x1, s));
    float r1 = __fadd_rn(__fmul_rn(*x0, s), __fmul_rn(*x1, c));
    *x0 = r0;
    *x1 = r1;
}

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
        float x0 = __ldcg(xh + i), x1 = __ldcg(xh + i + 1);
        rope_rotate(&x0, &x1, cs[i], cs[i + 1]);
        xh[i] = x0;
        xh[i + 1] = x1;
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
        rope_rotate(&x0, &x1, cs[0], cs[1]);
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

/* The arrival protocol of the fused steps and of split attention, for a whole block: its
 * threads' writes fenced device-wide, a barrier, one ticket from *count; true in the block
 * that arrives as the expect-th (it resets the counter for the next launch or graph replay and
 * fences again before reading the others' writes, which it must read through L2: __ldcg). */
__device__ __forceinline__ bool arrive_last(uint32_t *count, uint32_t expect)
{
    __shared__ uint32_t last;
    __threadfence();
    __syncthreads();
    if (threadIdx.x == 0 && threadIdx.y == 0) {
        last = atomicAdd(count, 1u) == expect - 1;
        if (last)
            atomicExch(count, 0u);
    }
    __syncthreads();
    if (!last)
        return false;
    __threadfence();
    return true;
}

/* gi, bx: the block's matrix in the group and its block index within it. */
__device__ void mm_epilogue(const mm_epi &e, int gi, uint32_t bx)
{
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
    if (!arrive_last(e.count + c, expect))
        return;
    if (e.kind == EPI_NORM)
        rmsnorm_row(e.norm, 0, tid, nthr);
    else if (threadIdx.y == 0)
        swiglu_block(e.sw, c, threadIdx.x);
}

#endif
