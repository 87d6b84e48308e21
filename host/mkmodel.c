/* host/mkmodel.c: `flare mkmodel`: a llama GGUF with seeded random weights (see mkmodel.h). */
#include "host/mkmodel.h"

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flare/error.h"
#include "flare/ggml.h"
#include "host/gguf.h"
#include "host/vocab_builtin.h"
#include "ref/quants.h"

/* ---- presets ----------------------------------------------------------------------------------- */

typedef struct {
    const char *name;
    uint32_t dim, ffn, n_layers, n_heads, n_kv_heads, ctx, vocab; /* vocab 0: built-in */
} preset;

static const preset presets[] = {
    {"tiny", 64, 192, 2, 4, 2, 128, 0},
    {"stories15M", 288, 768, 6, 6, 6, 256, 32000},
    {"stories110M", 768, 2048, 12, 12, 12, 1024, 32000},
    {"tinyllama", 2048, 5632, 22, 32, 4, 2048, 32000},
    {"llama2-7b", 4096, 11008, 32, 32, 32, 4096, 32000},
};
#define N_PRESETS (sizeof presets / sizeof presets[0])

const char *const *fl_mkmodel_preset_names(void)
{
    static const char *const names[N_PRESETS + 1] = {"tiny", "stories15M", "stories110M",
                                                     "tinyllama", "llama2-7b", NULL};
    return names;
}

int fl_mkmodel_preset(fl_mkmodel_opts *o, const char *name)
{
    for (size_t i = 0; i < N_PRESETS; i++) {
        const preset *p = &presets[i];
        if (strcmp(p->name, name) != 0)
            continue;
        *o = (fl_mkmodel_opts){
            .preset = p->name, .type = FL_TYPE_Q8_0, .seed = 1, .dim = p->dim, .ffn = p->ffn,
            .n_layers = p->n_layers, .n_heads = p->n_heads, .n_kv_heads = p->n_kv_heads,
            .ctx = p->ctx, .preset_vocab = p->vocab, .rope_base = 10000.0f, .eps = 1e-5f,
        };
        return 0;
    }
    return flare_error(FLARE_EINVAL,
                       "--preset: unknown preset '%s' (expected tiny, stories15M, stories110M, "
                       "tinyllama or llama2-7b)", name);
}

int fl_mkmodel_file_type(uint32_t type)
{
    switch (type) { /* llama.cpp's enum llama_ftype */
    case FL_TYPE_F32: return 0;  /* LLAMA_FTYPE_ALL_F32 */
    case FL_TYPE_F16: return 1;  /* LLAMA_FTYPE_MOSTLY_F16 */
    case FL_TYPE_Q4_0: return 2; /* LLAMA_FTYPE_MOSTLY_Q4_0 */
    case FL_TYPE_Q8_0: return 7; /* LLAMA_FTYPE_MOSTLY_Q8_0 */
    case FL_TYPE_Q5_0: return 8; /* LLAMA_FTYPE_MOSTLY_Q5_0 */
    default: return -1;
    }
}

/* ---- checks ------------------------------------------------------------------------------------ */

#define MAX_DIM 65536u
#define MAX_FFN 262144u
#define MAX_LAYERS 1024u
#define MAX_CTX 1048576u
#define MAX_VOCAB 2097152u
#define MAX_TENSOR_BYTES ((uint64_t)8 << 30) /* one tensor is generated in memory */
#define MAX_PARAMS ((uint64_t)1 << 38)

static uint32_t effective_vocab(const fl_mkmodel_opts *o)
{
    if (o->vocab_size)
        return o->vocab_size;
    return o->preset_vocab ? o->preset_vocab : fl_vocab_builtin_size();
}

