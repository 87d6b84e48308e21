/* host/tokenizer_gguf.c: fl_tokenizer_from_gguf, a thin layer that fills an fl_vocab_desc from
 * the tokenizer.ggml.* keys with llama.cpp's defaults and rules (llama_vocab::impl::load):
 * missing special ids keep the model's defaults, ids out of range are ignored, empty tokens
 * become "[EMPTY_i]", the pre-tokenizer name picks the split and its flags. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flare/error.h"
#include "host/gguf.h"
#include "host/tokenizer.h"

// ---- from GGUF ----------------------------------------------------------------------------------

/* Optional unsigned id key: kept as the default when absent or out of range (llama.cpp). */
static int gguf_id(const gguf_file *f, const char *key, uint32_t n, int32_t *id)
{
    if (!gguf_find_kv(f, key))
        return 0;
    uint64_t v;
    int rc = gguf_get_uint(f, key, &v);
    if (rc)
        return rc;
    if (v < n)
        *id = (int32_t)v;
    return 0;
}

static int gguf_flag(const gguf_file *f, const char *key, bool *b)
{
    return gguf_find_kv(f, key) ? gguf_get_bool(f, key, b) : 0;
}

/* An optional array key of element type et (or et2); *arr NULL when absent. */
static int gguf_opt_arr(const gguf_file *f, const char *key, uint32_t et, uint32_t et2, uint64_t n,
                        const gguf_value **arr)
{
    *arr = NULL;
    const gguf_kv *kv = gguf_find_kv(f, key);
    if (!kv)
        return 0;
    if (kv->value.type != GGUF_TYPE_ARRAY ||
        (kv->value.arr.type != et && kv->value.arr.type != et2))
        return flare_error(FLARE_EINVAL, "%s: %s: expected an array of %s, found %s", gguf_path(f),
                           key, gguf_type_name(et), gguf_type_name(kv->value.type));
    if (kv->value.arr.n < n)
        return flare_error(FLARE_EINVAL, "%s: %s: %llu entries for %llu tokens", gguf_path(f), key,
                           (unsigned long long)kv->value.arr.n, (unsigned long long)n);
    *arr = &kv->value;
    return 0;
}

static const char *const gpt2_pre_names[] = {"gpt-2", "phi-2", "mpt", "olmo", "jais", "gigachat",
                                             "exaone4"};
static const char *const llama3_pre_names[] = {"llama-bpe", "llama3", "llama-v3", "falcon3"};
static const char *const eot_texts[] = {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>",
                                        "<|endoftext|>", "<|end_of_text|>", "<EOT>"};

