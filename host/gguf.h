/* host/gguf.h: GGUF v2/v3 reader (mmap, validated, zero-copy tensor views) and writer.
 *
 * The format as llama.cpp writes it (ggml/src/gguf.cpp): little-endian header
 *   magic "GGUF", u32 version (2 or 3), u64 n_tensors, u64 n_kv,
 *   n_kv x (string key, u32 value type, value),
 *   n_tensors x (string name, u32 n_dims, n_dims x u64 ne, u32 ggml type, u64 offset),
 *   padding to general.alignment (default 32), then the data section; each tensor's offset is
 *   relative to the data section and a multiple of the alignment.
 * string = u64 length + bytes (no NUL); array = u32 element type + u64 count + elements.
 *
 * Every count, length, type and offset is checked against the file before use (docs/gguf.md
 * lists the rules); an error names the file, the byte offset, the key or tensor, and what was
 * expected: "m.gguf: offset 24: key #0: key length 18446744073709551615 exceeds the 120 bytes
 * left" (flare_last_error()). Arrays of arrays nest at most 8 deep. Little-endian files only. */
#ifndef FLARE_GGUF_H
#define FLARE_GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define GGUF_MAGIC "GGUF"
#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_MAX_DIMS 4

enum gguf_type {
    GGUF_TYPE_UINT8 = 0,
    GGUF_TYPE_INT8 = 1,
    GGUF_TYPE_UINT16 = 2,
    GGUF_TYPE_INT16 = 3,
    GGUF_TYPE_UINT32 = 4,
    GGUF_TYPE_INT32 = 5,
    GGUF_TYPE_FLOAT32 = 6,
    GGUF_TYPE_BOOL = 7,
    GGUF_TYPE_STRING = 8,
    GGUF_TYPE_ARRAY = 9,
    GGUF_TYPE_UINT64 = 10,
    GGUF_TYPE_INT64 = 11,
    GGUF_TYPE_FLOAT64 = 12,
    GGUF_TYPE_COUNT,
};

/* "uint32", "string", ... ("?" when out of range). */
const char *gguf_type_name(uint32_t type);

/* Bytes of one value of a fixed-size type; 0 for STRING, ARRAY and ids out of range. */
size_t gguf_type_size(uint32_t type);

/* A string inside the mapped file (or the writer's memory): not NUL-terminated. */
typedef struct {
    uint64_t len;
    const char *data;
} gguf_str;

/* A metadata value. Scalars are decoded; arrays of fixed-size elements point at the raw
 * little-endian elements in the file; arrays of strings or of arrays are decoded into items. */
typedef struct gguf_value {
    uint32_t type; /* enum gguf_type */
    union {
        uint64_t u64; /* UINT8/16/32/64 */
        int64_t i64;  /* INT8/16/32/64 */
        double f64;   /* FLOAT32/FLOAT64 */
        bool b;       /* BOOL */
        gguf_str str; /* STRING */
        struct {
            uint32_t type;                  /* element type */
            uint64_t n;                     /* element count */
            const void *data;               /* fixed-size elements: raw, in the file */
            const struct gguf_value *items; /* STRING/ARRAY elements: n decoded values */
        } arr;
    };
} gguf_value;

typedef struct {
    gguf_str key;
    gguf_value value;
} gguf_kv;

typedef struct {
    gguf_str name;
    uint32_t n_dims;
    uint64_t ne[GGUF_MAX_DIMS]; /* ne[0] = elements per row (contiguous); unused dims = 1 */
    uint32_t type;              /* ggml type id (flare/ggml.h) */
    uint64_t offset;            /* relative to the data section */
    uint64_t n_elements;
    uint64_t n_bytes;
    const void *data;           /* view into the mapping */
} gguf_tensor;

typedef struct gguf_file gguf_file;

/* Open and validate a GGUF file (mmap, read-only). Returns 0, or a FLARE_E* code with
 * flare_last_error() naming the file and what was wrong. */
int gguf_open(gguf_file **out, const char *path);

/* Same checks on a buffer in memory (the fuzz target, tests). `buf` must outlive the file. */
int gguf_open_buffer(gguf_file **out, const void *buf, size_t size, const char *name);

void gguf_close(gguf_file *f);

uint32_t gguf_version(const gguf_file *f);
uint32_t gguf_alignment(const gguf_file *f);
uint64_t gguf_file_size(const gguf_file *f);
uint64_t gguf_data_offset(const gguf_file *f); /* byte offset of the data section */
const char *gguf_path(const gguf_file *f);

uint64_t gguf_n_kv(const gguf_file *f);
const gguf_kv *gguf_kv_at(const gguf_file *f, uint64_t i);
const gguf_kv *gguf_find_kv(const gguf_file *f, const char *key); /* NULL when absent */

uint64_t gguf_n_tensors(const gguf_file *f);
const gguf_tensor *gguf_tensor_at(const gguf_file *f, uint64_t i);
const gguf_tensor *gguf_find_tensor(const gguf_file *f, const char *name); /* NULL when absent */

