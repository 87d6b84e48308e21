/* tests/host/test_gguf.c: GGUF writer -> reader round trips.
 *
 * Every metadata value type (scalars at their extremes, empty and non-empty strings, arrays of
 * each fixed-size type, arrays of strings, nested arrays, empty arrays), custom alignments, and
 * tensors of every weight type (F32, F16, Q4_0, Q5_0, Q8_0) whose bytes are compared one for
 * one with what was written. The byte layout itself is checked against an independent decoder
 * in test_gguf_layout.c; the reader against files llama.cpp wrote in test_gguf_real.c. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <sys/stat.h>
#include <dirent.h>
#include <unistd.h>

#include "flare/error.h"
#include "flare/ggml.h"
#include "host/gguf.h"

/* ---- helpers ------------------------------------------------------------------------------- */

static void tmp_path(char *dst, size_t cap, const char *tag)
{
    mkdir(FLARE_TMPDIR, 0755);
    snprintf(dst, cap, "%s/gguf_%s_%d.gguf", FLARE_TMPDIR, tag, (int)getpid());
}

/* Deterministic bytes (xorshift) for tensor data. */
static void fill_bytes(uint8_t *p, size_t n, uint64_t seed)
{
    uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[i] = (uint8_t)(x >> 32);
    }
}

static uint8_t *read_all(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    cr_assert_not_null(fp, "open %s", path);
    fseek(fp, 0, SEEK_END);
    long sz = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    uint8_t *p = malloc((size_t)sz + 1);
    cr_assert_eq(fread(p, 1, (size_t)sz, fp), (size_t)sz);
    fclose(fp);
    *n = (size_t)sz;
    return p;
}

static const gguf_value *must_kv(const gguf_file *f, const char *key, uint32_t type)
{
    const gguf_kv *kv = gguf_find_kv(f, key);
    cr_assert_not_null(kv, "key %s missing", key);
    cr_assert_eq(kv->value.type, type, "key %s: type %u, expected %u", key, kv->value.type, type);
    return &kv->value;
}

/* ---- metadata round trip ------------------------------------------------------------------- */

