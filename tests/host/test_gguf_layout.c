/* tests/host/test_gguf_layout.c: the writer's bytes against the layout rules and gguf-py.
 *
 * The content below was also written with gguf-py's GGUFWriter (PyPI gguf 0.19.0, the Python
 * package of llama.cpp; script in docs/gguf.md): that file is 1344 bytes with zlib.crc32
 * 0x6a8e4772, and gguf-py's GGUFReader reports the key offsets, data_offset 896 and the tensor
 * offsets listed in `py_fields` / `py_tensors`. flare's writer must produce the identical file,
 * and an independent walk of its bytes here must find the layout rules: header bytes, keys at
 * those offsets, zero padding up to an aligned data section, tensors at aligned offsets, each
 * followed by zero padding. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "flare/error.h"
#include "flare/ggml.h"
#include "host/gguf.h"
#include "test_gguf_builder.h"

/* ---- gguf-py's reading of its own file ----------------------------------------------------- */

static const struct {
    const char *key;
    size_t offset;
} py_fields[] = {
    {"general.architecture", 24}, {"general.alignment", 69}, {"test.u8", 102},
    {"test.i8", 122},             {"test.u16", 142},         {"test.i16", 164},
    {"test.u32", 186},            {"test.i32", 210},         {"test.f32", 234},
    {"test.bool", 258},           {"test.str", 280},         {"test.u64", 314},
    {"test.i64", 342},            {"test.f64", 370},         {"test.empty", 398},
    {"test.arr_i32", 428},        {"test.arr_f32", 476},     {"test.strs", 520},
    {"test.nested", 581},
};
enum { N_FIELDS = sizeof py_fields / sizeof py_fields[0] };

static const struct {
    const char *name;
    uint32_t type;
    uint32_t n_dims;
    uint64_t ne[2];
    uint64_t file_offset;
    uint64_t n_bytes;
} py_tensors[] = {
    {"w.f32", FL_TYPE_F32, 2, {5, 3}, 896, 60},      {"w.f16", FL_TYPE_F16, 1, {7, 1}, 960, 14},
    {"w.q4_0", FL_TYPE_Q4_0, 2, {64, 2}, 1024, 72},  {"w.q5_0", FL_TYPE_Q5_0, 2, {32, 3}, 1152, 66},
    {"w.q8_0", FL_TYPE_Q8_0, 2, {32, 1}, 1280, 34},
};
enum { N_TENSORS = sizeof py_tensors / sizeof py_tensors[0] };

#define PY_SIZE 1344
#define PY_CRC32 0x6a8e4772u
#define PY_DATA_OFFSET 896

/* (i * 37 + seed) mod 256, as the Python script fills tensor k with seed 11 + k */
static void pattern(uint8_t *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)((i * 37 + seed) % 256);
}

