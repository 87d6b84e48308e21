/* tests/ref/test_engine.c: the CPU engine against two independent references.
 *
 * 1. A float64 forward pass written here with plain loops (weights dequantized row by row to
 *    double, activations never quantized, RoPE angles from pow() directly), on models written by
 *    the mkmodel library: logits NMSE < 1e-6 for F32 weights; the figure for quantized weights
 *    (they differ by the Q8_0 activation quantization) is printed and bounded loosely.
 * 2. llama.cpp's own logits and greedy tokens for stories15M-Q8_0 (../shared/testdata).
 * Plus: scalar vs SIMD kernels, 1 vs 2 threads, prompt in one batch vs token by token. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flare/error.h"
#include "flare/fp16.h"
#include "flare/ggml.h"
#include "host/gguf.h"
#include "host/mkmodel.h"
#include "host/model.h"
#include "ref/engine_cpu.h"
#include "ref/engine_att.h"
#include "ref/engine_mm.h"
#include "ref/quants.h"
#include "ref/threadpool.h"
#include "tests/common/testutil.h"

/* ---- helpers -------------------------------------------------------------------------------- */

static double nmse_d(const float *a, const double *ref, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - ref[i];
        num += d * d;
        den += ref[i] * ref[i];
    }
    return den > 0 ? num / den : num;
}

/* Write a preset model of `type` into FLARE_TMPDIR and open it. */
static fl_model *make_model(const char *preset, uint32_t type, char *path, size_t path_len)
{
    return t_make_model("engine", preset, type, 7, path, path_len);
}

static fl_engine *make_engine(const fl_model *m, uint32_t n_ctx, uint32_t threads, uint32_t kv,
                              int scalar, uint32_t batch)
{
    fl_engine_opts o;
    fl_engine_default_opts(&o);
    o.n_ctx = n_ctx;
    o.n_threads = threads;
    o.kv_type = kv;
    o.scalar = scalar;
    o.n_batch = batch;
    fl_engine *e = NULL;
    cr_assert_eq(fl_engine_new(&e, &m->llama, &o), 0, "%s", flare_last_error());
    return e;
}

/* ---- the float64 reference ------------------------------------------------------------------ */

typedef struct {
    const fl_llama *m;
    uint32_t n_ctx, pos;
    double *kc, *vc; /* (n_layer, n_ctx, kv_dim) */
    float *row;      /* (max ne0) one dequantized weight row */
} ref64;

static void ref_init(ref64 *r, const fl_llama *m, uint32_t n_ctx)
{
    const fl_llama_hparams *hp = &m->hp;
    size_t kv = (size_t)hp->n_head_kv * hp->head_dim;
    r->m = m;
    r->n_ctx = n_ctx;
    r->pos = 0;
    r->kc = calloc((size_t)hp->n_layer * n_ctx * kv, sizeof(double));
    r->vc = calloc((size_t)hp->n_layer * n_ctx * kv, sizeof(double));
    size_t kmax = hp->n_ff > hp->n_embd ? hp->n_ff : hp->n_embd;
    r->row = malloc(kmax * sizeof(float));
    cr_assert(r->kc && r->vc && r->row);
}

static void ref_free(ref64 *r)
{
    free(r->kc);
    free(r->vc);
    free(r->row);
}

/* y (ne1) = W x, each row dequantized to float then summed in double. */
static void ref_matvec(ref64 *r, const fl_weight *w, const double *x, double *y)
{
    for (uint64_t i = 0; i < w->ne1; i++) {
        cr_assert_eq(fl_dequantize_row(w->type, (const char *)w->data + i * w->row_bytes, r->row,
                                       (int64_t)w->ne0), 0);
        double s = 0;
        for (uint64_t j = 0; j < w->ne0; j++)
            s += (double)r->row[j] * x[j];
        y[i] = s;
    }
}

static void ref_rmsnorm(ref64 *r, const fl_weight *w, const double *x, double *out, uint32_t n)
{
    double ss = 0;
    for (uint32_t i = 0; i < n; i++)
        ss += x[i] * x[i];
    double scale = 1.0 / sqrt(ss / n + r->m->hp.rms_eps);
    cr_assert_eq(fl_dequantize_row(w->type, w->data, r->row, n), 0);
    for (uint32_t i = 0; i < n; i++)
        out[i] = x[i] * scale * r->row[i];
}