Test(gguf_roundtrip, every_value_type)
{
    char path[512];
    tmp_path(path, sizeof path, "values");
    gguf_writer *w = gguf_writer_new();
    cr_assert_not_null(w);
    cr_assert_eq(gguf_writer_set_u8(w, "t.u8", 255), 0);
    cr_assert_eq(gguf_writer_set_i8(w, "t.i8", -128), 0);
    cr_assert_eq(gguf_writer_set_u16(w, "t.u16", 65535), 0);
    cr_assert_eq(gguf_writer_set_i16(w, "t.i16", -32768), 0);
    cr_assert_eq(gguf_writer_set_u32(w, "t.u32", 4294967295u), 0);
    cr_assert_eq(gguf_writer_set_i32(w, "t.i32", INT32_MIN), 0);
    cr_assert_eq(gguf_writer_set_u64(w, "t.u64", UINT64_MAX), 0);
    cr_assert_eq(gguf_writer_set_i64(w, "t.i64", INT64_MIN), 0);
    cr_assert_eq(gguf_writer_set_f32(w, "t.f32", -1.17549435e-38f), 0);
    cr_assert_eq(gguf_writer_set_f64(w, "t.f64", 3.141592653589793), 0);
    cr_assert_eq(gguf_writer_set_bool(w, "t.true", true), 0);
    cr_assert_eq(gguf_writer_set_bool(w, "t.false", false), 0);
    cr_assert_eq(gguf_writer_set_str(w, "t.str", "h\xc3\xa9llo \xe2\x96\x81world"), 0);
    cr_assert_eq(gguf_writer_set_str(w, "t.empty", ""), 0);
    /* a string with an embedded NUL through set_value */
    gguf_value nul = {.type = GGUF_TYPE_STRING};
    nul.str.data = "a\0b";
    nul.str.len = 3;
    cr_assert_eq(gguf_writer_set_value(w, "t.nul", &nul), 0);

    /* arrays of each fixed-size type */
    const uint8_t a_u8[] = {0, 1, 255};
    const int8_t a_i8[] = {-128, 0, 127};
    const uint16_t a_u16[] = {0, 65535};
    const int16_t a_i16[] = {-32768, 32767, -1};
    const uint32_t a_u32[] = {1, 2, 3, 4294967295u};
    const int32_t a_i32[] = {INT32_MIN, -1, INT32_MAX};
    const float a_f32[] = {0.5f, -2.25f, 1e30f};
    const uint8_t a_bool[] = {1, 0, 1};
    const uint64_t a_u64[] = {UINT64_MAX, 0};
    const int64_t a_i64[] = {INT64_MIN, INT64_MAX};
    const double a_f64[] = {-0.0, 1e-300};
    cr_assert_eq(gguf_writer_set_arr(w, "a.u8", GGUF_TYPE_UINT8, a_u8, 3), 0);
    cr_assert_eq(gguf_writer_set_arr(w, "a.i8", GGUF_TYPE_INT8, a_i8, 3), 0);
    cr_assert_eq(gguf_writer_set_arr(w, "a.u16", GGUF_TYPE_UINT16, a_u16, 2), 0);
    cr_assert_eq(gguf_writer_set_arr(w, "a.i16", GGUF_TYPE_INT16, a_i16, 3), 0);
    cr_assert_eq(gguf_writer_set_arr(w, "a.u32", GGUF_TYPE_UINT32, a_u32, 4), 0);
    cr_assert_eq(gguf_writer_set_arr(w, "a.i32", GGUF_TYPE_INT32, a_i32, 3), 0);
    cr_assert_eq(gguf_writer_set_arr(w, "a.f32", GGUF_TYPE_FLOAT32, a_f32, 3), 0);
    cr_assert_eq(gguf_writer_set_arr(w, "a.bool", GGUF_TYPE_BOOL, a_bool, 3), 0);
    cr_assert_eq(gguf_writer_set_arr(w, "a.u64", GGUF_TYPE_UINT64, a_u64, 2), 0);
    cr_assert_eq(gguf_writer_set_arr(w, "a.i64", GGUF_TYPE_INT64, a_i64, 2), 0);
    cr_assert_eq(gguf_writer_set_arr(w, "a.f64", GGUF_TYPE_FLOAT64, a_f64, 2), 0);
    cr_assert_eq(gguf_writer_set_arr(w, "a.empty", GGUF_TYPE_UINT32, NULL, 0), 0);

    /* strings: with empty ones, explicit lengths, and an empty array of strings */
    const char *strs[] = {"<unk>", "", "\xe2\x96\x81the", ""};
    cr_assert_eq(gguf_writer_set_arr_str(w, "s.tokens", strs, NULL, 4), 0);
    const char *raw[] = {"abcdef", "xyz"};
    const uint64_t lens[] = {2, 0};
    cr_assert_eq(gguf_writer_set_arr_str(w, "s.lens", raw, lens, 2), 0);
    cr_assert_eq(gguf_writer_set_arr_str(w, "s.none", NULL, NULL, 0), 0);

    /* nested: [[1, 2, 3], [], [-7]] of int16; [["a", ""], []] of strings; [[[1.5]]] depth 3;
     * and an empty array of arrays */
    const int16_t n0[] = {1, 2, 3}, n2[] = {-7};
    gguf_value in16[3] = {{.type = GGUF_TYPE_ARRAY}, {.type = GGUF_TYPE_ARRAY},
                          {.type = GGUF_TYPE_ARRAY}};
    in16[0].arr.type = in16[1].arr.type = in16[2].arr.type = GGUF_TYPE_INT16;
    in16[0].arr.n = 3, in16[0].arr.data = n0;
    in16[2].arr.n = 1, in16[2].arr.data = n2;
    gguf_value nest = {.type = GGUF_TYPE_ARRAY};
    nest.arr.type = GGUF_TYPE_ARRAY, nest.arr.n = 3, nest.arr.items = in16;
    cr_assert_eq(gguf_writer_set_value(w, "n.int16", &nest), 0);

    gguf_value sa[2] = {{.type = GGUF_TYPE_STRING}, {.type = GGUF_TYPE_STRING}};
    sa[0].str.data = "a", sa[0].str.len = 1;
    sa[1].str.data = "", sa[1].str.len = 0;
    gguf_value sarr[2] = {{.type = GGUF_TYPE_ARRAY}, {.type = GGUF_TYPE_ARRAY}};
    sarr[0].arr.type = GGUF_TYPE_STRING, sarr[0].arr.n = 2, sarr[0].arr.items = sa;
    sarr[1].arr.type = GGUF_TYPE_STRING;
    gguf_value nests = {.type = GGUF_TYPE_ARRAY};
    nests.arr.type = GGUF_TYPE_ARRAY, nests.arr.n = 2, nests.arr.items = sarr;
    cr_assert_eq(gguf_writer_set_value(w, "n.str", &nests), 0);

    const double d3 = 1.5;
    gguf_value l3 = {.type = GGUF_TYPE_ARRAY}, l2 = {.type = GGUF_TYPE_ARRAY},
               l1 = {.type = GGUF_TYPE_ARRAY};
    l3.arr.type = GGUF_TYPE_FLOAT64, l3.arr.n = 1, l3.arr.data = &d3;
    l2.arr.type = GGUF_TYPE_ARRAY, l2.arr.n = 1, l2.arr.items = &l3;
    l1.arr.type = GGUF_TYPE_ARRAY, l1.arr.n = 1, l1.arr.items = &l2;
    cr_assert_eq(gguf_writer_set_value(w, "n.deep", &l1), 0);
    gguf_value ne = {.type = GGUF_TYPE_ARRAY};
    ne.arr.type = GGUF_TYPE_ARRAY;
    cr_assert_eq(gguf_writer_set_value(w, "n.empty", &ne), 0);

    /* replacing a key keeps its place */
    cr_assert_eq(gguf_writer_set_u32(w, "t.replaced", 1), 0);
    cr_assert_eq(gguf_writer_set_str(w, "t.replaced", "now a string"), 0);

    cr_assert_eq(gguf_writer_write(w, path, NULL, NULL), 0, "%s", flare_last_error());
    gguf_writer_free(w);

    gguf_file *f;
    cr_assert_eq(gguf_open(&f, path), 0, "%s", flare_last_error());
    cr_assert_eq(gguf_version(f), 3);
    cr_assert_eq(gguf_alignment(f), 32);
    cr_assert_eq(gguf_n_tensors(f), 0);
    cr_assert_eq(gguf_n_kv(f), 35); /* 15 scalars, 12 + 3 arrays, 4 nested, 1 replaced */
    cr_assert(gguf_str_eq(gguf_kv_at(f, 0)->key, "t.u8"));
    cr_assert(gguf_str_eq(gguf_kv_at(f, 34)->key, "t.replaced"));

    cr_assert_eq(must_kv(f, "t.u8", GGUF_TYPE_UINT8)->u64, 255);
    cr_assert_eq(must_kv(f, "t.i8", GGUF_TYPE_INT8)->i64, -128);
    cr_assert_eq(must_kv(f, "t.u16", GGUF_TYPE_UINT16)->u64, 65535);
    cr_assert_eq(must_kv(f, "t.i16", GGUF_TYPE_INT16)->i64, -32768);
    cr_assert_eq(must_kv(f, "t.u32", GGUF_TYPE_UINT32)->u64, 4294967295u);
    cr_assert_eq(must_kv(f, "t.i32", GGUF_TYPE_INT32)->i64, INT32_MIN);
    cr_assert_eq(must_kv(f, "t.u64", GGUF_TYPE_UINT64)->u64, UINT64_MAX);
    cr_assert_eq(must_kv(f, "t.i64", GGUF_TYPE_INT64)->i64, INT64_MIN);
    cr_assert_eq(must_kv(f, "t.f32", GGUF_TYPE_FLOAT32)->f64, (double)-1.17549435e-38f);
    cr_assert_eq(must_kv(f, "t.f64", GGUF_TYPE_FLOAT64)->f64, 3.141592653589793);
    cr_assert_eq(must_kv(f, "t.true", GGUF_TYPE_BOOL)->b, true);
    cr_assert_eq(must_kv(f, "t.false", GGUF_TYPE_BOOL)->b, false);
    cr_assert(gguf_str_eq(must_kv(f, "t.str", GGUF_TYPE_STRING)->str, "h\xc3\xa9llo \xe2\x96\x81world"));
    cr_assert_eq(must_kv(f, "t.empty", GGUF_TYPE_STRING)->str.len, 0);
    const gguf_value *v = must_kv(f, "t.nul", GGUF_TYPE_STRING);
    cr_assert(v->str.len == 3 && memcmp(v->str.data, "a\0b", 3) == 0);
    cr_assert(gguf_str_eq(must_kv(f, "t.replaced", GGUF_TYPE_STRING)->str, "now a string"));

    /* typed getters */
    uint64_t u;
    int64_t i;
    double d;
    bool b;
    gguf_str s;
    cr_assert_eq(gguf_get_uint(f, "t.u16", &u), 0);
    cr_assert_eq(u, 65535);
    cr_assert_eq(gguf_get_uint(f, "t.i8", &u), FLARE_EINVAL); /* negative */
    cr_assert(strstr(flare_last_error(), "t.i8"));
    cr_assert_eq(gguf_get_int(f, "t.i64", &i), 0);
    cr_assert_eq(i, INT64_MIN);
    cr_assert_eq(gguf_get_int(f, "t.u64", &i), FLARE_EINVAL); /* > INT64_MAX */
    cr_assert_eq(gguf_get_int(f, "t.u32", &i), 0);
    cr_assert_eq(i, 4294967295);
    cr_assert_eq(gguf_get_float(f, "t.f64", &d), 0);
    cr_assert_eq(d, 3.141592653589793);
    cr_assert_eq(gguf_get_float(f, "t.i16", &d), 0);
    cr_assert_eq(d, -32768.0);
    cr_assert_eq(gguf_get_bool(f, "t.true", &b), 0);
    cr_assert(b);
    cr_assert_eq(gguf_get_bool(f, "t.u8", &b), FLARE_EINVAL);
    cr_assert(strstr(flare_last_error(), "t.u8") && strstr(flare_last_error(), "bool"));
    cr_assert_eq(gguf_get_str(f, "t.str", &s), 0);
    cr_assert_eq(gguf_get_str(f, "no.such.key", &s), FLARE_EINVAL);
    cr_assert(strstr(flare_last_error(), "no.such.key") && strstr(flare_last_error(), "not found"));
    cr_assert_null(gguf_find_kv(f, "t.u8x"));

    /* fixed arrays, element by element */
    const gguf_value *a;
    cr_assert_eq(gguf_get_arr(f, "a.u8", GGUF_TYPE_UINT8, &a), 0);
    cr_assert_eq(a->arr.n, 3);
    for (int k = 0; k < 3; k++)
        cr_assert_eq(gguf_arr_u64(a, k), a_u8[k]);
    cr_assert_eq(gguf_get_arr(f, "a.u8", GGUF_TYPE_INT8, &a), FLARE_EINVAL);
    cr_assert(strstr(flare_last_error(), "array of uint8"));
    cr_assert_eq(gguf_get_arr(f, "a.i8", GGUF_TYPE_COUNT, &a), 0);
    for (int k = 0; k < 3; k++)
        cr_assert_eq(gguf_arr_i64(a, k), a_i8[k]);
    cr_assert_eq(gguf_get_arr(f, "a.u16", GGUF_TYPE_UINT16, &a), 0);
    for (int k = 0; k < 2; k++)
        cr_assert_eq(gguf_arr_u64(a, k), a_u16[k]);
    cr_assert_eq(gguf_get_arr(f, "a.i16", GGUF_TYPE_INT16, &a), 0);
    for (int k = 0; k < 3; k++)
        cr_assert_eq(gguf_arr_i64(a, k), a_i16[k]);
    cr_assert_eq(gguf_get_arr(f, "a.u32", GGUF_TYPE_UINT32, &a), 0);
    for (int k = 0; k < 4; k++)
        cr_assert_eq(gguf_arr_u64(a, k), a_u32[k]);
    cr_assert_eq(gguf_arr_u64(a, 4), 0, "out of range reads as 0");
    cr_assert_eq(gguf_get_arr(f, "a.i32", GGUF_TYPE_INT32, &a), 0);
    for (int k = 0; k < 3; k++)
        cr_assert_eq(gguf_arr_i64(a, k), a_i32[k]);
    cr_assert_eq(gguf_get_arr(f, "a.f32", GGUF_TYPE_FLOAT32, &a), 0);
    for (int k = 0; k < 3; k++)
        cr_assert_eq(gguf_arr_f64(a, k), (double)a_f32[k]);
    cr_assert_eq(gguf_get_arr(f, "a.bool", GGUF_TYPE_BOOL, &a), 0);
    for (int k = 0; k < 3; k++)
        cr_assert_eq(gguf_arr_u64(a, k), a_bool[k]);
    cr_assert_eq(gguf_get_arr(f, "a.u64", GGUF_TYPE_UINT64, &a), 0);
    for (int k = 0; k < 2; k++)
        cr_assert_eq(gguf_arr_u64(a, k), a_u64[k]);
    cr_assert_eq(gguf_get_arr(f, "a.i64", GGUF_TYPE_INT64, &a), 0);
    for (int k = 0; k < 2; k++)
        cr_assert_eq(gguf_arr_i64(a, k), a_i64[k]);
    cr_assert_eq(gguf_get_arr(f, "a.f64", GGUF_TYPE_FLOAT64, &a), 0);
    cr_assert(signbit(gguf_arr_f64(a, 0)) && gguf_arr_f64(a, 0) == 0.0);
    cr_assert_eq(gguf_arr_f64(a, 1), 1e-300);
    cr_assert_eq(gguf_get_arr(f, "a.empty", GGUF_TYPE_UINT32, &a), 0);
    cr_assert_eq(a->arr.n, 0);

    /* string arrays */
    cr_assert_eq(gguf_get_arr(f, "s.tokens", GGUF_TYPE_STRING, &a), 0);
    cr_assert_eq(a->arr.n, 4);
    for (int k = 0; k < 4; k++)
        cr_assert(gguf_str_eq(gguf_arr_str(a, k), strs[k]), "token %d", k);
    cr_assert_eq(gguf_arr_str(a, 4).len, 0);
    cr_assert_eq(gguf_get_arr(f, "s.lens", GGUF_TYPE_STRING, &a), 0);
    cr_assert(gguf_str_eq(gguf_arr_str(a, 0), "ab") && gguf_str_eq(gguf_arr_str(a, 1), ""));
    cr_assert_eq(gguf_get_arr(f, "s.none", GGUF_TYPE_STRING, &a), 0);
    cr_assert_eq(a->arr.n, 0);

    /* nested arrays */
    cr_assert_eq(gguf_get_arr(f, "n.int16", GGUF_TYPE_ARRAY, &a), 0);
    cr_assert_eq(a->arr.n, 3);
    cr_assert_eq(a->arr.items[0].arr.type, GGUF_TYPE_INT16);
    cr_assert_eq(a->arr.items[0].arr.n, 3);
    for (int k = 0; k < 3; k++)
        cr_assert_eq(gguf_arr_i64(&a->arr.items[0], k), n0[k]);
    cr_assert_eq(a->arr.items[1].arr.n, 0);
    cr_assert_eq(gguf_arr_i64(&a->arr.items[2], 0), -7);
    cr_assert_eq(gguf_get_arr(f, "n.str", GGUF_TYPE_ARRAY, &a), 0);
    cr_assert_eq(a->arr.n, 2);
    cr_assert_eq(a->arr.items[0].arr.type, GGUF_TYPE_STRING);
    cr_assert(gguf_str_eq(gguf_arr_str(&a->arr.items[0], 0), "a"));
    cr_assert(gguf_str_eq(gguf_arr_str(&a->arr.items[0], 1), ""));
    cr_assert_eq(a->arr.items[1].arr.type, GGUF_TYPE_STRING);
    cr_assert_eq(a->arr.items[1].arr.n, 0);
    cr_assert_eq(gguf_get_arr(f, "n.deep", GGUF_TYPE_ARRAY, &a), 0);
    cr_assert_eq(gguf_arr_f64(&a->arr.items[0].arr.items[0], 0), 1.5);
    cr_assert_eq(gguf_get_arr(f, "n.empty", GGUF_TYPE_ARRAY, &a), 0);
    cr_assert_eq(a->arr.n, 0);
    gguf_close(f);
    unlink(path);
}

