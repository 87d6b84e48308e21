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

/* The block's maximum (op 0) or sum (op 1) of v, in warp order: the same value in every thread.
 * red: ATT_WARPS floats of shared memory; two barriers. */
__device__ __forceinline__ float att_block_reduce(float v, int op, float *red)
{
    uint32_t lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    v = op ? warp_sum(v) : warp_max(v);
    if (lane == 0)
        red[warp] = v;
    __syncthreads();
    float r = red[0];
    for (uint32_t w = 1; w < ATT_WARPS; w++)
        r = op ? r + red[w] : fmaxf(r, red[w]);
    __syncthreads(); /* red is free again */
    return r;
}

#define ATT_TILE ATT_THREADS /* positions a pass: one score a thread */
#define ATT_MAX_SPLIT 16     /* blocks a (head, token) at most (decode) */
#define ATT_SPLIT_MIN 64     /* positions a split at least */

/* Dynamic shared memory of attention_kernel in floats: q, the warps' partial sums of v, the
 * other head dims' accumulators, a tile's scores. */
#define ATT_SMEM_FLOATS(hd) ((size_t)(hd) * (2 + ATT_WARPS) + ATT_TILE)

struct att_args {
    const float *q;            /* (T, n_head * hd) */
    const __half *kc, *vc;     /* the layer's cache (n_ctx, n_head_kv * hd) */
    float *out;                /* (T, n_head * hd) */
    const int32_t *pos0;       /* device: the first token's position */
    uint32_t n_head, group, hd;
    float scale;               /* 1 / sqrt(hd) */
    int8_t *oq;                /* with od (hd % 32 == 0): out as Q8_0 too (Wo's input), or null */
    float *od;
    float *part;               /* (n_head, ATT_MAX_SPLIT, hd + 2): a split's m, l, o */
    uint32_t *count;           /* (n_head) arrival counters, zero between launches */
};

/* Causal attention of token t (position pos0[0] + t), head h over cache positions 0..pos, split
 * s of gridDim.z: grid (n_head, T, n_split), block ATT_THREADS, dynamic shared memory
 * ATT_SMEM_FLOATS(hd). n_split > 1 only for one token (decode), where n_head blocks would leave
 * most of the GPU idle and make each block a long chain of dependent reads (flash-decoding):
 * the positions are cut into min(n_split, n_kv / ATT_SPLIT_MIN) consecutive ranges, a block
 * each; every block writes its range's (max m, sum l, unnormalized o) and the last to arrive
 * combines them in split order (o = sum_s o_s e^(m_s - M) / sum_s l_s e^(m_s - M)).
 * A block walks its range in tiles of ATT_TILE positions with the online softmax (running max
 * m; a new max rescales l and the accumulators by e^(m - m_new)), so shared memory does not
 * grow with the context. In a tile: scores one thread per position (its K row as int4s, head
 * dim a multiple of 8), the weighted sum of v with the 8 warps over positions, ATT_VB rows in
 * flight a warp, lanes over elements (one vector load of head dim / 32 halves: head dims 32, 64,
 * 128, 256); other head dims take a warp per score and a thread per element. The probabilities
 * stay in fp32 (the CPU engine rounds its normalized ones to fp16: NMSE ~1e-8 apart). */
