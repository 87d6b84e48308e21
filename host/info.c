/* host/info.c: the `flare info` report (see info.h). */
#include "host/info.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "flare/error.h"
#include "flare/ggml.h"
#include "host/json.h"

#define INFO_ARRAY_HEAD 4  /* array elements shown */
#define INFO_STR_MAX 64    /* string bytes shown in the text report */

/* ---- derived figures --------------------------------------------------------------------------- */

/* <arch>.<suffix> as an unsigned integer, or 0. */
static uint64_t arch_u64(const gguf_file *f, const char *arch, const char *suffix)
{
    char key[160];
    uint64_t v = 0;
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    if (!gguf_find_kv(f, key) || gguf_get_uint(f, key, &v))
        return 0;
    return v;
}

void fl_info_figures_get(const gguf_file *f, fl_info_figures *o)
{
    memset(o, 0, sizeof *o);
    const gguf_tensor *embd = gguf_find_tensor(f, "token_embd.weight");
    o->tied_output = embd && !gguf_find_tensor(f, "output.weight");
    for (uint64_t i = 0; i < gguf_n_tensors(f); i++) {
        const gguf_tensor *t = gguf_tensor_at(f, i);
        o->n_params += t->n_elements;
        o->tensor_bytes += t->n_bytes;
        if (t != embd || o->tied_output)
            o->stream_bytes += t->n_bytes;
    }
    if (embd && embd->ne[0] && embd->n_elements) {
        o->embd_row_bytes = embd->n_bytes / (embd->n_elements / embd->ne[0]);
        if (!o->tied_output)
            o->stream_bytes += o->embd_row_bytes;
    }

    gguf_str a;
    char arch[64];
    if (gguf_get_str(f, "general.architecture", &a) || a.len == 0 || a.len >= sizeof arch) {
        flare_clear_error();
        return;
    }
    memcpy(arch, a.data, a.len);
    arch[a.len] = '\0';
    o->n_layers = arch_u64(f, arch, "block_count");
    o->n_heads = arch_u64(f, arch, "attention.head_count");
    o->n_kv_heads = arch_u64(f, arch, "attention.head_count_kv");
    if (o->n_kv_heads == 0)
        o->n_kv_heads = o->n_heads; /* llama.cpp's default: no grouping */
    o->n_ctx = arch_u64(f, arch, "context_length");
    uint64_t dim = arch_u64(f, arch, "embedding_length");
    o->head_dim = arch_u64(f, arch, "attention.key_length");
    if (o->head_dim == 0 && o->n_heads)
        o->head_dim = dim / o->n_heads;
    if (o->n_layers <= (1u << 20) && o->n_kv_heads <= (1u << 20) && o->head_dim <= (1u << 20))
        o->kv_bytes_per_token = 2 * o->n_layers * o->n_kv_heads * o->head_dim * 2;
    flare_clear_error();
}

/* ---- value printing -------------------------------------------------------------------------- */

