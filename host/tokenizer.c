/* host/tokenizer.c: vocabulary building (hash maps, piece cache), special-token splitting and the
 * tokenize dispatch. The merge algorithms live in tokenizer_spm.c and tokenizer_bpe.c, ids ->
 * text in tokenizer_detok.c, the GGUF layer in tokenizer_gguf.c. */
#include "host/tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flare/error.h"
#include "host/tokenizer_internal.h"

// ---- small containers ---------------------------------------------------------------------------

int fl_ids_push(fl_ids *ids, int32_t id)
{
    if (ids->n == ids->cap) {
        size_t cap = ids->cap ? ids->cap * 2 : 64;
        int32_t *v = realloc(ids->v, cap * sizeof *v);
        if (!v)
            return flare_error(FLARE_ENOMEM, "tokenizer: out of memory (%zu ids)", cap);
        ids->v = v;
        ids->cap = cap;
    }
    ids->v[ids->n++] = id;
    return 0;
}

static bool heap_less(const fl_bigram *a, const fl_bigram *b)
{
    return a->prio < b->prio || (a->prio == b->prio && a->left < b->left);
}

int fl_heap_push(fl_heap *h, fl_bigram b)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        fl_bigram *v = realloc(h->v, cap * sizeof *v);
        if (!v)
            return flare_error(FLARE_ENOMEM, "tokenizer: out of memory (%zu bigrams)", cap);
        h->v = v;
        h->cap = cap;
    }
    size_t i = h->n++;
    while (i > 0 && heap_less(&b, &h->v[(i - 1) / 2])) {
        h->v[i] = h->v[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->v[i] = b;
    return 0;
}

fl_bigram fl_heap_pop(fl_heap *h)
{
    fl_bigram top = h->v[0], last = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && heap_less(&h->v[c + 1], &h->v[c]))
            c++;
        if (!heap_less(&h->v[c], &last))
            break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->n > 0)
        h->v[i] = last;
    return top;
}

// ---- string table and hash map -----------------------------------------------------------------

static void strtab_free(fl_strtab *s)
{
    free(s->arena);
    free(s->off);
    free(s->len);
    memset(s, 0, sizeof *s);
}

/* Copy n strings (lens NULL: NUL-terminated) into one arena. */
static int strtab_fill(fl_strtab *s, const char *const *strs, const uint32_t *lens, uint32_t n,
                       const char *what)
{
    uint64_t total = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (!strs[i])
            return flare_error(FLARE_EINVAL, "tokenizer: %s %u is NULL", what, i);
        total += (lens ? lens[i] : strlen(strs[i])) + 1;
    }
    if (total > UINT32_MAX)
        return flare_error(FLARE_ERANGE, "tokenizer: %s take %llu bytes (limit 4 GiB)", what,
                           (unsigned long long)total);
    s->arena = malloc(total ? total : 1);
    s->off = malloc((n ? n : 1) * sizeof *s->off);
    s->len = malloc((n ? n : 1) * sizeof *s->len);
    if (!s->arena || !s->off || !s->len)
        return flare_error(FLARE_ENOMEM, "tokenizer: out of memory for %u %s", n, what);
    uint32_t pos = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t l = lens ? lens[i] : (uint32_t)strlen(strs[i]);
        memcpy(s->arena + pos, strs[i], l);
        s->arena[pos + l] = 0;
        s->off[i] = pos;
        s->len[i] = l;
        pos += l + 1;
    }
    s->n = n;
    return 0;
}

/* FNV-1a over a, then (when b) sep and b. */
static uint64_t hash_parts(const char *a, size_t la, const char *b, size_t lb, char sep)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < la; i++)
        h = (h ^ (unsigned char)a[i]) * 0x100000001b3ull;
    if (b) {
        h = (h ^ (unsigned char)sep) * 0x100000001b3ull;
        for (size_t i = 0; i < lb; i++)
            h = (h ^ (unsigned char)b[i]) * 0x100000001b3ull;
    }
    return h ^ (h >> 29);
}

