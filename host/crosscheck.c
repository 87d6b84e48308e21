/* host/crosscheck.c: the device-vs-reference cross-check (host/crosscheck.h).
 *
 * Thresholds (teacher-forced, the default: each device layer gets the reference's input, so a
 * layer's error is its own and does not accumulate with depth). Logits: 5e-4 NMSE per token, the bound ggml's test-backend-ops holds a quantized
 * MUL_MAT to (DESIGN.md); the output projection is one such matmul. Hidden states: 1e-3 per
 * layer and token row, twice the single-matmul bound, because a layer is 7 qmatmuls and one
 * attention (each allowed 5e-4 on its own) whose errors reach the residual stream scaled by
 * |block| / |x|; the residual path itself is an exact copy. Free-running (opts.forced = 0), the
 * errors of independent layers add in energy, so both bounds are multiplied by the depth
 * (layer + 1, n_layer + 1 for the logits): measured on a 22-layer TinyLlama-shaped Q4_0 model
 * with random weights, free-running NMSE grows from 2.4e-4 after layer 0 to 1.4e-3 after layer
 * 21 and 1.2e-3 on the logits, while forced it stays at the single-layer level. Both engines quantize activations to Q8_0 with ggml's
 * rounding and sum blocks exactly in integers; they differ in fp32 summation order, exp/SiLU,
 * RoPE table precision and the rare Q8 rounding flip of an activation on a rounding boundary.
 * Measured free-running (flare check --free on stories15M-Q8_0, 4 prompts, 169 tokens): worst
 * hidden NMSE 1.3e-4, worst logits NMSE 1.9e-4; the hls kernels chained by hand against llama.cpp's own logits give
 * 1.6e-4 (tests/hls/test_llamacpp.c), so this is the kernels' distance from ggml, not the
 * scheduler's. 1e-3 leaves ~8x headroom. Sensitivity: a corrupted weight block measures NMSE
 * ~5 (tests/host/test_crosscheck.c); one element of a row wrong by k times the row RMS gives
 * k^2 / n_embd, so 1e-3 catches k > 0.5 at n_embd 288 and k > 1.4 at n_embd 2048. */
#include "host/crosscheck.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "flare/error.h"
#include "ref/quants.h"

/* The FFN recomputed on the host agrees with the device's when the NMSE of the block output
 * stays under this: the host skips the Q8_0 activation rounding (~1e-5 NMSE per matmul), so
 * this is looser than the engine-vs-engine bound, and still 3 orders above a correct block. */
#define FFN_RECOMPUTE_NMSE 2e-2

typedef struct {
    uint32_t seq, pos;
    double nmse;
    int32_t top_ref, top_dev;
    int agree; /* 1 yes, 2 tie, 0 no */
} tok_row;

struct fl_xcheck {
    const fl_llama *m;
    fl_xref ref;
    fl_sched *dev;    /* the device: a scheduler, or (dev == NULL) the engine deng */
    fl_xref deng;
    fl_xcheck_opts o;
    uint32_t C, d, L; /* chunk (tokens), n_embd, n_layer */
    float *ref_h;     /* (L, C, d) reference residual stream after each layer */
    float *dev_h;     /* (L, C, d) device, after each layer */
    float *dev_a;     /* (L, C, d) device, after each attention block */
    uint32_t *ref_fill, *dev_fill, *att_fill; /* (L) rows filled in this chunk */
    double *layer_nmse, *layer_abs;           /* (L) worst over everything so far */
    tok_row *rows;
    uint32_t n_rows, cap_rows;
    uint32_t seq, pos;
    uint64_t n_tokens;
    int failed, fail_layer;
    const char *fail_op;
    char why[512];
};

/* ---- hooks ---------------------------------------------------------------------------------- */

static void put_rows(float *dst, uint32_t *fill, uint32_t C, uint32_t d, uint32_t layer,
                     const float *x, uint32_t T)
{
    uint32_t f = fill[layer];
    uint32_t n = f + T <= C ? T : (f < C ? C - f : 0);
    memcpy(dst + ((size_t)layer * C + f) * d, x, sizeof(float) * n * d);
    fill[layer] = f + n;
}

