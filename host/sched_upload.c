/* host/sched_upload.c: the scheduler's device buffers and the upload of a model's weights
 * (host/sched_priv.h), and the lookup of an uploaded matrix by name (fl_sched_weight). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flare/error.h"
#include "flare/ggml.h"
#include "host/sched_priv.h"
#include "ref/quants.h"

/* ---- buffers and upload --------------------------------------------------------------------- */

fl_dev_buf *fl_sched_new_buf(fl_sched *s, uint64_t bytes, const char *what)
{
    if (s->n_bufs == s->cap_bufs) {
        flare_error(FLARE_ENOMEM, "scheduler: too many device buffers");
        return NULL;
    }
    fl_dev_buf *b = &s->bufs[s->n_bufs];
    int rc = fl_dev_alloc(s->dev, bytes ? bytes : 4, 0, b);
    if (rc) {
        flare_error_prefix(rc, "allocating %s (%" PRIu64 " bytes)", what, bytes);
        return NULL;
    }
    s->n_bufs++;
    return b;
}

/* The progress bar appears once an upload has taken this long. */
#ifndef FL_SCHED_PROGRESS_AFTER_S
#define FL_SCHED_PROGRESS_AFTER_S 1.0
#endif

typedef struct {
    uint64_t done, total;
    double t0;
    int shown, enabled, last_pct;
} progress;

static void progress_step(progress *p, uint64_t bytes)
{
    p->done += bytes;
    if (!p->enabled)
        return;
    if (!p->shown && fl_sched_now_s() - p->t0 < FL_SCHED_PROGRESS_AFTER_S)
        return;
    int pct = (int)(p->total ? 100.0 * (double)p->done / (double)p->total : 100);
    if (p->shown && pct == p->last_pct)
        return;
    p->shown = 1;
    p->last_pct = pct;
    fprintf(stderr, "\rflare: uploading weights: %3d%%", pct);
    fflush(stderr);
}

/* Device type of a stored matrix type: as is, or Q8_0 for F32/F16; 0 when unsupported. */
static uint32_t dev_type(uint32_t t)
{
    if (t == FL_TYPE_Q4_0 || t == FL_TYPE_Q5_0 || t == FL_TYPE_Q8_0)
        return t;
    if (t == FL_TYPE_F32 || t == FL_TYPE_F16)
        return FL_TYPE_Q8_0;
    return UINT32_MAX;
}

/* Write matrix w to b at off as dtype (converting F32/F16 rows to Q8_0). */
static int upload_mat(fl_sched *s, const fl_weight *w, fl_dev_buf *b, uint64_t off,
                      uint32_t dtype, const char *name, progress *pg)
{
    if (dtype == w->type) {
        uint64_t bytes = w->row_bytes * w->ne1, chunk = 8u << 20;
        for (uint64_t o = 0; o < bytes; o += chunk) {
            uint64_t n = bytes - o < chunk ? bytes - o : chunk;
            if (fl_dev_write(s->dev, b, off + o, (const uint8_t *)w->data + o, n))
                return flare_error_prefix(FLARE_EDEVICE, "uploading %s", name);
            progress_step(pg, n);
        }
        return 0;
    }
    uint64_t drow = fl_row_bytes(dtype, w->ne0);
    float *row = malloc(sizeof(float) * w->ne0);
    uint8_t *q = malloc(drow);
    int rc = row && q ? 0 : flare_error(FLARE_ENOMEM, "converting %s: out of memory", name);
    for (uint64_t r = 0; rc == 0 && r < w->ne1; r++) {
        rc = fl_dequantize_row(w->type, (const uint8_t *)w->data + r * w->row_bytes, row,
                               (int64_t)w->ne0);
        if (rc == 0)
            rc = fl_quantize_row(dtype, row, q, (int64_t)w->ne0);
        if (rc == 0 && fl_dev_write(s->dev, b, off + r * drow, q, drow))
            rc = flare_error_prefix(FLARE_EDEVICE, "uploading %s", name);
        if (rc == 0)
            progress_step(pg, w->row_bytes);
    }
    free(row);
    free(q);
    return rc;
}

