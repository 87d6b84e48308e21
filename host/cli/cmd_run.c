/* host/cli/cmd_run.c: `flare run`: generate text with the CPU reference engine or on a device.
 *
 * Load (mmap + validate), tokenize the prompt (BOS as the vocabulary says), evaluate it in
 * batches, then sample and evaluate one token at a time, streaming the text to stdout. Timings
 * go to stderr at the end; --json prints one JSON object instead of the text; --logits writes
 * every step's logits (n_vocab float32, step 0 = after the prompt).
 *
 * --device URI runs the model on a device through the layer scheduler (host/scheduler.h);
 * --check cpu also runs the CPU reference on the same tokens and compares every layer and every
 * token's logits (host/crosscheck.h): the table goes to stderr, a failed check exits 2. */
#include "host/cli/cli.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "flare/error.h"
#include "flare/ggml.h"
#include "driver/dev.h"
#include "host/crosscheck.h"
#include "host/json.h"
#include "host/model.h"
#include "host/sampler.h"
#include "host/scheduler.h"
#include "host/tokenizer.h"
#include "ref/engine_cpu.h"
#include "ref/engine_cuda.h"

typedef struct {
    const char *model, *prompt, *prompt_ids, *logits_path;
    const char *device; /* NULL or "cpu": the CPU reference engine */
    const char *check;  /* NULL, or the reference to cross-check the device against ("cpu") */
    uint64_t n_predict, n_threads, n_ctx, n_batch;
    fl_sampler_params sp;
    int seed_given, ignore_eos, json, scalar;
    uint32_t kv_type;
} run_opts;

