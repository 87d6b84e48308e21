/* hls/attention.c: the attention kernel with its on-chip KV cache (HLS C, csim golden model).
 *
 * For t new tokens of one sequence at positions pos..pos+t-1 in layer `layer`:
 *   1. RoPE (llama normal mode: adjacent pairs) on k with the host's cos/sin table; k and v go
 *      into the KV cache, fp16 or int8 + fp16 scale per (token, kv head);
 *   2. for each token and query head: RoPE on q, scores q . k_j / sqrt(head_dim) for the
 *      positions j <= its own (causal), softmax, weighted sum of the cached v; query head h
 *      reads kv head h / (n_head / n_kv) (grouped-query attention).
 * The cache persists across calls (static URAM arrays in hardware). Arguments are checked
 * before anything is written. Every fp32 step follows docs/numerics.md. */
#include "hls/hls.h"

#include <math.h>

#include "hls/numerics.h"

/* Row index of (layer, which (0 k, 1 v), position, kv head) in the cache. */
static uint64_t kv_row(uint32_t layer, uint32_t which, uint32_t p, uint32_t h)
{
    return (((uint64_t)layer * 2u + which) * FL_MAX_CTX + p) * FL_MAX_KV_HEADS + h;
}

/* ---- argument check ---- */
static uint32_t attention_check(const uint32_t *kv_len, const uint8_t *kv_mode, uint32_t layer,
                                uint32_t pos, uint32_t t, uint32_t n_head, uint32_t n_kv,
                                uint32_t head_dim, uint32_t n_rot, uint32_t flags)
{
    if (flags & ~FL_ATT_FLAGS_ALL)
        return FL_KST_BAD_FLAGS;
    if (t == 0 || n_head == 0 || n_kv == 0 || head_dim == 0 || head_dim % 2u != 0 ||
        n_rot % 2u != 0 || n_rot > head_dim || n_head % n_kv != 0)
        return FL_KST_BAD_SHAPE;
    if (layer >= FL_MAX_LAYERS || t > FL_MAX_T || n_head > FL_MAX_HEADS ||
        n_kv > FL_MAX_KV_HEADS || head_dim > FL_MAX_HEAD_DIM)
        return FL_KST_RANGE;
    if (pos > FL_MAX_CTX || t > FL_MAX_CTX - pos)
        return FL_KST_CTX_FULL;
    if (pos > kv_len[layer])
        return FL_KST_KV_GAP;
    if (pos > 0 && kv_mode[layer] != (flags & FL_ATT_KV_INT8))
        return FL_KST_KV_MODE;
    return FL_KST_OK;
}

/* ---- RoPE: pairs (2i, 2i+1) for 2i < n_rot, the rest copied ---- */
/* cs + cs_off: this token's {cos, sin} pairs (cs is not dereferenced when n_rot is 0: the
 * table may then be absent) */
static void rope_row(const float *x, const float *cs, uint64_t cs_off, uint32_t head_dim,
                     uint32_t n_rot, float *o)
{
    FL_HLS(INLINE) /* called on the q and k ports: one copy per call site */
    FL_LABEL(rope_pairs) for (uint32_t i = 0; i < head_dim / 2u; i++)
    {
        FL_HLS(PIPELINE II=1)
        FL_HLS(LOOP_TRIPCOUNT min=1 max=FL_MAX_HEAD_DIM) /* bound: head_dim / 2 */
        float x0 = x[2u * i], x1 = x[2u * i + 1u];
        if (2u * i < n_rot) {
            float c = cs[cs_off + 2u * i], s = cs[cs_off + 2u * i + 1u];
            o[2u * i] = (x0 * c) - (x1 * s);
            o[2u * i + 1u] = (x0 * s) + (x1 * c);
        } else {
            o[2u * i] = x0;
            o[2u * i + 1u] = x1;
        }
    }
}

/* Store one head vector into the cache row (fp16, or int8 with its fp16 scale). */
static void kv_store(uint16_t *kv, uint16_t *kv_scale, uint64_t row, const float *e,
                     uint32_t head_dim, int int8)
{
    FL_HLS(INLINE) /* called on a local row and on the v port */
    uint16_t *dst = kv + row * FL_MAX_HEAD_DIM;
    if (int8) {
        int8_t q[FL_MAX_HEAD_DIM];
        kv_scale[row] = fl_q8_quant(e, head_dim, q);
        FL_LABEL(kv_st_i8) for (uint32_t d = 0; d < head_dim; d++)
        {
            FL_HLS(PIPELINE II=1)
            FL_HLS(LOOP_TRIPCOUNT min=2 max=FL_MAX_HEAD_DIM)
            dst[d] = (uint16_t)(uint8_t)q[d];
        }
    } else {
        FL_LABEL(kv_st_f16) for (uint32_t d = 0; d < head_dim; d++)
        {
            FL_HLS(PIPELINE II=1)
            FL_HLS(LOOP_TRIPCOUNT min=2 max=FL_MAX_HEAD_DIM)
            dst[d] = fl_fp32_to_fp16(e[d]);
        }
    }
}

