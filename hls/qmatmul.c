/* hls/qmatmul.c: the quantized matrix multiply kernel (HLS C, and the csim golden model).
 *
 *   y (t, n) = W (n, k) @ xq (t, k)^T     W rows in Q4_0 / Q5_0 / Q8_0 blocks (ggml layout)
 *
 * x (t, k) arrives as fp32 and is quantized on chip to Q8_0 (hls/numerics.h), after an optional
 * RMSNorm prologue; the weight rows stream once per call whatever t is (decode t = 1, prefill
 * or batch t > 1). Epilogues: SwiGLU (gate rows in w, up rows in w_up, read in the same pass)
 * then residual add. Every fp32 step follows docs/numerics.md. */
#include "hls/hls.h"

#include <math.h>

#include "flare/ggml.h"
#include "hls/numerics.h"

#define QMM_MAX_BLOCKS FL_MAX_K_BLOCKS

/* ---- argument check ---- */
uint32_t fl_qmatmul_check(uint32_t wtype, uint32_t n, uint32_t k, uint32_t t, uint32_t flags)
{
    if (flags & ~FL_QMM_FLAGS_ALL)
        return FL_KST_BAD_FLAGS;
    if (wtype != FL_TYPE_Q4_0 && wtype != FL_TYPE_Q5_0 && wtype != FL_TYPE_Q8_0)
        return FL_KST_BAD_TYPE;
    if (n == 0 || k == 0 || t == 0 || k % 32u != 0)
        return FL_KST_BAD_SHAPE;
    if (n > FL_MAX_N || k > FL_MAX_K || t > FL_MAX_T)
        return FL_KST_RANGE;
    return FL_KST_OK;
}

static uint32_t block_bytes(uint32_t wtype)
{
    return wtype == FL_TYPE_Q4_0 ? 18u : wtype == FL_TYPE_Q5_0 ? 22u : 34u;
}

/* ---- weight block decode: 32 signed integers and the fp16 scale ---- */
static uint16_t decode_block(const uint8_t *b, uint32_t wtype, int8_t q[32])
{
    FL_HLS(INLINE)
    uint16_t d = (uint16_t)(b[0] | (b[1] << 8));
    if (wtype == FL_TYPE_Q8_0) {
        FL_LABEL(dec_q8) for (uint32_t j = 0; j < 32u; j++)
        {
            FL_HLS(UNROLL)
            q[j] = (int8_t)b[2 + j];
        }
    } else if (wtype == FL_TYPE_Q4_0) {
        FL_LABEL(dec_q4) for (uint32_t j = 0; j < 16u; j++)
        {
            FL_HLS(UNROLL)
            q[j] = (int8_t)((b[2 + j] & 0x0f) - 8);
            q[j + 16] = (int8_t)((b[2 + j] >> 4) - 8);
        }
    } else { /* Q5_0 */
        uint32_t qh = (uint32_t)b[2] | ((uint32_t)b[3] << 8) | ((uint32_t)b[4] << 16) |
                      ((uint32_t)b[5] << 24);
        FL_LABEL(dec_q5) for (uint32_t j = 0; j < 16u; j++)
        {
            FL_HLS(UNROLL)
            uint32_t lo = (uint32_t)(b[6 + j] & 0x0f) | (((qh >> j) & 1u) << 4);
            uint32_t hi = (uint32_t)(b[6 + j] >> 4) | (((qh >> (j + 16)) & 1u) << 4);
            q[j] = (int8_t)((int32_t)lo - 16);
            q[j + 16] = (int8_t)((int32_t)hi - 16);
        }
    }
    return d;
}

/* One block's contribution: (float)(sum_j wq_j * xq_j) * (d_w * d_x). |sum| < 2^24 and the
 * product of two fp16 values is exact in fp32, so the one rounding is the final multiply. */
static float block_dot(const int8_t wq[32], uint16_t dw, const int8_t *xq, uint16_t dx)
{
    FL_HLS(INLINE)
    int32_t sumi = 0;
    FL_LABEL(blk_mac) for (uint32_t j = 0; j < 32u; j++)
    {
        FL_HLS(UNROLL)
        sumi += (int32_t)wq[j] * (int32_t)xq[j];
    }
    float s = fl_fp16_to_fp32(dw) * fl_fp16_to_fp32(dx);
    return (float)sumi * s;
}

