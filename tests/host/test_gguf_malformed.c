/* tests/host/test_gguf_malformed.c: the reader on a corpus of broken files built by the test.
 *
 * A small valid file is encoded byte by byte (test_gguf_builder.h, independent of the writer)
 * while the offset of every field is recorded; then it is truncated at every length, each count
 * and length field is set to huge values, types are set out of range, tensor offsets misaligned
 * or outside the file, alignment, magic, version, n_dims and ne broken. Each variant is opened
 * from an exactly-sized heap copy (so ASan sees any overread) and must fail with a message that
 * names the file and the offset and says what was wrong. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "flare/error.h"
#include "flare/ggml.h"
#include "host/gguf.h"
#include "test_gguf_builder.h"

/* ---- the base file ------------------------------------------------------------------------- */

typedef struct {
    uint32_t version;
    bool has_align;
    uint32_t align_type;  /* GGUF type of general.alignment */
    uint64_t align_value;
    int depth;            /* nesting of a.nested (arrays of arrays), default 2 */
    bool dup_key, dup_tensor;
} opts;

/* Byte offsets of the fields of the base file. */
typedef struct {
    size_t n_tensors, n_kv;
    size_t key0_len, key0_type, str0_len;
    size_t align_type, align_value;
    size_t u32_elem_type, u32_count;
    size_t strs_count, strs_elem0_len;
    size_t nest_count, nest_inner_type, nest_inner_count;
    size_t bool_value;
    size_t t0_name_len, t0_n_dims, t0_ne0, t0_ne1, t0_type, t0_offset;
    size_t t1_name_len, t1_n_dims, t1_ne0, t1_type, t1_offset;
    size_t data_offset;
} layout;

static const opts base_opts = {.version = 3, .has_align = true, .align_type = GGUF_TYPE_UINT32,
                               .align_value = 32, .depth = 2};

