/* tools/bench_cuda.c: speed of the CUDA engine (ref/engine_cuda.h) on llama shapes.
 *
 * For each model shape (mkmodel presets tinyllama, llama2-7b) and weight type (Q4_0, Q8_0):
 *   decode   tok/s of single-token forwards (the CUDA graph path) after a 1-token prompt, and
 *            that as a fraction of the bandwidth floor: floor tok/s = measured device-to-device
 *            copy bandwidth (read + write bytes / s) / weight bytes read per token;
 *   prefill  tok/s of one T-token prompt (default T = 512) in one batch, the matrix products'
 *            TOPS it means and their fraction of the GPU's dense int8 tensor peak
 *            (flcu_int8_peak_tops: SMs x clock x the architecture's int8 rate).
 * The model is built in memory (random blocks with small scales; every layer shares the host
 * copy, the device gets its own), so no GGUF file of gigabytes is written. Not part of make test.
 *
 * --check instead compares the engine with the CPU engine (ref/engine_cpu.h) on mkmodel's tiny,
 * stories15M and tinyllama presets (--presets LIST) for every weight type, as
 * tests/ref/test_engine_cuda.c does on the first two, and prints
 * one PASS/FAIL line per case (exit status 1 on a failure; the argmax may differ only at a
 * near-tie, as in the tests): the GPU check for a machine without
 * Criterion (this program needs only libc and the CUDA driver); each preset also runs F16 and
 * Q4_0 with a --long N-token prompt (300; 0: none), which takes the prompt products over
 * several tiles and decode attention over split positions; --peer PREFIX adds llama.cpp's
 * logits for stories15M-Q8_0 (../shared/testdata/llamacpp/stories15M-Q8_0 here). A preset may
 * carry shape changes, NAME:key=N..., keys dim, ffn, layers, heads, kv (kv heads): e.g.
 * tiny:dim=256:heads=2:kv=1 has head dimension 128 (Llama-2-7B's) in a model of 2 layers, a
 * file of kilobytes where llama2-7b's F32 case would write and read 27 GB (6.7e9 x 4 bytes).
 *
 * Build: make cuda (builds build/libflare_cuda.so and build/bench_cuda; the program finds the
 *        library next to itself, or at $FLARE_CUDA_LIB)
 * Run:   build/bench_cuda --check [--tmp DIR=/tmp] [--peer DIR/stories15M-Q8_0]
 *                         [--presets tiny,stories15M,tinyllama[,NAME:key=N...]]
 *                         [--long N=300]
 *        build/bench_cuda [--decode N=128] [--prefill T=512] [--model tinyllama|llama2-7b|all]
 *                         [--type q4_0|q8_0|all] [--device N=0] [--no-mma] [--mma-untiled]
 *                         [--no-fuse] [--decode-at P=1] [--att-split N=0]
 * --no-mma: prompts through the dp4a kernels instead of int8 tensor cores.
 * --mma-untiled: prompts on the first tensor-core kernel (a warp's 16 x 32 tile straight from
 * global memory, fl_cuda_opts.mma 2) instead of the shared-memory tiles: what the tiles gain.
 * --decode-at P: decode after a P-token prompt instead of 1 token (long-context decode; the floor
 * then counts the KV cache read per token as well as the weights).
 * --att-split N: single-token attention over at most N blocks a head (fl_cuda_opts.att_split;
 * 1: one block a head, no flash-decoding; 0, the default: about two blocks an SM).
 * --no-fuse: decode with one launch a step (10 a layer) instead of the steps fused into the
 * matrix products' launches (5 a layer; fl_cuda_opts.fuse): the launch overhead saved. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "flare/error.h"
#include "flare/fp16.h"
#include "flare/ggml.h"
#include "host/crosscheck.h"
#include "host/mkmodel.h"
#include "host/model.h"
#include "ref/engine_cpu.h"
#include "ref/engine_cuda.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- an in-memory model --------------------------------------------------------------------- */