static bool key_eq(const fl_strtab *k, uint32_t i, const char *a, size_t la, const char *b,
                   size_t lb, char sep)
{
    const char *s = k->arena + k->off[i];
    if (!b)
        return k->len[i] == la && memcmp(s, a, la) == 0;
    return k->len[i] == la + 1 + lb && memcmp(s, a, la) == 0 && s[la] == sep &&
           memcmp(s + la + 1, b, lb) == 0;
}

int32_t fl_strmap_find(const fl_strmap *m, const char *a, size_t la, const char *b, size_t lb,
                       char sep)
{
    if (!m->slots)
        return -1;
    for (uint64_t h = hash_parts(a, la, b, lb, sep);; h++) {
        uint32_t v = m->slots[h & m->mask];
        if (v == 0)
            return -1;
        if (key_eq(m->keys, v - 1, a, la, b, lb, sep))
            return (int32_t)(v - 1);
    }
}

int fl_strmap_build(fl_strmap *m, const fl_strtab *keys, bool keep_first, uint32_t *dup)
{
    uint64_t cap = 16;
    while (cap < 2ull * keys->n)
        cap *= 2;
    m->slots = calloc(cap, sizeof *m->slots);
    if (!m->slots)
        return flare_error(FLARE_ENOMEM, "tokenizer: out of memory for a %llu-slot map",
                           (unsigned long long)cap);
    m->mask = (uint32_t)(cap - 1);
    m->keys = keys;
    for (uint32_t i = 0; i < keys->n; i++) {
        const char *s = keys->arena + keys->off[i];
        uint64_t h = hash_parts(s, keys->len[i], NULL, 0, 0);
        for (;; h++) {
            uint32_t *slot = &m->slots[h & m->mask];
            if (*slot == 0) {
                *slot = i + 1;
                break;
            }
            if (key_eq(keys, *slot - 1, s, keys->len[i], NULL, 0, 0)) {
                if (keep_first)
                    break;
                *dup = i;
                return FLARE_EINVAL;
            }
        }
    }
    return 0;
}

void fl_strmap_free(fl_strmap *m)
{
    free(m->slots);
    memset(m, 0, sizeof *m);
}

// ---- building the tokenizer -----------------------------------------------------------------------

void fl_vocab_desc_defaults(fl_vocab_desc *d, enum fl_tok_model model)
{
    memset(d, 0, sizeof *d);
    d->model = model;
    d->eot_id = d->eom_id = d->pad_id = FL_TOKEN_NONE;
    if (model == FL_TOK_SPM) { // llama.cpp: "llama"
        d->pre = FL_PRE_NONE;
        d->bos_id = 1;
        d->eos_id = 2;
        d->unk_id = 0;
        d->add_bos = true;
        d->add_space_prefix = true;
    } else { // "gpt2"
        d->pre = FL_PRE_GPT2;
        d->bos_id = 11;
        d->eos_id = 11;
        d->unk_id = FL_TOKEN_NONE;
        d->clean_spaces = true;
    }
}

static uint8_t attr_of_type(int32_t type)
{
    switch (type) {
    case FL_TOKTYPE_NORMAL: return FL_ATTR_NORMAL;
    case FL_TOKTYPE_UNKNOWN: return FL_ATTR_UNKNOWN;
    case FL_TOKTYPE_CONTROL: return FL_ATTR_CONTROL;
    case FL_TOKTYPE_USER_DEFINED: return FL_ATTR_USER_DEFINED;
    case FL_TOKTYPE_UNUSED: return FL_ATTR_UNUSED;
    case FL_TOKTYPE_BYTE: return FL_ATTR_BYTE;
    default: return 0; // undefined
    }
}