static void ref_hook(void *user, uint32_t layer, const float *x, uint32_t T)
{
    fl_xcheck *c = user;
    put_rows(c->ref_h, c->ref_fill, c->C, c->d, layer, x, T);
}

/* An engine device's layer hook: the residual stream after each layer. */
static void deng_hook(void *user, uint32_t layer, const float *x, uint32_t T)
{
    fl_xcheck *c = user;
    put_rows(c->dev_h, c->dev_fill, c->C, c->d, layer, x, T);
}

static void dev_hook(void *user, uint32_t layer, uint32_t op, const float *x, uint32_t T)
{
    fl_xcheck *c = user;
    if (op == FL_SCHED_OP_ATTN)
        put_rows(c->dev_a, c->att_fill, c->C, c->d, layer, x, T);
    else
        put_rows(c->dev_h, c->dev_fill, c->C, c->d, layer, x, T);
}

/* Teacher forcing: layer l >= 1 of the device starts from the reference's output of layer l-1
 * (and the output projection from the reference's last layer). Layer 0's input, the embedding
 * rows, is the same on both sides already. */
static int in_hook(void *user, uint32_t layer, float *x, uint32_t T)
{
    fl_xcheck *c = user;
    if (!c->o.forced || layer == 0 || T > c->C || c->ref_fill[layer - 1] < T)
        return 0;
    memcpy(x, c->ref_h + (size_t)(layer - 1) * c->C * c->d, sizeof(float) * T * c->d);
    return 1;
}

/* Thresholds of layer l (n_layer: the logits), by mode. */
static double thr_hidden(const fl_xcheck *c, uint32_t l)
{
    return c->o.max_nmse_hidden * (c->o.forced ? 1.0 : (double)(l + 1));
}
static double thr_logits(const fl_xcheck *c)
{
    return c->o.max_nmse_logits * (c->o.forced ? 1.0 : (double)(c->L + 1));
}

/* ---- references ---------------------------------------------------------------------------- */

static int cpu_eval(void *e, const int32_t *t, uint32_t n)
{
    return fl_engine_eval(e, t, n);
}
static const float *cpu_logits(const void *e)
{
    return fl_engine_logits(e);
}
static void cpu_reset(void *e)
{
    fl_engine_reset(e);
}
static void cpu_set_hook(void *e, fl_engine_layer_hook fn, void *user)
{
    fl_engine_set_hook(e, fn, user);
}

void fl_xref_cpu(fl_xref *r, fl_engine *e)
{
    *r = (fl_xref){"cpu", e, cpu_eval, cpu_logits, cpu_reset, cpu_set_hook};
}

static int cuda_eval(void *e, const int32_t *t, uint32_t n)
{
    return fl_cuda_engine_eval(e, t, n);
}
static const float *cuda_logits(const void *e)
{
    return fl_cuda_engine_logits(e);
}
static void cuda_reset(void *e)
{
    fl_cuda_engine_reset(e);
}
static void cuda_set_hook(void *e, fl_engine_layer_hook fn, void *user)
{
    fl_cuda_engine_set_hook(e, fn, user);
}

void fl_xref_cuda(fl_xref *r, fl_cuda_engine *e)
{
    *r = (fl_xref){"cuda", e, cuda_eval, cuda_logits, cuda_reset, cuda_set_hook};
}

/* ---- new / free ----------------------------------------------------------------------------- */

void fl_xcheck_default_opts(fl_xcheck_opts *o)
{
    o->forced = 1;
    o->max_nmse_logits = 5e-4;
    o->max_nmse_hidden = 1e-3;
    o->tie_factor = 4.0;
}

int fl_xcheck_new(fl_xcheck **out, const fl_llama *m, fl_engine *ref, fl_sched *dev,
                  const fl_xcheck_opts *o)
{
    fl_xref r;
    fl_xref_cpu(&r, ref);
    return fl_xcheck_new_ref(out, m, &r, dev, o);
}

