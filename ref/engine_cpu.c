/* ref/engine_cpu.c: the CPU reference engine (ref/engine_cpu.h).
 *
 * One straight forward pass per chunk of T tokens:
 *   x = embed(tokens)                                   (T, n_embd)
 *   per layer: xn = rmsnorm(x) * attn_norm
 *              q, k, v = Wq xn, Wk xn, Wv xn; rope(q, k); append k, v to the cache
 *              att = softmax(q k^T / sqrt(hd)) v         causal, grouped-query heads
 *              x += Wo att
 *              xn = rmsnorm(x) * ffn_norm
 *              x += Wdown (silu(Wgate xn) * Wup xn)
 *   logits = Wout (rmsnorm(x[T-1]) * output_norm)
 * Matrices run on the thread pool by rows (several matrices sharing one input in one launch);
 * attention runs on the pool by (token, head). */
#include "ref/engine_cpu.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "flare/error.h"
#include "flare/ggml.h"
#include "ref/engine_att.h"
#include "ref/engine_mm.h"
#include "ref/quants.h"
#include "ref/threadpool.h"

#define DEFAULT_BATCH 128
#define ROW_GRAIN 16 /* rows per unit of work split across threads */

struct fl_engine {
    const fl_llama *m;
    fl_llama_hparams hp;
    fl_engine_opts o;
    fl_threadpool *pool;
    fl_mm_kernels kern;
    fl_att_head_fn att_head;
    fl_swiglu_fn swiglu;
    fl_rmsnorm_fn rmsnorm;
    fl_rope_fn rope;
    fl_f32_to_f16_fn to_f16;
    uint32_t n_past;
    uint32_t q_dim, kv_dim;
    float *norms;      /* (2 * n_layer + 1, n_embd): attn_norm, ffn_norm per layer, output_norm */
    void *k_cache;     /* (n_layer, n_ctx, kv_dim) of kv_type */
    void *v_cache;     /* (n_layer, n_ctx, kv_dim) of kv_type */
    size_t kv_elem;    /* bytes per cache element */
    float *x;          /* (B, n_embd) residual stream */
    float *xn;         /* (B, n_embd) normed input / matrix output */
    float *q;          /* (B, q_dim) */
    float *k;          /* (B, kv_dim) */
    float *v;          /* (B, kv_dim) */
    float *att;        /* (B, q_dim) attention output */
    float *hb;         /* (B, n_ff) gate, then silu(gate) * up */
    float *hb2;        /* (B, n_ff) up */
    float *scores;     /* (n_threads, n_ctx) attention scratch */
    float *rope_cs;    /* (B, n_rot) cos, sin pairs per token */
    block_q8_0 *xq;    /* (B, max(n_embd, q_dim, n_ff) / 32) quantized activations */
    float *logits;     /* (n_vocab) */
    fl_engine_layer_hook hook;
    void *hook_user;
};

/* ---- small kernels -------------------------------------------------------------------------- */

/* cos/sin of pos * base^(-2i/n_rot), the angle advanced by multiplication as ggml does. */
static void rope_angles(float *cs, uint32_t pos, uint32_t n_rot, float base)
{
    float theta_scale = powf(base, -2.0f / (float)n_rot);
    float theta = (float)pos;
    for (uint32_t i = 0; i < n_rot; i += 2) {
        cs[i] = cosf(theta);
        cs[i + 1] = sinf(theta);
        theta *= theta_scale;
    }
}

/* ---- per-token steps on the pool ------------------------------------------------------------ */

/* The elementwise steps between the matrices, split by tokens when a chunk is worth a launch
 * (prefill); decode runs them inline. */
enum tok_step { STEP_NORM, STEP_ROPE_STORE, STEP_SWIGLU, STEP_QUANT, STEP_ADD };

typedef struct {
    fl_engine *e;
    enum tok_step step;
    uint32_t T, layer, pos0;
    const float *src; /* NORM, QUANT: (T, k) input */
    const float *w;   /* NORM: the norm weight */
    float *dst;       /* NORM: (T, n_embd) */
    uint64_t k;       /* QUANT: row length */
    int n_chunks;
} tok_job;