static void run_usage(FILE *out)
{
    fprintf(out,
            "usage: flare run -m MODEL.gguf -p TEXT [options]\n"
            "\n"
            "Generate text with the CPU reference engine or on a device; timings on stderr.\n"
            "\n"
            "  -m, --model FILE        llama GGUF (f32, f16, q8_0, q5_0, q4_0 weights)\n"
            "  --device URI            cpu (default: the reference engine), csim (the HLS\n"
            "                          kernels through the device API and layer scheduler),\n"
            "                          sim[:mem=hbm|ddr4][:trace=FILE] (the RTL in Verilator\n"
            "                          behind XRT's C API), xrt:N:xclbin=FILE (an Alveo card)\n"
            "                          or cuda[:N] (the CUDA engine, libflare_cuda.so)\n"
            "  --check cpu|cuda[:N]    with --device: run a reference engine (the CPU one, or the\n"
            "                          CUDA one on GPU N) on the same tokens, compare each layer\n"
            "                          and each token's logits, print the table; a failed check\n"
            "                          exits 2 (--device cuda --check cpu: logits per pass)\n"
            "  -p, --prompt TEXT       the prompt (tokenized with BOS as the vocabulary says)\n"
            "  --prompt-ids IDS        the prompt as token ids instead (\"1 9038 2501\" or 1,9038)\n"
            "  -n, --n-predict N       tokens to generate (default 128)\n"
            "  -t, --threads N         threads (default: online CPUs, at most 16)\n"
            "  -c, --ctx-size N        context (KV cache) positions (default min(model, 4096))\n"
            "  -b, --batch-size N      prompt tokens per forward pass (default 128)\n"
            "  --temp T                temperature; 0 = greedy (default 0.8)\n"
            "  --top-k K               (default 40; 0 = off)\n"
            "  --top-p P               (default 0.95; 1 = off)\n"
            "  --min-p P               (default 0.05; 0 = off)\n"
            "  --repeat-penalty R      over the last --repeat-last-n tokens (default 1.0 = off)\n"
            "  --repeat-last-n N       (default 64)\n"
            "  --seed S                sampling seed (default: from the clock, printed)\n"
            "  --ignore-eos            do not stop at end-of-generation tokens\n"
            "  --kv f16|f32            KV cache type (default f16)\n"
            "  --json                  print one JSON object (ids, text, timings) instead\n"
            "  --logits FILE           write each step's logits (float32 LE, n_vocab per step)\n"
            "  --scalar                scalar reference kernels only\n");
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- arguments ------------------------------------------------------------------------------ */

static int parse(int argc, char **argv, run_opts *o)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    memset(o, 0, sizeof *o);
    o->n_predict = 128;
    o->n_threads = ncpu < 1 ? 1 : ncpu > 16 ? 16 : (uint64_t)ncpu;
    o->kv_type = FL_TYPE_F16;
    fl_sampler_default_params(&o->sp);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        double d;
        uint64_t u;
#define VAL() \
    if (!(v = cli_value(argc, argv, &i))) \
        return -1
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            run_usage(stdout);
            return 1;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            VAL();
            o->model = v;
        } else if (!strcmp(a, "-p") || !strcmp(a, "--prompt")) {
            VAL();
            o->prompt = v;
        } else if (!strcmp(a, "--prompt-ids")) {
            VAL();
            o->prompt_ids = v;
        } else if (!strcmp(a, "-n") || !strcmp(a, "--n-predict")) {
            VAL();
            if (cli_u64(a, v, 0, 1u << 24, &o->n_predict))
                return -1;
        } else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
            VAL();
            if (cli_u64(a, v, 1, 256, &o->n_threads))
                return -1;
        } else if (!strcmp(a, "-c") || !strcmp(a, "--ctx-size")) {
            VAL();
            if (cli_u64(a, v, 1, 1u << 24, &o->n_ctx))
                return -1;
        } else if (!strcmp(a, "-b") || !strcmp(a, "--batch-size")) {
            VAL();
            if (cli_u64(a, v, 1, 65536, &o->n_batch))
                return -1;
        } else if (!strcmp(a, "--temp")) {
            VAL();
            if (cli_f64(a, v, 0, 100, &d))
                return -1;
            o->sp.temp = (float)d;
        } else if (!strcmp(a, "--top-k")) {
            VAL();
            if (cli_u64(a, v, 0, 1u << 24, &u))
                return -1;
            o->sp.top_k = (int32_t)u;
        } else if (!strcmp(a, "--top-p")) {
            VAL();
            if (cli_f64(a, v, 0, 1, &d))
                return -1;
            o->sp.top_p = (float)d;
        } else if (!strcmp(a, "--min-p")) {
            VAL();
            if (cli_f64(a, v, 0, 1, &d))
                return -1;
            o->sp.min_p = (float)d;
        } else if (!strcmp(a, "--repeat-penalty")) {
            VAL();
            if (cli_f64(a, v, 0.01, 100, &d))
                return -1;
            o->sp.repeat_penalty = (float)d;
        } else if (!strcmp(a, "--repeat-last-n")) {
            VAL();
            if (cli_u64(a, v, 0, 1u << 20, &u))
                return -1;
            o->sp.repeat_last_n = (int32_t)u;
        } else if (!strcmp(a, "--seed")) {
            VAL();
            if (cli_u64(a, v, 0, UINT64_MAX, &o->sp.seed))
                return -1;
            o->seed_given = 1;
        } else if (!strcmp(a, "--kv")) {
            VAL();
            if (!strcmp(v, "f16"))
                o->kv_type = FL_TYPE_F16;
            else if (!strcmp(v, "f32"))
                o->kv_type = FL_TYPE_F32;
            else
                return cli_fail("--kv: expected f16 or f32, got '%s'", v), -1;
        } else if (!strcmp(a, "--device")) {
            VAL();
            o->device = v;
        } else if (!strcmp(a, "--check")) {
            VAL();
            uint32_t ord;
            if (strcmp(v, "cpu") && fl_cuda_parse_uri(v, &ord) != 1)
                return cli_fail("--check: expected cpu or cuda[:N] (the reference engine), got "
                                "'%s'", v), -1;
            o->check = v;
        } else if (!strcmp(a, "--logits")) {
            VAL();
            o->logits_path = v;
        } else if (!strcmp(a, "--ignore-eos")) {
            o->ignore_eos = 1;
        } else if (!strcmp(a, "--json")) {
            o->json = 1;
        } else if (!strcmp(a, "--scalar")) {
            o->scalar = 1;
        } else {
            return cli_fail("run: unknown option '%s' (try 'flare run --help')", a), -1;
        }