/* ---- tensors of every weight type ---------------------------------------------------------- */

typedef struct {
    const char *name;
    uint32_t type;
    uint32_t n_dims;
    uint64_t ne[4];
} tspec;

static const tspec specs[] = {
    {"f32.vec", FL_TYPE_F32, 1, {7, 1, 1, 1}},
    {"f16.mat", FL_TYPE_F16, 2, {5, 3, 1, 1}},
    {"q4_0.mat", FL_TYPE_Q4_0, 2, {64, 3, 1, 1}},
    {"q5_0.3d", FL_TYPE_Q5_0, 3, {32, 2, 3, 1}},
    {"q8_0.4d", FL_TYPE_Q8_0, 4, {96, 2, 1, 2}},
    {"f32.empty", FL_TYPE_F32, 2, {0, 4, 1, 1}},
};
enum { N_SPECS = sizeof specs / sizeof specs[0] };

/* bytes of a tensor from the block table of ggml (independent of fl_type_get) */
static uint64_t spec_bytes(const tspec *s)
{
    uint64_t n = s->ne[0] * s->ne[1] * s->ne[2] * s->ne[3];
    switch (s->type) {
    case FL_TYPE_F32: return n * 4;
    case FL_TYPE_F16: return n * 2;
    case FL_TYPE_Q4_0: return n / 32 * 18;
    case FL_TYPE_Q5_0: return n / 32 * 22;
    case FL_TYPE_Q8_0: return n / 32 * 34;
    default: return 0;
    }
}