static void kv_store(fl_engine *e, uint32_t layer, uint32_t pos, const float *k, const float *v);

static void tok_task(void *arg, int chunk, int ith)
{
    tok_job *j = arg;
    fl_engine *e = j->e;
    const fl_llama_hparams *hp = &e->hp;
    uint32_t d = hp->n_embd;
    uint32_t t0 = (uint32_t)((uint64_t)j->T * (uint64_t)chunk / (uint64_t)j->n_chunks);
    uint32_t t1 = (uint32_t)((uint64_t)j->T * (uint64_t)(chunk + 1) / (uint64_t)j->n_chunks);
    (void)ith;
    switch (j->step) {
    case STEP_NORM:
        for (uint32_t t = t0; t < t1; t++)
            e->rmsnorm(j->dst + (size_t)t * d, j->src + (size_t)t * d, j->w, d, hp->rms_eps);
        break;
    case STEP_ROPE_STORE: /* rope on q (all heads) and k (kv heads), then append k, v */
        for (uint32_t t = t0; t < t1; t++) {
            const float *cs = e->rope_cs + (size_t)t * hp->n_rot;
            for (uint32_t h = 0; h < hp->n_head; h++)
                e->rope(e->q + (size_t)t * e->q_dim + (size_t)h * hp->head_dim, cs, hp->n_rot);
            for (uint32_t h = 0; h < hp->n_head_kv; h++)
                e->rope(e->k + (size_t)t * e->kv_dim + (size_t)h * hp->head_dim, cs, hp->n_rot);
            kv_store(e, j->layer, j->pos0 + t, e->k + (size_t)t * e->kv_dim,
                     e->v + (size_t)t * e->kv_dim);
        }
        break;
    case STEP_SWIGLU:
        e->swiglu(e->hb + (size_t)t0 * hp->n_ff, e->hb2 + (size_t)t0 * hp->n_ff,
                  (size_t)(t1 - t0) * hp->n_ff);
        break;
    case STEP_QUANT:
        fl_mm_quantize(&e->kern, j->src + (size_t)t0 * j->k, e->xq + (size_t)t0 * (j->k / FL_QK),
                       t1 - t0, j->k);
        break;
    case STEP_ADD: /* the residual: x += xn */
        for (size_t i = (size_t)t0 * d; i < (size_t)t1 * d; i++)
            e->x[i] += e->xn[i];
        break;
    }
}

static void per_token(fl_engine *e, tok_job j)
{
    j.e = e;
    j.n_chunks = j.T >= 8 && e->o.n_threads > 1 ? (int)(j.T < 2 * e->o.n_threads
                                                             ? j.T : 2 * e->o.n_threads)
                                                : 1;
    if (j.n_chunks == 1)
        tok_task(&j, 0, 0);
    else
        fl_threadpool_run(e->pool, tok_task, &j, j.n_chunks);
}

/* ---- matrices on the pool ------------------------------------------------------------------- */

/* Up to three matrices sharing one input (q/k/v, gate/up): their rows are split as one range. */
typedef struct {
    fl_engine *e;
    uint32_t n_mm;
    const fl_weight *w[3];
    float *y[3];          /* (T, w->ne1) */
    const float *x;       /* (T, ne0) */
    const block_q8_0 *xq; /* (T, ne0 / 32) */
    uint32_t T;
    uint64_t u[3];        /* ROW_GRAIN units of each matrix */
    uint64_t units;       /* all of them */
    int n_chunks;
} mm_job;