static int g_mma = 1;  /* --no-mma (0): dp4a kernels for prompts too; --mma-untiled (2) */
static int g_fuse = 1; /* --no-fuse: one launch a step in decode */
static uint32_t g_decode_at = 1; /* --decode-at: prompt tokens before the timed decode */
static uint32_t g_att_split;     /* --att-split */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* A (rows, k) matrix of `type` with random quants and scale d; NULL when out of memory. */
static int make_weight(fl_weight *w, uint32_t type, uint64_t rows, uint64_t k, float d)
{
    uint64_t rb = fl_row_bytes(type, k);
    uint8_t *p = malloc(rows * rb);
    if (!p)
        return -1;
    for (uint64_t i = 0; i < rows * rb; i += 8) {
        uint64_t v = rnd();
        memcpy(p + i, &v, rows * rb - i < 8 ? rows * rb - i : 8);
    }
    if (type == FL_TYPE_F32) {
        for (uint64_t i = 0; i < rows * k; i++)
            ((float *)p)[i] = d;
    } else {
        const fl_type_traits *tt = fl_type_get(type);
        uint16_t dh = fl_fp32_to_fp16(d);
        for (uint64_t b = 0; b < rows * rb / tt->block_bytes; b++)
            memcpy(p + b * tt->block_bytes, &dh, 2);
    }
    *w = (fl_weight){.data = p, .type = type, .ne0 = k, .ne1 = rows, .row_bytes = rb};
    return 0;
}

typedef struct {
    fl_llama m;
    fl_weight shared[5]; /* q/k/v/o-sized, kv-sized, gate/up, down, norm */
} mem_model;

static int build(mem_model *mm, const char *preset, uint32_t type)
{
    fl_mkmodel_opts o;
    if (fl_mkmodel_preset(&o, preset))
        return -1;
    memset(mm, 0, sizeof *mm);
    fl_llama_hparams *hp = &mm->m.hp;
    *hp = (fl_llama_hparams){.n_vocab = o.preset_vocab ? o.preset_vocab : 32000, .n_embd = o.dim,
                             .n_layer = o.n_layers, .n_ff = o.ffn, .n_head = o.n_heads,
                             .n_head_kv = o.n_kv_heads, .head_dim = o.dim / o.n_heads,
                             .n_rot = o.dim / o.n_heads, .n_ctx_train = o.ctx,
                             .rms_eps = o.eps, .rope_base = o.rope_base};
    uint64_t kv = (uint64_t)hp->n_head_kv * hp->head_dim;
    float d = 0.0005f;
    if (make_weight(&mm->shared[0], type, hp->n_embd, hp->n_embd, d) ||
        make_weight(&mm->shared[1], type, kv, hp->n_embd, d) ||
        make_weight(&mm->shared[2], type, hp->n_ff, hp->n_embd, d) ||
        make_weight(&mm->shared[3], type, hp->n_embd, hp->n_ff, d) ||
        make_weight(&mm->shared[4], FL_TYPE_F32, 1, hp->n_embd, 1.0f) ||
        make_weight(&mm->m.tok_embd, type, hp->n_vocab, hp->n_embd, d) ||
        make_weight(&mm->m.output, type, hp->n_vocab, hp->n_embd, d))
        return -1;
    mm->m.output_norm = mm->shared[4];
    mm->m.layers = calloc(hp->n_layer, sizeof *mm->m.layers);
    if (!mm->m.layers)
        return -1;
    for (uint32_t l = 0; l < hp->n_layer; l++)
        mm->m.layers[l] = (fl_llama_layer){
            .attn_norm = mm->shared[4], .wq = mm->shared[0], .wk = mm->shared[1],
            .wv = mm->shared[1], .wo = mm->shared[0], .ffn_norm = mm->shared[4],
            .w_gate = mm->shared[2], .w_up = mm->shared[2], .w_down = mm->shared[3]};
    mm->m.bos_id = 1;
    mm->m.eos_id = 2;
    return 0;
}

static void unbuild(mem_model *mm)
{
    for (int i = 0; i < 5; i++)
        free((void *)mm->shared[i].data);
    free((void *)mm->m.tok_embd.data);
    free((void *)mm->m.output.data);
    free(mm->m.layers);
}

/* ---- one case ------------------------------------------------------------------------------- */

/* Tensor operations (2 per multiply-add) of the matrix products per prompt token: every layer
 * matrix once per token, the output matrix once per prompt (the last token's logits). */
