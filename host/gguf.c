/* host/gguf.c: the GGUF v2/v3 reader: mmap the file read-only, validate every byte range before
 * it is touched, decode the metadata, and expose tensors as views into the mapping.
 *
 * Parsing walks a cursor over the buffer. Every read is preceded by a bounds check against the
 * bytes left; every count is checked against the bytes left (times the smallest encoding of one
 * element) before anything is allocated, so memory use stays proportional to the file size.
 * Errors read "<file>: offset <byte>: <key/tensor>: <what was expected>". */
#include "host/gguf.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <errno.h>

#include "flare/error.h"
#include "flare/ggml.h"

#define GGUF_MAX_DEPTH 8    /* nesting of arrays of arrays */
#define GGUF_MIN_KV_BYTES 13 /* key length (8) + value type (4) + smallest value (1) */
#define GGUF_MIN_TI_BYTES 32 /* name length (8) + n_dims (4) + one ne (8) + type (4) + offset (8) */

/* ---- name index (open addressing, FNV-1a) ------------------------------------------------- */

typedef struct {
    uint64_t *slots; /* entry index + 1; 0 = empty */
    uint64_t mask;
} name_index;

static uint64_t hash_bytes(const char *s, uint64_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (uint64_t i = 0; i < n; i++) {
        h ^= (uint8_t)s[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static int index_init(name_index *ix, uint64_t n)
{
    uint64_t cap = 8;
    while (cap < 2 * n)
        cap *= 2;
    ix->slots = calloc(cap, sizeof *ix->slots);
    ix->mask = cap - 1;
    return ix->slots ? 0 : FLARE_ENOMEM;
}

/* `names` points at the gguf_str of entry 0; entries are `stride` bytes apart. Returns the
 * entry index + 1 of `key`, or 0. When absent and `insert` is nonzero, inserts entry insert-1. */
static uint64_t index_find(const name_index *ix, const char *names, size_t stride,
                           const char *key, uint64_t len, uint64_t insert)
{
    if (!ix->slots)
        return 0;
    for (uint64_t h = hash_bytes(key, len) & ix->mask;; h = (h + 1) & ix->mask) {
        uint64_t e = ix->slots[h];
        if (e == 0) {
            if (insert)
                ix->slots[h] = insert;
            return 0;
        }
        const gguf_str *s = (const gguf_str *)(names + (e - 1) * stride);
        if (s->len == len && memcmp(s->data, key, len) == 0)
            return e;
    }
}

/* ---- the file ------------------------------------------------------------------------------ */

struct gguf_file {
    char *name;           /* path or buffer name, for messages */
    const uint8_t *base;  /* (size,) the whole file */
    uint64_t size;
    void *map;            /* mmap base when gguf_open mapped it */
    uint32_t version;
    uint32_t alignment;
    uint64_t data_offset;
    uint64_t n_kv;
    gguf_kv *kv;          /* (n_kv,) */
    uint64_t n_tensors;
    gguf_tensor *tensors; /* (n_tensors,) */
    name_index kv_index;
    name_index tensor_index;
};

/* Parse state: position in the buffer and what is being read, for messages. */
typedef struct {
    gguf_file *f;
    uint64_t pos;
    char what[128]; /* "key #3 'general.name'" or "tensor #5 'output.weight'" */
    int depth;      /* arrays open around the current read */
    uint64_t elem[GGUF_MAX_DEPTH + 1]; /* element index at each open array */
} cursor;

static uint64_t left(const cursor *c) { return c->f->size - c->pos; }

/* Copies up to 48 bytes of a name with non-printable bytes replaced, for messages. */
static void printable(char *dst, size_t cap, const char *s, uint64_t len)
{
    size_t n = 0;
    for (uint64_t i = 0; i < len && n + 4 < cap; i++) {
        if (i == 48) {
            memcpy(dst + n, "...", 3);
            n += 3;
            break;
        }
        unsigned char ch = (unsigned char)s[i];
        dst[n++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
    }
    dst[n] = '\0';
}

__attribute__((format(printf, 4, 5))) static int fail(const cursor *c, uint64_t off, int code,
                                                     const char *fmt, ...)
{
    char msg[512], path[GGUF_MAX_DEPTH * 24 + 1] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t n = 0;
    for (int d = 0; d < c->depth && d <= GGUF_MAX_DEPTH; d++)
        n += (size_t)snprintf(path + n, sizeof path - n, " element #%llu",
                              (unsigned long long)c->elem[d]);
    return flare_error(code, "%s: offset %llu: %s%s%s%s", c->f->name, (unsigned long long)off,
                       c->what, path, c->what[0] ? ": " : "", msg);
}

/* Fails unless n more bytes are available for `field`. */
static int need(const cursor *c, uint64_t n, const char *field)
{
    if (n > left(c))
        return fail(c, c->pos, FLARE_EINVAL, "%s truncated: needs %llu bytes, %llu left", field,
                    (unsigned long long)n, (unsigned long long)left(c));
    return 0;
}

static uint64_t le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static int rd_u32(cursor *c, uint32_t *v, const char *field)
{
    int rc = need(c, 4, field);
    if (rc)
        return rc;
    *v = (uint32_t)le(c->f->base + c->pos, 4);
    c->pos += 4;
    return 0;
}

static int rd_u64(cursor *c, uint64_t *v, const char *field)
{
    int rc = need(c, 8, field);
    if (rc)
        return rc;
    *v = le(c->f->base + c->pos, 8);
    c->pos += 8;
    return 0;
}

/* A string: u64 length, then the bytes. `field` names it ("key", "string", "tensor name"). */
static int rd_str(cursor *c, gguf_str *s, const char *field)
{
    uint64_t at = c->pos, len;
    char lf[64];
    snprintf(lf, sizeof lf, "%s length", field);
    int rc = rd_u64(c, &len, lf);
    if (rc)
        return rc;
    if (len > left(c))
        return fail(c, at, FLARE_EINVAL, "%s length %llu exceeds the %llu bytes left", field,
                    (unsigned long long)len, (unsigned long long)left(c));
    s->len = len;
    s->data = (const char *)c->f->base + c->pos;
    c->pos += len;
    return 0;
}

/* ---- values -------------------------------------------------------------------------------- */

static const char *const type_names[GGUF_TYPE_COUNT] = {
    "uint8", "int8", "uint16", "int16", "uint32", "int32", "float32",
    "bool",  "string", "array", "uint64", "int64", "float64",
};
static const uint8_t type_sizes[GGUF_TYPE_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};

const char *gguf_type_name(uint32_t type) { return type < GGUF_TYPE_COUNT ? type_names[type] : "?"; }

size_t gguf_type_size(uint32_t type) { return type < GGUF_TYPE_COUNT ? type_sizes[type] : 0; }

/* Decodes a fixed-size little-endian scalar of `type` at p into v. */
static void decode_scalar(uint32_t type, const uint8_t *p, gguf_value *v)
{
    v->type = type;
    uint64_t raw = le(p, type_sizes[type]);
    switch (type) {
    case GGUF_TYPE_UINT8:
    case GGUF_TYPE_UINT16:
    case GGUF_TYPE_UINT32:
    case GGUF_TYPE_UINT64: v->u64 = raw; break;
    case GGUF_TYPE_INT8: v->i64 = (int8_t)raw; break;
    case GGUF_TYPE_INT16: v->i64 = (int16_t)raw; break;
    case GGUF_TYPE_INT32: v->i64 = (int32_t)raw; break;
    case GGUF_TYPE_INT64: v->i64 = (int64_t)raw; break;
    case GGUF_TYPE_FLOAT32: {
        uint32_t u = (uint32_t)raw;
        float x;
        memcpy(&x, &u, 4);
        v->f64 = x;
        break;
    }
    case GGUF_TYPE_FLOAT64: memcpy(&v->f64, &raw, 8); break;
    case GGUF_TYPE_BOOL: v->b = raw != 0; break;
    default: break;
    }
}

static void free_value(gguf_value *v)
{
    if (v->type != GGUF_TYPE_ARRAY || !v->arr.items)
        return;
    gguf_value *items = (gguf_value *)v->arr.items;
    if (v->arr.type == GGUF_TYPE_ARRAY)
        for (uint64_t i = 0; i < v->arr.n; i++)
            free_value(&items[i]);
    free(items);
    v->arr.items = NULL;
}

static int rd_value(cursor *c, uint32_t type, gguf_value *v, int depth);

static int rd_array(cursor *c, gguf_value *v, int depth)
{
    uint64_t at = c->pos;
    uint32_t et;
    uint64_t n;
    int rc;
    v->type = GGUF_TYPE_ARRAY;
    if (depth > GGUF_MAX_DEPTH)
        return fail(c, at, FLARE_EINVAL, "arrays nested more than %d deep, the limit",
                    GGUF_MAX_DEPTH);
    if ((rc = rd_u32(c, &et, "array element type")))
        return rc;
    if (et >= GGUF_TYPE_COUNT)
        return fail(c, at, FLARE_EINVAL, "array element type %u is not a GGUF type (0..%d)", et,
                    GGUF_TYPE_COUNT - 1);
    if ((rc = rd_u64(c, &n, "array count")))
        return rc;
    v->arr.type = et;
    v->arr.data = c->f->base + c->pos;
    /* smallest encoding of one element: its size, a string's length, an array's type+count */
    uint64_t min = type_sizes[et] ? type_sizes[et] : et == GGUF_TYPE_STRING ? 8 : 12;
    if (n > left(c) / min)
        return fail(c, at + 4, FLARE_EINVAL,
                    "array count %llu of %s needs at least %llu bytes per element, %llu bytes left",
                    (unsigned long long)n, type_names[et], (unsigned long long)min,
                    (unsigned long long)left(c));
    if (type_sizes[et]) {
        if (et == GGUF_TYPE_BOOL)
            for (uint64_t i = 0; i < n; i++)
                if (c->f->base[c->pos + i] > 1)
                    return fail(c, c->pos + i, FLARE_EINVAL,
                                "array element #%llu: bool value %u, expected 0 or 1",
                                (unsigned long long)i, c->f->base[c->pos + i]);
        v->arr.n = n;
        c->pos += n * min;
        return 0;
    }
    if (n == 0)
        return 0;
    gguf_value *items = calloc(n, sizeof *items);
    if (!items)
        return fail(c, at, FLARE_ENOMEM, "out of memory for %llu array elements",
                    (unsigned long long)n);
    v->arr.items = items;
    v->arr.n = n;
    c->depth = depth;
    for (uint64_t i = 0; i < n; i++) {
        c->elem[depth - 1] = i;
        if ((rc = rd_value(c, et, &items[i], depth)))
            return rc;
        c->depth = depth;
    }
    c->depth = depth - 1;
    return 0;
}

static int rd_value(cursor *c, uint32_t type, gguf_value *v, int depth)
{
    if (type == GGUF_TYPE_STRING) {
        v->type = type;
        return rd_str(c, &v->str, "string");
    }
    if (type == GGUF_TYPE_ARRAY)
        return rd_array(c, v, depth + 1);
    int rc = need(c, type_sizes[type], type_names[type]);
    if (rc)
        return rc;
    if (type == GGUF_TYPE_BOOL && c->f->base[c->pos] > 1)
        return fail(c, c->pos, FLARE_EINVAL, "bool value %u, expected 0 or 1", c->f->base[c->pos]);
    decode_scalar(type, c->f->base + c->pos, v);
    c->pos += type_sizes[type];
    return 0;
}

/* ---- header, metadata, tensor infos -------------------------------------------------------- */

static int parse_header(cursor *c)
{
    gguf_file *f = c->f;
    int rc = need(c, 4, "magic");
    if (rc)
        return rc;
    if (memcmp(f->base, GGUF_MAGIC, 4) != 0) {
        const uint8_t *m = f->base;
        return fail(c, 0, FLARE_EINVAL,
                    "bad magic %02x %02x %02x %02x, expected \"GGUF\" (47 47 55 46): not a GGUF file",
                    m[0], m[1], m[2], m[3]);
    }
    c->pos = 4;
    if ((rc = rd_u32(c, &f->version, "version")))
        return rc;
    if (f->version == 1)
        return fail(c, 4, FLARE_EUNSUP,
                    "GGUF version 1 (32-bit counts) is not supported, expected version 2 or 3; "
                    "convert the file with a current llama.cpp");
    if (f->version != 0 && (f->version & 0xffff) == 0)
        return fail(c, 4, FLARE_EUNSUP,
                    "version 0x%08x looks byte-swapped: the file is big-endian, only "
                    "little-endian GGUF is supported",
                    f->version);
    if (f->version != 2 && f->version != 3)
        return fail(c, 4, FLARE_EUNSUP, "unsupported GGUF version %u, expected 2 or 3",
                    f->version);
    if ((rc = rd_u64(c, &f->n_tensors, "tensor count")) || (rc = rd_u64(c, &f->n_kv, "kv count")))
        return rc;
    /* Both counts must fit in what is left even at the smallest encoding of each entry. */
    if (f->n_kv > left(c) / GGUF_MIN_KV_BYTES)
        return fail(c, 16, FLARE_EINVAL,
                    "kv count %llu cannot fit: each key needs at least %d bytes, %llu bytes left",
                    (unsigned long long)f->n_kv, GGUF_MIN_KV_BYTES, (unsigned long long)left(c));
    if (f->n_tensors > (left(c) - f->n_kv * GGUF_MIN_KV_BYTES) / GGUF_MIN_TI_BYTES)
        return fail(c, 8, FLARE_EINVAL,
                    "tensor count %llu cannot fit: each tensor info needs at least %d bytes, "
                    "%llu bytes left after %llu keys",
                    (unsigned long long)f->n_tensors, GGUF_MIN_TI_BYTES,
                    (unsigned long long)left(c), (unsigned long long)f->n_kv);
    return 0;
}

static int parse_kvs(cursor *c)
{
    gguf_file *f = c->f;
    int rc;
    if (f->n_kv && !(f->kv = calloc(f->n_kv, sizeof *f->kv)))
        return fail(c, c->pos, FLARE_ENOMEM, "out of memory for %llu keys",
                    (unsigned long long)f->n_kv);
    if ((rc = index_init(&f->kv_index, f->n_kv)))
        return fail(c, c->pos, rc, "out of memory for the key index");
    for (uint64_t i = 0; i < f->n_kv; i++) {
        gguf_kv *kv = &f->kv[i];
        char name[64];
        snprintf(c->what, sizeof c->what, "key #%llu", (unsigned long long)i);
        uint64_t at = c->pos;
        if ((rc = rd_str(c, &kv->key, "key")))
            return rc;
        printable(name, sizeof name, kv->key.data, kv->key.len);
        snprintf(c->what, sizeof c->what, "key #%llu '%s'", (unsigned long long)i, name);
        uint64_t dup = index_find(&f->kv_index, (const char *)&f->kv[0].key, sizeof *kv,
                                  kv->key.data, kv->key.len, i + 1);
        if (dup)
            return fail(c, at, FLARE_EINVAL, "duplicate key (first defined as key #%llu)",
                        (unsigned long long)(dup - 1));
        uint32_t type;
        uint64_t type_at = c->pos;
        if ((rc = rd_u32(c, &type, "value type")))
            return rc;
        if (type >= GGUF_TYPE_COUNT)
            return fail(c, type_at, FLARE_EINVAL, "value type %u is not a GGUF type (0..%d)",
                        type, GGUF_TYPE_COUNT - 1);
        uint64_t value_at = c->pos;
        c->depth = 0;
        if ((rc = rd_value(c, type, &kv->value, 0)))
            return rc;
        if (gguf_str_eq(kv->key, "general.alignment")) {
            if (type != GGUF_TYPE_UINT32)
                return fail(c, type_at, FLARE_EINVAL, "general.alignment has type %s, expected uint32",
                            type_names[type]);
            uint64_t a = kv->value.u64;
            if (a == 0 || (a & (a - 1)) != 0)
                return fail(c, value_at, FLARE_EINVAL,
                            "general.alignment %llu is not a non-zero power of two",
                            (unsigned long long)a);
            f->alignment = (uint32_t)a;
        }
    }
    c->what[0] = '\0';
    return 0;
}

/* Reads the tensor infos; info_at (n_tensors,) receives each info's byte offset. */
static int parse_tensor_infos(cursor *c, uint64_t *info_at)
{
    gguf_file *f = c->f;
    int rc;
    if (f->n_tensors && !(f->tensors = calloc(f->n_tensors, sizeof *f->tensors)))
        return fail(c, c->pos, FLARE_ENOMEM, "out of memory for %llu tensors",
                    (unsigned long long)f->n_tensors);
    if ((rc = index_init(&f->tensor_index, f->n_tensors)))
        return fail(c, c->pos, rc, "out of memory for the tensor index");
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        gguf_tensor *t = &f->tensors[i];
        char name[64];
        snprintf(c->what, sizeof c->what, "tensor #%llu", (unsigned long long)i);
        uint64_t at = info_at[i] = c->pos;
        if ((rc = rd_str(c, &t->name, "tensor name")))
            return rc;
        printable(name, sizeof name, t->name.data, t->name.len);
        snprintf(c->what, sizeof c->what, "tensor #%llu '%s'", (unsigned long long)i, name);
        uint64_t dup = index_find(&f->tensor_index, (const char *)&f->tensors[0].name, sizeof *t,
                                  t->name.data, t->name.len, i + 1);
        if (dup)
            return fail(c, at, FLARE_EINVAL, "duplicate tensor name (first defined as tensor #%llu)",
                        (unsigned long long)(dup - 1));
        uint64_t dims_at = c->pos;
        if ((rc = rd_u32(c, &t->n_dims, "n_dims")))
            return rc;
        if (t->n_dims < 1 || t->n_dims > GGUF_MAX_DIMS)
            return fail(c, dims_at, FLARE_EINVAL, "n_dims %u, expected 1..%d", t->n_dims,
                        GGUF_MAX_DIMS);
        for (int d = 0; d < GGUF_MAX_DIMS; d++)
            t->ne[d] = 1;
        for (uint32_t d = 0; d < t->n_dims; d++) {
            uint64_t ne_at = c->pos;
            if ((rc = rd_u64(c, &t->ne[d], "ne")))
                return rc;
            if (t->ne[d] > (uint64_t)INT64_MAX)
                return fail(c, ne_at, FLARE_EINVAL, "ne[%u] = %llu exceeds INT64_MAX", d,
                            (unsigned long long)t->ne[d]);
        }
        uint64_t type_at = c->pos;
        if ((rc = rd_u32(c, &t->type, "tensor type")))
            return rc;
        const fl_type_traits *tt = fl_type_get(t->type);
        if (!tt)
            return fail(c, type_at, FLARE_EINVAL, "tensor type %u is not a ggml type", t->type);
        if ((rc = rd_u64(c, &t->offset, "data offset")))
            return rc;
        /* sizes: llama.cpp keeps element counts in int64 */
        uint64_t n = 1;
        for (int d = 0; d < GGUF_MAX_DIMS; d++)
            if (__builtin_mul_overflow(n, t->ne[d], &n) || n > (uint64_t)INT64_MAX)
                return fail(c, dims_at, FLARE_EINVAL,
                            "shape [%llu, %llu, %llu, %llu]: element count overflows int64",
                            (unsigned long long)t->ne[0], (unsigned long long)t->ne[1],
                            (unsigned long long)t->ne[2], (unsigned long long)t->ne[3]);
        if (t->ne[0] % tt->block_elems)
            return fail(c, dims_at + 4, FLARE_EINVAL,
                        "ne[0] = %llu is not a multiple of the %s block size %u",
                        (unsigned long long)t->ne[0], tt->name, tt->block_elems);
        uint64_t bytes;
        if (__builtin_mul_overflow(n / tt->block_elems, (uint64_t)tt->block_bytes, &bytes) ||
            bytes > (uint64_t)INT64_MAX)
            return fail(c, dims_at, FLARE_EINVAL, "%llu %s elements: byte size overflows",
                        (unsigned long long)n, tt->name);
        t->n_elements = n;
        t->n_bytes = bytes;
    }
    c->what[0] = '\0';
    return 0;
}

/* Places the data section after the infos and checks every tensor lies inside the file. */
static int place_tensors(cursor *c, const uint64_t *info_at)
{
    gguf_file *f = c->f;
    uint64_t a = f->alignment;
    f->data_offset = (c->pos + a - 1) / a * a;
    if (f->n_tensors == 0)
        return 0; /* vocabulary-only files may end right after the metadata */
    if (f->data_offset > f->size)
        return fail(c, c->pos, FLARE_EINVAL,
                    "truncated: the data section starts at %llu (aligned to %llu) but the file "
                    "has %llu bytes",
                    (unsigned long long)f->data_offset, (unsigned long long)a,
                    (unsigned long long)f->size);
    uint64_t room = f->size - f->data_offset;
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        gguf_tensor *t = &f->tensors[i];
        char name[64];
        printable(name, sizeof name, t->name.data, t->name.len);
        snprintf(c->what, sizeof c->what, "tensor #%llu '%s'", (unsigned long long)i, name);
        /* the offset field is the last 8 bytes of the info */
        uint64_t off_at = info_at[i] + 8 + t->name.len + 4 + 8ull * t->n_dims + 4;
        if (t->offset % a)
            return fail(c, off_at, FLARE_EINVAL,
                        "data offset %llu is not a multiple of the alignment %llu",
                        (unsigned long long)t->offset, (unsigned long long)a);
        if (t->offset > room || t->n_bytes > room - t->offset)
            return fail(c, off_at, FLARE_EINVAL,
                        "data [%llu, +%llu bytes) ends past the end of the data section "
                        "(%llu bytes from file offset %llu): truncated or bad offset",
                        (unsigned long long)t->offset, (unsigned long long)t->n_bytes,
                        (unsigned long long)room, (unsigned long long)f->data_offset);
        t->data = f->base + f->data_offset + t->offset;
    }
    c->what[0] = '\0';
    return 0;
}

static int parse(gguf_file *f)
{
    cursor c = {.f = f};
    int rc = parse_header(&c);
    if (!rc)
        rc = parse_kvs(&c);
    if (rc)
        return rc;
    uint64_t *info_at = calloc(f->n_tensors ? f->n_tensors : 1, sizeof *info_at);
    if (!info_at)
        return fail(&c, c.pos, FLARE_ENOMEM, "out of memory for %llu tensors",
                    (unsigned long long)f->n_tensors);
    rc = parse_tensor_infos(&c, info_at);
    if (!rc)
        rc = place_tensors(&c, info_at);
    free(info_at);
    return rc;
}

/* ---- open / close -------------------------------------------------------------------------- */

static int open_common(gguf_file **out, gguf_file *f)
{
    f->alignment = GGUF_DEFAULT_ALIGNMENT;
    int rc = parse(f);
    if (rc) {
        gguf_close(f);
        *out = NULL;
        return rc;
    }
    *out = f;
    return 0;
}

int gguf_open_buffer(gguf_file **out, const void *buf, size_t size, const char *name)
{
    *out = NULL;
    gguf_file *f = calloc(1, sizeof *f);
    if (!f || !(f->name = strdup(name ? name : "<buffer>"))) {
        free(f);
        return flare_error(FLARE_ENOMEM, "%s: out of memory", name ? name : "<buffer>");
    }
    f->base = buf;
    f->size = buf ? size : 0;
    return open_common(out, f);
}

int gguf_open(gguf_file **out, const char *path)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return flare_error(FLARE_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return flare_error(FLARE_EIO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return flare_error(FLARE_EINVAL, "%s: not a regular file", path);
    }
    void *map = NULL;
    if (st.st_size > 0) {
        map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            int e = errno;
            close(fd);
            return flare_error(FLARE_EIO, "%s: cannot mmap %lld bytes: %s", path,
                               (long long)st.st_size, strerror(e));
        }
    }
    close(fd);
    gguf_file *f = calloc(1, sizeof *f);
    if (!f || !(f->name = strdup(path))) {
        free(f);
        if (map)
            munmap(map, (size_t)st.st_size);
        return flare_error(FLARE_ENOMEM, "%s: out of memory", path);
    }
    f->map = map;
    f->base = map;
    f->size = (uint64_t)st.st_size;
    return open_common(out, f);
}

void gguf_close(gguf_file *f)
{
    if (!f)
        return;
    for (uint64_t i = 0; f->kv && i < f->n_kv; i++)
        free_value(&f->kv[i].value);
    free(f->kv);
    free(f->tensors);
    free(f->kv_index.slots);
    free(f->tensor_index.slots);
    if (f->map)
        munmap(f->map, (size_t)f->size);
    free(f->name);
    free(f);
}

/* ---- accessors ----------------------------------------------------------------------------- */

uint32_t gguf_version(const gguf_file *f) { return f->version; }
uint32_t gguf_alignment(const gguf_file *f) { return f->alignment; }
uint64_t gguf_file_size(const gguf_file *f) { return f->size; }
uint64_t gguf_data_offset(const gguf_file *f) { return f->data_offset; }
const char *gguf_path(const gguf_file *f) { return f->name; }
uint64_t gguf_n_kv(const gguf_file *f) { return f->n_kv; }
uint64_t gguf_n_tensors(const gguf_file *f) { return f->n_tensors; }

const gguf_kv *gguf_kv_at(const gguf_file *f, uint64_t i) { return i < f->n_kv ? &f->kv[i] : NULL; }

const gguf_tensor *gguf_tensor_at(const gguf_file *f, uint64_t i)
{
    return i < f->n_tensors ? &f->tensors[i] : NULL;
}

const gguf_kv *gguf_find_kv(const gguf_file *f, const char *key)
{
    if (!f->n_kv)
        return NULL;
    uint64_t e = index_find(&f->kv_index, (const char *)&f->kv[0].key, sizeof f->kv[0], key,
                            strlen(key), 0);
    return e ? &f->kv[e - 1] : NULL;
}

const gguf_tensor *gguf_find_tensor(const gguf_file *f, const char *name)
{
    if (!f->n_tensors)
        return NULL;
    uint64_t e = index_find(&f->tensor_index, (const char *)&f->tensors[0].name,
                            sizeof f->tensors[0], name, strlen(name), 0);
    return e ? &f->tensors[e - 1] : NULL;
}

bool gguf_str_eq(gguf_str s, const char *z)
{
    size_t n = strlen(z);
    return s.len == n && memcmp(s.data, z, n) == 0;
}