#undef VAL
    }
    if (!o->model)
        return cli_fail("run: -m MODEL.gguf is required"), -1;
    if (!o->prompt && !o->prompt_ids)
        return cli_fail("run: -p TEXT or --prompt-ids IDS is required"), -1;
    if (o->prompt && o->prompt_ids)
        return cli_fail("run: give -p or --prompt-ids, not both"), -1;
    if (o->device && !strcmp(o->device, "cpu"))
        o->device = NULL;
    if (o->check && !o->device)
        return cli_fail("--check: needs --device (the CPU engine is the reference itself)"), -1;
    if (!o->seed_given)
        o->sp.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    return 0;
}

/* "1 9038, 2501" -> ids; each checked against the vocabulary. */
static int parse_ids(const char *s, uint32_t n_vocab, int32_t **ids, size_t *n)
{
    size_t cap = 16;
    *n = 0;
    *ids = malloc(cap * sizeof **ids);
    if (!*ids)
        return cli_fail("out of memory");
    while (*s) {
        while (*s == ' ' || *s == ',' || *s == '\t')
            s++;
        if (!*s)
            break;
        char *end;
        long long v = strtoll(s, &end, 10);
        if (end == s || v < 0 || v >= n_vocab)
            return cli_fail("--prompt-ids: expected token ids in 0..%u, got '%.20s'",
                            n_vocab - 1, s);
        if (*n == cap) {
            int32_t *p = realloc(*ids, (cap *= 2) * sizeof **ids);
            if (!p)
                return cli_fail("out of memory");
            *ids = p;
        }
        (*ids)[(*n)++] = (int32_t)v;
        s = end;
    }
    if (!*n)
        return cli_fail("--prompt-ids: no ids given");
    return 0;
}

/* ---- output --------------------------------------------------------------------------------- */

static void json_ids(FILE *f, const int32_t *ids, size_t n)
{
    fputc('[', f);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s%d", i ? "," : "", ids[i]);
    fputc(']', f);
}

typedef struct {
    char *p;
    size_t n, cap;
} strbuf;

static int sb_add(strbuf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return -1;
        b->p = p, b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
    return 0;
}

/* ---- what runs the model: the CPU engine, a device, or both cross-checked -------------------- */

typedef struct {
    fl_engine *e;       /* the CPU reference (NULL when a device runs alone) */
    fl_dev *dev;
    fl_sched *s;        /* the layer scheduler on dev */
    fl_xcheck *x;       /* e compared with s, or with cu */
    fl_cuda_engine *cu; /* --device cuda: the CUDA engine */
    fl_cuda_engine *cu_ref; /* --check cuda: the CUDA engine as the reference */
} runner;

static int runner_eval(runner *r, const int32_t *t, uint32_t n)
{
    return r->x ? fl_xcheck_eval(r->x, t, n) : r->cu ? fl_cuda_engine_eval(r->cu, t, n)
           : r->s ? fl_sched_eval(r->s, t, n) : fl_engine_eval(r->e, t, n);
}

static const float *runner_logits(const runner *r)
{
    return r->cu ? fl_cuda_engine_logits(r->cu) : r->s ? fl_sched_logits(r->s)
                                                       : fl_engine_logits(r->e);
}

static uint32_t runner_n_past(const runner *r)
{
    return r->cu ? fl_cuda_engine_n_past(r->cu) : r->s ? fl_sched_n_past(r->s)
                                                       : fl_engine_n_past(r->e);
}

/* After the run: the device's statistics and the check's verdict (1 when it failed). */
static int runner_report(const runner *r, FILE *f)
{
    if (r->s)
        fl_sched_print_stats(r->s, f);
    if (r->x)
        return fl_xcheck_report(r->x, f) != 0;
    return 0;
}

static void runner_free(runner *r)
{
    fl_xcheck_free(r->x);
    fl_engine_free(r->e);
    fl_sched_free(r->s);
    fl_cuda_engine_free(r->cu);
    fl_cuda_engine_free(r->cu_ref);
    if (r->dev)
        fl_dev_close(r->dev);
}

/* Open the device and its scheduler (--device), the reference (no device, or --check) and the
 * cross-check. n_ctx is clamped to what the device holds when the user did not ask for more. */