static double matmul_ops_per_token(const fl_llama *m, uint32_t T)
{
    double macs = 0;
    for (uint32_t l = 0; l < m->hp.n_layer; l++) {
        const fl_llama_layer *ly = &m->layers[l];
        const fl_weight *w[7] = {&ly->wq, &ly->wk, &ly->wv, &ly->wo,
                                 &ly->w_gate, &ly->w_up, &ly->w_down};
        for (int i = 0; i < 7; i++)
            macs += (double)w[i]->ne0 * (double)w[i]->ne1;
    }
    macs += (double)m->output.ne0 * (double)m->output.ne1 / T;
    return 2 * macs;
}

static int bench_case(const char *preset, uint32_t type, uint32_t n_decode, uint32_t T,
                      uint32_t device, double bw_gbps, double peak_tops)
{
    mem_model mm;
    if (build(&mm, preset, type)) {
        fprintf(stderr, "bench_cuda: cannot build %s %s in memory\n", preset, fl_type_name(type));
        unbuild(&mm);
        return 1;
    }
    fl_cuda_opts o;
    fl_cuda_default_opts(&o);
    uint32_t P = g_decode_at, n_tok = (T > P ? T : P) + n_decode + 8;
    o.n_ctx = n_tok;
    o.n_batch = T;
    o.device = device;
    o.mma = g_mma;
    o.fuse = g_fuse;
    o.att_split = g_att_split;
    fl_cuda_engine *e = NULL;
    double t0 = now_s();
    if (fl_cuda_engine_new(&e, &mm.m, &o)) {
        fprintf(stderr, "bench_cuda: %s %s: %s\n", preset, fl_type_name(type), flare_last_error());
        unbuild(&mm);
        return 1;
    }
    double t_up = now_s() - t0;
    int32_t *toks = malloc(sizeof(int32_t) * n_tok);
    for (uint32_t i = 0; i < n_tok; i++)
        toks[i] = (int32_t)(1 + (i * 7919u) % (mm.m.hp.n_vocab - 1));
    int rc = 0;

    // decode: a P-token prompt, a few warm-up steps (the first captures the graph), then timed
    rc |= fl_cuda_engine_eval(e, toks, P);
    for (uint32_t i = 0; i < 4 && !rc; i++)
        rc |= fl_cuda_engine_eval(e, toks + P + i, 1);
    t0 = now_s();
    for (uint32_t i = 0; i < n_decode && !rc; i++)
        rc |= fl_cuda_engine_eval(e, toks + P + 4 + i, 1);
    double dec_tok_s = n_decode / (now_s() - t0);

    // prefill: the best of 3 prompts of T tokens
    double pre_tok_s = 0;
    for (int r = 0; r < 3 && !rc; r++) {
        fl_cuda_engine_reset(e);
        t0 = now_s();
        rc |= fl_cuda_engine_eval(e, toks, T);
        double v = T / (now_s() - t0);
        pre_tok_s = v > pre_tok_s ? v : pre_tok_s;
    }
    if (rc) {
        fprintf(stderr, "bench_cuda: %s %s: %s\n", preset, fl_type_name(type), flare_last_error());
    } else {
        double gb = (double)fl_cuda_engine_weight_bytes(e) / 1e9;
        if (P > 1) /* + K and V (fp16) of every layer up to the mean timed position */
            gb += 4.0 * mm.m.hp.n_layer * mm.m.hp.n_head_kv * mm.m.hp.head_dim *
                  (P + 4 + n_decode / 2.0) / 1e9;
        double floor_tok_s = bw_gbps / gb;
        double pre_tops = pre_tok_s * matmul_ops_per_token(&mm.m, T) / 1e12;
        char of_peak[16] = "n/a";
        if (peak_tops > 0)
            snprintf(of_peak, sizeof of_peak, "%.1f%%", 100.0 * pre_tops / peak_tops);
        printf("%-10s %-5s %9.3f %10.1f %12.1f %12.1f %9.1f%% %14.0f %9.1f %9s %8.1f\n", preset,
               fl_type_name(type), gb, bw_gbps, dec_tok_s, floor_tok_s,
               100.0 * dec_tok_s / floor_tok_s, pre_tok_s, pre_tops, of_peak, t_up);
    }
    fflush(stdout);
    free(toks);
    fl_cuda_engine_free(e);
    unbuild(&mm);
    return rc != 0;
}

/* ---- --check: against the CPU engine ------------------------------------------------------- */

static double nmse(const float *a, const float *ref, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - ref[i];
        num += d * d;
        den += (double)ref[i] * ref[i];
    }
    return den > 0 ? num / den : num;
}