static tb_buf build(const opts *o, layout *l)
{
    tb_buf b = {0};
    uint64_t align = o->has_align && o->align_type == GGUF_TYPE_UINT32 && o->align_value &&
                             !(o->align_value & (o->align_value - 1))
                         ? o->align_value
                         : 32;
    tb_bytes(&b, "GGUF", 4);
    tb_u32(&b, o->version);
    l->n_tensors = b.n;
    tb_u64(&b, 2);
    l->n_kv = b.n;
    tb_u64(&b, 5 + o->has_align + o->dup_key);

    l->key0_len = b.n;
    tb_str(&b, "general.architecture");
    l->key0_type = b.n;
    tb_u32(&b, GGUF_TYPE_STRING);
    l->str0_len = b.n;
    tb_str(&b, "llama");
    if (o->has_align) {
        tb_str(&b, "general.alignment");
        l->align_type = b.n;
        tb_u32(&b, o->align_type);
        l->align_value = b.n;
        if (o->align_type == GGUF_TYPE_STRING)
            tb_str(&b, "32");
        else
            tb_le(&b, o->align_value, o->align_type == GGUF_TYPE_UINT64 ? 8 : 4);
    }
    tb_str(&b, "a.u32");
    tb_u32(&b, GGUF_TYPE_ARRAY);
    l->u32_elem_type = b.n;
    tb_u32(&b, GGUF_TYPE_UINT32);
    l->u32_count = b.n;
    tb_u64(&b, 3);
    for (uint32_t k = 1; k <= 3; k++)
        tb_u32(&b, k);
    tb_str(&b, "a.strs");
    tb_u32(&b, GGUF_TYPE_ARRAY);
    tb_u32(&b, GGUF_TYPE_STRING);
    l->strs_count = b.n;
    tb_u64(&b, 2);
    l->strs_elem0_len = b.n;
    tb_str(&b, "x");
    tb_str(&b, "");
    /* a.nested: depth-1 levels of one-element arrays around [[1, 2], []] of uint8 */
    tb_str(&b, "a.nested");
    tb_u32(&b, GGUF_TYPE_ARRAY);
    for (int d = 2; d < o->depth; d++) {
        tb_u32(&b, GGUF_TYPE_ARRAY);
        tb_u64(&b, 1);
    }
    tb_u32(&b, GGUF_TYPE_ARRAY);
    l->nest_count = b.n;
    tb_u64(&b, 2);
    l->nest_inner_type = b.n;
    tb_u32(&b, GGUF_TYPE_UINT8);
    l->nest_inner_count = b.n;
    tb_u64(&b, 2);
    tb_u8(&b, 1);
    tb_u8(&b, 2);
    tb_u32(&b, GGUF_TYPE_UINT8);
    tb_u64(&b, 0);
    tb_str(&b, o->dup_key ? "a.u32" : "a.bool");
    tb_u32(&b, GGUF_TYPE_BOOL);
    l->bool_value = b.n;
    tb_u8(&b, 1);
    if (o->dup_key) {
        tb_str(&b, "a.bool");
        tb_u32(&b, GGUF_TYPE_BOOL);
        tb_u8(&b, 0);
    }

    /* t0: Q8_0 (32, 2) = 2 blocks of 34 bytes at 0; t1: F32 (8,) = 32 bytes after it */
    uint64_t t1_off = (68 + align - 1) / align * align;
    l->t0_name_len = b.n;
    tb_str(&b, "t0");
    l->t0_n_dims = b.n;
    tb_u32(&b, 2);
    l->t0_ne0 = b.n;
    tb_u64(&b, 32);
    l->t0_ne1 = b.n;
    tb_u64(&b, 2);
    l->t0_type = b.n;
    tb_u32(&b, FL_TYPE_Q8_0);
    l->t0_offset = b.n;
    tb_u64(&b, 0);
    l->t1_name_len = b.n;
    tb_str(&b, o->dup_tensor ? "t0" : "t1");
    l->t1_n_dims = b.n;
    tb_u32(&b, 1);
    l->t1_ne0 = b.n;
    tb_u64(&b, 8);
    l->t1_type = b.n;
    tb_u32(&b, FL_TYPE_F32);
    l->t1_offset = b.n;
    tb_u64(&b, t1_off);
    tb_pad(&b, align);
    l->data_offset = b.n;
    for (int k = 0; k < 68; k++)
        tb_u8(&b, (uint8_t)(k * 7 + 1));
    tb_pad(&b, align);
    for (int k = 0; k < 8; k++) {
        float x = (float)k + 0.5f;
        uint32_t u;
        memcpy(&u, &x, 4);
        tb_u32(&b, u);
    }
    return b;
}

/* Opens bytes [0, n) of p from an exactly-sized copy. */
static int open_copy(const uint8_t *p, size_t n, const char *name, gguf_file **f)
{
    uint8_t *copy = malloc(n ? n : 1);
    memcpy(copy, p, n);
    int rc = gguf_open_buffer(f, n ? copy : NULL, n, name);
    if (*f) {
        gguf_close(*f);
        *f = NULL;
    }
    free(copy);
    return rc;
}

/* Expects the variant to be refused with a message naming the file, "offset <at>" (when
 * at != SIZE_MAX) and every word in `words` (NULL-terminated, '|' separates alternatives). */
static void expect_fail_at(const uint8_t *p, size_t n, size_t at, const char *const *words,
                           const char *what)
{
    gguf_file *f = NULL;
    int rc = open_copy(p, n, "bad.gguf", &f);
    const char *msg = flare_last_error();
    cr_assert_neq(rc, 0, "%s: accepted", what);
    cr_assert_null(f);
    cr_assert(strncmp(msg, "bad.gguf: ", 10) == 0, "%s: message '%s' does not start with the file",
              what, msg);
    if (at != SIZE_MAX) {
        char off[48];
        snprintf(off, sizeof off, "offset %zu:", at);
        cr_assert(strstr(msg, off), "%s: message '%s' lacks '%s'", what, msg, off);
    }
    for (; words && *words; words++) {
        char alt[128];
        snprintf(alt, sizeof alt, "%s", *words);
        bool hit = false;
        for (char *save, *w = strtok_r(alt, "|", &save); w; w = strtok_r(NULL, "|", &save))
            hit |= strstr(msg, w) != NULL;
        cr_assert(hit, "%s: message '%s' lacks '%s'", what, msg, *words);
    }
}