static int fill_cb(void *user, uint64_t index, void *dst, uint64_t n_bytes)
{
    int *calls = user;
    (*calls)++;
    fill_bytes(dst, n_bytes, index + 100);
    return 0;
}

static void tensors_roundtrip(uint32_t alignment, bool use_fill)
{
    char path[512], tag[64];
    snprintf(tag, sizeof tag, "tensors_%u_%d", alignment, use_fill);
    tmp_path(path, sizeof path, tag);
    uint8_t *data[N_SPECS];
    gguf_writer *w = gguf_writer_new();
    cr_assert_eq(gguf_writer_set_str(w, "general.architecture", "llama"), 0);
    if (alignment != 32)
        cr_assert_eq(gguf_writer_set_alignment(w, alignment), 0);
    for (int k = 0; k < N_SPECS; k++) {
        uint64_t n = spec_bytes(&specs[k]);
        data[k] = malloc(n + 1);
        fill_bytes(data[k], n, (uint64_t)k + 100);
        int64_t idx = gguf_writer_add_tensor(w, specs[k].name, specs[k].type, specs[k].n_dims,
                                             specs[k].ne, use_fill ? NULL : data[k]);
        cr_assert_eq(idx, k, "%s", flare_last_error());
    }
    int calls = 0;
    cr_assert_eq(gguf_writer_write(w, path, use_fill ? fill_cb : NULL, &calls), 0, "%s",
                 flare_last_error());
    cr_assert_eq(calls, use_fill ? N_SPECS - 1 : 0, "fill called for each non-empty tensor");
    gguf_writer_free(w);

    size_t fsize;
    uint8_t *bytes = read_all(path, &fsize);
    gguf_file *f;
    cr_assert_eq(gguf_open(&f, path), 0, "%s", flare_last_error());
    cr_assert_eq(gguf_alignment(f), alignment);
    cr_assert_eq(gguf_n_tensors(f), N_SPECS);
    uint64_t off = gguf_data_offset(f);
    cr_assert_eq(off % alignment, 0);
    uint64_t expect_rel = 0;
    for (int k = 0; k < N_SPECS; k++) {
        const gguf_tensor *t = gguf_find_tensor(f, specs[k].name);
        cr_assert_not_null(t, "%s", specs[k].name);
        cr_assert_eq(t, gguf_tensor_at(f, (uint64_t)k));
        cr_assert_eq(t->type, specs[k].type);
        cr_assert_eq(t->n_dims, specs[k].n_dims);
        for (int d = 0; d < 4; d++)
            cr_assert_eq(t->ne[d], specs[k].ne[d], "%s ne[%d]", specs[k].name, d);
        uint64_t n = spec_bytes(&specs[k]);
        cr_assert_eq(t->n_bytes, n, "%s bytes", specs[k].name);
        cr_assert_eq(t->n_elements, specs[k].ne[0] * specs[k].ne[1] * specs[k].ne[2] * specs[k].ne[3]);
        cr_assert_eq(t->offset % alignment, 0);
        cr_assert_eq(t->offset, expect_rel, "%s: tensors packed in order", specs[k].name);
        expect_rel += (n + alignment - 1) / alignment * alignment;
        /* data byte for byte, both through the view and at its place in the file */
        cr_assert(memcmp(t->data, data[k], n) == 0, "%s data", specs[k].name);
        cr_assert(memcmp(bytes + off + t->offset, data[k], n) == 0);
        /* padding after the data is zeros */
        for (uint64_t p = off + t->offset + n; p < off + expect_rel && p < fsize; p++)
            cr_assert_eq(bytes[p], 0, "%s padding byte at %llu", specs[k].name,
                         (unsigned long long)p);
    }
    cr_assert_eq(fsize, off + expect_rel, "file ends after the last tensor's padding");
    cr_assert_null(gguf_find_tensor(f, "nope"));
    gguf_close(f);
    free(bytes);
    for (int k = 0; k < N_SPECS; k++)
        free(data[k]);
    unlink(path);
}