/* Checks that need the vocabulary size (known after reading --vocab). */
static int check_sizes(const fl_mkmodel_opts *o, uint32_t n_vocab, const char *vocab_flag)
{
    if (n_vocab < 3 || n_vocab > MAX_VOCAB)
        return flare_error(FLARE_EINVAL, "%s: expected 3..%u tokens, got %u", vocab_flag,
                           MAX_VOCAB, n_vocab);
    uint64_t dim = o->dim, kv = (uint64_t)o->n_kv_heads * (o->dim / o->n_heads);
    uint64_t per_layer = 2 * dim * dim + 2 * dim * kv + 3 * dim * o->ffn + 2 * dim;
    uint64_t params = 2 * dim * n_vocab + (uint64_t)o->n_layers * per_layer + dim;
    if (params > MAX_PARAMS)
        return flare_error(FLARE_EINVAL,
                           "--dim/--ffn/--layers/%s: the model would have %" PRIu64
                           " parameters; at most %" PRIu64, vocab_flag, params, MAX_PARAMS);
    uint64_t embd_bytes = fl_row_bytes(o->type, dim) * n_vocab;
    if (embd_bytes > MAX_TENSOR_BYTES)
        return flare_error(FLARE_EINVAL,
                           "--dim/%s: token_embd would take %" PRIu64 " bytes; at most %" PRIu64
                           " per tensor", vocab_flag, embd_bytes, MAX_TENSOR_BYTES);
    uint64_t ffn_bytes = fl_row_bytes(o->type, dim) * o->ffn;
    if (ffn_bytes > MAX_TENSOR_BYTES)
        return flare_error(FLARE_EINVAL,
                           "--dim/--ffn: ffn_up would take %" PRIu64 " bytes; at most %" PRIu64
                           " per tensor", ffn_bytes, MAX_TENSOR_BYTES);
    return 0;
}

int fl_mkmodel_check(const fl_mkmodel_opts *o)
{
    int ft = fl_mkmodel_file_type(o->type);
    if (ft < 0)
        return flare_error(FLARE_EINVAL,
                           "--type: expected f32, f16, q8_0, q5_0 or q4_0, got %s",
                           fl_type_name(o->type));
    if (o->dim < 1 || o->dim > MAX_DIM)
        return flare_error(FLARE_EINVAL, "--dim: expected 1..%u, got %u", MAX_DIM, o->dim);
    if (o->ffn < 1 || o->ffn > MAX_FFN)
        return flare_error(FLARE_EINVAL, "--ffn: expected 1..%u, got %u", MAX_FFN, o->ffn);
    if (o->n_layers < 1 || o->n_layers > MAX_LAYERS)
        return flare_error(FLARE_EINVAL, "--layers: expected 1..%u, got %u", MAX_LAYERS,
                           o->n_layers);
    if (o->ctx < 1 || o->ctx > MAX_CTX)
        return flare_error(FLARE_EINVAL, "--ctx: expected 1..%u, got %u", MAX_CTX, o->ctx);
    if (o->n_heads < 1 || o->n_heads > o->dim || o->dim % o->n_heads)
        return flare_error(FLARE_EINVAL,
                           "--heads: expected a divisor of --dim %u, got %u", o->dim, o->n_heads);
    if ((o->dim / o->n_heads) % 2)
        return flare_error(FLARE_EINVAL,
                           "--heads: the head dimension --dim/--heads = %u/%u = %u must be even "
                           "(RoPE rotates pairs)", o->dim, o->n_heads, o->dim / o->n_heads);
    if (o->n_kv_heads < 1 || o->n_kv_heads > o->n_heads || o->n_heads % o->n_kv_heads)
        return flare_error(FLARE_EINVAL,
                           "--kv-heads: expected a divisor of --heads %u, got %u", o->n_heads,
                           o->n_kv_heads);
    if (o->type != FL_TYPE_F32 && o->type != FL_TYPE_F16) {
        if (o->dim % FL_QK)
            return flare_error(FLARE_EINVAL,
                               "--dim: type %s needs a multiple of %d (rows are %d-element "
                               "blocks), got %u", fl_type_name(o->type), FL_QK, FL_QK, o->dim);
        if (o->ffn % FL_QK)
            return flare_error(FLARE_EINVAL,
                               "--ffn: type %s needs a multiple of %d (rows are %d-element "
                               "blocks), got %u", fl_type_name(o->type), FL_QK, FL_QK, o->ffn);
    }
    if (!(o->rope_base > 0.0f) || !isfinite(o->rope_base))
        return flare_error(FLARE_EINVAL, "--rope-base: expected a positive number, got %g",
                           (double)o->rope_base);
    if (!(o->eps > 0.0f) || !(o->eps < 1.0f))
        return flare_error(FLARE_EINVAL, "--eps: expected a number in (0, 1), got %g",
                           (double)o->eps);
    if (o->vocab_size && (o->vocab_size < 3 || o->vocab_size > MAX_VOCAB))
        return flare_error(FLARE_EINVAL, "--vocab-size: expected 3..%u, got %u", MAX_VOCAB,
                           o->vocab_size);
    if (!o->vocab_path)
        return check_sizes(o, effective_vocab(o), "--vocab-size");
    return 0;
}