#define WORDS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Base file with one field changed (n bytes little-endian at `at`). */
static void expect_patch_fails(size_t at, uint64_t v, int n, size_t err_at,
                               const char *const *words, const char *what)
{
    layout l;
    tb_buf b = build(&base_opts, &l);
    tb_put(b.p, at, v, n);
    char label[160];
    snprintf(label, sizeof label, "%s = %llu", what, (unsigned long long)v);
    expect_fail_at(b.p, b.n, err_at, words, label);
    free(b.p);
}

/* ---- the valid base ------------------------------------------------------------------------ */

Test(gguf_malformed, base_is_valid)
{
    layout l;
    tb_buf b = build(&base_opts, &l);
    gguf_file *f;
    cr_assert_eq(gguf_open_buffer(&f, b.p, b.n, "base.gguf"), 0, "%s", flare_last_error());
    cr_assert_eq(gguf_n_kv(f), 6);
    cr_assert_eq(gguf_n_tensors(f), 2);
    cr_assert_eq(gguf_data_offset(f), l.data_offset);
    cr_assert_eq(gguf_tensor_at(f, 1)->offset, 96);
    cr_assert_eq((const uint8_t *)gguf_tensor_at(f, 1)->data, b.p + l.data_offset + 96);
    cr_assert_eq(gguf_tensor_at(f, 0)->n_bytes, 68);
    const gguf_value *a;
    cr_assert_eq(gguf_get_arr(f, "a.nested", GGUF_TYPE_ARRAY, &a), 0);
    cr_assert_eq(gguf_arr_u64(&a->arr.items[0], 1), 2);
    gguf_close(f);
    /* version 2 has the same layout */
    opts o = base_opts;
    o.version = 2;
    free(b.p);
    b = build(&o, &l);
    cr_assert_eq(gguf_open_buffer(&f, b.p, b.n, "v2.gguf"), 0, "%s", flare_last_error());
    cr_assert_eq(gguf_version(f), 2);
    gguf_close(f);
    free(b.p);
}

/* ---- truncation at every length ------------------------------------------------------------ */

Test(gguf_malformed, truncated_at_every_offset)
{
    layout l;
    tb_buf b = build(&base_opts, &l);
    for (size_t n = 0; n < b.n; n++) {
        char what[64];
        snprintf(what, sizeof what, "truncated to %zu bytes", n);
        expect_fail_at(b.p, n, SIZE_MAX, WORDS("offset ", "truncated|left"), what);
    }
    free(b.p);
}

/* ---- counts and lengths -------------------------------------------------------------------- */

static const uint64_t huge[] = {UINT64_MAX, (uint64_t)INT64_MAX, 1ull << 62, 1ull << 32, 100000};