/* Chunk c of the concatenated row ranges of the job's matrices. */
static void mm_task(void *arg, int chunk, int ith)
{
    mm_job *j = arg;
    (void)ith;
    uint64_t a = j->units * (uint64_t)chunk / (uint64_t)j->n_chunks;
    uint64_t b = j->units * (uint64_t)(chunk + 1) / (uint64_t)j->n_chunks;
    uint64_t base = 0;
    for (uint32_t i = 0; i < j->n_mm && base < b; i++) {
        uint64_t lo = a > base ? a - base : 0, hi = b - base < j->u[i] ? b - base : j->u[i];
        if (lo < hi) {
            uint64_t r0 = lo * ROW_GRAIN, r1 = hi * ROW_GRAIN;
            if (r1 > j->w[i]->ne1)
                r1 = j->w[i]->ne1;
            fl_mm_rows(&j->e->kern, j->w[i], j->x, j->xq, j->T, r0, r1, j->y[i]);
        }
        base += j->u[i];
    }
}

static int is_quant(uint32_t t)
{
    return t == FL_TYPE_Q4_0 || t == FL_TYPE_Q5_0 || t == FL_TYPE_Q8_0;
}

/* Chunks for a launch of `units` pieces of work: one per thread when alone, else several per
 * thread so that a descheduled thread holds back little. */
static int n_chunks_for(const fl_engine *e, uint64_t units)
{
    uint64_t c = e->o.n_threads == 1 ? 1 : (uint64_t)e->o.n_threads * 4;
    return (int)(c < units ? c : units ? units : 1);
}

/* y_i (T, rows_i) = W_i x for the n matrices (same ne0). */
static void matmul(fl_engine *e, uint32_t n, const fl_weight *const *w, float *const *y,
                   const float *x, uint32_t T)
{
    mm_job j = {.e = e, .n_mm = n, .x = x, .xq = e->xq, .T = T};
    int need_q = 0;
    for (uint32_t i = 0; i < n; i++) {
        j.w[i] = w[i];
        j.y[i] = y[i];
        j.u[i] = (w[i]->ne1 + ROW_GRAIN - 1) / ROW_GRAIN;
        j.units += j.u[i];
        need_q |= is_quant(w[i]->type);
    }
    if (need_q)
        per_token(e, (tok_job){.step = STEP_QUANT, .T = T, .src = x, .k = w[0]->ne0});
    j.n_chunks = n_chunks_for(e, j.units);
    fl_threadpool_run(e->pool, mm_task, &j, j.n_chunks);
}

/* ---- attention on the pool ------------------------------------------------------------------ */

typedef struct {
    fl_engine *e;
    uint32_t layer, T, pos0;
    int n_chunks;
} att_job;

/* Chunk c of the (token, head) items; ith picks the scores scratch. */
static void att_task(void *arg, int chunk, int ith)
{
    att_job *j = arg;
    fl_engine *e = j->e;
    const fl_llama_hparams *hp = &e->hp;
    uint32_t hd = hp->head_dim, group = hp->n_head / hp->n_head_kv;
    size_t layer_bytes = (size_t)e->o.n_ctx * e->kv_dim * e->kv_elem;
    const char *kc = (const char *)e->k_cache + (size_t)j->layer * layer_bytes;
    const char *vc = (const char *)e->v_cache + (size_t)j->layer * layer_bytes;
    float *sc = e->scores + (size_t)ith * e->o.n_ctx;
    float scale = 1.0f / sqrtf((float)hd);
    uint64_t n_items = (uint64_t)j->T * hp->n_head;
    uint32_t i0 = (uint32_t)(n_items * (uint64_t)chunk / (uint64_t)j->n_chunks);
    uint32_t i1 = (uint32_t)(n_items * (uint64_t)(chunk + 1) / (uint64_t)j->n_chunks);
    for (uint32_t item = i0; item < i1; item++) {
        uint32_t t = item / hp->n_head, h = item % hp->n_head, g = h / group;
        size_t off = (size_t)g * hd * e->kv_elem; /* kv head g within a cache row */
        e->att_head(e->q + (size_t)t * e->q_dim + (size_t)h * hd, kc + off, vc + off, e->kv_dim,
                    j->pos0 + t + 1 /* causal */, hd, scale, sc,
                    e->att + (size_t)t * e->q_dim + (size_t)h * hd);
    }
}

