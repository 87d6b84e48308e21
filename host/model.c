/* host/model.c: GGUF -> fl_llama (include/flare/llama.h), with full validation.
 *
 * Hyperparameters come from the llama.* keys as llama.cpp reads them for LLM_ARCH_LLAMA; every
 * tensor the architecture needs must be present with a supported type and the exact shape. The
 * weights are not copied: fl_weight.data points into the mapped file. */
#include "host/model.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "flare/error.h"
#include "flare/ggml.h"

/* ---- hyperparameters ------------------------------------------------------------------------ */

static int get_u32(const gguf_file *f, const char *key, uint32_t *out, int required, uint32_t dflt,
                   uint32_t min, uint32_t max)
{
    uint64_t v;
    if (!gguf_find_kv(f, key)) {
        if (required)
            return flare_error(FLARE_EINVAL, "missing key '%s'", key);
        *out = dflt;
        return 0;
    }
    int rc = gguf_get_uint(f, key, &v);
    if (rc)
        return rc;
    if (v < min || v > max)
        return flare_error(FLARE_EINVAL, "key '%s' = %" PRIu64 ": expected %u..%u", key, v, min,
                           max);
    *out = (uint32_t)v;
    return 0;
}

static int get_f32(const gguf_file *f, const char *key, float *out, int required, float dflt)
{
    double v;
    if (!gguf_find_kv(f, key)) {
        if (required)
            return flare_error(FLARE_EINVAL, "missing key '%s'", key);
        *out = dflt;
        return 0;
    }
    int rc = gguf_get_float(f, key, &v);
    if (rc)
        return rc;
    if (!(v > 0) || v > 1e30)
        return flare_error(FLARE_EINVAL, "key '%s' = %g: expected a positive number", key, v);
    *out = (float)v;
    return 0;
}

