/* tests/host/test_scheduler.c: the layer scheduler on the csim device against the CPU reference
 * engine (an independent implementation of the same forward pass) and against the tokens
 * llama.cpp chose for stories15M-Q8_0; refusals of models above the build's limits; bad input.
 *
 * Models: `tiny` (flare mkmodel's preset: dim 64, 2 layers, 4 heads / 2 kv heads) written in
 * Q4_0, Q5_0, Q8_0 and F32 (converted to Q8_0 at upload) with the library's mkmodel, and the
 * llama.cpp-written stories15M-Q8_0 file from the shared test data. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "driver/dev.h"
#include "flare/error.h"
#include "flare/ggml.h"
#include "host/mkmodel.h"
#include "host/model.h"
#include "hls/hls.h"
#include "host/scheduler.h"
#include "ref/engine_cpu.h"
#include "ref/quants.h"
#include "tests/common/testutil.h"
#include "tests/hls/hls_chain.h"

#define STORIES FLARE_TESTDATA "/llamacpp/stories15M-Q8_0.gguf"
#define GREEDY FLARE_TESTDATA "/llamacpp/stories15M-Q8_0.greedy.txt"

/* ---- helpers -------------------------------------------------------------------------------- */

static void tiny_model(char *path, size_t cap, uint32_t type, const char *tag,
                       void (*tweak)(fl_mkmodel_opts *))
{
    fl_mkmodel_opts o;
    cr_assert_eq(fl_mkmodel_preset(&o, "tiny"), 0);
    o.type = type;
    o.seed = 7;
    o.n_threads = 1;
    if (tweak)
        tweak(&o);
    mkdir(FLARE_TMPDIR, 0755);
    snprintf(path, cap, "%s/sched_%s_%d.gguf", FLARE_TMPDIR, tag, (int)getpid());
    cr_assert_eq(fl_mkmodel_write(&o, path), 0, "%s", flare_last_error());
}

typedef struct {
    fl_model *model;
    fl_dev *dev;
    fl_sched *s;
    fl_engine *e;
} pair;

static void open_pair(pair *p, const char *path, uint32_t n_batch)
{
    memset(p, 0, sizeof *p);
    cr_assert_eq(fl_model_open(&p->model, path), 0, "%s", flare_last_error());
    cr_assert_eq(fl_dev_open("csim", &p->dev), 0, "%s", flare_last_error());
    fl_sched_opts so;
    fl_sched_default_opts(&so);
    so.progress = 0;
    so.n_batch = n_batch;
    cr_assert_eq(fl_sched_new(&p->s, &p->model->llama, p->dev, &so), 0, "%s",
                 flare_last_error());
    fl_engine_opts eo;
    fl_engine_default_opts(&eo);
    eo.n_threads = 1;
    eo.n_ctx = fl_sched_n_ctx(p->s);
    cr_assert_eq(fl_engine_new(&p->e, &p->model->llama, &eo), 0, "%s", flare_last_error());
}

static void close_pair(pair *p)
{
    fl_engine_free(p->e);
    fl_sched_free(p->s);
    fl_dev_close(p->dev);
    fl_model_free(p->model);
}

/* Prompt then greedy steps (the reference's choices fed to both); every logits row must be
 * within max_nmse of the reference and pick the same token. Returns the worst NMSE. */
static double compare_run(pair *p, const int32_t *prompt, uint32_t n_prompt, uint32_t steps,
                          double max_nmse)
{
    uint32_t nv = p->model->llama.hp.n_vocab;
    double worst = 0;
    cr_assert_eq(fl_engine_eval(p->e, prompt, n_prompt), 0, "%s", flare_last_error());
    cr_assert_eq(fl_sched_eval(p->s, prompt, n_prompt), 0, "%s", flare_last_error());
    for (uint32_t step = 0;; step++) {
        const float *r = fl_engine_logits(p->e), *g = fl_sched_logits(p->s);
        double e = t_nmse(g, r, nv);
        worst = e > worst ? e : worst;
        cr_assert(e < max_nmse, "step %u: logits NMSE %g vs the CPU engine", step, e);
        /* same top-1, unless the reference's own gap between the two is within the noise (the
         * tiny models' random weights give near-ties) */
        int32_t t = t_argmax(r, nv), tg = t_argmax(g, nv);
        if (tg != t) {
            double e2 = 0;
            for (uint32_t i = 0; i < nv; i++)
                e2 += ((double)g[i] - r[i]) * ((double)g[i] - r[i]);
            cr_assert((double)r[t] - r[tg] <= 4 * sqrt(e2 / nv),
                      "step %u: top-1 %d, the CPU engine's %d (gap %g)", step, tg, t,
                      (double)r[t] - r[tg]);
        }
        if (step == steps)
            break;
        cr_assert_eq(fl_engine_eval(p->e, &t, 1), 0);
        cr_assert_eq(fl_sched_eval(p->s, &t, 1), 0, "%s", flare_last_error());
    }
    cr_assert_eq(fl_sched_n_past(p->s), n_prompt + steps);
    return worst;
}