/* The part of both constructors that does not depend on the kind of device. */
static int xcheck_alloc(fl_xcheck **out, const fl_llama *m, const fl_xref *ref, uint32_t C,
                        const fl_xcheck_opts *o)
{
    *out = NULL;
    fl_xcheck *c = calloc(1, sizeof *c);
    if (!c)
        return flare_error(FLARE_ENOMEM, "cross-check: out of memory");
    c->m = m;
    c->ref = *ref;
    if (o)
        c->o = *o;
    else
        fl_xcheck_default_opts(&c->o);
    c->C = C;
    c->d = m->hp.n_embd;
    c->L = m->hp.n_layer;
    size_t hs = (size_t)c->L * c->C * c->d;
    c->ref_h = malloc(sizeof(float) * hs);
    c->dev_h = malloc(sizeof(float) * hs);
    c->dev_a = malloc(sizeof(float) * hs);
    c->ref_fill = calloc(c->L, sizeof(uint32_t));
    c->dev_fill = calloc(c->L, sizeof(uint32_t));
    c->att_fill = calloc(c->L, sizeof(uint32_t));
    c->layer_nmse = calloc(c->L, sizeof(double));
    c->layer_abs = calloc(c->L, sizeof(double));
    c->fail_layer = -1;
    if (!c->ref_h || !c->dev_h || !c->dev_a || !c->ref_fill || !c->dev_fill || !c->att_fill ||
        !c->layer_nmse || !c->layer_abs) {
        fl_xcheck_free(c);
        return flare_error(FLARE_ENOMEM, "cross-check: out of memory for %zu hidden-state floats",
                           3 * hs);
    }
    *out = c;
    return 0;
}

int fl_xcheck_new_ref(fl_xcheck **out, const fl_llama *m, const fl_xref *ref, fl_sched *dev,
                      const fl_xcheck_opts *o)
{
    int rc = xcheck_alloc(out, m, ref, fl_sched_n_batch(dev), o);
    if (rc)
        return rc;
    fl_xcheck *c = *out;
    c->dev = dev;
    c->ref.set_hook(c->ref.engine, ref_hook, c);
    fl_sched_set_op_hook(dev, dev_hook, c);
    fl_sched_set_input_hook(dev, in_hook, c);
    return 0;
}

int fl_xcheck_new_engine(fl_xcheck **out, const fl_llama *m, const fl_xref *ref,
                         const fl_xref *dev, uint32_t n_batch, const fl_xcheck_opts *o)
{
    if (!n_batch)
        return flare_error(FLARE_EINVAL, "cross-check: a batch of 0 tokens");
    int rc = xcheck_alloc(out, m, ref, n_batch, o);
    if (rc)
        return rc;
    fl_xcheck *c = *out;
    c->deng = *dev;
    c->o.forced = 0; /* no input hook on an engine: it runs free */
    c->ref.set_hook(c->ref.engine, ref_hook, c);
    c->deng.set_hook(c->deng.engine, deng_hook, c);
    return 0;
}

/* The device side, whichever kind it is. */
static int dev_eval(fl_xcheck *c, const int32_t *t, uint32_t n)
{
    return c->dev ? fl_sched_eval(c->dev, t, n) : c->deng.eval(c->deng.engine, t, n);
}
static const float *dev_logits(const fl_xcheck *c)
{
    return c->dev ? fl_sched_logits(c->dev) : c->deng.logits(c->deng.engine);
}
static const char *dev_name(const fl_xcheck *c)
{
    return c->dev ? fl_sched_device(c->dev)->uri : c->deng.name;
}

void fl_xcheck_free(fl_xcheck *c)
{
    if (!c)
        return;
    if (c->ref_h) {
        c->ref.set_hook(c->ref.engine, NULL, NULL);
        if (c->dev) {
            fl_sched_set_op_hook(c->dev, NULL, NULL);
            fl_sched_set_input_hook(c->dev, NULL, NULL);
        } else if (c->deng.set_hook) {
            c->deng.set_hook(c->deng.engine, NULL, NULL);
        }
    }
    free(c->ref_h);
    free(c->dev_h);
    free(c->dev_a);
    free(c->ref_fill);
    free(c->dev_fill);
    free(c->att_fill);
    free(c->layer_nmse);
    free(c->layer_abs);
    free(c->rows);
    free(c);
}