static void kv_store(fl_engine *e, uint32_t layer, uint32_t pos, const float *k, const float *v)
{
    size_t off = ((size_t)layer * e->o.n_ctx + pos) * e->kv_dim;
    if (e->o.kv_type == FL_TYPE_F16) {
        e->to_f16(k, (uint16_t *)e->k_cache + off, e->kv_dim);
        e->to_f16(v, (uint16_t *)e->v_cache + off, e->kv_dim);
    } else {
        memcpy((float *)e->k_cache + off, k, e->kv_dim * sizeof(float));
        memcpy((float *)e->v_cache + off, v, e->kv_dim * sizeof(float));
    }
}

/* ---- forward -------------------------------------------------------------------------------- */

static void forward(fl_engine *e, const int32_t *tokens, uint32_t T)
{
    const fl_llama *m = e->m;
    const fl_llama_hparams *hp = &e->hp;
    uint32_t d = hp->n_embd, pos0 = e->n_past;

    // embed: dequantize one row of token_embd per token
    for (uint32_t t = 0; t < T; t++)
        fl_dequantize_row(m->tok_embd.type,
                          (const char *)m->tok_embd.data + (size_t)tokens[t] * m->tok_embd.row_bytes,
                          e->x + (size_t)t * d, d);
    for (uint32_t t = 0; t < T; t++)
        rope_angles(e->rope_cs + (size_t)t * hp->n_rot, pos0 + t, hp->n_rot, hp->rope_base);

    for (uint32_t l = 0; l < hp->n_layer; l++) {
        const fl_llama_layer *ly = &m->layers[l];
        const float *attn_norm = e->norms + (size_t)(2 * l) * d;
        const float *ffn_norm = e->norms + (size_t)(2 * l + 1) * d;

        // attention: xn = rmsnorm(x); q, k, v projections
        per_token(e, (tok_job){.step = STEP_NORM, .T = T, .src = e->x, .w = attn_norm,
                               .dst = e->xn});
        const fl_weight *qkv[3] = {&ly->wq, &ly->wk, &ly->wv};
        float *qkv_out[3] = {e->q, e->k, e->v};
        matmul(e, 3, qkv, qkv_out, e->xn, T);

        // rope on q (all heads) and k (kv heads), then append k, v to the cache
        per_token(e, (tok_job){.step = STEP_ROPE_STORE, .T = T, .layer = l, .pos0 = pos0});

        // scores, softmax, weighted sum of v per (token, head)
        att_job aj = {e, l, T, pos0, n_chunks_for(e, (uint64_t)T * hp->n_head)};
        fl_threadpool_run(e->pool, att_task, &aj, aj.n_chunks);

        // x += Wo att
        const fl_weight *wo = &ly->wo;
        float *xo = e->xn;
        matmul(e, 1, &wo, &xo, e->att, T);
        per_token(e, (tok_job){.step = STEP_ADD, .T = T});

        // feed-forward: x += Wdown (silu(Wgate xn) * Wup xn)
        per_token(e, (tok_job){.step = STEP_NORM, .T = T, .src = e->x, .w = ffn_norm,
                               .dst = e->xn});
        const fl_weight *gu[2] = {&ly->w_gate, &ly->w_up};
        float *gu_out[2] = {e->hb, e->hb2};
        matmul(e, 2, gu, gu_out, e->xn, T);
        per_token(e, (tok_job){.step = STEP_SWIGLU, .T = T});
        const fl_weight *wd = &ly->w_down;
        matmul(e, 1, &wd, &xo, e->hb, T);
        per_token(e, (tok_job){.step = STEP_ADD, .T = T});

        if (e->hook)
            e->hook(e->hook_user, l, e->x, T);
    }

    // logits of the last token
    const float *out_norm = e->norms + (size_t)(2 * hp->n_layer) * d;
    e->rmsnorm(e->xn, e->x + (size_t)(T - 1) * d, out_norm, d, hp->rms_eps);
    const fl_weight *wout = &m->output;
    matmul(e, 1, &wout, &e->logits, e->xn, 1);
    e->n_past += T;
}

