/* host/gguf_write.c: the GGUF v3 writer (the layout llama.cpp's gguf_write_to_file produces).
 *
 * Metadata and tensor infos are collected in memory (values deep-copied, keys in insertion
 * order). gguf_writer_write streams header, key/values, tensor infos, zero padding to the
 * alignment, then each tensor's data padded with zeros to the alignment, into a temporary file
 * in the target's directory, and renames it into place only when everything was written. */
#include "host/gguf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "flare/error.h"
#include "flare/ggml.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "gguf_write.c stores fixed-size array elements as host bytes: little-endian hosts only"
#endif

#define GGUF_WRITER_MAX_DEPTH 8 /* the reader's nesting limit */
#define GGML_MAX_NAME 64        /* llama.cpp refuses tensor names of 64 bytes or more */

typedef struct {
    char *key;
    gguf_value value; /* owns its strings, element bytes and items */
} wkv;

typedef struct {
    char *name;
    uint32_t n_dims;
    uint64_t ne[GGUF_MAX_DIMS];
    uint32_t type;
    uint64_t n_bytes;
    const void *data; /* NULL: produced by the fill callback */
} wtensor;

struct gguf_writer {
    wkv *kv;           /* (n_kv,) insertion order */
    uint64_t n_kv, cap_kv;
    wtensor *tensors;  /* (n_tensors,) */
    uint64_t n_tensors, cap_tensors;
};

/* ---- owned values -------------------------------------------------------------------------- */

static void value_free(gguf_value *v)
{
    if (v->type == GGUF_TYPE_STRING) {
        free((void *)v->str.data);
    } else if (v->type == GGUF_TYPE_ARRAY) {
        gguf_value *items = (gguf_value *)v->arr.items;
        for (uint64_t i = 0; items && i < v->arr.n; i++)
            value_free(&items[i]);
        free(items);
        free((void *)v->arr.data);
    }
    memset(v, 0, sizeof *v);
}

static int str_copy(gguf_str *dst, const char *s, uint64_t len, const char *key)
{
    if (len > 0 && !s)
        return flare_error(FLARE_EINVAL, "gguf writer: key '%s': NULL string of length %llu", key,
                           (unsigned long long)len);
    char *p = malloc(len + 1);
    if (!p)
        return flare_error(FLARE_ENOMEM, "gguf writer: key '%s': out of memory for a %llu-byte "
                           "string", key, (unsigned long long)len);
    if (len)
        memcpy(p, s, len);
    p[len] = '\0';
    dst->data = p;
    dst->len = len;
    return 0;
}