Test(gguf_roundtrip, tensors_default_alignment) { tensors_roundtrip(32, false); }
Test(gguf_roundtrip, tensors_alignment_1) { tensors_roundtrip(1, false); }
Test(gguf_roundtrip, tensors_alignment_64_fill) { tensors_roundtrip(64, true); }
Test(gguf_roundtrip, tensors_alignment_4096) { tensors_roundtrip(4096, true); }

/* ---- writer errors ------------------------------------------------------------------------- */

static int fail_fill(void *user, uint64_t index, void *dst, uint64_t n_bytes)
{
    (void)user, (void)dst, (void)n_bytes;
    return index == 1 ? flare_error(FLARE_EIO, "source exhausted") : 0;
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

Test(gguf_writer, failed_fill_leaves_no_file)
{
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/gguf_failfill_%d", FLARE_TMPDIR, (int)getpid());
    mkdir(FLARE_TMPDIR, 0755);
    cr_assert_eq(mkdir(dir, 0755), 0);
    snprintf(path, sizeof path, "%s/m.gguf", dir);
    gguf_writer *w = gguf_writer_new();
    uint64_t ne[1] = {32};
    cr_assert_eq(gguf_writer_add_tensor(w, "a", FL_TYPE_F32, 1, ne, NULL), 0);
    cr_assert_eq(gguf_writer_add_tensor(w, "b", FL_TYPE_F32, 1, ne, NULL), 1);
    cr_assert_eq(gguf_writer_write(w, path, fail_fill, NULL), FLARE_EIO);
    cr_assert(strstr(flare_last_error(), "'b'") && strstr(flare_last_error(), "source exhausted"),
              "%s", flare_last_error());
    cr_assert_eq(count_entries(dir), 0, "no partial or temporary file left");
    /* no data and no callback */
    cr_assert_eq(gguf_writer_write(w, path, NULL, NULL), FLARE_EINVAL);
    cr_assert(strstr(flare_last_error(), "no data"));
    cr_assert_eq(count_entries(dir), 0);
    gguf_writer_free(w);
    rmdir(dir);
}

Test(gguf_writer, refuses_bad_input)
{
    gguf_writer *w = gguf_writer_new();
    uint64_t ne[4] = {32, 2, 1, 1};
    cr_assert_eq(gguf_writer_add_tensor(w, "t", FL_TYPE_Q8_0, 2, ne, NULL), 0);
    cr_assert_lt(gguf_writer_add_tensor(w, "t", FL_TYPE_Q8_0, 2, ne, NULL), 0);
    cr_assert(strstr(flare_last_error(), "duplicate"));
    cr_assert_lt(gguf_writer_add_tensor(w, "u", 4, 2, ne, NULL), 0); /* retired id */
    cr_assert_lt(gguf_writer_add_tensor(w, "u", FL_TYPE_F32, 0, ne, NULL), 0);
    cr_assert_lt(gguf_writer_add_tensor(w, "u", FL_TYPE_F32, 5, ne, NULL), 0);
    uint64_t odd[1] = {33};
    cr_assert_lt(gguf_writer_add_tensor(w, "u", FL_TYPE_Q4_0, 1, odd, NULL), 0);
    cr_assert(strstr(flare_last_error(), "block size"));
    uint64_t huge[2] = {1ull << 32, 1ull << 32};
    cr_assert_lt(gguf_writer_add_tensor(w, "u", FL_TYPE_F32, 2, huge, NULL), 0);
    char longname[80];
    memset(longname, 'x', 64);
    longname[64] = '\0';
    cr_assert_lt(gguf_writer_add_tensor(w, longname, FL_TYPE_F32, 1, ne, NULL), 0);
    longname[63] = '\0';
    cr_assert_eq(gguf_writer_add_tensor(w, longname, FL_TYPE_F32, 1, ne, NULL), 1);
    cr_assert_neq(gguf_writer_set_alignment(w, 0), 0);
    cr_assert_neq(gguf_writer_set_alignment(w, 48), 0);
    cr_assert_neq(gguf_writer_set_arr(w, "k", GGUF_TYPE_STRING, NULL, 0), 0);
    /* an element whose type differs from the array's */
    gguf_value items[1] = {{.type = GGUF_TYPE_UINT8}};
    gguf_value bad = {.type = GGUF_TYPE_ARRAY};
    bad.arr.type = GGUF_TYPE_STRING, bad.arr.n = 1, bad.arr.items = items;
    cr_assert_neq(gguf_writer_set_value(w, "k", &bad), 0);
    cr_assert(strstr(flare_last_error(), "'k'"));
    /* nesting deeper than the reader accepts */
    gguf_value lv[9];
    for (int k = 0; k < 9; k++) {
        lv[k] = (gguf_value){.type = GGUF_TYPE_ARRAY};
        lv[k].arr.type = k == 8 ? GGUF_TYPE_UINT8 : GGUF_TYPE_ARRAY;
        lv[k].arr.n = k == 8 ? 0 : 1;
        lv[k].arr.items = k == 8 ? NULL : &lv[k + 1];
    }
    cr_assert_neq(gguf_writer_set_value(w, "deep9", &lv[0]), 0);
    cr_assert_eq(gguf_writer_set_value(w, "deep8", &lv[1]), 0);
    /* general.alignment set by hand with the wrong type is caught at write time */
    cr_assert_eq(gguf_writer_set_u64(w, "general.alignment", 64), 0);
    char path[512];
    tmp_path(path, sizeof path, "badalign");
    cr_assert_eq(gguf_writer_write(w, path, NULL, NULL), FLARE_EINVAL);
    cr_assert(strstr(flare_last_error(), "general.alignment"));
    cr_assert_neq(access(path, F_OK), 0);
    gguf_writer_free(w);
}
