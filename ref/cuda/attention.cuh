/* ref/cuda/attention.cuh: the embedding lookup and the attention kernel of the CUDA engine.
 * Included by kernels.cuh only. */
#ifndef FLARE_REF_CUDA_ATTENTION_CUH
#define FLARE_REF_CUDA_ATTENTION_CUH

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

#define ATT_THREADS 256
#define ATT_WARPS (ATT_THREADS / 32)
/* Positions a warp takes per pass of the weighted sum of v: 8, or 4 when a lane's share of a
 * row is 16 bytes (head dim 256): 16 registers of loads in flight either way (the kernel stays
 * at 64 registers, no spills; 8 int4s took it to 78). */
#define ATT_VB(E) ((E) == 8 ? 4 : 8)

/* E consecutive halves as one load: what a lane takes of a V row when the head dim is 32 E. */
template <int E>
struct hvec;
template <>
struct hvec<1> {
    typedef __half T;
};
template <>
struct hvec<2> {
    typedef __half2 T;
};
template <>
struct hvec<4> {
    typedef int2 T;
};
template <>
struct hvec<8> {
    typedef int4 T;
};

/* acc[e] = sum over this warp's positions p (warp, warp + ATT_WARPS, ...) of sc[p] times element
 * e of vb's row p (vb: the lane's first element of position 0; rows kv_dim apart), in position
 * order; ATT_VB(E) rows in flight a warp, each one vector load a lane. */
template <int E>
__device__ __forceinline__ void att_v_sum(const __half *vb, const float *sc, uint32_t n_kv,
                                          uint32_t kv_dim, uint32_t warp, float *acc)
{
    typedef typename hvec<E>::T V;
    for (uint32_t p0 = warp; p0 < n_kv; p0 += ATT_WARPS * ATT_VB(E)) {
        V raw[ATT_VB(E)];
#pragma unroll
        for (int u = 0; u < ATT_VB(E); u++) {
            uint32_t p = p0 + u * ATT_WARPS;
            if (p < n_kv)
                raw[u] = __ldg((const V *)(vb + (size_t)p * kv_dim));
        }
#pragma unroll
        for (int u = 0; u < ATT_VB(E); u++) {
            uint32_t p = p0 + u * ATT_WARPS;
            if (p < n_kv) {
                float w = sc[p];
                const __half *h = (const __half *)&raw[u];
#pragma unroll
                for (int e = 0; e < E; e++)
                    acc[e] += w * __half2float(h[e]);
            }
        }
    }
}

/* Dynamic shared memory of attention_kernel in floats: q, the warps' partial sums of v, a score
 * per position. */
#define ATT_SMEM_FLOATS(hd, n_ctx) ((size_t)(hd) * (1 + ATT_WARPS) + (n_ctx))

/* Causal attention of token t (position pos0[0] + t), head h over cache positions 0..pos; with
 * oq, od (hd a multiple of 32), out is also quantized to Q8_0 there (Wo's input).
 * grid (n_head, T), block ATT_THREADS, dynamic shared memory ATT_SMEM_FLOATS(hd, n_ctx).
 * One block does a whole (token, head): in decode that is a chain of dependent memory reads, so
 * the loads are arranged to be independent and many in flight: scores one thread per position
 * (its K row as int4s, head dim a multiple of 8), the weighted sum of v with the 8 warps over
 * positions, 8 at a time (4 for head dim 256), lanes over elements (one vector load of head
 * dim / 32 halves; head dims 32, 64, 128, 256), combined in shared memory: a pass covers 64
 * positions. Other head
 * dims take one warp per position and one thread per element. */
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
    uint32_t E = hd / 32;
    if (hd % 32 == 0 && (E == 1 || E == 2 || E == 4 || E == 8)) {
        float acc[8] = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
        const __half *vb = vc + (size_t)g * hd + lane * E;
        if (E == 1)
            att_v_sum<1>(vb, sc, n_kv, kv_dim, warp, acc);
        else if (E == 2)
            att_v_sum<2>(vb, sc, n_kv, kv_dim, warp, acc);
        else if (E == 4)
            att_v_sum<4>(vb, sc, n_kv, kv_dim, warp, acc);
        else
            att_v_sum<8>(vb, sc, n_kv, kv_dim, warp, acc);
#pragma unroll
        for (int e = 0; e < 8; e++)
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