static int read_hparams(const gguf_file *f, fl_llama *L)
{
    fl_llama_hparams *hp = &L->hp;
    gguf_str arch;
    if (!gguf_find_kv(f, "general.architecture"))
        return flare_error(FLARE_EINVAL, "missing key 'general.architecture'");
    int rc = gguf_get_str(f, "general.architecture", &arch);
    if (rc)
        return rc;
    if (!gguf_str_eq(arch, "llama"))
        return flare_error(FLARE_EUNSUP,
                           "general.architecture = '%.*s': only 'llama' is supported",
                           (int)(arch.len > 64 ? 64 : arch.len), arch.data);
    const uint32_t big = 1u << 20;
    if ((rc = get_u32(f, "llama.context_length", &hp->n_ctx_train, 1, 0, 1, 1u << 24)) ||
        (rc = get_u32(f, "llama.embedding_length", &hp->n_embd, 1, 0, 1, big)) ||
        (rc = get_u32(f, "llama.block_count", &hp->n_layer, 1, 0, 1, 4096)) ||
        (rc = get_u32(f, "llama.feed_forward_length", &hp->n_ff, 1, 0, 1, big)) ||
        (rc = get_u32(f, "llama.attention.head_count", &hp->n_head, 1, 0, 1, 4096)))
        return rc;
    if ((rc = get_u32(f, "llama.attention.head_count_kv", &hp->n_head_kv, 0, hp->n_head, 1, 4096)))
        return rc;
    if ((rc = get_f32(f, "llama.attention.layer_norm_rms_epsilon", &hp->rms_eps, 1, 0)) ||
        (rc = get_f32(f, "llama.rope.freq_base", &hp->rope_base, 0, 10000.0f)))
        return rc;
    if (hp->n_embd % hp->n_head)
        return flare_error(FLARE_EINVAL,
                           "llama.embedding_length %u is not a multiple of "
                           "llama.attention.head_count %u",
                           hp->n_embd, hp->n_head);
    if (hp->n_head % hp->n_head_kv)
        return flare_error(FLARE_EINVAL,
                           "llama.attention.head_count %u is not a multiple of "
                           "llama.attention.head_count_kv %u",
                           hp->n_head, hp->n_head_kv);
    hp->head_dim = hp->n_embd / hp->n_head;
    if ((rc = get_u32(f, "llama.rope.dimension_count", &hp->n_rot, 0, hp->head_dim, 0,
                      hp->head_dim)))
        return rc;
    if (hp->n_rot % 2)
        return flare_error(FLARE_EINVAL, "llama.rope.dimension_count %u: expected an even number",
                           hp->n_rot);

    /* vocabulary: the token list, else llama.vocab_size, else the embedding rows */
    const gguf_value *toks = NULL;
    hp->n_vocab = 0;
    if (gguf_find_kv(f, "tokenizer.ggml.tokens")) {
        if ((rc = gguf_get_arr(f, "tokenizer.ggml.tokens", GGUF_TYPE_STRING, &toks)))
            return rc;
        if (toks->arr.n == 0 || toks->arr.n > (1u << 24))
            return flare_error(FLARE_EINVAL, "tokenizer.ggml.tokens: %" PRIu64
                               " tokens, expected 1..16777216", toks->arr.n);
        hp->n_vocab = (uint32_t)toks->arr.n;
    } else if ((rc = get_u32(f, "llama.vocab_size", &hp->n_vocab, 0, 0, 1, 1u << 24))) {
        return rc;
    }
    if (hp->n_vocab == 0) {
        const gguf_tensor *te = gguf_find_tensor(f, "token_embd.weight");
        if (!te || te->n_dims < 2 || te->ne[1] == 0 || te->ne[1] > (1u << 24))
            return flare_error(FLARE_EINVAL, "no vocabulary size: missing key "
                               "'tokenizer.ggml.tokens' and 'llama.vocab_size'");
        hp->n_vocab = (uint32_t)te->ne[1];
    }

    uint32_t id;
    L->bos_id = L->eos_id = -1;
    if (!get_u32(f, "tokenizer.ggml.bos_token_id", &id, 0, UINT32_MAX, 0, UINT32_MAX) &&
        id < hp->n_vocab)
        L->bos_id = (int32_t)id;
    if (!get_u32(f, "tokenizer.ggml.eos_token_id", &id, 0, UINT32_MAX, 0, UINT32_MAX) &&
        id < hp->n_vocab)
        L->eos_id = (int32_t)id;
    flare_clear_error();
    return 0;
}

/* ---- tensors -------------------------------------------------------------------------------- */

static int is_engine_type(uint32_t t)
{
    return t == FL_TYPE_F32 || t == FL_TYPE_F16 || t == FL_TYPE_Q8_0 || t == FL_TYPE_Q5_0 ||
           t == FL_TYPE_Q4_0;
}