Test(gguf_malformed, huge_counts_and_lengths)
{
    layout l;
    tb_buf b = build(&base_opts, &l);
    free(b.p);
    for (size_t k = 0; k < sizeof huge / sizeof huge[0]; k++) {
        uint64_t v = huge[k];
        expect_patch_fails(l.n_kv, v, 8, l.n_kv, WORDS("kv count", "left"), "n_kv");
        expect_patch_fails(l.n_tensors, v, 8, l.n_tensors, WORDS("tensor count", "left"),
                           "n_tensors");
        expect_patch_fails(l.key0_len, v, 8, l.key0_len, WORDS("key length", "left"), "key len");
        expect_patch_fails(l.str0_len, v, 8, l.str0_len,
                           WORDS("general.architecture", "string length", "left"), "str len");
        expect_patch_fails(l.u32_count, v, 8, l.u32_count, WORDS("a.u32", "array count", "left"),
                           "u32 count");
        expect_patch_fails(l.strs_count, v, 8, l.strs_count, WORDS("a.strs", "array count"),
                           "strs count");
        expect_patch_fails(l.strs_elem0_len, v, 8, l.strs_elem0_len,
                           WORDS("a.strs", "element #0", "string length", "left"), "elem len");
        expect_patch_fails(l.nest_count, v, 8, l.nest_count, WORDS("a.nested", "array count"),
                           "nested count");
        expect_patch_fails(l.nest_inner_count, v, 8, l.nest_inner_count,
                           WORDS("a.nested", "element #0", "array count"), "inner count");
        expect_patch_fails(l.t0_name_len, v, 8, l.t0_name_len,
                           WORDS("tensor #0", "tensor name length", "left"), "name len");
    }
    /* the example from the issue: a string length of 2^64-1 */
    expect_patch_fails(l.str0_len, UINT64_MAX, 8, l.str0_len,
                       WORDS("string length 18446744073709551615 exceeds the"), "str len");
}

/* ---- types --------------------------------------------------------------------------------- */

Test(gguf_malformed, types_out_of_range)
{
    layout l;
    tb_buf b = build(&base_opts, &l);
    free(b.p);
    const uint32_t bad_value_types[] = {13, 14, 255, 0x80000000u, UINT32_MAX};
    for (size_t k = 0; k < 5; k++) {
        expect_patch_fails(l.key0_type, bad_value_types[k], 4, l.key0_type,
                           WORDS("key #0 'general.architecture'", "value type", "not a GGUF type"),
                           "value type");
        expect_patch_fails(l.u32_elem_type, bad_value_types[k], 4, l.u32_elem_type,
                           WORDS("a.u32", "array element type", "not a GGUF type"), "elem type");
        expect_patch_fails(l.nest_inner_type, bad_value_types[k], 4, l.nest_inner_type,
                           WORDS("a.nested", "element #0", "array element type"), "inner type");
    }
    /* ggml ids that were retired or never existed */
    const uint32_t bad_tensor_types[] = {4, 5, 31, 32, 33, 36, 37, 38, 39, 40, 1000, UINT32_MAX};
    for (size_t k = 0; k < sizeof bad_tensor_types / sizeof bad_tensor_types[0]; k++)
        expect_patch_fails(l.t1_type, bad_tensor_types[k], 4, l.t1_type,
                           WORDS("tensor #1 't1'", "not a ggml type"), "tensor type");
    /* a bool that is neither 0 nor 1 */
    expect_patch_fails(l.bool_value, 2, 1, l.bool_value, WORDS("a.bool", "expected 0 or 1"),
                       "bool");
}

/* ---- tensor shapes and offsets ------------------------------------------------------------- */