/* Check and describe one matrix: (n_out = ne1, k = ne0) as expected, a type the device takes. */
static int describe(fl_sched *s, dmat *d, const fl_weight *w, const char *name, uint64_t k,
                    uint64_t n)
{
    snprintf(d->name, sizeof d->name, "%s", name);
    if (w->ne0 != k || w->ne1 != n)
        return flare_error(FLARE_EINVAL, "%s: shape (%" PRIu64 ", %" PRIu64 "), expected (%" PRIu64
                           ", %" PRIu64 ")", name, w->ne0, w->ne1, k, n);
    d->type = dev_type(w->type);
    if (d->type == UINT32_MAX)
        return flare_error(FLARE_EUNSUP,
                           "%s: type %s is not supported by the qmatmul kernel (Q4_0, Q5_0, "
                           "Q8_0; F32/F16 are converted to Q8_0)",
                           name, fl_type_name(w->type));
    if (d->type != w->type)
        s->st.n_converted++;
    d->k = (uint32_t)k;
    d->n = (uint32_t)n;
    d->bytes = fl_row_bytes(d->type, k) * n;
    return 0;
}

static int upload_norm(fl_sched *s, const fl_weight *w, uint32_t idx, const char *name, float *tmp)
{
    uint32_t d = s->m->hp.n_embd;
    if (w->ne0 != d || w->ne1 != 1)
        return flare_error(FLARE_EINVAL, "%s: shape (%" PRIu64 ", %" PRIu64 "), expected (%u)",
                           name, w->ne0, w->ne1, d);
    if (fl_dequantize_row(w->type, w->data, tmp, d))
        return flare_error_prefix(FLARE_EUNSUP, "%s", name);
    if (fl_dev_write(s->dev, s->norms, (uint64_t)idx * d * 4u, tmp, (uint64_t)d * 4u))
        return flare_error_prefix(FLARE_EDEVICE, "uploading %s", name);
    return 0;
}

