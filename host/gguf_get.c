/* host/gguf_get.c: typed getters and array element access on an opened GGUF file.
 *
 * Uses only the public API of host/gguf.h: values were validated when the file was opened;
 * these functions convert them (with range checks) and name the file and key on a mismatch. */
#include "host/gguf.h"

#include <string.h>

#include "flare/error.h"

/* ---- typed getters ------------------------------------------------------------------------- */

static bool is_uint(uint32_t t)
{
    return t == GGUF_TYPE_UINT8 || t == GGUF_TYPE_UINT16 || t == GGUF_TYPE_UINT32 ||
           t == GGUF_TYPE_UINT64;
}

static bool is_sint(uint32_t t)
{
    return t == GGUF_TYPE_INT8 || t == GGUF_TYPE_INT16 || t == GGUF_TYPE_INT32 ||
           t == GGUF_TYPE_INT64;
}

static const gguf_value *find_value(const gguf_file *f, const char *key)
{
    const gguf_kv *kv = gguf_find_kv(f, key);
    if (!kv) {
        flare_error(FLARE_EINVAL, "%s: key '%s' not found", gguf_path(f), key);
        return NULL;
    }
    return &kv->value;
}

static int wrong_type(const gguf_file *f, const char *key, const gguf_value *v, const char *expected)
{
    return flare_error(FLARE_EINVAL, "%s: key '%s' has type %s, expected %s", gguf_path(f), key,
                       gguf_type_name(v->type), expected);
}

int gguf_get_uint(const gguf_file *f, const char *key, uint64_t *out)
{
    const gguf_value *v = find_value(f, key);
    if (!v)
        return FLARE_EINVAL;
    if (is_uint(v->type)) {
        *out = v->u64;
        return 0;
    }
    if (is_sint(v->type)) {
        if (v->i64 < 0)
            return flare_error(FLARE_EINVAL, "%s: key '%s' is %lld, expected a value >= 0",
                               gguf_path(f), key, (long long)v->i64);
        *out = (uint64_t)v->i64;
        return 0;
    }
    return wrong_type(f, key, v, "an unsigned integer");
}

int gguf_get_int(const gguf_file *f, const char *key, int64_t *out)
{
    const gguf_value *v = find_value(f, key);
    if (!v)
        return FLARE_EINVAL;
    if (is_sint(v->type)) {
        *out = v->i64;
        return 0;
    }
    if (is_uint(v->type)) {
        if (v->u64 > (uint64_t)INT64_MAX)
            return flare_error(FLARE_EINVAL, "%s: key '%s' is %llu, expected a value <= INT64_MAX",
                               gguf_path(f), key, (unsigned long long)v->u64);
        *out = (int64_t)v->u64;
        return 0;
    }
    return wrong_type(f, key, v, "an integer");
}

int gguf_get_float(const gguf_file *f, const char *key, double *out)
{
    const gguf_value *v = find_value(f, key);
    if (!v)
        return FLARE_EINVAL;
    if (v->type == GGUF_TYPE_FLOAT32 || v->type == GGUF_TYPE_FLOAT64)
        *out = v->f64;
    else if (is_uint(v->type))
        *out = (double)v->u64;
    else if (is_sint(v->type))
        *out = (double)v->i64;
    else
        return wrong_type(f, key, v, "a number");
    return 0;
}

int gguf_get_bool(const gguf_file *f, const char *key, bool *out)
{
    const gguf_value *v = find_value(f, key);
    if (!v)
        return FLARE_EINVAL;
    if (v->type != GGUF_TYPE_BOOL)
        return wrong_type(f, key, v, "bool");
    *out = v->b;
    return 0;
}

int gguf_get_str(const gguf_file *f, const char *key, gguf_str *out)
{
    const gguf_value *v = find_value(f, key);
    if (!v)
        return FLARE_EINVAL;
    if (v->type != GGUF_TYPE_STRING)
        return wrong_type(f, key, v, "string");
    *out = v->str;
    return 0;
}

