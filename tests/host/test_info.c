/* tests/host/test_info.c: `flare info` on llama.cpp's stories15M file and on broken files.
 *
 * Expected figures are computed here from the hyperparameters the testdata README states
 * (dim 288, 6 layers, 6 heads, ffn 768, vocab 32000, Q8_0 weights of 34 bytes per 32, F32
 * norms), not from the code under test. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "flare/error.h"
#include "host/gguf.h"
#include "host/info.h"
#include "tests/common/testutil.h"
#include "host/mkmodel.h"

#define STORIES FLARE_TESTDATA "/llamacpp/stories15M-Q8_0.gguf"

/* stories15M from its hyperparameters */
#define S_DIM 288ull
#define S_FFN 768ull
#define S_LAYERS 6ull
#define S_VOCAB 32000ull
#define S_PARAMS (2 * S_DIM * S_VOCAB + S_LAYERS * (4 * S_DIM * S_DIM + 3 * S_DIM * S_FFN + 2 * S_DIM) + S_DIM)
#define Q8(n) ((n) / 32 * 34) /* bytes of n Q8_0 elements */
#define S_NORM_BYTES ((2 * S_LAYERS + 1) * S_DIM * 4)
#define S_STREAM (Q8(S_DIM * S_VOCAB) + S_LAYERS * Q8(4 * S_DIM * S_DIM + 3 * S_DIM * S_FFN) + S_NORM_BYTES + Q8(S_DIM))

static char *run_cli(const char *args, int *status)
{
    char *out;
    *status = t_flare(args, &out);
    return out;
}

Test(info, stories15M_figures)
{
    gguf_file *f = NULL;
    cr_assert_eq(gguf_open(&f, STORIES), 0, "%s", flare_last_error());
    fl_info_figures g;
    fl_info_figures_get(f, &g);
    cr_assert_eq(g.n_params, S_PARAMS);
    cr_assert_eq(g.n_params, 24407712ull);
    cr_assert_eq(g.embd_row_bytes, Q8(S_DIM));
    cr_assert(!g.tied_output);
    cr_assert_eq(g.stream_bytes, S_STREAM, "%" PRIu64 " vs %llu", g.stream_bytes, S_STREAM);
    cr_assert_eq(g.n_layers, 6);
    cr_assert_eq(g.n_kv_heads, 6);
    cr_assert_eq(g.head_dim, 48);
    cr_assert_eq(g.kv_bytes_per_token, 2ull * 6 * 6 * 48 * 2);
    gguf_close(f);
}

Test(info, stories15M_text)
{
    int st;
    char *out = run_cli("info " STORIES, &st);
    cr_assert_eq(st, 0, "%s", out);
    cr_assert(strstr(out, "57 tensors"), "tensor count: %.400s", out);
    cr_assert(strstr(out, "24407712 (24.4M)"), "parameter count missing");
    cr_assert(strstr(out, "GGUF v3"));
    cr_assert(strstr(out, "tokenizer.ggml.tokens"));
    cr_assert(strstr(out, "[string x 32000]"), "long arrays summarised");
    cr_assert(strstr(out, "blk.5.ffn_up.weight"));
    cr_assert(strstr(out, "6912 bytes"), "KV cache per token");
    /* the array is summarised, not dumped: the report stays short */
    cr_assert_lt(strlen(out), 20000u);
    free(out);
}

Test(info, stories15M_json)
{
    int st;
    char *out = run_cli("info --json " STORIES, &st);
    cr_assert_eq(st, 0, "%s", out);
    cr_assert(strstr(out, "\"name\": \"output.weight\", \"type\": \"q8_0\", \"shape\": [288, 32000]"));
    /* the whole report is one JSON object (a strict parser) with the figures as numbers */
    char why[160];
    json_t *v = t_json(out, why, sizeof why);
    cr_assert(v, "%s", why);
    json_t *tensors = json_object_get(v, "tensors");
    cr_assert(json_is_array(tensors));
    cr_expect_eq(json_array_size(tensors), 57);
    json_t *d = json_object_get(v, "derived");
    cr_expect_eq(json_integer_value(json_object_get(d, "parameters")), 24407712);
    cr_expect_eq(json_integer_value(json_object_get(d, "kv_bytes_per_token")), 6912);
    cr_expect(json_is_false(json_object_get(d, "tied_output")));
    json_decref(v);
    free(out);
}

Test(info, mkmodel_gqa_kv_figure)
{
    char path[512];
    mkdir(FLARE_TMPDIR, 0755);
    snprintf(path, sizeof path, "%s/info_gqa_%d.gguf", FLARE_TMPDIR, (int)getpid());
    fl_mkmodel_opts o;
    cr_assert_eq(fl_mkmodel_preset(&o, "tiny"), 0); /* 2 layers, 4 heads, 2 kv heads, dim 64 */
    cr_assert_eq(fl_mkmodel_write(&o, path), 0, "%s", flare_last_error());
    gguf_file *f = NULL;
    cr_assert_eq(gguf_open(&f, path), 0);
    fl_info_figures g;
    fl_info_figures_get(f, &g);
    cr_assert_eq(g.kv_bytes_per_token, 2ull * 2 * 2 * 16 * 2);
    cr_assert_eq(g.n_ctx, 128);
    gguf_close(f);
    unlink(path);
}

/* Broken files: exit status 1 with an error line, never a crash. */
Test(info, broken_files_fail_cleanly)
{
    char path[512], args[1024];
    mkdir(FLARE_TMPDIR, 0755);
    snprintf(path, sizeof path, "%s/info_broken_%d.gguf", FLARE_TMPDIR, (int)getpid());
    FILE *src = fopen(STORIES, "rb");
    cr_assert(src);
    static unsigned char head[800000];
    cr_assert_eq(fread(head, 1, sizeof head, src), sizeof head);
    fclose(src);
    /* truncated inside the magic, the header, the metadata, the tensor infos, and the data */
    static const size_t cuts[] = {0, 3, 10, 23, 100, 5000, 400000, 727000, 727190, 800000};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        FILE *f = fopen(path, "wb");
        fwrite(head, 1, cuts[i], f);
        fclose(f);
        snprintf(args, sizeof args, "info %s", path);
        int st;
        char *out = run_cli(args, &st);
        cr_assert_eq(st, 1, "truncated at %zu: exit %d: %.300s", cuts[i], st, out);
        cr_assert(strstr(out, "flare: info:"), "truncated at %zu: %.300s", cuts[i], out);
        free(out);
    }
    /* garbage: random bytes, and a valid magic followed by random bytes */
    srand(1234);
    for (int trial = 0; trial < 20; trial++) {
        unsigned char buf[4096];
        for (size_t j = 0; j < sizeof buf; j++)
            buf[j] = (unsigned char)rand();
        if (trial % 2)
            memcpy(buf, "GGUF\x03\0\0\0", 8);
        FILE *f = fopen(path, "wb");
        fwrite(buf, 1, sizeof buf, f);
        fclose(f);
        snprintf(args, sizeof args, "info %s", path);
        int st;
        char *out = run_cli(args, &st);
        cr_assert_eq(st, 1, "garbage %d: exit %d: %.300s", trial, st, out);
        free(out);
    }
    unlink(path);
    int st;
    char *out = run_cli("info /nonexistent/file.gguf", &st);
    cr_assert_eq(st, 1);
    cr_assert(strstr(out, "/nonexistent/file.gguf"), "error names the file: %s", out);
    free(out);
    out = run_cli("info", &st);
    cr_assert_eq(st, 1);
    free(out);
    out = run_cli("info --help", &st);
    cr_assert_eq(st, 0);
    free(out);
}