int fl_sched_upload(fl_sched *s)
{
    const fl_llama *m = s->m;
    const fl_llama_hparams *hp = &m->hp;
    uint64_t d = hp->n_embd, nq = (uint64_t)hp->n_head * hp->head_dim,
             nk = (uint64_t)hp->n_head_kv * hp->head_dim, ff = hp->n_ff;
    char nm[7][48];
    int rc = 0;
    progress pg = {0, 0, fl_sched_now_s(), 0,
                   s->o.progress > 0 || (s->o.progress < 0 && isatty(STDERR_FILENO)), -1};
    // describe every matrix first: a bad type or shape fails before any upload
    for (uint32_t l = 0; l < hp->n_layer && rc == 0; l++) {
        const fl_llama_layer *L = &m->layers[l];
        dlayer *D = &s->layers[l];
        static const char *const suffix[7] = {"attn_q", "attn_k", "attn_v", "attn_output",
                                              "ffn_gate", "ffn_up", "ffn_down"};
        for (int i = 0; i < 7; i++)
            snprintf(nm[i], sizeof nm[i], "blk.%u.%s", l, suffix[i]);
        if ((rc = describe(s, &D->q, &L->wq, nm[0], d, nq)) ||
            (rc = describe(s, &D->k, &L->wk, nm[1], d, nk)) ||
            (rc = describe(s, &D->v, &L->wv, nm[2], d, nk)) ||
            (rc = describe(s, &D->o, &L->wo, nm[3], nq, d)) ||
            (rc = describe(s, &D->gate, &L->w_gate, nm[4], d, ff)) ||
            (rc = describe(s, &D->up, &L->w_up, nm[5], d, ff)) ||
            (rc = describe(s, &D->down, &L->w_down, nm[6], ff, d)))
            break;
        if (D->gate.type != D->up.type)
            rc = flare_error(FLARE_EUNSUP,
                             "%s is %s but %s is %s: the SwiGLU qmatmul reads both in one pass "
                             "and takes one weight type",
                             nm[4], fl_type_name(D->gate.type), nm[5], fl_type_name(D->up.type));
        D->qkv_fused = D->q.type == D->k.type && D->k.type == D->v.type;
        pg.total += L->wq.row_bytes * L->wq.ne1 + L->wk.row_bytes * L->wk.ne1 +
                    L->wv.row_bytes * L->wv.ne1 + L->wo.row_bytes * L->wo.ne1 +
                    L->w_gate.row_bytes * L->w_gate.ne1 + L->w_up.row_bytes * L->w_up.ne1 +
                    L->w_down.row_bytes * L->w_down.ne1;
    }
    if (rc == 0)
        rc = describe(s, &s->out, &m->output, "output", d, hp->n_vocab);
    if (rc)
        return rc;
    pg.total += m->output.row_bytes * m->output.ne1;

    // norms: fp32 on the device
    float *tmp = malloc(sizeof(float) * d);
    if (!tmp)
        return flare_error(FLARE_ENOMEM, "scheduler: out of memory");
    if (!(s->norms = fl_sched_new_buf(s, (2 * hp->n_layer + 1) * d * 4u, "norm weights"))) {
        free(tmp);
        return FLARE_ENOMEM;
    }
    for (uint32_t l = 0; l < hp->n_layer && rc == 0; l++) {
        snprintf(nm[0], sizeof nm[0], "blk.%u.attn_norm", l);
        snprintf(nm[1], sizeof nm[1], "blk.%u.ffn_norm", l);
        if ((rc = upload_norm(s, &m->layers[l].attn_norm, 2 * l, nm[0], tmp)) == 0)
            rc = upload_norm(s, &m->layers[l].ffn_norm, 2 * l + 1, nm[1], tmp);
    }
    if (rc == 0)
        rc = upload_norm(s, &m->output_norm, 2 * hp->n_layer, "output_norm", tmp);
    free(tmp);

    // matrices: one buffer each, q|k|v of a layer in one when they share a type
    for (uint32_t l = 0; l < hp->n_layer && rc == 0; l++) {
        const fl_llama_layer *L = &m->layers[l];
        dlayer *D = &s->layers[l];
        dmat *mats[7] = {&D->q, &D->k, &D->v, &D->o, &D->gate, &D->up, &D->down};
        const fl_weight *ws[7] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up,
                                  &L->w_down};
        for (int i = 0; i < 7 && rc == 0; i++) {
            dmat *dm = mats[i];
            if (D->qkv_fused && (i == 1 || i == 2)) {
                dm->buf = D->q.buf;
                dm->off = i == 1 ? D->q.bytes : D->q.bytes + D->k.bytes;
            } else {
                uint64_t bytes = dm->bytes;
                if (D->qkv_fused && i == 0)
                    bytes += D->k.bytes + D->v.bytes;
                if (!(dm->buf = fl_sched_new_buf(s, bytes, dm->name)))
                    return FLARE_ENOMEM;
                dm->off = 0;
                s->st.weight_bytes += bytes;
            }
            rc = upload_mat(s, ws[i], dm->buf, dm->off, dm->type, dm->name, &pg);
        }
    }
    if (rc == 0) {
        if (!(s->out.buf = fl_sched_new_buf(s, s->out.bytes, "output")))
            return FLARE_ENOMEM;
        s->st.weight_bytes += s->out.bytes;
        rc = upload_mat(s, &m->output, s->out.buf, 0, s->out.type, "output", &pg);
    }
    if (pg.shown)
        fprintf(stderr, rc == 0 ? "\rflare: uploading weights: 100%%\n" : "\n");
    return rc;
}

/* ---- lookup -------------------------------------------------------------------------------- */

int fl_sched_weight(const fl_sched *s, const char *name, fl_dev_buf *buf, uint64_t *off,
                    uint64_t *bytes, uint32_t *type)
{
    const dmat *found = NULL;
    if (!strcmp(name, "output"))
        found = &s->out;
    for (uint32_t l = 0; !found && l < s->m->hp.n_layer; l++) {
        const dlayer *D = &s->layers[l];
        const dmat *all[7] = {&D->q, &D->k, &D->v, &D->o, &D->gate, &D->up, &D->down};
        for (int i = 0; i < 7; i++)
            if (!strcmp(all[i]->name, name))
                found = all[i];
    }
    if (!found)
        return flare_error(FLARE_EINVAL, "scheduler: no weight matrix named '%s'", name);
    *buf = *found->buf;
    *off = found->off;
    *bytes = found->bytes;
    *type = found->type;
    return 0;
}
