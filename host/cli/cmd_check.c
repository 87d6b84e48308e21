/* host/cli/cmd_check.c: `flare check`: cross-check a device against the CPU reference engine.
 *
 * Runs the standard check prompts (fixed texts, one longer than the prefill batch, tokenized
 * with the model's tokenizer), each followed by greedy decode steps fed with the device's own
 * choices, on both the device (host/scheduler.h) and the reference (ref/engine_cpu.h), each
 * device layer teacher-forced with the reference's input unless --free; prints
 * the per-layer / per-token table of host/crosscheck.h and a one-line verdict.
 * Exit status: 0 pass, 2 the check failed, 1 bad input or an error (one line on stderr). */
#include "host/cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "driver/dev.h"
#include "flare/error.h"
#include "host/crosscheck.h"
#include "host/model.h"
#include "host/scheduler.h"
#include "host/tokenizer.h"
#include "ref/engine_cpu.h"
#include "ref/engine_cuda.h"

/* The standard prompt set. The last one is longer than the default prefill batch (FL_MAX_T =
 * 64 tokens), so it goes through the device in two passes. */
static const char *const check_prompts[] = {
    "Once upon a time",
    "Hello",
    "The little girl saw a big red ball in the garden.",
    "Once upon a time, there was a little boy named Tim. Tim loved to play with his toy car. "
    "One day, Tim went to the park with his mom. He saw a big tree and a small dog. The dog was "
    "sad because it lost its ball. Tim wanted to help the dog find the ball, so they looked "
    "under the slide, behind the swings and near the pond, and then",
};
#define N_CHECK_PROMPTS (sizeof check_prompts / sizeof check_prompts[0])

static void check_usage(FILE *out)
{
    fprintf(out,
            "usage: flare check -m MODEL.gguf [--device URI] [--ref cpu|cuda[:N]] [options]\n"
            "\n"
            "Cross-check a device against the CPU reference: %zu fixed prompts plus greedy decode\n"
            "steps (the device's choices), hidden states per layer and logits per token compared\n"
            "(logits NMSE <= 5e-4, hidden NMSE <= 1e-3, top-1). Exit 0 pass, 2 fail, 1 error.\n"
            "\n"
            "  -m, --model FILE     llama GGUF (q8_0, q5_0, q4_0; f32/f16 matrices go up as q8_0)\n"
            "  --device URI         device to check (default csim), or cuda[:N]: the CUDA engine,\n"
            "                       checked free-running (it has no input hook)\n"
            "  --ref cpu|cuda[:N]   reference engine: the CPU one (default) or the CUDA one on GPU N\n"
            "  -t, --threads N      reference engine threads (default: online CPUs, at most 16)\n"
            "  -n, --n-decode N     greedy decode steps per prompt (default 16)\n"
            "  -b, --batch-size N   device prefill tokens per pass (default %u, the build maximum)\n"
            "  -c, --ctx-size N     context positions (default: the model's)\n"
            "  --prompts N          use only the first N prompts (default all)\n"
            "  --free               let the device run free instead of teacher-forcing each layer\n"
            "                       with the reference's input (thresholds then grow with depth)\n",
            N_CHECK_PROMPTS, FL_MAX_T);
}

int cmd_check(int argc, char **argv)
{
    const char *model = NULL, *uri = "csim", *refname = "cpu";
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    uint64_t n_threads = ncpu < 1 ? 1 : ncpu > 16 ? 16 : (uint64_t)ncpu, n_decode = 16,
             n_batch = 0, n_ctx = 0, n_prompts = N_CHECK_PROMPTS;
    int free_run = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
#define VAL() \
    if (!(v = cli_value(argc, argv, &i))) \
        return 1
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            check_usage(stdout);
            return 0;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            VAL();
            model = v;
        } else if (!strcmp(a, "--device")) {
            VAL();
            uri = v;
        } else if (!strcmp(a, "--ref")) {
            VAL();
            refname = v;
        } else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
            VAL();
            if (cli_u64(a, v, 1, 256, &n_threads))
                return 1;
        } else if (!strcmp(a, "-n") || !strcmp(a, "--n-decode")) {
            VAL();
            if (cli_u64(a, v, 0, 4096, &n_decode))
                return 1;
        } else if (!strcmp(a, "-b") || !strcmp(a, "--batch-size")) {
            VAL();
            if (cli_u64(a, v, 1, FL_MAX_T, &n_batch))
                return 1;
        } else if (!strcmp(a, "-c") || !strcmp(a, "--ctx-size")) {
            VAL();
            if (cli_u64(a, v, 1, 1u << 24, &n_ctx))
                return 1;
        } else if (!strcmp(a, "--prompts")) {
            VAL();
            if (cli_u64(a, v, 1, N_CHECK_PROMPTS, &n_prompts))
                return 1;
        } else if (!strcmp(a, "--free")) {
            free_run = 1;
        } else {
            return cli_fail("check: unknown option '%s' (try 'flare check --help')", a);
        }