/* ---- PRNG: splitmix64 seeding, xoshiro256**, Box-Muller ------------------------------------------ */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t mix64(uint64_t x) { return splitmix64(&x); }

void fl_rng_seed(fl_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t fl_rng_next(fl_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Box-Muller with the logarithm, sine and cosine as polynomials in plain double arithmetic
 * (no libm but the correctly rounded sqrt), so a seed gives the same bytes on every IEEE-754
 * machine whatever its libm, and about twice as fast as log() + sincos(). */

/* ln(x) for x > 0 finite: x = m * 2^e with m in [sqrt(1/2), sqrt(2)); ln m = 2 atanh(s),
 * s = (m - 1) / (m + 1), |s| <= 0.172, series to s^11 (relative error < 1e-10). Branch-free so
 * that the block loops below vectorize. */
static inline double ln_pos(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    int32_t e = (int32_t)((u >> 52) & 0x7ff) - 1023;
    u = (u & 0x000fffffffffffffull) | 0x3ff0000000000000ull;
    double m;
    memcpy(&m, &u, sizeof m);
    int32_t big = m > 1.4142135623730951;
    m = big ? m * 0.5 : m;
    e += big;
    double t = (m - 1.0) / (m + 1.0), t2 = t * t;
    double p = 1.0 / 11;
    p = p * t2 + 1.0 / 9;
    p = p * t2 + 1.0 / 7;
    p = p * t2 + 1.0 / 5;
    p = p * t2 + 1.0 / 3;
    p = p * t2 + 1.0;
    return 2.0 * t * p + (double)e * 0.69314718055994530942;
}

/* sin and cos of 2 pi u for u in [0, 1): nearest quarter turn q, then Taylor series on
 * [-pi/4, pi/4] (sin to x^11, cos to x^12: errors below 1e-11), then rotate by q. */
static inline void sincos_turn(double u, double *sn, double *cs)
{
    double v = u * 4.0;
    int32_t q = (int32_t)(v + 0.5); /* 0..4 */
    double x = (v - (double)q) * 1.57079632679489661923, x2 = x * x;
    double s = -1.0 / 39916800;
    s = s * x2 + 1.0 / 362880;
    s = s * x2 - 1.0 / 5040;
    s = s * x2 + 1.0 / 120;
    s = s * x2 - 1.0 / 6;
    s = (s * x2 + 1.0) * x;
    double c = 1.0 / 479001600;
    c = c * x2 - 1.0 / 3628800;
    c = c * x2 + 1.0 / 40320;
    c = c * x2 - 1.0 / 720;
    c = c * x2 + 1.0 / 24;
    c = c * x2 - 0.5;
    c = c * x2 + 1.0;
    /* angle q pi/2 + x: q odd swaps sin and cos; q = 1, 2 negate cos, q = 2, 3 negate sin */
    int32_t odd = q & 1;
    double sv = odd ? c : s, cv = odd ? s : c;
    double sgn_s = ((q & 3) >= 2) ? -1.0 : 1.0, sgn_c = (((q + 1) & 3) >= 2) ? -1.0 : 1.0;
    *sn = sv * sgn_s;
    *cs = cv * sgn_c;
}

#define RNG_BLOCK 64 /* pairs per block */

/* One 64-bit draw gives u1 in (0, 1] and u2 in [0, 1) (32 bits each) and two independent
 * normals: sqrt(-2 ln u1) * (cos 2 pi u2, sin 2 pi u2), computed a block at a time. */
void fl_rng_normal(fl_rng *r, float *x, uint64_t n, float std)
{
    double u1[RNG_BLOCK], u2[RNG_BLOCK], c[RNG_BLOCK], s[RNG_BLOCK];
    for (uint64_t i = 0; i < n; i += 2 * RNG_BLOCK) {
        uint64_t pairs = (n - i + 1) / 2;
        pairs = pairs < RNG_BLOCK ? pairs : RNG_BLOCK;
        for (uint64_t j = 0; j < RNG_BLOCK; j++) {
            uint64_t b = j < pairs ? fl_rng_next(r) : 0;
            u1[j] = ((double)(b >> 32) + 1.0) * (1.0 / 4294967296.0);
            u2[j] = (double)(uint32_t)b * (1.0 / 4294967296.0);
        }
        for (uint64_t j = 0; j < RNG_BLOCK; j++) {
            double rad = sqrt(-2.0 * ln_pos(u1[j])) * std, sn, cs;
            sincos_turn(u2[j], &sn, &cs);
            c[j] = rad * cs;
            s[j] = rad * sn;
        }
        for (uint64_t j = 0; j < pairs; j++) {
            x[i + 2 * j] = (float)c[j];
            if (i + 2 * j + 1 < n)
                x[i + 2 * j + 1] = (float)s[j];
        }
    }
}

/* ---- the tensor plan --------------------------------------------------------------------------- */

typedef struct {
    char name[48];
    uint32_t type;
    uint32_t n_dims;
    uint64_t ne[2];  /* ne[0] = row length (input dim), ne[1] = rows */
    int is_norm;     /* F32, all 1.0 */
    uint64_t n_bytes;
} mk_tensor;

/* In the order llama.cpp's llama2.c converter writes (the stories15M test file): output,
 * output_norm, token_embd, then per layer its tensors by name. */
static int plan_tensors(const fl_mkmodel_opts *o, uint32_t n_vocab, mk_tensor **out,
                        uint32_t *n_out)
{
    uint32_t n = 3 + 9 * o->n_layers;
    mk_tensor *t = calloc(n, sizeof *t);
    if (!t)
        return flare_error(FLARE_ENOMEM, "mkmodel: out of memory for %u tensor infos", n);
    uint64_t dim = o->dim, kv_dim = (uint64_t)o->n_kv_heads * (o->dim / o->n_heads);
    uint32_t k = 0;
#define ADD(nm, norm, e0, e1)                                                                    \
    do {                                                                                         \
        mk_tensor *x = &t[k++];                                                                  \
        snprintf(x->name, sizeof x->name, "%s", nm);                                             \
        x->is_norm = (norm);                                                                     \
        x->type = (norm) ? FL_TYPE_F32 : o->type;                                                \
        x->n_dims = (norm) ? 1 : 2;                                                              \
        x->ne[0] = (e0);                                                                         \
        x->ne[1] = (norm) ? 1 : (e1);                                                            \
        x->n_bytes = fl_row_bytes(x->type, x->ne[0]) * x->ne[1];                                 \
    } while (0)
    ADD("output.weight", 0, dim, n_vocab);
    ADD("output_norm.weight", 1, dim, 1);
    ADD("token_embd.weight", 0, dim, n_vocab);
    for (uint32_t l = 0; l < o->n_layers; l++) {
        char nm[48];
#define BLK(suffix, norm, e0, e1)                                                                \
    do {                                                                                         \
        snprintf(nm, sizeof nm, "blk.%u." suffix ".weight", l);                                  \
        ADD(nm, norm, e0, e1);                                                                   \
    } while (0)
        BLK("attn_k", 0, dim, kv_dim);
        BLK("attn_norm", 1, dim, 1);
        BLK("attn_output", 0, dim, dim);
        BLK("attn_q", 0, dim, dim);
        BLK("attn_v", 0, dim, kv_dim);
        BLK("ffn_down", 0, (uint64_t)o->ffn, dim);
        BLK("ffn_gate", 0, dim, (uint64_t)o->ffn);
        BLK("ffn_norm", 1, dim, 1);
        BLK("ffn_up", 0, dim, (uint64_t)o->ffn);
#undef BLK
    }
#undef ADD
    *out = t;
    *n_out = n;
    return 0;
}

/* ---- generation (the writer's fill callback) ------------------------------------------------------ */

typedef struct {
    const mk_tensor *tensors;
    uint32_t n_tensors;
    uint64_t seed;
    uint32_t n_threads;
} mk_gen;

typedef struct {
    const mk_tensor *t;
    uint64_t seed;      /* the tensor's seed: hash of (model seed, name) */
    uint64_t row0, row1;
    uint8_t *dst;       /* the tensor's bytes */
    int rc;
    char msg[256];      /* the worker's error message (messages are per thread) */
} mk_job;

static uint64_t name_seed(uint64_t seed, const char *name)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (const char *p = name; *p; p++)
        h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
    return mix64(seed ^ mix64(h));
}

static void *gen_rows(void *arg)
{
    mk_job *j = arg;
    uint64_t k = j->t->ne[0], row_bytes = fl_row_bytes(j->t->type, k);
    float *x = malloc(k * sizeof *x); /* (k,) one row */
    if (!x) {
        j->rc = FLARE_ENOMEM;
        snprintf(j->msg, sizeof j->msg, "out of memory for a row of %" PRIu64 " floats", k);
        return NULL;
    }
    for (uint64_t r = j->row0; r < j->row1 && !j->rc; r++) {
        fl_rng rng;
        fl_rng_seed(&rng, j->seed ^ mix64(r));
        fl_rng_normal(&rng, x, k, (float)FL_MKMODEL_STD);
        j->rc = fl_quantize_row(j->t->type, x, j->dst + r * row_bytes, (int64_t)k);
        if (j->rc)
            snprintf(j->msg, sizeof j->msg, "row %" PRIu64 ": %s", r, flare_last_error());
    }
    free(x);
    return NULL;
}

static int gen_fill(void *user, uint64_t index, void *dst, uint64_t n_bytes)
{
    const mk_gen *g = user;
    if (index >= g->n_tensors || g->tensors[index].n_bytes != n_bytes)
        return flare_error(FLARE_EINVAL, "mkmodel: writer asked for tensor %" PRIu64
                           " with %" PRIu64 " bytes", index, n_bytes);
    const mk_tensor *t = &g->tensors[index];
    if (t->is_norm) {
        float *f = dst;
        for (uint64_t i = 0; i < t->ne[0]; i++)
            f[i] = 1.0f;
        return 0;
    }
    uint64_t rows = t->ne[1], work = rows * t->ne[0];
    uint32_t nt = work < (1u << 16) ? 1 : g->n_threads;
    if (nt > rows)
        nt = (uint32_t)rows;
    mk_job jobs[64];
    pthread_t tid[64];
    int started[64] = {0};
    uint64_t seed = name_seed(g->seed, t->name);
    for (uint32_t i = 0; i < nt; i++)
        jobs[i] = (mk_job){t, seed, rows * i / nt, rows * (i + 1) / nt, dst, 0, ""};
    for (uint32_t i = 1; i < nt; i++)
        started[i] = pthread_create(&tid[i], NULL, gen_rows, &jobs[i]) == 0;
    gen_rows(&jobs[0]);
    for (uint32_t i = 1; i < nt; i++) {
        if (started[i])
            pthread_join(tid[i], NULL);
        else
            gen_rows(&jobs[i]); /* no thread: do it here */
    }
    for (uint32_t i = 0; i < nt; i++)
        if (jobs[i].rc)
            return flare_error(jobs[i].rc, "mkmodel: tensor %s: %s", t->name, jobs[i].msg);
    return 0;
}

/* ---- metadata ---------------------------------------------------------------------------------- */

static int set_hparams(gguf_writer *w, const fl_mkmodel_opts *o, uint32_t n_vocab)
{
    char name[128];
    snprintf(name, sizeof name, "flare-%s", o->preset ? o->preset : "custom");
    int rc = 0;
    rc = rc ? rc : gguf_writer_set_str(w, "general.architecture", "llama");
    rc = rc ? rc : gguf_writer_set_str(w, "general.name", o->name ? o->name : name);
    rc = rc ? rc : gguf_writer_set_u32(w, "llama.context_length", o->ctx);
    rc = rc ? rc : gguf_writer_set_u32(w, "llama.embedding_length", o->dim);
    rc = rc ? rc : gguf_writer_set_u32(w, "llama.block_count", o->n_layers);
    rc = rc ? rc : gguf_writer_set_u32(w, "llama.feed_forward_length", o->ffn);
    rc = rc ? rc : gguf_writer_set_u32(w, "llama.rope.dimension_count", o->dim / o->n_heads);
    rc = rc ? rc : gguf_writer_set_u32(w, "llama.attention.head_count", o->n_heads);
    rc = rc ? rc : gguf_writer_set_u32(w, "llama.attention.head_count_kv", o->n_kv_heads);
    rc = rc ? rc : gguf_writer_set_f32(w, "llama.rope.freq_base", o->rope_base);
    rc = rc ? rc : gguf_writer_set_f32(w, "llama.attention.layer_norm_rms_epsilon", o->eps);
    rc = rc ? rc : gguf_writer_set_u32(w, "llama.vocab_size", n_vocab);
    rc = rc ? rc : gguf_writer_set_u32(w, "general.file_type", (uint32_t)fl_mkmodel_file_type(o->type));
    return rc;
}

static int set_builtin_vocab(gguf_writer *w, const fl_vocab *v)
{
    int rc = 0;
    rc = rc ? rc : gguf_writer_set_str(w, "tokenizer.ggml.model", "llama");
    rc = rc ? rc : gguf_writer_set_str(w, "tokenizer.ggml.pre", "default");
    rc = rc ? rc : gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens",
                                           (const char *const *)v->tokens, NULL, v->n);
    rc = rc ? rc : gguf_writer_set_arr(w, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, v->scores, v->n);
    rc = rc ? rc : gguf_writer_set_arr(w, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, v->types, v->n);
    rc = rc ? rc : gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", FL_VB_BOS_ID);
    rc = rc ? rc : gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", FL_VB_EOS_ID);
    rc = rc ? rc : gguf_writer_set_u32(w, "tokenizer.ggml.unknown_token_id", FL_VB_UNK_ID);
    rc = rc ? rc : gguf_writer_set_bool(w, "tokenizer.ggml.add_bos_token", true);
    rc = rc ? rc : gguf_writer_set_bool(w, "tokenizer.ggml.add_eos_token", false);
    return rc;
}