/* ---- prologue: x row -> (optional RMSNorm) -> Q8_0 ----
 * Also the golden model of the RTL prologue (hw/qmm_xprep.v, sim/tb_qmm_xprep.cpp). */
void fl_qmm_quantize_rows(const float *x, const float *norm_w, uint32_t k, uint32_t t,
                          uint32_t flags, float eps, int8_t *xq, uint16_t *xd)
{
    uint32_t nb = k / 32u;
    FL_LABEL(pro_tokens) for (uint32_t tt = 0; tt < t; tt++)
    {
        FL_HLS(LOOP_TRIPCOUNT min=1 max=FL_MAX_T)
        const float *xr = x + (uint64_t)tt * k;
        float scale = 1.0f;
        if (flags & FL_QMM_NORM) {
            fl_lanes ss;
            fl_lanes_zero(&ss);
            FL_LABEL(pro_sumsq) for (uint32_t i = 0; i < k; i++)
            {
                FL_HLS(PIPELINE II=1)
                FL_HLS(LOOP_TRIPCOUNT min=32 max=FL_MAX_K)
                fl_lanes_add(&ss, i, xr[i] * xr[i]);
            }
            float mean = fl_lanes_sum(&ss) / (float)k;
            scale = 1.0f / sqrtf(mean + eps);
        }
        FL_LABEL(pro_blocks) for (uint32_t b = 0; b < nb; b++)
        {
            FL_HLS(PIPELINE II=1)
            FL_HLS(LOOP_TRIPCOUNT min=1 max=QMM_MAX_BLOCKS)
            float v[32];
            FL_LABEL(pro_elems) for (uint32_t j = 0; j < 32u; j++)
            {
                FL_HLS(UNROLL)
                float e = xr[b * 32u + j];
                if (flags & FL_QMM_NORM)
                    e = (e * scale) * norm_w[b * 32u + j];
                v[j] = e;
            }
            xd[(uint64_t)tt * QMM_MAX_BLOCKS + b] =
                fl_q8_quant(v, 32u, xq + (uint64_t)tt * FL_MAX_K + b * 32u);
        }
    }
}

/* ---- the kernel body on explicit on-chip buffers ---- */
static uint32_t qmatmul_core(int8_t *xq, uint16_t *xd, const uint8_t *w, const uint8_t *w_up,
                             const float *x, const float *norm_w, const float *r, float *y,
                             uint32_t wtype, uint32_t n, uint32_t k, uint32_t t, uint32_t flags,
                             float eps)
{
    uint32_t st = fl_qmatmul_check(wtype, n, k, t, flags);
    if (st != FL_KST_OK)
        return st;
    uint32_t nb = k / 32u;
    uint64_t row_bytes = (uint64_t)nb * block_bytes(wtype);
    int swiglu = (flags & FL_QMM_SWIGLU) != 0;

    fl_qmm_quantize_rows(x, norm_w, k, t, flags, eps, xq, xd);

    fl_lanes acc_g[FL_MAX_T]; /* per token: W x (the gate with SwiGLU) */
    fl_lanes acc_u[FL_MAX_T]; /* per token: W_up x */
    FL_HLS(ARRAY_PARTITION variable=acc_g complete dim=0)
    FL_HLS(ARRAY_PARTITION variable=acc_u complete dim=0)
    FL_LABEL(mm_rows) for (uint32_t row = 0; row < n; row++)
    {
        FL_HLS(LOOP_TRIPCOUNT min=1 max=FL_MAX_N)
        FL_LABEL(mm_zero) for (uint32_t tt = 0; tt < t; tt++)
        {
            FL_HLS(LOOP_TRIPCOUNT min=1 max=FL_MAX_T)
            fl_lanes_zero(&acc_g[tt]);
            fl_lanes_zero(&acc_u[tt]);
        }
        uint64_t row_off = row * row_bytes; /* the same offset in w and w_up */
        FL_LABEL(mm_blocks) for (uint32_t b = 0; b < nb; b++)
        {
            FL_HLS(LOOP_TRIPCOUNT min=1 max=QMM_MAX_BLOCKS)
            int8_t wq[32], uq[32];
            FL_HLS(ARRAY_PARTITION variable=wq complete)
            FL_HLS(ARRAY_PARTITION variable=uq complete)
            uint64_t off = row_off + (uint64_t)b * block_bytes(wtype);
            uint16_t dw = decode_block(w + off, wtype, wq);
            uint16_t du = 0;
            if (swiglu)
                du = decode_block(w_up + off, wtype, uq);
            FL_LABEL(mm_tokens) for (uint32_t tt = 0; tt < t; tt++)
            {
                FL_HLS(PIPELINE II=1)
                FL_HLS(LOOP_TRIPCOUNT min=1 max=FL_MAX_T)
                const int8_t *xb = xq + (uint64_t)tt * FL_MAX_K + b * 32u;
                uint16_t dx = xd[(uint64_t)tt * QMM_MAX_BLOCKS + b];
                fl_lanes_add(&acc_g[tt], b, block_dot(wq, dw, xb, dx));
                if (swiglu)
                    fl_lanes_add(&acc_u[tt], b, block_dot(uq, du, xb, dx));
            }
        }
        FL_LABEL(mm_epilogue) for (uint32_t tt = 0; tt < t; tt++)
        {
            FL_HLS(PIPELINE II=1)
            FL_HLS(LOOP_TRIPCOUNT min=1 max=FL_MAX_T)
            float o = fl_lanes_sum(&acc_g[tt]);
            if (swiglu)
                o = fl_silu(o) * fl_lanes_sum(&acc_u[tt]);
            if (flags & FL_QMM_RESID)
                o = o + r[(uint64_t)tt * n + row];
            y[(uint64_t)tt * n + row] = o;
        }
    }
    return FL_KST_OK;
}