/* A string, quoted: JSON (host/json.h), or (text) C-style escapes cut at INFO_STR_MAX bytes. */
static void put_str(FILE *out, gguf_str s, bool json)
{
    if (json) {
        fl_json_str(out, s.data, (size_t)s.len);
        return;
    }
    uint64_t n = s.len;
    bool cut = false;
    if (n > INFO_STR_MAX) {
        n = INFO_STR_MAX;
        while (n > 0 && ((unsigned char)s.data[n] & 0xc0) == 0x80)
            n--; /* do not split a UTF-8 character */
        cut = true;
    }
    fputc('"', out);
    for (uint64_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s.data[i];
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", out);
        else if (c == '\t')
            fputs("\\t", out);
        else if (c < 0x20 || c == 0x7f)
            fprintf(out, "\\x%02x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
    if (cut)
        fprintf(out, "... (%" PRIu64 " bytes)", s.len);
}

static void put_f64(FILE *out, double v, bool json)
{
    if (json && !isfinite(v))
        fputs("null", out);
    else
        fprintf(out, "%.9g", v);
}

static bool is_unsigned(uint32_t t)
{
    return t == GGUF_TYPE_UINT8 || t == GGUF_TYPE_UINT16 || t == GGUF_TYPE_UINT32 ||
           t == GGUF_TYPE_UINT64;
}

static bool is_signed(uint32_t t)
{
    return t == GGUF_TYPE_INT8 || t == GGUF_TYPE_INT16 || t == GGUF_TYPE_INT32 ||
           t == GGUF_TYPE_INT64;
}

static void put_value(FILE *out, const gguf_value *v, bool json);

/* First INFO_ARRAY_HEAD elements of an array, comma separated. */
static void put_array_head(FILE *out, const gguf_value *v, bool json)
{
    uint64_t n = v->arr.n < INFO_ARRAY_HEAD ? v->arr.n : INFO_ARRAY_HEAD;
    uint32_t et = v->arr.type;
    for (uint64_t i = 0; i < n; i++) {
        if (i)
            fputs(", ", out);
        if (et == GGUF_TYPE_STRING || et == GGUF_TYPE_ARRAY)
            put_value(out, &v->arr.items[i], json);
        else if (is_unsigned(et))
            fprintf(out, "%" PRIu64, gguf_arr_u64(v, i));
        else if (is_signed(et))
            fprintf(out, "%" PRId64, gguf_arr_i64(v, i));
        else if (et == GGUF_TYPE_BOOL)
            fputs(gguf_arr_u64(v, i) ? "true" : "false", out);
        else
            put_f64(out, gguf_arr_f64(v, i), json);
    }
}

static void put_value(FILE *out, const gguf_value *v, bool json)
{
    switch (v->type) {
    case GGUF_TYPE_STRING:
        put_str(out, v->str, json);
        break;
    case GGUF_TYPE_BOOL:
        fputs(v->b ? "true" : "false", out);
        break;
    case GGUF_TYPE_FLOAT32:
    case GGUF_TYPE_FLOAT64:
        put_f64(out, v->f64, json);
        break;
    case GGUF_TYPE_ARRAY:
        if (json) {
            fprintf(out, "{\"elem_type\": \"%s\", \"count\": %" PRIu64 ", \"first\": [",
                    gguf_type_name(v->arr.type), v->arr.n);
            put_array_head(out, v, json);
            fputs("]}", out);
        } else {
            fprintf(out, "[%s x %" PRIu64 "]", gguf_type_name(v->arr.type), v->arr.n);
            if (v->arr.n) {
                fputs(" ", out);
                put_array_head(out, v, json);
                if (v->arr.n > INFO_ARRAY_HEAD)
                    fputs(", ...", out);
            }
        }
        break;
    default:
        if (is_unsigned(v->type))
            fprintf(out, "%" PRIu64, v->u64);
        else
            fprintf(out, "%" PRId64, v->i64);
    }
}

/* ---- units ------------------------------------------------------------------------------------- */

static void human_count(char *buf, size_t cap, uint64_t n)
{
    if (n >= 1000000000ull)
        snprintf(buf, cap, "%.2fB", n / 1e9);
    else if (n >= 1000000ull)
        snprintf(buf, cap, "%.1fM", n / 1e6);
    else if (n >= 1000ull)
        snprintf(buf, cap, "%.1fK", n / 1e3);
    else
        snprintf(buf, cap, "%" PRIu64, n);
}

static void human_bytes(char *buf, size_t cap, uint64_t n)
{
    if (n >= (1ull << 30))
        snprintf(buf, cap, "%.2f GiB", n / 1073741824.0);
    else if (n >= (1ull << 20))
        snprintf(buf, cap, "%.1f MiB", n / 1048576.0);
    else if (n >= (1ull << 10))
        snprintf(buf, cap, "%.1f KiB", n / 1024.0);
    else
        snprintf(buf, cap, "%" PRIu64 " B", n);
}

/* ---- totals by type ------------------------------------------------------------------------------ */

typedef struct {
    uint64_t tensors, elements, bytes;
} type_total;

static void totals_by_type(const gguf_file *f, type_total tot[FL_TYPE_COUNT])
{
    memset(tot, 0, FL_TYPE_COUNT * sizeof *tot);
    for (uint64_t i = 0; i < gguf_n_tensors(f); i++) {
        const gguf_tensor *t = gguf_tensor_at(f, i);
        if (t->type >= FL_TYPE_COUNT)
            continue; /* the reader rejects these */
        tot[t->type].tensors++;
        tot[t->type].elements += t->n_elements;
        tot[t->type].bytes += t->n_bytes;
    }
}

static void put_shape(FILE *out, const gguf_tensor *t, const char *sep)
{
    for (uint32_t d = 0; d < t->n_dims; d++)
        fprintf(out, "%s%" PRIu64, d ? sep : "", t->ne[d]);
}

/* ---- text report ------------------------------------------------------------------------------- */

static void print_text(FILE *out, const gguf_file *f)
{
    char h1[32], h2[32];
    uint64_t size = gguf_file_size(f), doff = gguf_data_offset(f);
    human_bytes(h1, sizeof h1, size);
    fprintf(out, "file:        %s\n", gguf_path(f));
    fprintf(out, "format:      GGUF v%u, alignment %u, %" PRIu64 " metadata keys, %" PRIu64
            " tensors\n", gguf_version(f), gguf_alignment(f), gguf_n_kv(f), gguf_n_tensors(f));
    human_bytes(h2, sizeof h2, size - doff);
    fprintf(out, "size:        %" PRIu64 " bytes (%s): header, metadata and tensor infos %" PRIu64
            " bytes, data section %" PRIu64 " bytes (%s) from offset %" PRIu64 "\n",
            size, h1, doff, size - doff, h2, doff);

    fprintf(out, "\nmetadata:\n");
    size_t w = 0;
    for (uint64_t i = 0; i < gguf_n_kv(f); i++)
        if (gguf_kv_at(f, i)->key.len > w)
            w = gguf_kv_at(f, i)->key.len;
    w = w > 48 ? 48 : w;
    for (uint64_t i = 0; i < gguf_n_kv(f); i++) {
        const gguf_kv *kv = gguf_kv_at(f, i);
        fprintf(out, "  %-*.*s  %-7s ", (int)w, (int)kv->key.len, kv->key.data,
                kv->value.type == GGUF_TYPE_ARRAY ? "array" : gguf_type_name(kv->value.type));
        put_value(out, &kv->value, false);
        fputc('\n', out);
    }

    fprintf(out, "\ntensors:\n  %5s  %-32s %-6s %-22s %14s %14s\n", "#", "name", "type", "shape",
            "bytes", "offset");
    for (uint64_t i = 0; i < gguf_n_tensors(f); i++) {
        const gguf_tensor *t = gguf_tensor_at(f, i);
        char shape[96] = "";
        size_t n = 0;
        for (uint32_t d = 0; d < t->n_dims && n < sizeof shape; d++)
            n += (size_t)snprintf(shape + n, sizeof shape - n, "%s%" PRIu64, d ? " x " : "",
                                  t->ne[d]);
        fprintf(out, "  %5" PRIu64 "  %-32.*s %-6s %-22s %14" PRIu64 " %14" PRIu64 "\n", i,
                (int)t->name.len, t->name.data, fl_type_name(t->type), shape, t->n_bytes,
                t->offset);
    }

    type_total tot[FL_TYPE_COUNT];
    totals_by_type(f, tot);
    fprintf(out, "\ntotals by type:\n");
    for (uint32_t ty = 0; ty < FL_TYPE_COUNT; ty++) {
        if (!tot[ty].tensors)
            continue;
        human_bytes(h1, sizeof h1, tot[ty].bytes);
        fprintf(out, "  %-6s %6" PRIu64 " tensors %14" PRIu64 " elements %14" PRIu64
                " bytes (%s)\n", fl_type_name(ty), tot[ty].tensors, tot[ty].elements,
                tot[ty].bytes, h1);
    }

    fl_info_figures fig;
    fl_info_figures_get(f, &fig);
    fprintf(out, "\nderived:\n");
    human_count(h1, sizeof h1, fig.n_params);
    fprintf(out, "  parameters:             %" PRIu64 " (%s)\n", fig.n_params, h1);
    human_bytes(h1, sizeof h1, fig.tensor_bytes);
    fprintf(out, "  tensor bytes:           %" PRIu64 " (%s)\n", fig.tensor_bytes, h1);
    human_bytes(h1, sizeof h1, fig.stream_bytes);
    if (fig.tied_output)
        fprintf(out, "  streamed per token:     %" PRIu64 " bytes (%s): every tensor; "
                "token_embd is read whole (no output.weight: it is also the output matrix)\n",
                fig.stream_bytes, h1);
    else if (fig.embd_row_bytes)
        fprintf(out, "  streamed per token:     %" PRIu64 " bytes (%s): every tensor except "
                "token_embd, plus the one token_embd row (%" PRIu64 " bytes) a decoded token "
                "reads\n", fig.stream_bytes, h1, fig.embd_row_bytes);
    else
        fprintf(out, "  streamed per token:     %" PRIu64 " bytes (%s): every tensor\n",
                fig.stream_bytes, h1);
    if (fig.kv_bytes_per_token) {
        human_bytes(h1, sizeof h1, fig.kv_bytes_per_token);
        fprintf(out, "  KV cache per token:     %" PRIu64 " bytes (%s) = 2 (K, V) * %" PRIu64
                " layers * %" PRIu64 " kv heads * %" PRIu64 " head dim * 2 bytes (fp16)\n",
                fig.kv_bytes_per_token, h1, fig.n_layers, fig.n_kv_heads, fig.head_dim);
        if (fig.n_ctx && fig.n_ctx <= (1u << 24)) {
            human_bytes(h1, sizeof h1, fig.kv_bytes_per_token * fig.n_ctx);
            fprintf(out, "  KV cache, full context: %" PRIu64 " bytes (%s) for %" PRIu64
                    " tokens\n", fig.kv_bytes_per_token * fig.n_ctx, h1, fig.n_ctx);
        }
    } else {
        fprintf(out, "  KV cache per token:     n/a (no <arch>.block_count / head counts)\n");
    }
}

/* ---- JSON report -------------------------------------------------------------------------------- */

static void print_json(FILE *out, const gguf_file *f)
{
    fputs("{\n  \"file\": ", out);
    const char *p = gguf_path(f);
    put_str(out, (gguf_str){strlen(p), p}, true);
    fprintf(out, ",\n  \"version\": %u,\n  \"alignment\": %u,\n  \"file_bytes\": %" PRIu64
            ",\n  \"data_offset\": %" PRIu64 ",\n  \"metadata\": [", gguf_version(f),
            gguf_alignment(f), gguf_file_size(f), gguf_data_offset(f));
    for (uint64_t i = 0; i < gguf_n_kv(f); i++) {
        const gguf_kv *kv = gguf_kv_at(f, i);
        fputs(i ? ",\n    {\"key\": " : "\n    {\"key\": ", out);
        put_str(out, kv->key, true);
        fprintf(out, ", \"type\": \"%s\", \"value\": ", gguf_type_name(kv->value.type));
        put_value(out, &kv->value, true);
        fputs("}", out);
    }
    fputs("\n  ],\n  \"tensors\": [", out);
    for (uint64_t i = 0; i < gguf_n_tensors(f); i++) {
        const gguf_tensor *t = gguf_tensor_at(f, i);
        fputs(i ? ",\n    {\"name\": " : "\n    {\"name\": ", out);
        put_str(out, t->name, true);
        fprintf(out, ", \"type\": \"%s\", \"shape\": [", fl_type_name(t->type));
        put_shape(out, t, ", ");
        fprintf(out, "], \"bytes\": %" PRIu64 ", \"offset\": %" PRIu64 "}", t->n_bytes,
                t->offset);
    }
    fputs("\n  ],\n  \"totals\": [", out);
    type_total tot[FL_TYPE_COUNT];
    totals_by_type(f, tot);
    int first = 1;
    for (uint32_t ty = 0; ty < FL_TYPE_COUNT; ty++) {
        if (!tot[ty].tensors)
            continue;
        fprintf(out, "%s\n    {\"type\": \"%s\", \"tensors\": %" PRIu64 ", \"elements\": %" PRIu64
                ", \"bytes\": %" PRIu64 "}", first ? "" : ",", fl_type_name(ty), tot[ty].tensors,
                tot[ty].elements, tot[ty].bytes);
        first = 0;
    }
    fl_info_figures g;
    fl_info_figures_get(f, &g);
    fprintf(out, "\n  ],\n  \"derived\": {\"parameters\": %" PRIu64 ", \"tensor_bytes\": %" PRIu64
            ", \"stream_bytes_per_token\": %" PRIu64 ", \"token_embd_row_bytes\": %" PRIu64
            ", \"tied_output\": %s, \"layers\": %" PRIu64 ", \"kv_heads\": %" PRIu64
            ", \"head_dim\": %" PRIu64 ", \"context_length\": %" PRIu64
            ", \"kv_bytes_per_token\": %" PRIu64 "}\n}\n", g.n_params, g.tensor_bytes,
            g.stream_bytes, g.embd_row_bytes, g.tied_output ? "true" : "false", g.n_layers,
            g.n_kv_heads, g.head_dim, g.n_ctx, g.kv_bytes_per_token);
}

int fl_info_print(FILE *out, const gguf_file *f, bool json)
{
    if (json)
        print_json(out, f);
    else
        print_text(out, f);
    if (fflush(out) || ferror(out))
        return flare_error(FLARE_EIO, "info: writing the report failed");
    return 0;
}