static void ref_rope(double *x, uint32_t pos, uint32_t n_rot, double base)
{
    for (uint32_t i = 0; i < n_rot; i += 2) {
        double theta = pos * pow(base, -(double)i / n_rot);
        double c = cos(theta), s = sin(theta), x0 = x[i], x1 = x[i + 1];
        x[i] = x0 * c - x1 * s;
        x[i + 1] = x0 * s + x1 * c;
    }
}

/* One token through the model; logits (n_vocab) out. */
static void ref_step(ref64 *r, int32_t tok, double *logits)
{
    const fl_llama *m = r->m;
    const fl_llama_hparams *hp = &m->hp;
    uint32_t d = hp->n_embd, hd = hp->head_dim, ff = hp->n_ff;
    uint32_t qd = hp->n_head * hd, kvd = hp->n_head_kv * hd, pos = r->pos;
    double *x = calloc(d, 8), *xn = calloc(d, 8), *q = calloc(qd, 8), *k = calloc(kvd, 8);
    double *v = calloc(kvd, 8), *att = calloc(qd, 8), *g = calloc(ff, 8), *u = calloc(ff, 8);
    double *o = calloc(d > ff ? d : ff, 8), *sc = calloc(r->n_ctx, 8);
    cr_assert_eq(fl_dequantize_row(m->tok_embd.type,
                                   (const char *)m->tok_embd.data + tok * m->tok_embd.row_bytes,
                                   r->row, d), 0);
    for (uint32_t i = 0; i < d; i++)
        x[i] = r->row[i];
    for (uint32_t l = 0; l < hp->n_layer; l++) {
        const fl_llama_layer *ly = &m->layers[l];
        ref_rmsnorm(r, &ly->attn_norm, x, xn, d);
        ref_matvec(r, &ly->wq, xn, q);
        ref_matvec(r, &ly->wk, xn, k);
        ref_matvec(r, &ly->wv, xn, v);
        for (uint32_t h = 0; h < hp->n_head; h++)
            ref_rope(q + h * hd, pos, hp->n_rot, hp->rope_base);
        for (uint32_t h = 0; h < hp->n_head_kv; h++)
            ref_rope(k + h * hd, pos, hp->n_rot, hp->rope_base);
        double *kc = r->kc + ((size_t)l * r->n_ctx) * kvd, *vc = r->vc + ((size_t)l * r->n_ctx) * kvd;
        memcpy(kc + (size_t)pos * kvd, k, kvd * 8);
        memcpy(vc + (size_t)pos * kvd, v, kvd * 8);
        for (uint32_t h = 0; h < hp->n_head; h++) {
            uint32_t gh = h / (hp->n_head / hp->n_head_kv);
            double mx = -INFINITY, sum = 0;
            for (uint32_t p = 0; p <= pos; p++) {
                double s = 0;
                for (uint32_t i = 0; i < hd; i++)
                    s += q[h * hd + i] * kc[(size_t)p * kvd + gh * hd + i];
                sc[p] = s / sqrt((double)hd);
                mx = fmax(mx, sc[p]);
            }
            for (uint32_t p = 0; p <= pos; p++)
                sum += (sc[p] = exp(sc[p] - mx));
            for (uint32_t i = 0; i < hd; i++) {
                double a = 0;
                for (uint32_t p = 0; p <= pos; p++)
                    a += sc[p] / sum * vc[(size_t)p * kvd + gh * hd + i];
                att[h * hd + i] = a;
            }
        }
        ref_matvec(r, &ly->wo, att, o);
        for (uint32_t i = 0; i < d; i++)
            x[i] += o[i];
        ref_rmsnorm(r, &ly->ffn_norm, x, xn, d);
        ref_matvec(r, &ly->w_gate, xn, g);
        ref_matvec(r, &ly->w_up, xn, u);
        for (uint32_t i = 0; i < ff; i++)
            g[i] = g[i] / (1.0 + exp(-g[i])) * u[i];
        ref_matvec(r, &ly->w_down, g, o);
        for (uint32_t i = 0; i < d; i++)
            x[i] += o[i];
    }
    ref_rmsnorm(r, &m->output_norm, x, xn, d);
    ref_matvec(r, &m->output, xn, logits);
    r->pos++;
    free(x), free(xn), free(q), free(k), free(v), free(att), free(g), free(u), free(o), free(sc);
}

