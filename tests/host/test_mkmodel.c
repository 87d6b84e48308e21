/* tests/host/test_mkmodel.c: `flare mkmodel` output against llama.cpp's own files.
 *
 * The stories15M preset must have the tensor names, order, types and shapes, and the metadata
 * key types, of llama.cpp's stories15M-Q8_0.gguf (written by llama.cpp's converter); --vocab
 * must copy the vocabulary GGUF's arrays exactly; weight statistics are measured on the
 * dequantized data in double precision; bad options are run through the real CLI. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "flare/error.h"
#include "flare/ggml.h"
#include "host/gguf.h"
#include "host/mkmodel.h"
#include "tests/common/testutil.h"
#include "host/tokenizer.h"
#include "host/vocab_builtin.h"
#include "ref/quants.h"

#define STORIES FLARE_TESTDATA "/llamacpp/stories15M-Q8_0.gguf"
#define VOCAB_SPM FLARE_TESTDATA "/vocab/ggml-vocab-llama-spm.gguf"
#define VOCAB_GPT2 FLARE_TESTDATA "/vocab/ggml-vocab-gpt-2.gguf"

/* ---- helpers ------------------------------------------------------------------------------------ */

static void tmp_path(char *buf, size_t cap, const char *tag)
{
    mkdir(FLARE_TMPDIR, 0755);
    snprintf(buf, cap, "%s/mkmodel_%s_%d.gguf", FLARE_TMPDIR, tag, (int)getpid());
}

static void write_model(fl_mkmodel_opts *o, const char *path)
{
    int rc = fl_mkmodel_write(o, path);
    cr_assert_eq(rc, 0, "fl_mkmodel_write %s: %s", path, flare_last_error());
}

static void *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f, "open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *buf = malloc((size_t)n + 1);
    cr_assert(buf);
    cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *size = (size_t)n;
    return buf;
}

static gguf_file *open_ok(const char *path)
{
    gguf_file *f = NULL;
    int rc = gguf_open(&f, path);
    cr_assert_eq(rc, 0, "gguf_open %s: %s", path, flare_last_error());
    return f;
}

static bool str_is(gguf_str s, const char *z) { return gguf_str_eq(s, z); }

/* Runs the CLI with `args` (stdout and stderr together). Returns the exit status; -1 when the
 * process did not exit normally (a crash). */
static int run_cli(const char *args, char *out, size_t cap)
{
    char *o;
    int st = t_flare(args, &o);
    snprintf(out, cap, "%s", o);
    free(o);
    return st;
}

/* ---- determinism -------------------------------------------------------------------------------- */

Test(mkmodel, same_options_same_bytes)
{
    char a[512], b[512], c[512];
    tmp_path(a, sizeof a, "det_a");
    tmp_path(b, sizeof b, "det_b");
    tmp_path(c, sizeof c, "det_c");
    fl_mkmodel_opts o;
    cr_assert_eq(fl_mkmodel_preset(&o, "tiny"), 0);
    o.type = FL_TYPE_Q4_0;
    o.seed = 42;
    o.n_threads = 1;
    write_model(&o, a);
    o.n_threads = 3; /* the bytes must not depend on the thread count */
    write_model(&o, b);
    o.seed = 43;
    write_model(&o, c);
    size_t na, nb, nc;
    unsigned char *da = slurp(a, &na), *db = slurp(b, &nb), *dc = slurp(c, &nc);
    cr_assert_eq(na, nb);
    cr_assert(memcmp(da, db, na) == 0, "same seed and options gave different bytes");
    cr_assert_eq(na, nc, "a different seed must not change the layout");
    /* the data sections differ; the headers are equal */
    gguf_file *f = open_ok(a);
    uint64_t doff = gguf_data_offset(f);
    gguf_close(f);
    cr_assert(memcmp(da, dc, doff) == 0, "header depends on the seed");
    size_t diff = 0;
    for (size_t i = doff; i < na; i++)
        diff += da[i] != dc[i];
    cr_assert_gt(diff, (na - doff) / 2, "seed 42 and 43 share too many bytes (%zu differ)", diff);
    free(da);
    free(db);
    free(dc);
    unlink(a);
    unlink(b);
    unlink(c);
}

/* ---- against llama.cpp's stories15M file ---------------------------------------------------------- */