int gguf_get_arr(const gguf_file *f, const char *key, uint32_t elem_type, const gguf_value **out)
{
    const gguf_value *v = find_value(f, key);
    if (!v)
        return FLARE_EINVAL;
    if (v->type != GGUF_TYPE_ARRAY)
        return wrong_type(f, key, v, "array");
    if (elem_type < GGUF_TYPE_COUNT && v->arr.type != elem_type)
        return flare_error(FLARE_EINVAL, "%s: key '%s' is an array of %s, expected an array of %s",
                           gguf_path(f), key, gguf_type_name(v->arr.type), gguf_type_name(elem_type));
    *out = v;
    return 0;
}

/* ---- array elements ------------------------------------------------------------------------ */

/* Float to integer without undefined behaviour: NaN -> 0, saturating at the range ends. */
static uint64_t f64_to_u64(double x)
{
    if (!(x > 0))
        return 0;
    return x >= 18446744073709551616.0 ? UINT64_MAX : (uint64_t)x;
}

static int64_t f64_to_i64(double x)
{
    if (x != x)
        return 0;
    if (x >= 9223372036854775808.0)
        return INT64_MAX;
    return x <= -9223372036854775808.0 ? INT64_MIN : (int64_t)x;
}

/* Decodes fixed-size element i of arr (little-endian in the file) into e; false when out of
 * range or not an array of fixed-size elements. */
static bool arr_elem(const gguf_value *arr, uint64_t i, gguf_value *e)
{
    size_t size = arr->type == GGUF_TYPE_ARRAY ? gguf_type_size(arr->arr.type) : 0;
    if (!size || i >= arr->arr.n)
        return false;
    const uint8_t *p = (const uint8_t *)arr->arr.data + i * size;
    uint64_t raw = 0;
    for (size_t k = size; k-- > 0;)
        raw = raw << 8 | p[k];
    e->type = arr->arr.type;
    switch (e->type) {
    case GGUF_TYPE_INT8: e->i64 = (int8_t)raw; break;
    case GGUF_TYPE_INT16: e->i64 = (int16_t)raw; break;
    case GGUF_TYPE_INT32: e->i64 = (int32_t)raw; break;
    case GGUF_TYPE_INT64: e->i64 = (int64_t)raw; break;
    case GGUF_TYPE_FLOAT32: {
        uint32_t u = (uint32_t)raw;
        float x;
        memcpy(&x, &u, 4);
        e->f64 = x;
        break;
    }
    case GGUF_TYPE_FLOAT64: memcpy(&e->f64, &raw, 8); break;
    case GGUF_TYPE_BOOL: e->b = raw != 0; break;
    default: e->u64 = raw; break; /* unsigned */
    }
    return true;
}

uint64_t gguf_arr_u64(const gguf_value *arr, uint64_t i)
{
    gguf_value e;
    if (!arr_elem(arr, i, &e))
        return 0;
    if (is_uint(e.type))
        return e.u64;
    if (is_sint(e.type))
        return (uint64_t)e.i64;
    if (e.type == GGUF_TYPE_BOOL)
        return e.b;
    return f64_to_u64(e.f64);
}

int64_t gguf_arr_i64(const gguf_value *arr, uint64_t i)
{
    gguf_value e;
    if (!arr_elem(arr, i, &e))
        return 0;
    if (is_uint(e.type))
        return (int64_t)e.u64;
    if (is_sint(e.type))
        return e.i64;
    if (e.type == GGUF_TYPE_BOOL)
        return e.b;
    return f64_to_i64(e.f64);
}

double gguf_arr_f64(const gguf_value *arr, uint64_t i)
{
    gguf_value e;
    if (!arr_elem(arr, i, &e))
        return 0;
    if (is_uint(e.type))
        return (double)e.u64;
    if (is_sint(e.type))
        return (double)e.i64;
    if (e.type == GGUF_TYPE_BOOL)
        return e.b;
    return e.f64;
}

gguf_str gguf_arr_str(const gguf_value *arr, uint64_t i)
{
    gguf_str none = {0, ""};
    if (arr->type != GGUF_TYPE_ARRAY || arr->arr.type != GGUF_TYPE_STRING || i >= arr->arr.n)
        return none;
    return arr->arr.items[i].str;
}