/* Prompt (in one batch) then `steps` greedy tokens; the NMSE of every step vs float64.
 * Returns the worst NMSE; asserts the greedy choices agree where the reference's top-2 margin
 * is clear. */
static double vs_float64_t(const char *preset, uint32_t type, uint32_t kv, uint32_t threads,
                           uint32_t n_prompt);

static double vs_float64(const char *preset, uint32_t type, uint32_t kv)
{
    return vs_float64_t(preset, type, kv, 1, 5);
}

static double vs_float64_t(const char *preset, uint32_t type, uint32_t kv, uint32_t threads,
                           uint32_t n_prompt)
{
    char path[512];
    fl_model *m = make_model(preset, type, path, sizeof path);
    const fl_llama_hparams *hp = &m->llama.hp;
    uint32_t n_ctx = 32, V = hp->n_vocab;
    fl_engine *e = make_engine(m, n_ctx, threads, kv, 0, 0);
    ref64 r;
    ref_init(&r, &m->llama, n_ctx);
    int32_t prompt[16] = {1, 5, 17, 3, 9, 30, 2, 8, 21, 13, 4, 6, 19, 7, 11, 12};
    cr_assert_leq(n_prompt, 16);
    for (uint32_t i = 0; i < n_prompt; i++)
        prompt[i] %= (int32_t)V;
    double *want = malloc(V * sizeof(double));
    for (uint32_t i = 0; i < n_prompt; i++)
        ref_step(&r, prompt[i], want);
    cr_assert_eq(fl_engine_eval(e, prompt, n_prompt), 0, "%s", flare_last_error());
    double worst = 0;
    for (int step = 0; step < 4; step++) {
        const float *got = fl_engine_logits(e);
        double err = nmse_d(got, want, V);
        worst = err > worst ? err : worst;
        int32_t tok = t_argmax(got, V);
        ref_step(&r, tok, want);
        cr_assert_eq(fl_engine_eval(e, &tok, 1), 0, "%s", flare_last_error());
    }
    printf("engine vs float64: %s %s kv %s, %u thr, prompt %u: worst logits NMSE %.3g\n",
           preset, fl_type_name(type), fl_type_name(kv), threads, n_prompt, worst);
    free(want);
    ref_free(&r);
    fl_engine_free(e);
    fl_model_free(m);
    unlink(path);
    return worst;
}

/* A copy of `src` without output.weight: the model then ties the output to token_embd. */
static void write_untied_copy(const char *src, const char *dst)
{
    gguf_file *f = NULL;
    cr_assert_eq(gguf_open(&f, src), 0, "%s", flare_last_error());
    gguf_writer *w = gguf_writer_new();
    for (uint64_t i = 0; i < gguf_n_kv(f); i++) {
        const gguf_kv *kv = gguf_kv_at(f, i);
        char key[256];
        snprintf(key, sizeof key, "%.*s", (int)kv->key.len, kv->key.data);
        if (strcmp(key, "general.alignment"))
            cr_assert_eq(gguf_writer_set_value(w, key, &kv->value), 0, "%s", flare_last_error());
    }
    for (uint64_t i = 0; i < gguf_n_tensors(f); i++) {
        const gguf_tensor *t = gguf_tensor_at(f, i);
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)t->name.len, t->name.data);
        if (strcmp(name, "output.weight"))
            cr_assert_geq(gguf_writer_add_tensor(w, name, t->type, t->n_dims, t->ne, t->data), 0);
    }
    cr_assert_eq(gguf_writer_write(w, dst, NULL, NULL), 0, "%s", flare_last_error());
    gguf_writer_free(w);
    gguf_close(f);
}

Test(engine, f64_tied_output)
{
    char path[512], tied[600];
    fl_model *m = make_model("tiny", FL_TYPE_Q8_0, path, sizeof path);
    fl_model_free(m);
    snprintf(tied, sizeof tied, "%s.tied.gguf", path);
    write_untied_copy(path, tied);
    cr_assert_eq(fl_model_open(&m, tied), 0, "%s", flare_last_error());
    cr_assert_eq(m->llama.output.data, m->llama.tok_embd.data, "output tied to token_embd");
    uint32_t V = m->llama.hp.n_vocab;
    fl_engine *e = make_engine(m, 16, 2, FL_TYPE_F32, 0, 0);
    ref64 r;
    ref_init(&r, &m->llama, 16);
    double *want = malloc(V * sizeof(double));
    int32_t prompt[4] = {1, 7, 3, 11};
    for (int i = 0; i < 4; i++)
        ref_step(&r, prompt[i] % (int32_t)V, want);
    for (int i = 0; i < 4; i++)
        prompt[i] %= (int32_t)V;
    cr_assert_eq(fl_engine_eval(e, prompt, 4), 0);
    double err = nmse_d(fl_engine_logits(e), want, V);
    printf("engine vs float64: tiny q8_0 tied output: NMSE %.3g\n", err);
    cr_expect_lt(err, 2e-3);
    free(want);
    ref_free(&r);
    fl_engine_free(e);
    fl_model_free(m);
    unlink(path);
    unlink(tied);
}

