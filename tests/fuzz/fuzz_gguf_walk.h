/* tests/fuzz/fuzz_gguf_walk.h: touch everything a gguf_file exposes, through the public API.
 *
 * Shared by the libFuzzer target (fuzz_gguf.c) and the corpus replay test
 * (tests/host/test_gguf_corpus.c): every key and value (arrays element by element, nested
 * arrays recursively, every string byte), every typed getter on every key, and every byte of
 * every tensor view, so that a view pointing outside the input is caught by ASan; then
 * `flare info`'s report of the file, whose JSON form must parse (gguf_info_json). */
#ifndef FLARE_FUZZ_GGUF_WALK_H
#define FLARE_FUZZ_GGUF_WALK_H

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/gguf.h"
#include "host/info.h"

static inline uint64_t gguf_walk_bytes(const void *p, uint64_t n)
{
    const unsigned char *b = p;
    uint64_t h = 0;
    for (uint64_t i = 0; i < n; i++)
        h = h * 31 + b[i];
    return h;
}

static inline uint64_t gguf_walk_value(const gguf_value *v)
{
    uint64_t h = v->type;
    switch (v->type) {
    case GGUF_TYPE_STRING: return h + gguf_walk_bytes(v->str.data, v->str.len);
    case GGUF_TYPE_ARRAY:
        h += v->arr.type + v->arr.n;
        for (uint64_t i = 0; i < v->arr.n; i++) {
            if (v->arr.type == GGUF_TYPE_STRING) {
                gguf_str s = gguf_arr_str(v, i);
                h += gguf_walk_bytes(s.data, s.len);
            } else if (v->arr.type == GGUF_TYPE_ARRAY) {
                h += gguf_walk_value(&v->arr.items[i]);
            } else {
                double d = gguf_arr_f64(v, i);
                h += gguf_arr_u64(v, i) + (uint64_t)gguf_arr_i64(v, i) + (d == d ? 1 : 0);
            }
        }
        /* one past the end reads as 0 */
        return h + gguf_arr_u64(v, v->arr.n) + gguf_arr_str(v, v->arr.n).len;
    default: return h + v->u64;
    }
}

static inline uint64_t gguf_walk(const gguf_file *f)
{
    uint64_t h = gguf_version(f) + gguf_alignment(f) + gguf_data_offset(f) + gguf_file_size(f);
    for (uint64_t i = 0; i < gguf_n_kv(f); i++) {
        const gguf_kv *kv = gguf_kv_at(f, i);
        h += gguf_walk_bytes(kv->key.data, kv->key.len) + gguf_walk_value(&kv->value);
        /* the getters, by a NUL-terminated copy of the key */
        char *key = malloc(kv->key.len + 1);
        if (!key)
            continue;
        memcpy(key, kv->key.data, kv->key.len);
        key[kv->key.len] = '\0';
        uint64_t u;
        int64_t s;
        double d;
        bool b;
        gguf_str str;
        const gguf_value *a;
        h += (uint64_t)gguf_get_uint(f, key, &u) + (uint64_t)gguf_get_int(f, key, &s) +
             (uint64_t)gguf_get_float(f, key, &d) + (uint64_t)gguf_get_bool(f, key, &b) +
             (uint64_t)gguf_get_str(f, key, &str) +
             (uint64_t)gguf_get_arr(f, key, GGUF_TYPE_COUNT, &a);
        h += gguf_find_kv(f, key) != NULL;
        free(key);
    }
    for (uint64_t i = 0; i < gguf_n_tensors(f); i++) {
        const gguf_tensor *t = gguf_tensor_at(f, i);
        h += gguf_walk_bytes(t->name.data, t->name.len) + t->n_bytes + t->offset;
        h += gguf_walk_bytes(t->data, t->n_bytes);
        char *name = malloc(t->name.len + 1);
        if (!name)
            continue;
        memcpy(name, t->name.data, t->name.len);
        name[t->name.len] = '\0';
        h += gguf_find_tensor(f, name) != NULL;
        free(name);
    }
    return h + (gguf_kv_at(f, gguf_n_kv(f)) == NULL) + (gguf_tensor_at(f, gguf_n_tensors(f)) == NULL);
}

/* Prints both forms of `flare info`'s report of f (into memory) and parses the JSON one with
 * jansson. Integers are read as reals: jansson's own stop at INT64_MAX, a GGUF uint64 does not.
 * Returns 0, or -1 with jansson's reason and place in why. */
static inline int gguf_info_json(const gguf_file *f, char *why, size_t why_len)
{
    int rc = -1;
    for (int json = 0; json <= 1; json++) {
        char *buf = NULL;
        size_t len = 0;
        FILE *mem = open_memstream(&buf, &len);
        if (!mem) {
            snprintf(why, why_len, "open_memstream failed");
            return -1;
        }
        fl_info_print(mem, f, json);
        fclose(mem);
        if (json) {
            json_error_t err;
            json_t *v = json_loadb(buf, len, JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, &err);
            if (v)
                rc = 0;
            else
                snprintf(why, why_len, "%s at line %d column %d", err.text, err.line, err.column);
            json_decref(v);
        }
        free(buf);
    }
    return rc;
}

#endif