static int32_t argmax(const float *x, size_t n)
{
    size_t b = 0;
    for (size_t i = 1; i < n; i++)
        b = x[i] > x[b] ? i : b;
    return (int32_t)b;
}

/* A --presets entry, NAME[:key=N]... (keys dim, ffn, layers, heads, kv), into *mo; 0, or -1
 * with the error set (mkmodel's own checks of the shape included). */
static int parse_shape(const char *spec, fl_mkmodel_opts *mo)
{
    static const struct {
        const char *key;
        size_t off;
    } keys[] = {{"dim", offsetof(fl_mkmodel_opts, dim)},
                {"ffn", offsetof(fl_mkmodel_opts, ffn)},
                {"layers", offsetof(fl_mkmodel_opts, n_layers)},
                {"heads", offsetof(fl_mkmodel_opts, n_heads)},
                {"kv", offsetof(fl_mkmodel_opts, n_kv_heads)}};
    char buf[128], *save = NULL;
    if (strlen(spec) >= sizeof buf) {
        flare_error(FLARE_EINVAL, "--presets: '%.40s...' is too long", spec);
        return -1;
    }
    snprintf(buf, sizeof buf, "%s", spec);
    char *name = strtok_r(buf, ":", &save);
    if (!name || fl_mkmodel_preset(mo, name))
        return -1;
    for (char *kv = strtok_r(NULL, ":", &save); kv; kv = strtok_r(NULL, ":", &save)) {
        char *eq = strchr(kv, '='), *end = NULL;
        size_t k = 0, n_keys = sizeof keys / sizeof keys[0];
        while (eq && k < n_keys && (strlen(keys[k].key) != (size_t)(eq - kv) ||
                                    strncmp(kv, keys[k].key, (size_t)(eq - kv))))
            k++;
        unsigned long v = eq && eq[1] >= '0' && eq[1] <= '9' ? strtoul(eq + 1, &end, 10) : 0;
        if (!eq || k == n_keys || !end || *end || !v || v > 1u << 20) {
            flare_error(FLARE_EINVAL, "--presets %s: '%s' is not key=N with a key of dim, ffn, "
                        "layers, heads, kv and N from 1 to 2^20", spec, kv);
            return -1;
        }
        *(uint32_t *)((char *)mo + keys[k].off) = (uint32_t)v;
    }
    return fl_mkmodel_check(mo) ? -1 : 0;
}

/* A prompt of n_prompt tokens (12, or the --long length) in one batch, 8 steps teacher-forced
 * with the CPU's token; 1 on failure. The long prompt takes the prompt products over several
 * 64-token tiles and attention over several 256-position tiles, and its steps split attention
 * over positions (flash-decoding) where the GPU's SM count asks for it.
 * Limits: 1e-5 for F32/F16 weights; quantized, 5e-4 (a quantized matmul's bound) for models of
 * up to 6 layers as the tests, else 5e-4 x (layers + 1): the two engines run free, and their
 * Q8_0 activation rounding flips add up layer by layer (host/cli/cmd_run.c, docs/cuda.md). */
