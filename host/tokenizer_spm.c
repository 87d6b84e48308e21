/* host/tokenizer_spm.c: the SentencePiece-style merge tokenizer (tokenizer.ggml.model "llama").
 *
 * As llama.cpp's llm_tokenizer_spm_session: the fragment (spaces already escaped to U+2581) is
 * split into UTF-8 characters; every adjacent pair whose concatenation is a vocabulary token is
 * queued with that token's score; the best-scoring pair (leftmost on ties) is merged, and the
 * pairs around the merged symbol are queued again, until nothing merges. Each final symbol is
 * its token, or (not in the vocabulary) one byte token per byte. */
#include <stdlib.h>

#include "flare/error.h"
#include "host/tokenizer_internal.h"

static int try_add_bigram(const fl_tokenizer *t, const char *text, const fl_symbol *sym,
                          fl_heap *heap, int32_t left, int32_t right)
{
    if (left < 0 || right < 0)
        return 0;
    uint32_t size = sym[left].n + sym[right].n;
    int32_t id = fl_strmap_find(&t->by_text, text + sym[left].off, size, NULL, 0, 0);
    if (id < 0)
        return 0;
    fl_bigram b = {.left = left, .right = right, .prio = -(double)t->scores[id], .size = size};
    return fl_heap_push(heap, b);
}

/* A symbol that is not a token: one byte token per byte (unknown token when the vocabulary has
 * no byte token for it). */
static int push_bytes(const fl_tokenizer *t, const char *s, size_t n, fl_ids *out)
{
    for (size_t j = 0; j < n; j++) {
        unsigned char c = (unsigned char)s[j];
        int32_t id = t->byte_token[c] >= 0 ? t->byte_token[c] : t->unk;
        if (id < 0)
            return flare_error(FLARE_EINVAL,
                               "tokenizer: no byte token <0x%02X> and no unknown token", c);
        int rc = fl_ids_push(out, id);
        if (rc)
            return rc;
    }
    return 0;
}

int fl_spm_tokenize(const fl_tokenizer *t, const char *text, size_t len, fl_ids *out)
{
    if (len == 0)
        return 0;
    if (len > UINT32_MAX / 2)
        return flare_error(FLARE_ERANGE, "tokenizer: text of %zu bytes is too long", len);

    // ---- split into UTF-8 characters (len symbols at most)
    fl_symbol *sym = malloc(len * sizeof *sym); // (n_sym,)
    fl_heap heap = {0};
    int rc = 0;
    if (!sym)
        return flare_error(FLARE_ENOMEM, "tokenizer: out of memory (%zu symbols)", len);
    int32_t n_sym = fl_symbols_from_text(text, len, sym);

    // ---- seed the queue with every adjacent pair, then merge best-first
    for (int32_t i = 1; i < n_sym && !rc; i++)
        rc = try_add_bigram(t, text, sym, &heap, i - 1, i);
    while (heap.n > 0 && !rc) {
        fl_bigram b = fl_heap_pop(&heap);
        fl_symbol *l = &sym[b.left], *r = &sym[b.right];
        if (l->n == 0 || r->n == 0 || l->n + r->n != b.size)
            continue; // one side changed since this pair was queued
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0)
            sym[r->next].prev = b.left;
        rc = try_add_bigram(t, text, sym, &heap, l->prev, b.left);
        if (!rc)
            rc = try_add_bigram(t, text, sym, &heap, b.left, l->next);
    }

    // ---- emit: a token per symbol, bytes for the rest
    for (int32_t i = 0; i != -1 && !rc; i = sym[i].next) {
        int32_t id = fl_strmap_find(&t->by_text, text + sym[i].off, sym[i].n, NULL, 0, 0);
        rc = id >= 0 ? fl_ids_push(out, id) : push_bytes(t, text + sym[i].off, sym[i].n, out);
    }
    free(heap.v);
    free(sym);
    return rc;
}