/* Look up `name` and check it is a (ne1 rows of ne0) tensor (ne1 == 0: a 1-D vector of ne0). */
static int bind(const gguf_file *f, fl_weight *w, const char *name, uint64_t ne0, uint64_t ne1)
{
    const gguf_tensor *t = gguf_find_tensor(f, name);
    char want[64];
    if (ne1)
        snprintf(want, sizeof want, "[%" PRIu64 ", %" PRIu64 "]", ne0, ne1);
    else
        snprintf(want, sizeof want, "[%" PRIu64 "]", ne0);
    if (!t)
        return flare_error(FLARE_EINVAL, "missing tensor '%s' (expected shape %s)", name, want);
    int ok = t->ne[0] == ne0 && t->ne[1] == (ne1 ? ne1 : 1);
    for (uint32_t d = 2; d < GGUF_MAX_DIMS; d++)
        ok = ok && t->ne[d] == 1;
    if (!ok) {
        char got[96];
        int n = snprintf(got, sizeof got, "[");
        for (uint32_t d = 0; d < t->n_dims && d < GGUF_MAX_DIMS; d++)
            n += snprintf(got + n, sizeof got - (size_t)n, "%s%" PRIu64, d ? ", " : "", t->ne[d]);
        snprintf(got + n, sizeof got - (size_t)n, "]");
        return flare_error(FLARE_EINVAL, "tensor '%s': expected shape %s, got %s", name, want,
                           got);
    }
    if (!is_engine_type(t->type))
        return flare_error(FLARE_EUNSUP,
                           "tensor '%s': type %s is not supported (f32, f16, q8_0, q5_0, q4_0)",
                           name, fl_type_name(t->type));
    /* The engines read weights in place: F32 as floats, the others as 16-bit words (fp16
     * values, the blocks' fp16 scales). llama.cpp writes 32-byte alignment; a file with a
     * smaller general.alignment can place a tensor off that boundary. */
    const unsigned need = t->type == FL_TYPE_F32 ? 4 : 2;
    if ((uintptr_t)t->data % need)
        return flare_error(FLARE_EUNSUP,
                           "tensor '%s': %s data at file offset %" PRIu64 " is not %u-byte "
                           "aligned (general.alignment %u); flare reads weights in place and "
                           "needs that",
                           name, fl_type_name(t->type), gguf_data_offset(f) + t->offset, need,
                           gguf_alignment(f));
    w->data = t->data;
    w->type = t->type;
    w->ne0 = ne0;
    w->ne1 = ne1 ? ne1 : 1;
    w->row_bytes = fl_row_bytes(t->type, ne0);
    if (!w->row_bytes || w->row_bytes * w->ne1 != t->n_bytes)
        return flare_error(FLARE_EINVAL, "tensor '%s': %" PRIu64 " bytes, expected %" PRIu64, name,
                           t->n_bytes, w->row_bytes * w->ne1);
    return 0;
}

static int bind_tensors(const gguf_file *f, fl_llama *L)
{
    const fl_llama_hparams *hp = &L->hp;
    uint64_t d = hp->n_embd, q = (uint64_t)hp->n_head * hp->head_dim;
    uint64_t kv = (uint64_t)hp->n_head_kv * hp->head_dim;
    int rc;
    if ((rc = bind(f, &L->tok_embd, "token_embd.weight", d, hp->n_vocab)) ||
        (rc = bind(f, &L->output_norm, "output_norm.weight", d, 0)))
        return rc;
    if (gguf_find_tensor(f, "output.weight")) {
        if ((rc = bind(f, &L->output, "output.weight", d, hp->n_vocab)))
            return rc;
    } else {
        L->output = L->tok_embd; /* tied embeddings */
    }
    L->layers = calloc(hp->n_layer, sizeof *L->layers);
    if (!L->layers)
        return flare_error(FLARE_ENOMEM, "out of memory for %u layers", hp->n_layer);
    for (uint32_t i = 0; i < hp->n_layer; i++) {
        fl_llama_layer *ly = &L->layers[i];
        char n[9][64];
        static const char *const names[9] = {"attn_norm", "attn_q", "attn_k",
                                             "attn_v", "attn_output", "ffn_norm",
                                             "ffn_gate", "ffn_up", "ffn_down"};
        for (int j = 0; j < 9; j++)
            snprintf(n[j], sizeof n[j], "blk.%u.%s.weight", i, names[j]);
        if ((rc = bind(f, &ly->attn_norm, n[0], d, 0)) || (rc = bind(f, &ly->wq, n[1], d, q)) ||
            (rc = bind(f, &ly->wk, n[2], d, kv)) || (rc = bind(f, &ly->wv, n[3], d, kv)) ||
            (rc = bind(f, &ly->wo, n[4], q, d)) || (rc = bind(f, &ly->ffn_norm, n[5], d, 0)) ||
            (rc = bind(f, &ly->w_gate, n[6], d, hp->n_ff)) ||
            (rc = bind(f, &ly->w_up, n[7], d, hp->n_ff)) ||
            (rc = bind(f, &ly->w_down, n[8], hp->n_ff, d)))
            return rc;
    }
    return 0;
}