static uint64_t u64_of(const gguf_file *f, const char *key)
{
    uint64_t v = 0;
    cr_assert_eq(gguf_get_uint(f, key, &v), 0, "%s: %s", key, flare_last_error());
    return v;
}

Test(mkmodel, metadata_types_match_llamacpp)
{
    char path[512];
    tmp_path(path, sizeof path, "keys");
    fl_mkmodel_opts o;
    cr_assert_eq(fl_mkmodel_preset(&o, "stories15M"), 0);
    write_model(&o, path);
    gguf_file *ours = open_ok(path), *ref = open_ok(STORIES);

    /* every key llama.cpp's file also has: same value type (and element type for arrays) */
    int shared = 0;
    for (uint64_t i = 0; i < gguf_n_kv(ours); i++) {
        const gguf_kv *kv = gguf_kv_at(ours, i);
        char key[256];
        snprintf(key, sizeof key, "%.*s", (int)kv->key.len, kv->key.data);
        const gguf_kv *r = gguf_find_kv(ref, key);
        if (!r)
            continue;
        shared++;
        cr_assert_eq(kv->value.type, r->value.type, "%s: type %s, llama.cpp writes %s", key,
                     gguf_type_name(kv->value.type), gguf_type_name(r->value.type));
        if (r->value.type == GGUF_TYPE_ARRAY)
            cr_assert_eq(kv->value.arr.type, r->value.arr.type, "%s: element type %s vs %s",
                         key, gguf_type_name(kv->value.arr.type),
                         gguf_type_name(r->value.arr.type));
    }
    cr_assert_geq(shared, 18, "only %d keys in common with llama.cpp's file", shared);

    /* the keys the brief requires, present */
    static const char *const required[] = {
        "general.architecture", "general.name", "general.file_type", "llama.context_length",
        "llama.embedding_length", "llama.block_count", "llama.feed_forward_length",
        "llama.attention.head_count", "llama.attention.head_count_kv",
        "llama.rope.dimension_count", "llama.rope.freq_base",
        "llama.attention.layer_norm_rms_epsilon", "llama.vocab_size", "tokenizer.ggml.model",
        "tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type",
        "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id",
        "tokenizer.ggml.unknown_token_id",
    };
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        cr_assert(gguf_find_kv(ours, required[i]), "missing key %s", required[i]);

    /* same hyperparameter values as llama.cpp's stories15M */
    static const char *const same[] = {
        "llama.context_length", "llama.embedding_length", "llama.block_count",
        "llama.feed_forward_length", "llama.attention.head_count",
        "llama.attention.head_count_kv", "llama.rope.dimension_count", "general.file_type",
        "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id",
        "tokenizer.ggml.unknown_token_id", "general.quantization_version",
    };
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++)
        cr_assert_eq(u64_of(ours, same[i]), u64_of(ref, same[i]), "%s differs", same[i]);
    double e1, e2, base;
    cr_assert_eq(gguf_get_float(ours, "llama.attention.layer_norm_rms_epsilon", &e1), 0);
    cr_assert_eq(gguf_get_float(ref, "llama.attention.layer_norm_rms_epsilon", &e2), 0);
    cr_assert_eq(e1, e2);
    cr_assert_eq(gguf_get_float(ours, "llama.rope.freq_base", &base), 0);
    cr_assert_eq(base, 10000.0, "llama.cpp's default RoPE base");
    cr_assert_eq(u64_of(ours, "llama.vocab_size"), 32000);
    gguf_str s;
    cr_assert_eq(gguf_get_str(ours, "general.architecture", &s), 0);
    cr_assert(str_is(s, "llama"));
    cr_assert_eq(gguf_get_str(ours, "tokenizer.ggml.model", &s), 0);
    cr_assert(str_is(s, "llama"));
    gguf_close(ours);
    gguf_close(ref);
    unlink(path);
}

