/* host/scheduler.c: the layer scheduler (host/scheduler.h): uploads a fl_llama to a device once
 * (host/sched_upload.c) and runs its forward pass as a sequence of qmatmul / attention launches. */
#include "host/scheduler.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "flare/error.h"
#include "flare/ggml.h"
#include "hls/hls.h"
#include "host/sched_priv.h"
#include "ref/quants.h"

/* ---- limits of the device build ------------------------------------------------------------- */

#define LIMIT(val, max, what, opt)                                                               \
    if ((uint64_t)(val) > (uint64_t)(max))                                                       \
        return flare_error(FLARE_EUNSUP,                                                         \
                           "%s %" PRIu64 " exceeds the device build's maximum of %" PRIu64       \
                           " (" #opt " in hls/config.h; rebuild with "                           \
                           "make EXTRA_CFLAGS=-D" #opt "=%" PRIu64 ")",                          \
                           what, (uint64_t)(val), (uint64_t)(max), (uint64_t)(val))

int fl_sched_check_model(const fl_llama *m, uint32_t n_ctx)
{
    const fl_llama_hparams *hp = &m->hp;
    uint64_t nq = (uint64_t)hp->n_head * hp->head_dim, nk = (uint64_t)hp->n_head_kv * hp->head_dim;
    if (n_ctx == 0)
        n_ctx = hp->n_ctx_train;
    if (hp->n_layer == 0 || hp->n_head == 0 || hp->n_head_kv == 0 || hp->head_dim == 0 ||
        hp->n_head % hp->n_head_kv != 0 || hp->head_dim % 2 != 0 || hp->n_rot % 2 != 0 ||
        hp->n_rot == 0 || hp->n_rot > hp->head_dim)
        return flare_error(FLARE_EUNSUP,
                           "model shape not runnable by the attention kernel: %u heads, %u kv "
                           "heads, head_dim %u, n_rot %u (expected heads a multiple of kv heads, "
                           "even head_dim, even n_rot <= head_dim)",
                           hp->n_head, hp->n_head_kv, hp->head_dim, hp->n_rot);
    if (hp->n_embd % 32 || hp->n_ff % 32 || nq % 32)
        return flare_error(FLARE_EUNSUP,
                           "model widths n_embd %u, n_ff %u, n_head*head_dim %" PRIu64
                           " must be multiples of 32 (the qmatmul block)",
                           hp->n_embd, hp->n_ff, nq);
    LIMIT(n_ctx, FL_MAX_CTX, "context (positions)", FL_MAX_CTX);
    LIMIT(hp->n_layer, FL_MAX_LAYERS, "layer count", FL_MAX_LAYERS);
    LIMIT(hp->n_head_kv, FL_MAX_KV_HEADS, "kv head count", FL_MAX_KV_HEADS);
    LIMIT(hp->n_head, FL_MAX_HEADS, "head count", FL_MAX_HEADS);
    LIMIT(hp->head_dim, FL_MAX_HEAD_DIM, "head dim", FL_MAX_HEAD_DIM);
    uint64_t kmax = hp->n_embd > hp->n_ff ? hp->n_embd : hp->n_ff;
    kmax = kmax > nq ? kmax : nq;
    if (kmax > FL_MAX_K)
        return flare_error(FLARE_EUNSUP,
                           "qmatmul K %" PRIu64 " (the largest of n_embd %u, n_ff %u, "
                           "n_head*head_dim %" PRIu64 ") exceeds the device build's maximum of %u "
                           "(FL_MAX_K in hls/config.h; rebuild with make "
                           "EXTRA_CFLAGS='-DFL_MAX_K=%" PRIu64 " -DFL_MAX_K_BLOCKS=%" PRIu64 "')",
                           kmax, hp->n_embd, hp->n_ff, nq, FL_MAX_K, kmax, kmax / 32);
    LIMIT(hp->n_vocab, FL_MAX_N, "n_vocab (qmatmul N of output)", FL_MAX_N);
    LIMIT(hp->n_ff, FL_MAX_N, "n_ff (qmatmul N of ffn_gate/up)", FL_MAX_N);
    LIMIT(nq + 2 * nk, FL_MAX_N, "q+k+v rows (qmatmul N)", FL_MAX_N);
    return 0;
}