#undef VAL
    }
    if (!model)
        return cli_fail("check: -m MODEL.gguf is required");
    uint32_t ref_ordinal = 0;
    int cuda_ref = fl_cuda_parse_uri(refname, &ref_ordinal);
    if (cuda_ref < 0)
        return cli_fail("%s", flare_last_error());
    if (strcmp(refname, "cpu") != 0 && cuda_ref != 1)
        return cli_fail("--ref: expected cpu or cuda[:N], got '%s'", refname);
    uint32_t dev_ordinal = 0;
    int cuda_dev = fl_cuda_parse_uri(uri, &dev_ordinal);
    if (cuda_dev < 0)
        return cli_fail("%s", flare_last_error());
    if (cuda_dev == 1 && cuda_ref == 1)
        return cli_fail("--ref %s: the device is the CUDA engine already (check it with --ref "
                        "cpu)", refname);

    int status = 1;
    fl_model *m = NULL;
    fl_tokenizer *tok = NULL;
    fl_dev *dev = NULL;
    fl_sched *s = NULL;
    fl_engine *e = NULL;
    fl_cuda_engine *cu = NULL, *cu_dev = NULL;
    fl_xcheck *x = NULL;
    uint32_t batch = 0;
    int32_t *ids = NULL, *out = NULL;
    if (fl_model_open(&m, model)) {
        cli_fail("%s", flare_last_error());
        goto done;
    }
    if (fl_tokenizer_from_gguf(&tok, m->gguf)) {
        cli_fail("%s: tokenizer: %s", model, flare_last_error());
        goto done;
    }
    uint32_t ctx;
    if (cuda_dev == 1) { /* the CUDA engine as the device: an engine, checked free-running */
        fl_cuda_opts co;
        fl_cuda_default_opts(&co);
        co.device = dev_ordinal;
        co.n_ctx = (uint32_t)n_ctx;
        co.n_batch = (uint32_t)n_batch;
        if (fl_cuda_engine_new(&cu_dev, &m->llama, &co)) {
            cli_fail("--device %s: %s", uri, flare_last_error());
            goto done;
        }
        ctx = fl_cuda_engine_n_ctx(cu_dev);
        batch = fl_cuda_engine_n_batch(cu_dev);
    } else {
        if (fl_dev_open(uri, &dev)) {
            cli_fail("--device: %s", flare_last_error());
            goto done;
        }
        fl_sched_opts so;
        fl_sched_default_opts(&so);
        so.n_ctx = (uint32_t)n_ctx;
        so.n_batch = (uint32_t)n_batch;
        if (fl_sched_new(&s, &m->llama, dev, &so)) {
            cli_fail("%s: %s", model, flare_last_error());
            goto done;
        }
        ctx = fl_sched_n_ctx(s);
        batch = fl_sched_n_batch(s);
    }
    fl_xref ref;
    if (cuda_ref == 1) {
        fl_cuda_opts co;
        fl_cuda_default_opts(&co);
        co.device = ref_ordinal;
        co.n_ctx = ctx;
        co.n_batch = batch;
        if (fl_cuda_engine_new(&cu, &m->llama, &co)) {
            cli_fail("--ref %s: %s", refname, flare_last_error());
            goto done;
        }
        fl_xref_cuda(&ref, cu);
    } else {
        fl_engine_opts eo;
        fl_engine_default_opts(&eo);
        eo.n_ctx = ctx;
        eo.n_threads = (uint32_t)n_threads;
        if (fl_engine_new(&e, &m->llama, &eo)) {
            cli_fail("%s: reference engine: %s", model, flare_last_error());
            goto done;
        }
        fl_xref_cpu(&ref, e);
    }
    fl_xcheck_opts xo;
    fl_xcheck_default_opts(&xo);
    xo.forced = !free_run;
    int xrc;
    if (cu_dev) {
        fl_xref d;
        fl_xref_cuda(&d, cu_dev);
        d.name = uri;
        xrc = fl_xcheck_new_engine(&x, &m->llama, &ref, &d, batch, &xo);
    } else {
        xrc = fl_xcheck_new_ref(&x, &m->llama, &ref, s, &xo);
    }
    if (xrc) {
        cli_fail("%s", flare_last_error());
        goto done;
    }
    out = malloc(sizeof *out * (n_decode + 1));
    if (!out) {
        cli_fail("out of memory");
        goto done;
    }
    if (cu_dev)
        printf("flare check: %s on %s (%s) against the %s reference (%s), prefill batch %u%s\n",
               model, uri, fl_cuda_engine_device(cu_dev), ref.name, fl_engine_kernels(e), batch,
               free_run ? "" : ", free-running (an engine has no input hook)");
    else
        printf("flare check: %s on %s against the %s reference (%s), prefill batch %u\n", model,
               uri, ref.name, e ? fl_engine_kernels(e) : fl_cuda_engine_device(cu), batch);
    for (uint64_t p = 0; p < n_prompts; p++) {
        size_t n = 0;
        free(ids);
        ids = NULL;
        const char *text = check_prompts[p];
        if (fl_tokenize(tok, text, strlen(text), FL_TOKENIZE_ADD_SPECIAL, &ids, &n) || n == 0) {
            cli_fail("prompt %llu: %s", (unsigned long long)p,
                     n ? flare_last_error() : "no tokens");
            goto done;
        }
        int rc = fl_crosscheck_run(x, ids, (uint32_t)n, (uint32_t)n_decode, out);
        if (rc < 0) {
            cli_fail("prompt %llu: %s", (unsigned long long)p, flare_last_error());
            goto done;
        }
        printf("prompt %llu: %zu tokens + %llu decode steps: \"%.40s%s\"\n", (unsigned long long)p,
               n, (unsigned long long)n_decode, text, strlen(text) > 40 ? "..." : "");
        if (rc)
            break; /* the first divergence is what matters */
    }
    fflush(stdout);
    if (s)
        fl_sched_print_stats(s, stderr);
    status = fl_xcheck_report(x, stdout) ? 2 : 0;
done:
    free(ids);
    free(out);
    fl_xcheck_free(x);
    fl_engine_free(e);
    fl_cuda_engine_free(cu);
    fl_cuda_engine_free(cu_dev);
    fl_sched_free(s);
    fl_dev_close(dev);
    fl_tokenizer_free(tok);
    fl_model_free(m);
    return status;
}