Test(mkmodel, tensors_match_llamacpp)
{
    char path[512];
    tmp_path(path, sizeof path, "tensors");
    fl_mkmodel_opts o;
    cr_assert_eq(fl_mkmodel_preset(&o, "stories15M"), 0);
    write_model(&o, path);
    gguf_file *ours = open_ok(path), *ref = open_ok(STORIES);
    cr_assert_eq(gguf_n_tensors(ours), gguf_n_tensors(ref));
    for (uint64_t i = 0; i < gguf_n_tensors(ref); i++) {
        const gguf_tensor *a = gguf_tensor_at(ours, i), *b = gguf_tensor_at(ref, i);
        cr_assert_eq(a->name.len, b->name.len);
        cr_assert(memcmp(a->name.data, b->name.data, a->name.len) == 0,
                  "tensor %llu: %.*s, llama.cpp has %.*s", (unsigned long long)i,
                  (int)a->name.len, a->name.data, (int)b->name.len, b->name.data);
        cr_assert_eq(a->type, b->type, "%.*s type", (int)b->name.len, b->name.data);
        cr_assert_eq(a->n_dims, b->n_dims, "%.*s n_dims", (int)b->name.len, b->name.data);
        for (uint32_t d = 0; d < b->n_dims; d++)
            cr_assert_eq(a->ne[d], b->ne[d], "%.*s ne[%u]", (int)b->name.len, b->name.data, d);
        cr_assert_eq(a->offset, b->offset, "%.*s offset", (int)b->name.len, b->name.data);
    }
    gguf_close(ours);
    gguf_close(ref);
    unlink(path);
}

/* Grouped-query shapes, computed here from the hyperparameters. */
Test(mkmodel, gqa_shapes)
{
    char path[512];
    tmp_path(path, sizeof path, "gqa");
    fl_mkmodel_opts o;
    cr_assert_eq(fl_mkmodel_preset(&o, "tiny"), 0);
    o.dim = 128;
    o.n_heads = 8;
    o.n_kv_heads = 2;
    o.ffn = 320;
    o.n_layers = 3;
    o.type = FL_TYPE_F16;
    write_model(&o, path);
    gguf_file *f = open_ok(path);
    uint64_t hd = 128 / 8, kv = 2 * hd, nv = fl_vocab_builtin_size();
    struct {
        const char *name;
        uint64_t ne0, ne1;
        uint32_t type;
    } want[] = {
        {"token_embd.weight", 128, nv, FL_TYPE_F16}, {"output.weight", 128, nv, FL_TYPE_F16},
        {"output_norm.weight", 128, 1, FL_TYPE_F32}, {"blk.2.attn_q.weight", 128, 128, FL_TYPE_F16},
        {"blk.2.attn_k.weight", 128, kv, FL_TYPE_F16}, {"blk.2.attn_v.weight", 128, kv, FL_TYPE_F16},
        {"blk.2.attn_output.weight", 128, 128, FL_TYPE_F16},
        {"blk.2.ffn_gate.weight", 128, 320, FL_TYPE_F16}, {"blk.2.ffn_up.weight", 128, 320, FL_TYPE_F16},
        {"blk.2.ffn_down.weight", 320, 128, FL_TYPE_F16},
        {"blk.2.attn_norm.weight", 128, 1, FL_TYPE_F32}, {"blk.2.ffn_norm.weight", 128, 1, FL_TYPE_F32},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const gguf_tensor *t = gguf_find_tensor(f, want[i].name);
        cr_assert(t, "missing %s", want[i].name);
        cr_assert_eq(t->ne[0], want[i].ne0, "%s ne[0]", want[i].name);
        cr_assert_eq(t->ne[1], want[i].ne1, "%s ne[1]", want[i].name);
        cr_assert_eq(t->type, want[i].type, "%s type", want[i].name);
    }
    cr_assert_eq(gguf_n_tensors(f), 3 + 9 * 3);
    cr_assert_eq(u64_of(f, "llama.rope.dimension_count"), hd);
    cr_assert_eq(u64_of(f, "general.file_type"), 1);
    gguf_close(f);
    unlink(path);
}

/* ---- weights ------------------------------------------------------------------------------------ */

/* Mean, standard deviation, excess-free kurtosis and the fraction within one std of every
 * non-norm tensor, from the dequantized data in double precision; norms must be exactly 1. */