/* Typed getters. Each returns 0, FLARE_EINVAL when the key is missing (message names the key),
 * or FLARE_EINVAL when the type does not fit (message names key, found and expected type).
 * get_uint accepts any unsigned or non-negative signed integer type; get_float any float or
 * integer type; get_str copies nothing (the view lives as long as the file). */
int gguf_get_uint(const gguf_file *f, const char *key, uint64_t *out);
int gguf_get_int(const gguf_file *f, const char *key, int64_t *out);
int gguf_get_float(const gguf_file *f, const char *key, double *out);
int gguf_get_bool(const gguf_file *f, const char *key, bool *out);
int gguf_get_str(const gguf_file *f, const char *key, gguf_str *out);
/* An array whose elements have type `elem_type` (GGUF_TYPE_COUNT: any). */
int gguf_get_arr(const gguf_file *f, const char *key, uint32_t elem_type, const gguf_value **out);

/* Element i of a fixed-size numeric (or bool) array as u64/i64/f64, converted as C converts
 * (floats to integers saturate, NaN gives 0). 0 when i is out of range or arr is not an array
 * of fixed-size elements. */
uint64_t gguf_arr_u64(const gguf_value *arr, uint64_t i);
int64_t gguf_arr_i64(const gguf_value *arr, uint64_t i);
double gguf_arr_f64(const gguf_value *arr, uint64_t i);

/* Element i of an array of strings (a view into the file); {0, ""} when out of range or arr is
 * not an array of strings. */
gguf_str gguf_arr_str(const gguf_value *arr, uint64_t i);

/* True when s equals the NUL-terminated string z. */
bool gguf_str_eq(gguf_str s, const char *z);

/* ---------------------------------------------------------------------------------------------
 * Writer. Collect metadata and tensor infos, then write: header, infos, padding, and each
 * tensor's data in the order added, padded to the alignment. Tensor data is either given as a
 * pointer (which must stay valid until gguf_writer_write returns) or produced by a callback that
 * fills a buffer, so multi-GB models are written without holding them in memory.
 * Keys keep insertion order; setting an existing key replaces its value in place. */

typedef struct gguf_writer gguf_writer;

/* Fills `dst` (n_bytes) with the data of tensor `index`. Returns 0 or a FLARE_E* code. */
typedef int (*gguf_fill_fn)(void *user, uint64_t index, void *dst, uint64_t n_bytes);

gguf_writer *gguf_writer_new(void); /* version 3, alignment 32 */
void gguf_writer_free(gguf_writer *w);

int gguf_writer_set_u8(gguf_writer *w, const char *key, uint8_t v);
int gguf_writer_set_i8(gguf_writer *w, const char *key, int8_t v);
int gguf_writer_set_u16(gguf_writer *w, const char *key, uint16_t v);
int gguf_writer_set_i16(gguf_writer *w, const char *key, int16_t v);
int gguf_writer_set_u32(gguf_writer *w, const char *key, uint32_t v);
int gguf_writer_set_i32(gguf_writer *w, const char *key, int32_t v);
int gguf_writer_set_u64(gguf_writer *w, const char *key, uint64_t v);
int gguf_writer_set_i64(gguf_writer *w, const char *key, int64_t v);
int gguf_writer_set_f32(gguf_writer *w, const char *key, float v);
int gguf_writer_set_f64(gguf_writer *w, const char *key, double v);
int gguf_writer_set_bool(gguf_writer *w, const char *key, bool v);
int gguf_writer_set_str(gguf_writer *w, const char *key, const char *v);
/* Array of fixed-size elements (elem_type not STRING/ARRAY); `data` is copied. */
int gguf_writer_set_arr(gguf_writer *w, const char *key, uint32_t elem_type, const void *data,
                        uint64_t n);
/* Array of strings (copied). lens may be NULL for NUL-terminated strings. */
int gguf_writer_set_arr_str(gguf_writer *w, const char *key, const char *const *strs,
                            const uint64_t *lens, uint64_t n);
/* Any value, nested arrays included (deep-copied). */
int gguf_writer_set_value(gguf_writer *w, const char *key, const gguf_value *v);
/* Set general.alignment (a power of two) and use it for the layout. */
int gguf_writer_set_alignment(gguf_writer *w, uint32_t alignment);

/* Add a tensor. ne[0] is the row length. `data` may be NULL when a fill callback is given to
 * gguf_writer_write. Returns the tensor's index (>= 0) or a FLARE_E* code. */
int64_t gguf_writer_add_tensor(gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims,
                               const uint64_t *ne, const void *data);

/* Write everything to `path` (via a temporary file renamed into place, so a failed write never
 * leaves a partial file). Tensors added with data == NULL are produced by `fill`. */
int gguf_writer_write(gguf_writer *w, const char *path, gguf_fill_fn fill, void *user);

#endif