/* ---- top function ---- */
void fl_qmatmul(FL_HLS_STATE_PARAM const uint8_t *w, const uint8_t *w_up, const float *x,
                const float *norm_w, const float *r, float *y, uint32_t wtype, uint32_t n,
                uint32_t k, uint32_t t, uint32_t flags, float eps, uint32_t *status)
{
    FL_HLS(INTERFACE m_axi port=w offset=slave bundle=gmem0)
    FL_HLS(INTERFACE m_axi port=w_up offset=slave bundle=gmem1)
    FL_HLS(INTERFACE m_axi port=x offset=slave bundle=gmem2)
    FL_HLS(INTERFACE m_axi port=norm_w offset=slave bundle=gmem3)
    FL_HLS(INTERFACE m_axi port=r offset=slave bundle=gmem4)
    FL_HLS(INTERFACE m_axi port=y offset=slave bundle=gmem5)
    FL_HLS(INTERFACE s_axilite port=w)
    FL_HLS(INTERFACE s_axilite port=w_up)
    FL_HLS(INTERFACE s_axilite port=x)
    FL_HLS(INTERFACE s_axilite port=norm_w)
    FL_HLS(INTERFACE s_axilite port=r)
    FL_HLS(INTERFACE s_axilite port=y)
    FL_HLS(INTERFACE s_axilite port=wtype)
    FL_HLS(INTERFACE s_axilite port=n)
    FL_HLS(INTERFACE s_axilite port=k)
    FL_HLS(INTERFACE s_axilite port=t)
    FL_HLS(INTERFACE s_axilite port=flags)
    FL_HLS(INTERFACE s_axilite port=eps)
    FL_HLS(INTERFACE s_axilite port=status)
    FL_HLS(INTERFACE s_axilite port=return)
#ifdef __SYNTHESIS__
    static int8_t xq[FL_MAX_T * FL_MAX_K];
    static uint16_t xd[FL_MAX_T * (FL_MAX_K / 32u)];
    FL_HLS(ARRAY_PARTITION variable=xq cyclic factor=32)
    FL_HLS(BIND_STORAGE variable=xq type=ram_2p impl=bram)
    FL_HLS(BIND_STORAGE variable=xd type=ram_2p impl=bram)
#else
    int8_t *xq = st->xq;
    uint16_t *xd = st->xd;
#endif
    *status = qmatmul_core(xq, xd, w, w_up, x, norm_w, r, y, wtype, n, k, t, flags, eps);
}