/* Deep copy of src into dst (zeroed), checking types and nesting. */
static int value_copy(gguf_value *dst, const gguf_value *src, const char *key, int depth)
{
    if (src->type >= GGUF_TYPE_COUNT)
        return flare_error(FLARE_EINVAL, "gguf writer: key '%s': value type %u is not a GGUF type",
                           key, src->type);
    if (src->type == GGUF_TYPE_STRING) {
        dst->type = GGUF_TYPE_STRING;
        return str_copy(&dst->str, src->str.data, src->str.len, key);
    }
    if (src->type != GGUF_TYPE_ARRAY) {
        *dst = *src;
        return 0;
    }
    if (depth >= GGUF_WRITER_MAX_DEPTH)
        return flare_error(FLARE_EINVAL, "gguf writer: key '%s': arrays nested more than %d deep",
                           key, GGUF_WRITER_MAX_DEPTH);
    uint32_t et = src->arr.type;
    uint64_t n = src->arr.n;
    if (et >= GGUF_TYPE_COUNT)
        return flare_error(FLARE_EINVAL,
                           "gguf writer: key '%s': array element type %u is not a GGUF type", key, et);
    dst->type = GGUF_TYPE_ARRAY;
    dst->arr.type = et;
    size_t esz = gguf_type_size(et);
    if (esz) {
        uint64_t bytes;
        if (__builtin_mul_overflow(n, (uint64_t)esz, &bytes) || bytes > SIZE_MAX)
            return flare_error(FLARE_ERANGE, "gguf writer: key '%s': %llu elements overflow", key,
                               (unsigned long long)n);
        if (n && !src->arr.data)
            return flare_error(FLARE_EINVAL, "gguf writer: key '%s': NULL array data", key);
        void *p = malloc(bytes ? bytes : 1);
        if (!p)
            return flare_error(FLARE_ENOMEM, "gguf writer: key '%s': out of memory", key);
        if (bytes)
            memcpy(p, src->arr.data, bytes);
        if (et == GGUF_TYPE_BOOL)
            for (uint64_t i = 0; i < n; i++)
                ((uint8_t *)p)[i] = ((uint8_t *)p)[i] != 0;
        dst->arr.data = p;
        dst->arr.n = n;
        return 0;
    }
    if (n && !src->arr.items)
        return flare_error(FLARE_EINVAL, "gguf writer: key '%s': NULL array items", key);
    if (n > SIZE_MAX / sizeof(gguf_value))
        return flare_error(FLARE_ERANGE, "gguf writer: key '%s': %llu elements overflow", key,
                           (unsigned long long)n);
    gguf_value *items = calloc(n ? n : 1, sizeof *items);
    if (!items)
        return flare_error(FLARE_ENOMEM, "gguf writer: key '%s': out of memory", key);
    dst->arr.items = items;
    dst->arr.n = n;
    for (uint64_t i = 0; i < n; i++) {
        if (src->arr.items[i].type != et)
            return flare_error(FLARE_EINVAL,
                               "gguf writer: key '%s': element #%llu has type %s in an array of %s",
                               key, (unsigned long long)i, gguf_type_name(src->arr.items[i].type),
                               gguf_type_name(et));
        int rc = value_copy(&items[i], &src->arr.items[i], key, depth + 1);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- construction -------------------------------------------------------------------------- */

gguf_writer *gguf_writer_new(void)
{
    gguf_writer *w = calloc(1, sizeof *w);
    if (!w)
        flare_error(FLARE_ENOMEM, "gguf writer: out of memory");
    return w;
}

void gguf_writer_free(gguf_writer *w)
{
    if (!w)
        return;
    for (uint64_t i = 0; i < w->n_kv; i++) {
        free(w->kv[i].key);
        value_free(&w->kv[i].value);
    }
    for (uint64_t i = 0; i < w->n_tensors; i++)
        free(w->tensors[i].name);
    free(w->kv);
    free(w->tensors);
    free(w);
}

/* Sets key to a deep copy of v, replacing an existing value in place. */
static int set_value(gguf_writer *w, const char *key, const gguf_value *v)
{
    if (!w || !key || !v)
        return flare_error(FLARE_EINVAL, "gguf writer: NULL argument");
    gguf_value copy = {0};
    int rc = value_copy(&copy, v, key, 0);
    if (rc) {
        value_free(&copy);
        return rc;
    }
    for (uint64_t i = 0; i < w->n_kv; i++) {
        if (strcmp(w->kv[i].key, key) == 0) {
            value_free(&w->kv[i].value);
            w->kv[i].value = copy;
            return 0;
        }
    }
    if (w->n_kv == w->cap_kv) {
        uint64_t cap = w->cap_kv ? 2 * w->cap_kv : 16;
        wkv *p = realloc(w->kv, cap * sizeof *p);
        if (!p) {
            value_free(&copy);
            return flare_error(FLARE_ENOMEM, "gguf writer: out of memory for key '%s'", key);
        }
        w->kv = p;
        w->cap_kv = cap;
    }
    char *k = strdup(key);
    if (!k) {
        value_free(&copy);
        return flare_error(FLARE_ENOMEM, "gguf writer: out of memory for key '%s'", key);
    }
    w->kv[w->n_kv].key = k;
    w->kv[w->n_kv].value = copy;
    w->n_kv++;
    return 0;
}

int gguf_writer_set_value(gguf_writer *w, const char *key, const gguf_value *v)
{
    return set_value(w, key, v);
}

#define SETTER(fn, ctype, gtype, field)                                                           \
    int fn(gguf_writer *w, const char *key, ctype x)                                              \
    {                                                                                             \
        gguf_value v = {.type = gtype};                                                           \
        v.field = x;                                                                              \
        return set_value(w, key, &v);                                                             \
    }
SETTER(gguf_writer_set_u8, uint8_t, GGUF_TYPE_UINT8, u64)
SETTER(gguf_writer_set_i8, int8_t, GGUF_TYPE_INT8, i64)
SETTER(gguf_writer_set_u16, uint16_t, GGUF_TYPE_UINT16, u64)
SETTER(gguf_writer_set_i16, int16_t, GGUF_TYPE_INT16, i64)
SETTER(gguf_writer_set_u32, uint32_t, GGUF_TYPE_UINT32, u64)
SETTER(gguf_writer_set_i32, int32_t, GGUF_TYPE_INT32, i64)
SETTER(gguf_writer_set_u64, uint64_t, GGUF_TYPE_UINT64, u64)
SETTER(gguf_writer_set_i64, int64_t, GGUF_TYPE_INT64, i64)
SETTER(gguf_writer_set_f32, float, GGUF_TYPE_FLOAT32, f64)
SETTER(gguf_writer_set_f64, double, GGUF_TYPE_FLOAT64, f64)
SETTER(gguf_writer_set_bool, bool, GGUF_TYPE_BOOL, b)
#undef SETTER

int gguf_writer_set_str(gguf_writer *w, const char *key, const char *s)
{
    gguf_value v = {.type = GGUF_TYPE_STRING};
    v.str.data = s;
    v.str.len = s ? strlen(s) : 0;
    return set_value(w, key, &v);
}

int gguf_writer_set_arr(gguf_writer *w, const char *key, uint32_t elem_type, const void *data,
                        uint64_t n)
{
    if (!w || !key)
        return flare_error(FLARE_EINVAL, "gguf writer: NULL argument");
    if (!gguf_type_size(elem_type))
        return flare_error(FLARE_EINVAL,
                           "gguf writer: key '%s': gguf_writer_set_arr takes fixed-size elements, "
                           "not %s", key, gguf_type_name(elem_type));
    gguf_value v = {.type = GGUF_TYPE_ARRAY};
    v.arr.type = elem_type;
    v.arr.n = n;
    v.arr.data = data;
    return set_value(w, key, &v);
}

int gguf_writer_set_arr_str(gguf_writer *w, const char *key, const char *const *strs,
                            const uint64_t *lens, uint64_t n)
{
    if (!w || !key)
        return flare_error(FLARE_EINVAL, "gguf writer: NULL argument");
    if (n && !strs)
        return flare_error(FLARE_EINVAL, "gguf writer: key '%s': NULL string array", key);
    if (n > SIZE_MAX / sizeof(gguf_value))
        return flare_error(FLARE_ERANGE, "gguf writer: key '%s': too many strings", key);
    gguf_value *items = calloc(n ? n : 1, sizeof *items);
    if (!items)
        return flare_error(FLARE_ENOMEM, "gguf writer: key '%s': out of memory", key);
    for (uint64_t i = 0; i < n; i++) {
        items[i].type = GGUF_TYPE_STRING;
        items[i].str.data = strs[i];
        items[i].str.len = lens ? lens[i] : strs[i] ? strlen(strs[i]) : 0;
    }
    gguf_value v = {.type = GGUF_TYPE_ARRAY};
    v.arr.type = GGUF_TYPE_STRING;
    v.arr.n = n;
    v.arr.items = items;
    int rc = set_value(w, key, &v);
    free(items);
    return rc;
}

int gguf_writer_set_alignment(gguf_writer *w, uint32_t alignment)
{
    if (alignment == 0 || (alignment & (alignment - 1)) != 0)
        return flare_error(FLARE_EINVAL,
                           "gguf writer: alignment %u is not a non-zero power of two", alignment);
    return gguf_writer_set_u32(w, "general.alignment", alignment);
}

int64_t gguf_writer_add_tensor(gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims,
                               const uint64_t *ne, const void *data)
{
    if (!w || !name || !ne)
        return flare_error(FLARE_EINVAL, "gguf writer: NULL argument");
    size_t len = strlen(name);
    if (len == 0 || len >= GGML_MAX_NAME)
        return flare_error(FLARE_EINVAL,
                           "gguf writer: tensor '%s': name has %zu bytes, expected 1..%d", name,
                           len, GGML_MAX_NAME - 1);
    const fl_type_traits *tt = fl_type_get(type);
    if (!tt)
        return flare_error(FLARE_EINVAL, "gguf writer: tensor '%s': type %u is not a ggml type",
                           name, type);
    if (n_dims < 1 || n_dims > GGUF_MAX_DIMS)
        return flare_error(FLARE_EINVAL, "gguf writer: tensor '%s': n_dims %u, expected 1..%d",
                           name, n_dims, GGUF_MAX_DIMS);
    wtensor t = {.n_dims = n_dims, .type = type, .data = data};
    uint64_t n = 1;
    for (int d = 0; d < GGUF_MAX_DIMS; d++) {
        t.ne[d] = (uint32_t)d < n_dims ? ne[d] : 1;
        if (t.ne[d] > (uint64_t)INT64_MAX || __builtin_mul_overflow(n, t.ne[d], &n) ||
            n > (uint64_t)INT64_MAX)
            return flare_error(FLARE_ERANGE,
                               "gguf writer: tensor '%s': element count overflows int64", name);
    }
    if (t.ne[0] % tt->block_elems)
        return flare_error(FLARE_EINVAL,
                           "gguf writer: tensor '%s': ne[0] = %llu is not a multiple of the %s "
                           "block size %u",
                           name, (unsigned long long)t.ne[0], tt->name, tt->block_elems);
    if (__builtin_mul_overflow(n / tt->block_elems, (uint64_t)tt->block_bytes, &t.n_bytes) ||
        t.n_bytes > (uint64_t)INT64_MAX)
        return flare_error(FLARE_ERANGE, "gguf writer: tensor '%s': byte size overflows", name);
    for (uint64_t i = 0; i < w->n_tensors; i++)
        if (strcmp(w->tensors[i].name, name) == 0)
            return flare_error(FLARE_EINVAL, "gguf writer: duplicate tensor name '%s'", name);
    if (w->n_tensors == w->cap_tensors) {
        uint64_t cap = w->cap_tensors ? 2 * w->cap_tensors : 16;
        wtensor *p = realloc(w->tensors, cap * sizeof *p);
        if (!p)
            return flare_error(FLARE_ENOMEM, "gguf writer: out of memory for tensor '%s'", name);
        w->tensors = p;
        w->cap_tensors = cap;
    }
    if (!(t.name = strdup(name)))
        return flare_error(FLARE_ENOMEM, "gguf writer: out of memory for tensor '%s'", name);
    w->tensors[w->n_tensors] = t;
    return (int64_t)w->n_tensors++;
}

/* ---- serialisation ------------------------------------------------------------------------- */

typedef struct {
    FILE *fp;
    uint64_t pos; /* bytes written so far */
    bool err;
} out_stream;

static void put(out_stream *o, const void *p, uint64_t n)
{
    if (o->err || n == 0)
        return;
    if (fwrite(p, 1, n, o->fp) != n)
        o->err = true;
    o->pos += n;
}

static void put_le(out_stream *o, uint64_t v, int n)
{
    uint8_t b[8];
    for (int i = 0; i < n; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    put(o, b, (uint64_t)n);
}

static void put_str(out_stream *o, const char *s, uint64_t len)
{
    put_le(o, len, 8);
    put(o, s, len);
}

static void put_pad(out_stream *o, uint64_t alignment)
{
    static const uint8_t zeros[64];
    uint64_t n = (alignment - o->pos % alignment) % alignment;
    while (n) {
        uint64_t k = n < sizeof zeros ? n : sizeof zeros;
        put(o, zeros, k);
        n -= k;
    }
}

static void put_value(out_stream *o, const gguf_value *v)
{
    switch (v->type) {
    case GGUF_TYPE_UINT8:
    case GGUF_TYPE_UINT16:
    case GGUF_TYPE_UINT32:
    case GGUF_TYPE_UINT64: put_le(o, v->u64, (int)gguf_type_size(v->type)); break;
    case GGUF_TYPE_INT8:
    case GGUF_TYPE_INT16:
    case GGUF_TYPE_INT32:
    case GGUF_TYPE_INT64: put_le(o, (uint64_t)v->i64, (int)gguf_type_size(v->type)); break;
    case GGUF_TYPE_FLOAT32: {
        float x = (float)v->f64;
        uint32_t u;
        memcpy(&u, &x, 4);
        put_le(o, u, 4);
        break;
    }
    case GGUF_TYPE_FLOAT64: {
        uint64_t u;
        memcpy(&u, &v->f64, 8);
        put_le(o, u, 8);
        break;
    }
    case GGUF_TYPE_BOOL: put_le(o, v->b ? 1 : 0, 1); break;
    case GGUF_TYPE_STRING: put_str(o, v->str.data, v->str.len); break;
    case GGUF_TYPE_ARRAY:
        put_le(o, v->arr.type, 4);
        put_le(o, v->arr.n, 8);
        if (gguf_type_size(v->arr.type))
            put(o, v->arr.data, v->arr.n * gguf_type_size(v->arr.type));
        else
            for (uint64_t i = 0; i < v->arr.n; i++)
                put_value(o, &v->arr.items[i]);
        break;
    default: break;
    }
}

/* The alignment the layout uses: general.alignment when set (validated), else 32. */
static int layout_alignment(const gguf_writer *w, uint64_t *alignment)
{
    *alignment = GGUF_DEFAULT_ALIGNMENT;
    for (uint64_t i = 0; i < w->n_kv; i++) {
        if (strcmp(w->kv[i].key, "general.alignment") != 0)
            continue;
        const gguf_value *v = &w->kv[i].value;
        if (v->type != GGUF_TYPE_UINT32 || v->u64 == 0 || (v->u64 & (v->u64 - 1)) != 0)
            return flare_error(FLARE_EINVAL,
                               "gguf writer: general.alignment must be a uint32 power of two");
        *alignment = v->u64;
    }
    return 0;
}

/* Writes everything after the temp file is open. */
static int write_body(const gguf_writer *w, out_stream *o, const char *path, gguf_fill_fn fill,
                      void *user)
{
    uint64_t alignment;
    int rc = layout_alignment(w, &alignment);
    if (rc)
        return rc;
    for (uint64_t i = 0; i < w->n_tensors; i++)
        if (!w->tensors[i].data && !fill && w->tensors[i].n_bytes)
            return flare_error(FLARE_EINVAL,
                               "%s: tensor '%s' has no data and no fill callback was given", path,
                               w->tensors[i].name);

    put(o, GGUF_MAGIC, 4);
    put_le(o, 3, 4);
    put_le(o, w->n_tensors, 8);
    put_le(o, w->n_kv, 8);
    for (uint64_t i = 0; i < w->n_kv; i++) {
        put_str(o, w->kv[i].key, strlen(w->kv[i].key));
        put_le(o, w->kv[i].value.type, 4);
        put_value(o, &w->kv[i].value);
    }
    uint64_t offset = 0; /* relative to the data section */
    for (uint64_t i = 0; i < w->n_tensors; i++) {
        const wtensor *t = &w->tensors[i];
        put_str(o, t->name, strlen(t->name));
        put_le(o, t->n_dims, 4);
        for (uint32_t d = 0; d < t->n_dims; d++)
            put_le(o, t->ne[d], 8);
        put_le(o, t->type, 4);
        put_le(o, offset, 8);
        offset += (t->n_bytes + alignment - 1) / alignment * alignment;
    }
    put_pad(o, alignment);

    for (uint64_t i = 0; i < w->n_tensors && !o->err; i++) {
        const wtensor *t = &w->tensors[i];
        if (t->data || t->n_bytes == 0) {
            put(o, t->data, t->n_bytes);
        } else {
            if (t->n_bytes > SIZE_MAX)
                return flare_error(FLARE_ERANGE, "%s: tensor '%s' too large", path, t->name);
            void *buf = malloc(t->n_bytes);
            if (!buf)
                return flare_error(FLARE_ENOMEM, "%s: tensor '%s': out of memory for %llu bytes",
                                   path, t->name, (unsigned long long)t->n_bytes);
            rc = fill(user, i, buf, t->n_bytes);
            if (rc) {
                free(buf);
                return flare_error_prefix(rc, "%s: tensor '%s'", path, t->name);
            }
            put(o, buf, t->n_bytes);
            free(buf);
        }
        put_pad(o, alignment);
    }
    if (o->err)
        return flare_error(FLARE_EIO, "%s: write failed at byte %llu: %s", path,
                           (unsigned long long)o->pos, strerror(errno));
    return 0;
}

int gguf_writer_write(gguf_writer *w, const char *path, gguf_fill_fn fill, void *user)
{
    if (!w || !path)
        return flare_error(FLARE_EINVAL, "gguf writer: NULL argument");
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    if (!tmp)
        return flare_error(FLARE_ENOMEM, "%s: out of memory", path);
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp.XXXXXX", 12);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return flare_error(FLARE_EIO, "%s: cannot create a temporary file next to it: %s", path,
                           strerror(e));
    }
    fchmod(fd, 0644);
    out_stream o = {.fp = fdopen(fd, "wb")};
    int rc;
    if (!o.fp) {
        close(fd);
        rc = flare_error(FLARE_EIO, "%s: fdopen failed: %s", path, strerror(errno));
    } else {
        rc = write_body(w, &o, path, fill, user);
        if (!rc && (fflush(o.fp) != 0 || fsync(fileno(o.fp)) != 0))
            rc = flare_error(FLARE_EIO, "%s: flush failed: %s", path, strerror(errno));
        if (fclose(o.fp) != 0 && !rc)
            rc = flare_error(FLARE_EIO, "%s: close failed: %s", path, strerror(errno));
    }
    if (!rc && rename(tmp, path) != 0)
        rc = flare_error(FLARE_EIO, "%s: cannot rename %s into place: %s", path, tmp,
                         strerror(errno));
    if (rc)
        unlink(tmp);
    free(tmp);
    return rc;
}