Test(engine, f64_tiny_f32)
{
    cr_expect_lt(vs_float64("tiny", FL_TYPE_F32, FL_TYPE_F32), 1e-6);
}

Test(engine, f64_stories15M_f32, .timeout = 120)
{
    cr_expect_lt(vs_float64("stories15M", FL_TYPE_F32, FL_TYPE_F32), 1e-6);
}

Test(engine, f64_two_threads_long_prompt, .timeout = 120)
{
    /* 16 prompt tokens on 2 threads: the per-token steps and attention split across threads */
    cr_expect_lt(vs_float64_t("tiny", FL_TYPE_F32, FL_TYPE_F32, 2, 16), 1e-6);
    cr_expect_lt(vs_float64_t("stories15M", FL_TYPE_F32, FL_TYPE_F32, 2, 16), 1e-6);
}

Test(engine, f64_tiny_f32_kv_f16)
{
    cr_expect_lt(vs_float64("tiny", FL_TYPE_F32, FL_TYPE_F16), 1e-5);
}

Test(engine, f64_tiny_quantized)
{
    /* activation quantization to Q8_0 costs about 1e-4 in NMSE; a wrong block layout or
     * scale costs > 1e-1 */
    cr_expect_lt(vs_float64("tiny", FL_TYPE_F16, FL_TYPE_F32), 1e-5);
    cr_expect_lt(vs_float64("tiny", FL_TYPE_Q8_0, FL_TYPE_F16), 2e-3);
    cr_expect_lt(vs_float64("tiny", FL_TYPE_Q5_0, FL_TYPE_F16), 2e-3);
    cr_expect_lt(vs_float64("tiny", FL_TYPE_Q4_0, FL_TYPE_F16), 2e-3);
}

Test(engine, f64_stories15M_quantized, .timeout = 240)
{
    cr_expect_lt(vs_float64("stories15M", FL_TYPE_Q8_0, FL_TYPE_F16), 2e-3);
    cr_expect_lt(vs_float64("stories15M", FL_TYPE_Q4_0, FL_TYPE_F16), 2e-3);
}

/* ---- llama.cpp peer ------------------------------------------------------------------------- */

#define PEER FLARE_TESTDATA "/llamacpp/stories15M-Q8_0"
#define PEER_STEPS 16
#define PEER_VOCAB 32000

/* The "generated_ids:" line of the greedy.txt llama.cpp's run wrote. */
static void peer_greedy(int32_t *ids)
{
    FILE *f = fopen(PEER ".greedy.txt", "r");
    cr_assert(f, "cannot open %s", PEER ".greedy.txt");
    char line[4096];
    int found = 0;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "generated_ids:", 14)) {
            char *p = line + 14;
            for (int i = 0; i < PEER_STEPS; i++)
                ids[i] = (int32_t)strtol(p, &p, 10);
            found = 1;
        }
    fclose(f);
    cr_assert(found, "no generated_ids line in greedy.txt");
}

