/* host/scheduler.c: the layer scheduler (host/scheduler.h): uploads a fl_llama to a device once
 * and runs its forward pass as a sequence of qmatmul / attention launches. */
#include "host/scheduler.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "flare/error.h"
#include "flare/ggml.h"
#include "hls/hls.h"
#include "ref/quants.h"

/* ---- data ----------------------------------------------------------------------------------- */

/* A matrix on the device: n rows of k elements in `type` blocks at buf + off. */
typedef struct {
    fl_dev_buf *buf;
    uint64_t off, bytes;
    uint32_t type, n, k;
    char name[48];
} dmat;

typedef struct {
    dmat q, k, v, o, gate, up, down; /* q, k, v share one buffer (rows q|k|v) when fusable */
    int qkv_fused;
} dlayer;

struct fl_sched {
    const fl_llama *m;
    fl_dev *dev;
    fl_sched_opts o;
    uint32_t n_ctx, n_batch, n_past;
    dlayer *layers;  /* (n_layer) */
    dmat out;        /* output projection */
    fl_dev_buf *bufs; /* (n_bufs) every buffer the scheduler allocated */
    uint32_t n_bufs, cap_bufs;
    fl_dev_buf *norms; /* (2 * n_layer + 1, n_embd) fp32: attn_norm, ffn_norm per layer, output */
    /* activations (device) */
    fl_dev_buf *x, *x2; /* (n_batch, n_embd) residual stream: layer input/output, after attention */
    fl_dev_buf *qkv;    /* (n_batch, nq + 2 nk): q (T, nq), k (T, nk), v (T, nk) back to back */
    fl_dev_buf *att;    /* (n_batch, nq) attention output */
    fl_dev_buf *h;      /* (n_batch, n_ff) SwiGLU output */
    fl_dev_buf *rope;   /* (n_batch, n_rot) {cos, sin} pairs */
    fl_dev_buf *logits_d; /* (n_vocab) */
    /* host */
    float *xh;     /* (n_batch, n_embd) embedding rows, hook read-backs */
    float *ropeh;  /* (n_batch, n_rot) */
    float *logits; /* (n_vocab) */
    fl_engine_layer_hook hook;
    void *hook_user;
    fl_sched_op_hook op_hook;
    void *op_user;
    fl_sched_input_hook in_hook;
    void *in_user;
    /* attention on the host when the device lacks it */
    int att_host;
    fl_hls_state *hst; /* the host kernel's state (KV cache) */
    float *qkvh;       /* (n_batch, nq + 2 nk) q, k, v read back */
    float *atth;       /* (n_batch, nq) its output */
    /* launches queued on the device, oldest first: what and which layer, for messages */
    struct {
        const char *what;
        uint32_t layer;
    } q[FL_DEV_QUEUE];
    uint32_t n_q;
    fl_sched_stats st;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

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

/* ---- buffers and upload --------------------------------------------------------------------- */

static fl_dev_buf *new_buf(fl_sched *s, uint64_t bytes, const char *what)
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
    if (!p->shown && now_s() - p->t0 < FL_SCHED_PROGRESS_AFTER_S)
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

static int upload(fl_sched *s)
{
    const fl_llama *m = s->m;
    const fl_llama_hparams *hp = &m->hp;
    uint64_t d = hp->n_embd, nq = (uint64_t)hp->n_head * hp->head_dim,
             nk = (uint64_t)hp->n_head_kv * hp->head_dim, ff = hp->n_ff;
    char nm[7][48];
    int rc = 0;
    progress pg = {0, 0, now_s(), 0,
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
    if (!(s->norms = new_buf(s, (2 * hp->n_layer + 1) * d * 4u, "norm weights"))) {
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
                if (!(dm->buf = new_buf(s, bytes, dm->name)))
                    return FLARE_ENOMEM;
                dm->off = 0;
                s->st.weight_bytes += bytes;
            }
            rc = upload_mat(s, ws[i], dm->buf, dm->off, dm->type, dm->name, &pg);
        }
    }
    if (rc == 0) {
        if (!(s->out.buf = new_buf(s, s->out.bytes, "output")))
            return FLARE_ENOMEM;
        s->st.weight_bytes += s->out.bytes;
        rc = upload_mat(s, &m->output, s->out.buf, 0, s->out.type, "output", &pg);
    }
    if (pg.shown)
        fprintf(stderr, rc == 0 ? "\rflare: uploading weights: 100%%\n" : "\n");
    return rc;
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
    double t0 = now_s();
    rc = upload(s);
    s->st.upload_s = now_s() - t0;
    if (rc == 0 && (!(s->x = new_buf(s, T * d * 4u, "x")) || !(s->x2 = new_buf(s, T * d * 4u, "x2")) ||
                    !(s->qkv = new_buf(s, T * (nq + 2 * nk) * 4u, "qkv")) ||
                    !(s->att = new_buf(s, T * nq * 4u, "att")) ||
                    !(s->h = new_buf(s, T * hp->n_ff * 4u, "h")) ||
                    !(s->rope = new_buf(s, T * hp->n_rot * 4u, "rope")) ||
                    !(s->logits_d = new_buf(s, (uint64_t)hp->n_vocab * 4u, "logits"))))
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
    double t0 = now_s();
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
    s->st.host_s += now_s() - t0;
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
    double t0 = now_s();
    int rc = 0;
    for (uint32_t i = 0; i < n && rc == 0; i += s->n_batch)
        rc = forward(s, tokens + i, n - i < s->n_batch ? n - i : s->n_batch);
    s->st.eval_s += now_s() - t0;
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