static void write_same_content(const char *path, uint8_t data[N_TENSORS][128])
{
    gguf_writer *w = gguf_writer_new();
    cr_assert_eq(gguf_writer_set_str(w, "general.architecture", "llama"), 0);
    cr_assert_eq(gguf_writer_set_alignment(w, 64), 0);
    cr_assert_eq(gguf_writer_set_u8(w, "test.u8", 200), 0);
    cr_assert_eq(gguf_writer_set_i8(w, "test.i8", -5), 0);
    cr_assert_eq(gguf_writer_set_u16(w, "test.u16", 60000), 0);
    cr_assert_eq(gguf_writer_set_i16(w, "test.i16", -30000), 0);
    cr_assert_eq(gguf_writer_set_u32(w, "test.u32", 4000000000u), 0);
    cr_assert_eq(gguf_writer_set_i32(w, "test.i32", -2000000000), 0);
    cr_assert_eq(gguf_writer_set_f32(w, "test.f32", 0.25f), 0);
    cr_assert_eq(gguf_writer_set_bool(w, "test.bool", true), 0);
    cr_assert_eq(gguf_writer_set_str(w, "test.str", "h\xc3\xa9llo"), 0);
    cr_assert_eq(gguf_writer_set_u64(w, "test.u64", (1ull << 63) + 5), 0);
    cr_assert_eq(gguf_writer_set_i64(w, "test.i64", -(1ll << 40)), 0);
    cr_assert_eq(gguf_writer_set_f64(w, "test.f64", -1.5), 0);
    cr_assert_eq(gguf_writer_set_str(w, "test.empty", ""), 0);
    const int32_t ai[] = {1, -2, 3};
    const float af[] = {0.5f, -4.0f};
    cr_assert_eq(gguf_writer_set_arr(w, "test.arr_i32", GGUF_TYPE_INT32, ai, 3), 0);
    cr_assert_eq(gguf_writer_set_arr(w, "test.arr_f32", GGUF_TYPE_FLOAT32, af, 2), 0);
    const char *strs[] = {"a", "", "ccc"};
    cr_assert_eq(gguf_writer_set_arr_str(w, "test.strs", strs, NULL, 3), 0);
    const int32_t n0[] = {1, 2}, n1[] = {3};
    gguf_value in[2] = {{.type = GGUF_TYPE_ARRAY}, {.type = GGUF_TYPE_ARRAY}};
    in[0].arr.type = in[1].arr.type = GGUF_TYPE_INT32;
    in[0].arr.n = 2, in[0].arr.data = n0;
    in[1].arr.n = 1, in[1].arr.data = n1;
    gguf_value nest = {.type = GGUF_TYPE_ARRAY};
    nest.arr.type = GGUF_TYPE_ARRAY, nest.arr.n = 2, nest.arr.items = in;
    cr_assert_eq(gguf_writer_set_value(w, "test.nested", &nest), 0);
    for (int k = 0; k < N_TENSORS; k++) {
        pattern(data[k], py_tensors[k].n_bytes, 11u + (unsigned)k);
        cr_assert_eq(gguf_writer_add_tensor(w, py_tensors[k].name, py_tensors[k].type,
                                            py_tensors[k].n_dims, py_tensors[k].ne, data[k]),
                     k);
    }
    cr_assert_eq(gguf_writer_write(w, path, NULL, NULL), 0, "%s", flare_last_error());
    gguf_writer_free(w);
}

static uint8_t *slurp(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    cr_assert_not_null(fp);
    static uint8_t buf[1 << 16];
    *n = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    return buf;
}