void fl_xcheck_reset(fl_xcheck *c)
{
    c->ref.reset(c->ref.engine);
    if (c->dev)
        fl_sched_reset(c->dev);
    else
        c->deng.reset(c->deng.engine);
    if (c->pos)
        c->seq++;
    c->pos = 0;
}

/* ---- comparisons ---------------------------------------------------------------------------- */

/* NMSE of a against the reference b over n, and the max abs difference. */
static double nmse(const float *a, const float *b, size_t n, double *max_abs)
{
    double e2 = 0, r2 = 0, mx = 0;
    for (size_t i = 0; i < n; i++) {
        double e = (double)a[i] - b[i];
        e2 += e * e;
        r2 += (double)b[i] * b[i];
        if (fabs(e) > mx || e != e)
            mx = e != e ? INFINITY : fabs(e);
    }
    if (max_abs)
        *max_abs = mx;
    if (e2 != e2)
        return INFINITY;
    return r2 > 0 ? e2 / r2 : (e2 > 0 ? INFINITY : 0);
}

static void fail(fl_xcheck *c, int layer, const char *op, const char *fmt, double v, double thr)
{
    if (c->failed)
        return;
    c->failed = 1;
    c->fail_layer = layer;
    c->fail_op = op;
    char what[96];
    if (layer < (int)c->L && !op)
        snprintf(what, sizeof what, "layer %d output", layer);
    else if (layer < (int)c->L)
        snprintf(what, sizeof what, "layer %d, %s block output", layer, op);
    else
        snprintf(what, sizeof what, "output (final norm + output projection)");
    snprintf(c->why, sizeof c->why, "first divergence at %s, prompt %u position %u: %s %.3g > %.3g",
             what, c->seq, c->pos, fmt, v, thr);
}

/* The device's FFN block on token row x2 (d,) recomputed on the host in float64 from the host
 * weights; NMSE of the device's block output (x - x2) against it. */
static double ffn_recompute_nmse(const fl_xcheck *c, uint32_t l, const float *x2, const float *x)
{
    const fl_llama_layer *L = &c->m->layers[l];
    uint32_t d = c->d, ff = c->m->hp.n_ff;
    float *row = malloc(sizeof(float) * (ff > d ? ff : d));
    double *xn = malloc(sizeof(double) * d), *h = malloc(sizeof(double) * ff);
    float *want = malloc(sizeof(float) * d), *got = malloc(sizeof(float) * d);
    double r = INFINITY;
    if (!row || !xn || !h || !want || !got)
        goto done;
    double ss = 0;
    for (uint32_t i = 0; i < d; i++)
        ss += (double)x2[i] * x2[i];
    double scale = 1.0 / sqrt(ss / d + c->m->hp.rms_eps);
    if (fl_dequantize_row(L->ffn_norm.type, L->ffn_norm.data, row, d))
        goto done;
    for (uint32_t i = 0; i < d; i++)
        xn[i] = x2[i] * scale * row[i];
    for (uint32_t j = 0; j < ff; j++) {
        double g = 0, u = 0;
        if (fl_dequantize_row(L->w_gate.type,
                              (const uint8_t *)L->w_gate.data + j * L->w_gate.row_bytes, row, d))
            goto done;
        for (uint32_t i = 0; i < d; i++)
            g += row[i] * xn[i];
        if (fl_dequantize_row(L->w_up.type, (const uint8_t *)L->w_up.data + j * L->w_up.row_bytes,
                              row, d))
            goto done;
        for (uint32_t i = 0; i < d; i++)
            u += row[i] * xn[i];
        h[j] = g / (1.0 + exp(-g)) * u;
    }
    for (uint32_t i = 0; i < d; i++) {
        double y = 0;
        if (fl_dequantize_row(L->w_down.type,
                              (const uint8_t *)L->w_down.data + i * L->w_down.row_bytes, row, ff))
            goto done;
        for (uint32_t j = 0; j < ff; j++)
            y += row[j] * h[j];
        want[i] = (float)y;
        got[i] = x[i] - x2[i];
    }
    r = nmse(got, want, d, NULL);
done:
    free(row);
    free(xn);
    free(h);
    free(want);
    free(got);
    return r;
}