/* Cached element as fp32: fp16 decoded, or the int8 value (its scale is applied per row). */
static float kv_elem(uint16_t e, int int8)
{
    return int8 ? (float)(int8_t)(uint8_t)e : fl_fp16_to_fp32(e);
}

/* ---- one query head of one token over positions 0..npos-1 ---- */
static void attend_head(const uint16_t *kv, const uint16_t *kv_scale, float *scores,
                        uint32_t layer, uint32_t h, uint32_t npos, const float *qr,
                        uint32_t head_dim, int int8, float kq_scale, float *o)
{
    /* scores and their maximum */
    float mx = fl_bits_f32(0xff800000u); /* -inf */
    FL_LABEL(att_scores) for (uint32_t j = 0; j < npos; j++)
    {
        FL_HLS(LOOP_TRIPCOUNT min=1 max=FL_MAX_CTX)
        uint64_t row = kv_row(layer, 0, j, h);
        const uint16_t *kr = kv + row * FL_MAX_HEAD_DIM;
        fl_lanes dot;
        fl_lanes_zero(&dot);
        FL_LABEL(att_qk) for (uint32_t d = 0; d < head_dim; d++)
        {
            FL_HLS(PIPELINE II=1)
            FL_HLS(LOOP_TRIPCOUNT min=2 max=FL_MAX_HEAD_DIM)
            fl_lanes_add(&dot, d, qr[d] * kv_elem(kr[d], int8));
        }
        float s = fl_lanes_sum(&dot);
        if (int8)
            s = s * fl_fp16_to_fp32(kv_scale[row]);
        s = s * kq_scale;
        scores[j] = s;
        if (s > mx)
            mx = s;
    }
    /* softmax numerators and their sum */
    fl_lanes sum;
    fl_lanes_zero(&sum);
    FL_LABEL(att_exp) for (uint32_t j = 0; j < npos; j++)
    {
        FL_HLS(PIPELINE II=1)
        FL_HLS(LOOP_TRIPCOUNT min=1 max=FL_MAX_CTX)
        float e = fl_exp(scores[j] - mx);
        scores[j] = e;
        fl_lanes_add(&sum, j, e);
    }
    float inv = 1.0f / fl_lanes_sum(&sum);
    /* weighted sum of v, then the normalisation */
    fl_lanes acc[FL_MAX_HEAD_DIM];
    FL_HLS(ARRAY_PARTITION variable=acc complete dim=0)
    FL_LABEL(att_zero) for (uint32_t d = 0; d < head_dim; d++)
    {
        FL_HLS(LOOP_TRIPCOUNT min=2 max=FL_MAX_HEAD_DIM)
        fl_lanes_zero(&acc[d]);
    }
    FL_LABEL(att_pv) for (uint32_t j = 0; j < npos; j++)
    {
        FL_HLS(PIPELINE II=1)
        FL_HLS(LOOP_TRIPCOUNT min=1 max=FL_MAX_CTX)
        uint64_t row = kv_row(layer, 1, j, h);
        const uint16_t *vr = kv + row * FL_MAX_HEAD_DIM;
        float p = scores[j];
        if (int8)
            p = p * fl_fp16_to_fp32(kv_scale[row]);
        FL_LABEL(att_pv_d) for (uint32_t d = 0; d < head_dim; d++)
        {
            FL_HLS(UNROLL)
            fl_lanes_add(&acc[d], j, p * kv_elem(vr[d], int8));
        }
    }
    FL_LABEL(att_out) for (uint32_t d = 0; d < head_dim; d++)
    {
        FL_HLS(PIPELINE II=1)
        FL_HLS(LOOP_TRIPCOUNT min=2 max=FL_MAX_HEAD_DIM)
        o[d] = fl_lanes_sum(&acc[d]) * inv;
    }
}