/* Skips one value of `type` at *at (an independent walk, no bounds games: the file is ours). */
static void skip_value(const uint8_t *p, size_t *at, uint32_t type)
{
    static const int sizes[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    if (type == GGUF_TYPE_STRING) {
        *at += 8 + tb_get(p, *at, 8);
    } else if (type == GGUF_TYPE_ARRAY) {
        uint32_t et = (uint32_t)tb_get(p, *at, 4);
        uint64_t n = tb_get(p, *at + 4, 8);
        *at += 12;
        for (uint64_t i = 0; i < n; i++)
            skip_value(p, at, et);
    } else {
        cr_assert_lt(type, 13u);
        *at += (size_t)sizes[type];
    }
}

Test(gguf_layout, identical_to_gguf_py)
{
    char path[512];
    mkdir(FLARE_TMPDIR, 0755);
    snprintf(path, sizeof path, "%s/gguf_layout_%d.gguf", FLARE_TMPDIR, (int)getpid());
    static uint8_t data[N_TENSORS][128];
    write_same_content(path, data);
    size_t n;
    const uint8_t *p = slurp(path, &n);
    cr_assert_eq(n, PY_SIZE, "file size %zu, gguf-py wrote %d (file kept at %s)", n, PY_SIZE, path);
    cr_assert_eq(tb_crc32(p, n), PY_CRC32, "crc32 %08x differs from gguf-py's (file kept at %s)",
                 tb_crc32(p, n), path);

    /* header: magic, version 3, tensor count, key count */
    cr_assert(memcmp(p, "GGUF", 4) == 0);
    cr_assert_eq(tb_get(p, 4, 4), 3);
    cr_assert_eq(tb_get(p, 8, 8), N_TENSORS);
    cr_assert_eq(tb_get(p, 16, 8), N_FIELDS);
    /* keys where gguf-py found them */
    size_t at = 24;
    for (int k = 0; k < N_FIELDS; k++) {
        cr_assert_eq(at, py_fields[k].offset, "key %s at %zu, gguf-py: %zu", py_fields[k].key, at,
                     py_fields[k].offset);
        uint64_t len = tb_get(p, at, 8);
        cr_assert_eq(len, strlen(py_fields[k].key));
        cr_assert(memcmp(p + at + 8, py_fields[k].key, len) == 0);
        at += 8 + len;
        uint32_t type = (uint32_t)tb_get(p, at, 4);
        at += 4;
        skip_value(p, &at, type);
    }
    /* tensor infos, then zeros up to the 64-aligned data section */
    uint64_t rel = 0;
    for (int k = 0; k < N_TENSORS; k++) {
        uint64_t len = tb_get(p, at, 8);
        cr_assert(len == strlen(py_tensors[k].name) && memcmp(p + at + 8, py_tensors[k].name, len) == 0);
        at += 8 + len;
        cr_assert_eq(tb_get(p, at, 4), py_tensors[k].n_dims);
        at += 4;
        for (uint32_t d = 0; d < py_tensors[k].n_dims; d++, at += 8)
            cr_assert_eq(tb_get(p, at, 8), py_tensors[k].ne[d]);
        cr_assert_eq(tb_get(p, at, 4), py_tensors[k].type);
        uint64_t off = tb_get(p, at + 4, 8);
        at += 12;
        cr_assert_eq(off, rel, "%s offset %llu", py_tensors[k].name, (unsigned long long)off);
        cr_assert_eq(off % 64, 0);
        cr_assert_eq(PY_DATA_OFFSET + off, py_tensors[k].file_offset);
        rel += (py_tensors[k].n_bytes + 63) / 64 * 64;
    }
    cr_assert_lt(at, (size_t)PY_DATA_OFFSET);
    cr_assert_gt(at + 64, (size_t)PY_DATA_OFFSET, "padding is shorter than the alignment");
    for (; at < PY_DATA_OFFSET; at++)
        cr_assert_eq(p[at], 0, "padding byte %zu", at);
    /* data, each tensor followed by zeros to the next multiple of 64, the last one included */
    for (int k = 0; k < N_TENSORS; k++) {
        size_t start = (size_t)py_tensors[k].file_offset, nb = (size_t)py_tensors[k].n_bytes;
        cr_assert(memcmp(p + start, data[k], nb) == 0, "%s data", py_tensors[k].name);
        size_t end = k + 1 < N_TENSORS ? (size_t)py_tensors[k + 1].file_offset : n;
        for (size_t b = start + nb; b < end; b++)
            cr_assert_eq(p[b], 0, "%s padding byte %zu", py_tensors[k].name, b);
    }
    cr_assert_eq(n % 64, 0);

    /* and the reader agrees with gguf-py about the same file */
    gguf_file *f;
    cr_assert_eq(gguf_open(&f, path), 0, "%s", flare_last_error());
    cr_assert_eq(gguf_data_offset(f), PY_DATA_OFFSET);
    cr_assert_eq(gguf_alignment(f), 64);
    for (int k = 0; k < N_TENSORS; k++) {
        const gguf_tensor *t = gguf_tensor_at(f, (uint64_t)k);
        cr_assert_eq(gguf_data_offset(f) + t->offset, py_tensors[k].file_offset);
        cr_assert_eq(t->n_bytes, py_tensors[k].n_bytes);
    }
    gguf_close(f);
    unlink(path);
}

/* Default alignment (no general.alignment key): infos padded to 32, data padded to 32. */
Test(gguf_layout, default_alignment_32)
{
    char path[512];
    mkdir(FLARE_TMPDIR, 0755);
    snprintf(path, sizeof path, "%s/gguf_layout32_%d.gguf", FLARE_TMPDIR, (int)getpid());
    gguf_writer *w = gguf_writer_new();
    uint8_t q[34 * 3];
    pattern(q, sizeof q, 5);
    uint64_t ne[2] = {32, 3};
    cr_assert_eq(gguf_writer_add_tensor(w, "q", FL_TYPE_Q8_0, 2, ne, q), 0);
    cr_assert_eq(gguf_writer_write(w, path, NULL, NULL), 0);
    gguf_writer_free(w);
    /* the same file encoded by hand */
    tb_buf b = {0};
    tb_bytes(&b, "GGUF", 4);
    tb_u32(&b, 3);
    tb_u64(&b, 1);
    tb_u64(&b, 0);
    tb_str(&b, "q");
    tb_u32(&b, 2);
    tb_u64(&b, 32);
    tb_u64(&b, 3);
    tb_u32(&b, FL_TYPE_Q8_0);
    tb_u64(&b, 0);
    tb_pad(&b, 32);
    cr_assert_eq(b.n, 96); /* 65 bytes of header and info, padded */
    tb_bytes(&b, q, sizeof q);
    tb_pad(&b, 32);
    size_t n;
    const uint8_t *p = slurp(path, &n);
    cr_assert_eq(n, b.n);
    cr_assert(memcmp(p, b.p, n) == 0);
    free(b.p);
    unlink(path);
}