/* ---- tiny models in each weight type -------------------------------------------------------- */

static void tiny_vs_cpu(uint32_t type, const char *tag, uint32_t n_batch)
{
    char path[512];
    tiny_model(path, sizeof path, type, tag, NULL);
    pair p;
    open_pair(&p, path, n_batch);
    const int32_t prompt[7] = {1, 5, 17, 42, 99, 3, 250};
    double w = compare_run(&p, prompt, 7, 8, 5e-4);
    cr_log_info("scheduler vs cpu, tiny %s (batch %u): worst logits NMSE %.3g", tag,
                fl_sched_n_batch(p.s), w);
    fl_sched_stats st;
    fl_sched_get_stats(p.s, &st);
    cr_assert_eq(st.n_converted, type == FL_TYPE_F32 || type == FL_TYPE_F16 ? 2u * 7u + 1u : 0u);
    cr_assert_eq(st.n_tokens, 15u);
    cr_assert_eq(st.hook_read_bytes, 0u, "no hook, no read-backs of the residual stream");
    cr_assert_eq(st.n_passes, 8u + (7u + fl_sched_n_batch(p.s) - 1) / fl_sched_n_batch(p.s));
    cr_assert_eq(st.read_bytes, st.n_passes * p.model->llama.hp.n_vocab * 4u,
                 "only logits come back, once per pass");
    close_pair(&p);
    remove(path);
}

Test(scheduler, tiny_q4_0)
{
    tiny_vs_cpu(FL_TYPE_Q4_0, "q4_0", 0);
}
Test(scheduler, tiny_q5_0)
{
    tiny_vs_cpu(FL_TYPE_Q5_0, "q5_0", 0);
}
Test(scheduler, tiny_q8_0)
{
    tiny_vs_cpu(FL_TYPE_Q8_0, "q8_0", 0);
}
/* prompt of 7 in passes of 3, 3, 1: the split must not change the result */
Test(scheduler, tiny_q8_0_small_batches)
{
    tiny_vs_cpu(FL_TYPE_Q8_0, "q8_0_b3", 3);
}

/* F32 matrices go up as Q8_0; the CPU engine uses them in F32, so the weight rounding adds to the
 * difference: still within the quantized-matmul bound */
Test(scheduler, tiny_f32_converted)
{
    tiny_vs_cpu(FL_TYPE_F32, "f32", 0);
}
Test(scheduler, tiny_f16_converted)
{
    tiny_vs_cpu(FL_TYPE_F16, "f16", 0);
}

/* ---- bit-exact against the kernels called directly ----------------------------------------- */

/* Prompt of 5 in passes of 3 + 2, then 4 decode steps: every logits vector bit-identical. */
Test(scheduler, bit_exact_with_direct_kernel_calls)
{
    char path[512];
    tiny_model(path, sizeof path, FL_TYPE_Q5_0, "exact", NULL);
    pair p;
    open_pair(&p, path, 3);
    const fl_llama *m = &p.model->llama;
    uint32_t nv = m->hp.n_vocab;
    fl_hls_state *st;
    cr_assert_eq(fl_hls_state_open(&st), 0);
    float *want = malloc(sizeof(float) * nv);
    int32_t toks[9] = {1, 11, 22, 33, 44, 0, 0, 0, 0};
    cr_assert_eq(fl_sched_eval(p.s, toks, 5), 0, "%s", flare_last_error());
    hls_chain_forward(st, m, toks, 3, 0, 0, want);
    hls_chain_forward(st, m, toks + 3, 2, 3, 0, want);
    cr_assert_arr_eq(fl_sched_logits(p.s), want, sizeof(float) * nv, "prompt logits differ");
    for (uint32_t i = 5; i < 9; i++) {
        toks[i] = t_argmax(want, nv);
        cr_assert_eq(fl_sched_eval(p.s, &toks[i], 1), 0, "%s", flare_last_error());
        hls_chain_forward(st, m, &toks[i], 1, i, 0, want);
        cr_assert_arr_eq(fl_sched_logits(p.s), want, sizeof(float) * nv, "step %u differs", i);
    }
    free(want);
    fl_hls_state_close(st);
    close_pair(&p);
    remove(path);
}