/* ---- new / free ----------------------------------------------------------------------------- */

void fl_sched_default_opts(fl_sched_opts *o)
{
    memset(o, 0, sizeof *o);
    o->progress = -1;
    o->timeout_ms = 60000;
}

int fl_sched_new(fl_sched **out, const fl_llama *m, fl_dev *dev, const fl_sched_opts *o)
{
    *out = NULL;
    fl_sched_opts def;
    if (!o) {
        fl_sched_default_opts(&def);
        o = &def;
    }
    int rc = fl_sched_check_model(m, o->n_ctx);
    if (rc)
        return rc;
    if (o->n_batch > FL_MAX_T)
        return flare_error(FLARE_EUNSUP,
                           "prefill batch %u exceeds the device build's maximum of %u tokens per "
                           "call (FL_MAX_T in hls/config.h; rebuild with make "
                           "EXTRA_CFLAGS=-DFL_MAX_T=%u)",
                           o->n_batch, FL_MAX_T, o->n_batch);
    if (o->att_flags & ~FL_ATT_FLAGS_ALL)
        return flare_error(FLARE_EINVAL, "scheduler: unknown attention flags 0x%x", o->att_flags);
    if (!fl_dev_supports(dev, FL_KERNEL_QMATMUL))
        return flare_error(FLARE_EUNSUP, "device %s has no qmatmul kernel", dev->uri);
    const fl_llama_hparams *hp = &m->hp;
    fl_sched *s = calloc(1, sizeof *s);
    if (!s)
        return flare_error(FLARE_ENOMEM, "scheduler: out of memory");
    s->m = m;
    s->dev = dev;
    s->o = *o;
    if (!s->o.timeout_ms)
        s->o.timeout_ms = 60000;
    s->n_ctx = o->n_ctx ? o->n_ctx : hp->n_ctx_train;
    s->n_batch = o->n_batch ? o->n_batch : FL_MAX_T;
    s->cap_bufs = 8u * hp->n_layer + 16u;
    s->bufs = calloc(s->cap_bufs, sizeof *s->bufs);
    s->layers = calloc(hp->n_layer, sizeof *s->layers);
    uint64_t d = hp->n_embd, T = s->n_batch, nq = (uint64_t)hp->n_head * hp->head_dim,
             nk = (uint64_t)hp->n_head_kv * hp->head_dim;
    s->xh = malloc(sizeof(float) * T * d);
    s->ropeh = malloc(sizeof(float) * T * hp->n_rot);
    s->logits = calloc(hp->n_vocab, sizeof(float));
    if (!s->bufs || !s->layers || !s->xh || !s->ropeh || !s->logits) {
        fl_sched_free(s);
        return flare_error(FLARE_ENOMEM, "scheduler: out of memory");
    }
    if ((s->att_host = !fl_dev_supports(dev, FL_KERNEL_ATTENTION))) {
        s->qkvh = malloc(sizeof(float) * T * (nq + 2 * nk));
        s->atth = malloc(sizeof(float) * T * nq);
        if (!s->qkvh || !s->atth || (rc = fl_hls_state_open(&s->hst))) {
            fl_sched_free(s);
            return rc ? rc : flare_error(FLARE_ENOMEM, "scheduler: out of memory");
        }
    }
    double t0 = fl_sched_now_s();
    rc = fl_sched_upload(s);
    s->st.upload_s = fl_sched_now_s() - t0;
    if (rc == 0 && (!(s->x = fl_sched_new_buf(s, T * d * 4u, "x")) ||
                    !(s->x2 = fl_sched_new_buf(s, T * d * 4u, "x2")) ||
                    !(s->qkv = fl_sched_new_buf(s, T * (nq + 2 * nk) * 4u, "qkv")) ||
                    !(s->att = fl_sched_new_buf(s, T * nq * 4u, "att")) ||
                    !(s->h = fl_sched_new_buf(s, T * hp->n_ff * 4u, "h")) ||
                    !(s->rope = fl_sched_new_buf(s, T * hp->n_rot * 4u, "rope")) ||
                    !(s->logits_d = fl_sched_new_buf(s, (uint64_t)hp->n_vocab * 4u, "logits"))))
        rc = FLARE_ENOMEM;
    if (rc) {
        fl_sched_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

static int drain(fl_sched *s);

void fl_sched_free(fl_sched *s)
{
    if (!s)
        return;
    drain(s); /* nothing may still use the buffers */
    for (uint32_t i = 0; i < s->n_bufs; i++)
        fl_dev_free(s->dev, &s->bufs[i]);
    free(s->bufs);
    free(s->layers);
    free(s->xh);
    free(s->ropeh);
    free(s->logits);
    free(s->qkvh);
    free(s->atth);
    fl_hls_state_close(s->hst);
    free(s);
}

/* ---- launches ------------------------------------------------------------------------------- */

/* Complete the oldest queued launch. */
static int wait_one(fl_sched *s)
{
    uint32_t kst = 0;
    const char *what = s->q[0].what;
    uint32_t layer = s->q[0].layer;
    int rc = fl_dev_wait(s->dev, s->o.timeout_ms, &kst);
    if (rc == FLARE_ETIMEDOUT)
        return flare_error_prefix(rc, "layer %u %s", layer, what);
    s->n_q--;
    memmove(s->q, s->q + 1, s->n_q * sizeof s->q[0]);
    return rc ? flare_error_prefix(rc, "layer %u %s", layer, what) : 0;
}

/* Complete every queued launch (before the host touches device memory); the first failure is
   returned, the rest are still waited for so that the device is left idle. */
static int drain(fl_sched *s)
{
    int first = 0;
    char msg[512];
    while (s->n_q) {
        int rc = wait_one(s);
        if (rc && !first) {
            first = rc;
            snprintf(msg, sizeof msg, "%s", flare_last_error());
        }
        if (rc == FLARE_ETIMEDOUT)
            break;
    }
    return first ? flare_error(first, "%s", msg) : 0;
}

/* Queue a launch behind the ones in flight (each reads what its predecessors wrote, in order, so
   a layer's kernels go back to back and the device overlaps them); wait for the oldest when the
   device's queue is full. */
static int run(fl_sched *s, const fl_kernel_call *c, const char *what, uint32_t layer)
{
    int rc = 0;
    if (s->n_q >= fl_dev_queue_depth(s->dev) && (rc = wait_one(s))) {
        drain(s);
        return rc;
    }
    rc = fl_dev_launch(s->dev, c);
    s->st.launches[c->kernel]++;
    if (rc) {
        rc = flare_error_prefix(rc, "layer %u %s", layer, what);
        char msg[512];
        snprintf(msg, sizeof msg, "%s", flare_last_error());
        drain(s);
        return flare_error(rc, "%s", msg);
    }
    s->q[s->n_q].what = what;
    s->q[s->n_q].layer = layer;
    s->n_q++;
    return 0;
}

/* y (t, n) = W[0 .. n) x (t, k), with the fused steps of flags (n may span q|k|v rows) */
static int mm(fl_sched *s, const dmat *w, uint32_t n, const dmat *w_up,
              const fl_dev_buf *x, uint64_t x_off, uint64_t norm_addr, const fl_dev_buf *r,
              const fl_dev_buf *y, uint64_t y_off, uint32_t t, uint32_t flags, uint32_t layer)
{
    fl_kernel_call c = {.kernel = FL_KERNEL_QMATMUL};
    fl_qmatmul_args *a = &c.u.qmm;
    a->w = w->buf->addr + w->off;
    a->w_up = w_up ? w_up->buf->addr + w_up->off : 0;
    a->x = x->addr + x_off;
    a->norm_w = norm_addr;
    a->r = r ? r->addr : 0;
    a->y = y->addr + y_off;
    a->wtype = w->type;
    a->n = n;
    a->k = w->k;
    a->t = t;
    a->flags = flags;
    a->eps = s->m->hp.rms_eps;
    return run(s, &c, w->name, layer);
}

/* Attention on the host for a device without the kernel: q, k, v (t rows each, back to back
 * in qkv) come back, fl_attention runs on the host state with the RoPE table already on the
 * host, and the output goes to att, as the device kernel would have left it. */
static int host_attention(fl_sched *s, const fl_attention_args *a, uint32_t layer)
{
    double t0 = fl_sched_now_s();
    uint64_t nq = (uint64_t)a->n_head * a->head_dim, nk = (uint64_t)a->n_kv * a->head_dim;
    uint64_t in_bytes = (uint64_t)a->t * (nq + 2 * nk) * 4u, out_bytes = (uint64_t)a->t * nq * 4u;
    int rc = drain(s);
    if (rc)
        return rc;
    if (fl_dev_read(s->dev, s->qkv, 0, s->qkvh, in_bytes))
        return flare_error_prefix(FLARE_EDEVICE, "layer %u attention on the host: reading q, k, "
                                  "v", layer);
    const float *q = s->qkvh, *k = q + (uint64_t)a->t * nq, *v = k + (uint64_t)a->t * nk;
    uint32_t kst = FL_KST_OK;
    fl_attention(s->hst, q, k, v, s->ropeh, s->atth, a->layer, a->pos, a->t, a->n_head, a->n_kv,
                 a->head_dim, a->n_rot, a->flags, &kst);
    s->st.host_launches[FL_KERNEL_ATTENTION]++;
    s->st.host_read_bytes += in_bytes;
    if (kst != FL_KST_OK)
        return flare_error(FLARE_EDEVICE, "layer %u attention on the host: status %u (%s)",
                           layer, kst, fl_kstatus_name(kst));
    if (fl_dev_write(s->dev, s->att, 0, s->atth, out_bytes))
        return flare_error_prefix(FLARE_EDEVICE, "layer %u attention on the host: writing the "
                                  "output", layer);
    s->st.host_write_bytes += out_bytes;
    s->st.host_s += fl_sched_now_s() - t0;
    return 0;
}

/* Read the residual stream (t, n_embd) in b back and hand it to the hooks. */
static int hook_out(fl_sched *s, const fl_dev_buf *b, uint32_t layer, uint32_t op, uint32_t t)
{
    uint64_t bytes = (uint64_t)t * s->m->hp.n_embd * 4u;
    int rc = drain(s);
    if (rc)
        return rc;
    if (fl_dev_read(s->dev, b, 0, s->xh, bytes))
        return flare_error_prefix(FLARE_EDEVICE, "layer %u: reading the residual stream", layer);
    s->st.read_bytes += bytes;
    s->st.hook_read_bytes += bytes;
    if (s->op_hook)
        s->op_hook(s->op_user, layer, op, s->xh, t);
    if (op == FL_SCHED_OP_FFN && s->hook)
        s->hook(s->hook_user, layer, s->xh, t);
    return 0;
}

/* Let the input hook replace the residual stream (t, n_embd) in x before `layer`. */
static int hook_in(fl_sched *s, uint32_t layer, uint32_t t)
{
    uint64_t bytes = (uint64_t)t * s->m->hp.n_embd * 4u;
    if (!s->in_hook)
        return 0;
    int rc = drain(s); /* the hook may replace x: the kernels before must be done with it */
    if (rc)
        return rc;
    if (!s->in_hook(s->in_user, layer, s->xh, t))
        return 0;
    if (fl_dev_write(s->dev, s->x, 0, s->xh, bytes))
        return flare_error_prefix(FLARE_EDEVICE, "layer %u: writing the forced input", layer);
    s->st.write_bytes += bytes;
    s->st.hook_write_bytes += bytes;
    return 0;
}

/* One pass over t <= n_batch tokens at position n_past. */
static int forward(fl_sched *s, const int32_t *tok, uint32_t t)
{
    const fl_llama *m = s->m;
    const fl_llama_hparams *hp = &m->hp;
    uint32_t d = hp->n_embd, hd = hp->head_dim, nq = hp->n_head * hd, nk = hp->n_head_kv * hd;
    uint64_t norms = s->norms->addr, pos = s->n_past;
    int rc;

    // embedding rows (host lookup) and the RoPE table go to the device
    for (uint32_t i = 0; i < t; i++)
        if ((rc = fl_dequantize_row(m->tok_embd.type,
                                    (const uint8_t *)m->tok_embd.data +
                                        (uint64_t)tok[i] * m->tok_embd.row_bytes,
                                    s->xh + (size_t)i * d, d)))
            return flare_error_prefix(rc, "token_embd");
    fl_rope_table(s->ropeh, (uint32_t)pos, t, hp->n_rot, hp->rope_base);
    if (fl_dev_write(s->dev, s->x, 0, s->xh, (uint64_t)t * d * 4u) ||
        fl_dev_write(s->dev, s->rope, 0, s->ropeh, (uint64_t)t * hp->n_rot * 4u))
        return flare_error_prefix(FLARE_EDEVICE, "writing the embeddings");
    s->st.write_bytes += (uint64_t)t * (d + hp->n_rot) * 4u;

    for (uint32_t l = 0; l < hp->n_layer; l++) {
        const dlayer *D = &s->layers[l];
        uint64_t an = norms + (uint64_t)(2 * l) * d * 4u, fn = an + (uint64_t)d * 4u;
        uint64_t k_off = (uint64_t)t * nq * 4u, v_off = (uint64_t)t * (nq + nk) * 4u;
        if ((rc = hook_in(s, l, t)))
            return rc;
        // q, k, v = W (rmsnorm(x) * attn_norm): one launch over q|k|v rows when t = 1 (the
        // output rows (q k v) then have exactly the layout of three (1, .) arrays)
        if (D->qkv_fused && t == 1) {
            if ((rc = mm(s, &D->q, nq + 2 * nk, NULL, s->x, 0, an, NULL, s->qkv, 0, 1,
                         FL_QMM_NORM, l)))
                return rc;
        } else if ((rc = mm(s, &D->q, nq, NULL, s->x, 0, an, NULL, s->qkv, 0, t, FL_QMM_NORM,
                            l)) ||
                   (rc = mm(s, &D->k, nk, NULL, s->x, 0, an, NULL, s->qkv, k_off, t,
                            FL_QMM_NORM, l)) ||
                   (rc = mm(s, &D->v, nk, NULL, s->x, 0, an, NULL, s->qkv, v_off, t,
                            FL_QMM_NORM, l))) {
            return rc;
        }
        // attention: RoPE, append k v to the KV cache, softmax(q k^T / sqrt(hd)) v
        fl_kernel_call c = {.kernel = FL_KERNEL_ATTENTION};
        fl_attention_args *a = &c.u.att;
        a->q = s->qkv->addr;
        a->k = s->qkv->addr + k_off;
        a->v = s->qkv->addr + v_off;
        a->rope = s->rope->addr;
        a->out = s->att->addr;
        a->layer = l;
        a->pos = (uint32_t)pos;
        a->t = t;
        a->n_head = hp->n_head;
        a->n_kv = hp->n_head_kv;
        a->head_dim = hd;
        a->n_rot = hp->n_rot;
        a->flags = s->o.att_flags;
        if ((rc = s->att_host ? host_attention(s, a, l) : run(s, &c, "attention", l)))
            return rc;
        // x2 = Wo att + x
        if ((rc = mm(s, &D->o, d, NULL, s->att, 0, 0, s->x, s->x2, 0, t, FL_QMM_RESID, l)))
            return rc;
        if (s->op_hook && (rc = hook_out(s, s->x2, l, FL_SCHED_OP_ATTN, t)))
            return rc;
        // h = silu(Wgate n) * (Wup n), n = rmsnorm(x2) * ffn_norm
        if ((rc = mm(s, &D->gate, hp->n_ff, &D->up, s->x2, 0, fn, NULL, s->h, 0, t,
                     FL_QMM_NORM | FL_QMM_SWIGLU, l)))
            return rc;
        // x = Wdown h + x2
        if ((rc = mm(s, &D->down, d, NULL, s->h, 0, 0, s->x2, s->x, 0, t, FL_QMM_RESID, l)))
            return rc;
        if ((s->hook || s->op_hook) && (rc = hook_out(s, s->x, l, FL_SCHED_OP_FFN, t)))
            return rc;
    }
    // logits of the last token = Wout (rmsnorm(x[t-1]) * output_norm)
    if ((rc = hook_in(s, hp->n_layer, t)))
        return rc;
    if ((rc = mm(s, &s->out, hp->n_vocab, NULL, s->x, (uint64_t)(t - 1) * d * 4u,
                 norms + (uint64_t)(2 * hp->n_layer) * d * 4u, NULL, s->logits_d, 0, 1,
                 FL_QMM_NORM, hp->n_layer)))
        return rc;
    if ((rc = drain(s)))
        return rc;
    if (fl_dev_read(s->dev, s->logits_d, 0, s->logits, (uint64_t)hp->n_vocab * 4u))
        return flare_error_prefix(FLARE_EDEVICE, "reading the logits");
    s->st.read_bytes += (uint64_t)hp->n_vocab * 4u;
    s->n_past += t;
    s->st.n_passes++;
    s->st.n_tokens += t;
    return 0;
}

/* ---- API ------------------------------------------------------------------------------------ */

int fl_sched_eval(fl_sched *s, const int32_t *tokens, uint32_t n)
{
    if (n == 0)
        return flare_error(FLARE_EINVAL, "scheduler: eval of 0 tokens");
    if ((uint64_t)s->n_past + n > s->n_ctx)
        return flare_error(FLARE_ERANGE,
                           "context full: %u positions cached + %u new exceed n_ctx %u", s->n_past,
                           n, s->n_ctx);
    for (uint32_t i = 0; i < n; i++)
        if (tokens[i] < 0 || (uint32_t)tokens[i] >= s->m->hp.n_vocab)
            return flare_error(FLARE_EINVAL, "token %d at %u is outside the vocabulary (0..%u)",
                               tokens[i], i, s->m->hp.n_vocab - 1);
    double t0 = fl_sched_now_s();
    int rc = 0;
    for (uint32_t i = 0; i < n && rc == 0; i += s->n_batch)
        rc = forward(s, tokens + i, n - i < s->n_batch ? n - i : s->n_batch);
    s->st.eval_s += fl_sched_now_s() - t0;
    return rc;
}

const float *fl_sched_logits(const fl_sched *s)
{
    return s->logits;
}
uint32_t fl_sched_n_past(const fl_sched *s)
{
    return s->n_past;
}
uint32_t fl_sched_n_ctx(const fl_sched *s)
{
    return s->n_ctx;
}
uint32_t fl_sched_n_batch(const fl_sched *s)
{
    return s->n_batch;
}
void fl_sched_reset(fl_sched *s)
{
    s->n_past = 0; /* attention at pos 0 restarts each layer's sequence in the KV cache */
}
void fl_sched_set_hook(fl_sched *s, fl_engine_layer_hook fn, void *user)
{
    s->hook = fn;
    s->hook_user = user;
}
void fl_sched_set_op_hook(fl_sched *s, fl_sched_op_hook fn, void *user)
{
    s->op_hook = fn;
    s->op_user = user;
}
void fl_sched_set_input_hook(fl_sched *s, fl_sched_input_hook fn, void *user)
{
    s->in_hook = fn;
    s->in_user = user;
}
fl_dev *fl_sched_device(const fl_sched *s)
{
    return s->dev;
}
int fl_sched_on_device(const fl_sched *s, uint32_t kernel)
{
    return kernel == FL_KERNEL_ATTENTION ? !s->att_host : kernel < FL_KERNEL_COUNT;
}

void fl_sched_get_stats(const fl_sched *s, fl_sched_stats *out)
{
    *out = s->st;
    fl_dev_get_stats(s->dev, &out->dev);
}

void fl_sched_print_stats(const fl_sched *s, FILE *f)
{
    fl_sched_stats st;
    fl_sched_get_stats(s, &st);
    fprintf(f,
            "device %s: %.1f MiB of weights uploaded in %.2f s (%u F32/F16 matrices converted to "
            "Q8_0); %" PRIu64 " tokens in %" PRIu64 " passes, %.2f s, %" PRIu64
            " qmatmul + %" PRIu64 " attention launches\n",
            s->dev->uri, (double)st.weight_bytes / (1 << 20), st.upload_s, st.n_converted,
            st.n_tokens, st.n_passes, st.eval_s, st.launches[FL_KERNEL_QMATMUL],
            st.launches[FL_KERNEL_ATTENTION]);
    fprintf(f,
            "transfers per run: %" PRIu64 " bytes to the device (embedding rows, RoPE%s), %" PRIu64
            " bytes back (logits%s)\n",
            st.write_bytes, st.hook_write_bytes ? ", hooks" : "", st.read_bytes,
            st.hook_read_bytes ? ", hooks" : " only");
    if (s->att_host)
        fprintf(f, "attention: on the host (%s has no attention kernel), %" PRIu64 " calls, "
                   "%.2f MB moved (%.2f s)\n",
                s->dev->ops->scheme, st.host_launches[FL_KERNEL_ATTENTION],
                (double)(st.host_read_bytes + st.host_write_bytes) / 1e6, st.host_s);
    if (st.dev.cycles) {
        const fl_dev_kstats *k = &st.dev.k[FL_KERNEL_QMATMUL];
        double bpc = st.dev.mem.bytes_per_cycle;
        fprintf(f, "qmatmul on %s: %" PRIu64 " runs, %" PRIu64 " cycles, %.2f MB read, %.2f MB "
                   "written",
                s->dev->ops->scheme, k->runs, k->cycles, (double)k->read_bytes / 1e6,
                (double)k->write_bytes / 1e6);
        if (bpc > 0 && k->cycles && st.dev.mem.n_ports)
            fprintf(f, "; weight port %s %.1f%% of its %.0f B/cycle (%s)",
                    st.dev.mem.port_name[0],
                    100.0 * (double)k->port_read_bytes[0] / ((double)k->cycles * bpc), bpc,
                    st.dev.mem.mem);
        if (k->sim_wall_s > 0)
            fprintf(f, "; %.0f simulated cycles per second", (double)k->cycles / k->sim_wall_s);
        fprintf(f, "\n");
    }
    if (st.hook_read_bytes || st.hook_write_bytes)
        fprintf(f, "  of which %" PRIu64 " bytes back and %" PRIu64 " bytes in are the hooks' "
                   "copies of the residual stream (the layer hooks cost these transfers)\n",
                st.hook_read_bytes, st.hook_write_bytes);
}
