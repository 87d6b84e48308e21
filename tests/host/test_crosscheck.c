/* tests/host/test_crosscheck.c: the device-vs-reference cross-check and `flare check`.
 *
 * The check must pass on good input (stories15M-Q8_0 from llama.cpp, a tiny mkmodel model) and
 * must FAIL, naming the layer and the block, when one weight block of the device's copy is
 * corrupted (the host's copy, which the reference reads, stays intact). `flare check` is run
 * through popen for its table, verdict and exit status, and with bad input. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "driver/dev.h"
#include "flare/error.h"
#include "flare/fp16.h"
#include "flare/ggml.h"
#include "host/crosscheck.h"
#include "tests/common/testutil.h"
#include "host/mkmodel.h"
#include "host/model.h"
#include "host/scheduler.h"
#include "ref/engine_cpu.h"

#define STORIES FLARE_TESTDATA "/llamacpp/stories15M-Q8_0.gguf"

typedef struct {
    fl_model *model;
    fl_dev *dev;
    fl_sched *s;
    fl_engine *e;
    fl_xcheck *x;
} rig;

static void open_rig_opts(rig *r, const char *path, uint32_t n_batch, int forced)
{
    memset(r, 0, sizeof *r);
    cr_assert_eq(fl_model_open(&r->model, path), 0, "%s", flare_last_error());
    cr_assert_eq(fl_dev_open("csim", &r->dev), 0, "%s", flare_last_error());
    fl_sched_opts so;
    fl_sched_default_opts(&so);
    so.progress = 0;
    so.n_batch = n_batch;
    cr_assert_eq(fl_sched_new(&r->s, &r->model->llama, r->dev, &so), 0, "%s",
                 flare_last_error());
    fl_engine_opts eo;
    fl_engine_default_opts(&eo);
    eo.n_threads = 1;
    eo.n_ctx = fl_sched_n_ctx(r->s);
    cr_assert_eq(fl_engine_new(&r->e, &r->model->llama, &eo), 0, "%s", flare_last_error());
    fl_xcheck_opts xo;
    fl_xcheck_default_opts(&xo);
    xo.forced = forced;
    cr_assert_eq(fl_xcheck_new(&r->x, &r->model->llama, r->e, r->s, &xo), 0);
}

static void open_rig(rig *r, const char *path, uint32_t n_batch)
{
    open_rig_opts(r, path, n_batch, 1);
}

static void close_rig(rig *r)
{
    fl_xcheck_free(r->x);
    fl_engine_free(r->e);
    fl_sched_free(r->s);
    fl_dev_close(r->dev);
    fl_model_free(r->model);
}

/* Run the table into a memory stream and return it (caller frees). */
static char *report(rig *r, int *rc)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    cr_assert(f);
    *rc = fl_xcheck_report(r->x, f);
    fclose(f);
    return buf;
}

static const int32_t PROMPT[6] = {1, 9038, 2501, 263, 931, 29892};

/* ---- pass on good input ---------------------------------------------------------------------- */

Test(crosscheck, stories15m_passes)
{
    rig r;
    open_rig(&r, STORIES, 4); /* 6 prompt tokens: two prefill passes (4 + 2) */
    int32_t out[8];
    int rc = fl_crosscheck_run(r.x, PROMPT, 6, 8, out);
    const char *why;
    cr_assert_eq(rc, 0, "%s", fl_xcheck_failed(r.x, &why) ? why : flare_last_error());
    int rrc;
    char *t = report(&r, &rrc);
    cr_assert_eq(rrc, 0);
    cr_assert(strstr(t, "check: PASS"), "%s", t);
    cr_assert(strstr(t, "per layer"), "%s", t);
    cr_log_info("%s", t);
    free(t);
    cr_assert_eq(fl_xcheck_fail_layer(r.x, NULL), -1);
    close_rig(&r);
}

/* free-running: the device's own residual stream end to end, depth-scaled thresholds; and the
 * forced mode really forces: the device's hook traffic includes the written inputs */
Test(crosscheck, stories15m_free_running_passes)
{
    rig r;
    open_rig_opts(&r, STORIES, 0, 0);
    int rc = fl_crosscheck_run(r.x, PROMPT, 6, 6, NULL);
    const char *why;
    cr_assert_eq(rc, 0, "%s", fl_xcheck_failed(r.x, &why) ? why : flare_last_error());
    int rrc;
    char *t = report(&r, &rrc);
    cr_assert(strstr(t, "check: PASS (free)"), "%s", t);
    free(t);
    fl_sched_stats st;
    fl_sched_get_stats(r.s, &st);
    cr_assert_eq(st.hook_write_bytes, 0u, "free-running: no forced inputs");
    close_rig(&r);

    open_rig(&r, STORIES, 0);
    cr_assert_eq(fl_crosscheck_run(r.x, PROMPT, 6, 2, NULL), 0);
    fl_sched_get_stats(r.s, &st);
    uint32_t L = r.model->llama.hp.n_layer, d = r.model->llama.hp.n_embd;
    /* 3 passes (6 + 1 + 1 tokens): layers 1..L-1 and the output get the reference's rows */
    cr_assert_eq(st.hook_write_bytes, (uint64_t)8 * L * d * 4u);
    close_rig(&r);
}