static int check_case(const char *preset, const fl_mkmodel_opts *shape, uint32_t type,
                      uint32_t n_prompt, const char *tmp, uint32_t device)
{
    char label[160];
    snprintf(label, sizeof label, "%s%s", preset, n_prompt > 12 ? "/long" : "");
    int is_float = type == FL_TYPE_F32 || type == FL_TYPE_F16;
    double tol = is_float ? 1e-5 : 5e-4;
    char path[1024];
    snprintf(path, sizeof path, "%s/bench_cuda-%d-%s-%u.gguf", tmp, (int)getpid(),
             fl_type_name(type), n_prompt);
    fl_mkmodel_opts mo = *shape;
    fl_model *m = NULL;
    fl_engine *c = NULL;
    fl_cuda_engine *g = NULL;
    int fail = 1;
    mo.type = type;
    mo.seed = 11;
    mo.n_threads = 0;
    fl_engine_opts co;
    fl_engine_default_opts(&co);
    co.n_ctx = n_prompt + 16 > 64 ? n_prompt + 16 : 64;
    co.n_threads = 8;
    fl_cuda_opts go;
    fl_cuda_default_opts(&go);
    go.n_ctx = co.n_ctx;
    go.device = device;
    go.att_split = g_att_split;
    go.mma = g_mma;
    go.fuse = g_fuse;
    if (fl_mkmodel_write(&mo, path) || fl_model_open(&m, path) ||
        fl_engine_new(&c, &m->llama, &co) || fl_cuda_engine_new(&g, &m->llama, &go)) {
        printf("FAIL %-15s %-5s setup: %s\n", label, fl_type_name(type), flare_last_error());
        goto out;
    }
    uint32_t V = m->llama.hp.n_vocab;
    if (!is_float && m->llama.hp.n_layer > 6)
        tol = 5e-4 * (m->llama.hp.n_layer + 1);
    static const int32_t head[12] = {1, 9038, 2501, 263, 931, 11, 4, 263, 2501, 77, 5, 931};
    int32_t *prompt = malloc(sizeof(int32_t) * n_prompt);
    if (!prompt) {
        printf("FAIL %-15s %-5s: out of memory\n", label, fl_type_name(type));
        goto out;
    }
    for (uint32_t i = 0; i < n_prompt; i++)
        prompt[i] = (i < 12 ? head[i] : (int32_t)(1 + 37 * i)) % (int32_t)V;
    int bad = fl_engine_eval(c, prompt, n_prompt) || fl_cuda_engine_eval(g, prompt, n_prompt);
    free(prompt);
    if (bad) {
        printf("FAIL %-15s %-5s eval: %s\n", label, fl_type_name(type), flare_last_error());
        goto out;
    }
    double worst = 0;
    int same = 0, ties = 0;
    for (int s = 0; s < 8; s++) {
        const float *lc = fl_engine_logits(c), *lg = fl_cuda_engine_logits(g);
        double e = nmse(lg, lc, V);
        worst = e > worst ? e : worst;
        int32_t tc, tg;
        double gap, limit; /* a near-tie: the CPU's own gap between the two within 4 RMS */
        int agree = fl_xcheck_top1(lc, lg, V, 4.0, &tc, &tg, &gap, &limit);
        same += agree == 1;
        ties += agree == 2;
        if (!agree)
            printf("     %-15s %-5s step %d: CUDA chose %d, CPU %d, CPU gap %.3g > 4 x RMS "
                   "difference %.3g\n", label, fl_type_name(type), s, tg, tc, gap, limit);
        if (fl_engine_eval(c, &tc, 1) || fl_cuda_engine_eval(g, &tc, 1)) {
            printf("FAIL %-15s %-5s step %d: %s\n", label, fl_type_name(type), s,
                   flare_last_error());
            goto out;
        }
    }
    fail = !(worst < tol) || same + ties < 8;
    printf("%s %-15s %-5s worst logits NMSE %.3g (limit %.2g), same argmax %d/8, near-ties %d\n",
           fail ? "FAIL" : "PASS", label, fl_type_name(type), worst, tol, same, ties);
out:
    fflush(stdout);
    fl_cuda_engine_free(g);
    fl_engine_free(c);
    fl_model_free(m);
    unlink(path);
    return fail;
}

/* llama.cpp's logits for stories15M-Q8_0 (PREFIX.gguf, PREFIX.logits.f32: 16 rows of 32000
 * after the prompt and each greedy step), fed llama.cpp's tokens; 1 on failure. */