static int runner_open(runner *r, const run_opts *o, const fl_llama *m, uint32_t *n_ctx,
                       fl_engine_opts *eo)
{
    memset(r, 0, sizeof *r);
    uint32_t ordinal;
    int cuda = o->device ? fl_cuda_parse_uri(o->device, &ordinal) : 0;
    if (cuda < 0)
        return cli_fail("%s", flare_last_error()); /* names the flag and the value */
    uint32_t ref_ordinal = 0;
    int cuda_ref = o->check && fl_cuda_parse_uri(o->check, &ref_ordinal) == 1;
    if (cuda && cuda_ref)
        return cli_fail("--check %s: the device is the CUDA engine already (check it with "
                        "--check cpu)", o->check);
    if (cuda) {
        fl_cuda_opts co;
        fl_cuda_default_opts(&co);
        co.device = ordinal;
        co.n_ctx = *n_ctx;
        co.n_batch = (uint32_t)o->n_batch;
        if (fl_cuda_engine_new(&r->cu, m, &co))
            return cli_fail("--device %s: %s", o->device, flare_last_error());
        eo->n_ctx = fl_cuda_engine_n_ctx(r->cu);
        if (!o->check)
            return 0;
        if (fl_engine_new(&r->e, m, eo))
            return cli_fail("%s: %s", o->model, flare_last_error());
        /* the cross-check's table, free-running (the engine has no input hook), in chunks of
         * the engine's own batch */
        fl_xcheck_opts xo;
        fl_xcheck_default_opts(&xo);
        fl_xref ref, dev;
        fl_xref_cpu(&ref, r->e);
        fl_xref_cuda(&dev, r->cu);
        dev.name = o->device; /* "cuda" or "cuda:N", as asked */
        if (fl_xcheck_new_engine(&r->x, m, &ref, &dev, fl_cuda_engine_n_batch(r->cu), &xo))
            return cli_fail("--check: %s", flare_last_error());
        return 0;
    }
    if (o->device) {
        if (fl_dev_open(o->device, &r->dev))
            return cli_fail("--device %s: %s", o->device, flare_last_error());
        fl_sched_opts so;
        fl_sched_default_opts(&so);
        if (!o->n_ctx && *n_ctx > FL_MAX_CTX)
            *n_ctx = FL_MAX_CTX;
        so.n_ctx = *n_ctx;
        if (o->n_batch)
            so.n_batch = (uint32_t)o->n_batch;
        if (fl_sched_new(&r->s, m, r->dev, &so))
            return cli_fail("%s on %s: %s", o->model, o->device, flare_last_error());
        eo->n_ctx = fl_sched_n_ctx(r->s);
    }
    if (cuda_ref) {
        fl_cuda_opts co;
        fl_cuda_default_opts(&co);
        co.device = ref_ordinal;
        co.n_ctx = fl_sched_n_ctx(r->s);
        co.n_batch = fl_sched_n_batch(r->s);
        if (fl_cuda_engine_new(&r->cu_ref, m, &co))
            return cli_fail("--check %s: %s", o->check, flare_last_error());
    } else if (!r->s || o->check) {
        if (fl_engine_new(&r->e, m, eo))
            return cli_fail("%s: %s", o->model, flare_last_error());
    }
    if (r->s && (r->e || r->cu_ref)) {
        fl_xcheck_opts xo;
        fl_xcheck_default_opts(&xo);
        xo.forced = 0; /* the device generates on its own stream; the reference follows */
        fl_xref ref;
        if (r->cu_ref)
            fl_xref_cuda(&ref, r->cu_ref);
        else
            fl_xref_cpu(&ref, r->e);
        if (fl_xcheck_new_ref(&r->x, m, &ref, r->s, &xo))
            return cli_fail("--check: %s", flare_last_error());
    }
    return 0;
}

/* "avx512 kernels" or "device csim" for the timing line. */
static void runner_name(const runner *r, const run_opts *o, char *buf, size_t n)
{
    if (r->cu)
        snprintf(buf, n, "device %s (%s)%s", o->device, fl_cuda_engine_device(r->cu),
                 r->e ? ", checked against cpu" : "");
    else if (r->s)
        snprintf(buf, n, "device %s%s%s", o->device, r->x ? ", checked against " : "",
                 r->x ? (r->cu_ref ? fl_cuda_engine_device(r->cu_ref) : "cpu") : "");
    else
        snprintf(buf, n, "%s kernels", fl_engine_kernels(r->e));
}

/* ---- run ------------------------------------------------------------------------------------ */

/* The generated text is on stdout without a newline: end its line before an error message. */
static void end_text_line(const run_opts *o)
{
    if (!o->json) {
        fputc('\n', stdout);
        fflush(stdout);
    }
}