/* Copies every tokenizer.* key of an open vocabulary GGUF. */
static int copy_vocab(gguf_writer *w, const gguf_file *vf)
{
    for (uint64_t i = 0; i < gguf_n_kv(vf); i++) {
        const gguf_kv *kv = gguf_kv_at(vf, i);
        char key[256];
        if (kv->key.len < 10 || kv->key.len >= sizeof key || memcmp(kv->key.data, "tokenizer.", 10))
            continue;
        memcpy(key, kv->key.data, kv->key.len);
        key[kv->key.len] = '\0';
        int rc = gguf_writer_set_value(w, key, &kv->value);
        if (rc)
            return flare_error_prefix(rc, "--vocab %s: key %s", gguf_path(vf), key);
    }
    return 0;
}

/* Opens --vocab and returns its token count. */
static int open_vocab(const char *path, gguf_file **vf, uint32_t *n_vocab)
{
    int rc = gguf_open(vf, path);
    if (rc)
        return flare_error_prefix(rc, "--vocab");
    const gguf_value *tokens = NULL;
    rc = gguf_get_arr(*vf, "tokenizer.ggml.tokens", GGUF_TYPE_STRING, &tokens);
    if (rc || tokens->arr.n < 3 || tokens->arr.n > MAX_VOCAB) {
        gguf_close(*vf);
        *vf = NULL;
        return flare_error(FLARE_EINVAL,
                           "--vocab %s: expected tokenizer.ggml.tokens, an array of 3..%u "
                           "strings", path, MAX_VOCAB);
    }
    *n_vocab = (uint32_t)tokens->arr.n;
    return 0;
}