Test(gguf_malformed, tensor_dims_and_sizes)
{
    layout l;
    tb_buf b = build(&base_opts, &l);
    free(b.p);
    expect_patch_fails(l.t0_n_dims, 0, 4, l.t0_n_dims, WORDS("'t0'", "n_dims 0, expected 1..4"),
                       "n_dims");
    expect_patch_fails(l.t0_n_dims, 5, 4, l.t0_n_dims, WORDS("'t0'", "n_dims 5"), "n_dims");
    expect_patch_fails(l.t0_n_dims, UINT32_MAX, 4, l.t0_n_dims, WORDS("n_dims"), "n_dims");
    /* ne beyond INT64_MAX */
    expect_patch_fails(l.t0_ne1, 1ull << 63, 8, l.t0_ne1, WORDS("'t0'", "ne[1]", "INT64_MAX"), "ne1");
    expect_patch_fails(l.t0_ne0, UINT64_MAX, 8, l.t0_ne0, WORDS("ne[0]", "INT64_MAX"), "ne0");
    /* a product that overflows int64 */
    {
        tb_buf c = build(&base_opts, &l);
        tb_put(c.p, l.t0_ne0, 1ull << 32, 8);
        tb_put(c.p, l.t0_ne1, 1ull << 32, 8);
        expect_fail_at(c.p, c.n, l.t0_n_dims, WORDS("'t0'", "overflows"), "ne product");
        free(c.p);
    }
    /* elements fit int64 but bytes do not: F32 with 2^62 elements */
    expect_patch_fails(l.t1_ne0, 1ull << 62, 8, l.t1_n_dims, WORDS("'t1'", "overflows"),
                       "bytes");
    /* ne[0] not a multiple of the Q8_0 block */
    expect_patch_fails(l.t0_ne0, 33, 8, l.t0_n_dims + 4,
                       WORDS("'t0'", "not a multiple of the q8_0 block size 32"), "ne0 block");
    /* big but representable: the data no longer fits */
    expect_patch_fails(l.t1_ne0, 1ull << 40, 8, l.t1_offset, WORDS("'t1'", "past the end"), "big");
}

Test(gguf_malformed, tensor_offsets)
{
    layout l;
    tb_buf b = build(&base_opts, &l);
    free(b.p);
    /* misaligned (alignment 32) */
    const uint64_t misaligned[] = {1, 31, 33, 97, 100, 112};
    for (size_t k = 0; k < sizeof misaligned / sizeof misaligned[0]; k++)
        expect_patch_fails(l.t1_offset, misaligned[k], 8, l.t1_offset,
                           WORDS("'t1'", "not a multiple of the alignment 32"), "misaligned");
    expect_patch_fails(l.t0_offset, 16, 8, l.t0_offset, WORDS("'t0'", "alignment 32"), "t0 off");
    /* aligned but outside the file, including values where offset + size overflows */
    const uint64_t outside[] = {128, 1ull << 40, UINT64_MAX - 31, (uint64_t)INT64_MAX - 63};
    for (size_t k = 0; k < sizeof outside / sizeof outside[0]; k++)
        expect_patch_fails(l.t1_offset, outside[k], 8, l.t1_offset,
                           WORDS("'t1'", "past the end"), "outside");
}

/* ---- alignment ----------------------------------------------------------------------------- */

Test(gguf_malformed, alignment_values)
{
    layout l;
    const uint64_t bad[] = {0, 3, 6, 48, 96, 0x80000001u, UINT32_MAX};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        opts o = base_opts;
        o.align_value = bad[k];
        tb_buf b = build(&o, &l);
        char what[64];
        snprintf(what, sizeof what, "alignment %llu", (unsigned long long)bad[k]);
        expect_fail_at(b.p, b.n, l.align_value, WORDS("general.alignment", "power of two"), what);
        free(b.p);
    }
    /* the right value in the wrong type */
    const uint32_t types[] = {GGUF_TYPE_UINT64, GGUF_TYPE_INT32, GGUF_TYPE_STRING};
    for (size_t k = 0; k < 3; k++) {
        opts o = base_opts;
        o.align_type = types[k];
        tb_buf b = build(&o, &l);
        expect_fail_at(b.p, b.n, l.align_type, WORDS("general.alignment has type", "expected uint32"),
                       "alignment type");
        free(b.p);
    }
    /* valid: 1, 64, 256 and absent (32), each laid out accordingly */
    const uint64_t good[] = {1, 64, 256};
    for (size_t k = 0; k < 4; k++) {
        opts o = base_opts;
        if (k < 3)
            o.align_value = good[k];
        else
            o.has_align = false;
        tb_buf b = build(&o, &l);
        gguf_file *f;
        cr_assert_eq(gguf_open_buffer(&f, b.p, b.n, "align.gguf"), 0, "%s", flare_last_error());
        cr_assert_eq(gguf_alignment(f), k < 3 ? good[k] : 32);
        cr_assert_eq(gguf_data_offset(f), l.data_offset);
        gguf_close(f);
        free(b.p);
    }
    /* alignment 64 with the tensor laid out for 32 */
    opts o = base_opts;
    o.align_value = 64;
    tb_buf b = build(&o, &l);
    tb_put(b.p, l.t1_offset, 96, 8);
    expect_fail_at(b.p, b.n, l.t1_offset, WORDS("not a multiple of the alignment 64"), "align 64");
    free(b.p);
}

