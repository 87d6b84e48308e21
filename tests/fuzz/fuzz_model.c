/* tests/fuzz/fuzz_model.c: libFuzzer target for what reads a model past the GGUF container:
 * the llama hyperparameters and tensor binding (host/model.c), the tokenizer built from the
 * file's vocabulary (host/tokenizer*.c), and the forward pass over whatever shapes the loader
 * accepted: on the CPU engine (ref/) and through the layer scheduler on the csim device (the
 * HLS kernels behind the device API, whose build limits it checks first).
 *
 * An input the GGUF reader refuses is fuzz_gguf's business and returns at once. After that,
 * every refusal must say why (a message naming fuzz.gguf for the model); an accepted model must
 * run on the CPU engine: 3 tokens (two forward chunks of n_batch 2), a token id past the
 * vocabulary refused with FLARE_EINVAL and nothing changed, a fourth token, then a fifth that
 * the 4-position context refuses with FLARE_ERANGE; on csim the same, unless the scheduler
 * refuses the shape with a message. All under ASan + UBSan. The input's size picks the CPU
 * engine's KV type and scalar or SIMD kernels, so all four run. Seeds: small `flare mkmodel`
 * models of each weight type, written by `make fuzz` into build/fuzz/seeds/fuzz_model/
 * (mutations of their metadata are what matters; the loader takes tensor bytes as they are). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "driver/dev.h"
#include "flare/error.h"
#include "flare/ggml.h"
#include "flare/llama.h"
#include "host/gguf.h"
#include "host/model.h"
#include "host/scheduler.h"
#include "host/tokenizer.h"
#include "ref/engine_cpu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void explained(int rc, const char *must_name)
{
    const char *msg = flare_last_error();
    if (rc == 0 || msg[0] == '\0' || (must_name && !strstr(msg, must_name)))
        abort();
}

static void tokenizer(const gguf_file *f)
{
    fl_tokenizer *t = NULL;
    flare_clear_error();
    int rc = fl_tokenizer_from_gguf(&t, f);
    if (rc) {
        explained(rc, NULL);
        return;
    }
    static const char text[] = "Hello <s> world</s>, \xe2\x96\x81 caf\xc3\xa9 \xff";
    int32_t *ids = NULL;
    size_t n = 0;
    flare_clear_error();
    rc = fl_tokenize(t, text, sizeof text - 1, FL_TOKENIZE_ADD_SPECIAL | FL_TOKENIZE_PARSE_SPECIAL,
                     &ids, &n);
    if (rc) {
        explained(rc, NULL); /* a vocabulary without byte tokens, say */
    } else {
        for (size_t i = 0; i < n; i++)
            if (ids[i] < 0 || (uint32_t)ids[i] >= fl_tok_n_tokens(t))
                abort();
        char *s = NULL;
        size_t len = 0;
        if (fl_detokenize(t, ids, n, FL_DETOK_SPECIAL, &s, &len) == 0)
            free(s);
    }
    free(ids);
    fl_tokenizer_free(t);
}

/* The CPU engine and the scheduler have the same shape; the token sequence runs on either. */
typedef struct {
    void *h;
    int (*eval)(void *h, const int32_t *tokens, uint32_t n);
    uint32_t (*n_past)(void *h);
    const float *(*logits)(void *h);
} runner;

static int eng_eval(void *h, const int32_t *t, uint32_t n) { return fl_engine_eval(h, t, n); }
static uint32_t eng_past(void *h) { return fl_engine_n_past(h); }
static const float *eng_logits(void *h) { return fl_engine_logits(h); }
static int sch_eval(void *h, const int32_t *t, uint32_t n) { return fl_sched_eval(h, t, n); }
static uint32_t sch_past(void *h) { return fl_sched_n_past(h); }
static const float *sch_logits(void *h) { return fl_sched_logits(h); }

/* An accepted model runs (3 tokens in two chunks of 2); a token past the vocabulary is refused
 * and changes nothing; a 4th fills the context and a 5th is refused. */
static void run_tokens(const runner *r, uint32_t nv)
{
    const int32_t first[3] = {0, (int32_t)(nv - 1), (int32_t)(nv / 2)};
    const int32_t next = 1 % (int32_t)nv, bad = (int32_t)nv;
    if (r->eval(r->h, first, 3))
        abort();
    if (r->eval(r->h, &bad, 1) != FLARE_EINVAL || r->n_past(r->h) != 3)
        abort();
    if (r->eval(r->h, &next, 1) || r->eval(r->h, &next, 1) != FLARE_ERANGE)
        abort();
    const float *lg = r->logits(r->h);
    volatile float sink = 0.0f;
    for (uint32_t i = 0; i < nv; i++)
        sink += lg[i]; /* every logit was written (ASan: inside the buffer) */
    (void)sink;
}

static void engine(const fl_llama *L, size_t size)
{
    fl_engine_opts o;
    fl_engine_default_opts(&o);
    o.n_ctx = 4;
    o.n_threads = 1;
    o.n_batch = 2;
    o.kv_type = size & 1 ? FL_TYPE_F32 : FL_TYPE_F16;
    o.scalar = (size >> 1) & 1;
    fl_engine *e = NULL;
    flare_clear_error();
    int rc = fl_engine_new(&e, L, &o);
    if (rc) {
        explained(rc, NULL);
        return;
    }
    run_tokens(&(runner){e, eng_eval, eng_past, eng_logits}, L->hp.n_vocab);
    fl_engine_free(e);
}

/* The same through the scheduler on csim, unless its build limits refuse the shape. */
static void device(const fl_llama *L)
{
    static fl_dev *dev;
    if (!dev && fl_dev_open("csim", &dev))
        abort();
    fl_sched_opts o;
    fl_sched_default_opts(&o);
    o.n_ctx = 4;
    o.n_batch = 2;
    o.progress = 0;
    fl_sched *s = NULL;
    flare_clear_error();
    int rc = fl_sched_new(&s, L, dev, &o);
    if (rc) {
        explained(rc, NULL);
        return;
    }
    run_tokens(&(runner){s, sch_eval, sch_past, sch_logits}, L->hp.n_vocab);
    fl_sched_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gguf_file *f = NULL;
    if (gguf_open_buffer(&f, data, size, "fuzz.gguf"))
        return 0;
    fl_model *m = NULL;
    flare_clear_error();
    int rc = fl_model_from_gguf(&m, f);
    if (rc) {
        if (m)
            abort();
        explained(rc, "fuzz.gguf");
    } else {
        if (m->llama.hp.n_vocab == 0)
            abort(); /* the loader must refuse an empty vocabulary */
        tokenizer(f);
        engine(&m->llama, size);
        device(&m->llama);
        fl_model_free(m);
    }
    gguf_close(f);
    return 0;
}