/* ---- writing ----------------------------------------------------------------------------------- */

static uint32_t default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 16 ? 16 : (uint32_t)n;
}

int fl_mkmodel_write(const fl_mkmodel_opts *o, const char *path)
{
    int rc = fl_mkmodel_check(o);
    if (rc)
        return rc;
    gguf_file *vf = NULL;
    fl_vocab v = {0};
    uint32_t n_vocab = 0;
    if (o->vocab_path) {
        rc = open_vocab(o->vocab_path, &vf, &n_vocab);
        if (rc)
            return rc;
        if (o->vocab_size && o->vocab_size != n_vocab)
            rc = flare_error(FLARE_EINVAL, "--vocab-size: %u differs from the %u tokens of "
                             "--vocab %s", o->vocab_size, n_vocab, o->vocab_path);
        if (!rc)
            rc = check_sizes(o, n_vocab, "--vocab");
    } else {
        rc = fl_vocab_builtin(&v, effective_vocab(o));
        n_vocab = v.n;
    }
    mk_tensor *tensors = NULL;
    uint32_t n_tensors = 0;
    if (!rc)
        rc = plan_tensors(o, n_vocab, &tensors, &n_tensors);
    gguf_writer *w = rc ? NULL : gguf_writer_new();
    if (!rc && !w)
        rc = flare_error(FLARE_ENOMEM, "mkmodel: out of memory for the writer");
    if (!rc)
        rc = set_hparams(w, o, n_vocab);
    if (!rc)
        rc = vf ? copy_vocab(w, vf) : set_builtin_vocab(w, &v);
    if (!rc)
        rc = gguf_writer_set_u32(w, "general.quantization_version", 2);
    for (uint32_t i = 0; i < n_tensors && !rc; i++) {
        int64_t idx = gguf_writer_add_tensor(w, tensors[i].name, tensors[i].type,
                                             tensors[i].n_dims, tensors[i].ne, NULL);
        if (idx < 0)
            rc = (int)idx;
        else if ((uint64_t)idx != i)
            rc = flare_error(FLARE_EINVAL, "mkmodel: writer gave index %" PRId64 " to %s",
                             idx, tensors[i].name);
    }
    if (vf)
        gguf_close(vf);
    fl_vocab_free(&v);
    if (!rc) {
        mk_gen g = {tensors, n_tensors, o->seed,
                    o->n_threads ? (o->n_threads > 64 ? 64 : o->n_threads) : default_threads()};
        rc = gguf_writer_write(w, path, gen_fill, &g);
    }
    gguf_writer_free(w);
    free(tensors);
    return rc;
}