int fl_tokenizer_from_gguf(fl_tokenizer **out, const gguf_file *f)
{
    *out = NULL;
    const char *path = gguf_path(f);
    gguf_str model;
    if (!gguf_find_kv(f, "tokenizer.ggml.model"))
        return flare_error(FLARE_EINVAL, "%s: no tokenizer.ggml.model key (the file has no "
                           "tokenizer)", path);
    int rc = gguf_get_str(f, "tokenizer.ggml.model", &model);
    if (rc)
        return rc;
    fl_vocab_desc d;
    if (gguf_str_eq(model, "llama")) {
        fl_vocab_desc_defaults(&d, FL_TOK_SPM);
    } else if (gguf_str_eq(model, "gpt2")) {
        fl_vocab_desc_defaults(&d, FL_TOK_BPE);
        gguf_str pre = {0, ""};
        if (gguf_find_kv(f, "tokenizer.ggml.pre") && (rc = gguf_get_str(f, "tokenizer.ggml.pre", &pre)))
            return rc;
        bool known = false;
        for (size_t i = 0; i < sizeof gpt2_pre_names / sizeof *gpt2_pre_names; i++)
            known |= gguf_str_eq(pre, gpt2_pre_names[i]);
        for (size_t i = 0; i < sizeof llama3_pre_names / sizeof *llama3_pre_names; i++)
            if (gguf_str_eq(pre, llama3_pre_names[i])) { // llama.cpp: LLAMA_VOCAB_PRE_TYPE_LLAMA3
                known = true;
                d.pre = FL_PRE_LLAMA3;
                d.ignore_merges = true;
                d.add_bos = true;
            }
        if (!known)
            return flare_error(FLARE_EUNSUP, "%s: tokenizer.ggml.pre '%.*s' is not supported "
                               "(supported: gpt-2, phi-2, mpt, olmo, jais, gigachat, exaone4, "
                               "llama-bpe, llama3, llama-v3, falcon3)",
                               path, (int)(pre.len > 64 ? 64 : pre.len), pre.data);
    } else {
        return flare_error(FLARE_EUNSUP, "%s: tokenizer.ggml.model '%.*s' is not supported "
                           "(supported: llama, gpt2)", path,
                           (int)(model.len > 64 ? 64 : model.len), model.data);
    }

    const gguf_value *tokens, *scores, *types, *merges = NULL;
    if (!gguf_find_kv(f, "tokenizer.ggml.tokens"))
        return flare_error(FLARE_EINVAL, "%s: no tokenizer.ggml.tokens key", path);
    if ((rc = gguf_get_arr(f, "tokenizer.ggml.tokens", GGUF_TYPE_STRING, &tokens)))
        return rc;
    uint64_t n = tokens->arr.n;
    if (n == 0 || n > INT32_MAX)
        return flare_error(FLARE_EINVAL, "%s: tokenizer.ggml.tokens has %llu entries", path,
                           (unsigned long long)n);
    if ((rc = gguf_opt_arr(f, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, GGUF_TYPE_INT32, n,
                           &scores)) ||
        (rc = gguf_opt_arr(f, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, GGUF_TYPE_INT32, n,
                           &types)))
        return rc;
    if (d.model == FL_TOK_BPE) {
        if (!gguf_find_kv(f, "tokenizer.ggml.merges"))
            return flare_error(FLARE_EINVAL, "%s: no tokenizer.ggml.merges key (needed by gpt2)",
                               path);
        if ((rc = gguf_get_arr(f, "tokenizer.ggml.merges", GGUF_TYPE_STRING, &merges)))
            return rc;
        if (merges->arr.n > UINT32_MAX)
            return flare_error(FLARE_EINVAL, "%s: too many merges", path);
    }

    uint32_t nt = (uint32_t)n;
    if ((rc = gguf_id(f, "tokenizer.ggml.bos_token_id", nt, &d.bos_id)) ||
        (rc = gguf_id(f, "tokenizer.ggml.eos_token_id", nt, &d.eos_id)) ||
        (rc = gguf_id(f, "tokenizer.ggml.unknown_token_id", nt, &d.unk_id)) ||
        (rc = gguf_id(f, "tokenizer.ggml.padding_token_id", nt, &d.pad_id)) ||
        (rc = gguf_id(f, "tokenizer.ggml.eot_token_id", nt, &d.eot_id)) ||
        (rc = gguf_id(f, "tokenizer.ggml.eom_token_id", nt, &d.eom_id)) ||
        (rc = gguf_flag(f, "tokenizer.ggml.add_bos_token", &d.add_bos)) ||
        (rc = gguf_flag(f, "tokenizer.ggml.add_eos_token", &d.add_eos)) ||
        (rc = gguf_flag(f, "tokenizer.ggml.add_space_prefix", &d.add_space_prefix)))
        return rc;

    // plain arrays for the core (empty tokens become "[EMPTY_i]" as in llama.cpp)
    const char **tok = malloc(nt * sizeof *tok);
    uint32_t *tok_len = malloc(nt * sizeof *tok_len);
    float *sc = scores ? malloc(nt * sizeof *sc) : NULL;
    int32_t *ty = types ? malloc(nt * sizeof *ty) : NULL;
    uint32_t n_merges = merges ? (uint32_t)merges->arr.n : 0;
    const char **mer = malloc((n_merges ? n_merges : 1) * sizeof *mer);
    uint32_t *mer_len = malloc((n_merges ? n_merges : 1) * sizeof *mer_len);
    char *empty_names = NULL; // "[EMPTY_i]" strings, 24 bytes each
    uint32_t n_empty = 0;
    if (!tok || !tok_len || (scores && !sc) || (types && !ty) || !mer || !mer_len) {
        rc = flare_error(FLARE_ENOMEM, "%s: out of memory for %u tokens", path, nt);
        goto done;
    }
    for (uint32_t i = 0; i < nt; i++)
        n_empty += tokens->arr.items[i].str.len == 0;
    if (n_empty && !(empty_names = malloc((size_t)n_empty * 24))) {
        rc = flare_error(FLARE_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    n_empty = 0;
    for (uint32_t i = 0; i < nt; i++) {
        gguf_str s = tokens->arr.items[i].str;
        if (s.len == 0) {
            char *e = empty_names + 24 * (size_t)n_empty++;
            tok_len[i] = (uint32_t)snprintf(e, 24, "[EMPTY_%u]", i);
            tok[i] = e;
        } else if (s.len > UINT32_MAX / 2) {
            rc = flare_error(FLARE_EINVAL, "%s: tokenizer.ggml.tokens[%u] is %llu bytes long", path,
                             i, (unsigned long long)s.len);
            goto done;
        } else {
            tok[i] = s.data;
            tok_len[i] = (uint32_t)s.len;
        }
        if (sc)
            sc[i] = (float)gguf_arr_f64(scores, i);
        if (ty)
            ty[i] = (int32_t)gguf_arr_i64(types, i);
    }
    for (uint32_t i = 0; i < n_merges; i++) {
        gguf_str s = merges->arr.items[i].str;
        mer[i] = s.data;
        mer_len[i] = (uint32_t)(s.len > UINT32_MAX / 2 ? 0 : s.len);
    }
    d.n_tokens = nt;
    d.tokens = tok;
    d.token_lens = tok_len;
    d.scores = sc;
    d.types = ty;
    d.n_merges = n_merges;
    d.merges = mer;
    d.merge_lens = mer_len;
    // EOT by text when the file names none (llama.cpp's auto-detection)
    for (size_t k = 0; d.eot_id < 0 && k < sizeof eot_texts / sizeof *eot_texts; k++) {
        size_t l = strlen(eot_texts[k]);
        for (uint32_t i = 0; i < nt; i++)
            if (tok_len[i] == l && memcmp(tok[i], eot_texts[k], l) == 0) {
                d.eot_id = (int32_t)i;
                break;
            }
    }
    rc = fl_tokenizer_new(out, &d);
    if (rc)
        flare_error_prefix(rc, "%s", path);
done:
    free(tok);
    free(tok_len);
    free(sc);
    free(ty);
    free(mer);
    free(mer_len);
    free(empty_names);
    return rc;
}