static int check_peer(const char *prefix, uint32_t device)
{
    enum { STEPS = 16, VOCAB = 32000 };
    char path[1024];
    fl_model *m = NULL;
    fl_cuda_engine *g = NULL;
    float *want = malloc(sizeof(float) * VOCAB * STEPS);
    int fail = 1;
    snprintf(path, sizeof path, "%s.logits.f32", prefix);
    FILE *f = fopen(path, "rb");
    size_t got = f && want ? fread(want, sizeof(float), (size_t)VOCAB * STEPS, f) : 0;
    if (f)
        fclose(f);
    snprintf(path, sizeof path, "%s.gguf", prefix);
    fl_cuda_opts go;
    fl_cuda_default_opts(&go);
    go.n_ctx = 64;
    go.device = device;
    go.mma = g_mma;
    go.fuse = g_fuse;
    int32_t prompt[5] = {1, 9038, 2501, 263, 931};
    if (got != (size_t)VOCAB * STEPS || fl_model_open(&m, path) || m->llama.hp.n_vocab != VOCAB ||
        fl_cuda_engine_new(&g, &m->llama, &go) || fl_cuda_engine_eval(g, prompt, 5)) {
        printf("FAIL llama.cpp peer %s: %s\n", prefix,
               got != (size_t)VOCAB * STEPS ? "cannot read the .logits.f32 file"
                                            : flare_last_error());
        goto out;
    }
    double worst = 0;
    for (int s = 0; s < STEPS; s++) {
        const float *w = want + (size_t)s * VOCAB;
        double e = nmse(fl_cuda_engine_logits(g), w, VOCAB);
        worst = e > worst ? e : worst;
        int32_t tok = argmax(w, VOCAB);
        if (fl_cuda_engine_eval(g, &tok, 1)) {
            printf("FAIL llama.cpp peer step %d: %s\n", s, flare_last_error());
            goto out;
        }
    }
    fail = !(worst < 5e-4);
    printf("%s llama.cpp peer stories15M-Q8_0: worst logits NMSE %.3g over %d steps (limit 5e-4)\n",
           fail ? "FAIL" : "PASS", worst, STEPS);
out:
    fflush(stdout);
    fl_cuda_engine_free(g);
    fl_model_free(m);
    free(want);
    return fail;
}

static int check_all(const char *tmp, const char *peer, uint32_t device, const char *presets,
                     uint32_t n_long)
{
    const uint32_t types[5] = {FL_TYPE_F32, FL_TYPE_F16, FL_TYPE_Q8_0, FL_TYPE_Q5_0, FL_TYPE_Q4_0};
    int fails = 0, n_cases = 0;
    enum { MAX_SHAPES = 32 };
    char list[1024], *name[MAX_SHAPES], *save = NULL;
    fl_mkmodel_opts shape[MAX_SHAPES];
    int n = 0;
    if (strlen(presets) >= sizeof list) {
        printf("FAIL --presets: longer than %zu characters\n", sizeof list - 1);
        return 1;
    }
    snprintf(list, sizeof list, "%s", presets);
    /* every entry parsed and checked before the first case runs */
    for (char *p = strtok_r(list, ",", &save); p; p = strtok_r(NULL, ",", &save), n++) {
        if (n == MAX_SHAPES) {
            printf("FAIL --presets: more than %d entries\n", MAX_SHAPES);
            return 1;
        }
        if (parse_shape(p, &shape[n])) {
            printf("FAIL --presets: %s\n", flare_last_error());
            return 1;
        }
        name[n] = p;
    }
    static const uint32_t long_types[2] = {FL_TYPE_F16, FL_TYPE_Q4_0};
    for (int i = 0; i < n; i++) {
        for (int t = 0; t < 5; t++, n_cases++)
            fails += check_case(name[i], &shape[i], types[t], 12, tmp, device);
        for (int t = 0; n_long && t < 2; t++, n_cases++)
            fails += check_case(name[i], &shape[i], long_types[t], n_long, tmp, device);
    }
    if (peer) {
        fails += check_peer(peer, device);
        n_cases++;
    }
    printf("%s: %d of %d cases failed\n", fails ? "FAIL" : "PASS", fails, n_cases);
    return fails ? 1 : 0;
}