Test(crosscheck, tiny_q4_0_passes)
{
    fl_mkmodel_opts o;
    cr_assert_eq(fl_mkmodel_preset(&o, "tiny"), 0);
    o.type = FL_TYPE_Q4_0;
    o.n_threads = 1;
    char path[512];
    mkdir(FLARE_TMPDIR, 0755);
    snprintf(path, sizeof path, "%s/xcheck_tiny_%d.gguf", FLARE_TMPDIR, (int)getpid());
    cr_assert_eq(fl_mkmodel_write(&o, path), 0, "%s", flare_last_error());
    rig r;
    open_rig(&r, path, 0);
    const int32_t p[4] = {1, 20, 30, 40};
    int rc = fl_crosscheck_run(r.x, p, 4, 6, NULL);
    const char *why;
    cr_assert_eq(rc, 0, "%s", fl_xcheck_failed(r.x, &why) ? why : flare_last_error());
    close_rig(&r);
    remove(path);
}

/* ---- fail when the device's copy of one weight block is wrong -------------------------------- */

/* Overwrite the fp16 scale of block `blk` of `name` on the device with 1.0 (the stored scales of
 * these weights are ~1e-3): one block of 32 weights, 1000x too large. */
static void corrupt(rig *r, const char *name, uint64_t blk)
{
    fl_dev_buf b;
    uint64_t off, bytes;
    uint32_t type;
    cr_assert_eq(fl_sched_weight(r->s, name, &b, &off, &bytes, &type), 0, "%s",
                 flare_last_error());
    cr_assert_eq(type, FL_TYPE_Q8_0);
    uint8_t scale[2] = {0x00, 0x3C}; /* fp16 1.0, little-endian */
    cr_assert_eq(fl_dev_write(fl_sched_device(r->s), &b, off + blk * 34u, scale, 2), 0);
}

static void corrupted_fails(const char *name, int layer, const char *op)
{
    rig r;
    open_rig(&r, STORIES, 0);
    corrupt(&r, name, 3);
    int rc = fl_crosscheck_run(r.x, PROMPT, 6, 4, NULL);
    cr_assert_eq(rc, 1, "the corrupted block must make the check fail (rc %d)", rc);
    const char *got_op, *why;
    cr_assert(fl_xcheck_failed(r.x, &why));
    cr_assert_eq(fl_xcheck_fail_layer(r.x, &got_op), layer, "%s", why);
    cr_assert_str_eq(got_op, op, "%s", why);
    int rrc;
    char *t = report(&r, &rrc);
    cr_assert_eq(rrc, 1);
    char want[64];
    snprintf(want, sizeof want, "check: FAIL: first divergence at layer %d, %s", layer, op);
    cr_assert(strstr(t, want), "want '%s' in:\n%s", want, t);
    cr_log_info("corrupted %s: %s", name, why);
    free(t);
    close_rig(&r);
}

Test(crosscheck, corrupted_ffn_down_fails_at_layer_1)
{
    corrupted_fails("blk.1.ffn_down", 1, "ffn");
}

Test(crosscheck, corrupted_attn_output_fails_at_layer_2)
{
    corrupted_fails("blk.2.attn_output", 2, "attention");
}

/* ---- flare check ----------------------------------------------------------------------------- */

/* Run a command; returns its exit status, its output (truncated to cap) in out. */
static int sh(const char *cmd, char *out, size_t cap)
{
    char *o;
    int st = t_run(cmd, &o);
    snprintf(out, cap, "%s", o);
    free(o);
    return st;
}

Test(crosscheck, flare_check_cli_passes, .timeout = 120)
{
    static char out[1 << 16];
    int rc = sh(FLARE_BIN " check -m " STORIES " --device csim --ref cpu -t 1 -n 4 2>&1", out,
                sizeof out);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "check: PASS"), "%s", out);
    cr_assert(strstr(out, "prompt 3:"), "the long prompt ran: %s", out);
    cr_assert(strstr(out, "  layer   worst NMSE    max abs   threshold"), "%s", out);
    /* the verdict is the last line */
    size_t n = strlen(out);
    while (n && out[n - 1] == '\n')
        out[--n] = 0;
    const char *last = strrchr(out, '\n');
    cr_assert(last && !strncmp(last + 1, "check: PASS", 11), "%s", out);
}