static void check_weights(uint32_t type, double std_tol)
{
    char path[512], tag[32];
    snprintf(tag, sizeof tag, "stats_%s", fl_type_name(type));
    tmp_path(path, sizeof path, tag);
    fl_mkmodel_opts o;
    cr_assert_eq(fl_mkmodel_preset(&o, "tiny"), 0);
    o.type = type;
    o.seed = 7;
    write_model(&o, path);
    gguf_file *f = open_ok(path);
    double s1 = 0, s2 = 0, s4 = 0;
    uint64_t n = 0, within = 0, norms = 0;
    for (uint64_t i = 0; i < gguf_n_tensors(f); i++) {
        const gguf_tensor *t = gguf_tensor_at(f, i);
        bool is_norm = t->n_dims == 1;
        uint64_t k = t->ne[0], rows = t->n_elements / k, rb = t->n_bytes / rows;
        float *row = malloc(k * sizeof *row);
        for (uint64_t r = 0; r < rows; r++) {
            cr_assert_eq(fl_dequantize_row(t->type, (const char *)t->data + r * rb, row,
                                           (int64_t)k), 0);
            for (uint64_t j = 0; j < k; j++) {
                if (is_norm) {
                    cr_assert_eq(row[j], 1.0f, "%.*s[%llu] = %g", (int)t->name.len,
                                 t->name.data, (unsigned long long)j, (double)row[j]);
                    norms++;
                    continue;
                }
                double x = row[j];
                s1 += x;
                s2 += x * x;
                s4 += x * x * x * x;
                within += fabs(x) < 0.02;
                n++;
            }
        }
        free(row);
        if (is_norm)
            cr_assert_eq(t->type, FL_TYPE_F32, "norm weights stay F32");
        else
            cr_assert_eq(t->type, type);
    }
    cr_assert_eq(norms, 64 * 5, "2 layers x 2 norms + output_norm, 64 each");
    double mean = s1 / n, var = s2 / n - mean * mean, sd = sqrt(var);
    double kurt = (s4 / n) / (var * var);
    double frac = (double)within / n;
    cr_assert_lt(fabs(mean), 3e-4, "%s: mean %g", fl_type_name(type), mean);
    cr_assert_lt(fabs(sd / 0.02 - 1), std_tol, "%s: std %g, expected 0.02", fl_type_name(type), sd);
    cr_assert(kurt > 2.8 && kurt < 3.2, "%s: kurtosis %g, a normal has 3", fl_type_name(type), kurt);
    cr_assert(fabs(frac - 0.6827) < 0.01, "%s: %g within one std, a normal has 0.6827",
              fl_type_name(type), frac);
    gguf_close(f);
    unlink(path);
}

Test(mkmodel, weights_f32) { check_weights(FL_TYPE_F32, 0.01); }
Test(mkmodel, weights_f16) { check_weights(FL_TYPE_F16, 0.01); }
Test(mkmodel, weights_q8_0) { check_weights(FL_TYPE_Q8_0, 0.01); }
Test(mkmodel, weights_q5_0) { check_weights(FL_TYPE_Q5_0, 0.02); }
Test(mkmodel, weights_q4_0) { check_weights(FL_TYPE_Q4_0, 0.03); }

/* The generator's own log/sin/cos polynomials against libm: the same draws of the same
 * xoshiro256** stream through textbook Box-Muller in double precision. */
Test(mkmodel, normals_match_libm_box_muller)
{
    enum { N = 100001 }; /* odd: the last pair is cut */
    float *x = malloc(N * sizeof *x);
    fl_rng r, ref;
    fl_rng_seed(&r, 12345);
    ref = r;
    fl_rng_normal(&r, x, N, 0.02f);
    for (uint64_t i = 0; i < N; i += 2) {
        uint64_t b = fl_rng_next(&ref);
        double u1 = ((double)(b >> 32) + 1.0) / 4294967296.0;
        double u2 = (double)(b & 0xffffffffu) / 4294967296.0;
        double rad = sqrt(-2.0 * log(u1)) * 0.02;
        double want[2] = {rad * cos(2 * M_PI * u2), rad * sin(2 * M_PI * u2)};
        for (int k = 0; k < 2 && i + k < N; k++)
            cr_assert(fabs(x[i + k] - want[k]) <= 1e-7 * fabs(want[k]) + 1e-12,
                      "x[%llu] = %.9g, libm Box-Muller gives %.9g", (unsigned long long)(i + k),
                      (double)x[i + k], want[k]);
    }
    /* the stream goes on where the reference stopped: N/2 + 1 draws were used */
    cr_assert_eq(fl_rng_next(&r), fl_rng_next(&ref));
    free(x);
}

/* ---- vocabularies ---------------------------------------------------------------------------------- */