/* ---- the kernel body on explicit on-chip buffers ---- */
static uint32_t attention_core(uint16_t *kv, uint16_t *kv_scale, uint32_t *kv_len,
                               uint8_t *kv_mode, float *scores, const float *q, const float *k,
                               const float *v, const float *rope, float *out, uint32_t layer,
                               uint32_t pos, uint32_t t, uint32_t n_head, uint32_t n_kv,
                               uint32_t head_dim, uint32_t n_rot, uint32_t flags)
{
    uint32_t st = attention_check(kv_len, kv_mode, layer, pos, t, n_head, n_kv, head_dim, n_rot,
                                  flags);
    if (st != FL_KST_OK)
        return st;
    int int8 = (flags & FL_ATT_KV_INT8) != 0;
    uint32_t n_cs = n_rot / 2u * 2u; /* floats of the rope table per token */
    float e[FL_MAX_HEAD_DIM];

    /* 1. append the new keys (rotated) and values */
    FL_LABEL(app_tokens) for (uint32_t tt = 0; tt < t; tt++)
    {
        FL_HLS(LOOP_TRIPCOUNT min=1 max=FL_MAX_T)
        FL_LABEL(app_heads) for (uint32_t h = 0; h < n_kv; h++)
        {
            FL_HLS(LOOP_TRIPCOUNT min=1 max=FL_MAX_KV_HEADS)
            uint64_t src = ((uint64_t)tt * n_kv + h) * head_dim;
            rope_row(k + src, rope, (uint64_t)tt * n_cs, head_dim, n_rot, e);
            kv_store(kv, kv_scale, kv_row(layer, 0, pos + tt, h), e, head_dim, int8);
            kv_store(kv, kv_scale, kv_row(layer, 1, pos + tt, h), v + src, head_dim, int8);
        }
    }
    kv_len[layer] = pos + t;
    kv_mode[layer] = (uint8_t)(flags & FL_ATT_KV_INT8);

    /* 2. attention for each new token and query head */
    float kq_scale = 1.0f / sqrtf((float)head_dim);
    uint32_t group = n_head / n_kv;
    FL_LABEL(att_tokens) for (uint32_t tt = 0; tt < t; tt++)
    {
        FL_HLS(LOOP_TRIPCOUNT min=1 max=FL_MAX_T)
        FL_LABEL(att_heads) for (uint32_t hq = 0; hq < n_head; hq++)
        {
            FL_HLS(LOOP_TRIPCOUNT min=1 max=FL_MAX_HEADS)
            uint64_t qoff = ((uint64_t)tt * n_head + hq) * head_dim;
            rope_row(q + qoff, rope, (uint64_t)tt * n_cs, head_dim, n_rot, e);
            attend_head(kv, kv_scale, scores, layer, hq / group, pos + tt + 1u, e, head_dim,
                        int8, kq_scale, out + qoff);
        }
    }
    return FL_KST_OK;
}

/* ---- top function ---- */
void fl_attention(FL_HLS_STATE_PARAM const float *q, const float *k, const float *v,
                  const float *rope, float *out, uint32_t layer, uint32_t pos, uint32_t t,
                  uint32_t n_head, uint32_t n_kv, uint32_t head_dim, uint32_t n_rot,
                  uint32_t flags, uint32_t *status)
{
    FL_HLS(INTERFACE m_axi port=q offset=slave bundle=gmem0)
    FL_HLS(INTERFACE m_axi port=k offset=slave bundle=gmem1)
    FL_HLS(INTERFACE m_axi port=v offset=slave bundle=gmem2)
    FL_HLS(INTERFACE m_axi port=rope offset=slave bundle=gmem3)
    FL_HLS(INTERFACE m_axi port=out offset=slave bundle=gmem4)
    FL_HLS(INTERFACE s_axilite port=q)
    FL_HLS(INTERFACE s_axilite port=k)
    FL_HLS(INTERFACE s_axilite port=v)
    FL_HLS(INTERFACE s_axilite port=rope)
    FL_HLS(INTERFACE s_axilite port=out)
    FL_HLS(INTERFACE s_axilite port=layer)
    FL_HLS(INTERFACE s_axilite port=pos)
    FL_HLS(INTERFACE s_axilite port=t)
    FL_HLS(INTERFACE s_axilite port=n_head)
    FL_HLS(INTERFACE s_axilite port=n_kv)
    FL_HLS(INTERFACE s_axilite port=head_dim)
    FL_HLS(INTERFACE s_axilite port=n_rot)
    FL_HLS(INTERFACE s_axilite port=flags)
    FL_HLS(INTERFACE s_axilite port=status)
    FL_HLS(INTERFACE s_axilite port=return)
#ifdef __SYNTHESIS__
    static uint16_t kv[FL_KV_ELEMS];
    static uint16_t kv_scale[FL_KV_ROWS];
    static uint32_t kv_len[FL_MAX_LAYERS];
    static uint8_t kv_mode[FL_MAX_LAYERS];
    static float scores[FL_MAX_CTX];
    FL_HLS(BIND_STORAGE variable=kv type=ram_2p impl=uram)
    FL_HLS(BIND_STORAGE variable=kv_scale type=ram_2p impl=uram)
    FL_HLS(BIND_STORAGE variable=scores type=ram_2p impl=bram)
    FL_HLS(ARRAY_PARTITION variable=kv cyclic factor=8)
#else
    uint16_t *kv = st->kv;
    uint16_t *kv_scale = st->kv_scale;
    uint32_t *kv_len = st->kv_len;
    uint8_t *kv_mode = st->kv_mode;
    float *scores = st->scores;
#endif
    *status = attention_core(kv, kv_scale, kv_len, kv_mode, scores, q, k, v, rope, out, layer,
                             pos, t, n_head, n_kv, head_dim, n_rot, flags);
}