/* ---- public --------------------------------------------------------------------------------- */

void fl_engine_default_opts(fl_engine_opts *o)
{
    *o = (fl_engine_opts){.n_ctx = 0, .n_threads = 1, .n_batch = DEFAULT_BATCH,
                          .kv_type = FL_TYPE_F16, .scalar = 0};
}

static float *falloc(size_t n, int *fail)
{
    float *p = calloc(n ? n : 1, sizeof(float));
    *fail |= !p;
    return p;
}

int fl_engine_new(fl_engine **out, const fl_llama *m, const fl_engine_opts *opts)
{
    *out = NULL;
    fl_engine_opts o;
    if (opts)
        o = *opts;
    else
        fl_engine_default_opts(&o);
    const fl_llama_hparams *hp = &m->hp;
    if (!o.n_ctx)
        o.n_ctx = hp->n_ctx_train;
    if (!o.n_batch)
        o.n_batch = DEFAULT_BATCH;
    if (o.n_threads < 1 || o.n_threads > 256)
        return flare_error(FLARE_EINVAL, "threads: %u, expected 1..256", o.n_threads);
    if (o.kv_type != FL_TYPE_F16 && o.kv_type != FL_TYPE_F32)
        return flare_error(FLARE_EINVAL, "kv cache type %s: expected f16 or f32",
                           fl_type_name(o.kv_type));
    if (o.n_ctx > (1u << 24))
        return flare_error(FLARE_ERANGE, "context %u: expected at most 16777216", o.n_ctx);
    if (hp->n_embd % FL_QK || hp->n_ff % FL_QK || (hp->n_head * hp->head_dim) % FL_QK)
        return flare_error(FLARE_EUNSUP,
                           "embedding_length %u, feed_forward_length %u: the CPU engine needs "
                           "multiples of %d",
                           hp->n_embd, hp->n_ff, FL_QK);
    if (hp->head_dim > 512)
        return flare_error(FLARE_EUNSUP, "head dimension %u: at most 512 supported", hp->head_dim);
    if (o.n_batch > o.n_ctx)
        o.n_batch = o.n_ctx;

    fl_engine *e = calloc(1, sizeof *e);
    if (!e)
        return flare_error(FLARE_ENOMEM, "out of memory");
    e->m = m;
    e->hp = *hp;
    e->o = o;
    e->q_dim = hp->n_head * hp->head_dim;
    e->kv_dim = hp->n_head_kv * hp->head_dim;
    e->kv_elem = o.kv_type == FL_TYPE_F16 ? 2 : 4;
    fl_mm_select(&e->kern, o.scalar);
    e->att_head = fl_att_select(o.kv_type == FL_TYPE_F16, !o.scalar);
    e->swiglu = fl_swiglu_select(!o.scalar);
    e->rmsnorm = fl_rmsnorm_select(!o.scalar);
    e->rope = fl_rope_select(!o.scalar);
    e->to_f16 = fl_f32_to_f16_select(!o.scalar);

    int fail = 0;
    size_t B = o.n_batch, d = hp->n_embd;
    size_t kmax = d > e->q_dim ? d : e->q_dim;
    kmax = kmax > hp->n_ff ? kmax : hp->n_ff;
    e->norms = falloc((2 * (size_t)hp->n_layer + 1) * d, &fail);
    e->x = falloc(B * d, &fail);
    e->xn = falloc(B * d, &fail);
    e->q = falloc(B * e->q_dim, &fail);
    e->k = falloc(B * e->kv_dim, &fail);
    e->v = falloc(B * e->kv_dim, &fail);
    e->att = falloc(B * e->q_dim, &fail);
    e->hb = falloc(B * hp->n_ff, &fail);
    e->hb2 = falloc(B * hp->n_ff, &fail);
    e->scores = falloc((size_t)o.n_threads * o.n_ctx, &fail);
    e->rope_cs = falloc(B * (hp->n_rot ? hp->n_rot : 1), &fail);
    e->logits = falloc(hp->n_vocab, &fail);
    e->xq = calloc(B * (kmax / FL_QK + 1), sizeof(block_q8_0));
    size_t kv_elems = (size_t)hp->n_layer * o.n_ctx * e->kv_dim;
    e->k_cache = calloc(kv_elems ? kv_elems : 1, e->kv_elem);
    e->v_cache = calloc(kv_elems ? kv_elems : 1, e->kv_elem);
    if (fail || !e->xq || !e->k_cache || !e->v_cache) {
        fl_engine_free(e);
        return flare_error(FLARE_ENOMEM, "out of memory for the engine (KV cache of %u positions)",
                           o.n_ctx);
    }
    // norm weights as f32 (any stored type)
    for (uint32_t l = 0; l <= hp->n_layer; l++) {
        const fl_weight *a = l < hp->n_layer ? &m->layers[l].attn_norm : &m->output_norm;
        int rc = fl_dequantize_row(a->type, a->data, e->norms + (size_t)(2 * l) * d, (int64_t)d);
        if (!rc && l < hp->n_layer)
            rc = fl_dequantize_row(m->layers[l].ffn_norm.type, m->layers[l].ffn_norm.data,
                                   e->norms + (size_t)(2 * l + 1) * d, (int64_t)d);
        if (rc) {
            fl_engine_free(e);
            return rc;
        }
    }
    int rc = fl_threadpool_new(&e->pool, (int)o.n_threads);
    if (rc) {
        fl_engine_free(e);
        return rc;
    }
    *out = e;
    return 0;
}