static void peer_run(uint32_t threads, int scalar, uint32_t kv)
{
    fl_model *m = NULL;
    cr_assert_eq(fl_model_open(&m, PEER ".gguf"), 0, "%s", flare_last_error());
    cr_assert_eq(m->llama.hp.n_vocab, PEER_VOCAB);
    fl_engine *e = make_engine(m, 64, threads, kv, scalar, 0);
    float *want = malloc(sizeof(float) * PEER_VOCAB * PEER_STEPS);
    FILE *f = fopen(PEER ".logits.f32", "rb");
    cr_assert(f);
    cr_assert_eq(fread(want, sizeof(float), PEER_VOCAB * PEER_STEPS, f), PEER_VOCAB * PEER_STEPS);
    fclose(f);
    int32_t greedy[PEER_STEPS];
    peer_greedy(greedy);
    int32_t prompt[5] = {1, 9038, 2501, 263, 931};
    cr_assert_eq(fl_engine_eval(e, prompt, 5), 0, "%s", flare_last_error());
    double worst = 0;
    for (int s = 0; s < PEER_STEPS; s++) {
        const float *got = fl_engine_logits(e);
        double err = t_nmse(got, want + (size_t)s * PEER_VOCAB, PEER_VOCAB);
        worst = err > worst ? err : worst;
        cr_expect_lt(err, 1e-4, "step %d: logits NMSE %.3g vs llama.cpp", s, err);
        int32_t tok = t_argmax(got, PEER_VOCAB);
        cr_expect_eq(tok, greedy[s], "step %d: token %d, llama.cpp chose %d", s, tok, greedy[s]);
        cr_assert_eq(fl_engine_eval(e, &tok, 1), 0);
    }
    printf("engine vs llama.cpp (stories15M-Q8_0, %u thr, %s, kv %s): worst NMSE %.3g\n", threads,
           scalar ? "scalar" : "simd", fl_type_name(kv), worst);
    free(want);
    fl_engine_free(e);
    fl_model_free(m);
}

Test(engine, llamacpp_peer_greedy16)
{
    peer_run(1, 0, FL_TYPE_F16);
}

Test(engine, llamacpp_peer_scalar_2threads)
{
    peer_run(2, 1, FL_TYPE_F16);
}

/* ---- fast paths against the reference paths ------------------------------------------------- */

/* Run the prompt + 6 greedy steps; returns tokens and the logits of every step. */
static void run_greedy(const fl_model *m, fl_engine *e, int32_t *toks, float *logits, int batch1)
{
    uint32_t V = m->llama.hp.n_vocab;
    /* 12 tokens: the per-token steps split across threads from 8 tokens on */
    int32_t prompt[12] = {1, 9038, 2501, 263, 931, 11, 4, 263, 2501, 77, 5, 931};
    if (batch1) {
        for (int i = 0; i < 12; i++)
            cr_assert_eq(fl_engine_eval(e, prompt + i, 1), 0);
    } else {
        cr_assert_eq(fl_engine_eval(e, prompt, 12), 0);
    }
    for (int s = 0; s < 6; s++) {
        memcpy(logits + (size_t)s * V, fl_engine_logits(e), V * sizeof(float));
        toks[s] = t_argmax(fl_engine_logits(e), V);
        cr_assert_eq(fl_engine_eval(e, &toks[s], 1), 0);
    }
}

static void compare_paths(uint32_t type)
{
    char path[512];
    fl_model *m = make_model("stories15M", type, path, sizeof path);
    uint32_t V = m->llama.hp.n_vocab;
    float *la = malloc(sizeof(float) * V * 6), *lb = malloc(sizeof(float) * V * 6);
    int32_t ta[6], tb[6];
    struct {
        uint32_t threads;
        int scalar, batch1;
    } cfg[3] = {{2, 0, 0}, {1, 1, 0}, {2, 0, 1}};
    fl_engine *e = make_engine(m, 64, 1, FL_TYPE_F16, 0, 0); /* SIMD, 1 thread, batched */
    run_greedy(m, e, ta, la, 0);
    fl_engine_free(e);
    for (int c = 0; c < 3; c++) {
        e = make_engine(m, 64, cfg[c].threads, FL_TYPE_F16, cfg[c].scalar, 0);
        run_greedy(m, e, tb, lb, cfg[c].batch1);
        fl_engine_free(e);
        for (int s = 0; s < 6; s++) {
            double err = t_nmse(lb + (size_t)s * V, la + (size_t)s * V, V);
            /* float weights: rounding order only; quantized: a last-bit difference can flip
             * one activation's Q8_0 rounding, which moves the logits by up to ~1e-4 */
            double tol = type == FL_TYPE_F16 || type == FL_TYPE_F32 ? 1e-6 : 1e-3;
            cr_expect_lt(err, tol, "%s cfg %d step %d: NMSE %.3g", fl_type_name(type), c, s, err);
            cr_expect_eq(ta[s], tb[s], "%s cfg %d step %d: token %d vs %d", fl_type_name(type), c,
                         s, tb[s], ta[s]);
        }
    }
    free(la);
    free(lb);
    fl_model_free(m);
    unlink(path);
}