int main(int argc, char **argv)
{
    uint32_t n_decode = 128, T = 512, device = 0;
    const char *model = "all", *type = "all", *tmp = "/tmp", *peer = NULL;
    const char *presets = "tiny,stories15M,tinyllama";
    uint32_t n_long = 300;
    int check = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--check")) {
            check = 1;
            continue;
        }
        if (!strcmp(a, "--no-mma")) {
            g_mma = 0;
            continue;
        }
        if (!strcmp(a, "--mma-untiled")) {
            g_mma = 2;
            continue;
        }
        if (!strcmp(a, "--no-fuse")) {
            g_fuse = 0;
            continue;
        }
        if (!v || (strcmp(a, "--decode") && strcmp(a, "--prefill") && strcmp(a, "--device") &&
                   strcmp(a, "--model") && strcmp(a, "--type") && strcmp(a, "--tmp") &&
                   strcmp(a, "--peer") && strcmp(a, "--presets") && strcmp(a, "--long") &&
                   strcmp(a, "--decode-at") && strcmp(a, "--att-split"))) {
            fprintf(stderr, "usage: bench_cuda [--check [--tmp DIR] [--peer PREFIX] "
                            "[--presets LIST] [--long N]] [--no-mma] [--mma-untiled] [--no-fuse] "
                            "[--decode-at P] [--att-split N] "
                            "[--decode N] [--prefill T] [--model tinyllama|llama2-7b|all] "
                            "[--type q4_0|q8_0|all] [--device N]\n");
            return 2;
        }
        if (!strcmp(a, "--decode"))
            n_decode = (uint32_t)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--prefill"))
            T = (uint32_t)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--device"))
            device = (uint32_t)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--model"))
            model = v;
        else if (!strcmp(a, "--type"))
            type = v;
        else if (!strcmp(a, "--peer"))
            peer = v;
        else if (!strcmp(a, "--long"))
            n_long = (uint32_t)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--decode-at"))
            g_decode_at = (uint32_t)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--att-split"))
            g_att_split = (uint32_t)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--presets"))
            presets = v;
        else /* --tmp */
            tmp = v;
        i++;
    }
    if (n_long && (n_long <= 12 || n_long > 100000)) {
        fprintf(stderr, "bench_cuda: --long must be 0 (off) or 13 to 100000\n");
        return 2;
    }
    if (!n_decode || !T || !g_decode_at || g_decode_at > 1000000) {
        fprintf(stderr, "bench_cuda: --decode, --prefill and --decode-at (at most 1000000) must "
                        "be positive\n");
        return 2;
    }
    char msg[512];
    if (fl_cuda_probe(device, msg, sizeof msg)) {
        fprintf(stderr, "bench_cuda: %s\n", msg);
        return 1;
    }
    if (check) {
        printf("# %s, library %s\n", msg, fl_cuda_lib_path());
        return check_all(tmp, peer, device, presets, n_long);
    }
    double bw = fl_cuda_d2d_gbps(device, 1ull << 30, 10);
    if (bw <= 0) {
        fprintf(stderr, "bench_cuda: %s\n", flare_last_error());
        return 1;
    }
    char how[256];
    double peak = fl_cuda_int8_peak_tops(device, how, sizeof how);
    if (peak < 0) {
        fprintf(stderr, "bench_cuda: %s\n", flare_last_error());
        return 1;
    }
    printf("# %s, library %s\n", msg, fl_cuda_lib_path());
    printf("# decode: %u single-token steps after a %u-token prompt; prefill: T=%u in one batch; "
           "floor = d2d GB/s / %s GB per token\n", n_decode, g_decode_at, T,
           g_decode_at > 1 ? "(weight + KV cache)" : "weight");
    static const char *const mma_name[3] = {"dp4a (--no-mma)", "int8 tensor cores, 64x64 tiles",
                                            "int8 tensor cores, per warp (--mma-untiled)"};
    printf("# prompt products: %s; decode: %s; decode attention: %s\n", mma_name[g_mma],
           g_fuse ? "steps fused into the products (5 launches a layer)"
                  : "one launch a step (--no-fuse)",
           g_att_split == 1 ? "one block a head (--att-split 1)"
           : g_att_split    ? "at most --att-split blocks a head"
                            : "split over about two blocks an SM");
    if (peak > 0)
        printf("# int8 tensor peak %.0f TOPS (dense: %s); prefill TOPS count the matrix "
               "products (2 ops a multiply-add)\n", peak, how);
    else
        printf("# int8 tensor peak: %s\n", how);
    printf("%-10s %-5s %9s %10s %12s %12s %10s %14s %9s %9s %8s\n", "model", "type",
           "GB/token", "d2d_GB/s", "decode_tok/s", "floor_tok/s", "of_floor", "prefill_tok/s",
           "pre_TOPS", "of_peak", "upload_s");
    const char *models[2] = {"tinyllama", "llama2-7b"};
    const uint32_t types[2] = {FL_TYPE_Q4_0, FL_TYPE_Q8_0};
    int fails = 0;
    for (int mi = 0; mi < 2; mi++) {
        if (strcmp(model, "all") && strcmp(model, models[mi]))
            continue;
        for (int ti = 0; ti < 2; ti++) {
            if (strcmp(type, "all") && strcasecmp(type, fl_type_name(types[ti])))
                continue;
            fails += bench_case(models[mi], types[ti], n_decode, T, device, bw, peak);
        }
    }
    return fails ? 1 : 0;
}