/* ---- stories15M: llama.cpp's file and its greedy tokens -------------------------------------- */

Test(scheduler, stories15m_llamacpp_greedy)
{
    int32_t prompt[5], chosen[16];
    int n_chosen = 0;
    char line[4096];
    FILE *f = fopen(GREEDY, "r");
    cr_assert(f, "%s", GREEDY);
    while (fgets(line, sizeof line, f)) {
        int s, id;
        if (!strncmp(line, "prompt_ids:", 11))
            cr_assert_eq(sscanf(line + 11, "%d %d %d %d %d", &prompt[0], &prompt[1], &prompt[2],
                                &prompt[3], &prompt[4]),
                         5);
        else if (sscanf(line, "step %d: id %d", &s, &id) == 2 && s == n_chosen && n_chosen < 16)
            chosen[n_chosen++] = id;
    }
    fclose(f);
    cr_assert_eq(n_chosen, 16);

    pair p;
    open_pair(&p, STORIES, 0);
    uint32_t nv = p.model->llama.hp.n_vocab;
    cr_assert_eq(fl_engine_eval(p.e, prompt, 5), 0);
    cr_assert_eq(fl_sched_eval(p.s, prompt, 5), 0, "%s", flare_last_error());
    double worst = 0;
    for (int step = 0; step < 16; step++) {
        const float *g = fl_sched_logits(p.s);
        double e = t_nmse(g, fl_engine_logits(p.e), nv);
        worst = e > worst ? e : worst;
        cr_assert(e < 5e-4, "step %d: NMSE %g vs the CPU engine", step, e);
        /* the device's own greedy choice must be llama.cpp's */
        int32_t t = t_argmax(g, nv);
        cr_assert_eq(t, chosen[step], "step %d: device chose %d, llama.cpp %d", step, t,
                     chosen[step]);
        cr_assert_eq(fl_engine_eval(p.e, &t, 1), 0);
        cr_assert_eq(fl_sched_eval(p.s, &t, 1), 0, "%s", flare_last_error());
    }
    cr_log_info("scheduler vs cpu, stories15M-Q8_0, 16 greedy steps: worst NMSE %.3g", worst);

    /* reset: the same prompt again gives the same logits as the first time */
    float *first = malloc(sizeof(float) * nv);
    fl_sched_reset(p.s);
    fl_engine_reset(p.e);
    cr_assert_eq(fl_sched_eval(p.s, prompt, 5), 0);
    cr_assert_eq(fl_engine_eval(p.e, prompt, 5), 0);
    memcpy(first, fl_sched_logits(p.s), sizeof(float) * nv);
    cr_assert(t_nmse(first, fl_engine_logits(p.e), nv) < 5e-4);
    free(first);
    close_pair(&p);
}

/* ---- hooks ---------------------------------------------------------------------------------- */

typedef struct {
    uint32_t calls, rows, last_layer;
    double sumsq;
} hook_acc;

static void count_hook(void *user, uint32_t layer, const float *x, uint32_t T)
{
    hook_acc *a = user;
    a->calls++;
    a->rows += T;
    a->last_layer = layer;
    (void)x;
}

Test(scheduler, hook_sees_each_layer_and_costs_transfers)
{
    char path[512];
    tiny_model(path, sizeof path, FL_TYPE_Q8_0, "hook", NULL);
    pair p;
    open_pair(&p, path, 4);
    hook_acc a = {0};
    fl_sched_set_hook(p.s, count_hook, &a);
    const int32_t prompt[6] = {1, 2, 3, 4, 5, 6};
    cr_assert_eq(fl_sched_eval(p.s, prompt, 6), 0);
    uint32_t L = p.model->llama.hp.n_layer, d = p.model->llama.hp.n_embd;
    cr_assert_eq(a.calls, 2 * L, "two passes (4 + 2 tokens), one call per layer each");
    cr_assert_eq(a.rows, 6 * L);
    cr_assert_eq(a.last_layer, L - 1);
    fl_sched_stats st;
    fl_sched_get_stats(p.s, &st);
    cr_assert_eq(st.hook_read_bytes, (uint64_t)6 * L * d * 4u);
    close_pair(&p);
    remove(path);
}