template <int E> /* head dim / 32 for the vector path (1, 2, 4, 8), 0 for other head dims */
__global__ void attention_kernel(att_args a)
{
    FLCU_DYN_SHARED(float, sm);
    __shared__ float red[ATT_WARPS], wsplit[2][ATT_MAX_SPLIT];
    uint32_t hd = a.hd, h = blockIdx.x, t = blockIdx.y, g = h / a.group;
    float *qs = sm, *vpart = sm + hd, *gacc = sm + (size_t)hd * (1 + ATT_WARPS);
    float *sc = sm + (size_t)hd * (2 + ATT_WARPS);
    uint32_t q_dim = a.n_head * hd, kv_dim = a.n_head / a.group * hd;
    uint32_t n_kv = (uint32_t)a.pos0[0] + t + 1;
    uint32_t n_split = min(gridDim.z, (n_kv + ATT_SPLIT_MIN - 1) / ATT_SPLIT_MIN);
    uint32_t chunk = (n_kv + n_split - 1) / n_split, s = blockIdx.z;
    if (s >= n_split) /* a split with nothing to do at this length (the grid is fixed in a graph) */
        return;
    uint32_t p_begin = s * chunk, p_end = min(n_kv, p_begin + chunk);
    uint32_t lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    const float *qh = a.q + (size_t)t * q_dim + (size_t)h * hd;
    for (uint32_t i = threadIdx.x; i < hd; i += ATT_THREADS) {
        qs[i] = __half2float(__float2half_rn(qh[i])); /* q meets the cache in fp16 */
        if constexpr (E == 0)
            gacc[i] = 0.0f; /* the scalar path's accumulators */
    }
    __syncthreads();

    float m = -INFINITY, l = 0.0f;
    float acc[E > 0 ? E : 1];
#pragma unroll
    for (int e = 0; e < (E > 0 ? E : 1); e++)
        acc[e] = 0.0f;
    const __half *kb = a.kc + (size_t)g * hd, *vb = a.vc + (size_t)g * hd;
    for (uint32_t p0 = p_begin; p0 < p_end; p0 += ATT_TILE) {
        uint32_t n = min((uint32_t)ATT_TILE, p_end - p0);
        // scores of positions p0 .. p0 + n - 1
        if (hd % 8 == 0) {
            if (threadIdx.x < n) {
                const int4 *kp = (const int4 *)(kb + (size_t)(p0 + threadIdx.x) * kv_dim);
                float sd = 0.0f;
#pragma unroll 4
                for (uint32_t j = 0; j < hd / 8; j++) {
                    int4 raw = __ldg(kp + j);
                    const __half2 *k2 = (const __half2 *)&raw;
#pragma unroll
                    for (int c = 0; c < 4; c++) {
                        float2 f = __half22float2(k2[c]);
                        sd += qs[8 * j + 2 * c] * f.x;
                        sd += qs[8 * j + 2 * c + 1] * f.y;
                    }
                }
                sc[threadIdx.x] = sd * a.scale;
            }
        } else {
            for (uint32_t p = warp; p < n; p += ATT_WARPS) {
                const __half *kp = kb + (size_t)(p0 + p) * kv_dim;
                float sd = 0.0f;
                for (uint32_t i = lane; i < hd; i += 32)
                    sd += qs[i] * __half2float(kp[i]);
                sd = warp_sum(sd);
                if (lane == 0)
                    sc[p] = sd * a.scale;
            }
        }
        __syncthreads();
        // online softmax: the new running max, this tile's exponentials and their sum
        float mt = att_block_reduce(threadIdx.x < n ? sc[threadIdx.x] : -INFINITY, 0, red);
        float m_new = fmaxf(m, mt), alpha = expf(m - m_new); /* 0 on the first tile */
        float ex = 0.0f;
        if (threadIdx.x < n) {
            ex = expf(sc[threadIdx.x] - m_new);
            sc[threadIdx.x] = ex;
        }
        l = l * alpha + att_block_reduce(ex, 1, red); /* its barriers publish sc too */
        m = m_new;
        // the weighted sum of v
        if constexpr (E > 0) {
#pragma unroll
            for (int e = 0; e < E; e++)
                acc[e] *= alpha;
            att_v_sum<E>(vb + (size_t)p0 * kv_dim + lane * E, sc, n, kv_dim, warp, acc);
        } else {
            for (uint32_t i = threadIdx.x; i < hd; i += ATT_THREADS) {
                const __half *vp = vb + (size_t)p0 * kv_dim + i;
                float ga = gacc[i] * alpha;
#pragma unroll 8
                for (uint32_t p = 0; p < n; p++)
                    ga += sc[p] * __half2float(vp[(size_t)p * kv_dim]);
                gacc[i] = ga;
            }
        }
        __syncthreads(); /* before the next tile's scores overwrite sc */
    }
    // o: this block's unnormalized output (the warps' partials summed in order)
    if constexpr (E > 0) {
#pragma unroll
        for (int e = 0; e < E; e++)
            vpart[warp * hd + lane * E + e] = acc[e];
        __syncthreads();
        for (uint32_t i = threadIdx.x; i < hd; i += ATT_THREADS) {
            float o = vpart[i];
            for (uint32_t w = 1; w < ATT_WARPS; w++)
                o += vpart[w * hd + i];
            gacc[i] = o;
        }
    }
    /* from here a thread reads only the gacc[i] it wrote itself (i = threadIdx.x + k x
     * ATT_THREADS), so no barrier orders them (make racecheck: none needed) */
    float inv_l = 1.0f / l;
    if (n_split > 1) { /* publish (m, l, o); the last block of the head combines */
        float *pp = a.part + ((size_t)h * ATT_MAX_SPLIT + s) * (hd + 2);
        for (uint32_t i = threadIdx.x; i < hd; i += ATT_THREADS)
            pp[2 + i] = gacc[i];
        if (threadIdx.x == 0) {
            pp[0] = m;
            pp[1] = l;
        }
        if (!arrive_last(a.count + h, n_split))
            return;
        // each range's weight e^(m_s - M), once: (m_s, l_s) into shared memory, then the weights
        const float *ph = a.part + (size_t)h * ATT_MAX_SPLIT * (hd + 2);
        if (threadIdx.x < n_split) {
            wsplit[0][threadIdx.x] = __ldcg(ph + (size_t)threadIdx.x * (hd + 2));
            wsplit[1][threadIdx.x] = __ldcg(ph + (size_t)threadIdx.x * (hd + 2) + 1);
        }
        __syncthreads();
        float mm = -INFINITY, ll = 0.0f;
        for (uint32_t j = 0; j < n_split; j++)
            mm = fmaxf(mm, wsplit[0][j]);
        for (uint32_t j = 0; j < n_split; j++)
            ll += wsplit[1][j] * expf(wsplit[0][j] - mm);
        __syncthreads(); /* every thread has read the maxima */
        if (threadIdx.x < n_split)
            wsplit[0][threadIdx.x] = expf(wsplit[0][threadIdx.x] - mm);
        __syncthreads();
        for (uint32_t i = threadIdx.x; i < hd; i += ATT_THREADS) {
            float o = 0.0f;
            for (uint32_t j = 0; j < n_split; j++)
                o += __ldcg(ph + (size_t)j * (hd + 2) + 2 + i) * wsplit[0][j];
            gacc[i] = o;
        }
        inv_l = 1.0f / ll;
    }
    for (uint32_t i = threadIdx.x; i < hd; i += ATT_THREADS) {
        float o = gacc[i] * inv_l;
        size_t oi = (size_t)t * q_dim + (size_t)h * hd + i;
        a.out[oi] = o;
        if (a.oq) /* hd % 32 == 0: whole warps in this loop */
            quant_lane(o, a.oq + oi, a.od + oi / QK, lane);
    }
}

#endif