/* ---- magic and version --------------------------------------------------------------------- */

Test(gguf_malformed, magic_and_version)
{
    layout l;
    tb_buf b = build(&base_opts, &l);
    free(b.p);
    expect_patch_fails(0, 0x58554747, 4, 0, WORDS("bad magic", "not a GGUF file"), "GGUX");
    expect_patch_fails(0, 0x47475546, 4, 0, WORDS("bad magic"), "FUGG");
    expect_patch_fails(0, 0, 4, 0, WORDS("bad magic"), "zeros");
    expect_patch_fails(4, 1, 4, 4, WORDS("version 1", "not supported"), "v1");
    expect_patch_fails(4, 0, 4, 4, WORDS("unsupported GGUF version 0"), "v0");
    expect_patch_fails(4, 4, 4, 4, WORDS("unsupported GGUF version 4", "expected 2 or 3"), "v4");
    expect_patch_fails(4, UINT32_MAX, 4, 4, WORDS("version"), "vmax");
    expect_patch_fails(4, 0x03000000, 4, 4, WORDS("byte-swapped", "big-endian"), "v3 BE");
    expect_patch_fails(4, 0x02000000, 4, 4, WORDS("byte-swapped", "big-endian"), "v2 BE");
    /* a whole big-endian header: version 3, then counts, all big-endian */
    tb_buf be = {0};
    tb_bytes(&be, "GGUF", 4);
    const uint8_t rest[] = {0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    tb_bytes(&be, rest, sizeof rest);
    expect_fail_at(be.p, be.n, 4, WORDS("big-endian"), "big-endian file");
    free(be.p);
    /* a v1 file: u32 counts; refused on the version, before the counts are misread */
    tb_buf v1 = {0};
    tb_bytes(&v1, "GGUF", 4);
    tb_u32(&v1, 1);
    tb_u32(&v1, 0);
    tb_u32(&v1, 0);
    expect_fail_at(v1.p, v1.n, 4, WORDS("version 1 (32-bit counts)"), "v1 file");
    free(v1.p);
}

/* ---- duplicates and nesting ---------------------------------------------------------------- */

Test(gguf_malformed, duplicates_and_depth)
{
    layout l;
    opts o = base_opts;
    o.dup_key = true;
    tb_buf b = build(&o, &l);
    expect_fail_at(b.p, b.n, SIZE_MAX, WORDS("key #5 'a.u32'", "duplicate key", "key #2"), "dup key");
    free(b.p);
    o = base_opts;
    o.dup_tensor = true;
    b = build(&o, &l);
    expect_fail_at(b.p, b.n, l.t1_name_len, WORDS("tensor #1 't0'", "duplicate tensor name"),
                   "dup tensor");
    free(b.p);
    for (int depth = 2; depth <= 12; depth++) {
        o = base_opts;
        o.depth = depth;
        b = build(&o, &l);
        gguf_file *f;
        int rc = gguf_open_buffer(&f, b.p, b.n, "deep.gguf");
        if (depth <= 8) {
            cr_assert_eq(rc, 0, "depth %d: %s", depth, flare_last_error());
            gguf_close(f);
        } else {
            cr_assert_neq(rc, 0, "depth %d accepted", depth);
            cr_assert(strstr(flare_last_error(), "nested more than 8 deep"), "%s",
                      flare_last_error());
            cr_assert(strstr(flare_last_error(), "a.nested"), "%s", flare_last_error());
        }
        free(b.p);
    }
}

/* ---- random single-byte corruption never crashes ------------------------------------------- */

Test(gguf_malformed, every_byte_flipped)
{
    layout l;
    tb_buf b = build(&base_opts, &l);
    const uint8_t vals[] = {0x00, 0xff, 0x80, 0x7f, 0x01};
    for (size_t at = 0; at < l.data_offset; at++) {
        for (size_t k = 0; k < sizeof vals; k++) {
            uint8_t save = b.p[at];
            b.p[at] = save ^ vals[k];
            gguf_file *f = NULL;
            int rc = open_copy(b.p, b.n, "flip.gguf", &f);
            if (rc)
                cr_assert(strncmp(flare_last_error(), "flip.gguf: ", 11) == 0, "%s",
                          flare_last_error());
            b.p[at] = save;
        }
    }
    free(b.p);
}

/* ---- fuzz seeds ---------------------------------------------------------------------------- */

/* With FLARE_GGUF_SEED_DIR set, writes the variants above as seeds for tests/fuzz/corpus. */
Test(gguf_malformed, write_fuzz_seeds)
{
    const char *dir = getenv("FLARE_GGUF_SEED_DIR");
    if (!dir)
        return;
    const struct {
        const char *name;
        opts o;
    } seeds[] = {
        {"base_v3.gguf", base_opts},
        {"v2_no_alignment.gguf", {.version = 2, .depth = 2}},
        {"alignment_64.gguf", {.version = 3, .has_align = true, .align_type = GGUF_TYPE_UINT32,
                               .align_value = 64, .depth = 2}},
        {"nested_depth_8.gguf", {.version = 3, .depth = 8}},
        {"duplicate_key.gguf", {.version = 3, .depth = 2, .dup_key = true}},
    };
    mkdir(dir, 0755);
    for (size_t k = 0; k < sizeof seeds / sizeof seeds[0]; k++) {
        layout l;
        tb_buf b = build(&seeds[k].o, &l);
        char path[600];
        snprintf(path, sizeof path, "%s/%s", dir, seeds[k].name);
        FILE *fp = fopen(path, "wb");
        cr_assert_not_null(fp, "%s", path);
        cr_assert_eq(fwrite(b.p, 1, b.n, fp), b.n);
        fclose(fp);
        free(b.p);
    }
}

/* ---- the mmap path ------------------------------------------------------------------------- */

Test(gguf_malformed, files_on_disk)
{
    layout l;
    tb_buf b = build(&base_opts, &l);
    char path[512];
    mkdir(FLARE_TMPDIR, 0755);
    snprintf(path, sizeof path, "%s/gguf_disk_%d.gguf", FLARE_TMPDIR, (int)getpid());
    const size_t lens[] = {0, 3, 24, l.t0_name_len + 5, l.data_offset, b.n - 1, b.n};
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
        FILE *fp = fopen(path, "wb");
        cr_assert_not_null(fp);
        cr_assert_eq(fwrite(b.p, 1, lens[k], fp), lens[k]);
        fclose(fp);
        gguf_file *f = NULL;
        int rc = gguf_open(&f, path);
        if (lens[k] == b.n) {
            cr_assert_eq(rc, 0, "%s", flare_last_error());
            cr_assert_eq(gguf_file_size(f), b.n);
            cr_assert_eq(gguf_tensor_at(f, 1)->n_bytes, 32);
            gguf_close(f);
        } else {
            cr_assert_neq(rc, 0, "%zu bytes accepted", lens[k]);
            cr_assert_null(f);
            cr_assert(strncmp(flare_last_error(), path, strlen(path)) == 0, "%s",
                      flare_last_error());
            cr_assert(strstr(flare_last_error(), "truncated") || strstr(flare_last_error(), "left"),
                      "%s", flare_last_error());
        }
    }
    unlink(path);
    free(b.p);
}