/* Compare the hidden states of the chunk just evaluated (T rows). */
static void compare_hidden(fl_xcheck *c, uint32_t T)
{
    for (uint32_t l = 0; l < c->L; l++) {
        for (uint32_t i = 0; i < T && i < c->C; i++) {
            size_t off = ((size_t)l * c->C + i) * c->d;
            double mx, e = nmse(c->dev_h + off, c->ref_h + off, c->d, &mx);
            if (e > c->layer_nmse[l] || e != e)
                c->layer_nmse[l] = e;
            if (mx > c->layer_abs[l])
                c->layer_abs[l] = mx;
            if (!(e <= thr_hidden(c, l)) && !c->failed) {
                /* which block: recompute the FFN from the device's own attention output (a
                 * scheduler reports it; an engine device does not) */
                const char *op = NULL;
                if (c->dev)
                    op = ffn_recompute_nmse(c, l, c->dev_a + off, c->dev_h + off) <=
                                 FFN_RECOMPUTE_NMSE
                             ? "attention"
                             : "ffn";
                uint32_t pos = c->pos;
                c->pos += i;
                fail(c, (int)l, op, "hidden-state NMSE", e, thr_hidden(c, l));
                c->pos = pos;
            }
        }
    }
}

int fl_xcheck_top1(const float *ref, const float *dev, uint32_t n, double tie_factor,
                   int32_t *top_ref, int32_t *top_dev, double *gap, double *limit)
{
    uint32_t tr = 0, tg = 0;
    double e2 = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (ref[i] > ref[tr])
            tr = i;
        if (dev[i] > dev[tg])
            tg = i;
        e2 += ((double)dev[i] - ref[i]) * ((double)dev[i] - ref[i]);
    }
    double g = (double)ref[tr] - ref[tg], lim = tie_factor * sqrt(n ? e2 / n : 0.0);
    *top_ref = (int32_t)tr;
    *top_dev = (int32_t)tg;
    if (gap)
        *gap = g;
    if (limit)
        *limit = lim;
    return tr == tg ? 1 : g <= lim ? 2 : 0;
}

static void compare_logits(fl_xcheck *c, uint32_t pos)
{
    uint32_t nv = c->m->hp.n_vocab;
    const float *r = c->ref.logits(c->ref.engine), *g = dev_logits(c);
    double e = nmse(g, r, nv, NULL), gap = 0, limit = 0;
    int32_t tr = 0, tg = 0;
    int agree = fl_xcheck_top1(r, g, nv, c->o.tie_factor, &tr, &tg, &gap, &limit);
    if (c->n_rows == c->cap_rows) {
        uint32_t cap = c->cap_rows ? 2 * c->cap_rows : 64;
        tok_row *p = realloc(c->rows, sizeof *p * cap);
        if (!p)
            return;
        c->rows = p;
        c->cap_rows = cap;
    }
    c->rows[c->n_rows++] = (tok_row){c->seq, pos, e, tr, tg, agree};
    uint32_t save = c->pos;
    c->pos = pos;
    if (!(e <= thr_logits(c)))
        fail(c, (int)c->L, "output", "logits NMSE", e, thr_logits(c));
    else if (!agree)
        fail(c, (int)c->L, "output", "top-1 disagrees; reference logit gap", gap, limit);
    c->pos = save;
}

int fl_xcheck_eval(fl_xcheck *c, const int32_t *tokens, uint32_t n)
{
    for (uint32_t i = 0; i < n; i += c->C) {
        uint32_t T = n - i < c->C ? n - i : c->C;
        memset(c->ref_fill, 0, sizeof(uint32_t) * c->L);
        memset(c->dev_fill, 0, sizeof(uint32_t) * c->L);
        memset(c->att_fill, 0, sizeof(uint32_t) * c->L);
        int rc = c->ref.eval(c->ref.engine, tokens + i, T);
        if (rc)
            return flare_error_prefix(rc, "reference engine (%s)", c->ref.name);
        if ((rc = dev_eval(c, tokens + i, T)))
            return flare_error_prefix(rc, "device");
        compare_hidden(c, T);
        compare_logits(c, c->pos + T - 1);
        c->pos += T;
        c->n_tokens += T;
    }
    return 0;
}