/* Every key of `src` named tokenizer.* exists in `dst` with the same type and bytes. */
static void assert_same_arrays(const gguf_file *dst, const gguf_file *src, const char *key)
{
    const gguf_kv *a = gguf_find_kv(dst, key), *b = gguf_find_kv(src, key);
    cr_assert(a && b, "%s missing", key);
    cr_assert_eq(a->value.type, GGUF_TYPE_ARRAY);
    cr_assert_eq(a->value.arr.type, b->value.arr.type, "%s element type", key);
    cr_assert_eq(a->value.arr.n, b->value.arr.n, "%s count", key);
    for (uint64_t i = 0; i < b->value.arr.n; i++) {
        if (b->value.arr.type == GGUF_TYPE_STRING) {
            gguf_str x = a->value.arr.items[i].str, y = b->value.arr.items[i].str;
            cr_assert(x.len == y.len && memcmp(x.data, y.data, x.len) == 0, "%s[%llu]", key,
                      (unsigned long long)i);
        } else {
            cr_assert_eq(gguf_arr_f64(&a->value, i), gguf_arr_f64(&b->value, i), "%s[%llu]",
                         key, (unsigned long long)i);
        }
    }
}

static void vocab_copy(const char *vocab, const char *tag, const char *const *arrays,
                       size_t n_arrays)
{
    char path[512];
    tmp_path(path, sizeof path, tag);
    fl_mkmodel_opts o;
    cr_assert_eq(fl_mkmodel_preset(&o, "tiny"), 0);
    o.vocab_path = vocab;
    write_model(&o, path);
    gguf_file *f = open_ok(path), *v = open_ok(vocab);
    for (size_t i = 0; i < n_arrays; i++)
        assert_same_arrays(f, v, arrays[i]);
    /* every tokenizer.* key copied with its type */
    for (uint64_t i = 0; i < gguf_n_kv(v); i++) {
        const gguf_kv *kv = gguf_kv_at(v, i);
        if (kv->key.len < 10 || memcmp(kv->key.data, "tokenizer.", 10))
            continue;
        char key[256];
        snprintf(key, sizeof key, "%.*s", (int)kv->key.len, kv->key.data);
        const gguf_kv *mine = gguf_find_kv(f, key);
        cr_assert(mine, "%s not copied", key);
        cr_assert_eq(mine->value.type, kv->value.type, "%s type", key);
        if (kv->value.type == GGUF_TYPE_STRING)
            cr_assert(mine->value.str.len == kv->value.str.len &&
                      !memcmp(mine->value.str.data, kv->value.str.data, kv->value.str.len), "%s", key);
        else if (kv->value.type != GGUF_TYPE_ARRAY)
            cr_assert_eq(mine->value.u64, kv->value.u64, "%s value", key);
    }
    const gguf_value *tok;
    cr_assert_eq(gguf_get_arr(v, "tokenizer.ggml.tokens", GGUF_TYPE_STRING, &tok), 0);
    cr_assert_eq(u64_of(f, "llama.vocab_size"), tok->arr.n);
    cr_assert_eq(gguf_find_tensor(f, "token_embd.weight")->ne[1], tok->arr.n);
    cr_assert_eq(gguf_find_tensor(f, "output.weight")->ne[1], tok->arr.n);
    gguf_str s;
    cr_assert_eq(gguf_get_str(f, "general.architecture", &s), 0);
    cr_assert(str_is(s, "llama"), "the vocabulary's architecture must not be copied");
    gguf_close(f);
    gguf_close(v);
    unlink(path);
}

Test(mkmodel, vocab_spm_copied)
{
    static const char *const arrays[] = {"tokenizer.ggml.tokens", "tokenizer.ggml.scores",
                                         "tokenizer.ggml.token_type"};
    vocab_copy(VOCAB_SPM, "vocab_spm", arrays, 3);
}

Test(mkmodel, vocab_gpt2_copied)
{
    static const char *const arrays[] = {"tokenizer.ggml.tokens", "tokenizer.ggml.merges",
                                         "tokenizer.ggml.token_type"};
    vocab_copy(VOCAB_GPT2, "vocab_gpt2", arrays, 3);
}

static bool in_vocab(const fl_vocab *v, const char *s, size_t len)
{
    for (uint32_t i = 0; i < v->n; i++)
        if (strlen(v->tokens[i]) == len && memcmp(v->tokens[i], s, len) == 0)
            return true;
    return false;
}