Test(engine, simd_scalar_threads_batch_q4_0, .timeout = 120)
{
    compare_paths(FL_TYPE_Q4_0);
}

Test(engine, simd_scalar_threads_batch_f16, .timeout = 120)
{
    compare_paths(FL_TYPE_F16);
}

/* The engine's matrix kernels against the scalar vec_dot reference, every type, T = 1 and 5. */
Test(engine, mm_rows_vs_vec_dot)
{
    const uint32_t types[5] = {FL_TYPE_F32, FL_TYPE_F16, FL_TYPE_Q8_0, FL_TYPE_Q5_0, FL_TYPE_Q4_0};
    const uint32_t k = 256, rows = 37, T = 5;
    float *wf = malloc(sizeof(float) * k * rows), *x = malloc(sizeof(float) * k * T);
    for (uint32_t i = 0; i < k * rows; i++)
        wf[i] = (float)sin(i * 0.37) * 0.1f;
    for (uint32_t i = 0; i < k * T; i++)
        x[i] = (float)cos(i * 0.11);
    fl_mm_kernels kern;
    fl_mm_select(&kern, 0);
    block_q8_0 *xq = malloc(sizeof(block_q8_0) * (k / 32) * T);
    fl_mm_quantize(&kern, x, xq, T, k);
    for (int ti = 0; ti < 5; ti++) {
        uint64_t rb = fl_row_bytes(types[ti], k);
        char *wd = malloc(rb * rows);
        for (uint32_t r = 0; r < rows; r++)
            cr_assert_eq(fl_quantize_row(types[ti], wf + r * k, wd + r * rb, k), 0);
        fl_weight w = {wd, types[ti], k, rows, rb};
        float y0[37 * 5], y1[37 * 5];
        fl_mm_rows_ref(&w, x, xq, T, 0, rows, y0);
        fl_mm_rows(&kern, &w, x, xq, T, 3, 20, y1); /* split ranges as threads do */
        fl_mm_rows(&kern, &w, x, xq, T, 0, 3, y1);
        fl_mm_rows(&kern, &w, x, xq, T, 20, rows, y1);
        cr_expect_lt(t_nmse(y1, y0, rows * T), 1e-10, "%s (%s)", fl_type_name(types[ti]), kern.name);
        free(wd);
    }
    free(wf), free(x), free(xq);
}

/* ---- limits --------------------------------------------------------------------------------- */