static uint64_t wbytes(const fl_weight *w)
{
    return w->row_bytes * w->ne1;
}

/* ---- public --------------------------------------------------------------------------------- */

int fl_model_from_gguf(fl_model **out, gguf_file *f)
{
    *out = NULL;
    fl_model *m = calloc(1, sizeof *m);
    if (!m)
        return flare_error(FLARE_ENOMEM, "out of memory");
    m->gguf = f;
    int rc = read_hparams(f, &m->llama);
    if (!rc)
        rc = bind_tensors(f, &m->llama);
    if (rc) {
        rc = flare_error_prefix(rc, "%s", gguf_path(f));
        fl_model_free(m);
        return rc;
    }
    const fl_llama *L = &m->llama;
    m->file_bytes = gguf_file_size(f);
    m->weight_bytes = wbytes(&L->output_norm) + wbytes(&L->output) + L->tok_embd.row_bytes;
    m->n_params = L->tok_embd.ne0 * L->tok_embd.ne1 + L->output_norm.ne0;
    if (L->output.data != L->tok_embd.data)
        m->n_params += L->output.ne0 * L->output.ne1;
    for (uint32_t i = 0; i < L->hp.n_layer; i++) {
        const fl_llama_layer *ly = &L->layers[i];
        const fl_weight *ws[9] = {&ly->attn_norm, &ly->wq,     &ly->wk,
                                  &ly->wv,        &ly->wo,     &ly->ffn_norm,
                                  &ly->w_gate,    &ly->w_up,   &ly->w_down};
        for (int j = 0; j < 9; j++) {
            m->weight_bytes += wbytes(ws[j]);
            m->n_params += ws[j]->ne0 * ws[j]->ne1;
        }
    }
    *out = m;
    return 0;
}

/* Map every weight page now (as llama.cpp's MAP_POPULATE does), so that page faults count in
 * the load time and not in the first forward pass. Best effort: kernels before Linux 5.14 lack
 * MADV_POPULATE_READ and the pages then fault in on first use. */
static void populate(const fl_model *m)
{
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    for (uint64_t i = 0; i < gguf_n_tensors(m->gguf); i++) {
        const gguf_tensor *t = gguf_tensor_at(m->gguf, i);
        uintptr_t a = (uintptr_t)t->data, b = a + t->n_bytes;
        if (t->n_bytes && a < lo)
            lo = a;
        if (b > hi)
            hi = b;
    }
    long page = sysconf(_SC_PAGESIZE);
    if (lo >= hi || page <= 0)
        return;
    lo &= ~(uintptr_t)(page - 1);
    madvise((void *)lo, hi - lo, MADV_POPULATE_READ);
}

int fl_model_open(fl_model **out, const char *path)
{
    gguf_file *f;
    *out = NULL;
    int rc = gguf_open(&f, path);
    if (rc)
        return rc;
    rc = fl_model_from_gguf(out, f);
    if (rc) {
        gguf_close(f);
        return rc;
    }
    (*out)->owns_gguf = 1;
    populate(*out);
    return 0;
}

void fl_model_free(fl_model *m)
{
    if (!m)
        return;
    if (m->owns_gguf)
        gguf_close(m->gguf);
    free(m->llama.layers);
    free(m);
}

const char *fl_model_type_name(const fl_model *m)
{
    const fl_llama *L = &m->llama;
    uint32_t t = L->output.type;
    for (uint32_t i = 0; i < L->hp.n_layer; i++) {
        const fl_llama_layer *ly = &L->layers[i];
        const fl_weight *mats[7] = {&ly->wq, &ly->wk, &ly->wv, &ly->wo,
                                    &ly->w_gate, &ly->w_up, &ly->w_down};
        for (int j = 0; j < 7; j++)
            if (mats[j]->type != t)
                return "mixed";
    }
    return fl_type_name(t);
}