Test(mkmodel, builtin_vocab_is_well_formed)
{
    fl_vocab v;
    cr_assert_eq(fl_vocab_builtin(&v, 32000), 0, "%s", flare_last_error());
    cr_assert_eq(v.n, 32000);
    cr_assert(v.n_builtin >= 300 && v.n_builtin <= 1000, "a few hundred tokens: %u", v.n_builtin);
    cr_assert_str_eq(v.tokens[0], "<unk>");
    cr_assert_str_eq(v.tokens[1], "<s>");
    cr_assert_str_eq(v.tokens[2], "</s>");
    cr_assert_eq(v.types[0], 2);
    cr_assert_eq(v.types[1], 3);
    cr_assert_eq(v.types[2], 3);
    for (int b = 0; b < 256; b++) {
        char want[8];
        snprintf(want, sizeof want, "<0x%02X>", b);
        cr_assert_str_eq(v.tokens[3 + b], want);
        cr_assert_eq(v.types[3 + b], 6);
    }
    /* every printable ASCII character and the SentencePiece space are pieces */
    for (int c = 0x21; c < 0x7f; c++) {
        char ch = (char)c;
        cr_assert(in_vocab(&v, &ch, 1), "missing '%c'", c);
    }
    cr_assert(in_vocab(&v, "\xe2\x96\x81", 3), "missing U+2581");
    /* normal pieces: reachable by merges (some split into two pieces of the vocabulary) */
    for (uint32_t i = 259; i < v.n_builtin; i++) {
        cr_assert_eq(v.types[i], 1, "token %u type", i);
        cr_assert(isfinite(v.scores[i]));
        size_t len = strlen(v.tokens[i]);
        bool single = len == 1 || (len == 3 && !memcmp(v.tokens[i], "\xe2\x96\x81", 3));
        bool split = single;
        for (size_t cut = 1; cut < len && !split; cut++)
            split = in_vocab(&v, v.tokens[i], cut) && in_vocab(&v, v.tokens[i] + cut, len - cut);
        cr_assert(split, "piece '%s' cannot be reached by a merge", v.tokens[i]);
    }
    /* padding: unused, very low score */
    for (uint32_t i = v.n_builtin; i < v.n; i++) {
        cr_assert_eq(v.types[i], 5);
        cr_assert_lt(v.scores[i], -1e6f);
    }
    fl_vocab_free(&v);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

Test(mkmodel, builtin_vocab_unique)
{
    fl_vocab v;
    cr_assert_eq(fl_vocab_builtin(&v, 40000), 0);
    char **s = malloc(v.n * sizeof *s);
    memcpy(s, v.tokens, v.n * sizeof *s);
    qsort(s, v.n, sizeof *s, cmp_str);
    for (uint32_t i = 1; i < v.n; i++)
        cr_assert(strcmp(s[i - 1], s[i]) != 0, "duplicate piece '%s'", s[i]);
    free(s);
    fl_vocab_free(&v);
    cr_assert_neq(fl_vocab_builtin(&v, 100), 0, "below the built-in size must fail");
}

/* The tokenizer (host/tokenizer.c) encodes any text with the built-in vocabulary of a written
 * file and decodes it back; known words become single pieces. */
Test(mkmodel, builtin_vocab_tokenizes)
{
    char path[512];
    tmp_path(path, sizeof path, "tok");
    fl_mkmodel_opts o;
    cr_assert_eq(fl_mkmodel_preset(&o, "tiny"), 0);
    write_model(&o, path);
    gguf_file *f = open_ok(path);
    fl_tokenizer *t = NULL;
    cr_assert_eq(fl_tokenizer_from_gguf(&t, f), 0, "%s", flare_last_error());
    static const char *const texts[] = {
        "Once upon a time, there was a little girl named Lily.",
        "Hello world",
        "tabs\tand\nnewlines, ~{}|` and UTF-8: \xc3\xbc" "n\xc3\xaf" "c\xc3\xb6" "de \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x99\x82",
        "",
    };
    int32_t *bos = NULL;
    size_t n_bos = 0;
    cr_assert_eq(fl_tokenize(t, "a", 1, FL_TOKENIZE_ADD_SPECIAL, &bos, &n_bos), 0);
    cr_assert(n_bos >= 1 && bos[0] == 1, "add_bos_token: BOS (id 1) first");
    free(bos);
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        int32_t *ids = NULL;
        size_t n = 0;
        const char *txt = texts[i];
        cr_assert_eq(fl_tokenize(t, txt, strlen(txt), 0, &ids, &n), 0);
        for (size_t j = 0; j < n; j++) {
            cr_assert(ids[j] >= 0 && (uint32_t)ids[j] < fl_vocab_builtin_size());
            cr_assert(ids[j] != 0, "no <unk>: byte fallback covers everything");
        }
        char *back = NULL;
        size_t len = 0;
        cr_assert_eq(fl_detokenize(t, ids, n, 0, &back, &len), 0);
        cr_assert_str_eq(back, txt, "round trip of text %zu", i);
        if (i == 1)
            cr_assert_eq(n, 2, "'Hello world' is two pieces, got %zu ids", n);
        free(back);
        free(ids);
    }
    fl_tokenizer_free(t);
    gguf_close(f);
    unlink(path);
}