void fl_engine_free(fl_engine *e)
{
    if (!e)
        return;
    fl_threadpool_free(e->pool);
    free(e->norms);
    free(e->x);
    free(e->xn);
    free(e->q);
    free(e->k);
    free(e->v);
    free(e->att);
    free(e->hb);
    free(e->hb2);
    free(e->scores);
    free(e->rope_cs);
    free(e->logits);
    free(e->xq);
    free(e->k_cache);
    free(e->v_cache);
    free(e);
}

int fl_engine_eval(fl_engine *e, const int32_t *tokens, uint32_t n)
{
    if (n == 0)
        return flare_error(FLARE_EINVAL, "no tokens to evaluate");
    if ((uint64_t)e->n_past + n > e->o.n_ctx)
        return flare_error(FLARE_ERANGE,
                           "context full: %u tokens after %u would exceed the context of %u "
                           "positions (-c)",
                           n, e->n_past, e->o.n_ctx);
    for (uint32_t i = 0; i < n; i++)
        if (tokens[i] < 0 || (uint32_t)tokens[i] >= e->hp.n_vocab)
            return flare_error(FLARE_EINVAL, "token id %d at %u: expected 0..%u", tokens[i], i,
                               e->hp.n_vocab - 1);
    for (uint32_t i = 0; i < n; i += e->o.n_batch) {
        uint32_t T = n - i < e->o.n_batch ? n - i : e->o.n_batch;
        forward(e, tokens + i, T);
    }
    return 0;
}

const float *fl_engine_logits(const fl_engine *e)
{
    return e->logits;
}

uint32_t fl_engine_n_past(const fl_engine *e)
{
    return e->n_past;
}

uint32_t fl_engine_n_ctx(const fl_engine *e)
{
    return e->o.n_ctx;
}

void fl_engine_reset(fl_engine *e)
{
    e->n_past = 0;
}

uint64_t fl_engine_kv_bytes(const fl_engine *e)
{
    return 2ull * e->hp.n_layer * e->o.n_ctx * e->kv_dim * e->kv_elem;
}

void fl_engine_set_hook(fl_engine *e, fl_engine_layer_hook fn, void *user)
{
    e->hook = fn;
    e->hook_user = user;
}

const char *fl_engine_kernels(const fl_engine *e)
{
    return e->kern.name;
}