/* "<0xNN>" -> NN, or -1. */
static int parse_byte_token(const char *s, uint32_t len)
{
    if (len != 6 || memcmp(s, "<0x", 3) != 0 || s[5] != '>')
        return -1;
    int v = 0;
    for (int i = 3; i < 5; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10
              : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* The piece of token id with special = true (llama.cpp's token_to_piece), appended to buf. */
static size_t make_piece(const fl_tokenizer *t, uint32_t id, char *buf)
{
    const char *s = t->text.arena + t->text.off[id];
    uint32_t len = t->text.len[id], a = t->attr[id];
    if (a & (FL_ATTR_UNKNOWN | FL_ATTR_CONTROL | FL_ATTR_USER_DEFINED)) {
        memcpy(buf, s, len);
        return len;
    }
    if (a & FL_ATTR_NORMAL) {
        size_t n = 0;
        if (t->model == FL_TOK_SPM) { // U+2581 -> ' '
            for (uint32_t i = 0; i < len;) {
                if (i + 3 <= len && memcmp(s + i, "\xe2\x96\x81", 3) == 0) {
                    buf[n++] = ' ';
                    i += 3;
                } else {
                    buf[n++] = s[i++];
                }
            }
            return n;
        }
        // BPE: code points back to bytes (llama.cpp's llama_decode_text)
        uint32_t local[128];
        uint32_t *cps = len <= 128 ? local : malloc(len * sizeof *cps);
        if (!cps)
            return 0;
        size_t n_cps = fl_utf8_decode_lenient(s, len, cps);
        for (size_t i = 0; i < n_cps; i++) {
            int b = fl_bpe_cp_to_byte(cps[i]);
            if (b >= 0) {
                buf[n++] = (char)b;
                continue;
            }
            char u[4];
            size_t k = fl_utf8_encode(cps[i], u);
            n += (size_t)sprintf(buf + n, "[UNK_BYTE_0x");
            for (size_t j = 0; j < k; j++)
                n += (size_t)sprintf(buf + n, "%02x", (unsigned char)u[j]);
            memcpy(buf + n, s, len);
            n += len;
            buf[n++] = ']';
        }
        if (cps != local)
            free(cps);
        return n;
    }
    if (a & FL_ATTR_BYTE) {
        int b = parse_byte_token(s, len);
        if (b < 0) {
            memcpy(buf, s, len);
            return len;
        }
        buf[0] = (char)b;
        return 1;
    }
    return 0; // unused / undefined
}

/* Worst-case piece size: BPE pieces may carry "[UNK_BYTE_0x..<text>]" per code point. */
static uint64_t piece_bound(const fl_tokenizer *t, uint32_t len)
{
    return t->model == FL_TOK_BPE ? (uint64_t)len * (21 + len) : len;
}

static int build_pieces(fl_tokenizer *t)
{
    uint32_t n = t->text.n;
    fl_strtab *p = &t->piece;
    uint64_t cap = (uint64_t)t->text.off[n - 1] + t->text.len[n - 1] + 1 + 64;
    p->arena = malloc(cap);
    p->off = malloc(n * sizeof *p->off);
    p->len = malloc(n * sizeof *p->len);
    if (!p->arena || !p->off || !p->len)
        return flare_error(FLARE_ENOMEM, "tokenizer: out of memory for the piece cache");
    uint64_t pos = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t need = pos + piece_bound(t, t->text.len[i]) + 1;
        if (need > UINT32_MAX)
            return flare_error(FLARE_ERANGE, "tokenizer: pieces too large at token %u", i);
        if (need > cap) {
            cap = need > 2 * cap ? need : 2 * cap;
            char *a = realloc(p->arena, cap);
            if (!a)
                return flare_error(FLARE_ENOMEM, "tokenizer: out of memory for the piece cache");
            p->arena = a;
        }
        size_t l = make_piece(t, i, p->arena + pos);
        p->arena[pos + l] = 0;
        p->off[i] = (uint32_t)pos;
        p->len[i] = (uint32_t)l;
        pos += l + 1;
    }
    p->n = n;
    return 0;
}

/* qsort_r order of the special ids: longest text first, then by id. */
static int cmp_special(const void *a, const void *b, void *ctx)
{
    const fl_strtab *text = ctx;
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    uint32_t lx = text->len[x], ly = text->len[y];
    if (lx != ly)
        return lx > ly ? -1 : 1;
    return x < y ? -1 : x > y;
}

static int32_t id_or_none(int32_t id, uint32_t n) { return id >= 0 && (uint32_t)id < n ? id : -1; }

int fl_tokenizer_new(fl_tokenizer **out, const fl_vocab_desc *d)
{
    *out = NULL;
    if (d->model != FL_TOK_SPM && d->model != FL_TOK_BPE)
        return flare_error(FLARE_EUNSUP, "tokenizer: model %d is neither SPM nor BPE", d->model);
    if (d->n_tokens == 0 || !d->tokens)
        return flare_error(FLARE_EINVAL, "tokenizer: empty vocabulary");
    if (d->model == FL_TOK_BPE && d->pre != FL_PRE_GPT2 && d->pre != FL_PRE_LLAMA3)
        return flare_error(FLARE_EUNSUP, "tokenizer: BPE pre-tokenizer %d not supported", d->pre);
    fl_tokenizer *t = calloc(1, sizeof *t);
    if (!t)
        return flare_error(FLARE_ENOMEM, "tokenizer: out of memory");
    uint32_t n = d->n_tokens;
    int rc = strtab_fill(&t->text, d->tokens, d->token_lens, n, "tokens");
    t->model = d->model;
    t->pre = d->pre;
    if (!rc) {
        t->scores = malloc(n * sizeof *t->scores);
        t->attr = malloc(n);
        t->type = malloc(n);
        if (!t->scores || !t->attr || !t->type)
            rc = flare_error(FLARE_ENOMEM, "tokenizer: out of memory for %u tokens", n);
    }
    for (uint32_t i = 0; !rc && i < n; i++) {
        t->scores[i] = d->scores ? d->scores[i] : 0.0f;
        int32_t ty = d->types ? d->types[i] : FL_TOKTYPE_NORMAL;
        t->type[i] = (int8_t)(ty >= 0 && ty <= FL_TOKTYPE_BYTE ? ty : FL_TOKTYPE_UNDEFINED);
        t->attr[i] = attr_of_type(ty);
        if (t->text.len[i] == 0)
            rc = flare_error(FLARE_EINVAL, "tokenizer: token %u is empty", i);
    }
    uint32_t dup = 0;
    if (!rc && fl_strmap_build(&t->by_text, &t->text, false, &dup) == FLARE_EINVAL)
        rc = flare_error(FLARE_EINVAL, "tokenizer: duplicate token '%s' at index %u",
                         t->text.arena + t->text.off[dup], dup);
    if (!rc && d->model == FL_TOK_BPE) {
        if (d->n_merges == 0 || !d->merges)
            rc = flare_error(FLARE_EINVAL, "tokenizer: BPE vocabulary without merges");
        if (!rc)
            rc = strtab_fill(&t->merges, d->merges, d->merge_lens, d->n_merges, "merges");
        if (!rc)
            rc = fl_strmap_build(&t->by_merge, &t->merges, true, &dup);
    }
    if (rc) {
        fl_tokenizer_free(t);
        return rc;
    }
    // special ids (out of range: none, as llama.cpp disables them)
    t->bos = id_or_none(d->bos_id, n);
    t->eos = id_or_none(d->eos_id, n);
    t->unk = id_or_none(d->unk_id, n);
    t->eot = id_or_none(d->eot_id, n);
    t->eom = id_or_none(d->eom_id, n);
    t->pad = id_or_none(d->pad_id, n);
    t->add_bos = d->add_bos && t->bos >= 0;
    t->add_eos = d->add_eos && t->eos >= 0;
    t->add_space_prefix = d->add_space_prefix;
    t->clean_spaces = d->clean_spaces;
    t->ignore_merges = d->ignore_merges;
    if (d->add_bos && t->bos < 0)
        rc = flare_error(FLARE_EINVAL, "tokenizer: add_bos is set but there is no BOS token");
    // byte fallback tokens
    for (int b = 0; b < 256 && !rc; b++) {
        char s[8];
        int32_t id;
        if (t->model == FL_TOK_SPM) {
            snprintf(s, sizeof s, "<0x%02X>", b);
            id = fl_strmap_find(&t->by_text, s, 6, NULL, 0, 0);
            if (id < 0) {
                s[0] = (char)b;
                id = fl_strmap_find(&t->by_text, s, 1, NULL, 0, 0);
            }
        } else {
            size_t k = fl_utf8_encode(fl_bpe_byte_to_cp((uint8_t)b), s);
            id = fl_strmap_find(&t->by_text, s, k, NULL, 0, 0);
        }
        t->byte_token[b] = id;
    }
    // special tokens the text splitter looks for, longest first
    if (!rc) {
        t->special = malloc(n * sizeof *t->special);
        if (!t->special)
            rc = flare_error(FLARE_ENOMEM, "tokenizer: out of memory");
    }
    for (uint32_t i = 0; !rc && i < n; i++)
        if (t->attr[i] & (FL_ATTR_CONTROL | FL_ATTR_USER_DEFINED | FL_ATTR_UNKNOWN))
            t->special[t->n_special++] = (int32_t)i;
    if (!rc) {
        qsort_r(t->special, t->n_special, sizeof *t->special, cmp_special, &t->text);
        rc = build_pieces(t);
    }
    if (rc) {
        fl_tokenizer_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

void fl_tokenizer_free(fl_tokenizer *t)
{
    if (!t)
        return;
    fl_strmap_free(&t->by_text);
    fl_strmap_free(&t->by_merge);
    strtab_free(&t->text);
    strtab_free(&t->piece);
    strtab_free(&t->merges);
    free(t->scores);
    free(t->attr);
    free(t->type);
    free(t->special);
    free(t);
}

// ---- queries --------------------------------------------------------------------------------------

enum fl_tok_model fl_tok_model_of(const fl_tokenizer *t) { return t->model; }
const char *fl_tok_model_name(const fl_tokenizer *t) { return t->model == FL_TOK_SPM ? "llama" : "gpt2"; }
uint32_t fl_tok_n_tokens(const fl_tokenizer *t) { return t->text.n; }
int32_t fl_tok_bos(const fl_tokenizer *t) { return t->bos; }
int32_t fl_tok_eos(const fl_tokenizer *t) { return t->eos; }
int32_t fl_tok_unk(const fl_tokenizer *t) { return t->unk; }
bool fl_tok_add_bos(const fl_tokenizer *t) { return t->add_bos; }

static bool in_range(const fl_tokenizer *t, int32_t id) { return id >= 0 && (uint32_t)id < t->text.n; }

bool fl_tok_is_eog(const fl_tokenizer *t, int32_t id)
{
    return id >= 0 && (id == t->eos || id == t->eot || id == t->eom);
}

enum fl_token_type fl_tok_type(const fl_tokenizer *t, int32_t id)
{
    return in_range(t, id) ? (enum fl_token_type)t->type[id] : FL_TOKTYPE_UNDEFINED;
}

float fl_tok_score(const fl_tokenizer *t, int32_t id) { return in_range(t, id) ? t->scores[id] : 0.0f; }

const char *fl_tok_text(const fl_tokenizer *t, int32_t id, size_t *len)
{
    *len = in_range(t, id) ? t->text.len[id] : 0;
    return in_range(t, id) ? t->text.arena + t->text.off[id] : NULL;
}

int32_t fl_tok_find(const fl_tokenizer *t, const char *text, size_t len)
{
    return fl_strmap_find(&t->by_text, text, len, NULL, 0, 0);
}

// ---- tokenize --------------------------------------------------------------------------------------

/* A piece of the input: raw text [off, off + len) or, id >= 0, a special token. */
typedef struct {
    int32_t id;
    size_t off, len;
} fragment;

typedef struct {
    fragment *v;
    size_t n, cap;
} frag_list;

static int frag_push(frag_list *l, fragment f)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        fragment *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return flare_error(FLARE_ENOMEM, "tokenizer: out of memory (%zu fragments)", cap);
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = f;
    return 0;
}

/* llama.cpp's tokenizer_st_partition: for each special token (longest first), split every raw
 * fragment at its occurrences. Control and unknown tokens only when parse_special; user-defined
 * tokens always. */
static int partition(const fl_tokenizer *t, const char *text, size_t len, bool parse_special,
                     frag_list *out)
{
    frag_list cur = {0}, next = {0};
    int rc = len ? frag_push(&cur, (fragment){-1, 0, len}) : 0;
    for (uint32_t s = 0; s < t->n_special && !rc; s++) {
        int32_t id = t->special[s];
        if (!parse_special && (t->attr[id] & (FL_ATTR_CONTROL | FL_ATTR_UNKNOWN)))
            continue;
        const char *pat = t->text.arena + t->text.off[id];
        size_t plen = t->text.len[id];
        next.n = 0;
        for (size_t i = 0; i < cur.n && !rc; i++) {
            fragment f = cur.v[i];
            if (f.id >= 0) {
                rc = frag_push(&next, f);
                continue;
            }
            size_t pos = f.off, end = f.off + f.len;
            while (!rc && pos < end) {
                const char *m = memmem(text + pos, end - pos, pat, plen);
                if (!m) {
                    rc = frag_push(&next, (fragment){-1, pos, end - pos});
                    break;
                }
                size_t at = (size_t)(m - text);
                if (at > pos)
                    rc = frag_push(&next, (fragment){-1, pos, at - pos});
                if (!rc)
                    rc = frag_push(&next, (fragment){id, 0, 0});
                pos = at + plen;
            }
        }
        frag_list tmp = cur;
        cur = next;
        next = tmp;
    }
    free(next.v);
    if (rc) {
        free(cur.v);
        return rc;
    }
    *out = cur;
    return 0;
}

/* SPM fragment: optional leading space, then ' ' -> U+2581. */
static int spm_fragment(const fl_tokenizer *t, const char *s, size_t len, bool prefix, fl_ids *out)
{
    char *buf = malloc(3 * (len + 1));
    if (!buf)
        return flare_error(FLARE_ENOMEM, "tokenizer: out of memory for %zu bytes", len);
    size_t n = 0;
    if (prefix) {
        memcpy(buf, "\xe2\x96\x81", 3);
        n = 3;
    }
    for (size_t i = 0; i < len; i++) {
        if (s[i] == ' ') {
            memcpy(buf + n, "\xe2\x96\x81", 3);
            n += 3;
        } else {
            buf[n++] = s[i];
        }
    }
    int rc = fl_spm_tokenize(t, buf, n, out);
    free(buf);
    return rc;
}

int fl_tokenize(const fl_tokenizer *t, const char *text, size_t len, unsigned flags,
                int32_t **ids, size_t *n_ids)
{
    *ids = NULL;
    *n_ids = 0;
    bool add_special = flags & FL_TOKENIZE_ADD_SPECIAL;
    frag_list frags = {0};
    fl_ids out = {0};
    int rc = partition(t, text, len, flags & FL_TOKENIZE_PARSE_SPECIAL, &frags);
    if (!rc && add_special && t->add_bos)
        rc = fl_ids_push(&out, t->bos);
    bool prev_special = true; // SPM: a space is prepended after a special token and at the start
    for (size_t i = 0; i < frags.n && !rc; i++) {
        fragment f = frags.v[i];
        if (f.id >= 0) {
            rc = fl_ids_push(&out, f.id);
            prev_special = true;
            continue;
        }
        if (t->model == FL_TOK_SPM)
            rc = spm_fragment(t, text + f.off, f.len, t->add_space_prefix && prev_special, &out);
        else
            rc = fl_bpe_tokenize(t, text + f.off, f.len, &out);
        prev_special = false;
    }
    if (!rc && add_special && t->add_eos)
        rc = fl_ids_push(&out, t->eos);
    free(frags.v);
    if (rc) {
        free(out.v);
        return rc;
    }
    *ids = out.v ? out.v : malloc(sizeof(int32_t)); // never NULL on success
    if (!*ids)
        return flare_error(FLARE_ENOMEM, "tokenizer: out of memory");
    *n_ids = out.n;
    return 0;
}

const char *fl_token_piece(const fl_tokenizer *t, int32_t id, bool special, size_t *len)
{
    *len = 0;
    if (!in_range(t, id))
        return NULL;
    if (!special && (t->attr[id] & (FL_ATTR_UNKNOWN | FL_ATTR_CONTROL)))
        return "";
    *len = t->piece.len[id];
    return t->piece.arena + t->piece.off[id];
}

/* ---- symbols -------------------------------------------------------------------------------- */

int32_t fl_symbols_from_text(const char *text, size_t len, fl_symbol *sym)
{
    int32_t n_sym = 0;
    for (size_t off = 0; off < len;) {
        size_t n = fl_utf8_len((unsigned char)text[off]);
        if (n > len - off)
            n = len - off;
        sym[n_sym] = (fl_symbol){.prev = n_sym - 1, .next = -1, .off = (uint32_t)off,
                                 .n = (uint32_t)n};
        off += n;
        if (off < len)
            sym[n_sym].next = n_sym + 1;
        n_sym++;
    }
    return n_sym;
}