Test(crosscheck, flare_check_cli_bad_input)
{
    static char out[4096];
    cr_assert_eq(sh(FLARE_BIN " check 2>&1", out, sizeof out), 1);
    cr_assert(strstr(out, "-m MODEL.gguf is required"), "%s", out);
    cr_assert_eq(sh(FLARE_BIN " check -m /nonexistent.gguf 2>&1", out, sizeof out), 1);
    cr_assert(strchr(out, '\n') == out + strlen(out) - 1, "one line: %s", out);
    cr_assert_eq(sh(FLARE_BIN " check -m " STORIES " --device nope 2>&1", out, sizeof out), 1);
    cr_assert(strstr(out, "--device") && strstr(out, "nope"), "%s", out);
    cr_assert_eq(sh(FLARE_BIN " check -m " STORIES " --ref cuda 2>&1", out, sizeof out), 1);
    cr_assert(strstr(out, "--ref"), "%s", out);
    cr_assert_eq(sh(FLARE_BIN " check -m " STORIES " -b 0 2>&1", out, sizeof out), 1);
    cr_assert(strstr(out, "-b"), "%s", out);
}

/* ---- an engine as the device (flare run --device cuda --check cpu) ------------------------- */

/* Two CPU engines on the same tokens through fl_xcheck_new_engine, the device one on `dev_m`
 * (scalar kernels, so the two sum in different orders). */
static fl_xcheck *engine_pair(const fl_model *m, const fl_llama *dev_m, fl_engine **ref,
                              fl_engine **dev)
{
    fl_engine_opts eo;
    fl_engine_default_opts(&eo);
    eo.n_threads = 1;
    eo.n_ctx = 64;
    cr_assert_eq(fl_engine_new(ref, &m->llama, &eo), 0, "%s", flare_last_error());
    eo.scalar = 1;
    cr_assert_eq(fl_engine_new(dev, dev_m, &eo), 0, "%s", flare_last_error());
    fl_xref r, d;
    fl_xref_cpu(&r, *ref);
    fl_xref_cpu(&d, *dev);
    d.name = "cpu-scalar";
    fl_xcheck_opts xo;
    fl_xcheck_default_opts(&xo); /* forced asked for: an engine device runs free regardless */
    fl_xcheck *x = NULL;
    cr_assert_eq(fl_xcheck_new_engine(&x, &m->llama, &r, &d, 4, &xo), 0, "%s",
                 flare_last_error());
    return x;
}

Test(crosscheck, engine_device_passes_free_running)
{
    fl_model *m = NULL;
    cr_assert_eq(fl_model_open(&m, STORIES), 0, "%s", flare_last_error());
    fl_engine *ref, *dev;
    fl_xcheck *x = engine_pair(m, &m->llama, &ref, &dev);
    int rc = fl_crosscheck_run(x, PROMPT, 6, 4, NULL);
    const char *why;
    cr_assert_eq(rc, 0, "%s", fl_xcheck_failed(x, &why) ? why : flare_last_error());
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    cr_assert_eq(fl_xcheck_report(x, f), 0);
    fclose(f);
    cr_expect(strstr(buf, "cross-check: device cpu-scalar against the cpu reference engine"),
              "%s", buf);
    cr_expect(strstr(buf, "free-running device") && strstr(buf, "check: PASS (free)"), "%s",
              buf);
    /* 6 prompt tokens in chunks of 4 (4 + 2) then 4 steps: 6 logits rows */
    cr_expect(strstr(buf, "top-1 agree 6/6"), "%s", buf);
    free(buf);
    fl_xcheck_free(x);
    fl_engine_free(dev);
    fl_engine_free(ref);
    fl_model_free(m);
}

/* The device engine's blk.1.ffn_down has one block's scale 1000x too large: the check fails at
 * layer 1, by layer only (an engine reports no attention-block output to tell the blocks). */
Test(crosscheck, engine_device_fails_at_the_layer)
{
    fl_model *m = NULL;
    cr_assert_eq(fl_model_open(&m, STORIES), 0, "%s", flare_last_error());
    fl_llama bad = m->llama;
    fl_llama_layer *layers = malloc(sizeof *layers * bad.hp.n_layer);
    cr_assert(layers);
    memcpy(layers, m->llama.layers, sizeof *layers * bad.hp.n_layer);
    bad.layers = layers;
    fl_weight *w = &layers[1].w_down;
    cr_assert_eq(w->type, FL_TYPE_Q8_0);
    size_t bytes = w->row_bytes * w->ne1;
    uint8_t *copy = malloc(bytes);
    cr_assert(copy);
    memcpy(copy, w->data, bytes);
    copy[3 * 34] = 0x00; /* block 3's fp16 scale := 1.0 */
    copy[3 * 34 + 1] = 0x3C;
    w->data = copy;
    fl_engine *ref, *dev;
    fl_xcheck *x = engine_pair(m, &bad, &ref, &dev);
    cr_assert_eq(fl_crosscheck_run(x, PROMPT, 6, 2, NULL), 1);
    const char *op = "unset", *why;
    cr_assert(fl_xcheck_failed(x, &why));
    cr_expect_eq(fl_xcheck_fail_layer(x, &op), 1, "%s", why);
    cr_expect_null(op, "%s", why);
    cr_expect(strstr(why, "first divergence at layer 1 output"), "%s", why);
    fl_xcheck_free(x);
    fl_engine_free(dev);
    fl_engine_free(ref);
    free(copy);
    free(layers);
    fl_model_free(m);
}
