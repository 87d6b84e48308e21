/* tests/hls/hls_chain.c: the two hls/ kernels chained by hand into a llama forward pass, for
 * tests that need the kernels' answer without the layer scheduler (test-only glue):
 * per layer q/k/v = qmatmul with the RMSNorm prologue, attention (RoPE table from
 * fl_rope_table), wo with the residual epilogue, gate/up with RMSNorm + SwiGLU, down with the
 * residual; then the output matrix with the final norm. */
#include "tests/hls/hls_chain.h"

#include <criterion/criterion.h>
#include <stdlib.h>

#include "ref/quants.h"

/* y (t, n) = W x (t, k) with optional fused steps; asserts the kernel status */
static void mm(fl_hls_state *st, const fl_weight *w, const fl_weight *w_up, const float *x,
               const fl_weight *norm, const float *r, float *y, uint32_t t, uint32_t flags,
               float eps)
{
    uint32_t status = 99;
    fl_qmatmul(st, w->data, w_up ? w_up->data : NULL, x, norm ? norm->data : NULL, r, y, w->type,
               (uint32_t)w->ne1, (uint32_t)w->ne0, t, flags, eps, &status);
    cr_assert_eq(status, FL_KST_OK, "qmatmul status %u (%s)", status, fl_kstatus_name(status));
}

/* Feed t tokens at pos; logits (n_vocab) of the last one. */
void hls_chain_forward(fl_hls_state *st, const fl_llama *m, const int32_t *tok, uint32_t t,
                       uint32_t pos, uint32_t att_flags, float *logits)
{
    const fl_llama_hparams *hp = &m->hp;
    uint32_t d = hp->n_embd, hd = hp->head_dim, nq = hp->n_head * hd, nk = hp->n_head_kv * hd;
    float *x = malloc(sizeof(float) * t * d), *x2 = malloc(sizeof(float) * t * d);
    float *q = malloc(sizeof(float) * t * nq), *k = malloc(sizeof(float) * t * nk);
    float *v = malloc(sizeof(float) * t * nk), *att = malloc(sizeof(float) * t * nq);
    float *h = malloc(sizeof(float) * t * hp->n_ff), *cs = malloc(sizeof(float) * t * hp->n_rot);
    for (uint32_t i = 0; i < t; i++)
        cr_assert_eq(fl_dequantize_row(m->tok_embd.type,
                                       (const uint8_t *)m->tok_embd.data +
                                           (uint64_t)tok[i] * m->tok_embd.row_bytes,
                                       x + (size_t)i * d, d),
                     0);
    fl_rope_table(cs, pos, t, hp->n_rot, hp->rope_base);
    for (uint32_t l = 0; l < hp->n_layer; l++) {
        const fl_llama_layer *L = &m->layers[l];
        mm(st, &L->wq, NULL, x, &L->attn_norm, NULL, q, t, FL_QMM_NORM, hp->rms_eps);
        mm(st, &L->wk, NULL, x, &L->attn_norm, NULL, k, t, FL_QMM_NORM, hp->rms_eps);
        mm(st, &L->wv, NULL, x, &L->attn_norm, NULL, v, t, FL_QMM_NORM, hp->rms_eps);
        uint32_t status = 99;
        fl_attention(st, q, k, v, cs, att, l, pos, t, hp->n_head, hp->n_head_kv, hd, hp->n_rot,
                     att_flags, &status);
        cr_assert_eq(status, FL_KST_OK, "attention status %u", status);
        mm(st, &L->wo, NULL, att, NULL, x, x2, t, FL_QMM_RESID, 0);
        mm(st, &L->w_gate, &L->w_up, x2, &L->ffn_norm, NULL, h, t, FL_QMM_NORM | FL_QMM_SWIGLU,
           hp->rms_eps);
        mm(st, &L->w_down, NULL, h, NULL, x2, x, t, FL_QMM_RESID, 0);
    }
    mm(st, &m->output, NULL, x + (size_t)(t - 1) * d, &m->output_norm, NULL, logits, 1,
       FL_QMM_NORM, hp->rms_eps);
    free(x);
    free(x2);
    free(q);
    free(k);
    free(v);
    free(att);
    free(h);
    free(cs);
}