/* ---- the CLI -------------------------------------------------------------------------------------- */

Test(mkmodel, bad_options_name_the_flag)
{
    char path[512], args[1024], out[4096];
    tmp_path(path, sizeof path, "bad");
    static const struct {
        const char *args, *flag;
    } cases[] = {
        {"--type q4_0 --dim 80", "--dim"},
        {"--type q8_0 --ffn 100", "--ffn"},
        {"--heads 5", "--heads"},
        {"--dim 96 --heads 32 --type f32", "--heads"}, /* head dim 3: odd */
        {"--heads 4 --kv-heads 3", "--kv-heads"},
        {"--kv-heads 8", "--kv-heads"},
        {"--type q4_1", "--type"},
        {"--type nonsense", "--type"},
        {"--preset huge", "--preset"},
        {"--dim abc", "--dim"},
        {"--dim 0", "--dim"},
        {"--dim 99999999", "--dim"},
        {"--layers 0", "--layers"},
        {"--ctx -5", "--ctx"},
        {"--vocab-size 10", "--vocab-size"},
        {"--vocab /nonexistent/vocab.gguf", "--vocab"},
        {"--vocab " VOCAB_SPM " --vocab-size 1000", "--vocab-size"},
        {"--eps -1", "--eps"},
        {"--rope-base nan", "--rope-base"},
        {"--seed", "--seed"},
        {"--bogus 1", "--bogus"},
        {"--preset llama2-7b --dim 65536 --ffn 262144", "--ffn"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        unlink(path);
        snprintf(args, sizeof args, "mkmodel %s -o %s", cases[i].args, path);
        int st = run_cli(args, out, sizeof out);
        cr_assert_eq(st, 1, "'%s' exited %d: %s", args, st, out);
        cr_assert(strstr(out, cases[i].flag), "'%s': error does not name %s: %s", args,
                  cases[i].flag, out);
        cr_assert(access(path, F_OK) != 0, "'%s' left a file", args);
    }
    cr_assert_eq(run_cli("mkmodel --preset tiny", out, sizeof out), 1);
    cr_assert(strstr(out, "-o"), "missing output names -o: %s", out);
    cr_assert_eq(run_cli("mkmodel --help", out, sizeof out), 0);
    cr_assert(strstr(out, "--preset") && strstr(out, "--kv-heads"));
}

Test(mkmodel, cli_matches_library)
{
    char a[512], b[512], args[1024], out[4096];
    tmp_path(a, sizeof a, "cli_a");
    tmp_path(b, sizeof b, "cli_b");
    snprintf(args, sizeof args, "mkmodel --type q5_0 --seed 9 --layers 1 --ctx 64 -o %s", a);
    cr_assert_eq(run_cli(args, out, sizeof out), 0, "%s", out);
    fl_mkmodel_opts o;
    cr_assert_eq(fl_mkmodel_preset(&o, "tiny"), 0);
    o.type = FL_TYPE_Q5_0;
    o.seed = 9;
    o.n_layers = 1;
    o.ctx = 64;
    write_model(&o, b);
    size_t na, nb;
    void *da = slurp(a, &na), *db = slurp(b, &nb);
    cr_assert(na == nb && memcmp(da, db, na) == 0);
    free(da);
    free(db);
    unlink(a);
    unlink(b);
}