int fl_xcheck_failed(const fl_xcheck *c, const char **why)
{
    if (why)
        *why = c->failed ? c->why : NULL;
    return c->failed;
}

int fl_xcheck_fail_layer(const fl_xcheck *c, const char **op)
{
    if (op)
        *op = c->fail_op;
    return c->fail_layer;
}

/* ---- report --------------------------------------------------------------------------------- */

int fl_xcheck_report(const fl_xcheck *c, FILE *f)
{
    double worst_h = 0, worst_l = 0;
    uint32_t worst_layer = 0, n_agree = 0, n_tie = 0;
    fprintf(f, "cross-check: device %s against the %s reference engine\n", dev_name(c),
            c->ref.name);
    fprintf(f, "per layer (residual stream after the layer, worst token row; %s):\n",
            c->o.forced ? "teacher-forced: each layer from the reference's input"
                        : "free-running device");
    fprintf(f, "  layer   worst NMSE    max abs   threshold\n");
    for (uint32_t l = 0; l < c->L; l++) {
        fprintf(f, "  %5u   %10.3g  %9.3g  %10.3g%s\n", l, c->layer_nmse[l], c->layer_abs[l],
                thr_hidden(c, l), !(c->layer_nmse[l] <= thr_hidden(c, l)) ? "  FAIL" : "");
        if (!(c->layer_nmse[l] <= worst_h)) {
            worst_h = c->layer_nmse[l];
            worst_layer = l;
        }
    }
    fprintf(f, "per token (logits after each forward pass; threshold %.3g):\n", thr_logits(c));
    fprintf(f, "  prompt   pos  logits NMSE  top-1 ref   dev  agree\n");
    for (uint32_t i = 0; i < c->n_rows; i++) {
        const tok_row *r = &c->rows[i];
        fprintf(f, "  %6u %5u   %10.3g  %9d %5d  %s\n", r->seq, r->pos, r->nmse, r->top_ref,
                r->top_dev, r->agree == 1 ? "yes" : r->agree == 2 ? "tie" : "NO");
        if (!(r->nmse <= worst_l))
            worst_l = r->nmse;
        n_agree += r->agree == 1;
        n_tie += r->agree == 2;
    }
    if (c->failed)
        fprintf(f, "check: FAIL: %s\n", c->why);
    else
        fprintf(f,
                "check: PASS (%s): %llu tokens; hidden NMSE worst %.3g (layer %u, threshold "
                "%.3g); logits NMSE worst %.3g (threshold %.3g); top-1 agree %u/%u (%u "
                "near-ties)\n",
                c->o.forced ? "forced" : "free", (unsigned long long)c->n_tokens, worst_h,
                worst_layer, thr_hidden(c, worst_layer), worst_l, thr_logits(c), n_agree,
                c->n_rows, n_tie);
    return c->failed ? 1 : 0;
}

/* ---- one generation ------------------------------------------------------------------------- */

int fl_crosscheck_run(fl_xcheck *c, const int32_t *prompt, uint32_t n_prompt, uint32_t n_decode,
                      int32_t *out_tokens)
{
    fl_xcheck_reset(c);
    int rc = fl_xcheck_eval(c, prompt, n_prompt);
    uint32_t nv = c->m->hp.n_vocab;
    for (uint32_t s = 0; rc == 0 && s < n_decode; s++) {
        const float *g = dev_logits(c);
        int32_t best = 0;
        for (uint32_t i = 1; i < nv; i++)
            if (g[i] > g[best])
                best = (int32_t)i;
        if (out_tokens)
            out_tokens[s] = best;
        rc = fl_xcheck_eval(c, &best, 1);
    }
    return rc ? rc : c->failed;
}