Test(engine, context_full_and_bad_token)
{
    char path[512];
    fl_model *m = make_model("tiny", FL_TYPE_Q8_0, path, sizeof path);
    fl_engine *e = make_engine(m, 8, 2, FL_TYPE_F16, 0, 4);
    int32_t toks[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    cr_expect_eq(fl_engine_eval(e, toks, 9), FLARE_ERANGE);
    cr_expect(strstr(flare_last_error(), "context"), "%s", flare_last_error());
    cr_expect_eq(fl_engine_n_past(e), 0);
    int32_t bad = (int32_t)m->llama.hp.n_vocab;
    cr_expect_eq(fl_engine_eval(e, &bad, 1), FLARE_EINVAL);
    cr_expect_eq(fl_engine_eval(e, toks, 8), 0); /* 8 in chunks of 4 fills it exactly */
    cr_expect_eq(fl_engine_eval(e, toks, 1), FLARE_ERANGE);
    cr_expect_eq(fl_engine_kv_bytes(e), 2ull * m->llama.hp.n_layer * 8 *
                                            m->llama.hp.n_head_kv * m->llama.hp.head_dim * 2);
    fl_engine_free(e);
    fl_model_free(m);
    unlink(path);
}

/* ---- attention and SwiGLU: SIMD against scalar ---------------------------------------------- */

Test(engine, att_head_simd_vs_scalar)
{
    const uint32_t hds[4] = {16, 48, 64, 40}, n_kvs[5] = {1, 7, 8, 33, 130};
    fl_att_head_fn f16_simd = fl_att_select(1, 1), f32_simd = fl_att_select(0, 1);
    float q[64], sc[256], o0[64], o1[64];
    uint16_t kh[130 * 80], vh[130 * 80];
    float kf[130 * 80], vf[130 * 80];
    for (uint32_t i = 0; i < 130 * 80; i++) {
        kf[i] = (float)sin(i * 0.7) * 2.0f;
        vf[i] = (float)cos(i * 0.3);
        kh[i] = fl_fp32_to_fp16(kf[i]);
        vh[i] = fl_fp32_to_fp16(vf[i]);
    }
    for (int h = 0; h < 4; h++)
        for (int n = 0; n < 5; n++) {
            uint32_t hd = hds[h], nk = n_kvs[n];
            for (uint32_t i = 0; i < hd; i++)
                q[i] = (float)sin(i * 1.3 + n);
            fl_att_head_f16_scalar(q, kh, vh, 80, nk, hd, 0.25f, sc, o0);
            f16_simd(q, kh, vh, 80, nk, hd, 0.25f, sc, o1);
            cr_expect_lt(t_nmse(o1, o0, hd), 1e-10, "f16 hd %u n_kv %u", hd, nk);
            fl_att_head_f32_scalar(q, kf, vf, 80, nk, hd, 0.25f, sc, o0);
            f32_simd(q, kf, vf, 80, nk, hd, 0.25f, sc, o1);
            cr_expect_lt(t_nmse(o1, o0, hd), 1e-10, "f32 hd %u n_kv %u", hd, nk);
        }
    float g0[77], g1[77], u[77];
    for (int i = 0; i < 77; i++) {
        g0[i] = g1[i] = (float)(i - 38) * 0.5f;
        u[i] = (float)cos(i);
    }
    fl_swiglu_scalar(g0, u, 77);
    fl_swiglu_select(1)(g1, u, 77);
    cr_expect_lt(t_nmse(g1, g0, 77), 1e-12);

    /* RMSNorm, RoPE (n_rot 8..48, with a scalar tail), fp16 rows: bit-exact or rounding only */
    float r0[77], r1[77], cs[48];
    fl_rmsnorm_scalar(r0, u, g1, 77, 1e-5f);
    fl_rmsnorm_select(1)(r1, u, g1, 77, 1e-5f);
    cr_expect_lt(t_nmse(r1, r0, 77), 1e-12);
    for (uint32_t n_rot = 8; n_rot <= 48; n_rot += 20) {
        for (uint32_t i = 0; i < n_rot; i += 2)
            cs[i] = (float)cos(i * 0.4), cs[i + 1] = (float)sin(i * 0.4);
        memcpy(r0, u, sizeof r0);
        memcpy(r1, u, sizeof r1);
        fl_rope_scalar(r0, cs, n_rot);
        fl_rope_select(1)(r1, cs, n_rot);
        cr_expect_lt(t_nmse(r1, r0, n_rot), 1e-12, "n_rot %u", n_rot);
        cr_expect_float_eq(r0[n_rot], u[n_rot], 0, "dims past n_rot untouched");
    }
    uint16_t h0[77], h1[77];
    fl_f32_to_f16_scalar(g0, h0, 77);
    fl_f32_to_f16_select(1)(g0, h1, 77);
    cr_expect_eq(memcmp(h0, h1, sizeof h0), 0, "fp16 rows identical");
}

/* ---- thread pool ---------------------------------------------------------------------------- */

typedef struct {
    int runs[64];   /* times each chunk ran in this launch */
    int bad_ith;
} pool_probe;

static void pool_task(void *arg, int chunk, int ith)
{
    pool_probe *p = arg;
    __atomic_fetch_add(&p->runs[chunk], 1, __ATOMIC_RELAXED);
    if (ith < 0 || ith >= 3)
        __atomic_store_n(&p->bad_ith, 1, __ATOMIC_RELAXED);
}

Test(engine, threadpool_every_chunk_once)
{
    fl_threadpool *pool;
    cr_assert_eq(fl_threadpool_new(&pool, 3), 0);
    cr_expect_eq(fl_threadpool_size(pool), 3);
    for (int it = 0; it < 3000; it++) {
        pool_probe p = {{0}, 0};
        int n = 1 + it % 64;
        fl_threadpool_run(pool, pool_task, &p, n);
        for (int c = 0; c < 64; c++)
            if (p.runs[c] != (c < n))
                cr_assert_fail("launch %d: chunk %d of %d ran %d times", it, c, n, p.runs[c]);
        cr_assert_eq(p.bad_ith, 0);
        if (it % 1000 == 999) /* let the workers fall asleep, then wake them */
            usleep(5000);
    }
    fl_threadpool_free(pool);
}