int cmd_run(int argc, char **argv)
{
    run_opts o;
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc < 0 ? 1 : 0;

    int status = 1;
    fl_model *m = NULL;
    fl_tokenizer *tok = NULL;
    runner r = {0};
    char what[384]; /* fits a CUDA device description (256) */
    fl_sampler *smp = NULL;
    FILE *lf = NULL;
    int32_t *prompt = NULL, *gen = NULL;
    size_t n_prompt = 0, n_gen = 0, n_decoded = 0; /* decoded: tokens evaluated one by one */
    strbuf text = {0};
    fl_detok_stream ds;
    int ds_init = 0;
    const char *stop = "length";

    double t_load0 = now_s();
    if (fl_model_open(&m, o.model)) {
        cli_fail("%s", flare_last_error());
        goto done;
    }
    const fl_llama_hparams *hp = &m->llama.hp;
    if (fl_tokenizer_from_gguf(&tok, m->gguf)) {
        if (o.prompt) {
            cli_fail("%s: tokenizer: %s", o.model, flare_last_error());
            goto done;
        }
        tok = NULL; /* ids in, ids out */
    }
    if (tok && fl_tok_n_tokens(tok) != hp->n_vocab) {
        cli_fail("%s: tokenizer has %u tokens, the model %u", o.model, fl_tok_n_tokens(tok),
                 hp->n_vocab);
        goto done;
    }

    uint32_t n_ctx = o.n_ctx ? (uint32_t)o.n_ctx
                             : (hp->n_ctx_train < 4096 ? hp->n_ctx_train : 4096);
    if (n_ctx > hp->n_ctx_train)
        fprintf(stderr, "flare: warning: -c %u exceeds the model's trained context %u\n", n_ctx,
                hp->n_ctx_train);
    fl_engine_opts eo;
    fl_engine_default_opts(&eo);
    eo.n_ctx = n_ctx;
    eo.n_threads = (uint32_t)o.n_threads;
    eo.kv_type = o.kv_type;
    eo.scalar = o.scalar;
    if (o.n_batch)
        eo.n_batch = (uint32_t)o.n_batch;
    if (runner_open(&r, &o, &m->llama, &n_ctx, &eo))
        goto done;
    runner_name(&r, &o, what, sizeof what);
    if (fl_sampler_new(&smp, &o.sp, hp->n_vocab)) {
        cli_fail("%s", flare_last_error());
        goto done;
    }
    double t_load = now_s() - t_load0;

    // prompt -> ids
    if (o.prompt_ids) {
        if (parse_ids(o.prompt_ids, hp->n_vocab, &prompt, &n_prompt))
            goto done;
    } else if (fl_tokenize(tok, o.prompt, strlen(o.prompt),
                           FL_TOKENIZE_ADD_SPECIAL | FL_TOKENIZE_PARSE_SPECIAL, &prompt,
                           &n_prompt)) {
        cli_fail("-p: %s", flare_last_error());
        goto done;
    }
    if (n_prompt == 0) {
        cli_fail("-p: the prompt has no tokens");
        goto done;
    }
    if (n_prompt > n_ctx) {
        cli_fail("-p: the prompt has %zu tokens, more than the context of %u (-c)", n_prompt,
                 n_ctx);
        goto done;
    }
    if (o.logits_path && !(lf = fopen(o.logits_path, "wb"))) {
        cli_fail("--logits: cannot write '%s'", o.logits_path);
        goto done;
    }
    gen = malloc((o.n_predict + 1) * sizeof *gen);
    if (!gen) {
        cli_fail("out of memory");
        goto done;
    }
    if (tok) {
        fl_detok_stream_init(&ds, tok, 0);
        ds_init = 1;
    }
    if (!o.json && o.prompt) {
        fputs(o.prompt, stdout);
        fflush(stdout);
    }

    // prefill
    double t0 = now_s();
    if (runner_eval(&r, prompt, (uint32_t)n_prompt)) {
        end_text_line(&o);
        cli_fail("%s", flare_last_error());
        goto done;
    }
    double t_prompt = now_s() - t0, t_decode = 0;
    for (size_t i = 0; i < n_prompt; i++)
        fl_sampler_accept(smp, prompt[i]);

    // generate: sample from the current logits, print, evaluate the token
    for (uint64_t step = 0; step < o.n_predict; step++) {
        const float *logits = runner_logits(&r);
        if (lf && fwrite(logits, sizeof(float), hp->n_vocab, lf) != hp->n_vocab) {
            cli_fail("--logits: write to '%s' failed", o.logits_path);
            goto done;
        }
        int32_t t = fl_sampler_sample(smp, logits);
        fl_sampler_accept(smp, t);
        gen[n_gen++] = t;
        int eog = tok ? fl_tok_is_eog(tok, t) : t == m->llama.eos_id;
        if (ds_init) {
            const char *piece;
            size_t len;
            if (!fl_detok_stream_push(&ds, t, &piece, &len) && len) {
                sb_add(&text, piece, len);
                if (!o.json) {
                    fwrite(piece, 1, len, stdout);
                    fflush(stdout);
                }
            }
        }
        if (eog && !o.ignore_eos) {
            stop = "eos";
            break;
        }
        if (step + 1 == o.n_predict)
            break;
        if (runner_n_past(&r) >= n_ctx) {
            stop = "context";
            break;
        }
        double t1 = now_s();
        if (runner_eval(&r, &t, 1)) {
            end_text_line(&o);
            cli_fail("%s", flare_last_error());
            goto done;
        }
        t_decode += now_s() - t1;
        n_decoded++;
    }
    if (ds_init) {
        const char *piece;
        size_t len;
        if (!fl_detok_stream_flush(&ds, &piece, &len) && len) {
            sb_add(&text, piece, len);
            if (!o.json)
                fwrite(piece, 1, len, stdout);
        }
    }
    double pp_tok_s = t_prompt > 0 ? n_prompt / t_prompt : 0;
    double tg_tok_s = t_decode > 0 ? n_decoded / t_decode : 0;
    if (o.json) {
        printf("{\"model\":");
        fl_json_cstr(stdout, o.model);
        printf(",\"n_vocab\":%u,\"n_ctx\":%u,\"threads\":%u,\"device\":", hp->n_vocab, n_ctx,
               eo.n_threads);
        fl_json_cstr(stdout, o.device ? o.device : "cpu");
        printf(",\"kernels\":");
        fl_json_cstr(stdout, r.e ? fl_engine_kernels(r.e) : o.device);
        printf(",\"seed\":%" PRIu64 ",\"prompt_ids\":", o.sp.seed);
        json_ids(stdout, prompt, n_prompt);
        printf(",\"generated_ids\":");
        json_ids(stdout, gen, n_gen);
        printf(",\"text\":");
        fl_json_str(stdout, text.p ? text.p : "", text.n);
        printf(",\"stop\":\"%s\",\"timings\":{\"load_ms\":%.3f,\"prompt_tokens\":%zu,"
               "\"prompt_ms\":%.3f,\"prompt_tok_s\":%.2f,\"decode_tokens\":%zu,"
               "\"decode_ms\":%.3f,\"decode_tok_s\":%.2f}}\n",
               stop, t_load * 1e3, n_prompt, t_prompt * 1e3, pp_tok_s, n_decoded, t_decode * 1e3,
               tg_tok_s);
    } else {
        printf("\n");
    }
    fflush(stdout);
    fprintf(stderr,
            "flare: load %.1f ms | prompt %zu tokens, %.1f ms, %.2f tok/s | decode %zu tokens, "
            "%.1f ms, %.2f tok/s | %u threads, %s, stop: %s\n",
            t_load * 1e3, n_prompt, t_prompt * 1e3, pp_tok_s, n_decoded, t_decode * 1e3, tg_tok_s,
            eo.n_threads, what, stop);
    status = 0;
    if (runner_report(&r, stderr))
        status = 2; /* the device diverged from the reference: named in the report */
    if (lf && fclose(lf)) {
        cli_fail("--logits: write to '%s' failed", o.logits_path);
        status = 1;
    }
    lf = NULL;

done:
    if (lf)
        fclose(lf);
    if (ds_init)
        fl_detok_stream_free(&ds);
    free(text.p);
    free(prompt);
    free(gen);
    fl_sampler_free(smp);
    runner_free(&r);
    fl_tokenizer_free(tok);
    fl_model_free(m);
    return status;
}