/* ---- refusals and bad input ----------------------------------------------------------------- */

static void many_layers(fl_mkmodel_opts *o)
{
    o->n_layers = FL_MAX_LAYERS + 1;
}
static void wide_heads(fl_mkmodel_opts *o)
{
    o->dim = 256;
    o->n_heads = 2;
    o->n_kv_heads = 2; /* head_dim 128 */
}

static void refused(void (*tweak)(fl_mkmodel_opts *), const char *tag, const char *limit)
{
    char path[512];
    tiny_model(path, sizeof path, FL_TYPE_Q8_0, tag, tweak);
    fl_model *m;
    fl_dev *dev;
    fl_sched *s = (fl_sched *)1;
    cr_assert_eq(fl_model_open(&m, path), 0, "%s", flare_last_error());
    cr_assert_eq(fl_dev_open("csim", &dev), 0);
    int rc = fl_sched_new(&s, &m->llama, dev, NULL);
    cr_assert_eq(rc, FLARE_EUNSUP);
    cr_assert_null(s);
    const char *msg = flare_last_error();
    cr_assert(strstr(msg, limit) && strstr(msg, "EXTRA_CFLAGS=-D"), "message: %s", msg);
    fl_dev_close(dev);
    fl_model_free(m);
    remove(path);
}

Test(scheduler, refuses_too_many_layers)
{
    refused(many_layers, "layers", "FL_MAX_LAYERS");
}
Test(scheduler, refuses_head_dim_above_build)
{
    refused(wide_heads, "hd", "FL_MAX_HEAD_DIM");
}

Test(scheduler, refuses_context_and_batch_above_build)
{
    char path[512];
    tiny_model(path, sizeof path, FL_TYPE_Q8_0, "ctx", NULL);
    fl_model *m;
    fl_dev *dev;
    fl_sched *s;
    cr_assert_eq(fl_model_open(&m, path), 0);
    cr_assert_eq(fl_dev_open("csim", &dev), 0);
    fl_sched_opts o;
    fl_sched_default_opts(&o);
    o.progress = 0;
    o.n_ctx = FL_MAX_CTX + 1;
    cr_assert_eq(fl_sched_new(&s, &m->llama, dev, &o), FLARE_EUNSUP);
    cr_assert(strstr(flare_last_error(), "FL_MAX_CTX"), "%s", flare_last_error());
    o.n_ctx = 0;
    o.n_batch = FL_MAX_T + 1;
    cr_assert_eq(fl_sched_new(&s, &m->llama, dev, &o), FLARE_EUNSUP);
    cr_assert(strstr(flare_last_error(), "FL_MAX_T"), "%s", flare_last_error());
    fl_dev_close(dev);
    fl_model_free(m);
    remove(path);
}

Test(scheduler, bad_tokens_and_full_context)
{
    char path[512];
    tiny_model(path, sizeof path, FL_TYPE_Q4_0, "bad", NULL);
    pair p;
    open_pair(&p, path, 0);
    uint32_t nv = p.model->llama.hp.n_vocab, n_ctx = fl_sched_n_ctx(p.s);
    int32_t bad[2] = {1, (int32_t)nv};
    cr_assert_eq(fl_sched_eval(p.s, bad, 2), FLARE_EINVAL);
    bad[1] = -1;
    cr_assert_eq(fl_sched_eval(p.s, bad, 2), FLARE_EINVAL);
    cr_assert_eq(fl_sched_n_past(p.s), 0u, "nothing changed");
    int32_t *many = calloc(n_ctx + 1, sizeof *many);
    cr_assert_eq(fl_sched_eval(p.s, many, n_ctx + 1), FLARE_ERANGE);
    cr_assert(strstr(flare_last_error(), "context"), "%s", flare_last_error());
    free(many);
    close_pair(&p);
    remove(path);
}
