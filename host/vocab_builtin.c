/* host/vocab_builtin.c: the small built-in SPM-style vocabulary (see vocab_builtin.h). */
#include "host/vocab_builtin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flare/error.h"

#define SP "\xe2\x96\x81" /* U+2581 LOWER ONE EIGHTH BLOCK, SentencePiece's space */

/* ---- the pieces -------------------------------------------------------------------------------
 * Listed most frequent first; every prefix of two or more characters of each entry is added
 * before the entry itself (so each piece splits into an earlier piece plus one character). */
static const char *const builtin_pieces[] = {
    "he", "in", "er", "on", "an", "re", "nd", "ou", "at", "en", "it", "ed", "is", "ar", "or",
    "es", "as", "ll", "le", "om", "ay", "ow", "al", "ve", "ad", "ot", "ly", "id", "ic", "ut",
    "ir", "ing", "ent", "ith", "ould", "ake", "ame", "ere",
    SP "the", SP "and", SP "to", SP "a", SP "was", SP "he", SP "she", SP "it", SP "of", SP "in",
    SP "they", SP "her", SP "his", SP "with", SP "that", SP "you", SP "for", SP "on", SP "said",
    SP "day", SP "one", SP "big", SP "play", SP "had", SP "but", SP "so", SP "very", SP "not",
    SP "we", SP "be", SP "are", SP "up", SP "time", SP "upon", SP "Once", SP "there", SP "happy",
    SP "little", SP "girl", SP "boy", SP "saw", SP "friend", SP "friends", SP "named", SP "Lily",
    SP "Tim", SP "Tom", SP "Ben", SP "Sue", SP "mom", SP "dad", SP "dog", SP "cat", SP "bird",
    SP "tree", SP "park", SP "fun", SP "went", SP "what", SP "want", SP "wanted", SP "can",
    SP "do", SP "go", SP "at", SP "all", SP "The", SP "He", SP "She", SP "It", SP "They", SP "I",
    SP "One", SP "is", SP "were", SP "help", SP "him", SP "home", SP "look", SP "see", SP "sun",
    SP "ball", SP "toy", SP "red", SP "blue", SP "smiled", SP "loved", SP "found", SP "new",
    SP "good", SP "sad", SP "together", SP "out", SP "from", SP "like", SP "asked", SP "this",
    SP "then", SP "when", SP "made", SP "felt", SP "away", SP "came", SP "could", SP "would",
    SP "hello", SP "world", SP "Hello",
};

/* ---- building ----------------------------------------------------------------------------- */

typedef struct {
    char *arena;       /* pieces, each NUL-terminated */
    size_t used, cap;  /* bytes */
    size_t *off;       /* (n,) offsets into arena */
    float *scores;     /* (n,) */
    int32_t *types;    /* (n,) */
    uint32_t n, cap_n;
} builder;

static int b_push(builder *b, const char *s, size_t len, float score, int32_t type)
{
    if (b->n == b->cap_n) {
        uint32_t c = b->cap_n ? b->cap_n * 2 : 1024;
        size_t *o = realloc(b->off, c * sizeof *o);
        if (o)
            b->off = o;
        float *sc = realloc(b->scores, c * sizeof *sc);
        if (sc)
            b->scores = sc;
        int32_t *t = realloc(b->types, c * sizeof *t);
        if (t)
            b->types = t;
        if (!o || !sc || !t)
            return flare_error(FLARE_ENOMEM, "built-in vocabulary: out of memory");
        b->cap_n = c;
    }
    if (b->used + len + 1 > b->cap) {
        size_t c = b->cap ? b->cap * 2 : 16384;
        while (c < b->used + len + 1)
            c *= 2;
        char *a = realloc(b->arena, c);
        if (!a)
            return flare_error(FLARE_ENOMEM, "built-in vocabulary: out of memory");
        b->arena = a;
        b->cap = c;
    }
    memcpy(b->arena + b->used, s, len);
    b->arena[b->used + len] = '\0';
    b->off[b->n] = b->used;
    b->scores[b->n] = score;
    b->types[b->n] = type;
    b->used += len + 1;
    b->n++;
    return 0;
}

static int b_has(const builder *b, uint32_t from, const char *s, size_t len)
{
    for (uint32_t i = from; i < b->n; i++) {
        const char *p = b->arena + b->off[i];
        if (strlen(p) == len && memcmp(p, s, len) == 0)
            return 1;
    }
    return 0;
}

/* Bytes of the UTF-8 character starting at s (1 for ASCII and for invalid lead bytes). */
static size_t utf8_len(const char *s)
{
    unsigned char c = (unsigned char)*s;
    if (c >= 0xf0)
        return 4;
    if (c >= 0xe0)
        return 3;
    if (c >= 0xc0)
        return 2;
    return 1;
}

/* Appends every normal piece; the normal pieces start at index `first`. */
static int b_pieces(builder *b, uint32_t first)
{
    float score = 0.0f;
    for (size_t w = 0; w < sizeof builtin_pieces / sizeof builtin_pieces[0]; w++) {
        const char *s = builtin_pieces[w];
        size_t n = strlen(s), pos = utf8_len(s);
        while (pos < n) {
            pos += utf8_len(s + pos);
            if (!b_has(b, first, s, pos)) {
                int rc = b_push(b, s, pos, score, FL_VB_NORMAL);
                if (rc)
                    return rc;
                score -= 1.0f;
            }
        }
    }
    /* single characters last: "▁" and printable ASCII */
    int rc = b_push(b, SP, 3, score, FL_VB_NORMAL);
    score -= 1.0f;
    for (int c = 0x21; c < 0x7f && !rc; c++) {
        char ch = (char)c;
        rc = b_push(b, &ch, 1, score, FL_VB_NORMAL);
        score -= 1.0f;
    }
    return rc;
}

static int b_all(builder *b, uint32_t n_vocab)
{
    int rc = b_push(b, "<unk>", 5, 0.0f, FL_VB_UNKNOWN);
    if (!rc)
        rc = b_push(b, "<s>", 3, 0.0f, FL_VB_CONTROL);
    if (!rc)
        rc = b_push(b, "</s>", 4, 0.0f, FL_VB_CONTROL);
    for (int i = 0; i < 256 && !rc; i++) {
        char s[8];
        snprintf(s, sizeof s, "<0x%02X>", i);
        rc = b_push(b, s, 6, 0.0f, FL_VB_BYTE);
    }
    if (!rc)
        rc = b_pieces(b, b->n);
    for (uint32_t i = 0; !rc && b->n < n_vocab; i++) {
        char s[32];
        int len = snprintf(s, sizeof s, "<unused%u>", i);
        rc = b_push(b, s, (size_t)len, FL_VB_PAD_SCORE, FL_VB_UNUSED);
    }
    return rc;
}

static void b_free(builder *b)
{
    free(b->arena);
    free(b->off);
    free(b->scores);
    free(b->types);
}

/* ---- API ------------------------------------------------------------------------------------ */

uint32_t fl_vocab_builtin_size(void)
{
    builder b = {0};
    uint32_t size = b_all(&b, 0) == 0 ? b.n : 0; /* 0 only when out of memory */
    b_free(&b);
    return size;
}

int fl_vocab_builtin(fl_vocab *v, uint32_t n_vocab)
{
    memset(v, 0, sizeof *v);
    uint32_t base = fl_vocab_builtin_size();
    if (base == 0)
        return flare_error(FLARE_ENOMEM, "built-in vocabulary: out of memory");
    if (n_vocab && n_vocab < base)
        return flare_error(FLARE_EINVAL,
                           "--vocab-size: the built-in vocabulary has %u tokens; expected >= %u, "
                           "got %u (or give --vocab FILE)", base, base, n_vocab);
    builder b = {0};
    int rc = b_all(&b, n_vocab);
    char **tok = rc ? NULL : malloc((size_t)b.n * sizeof *tok);
    if (rc || !tok) {
        b_free(&b);
        return rc ? rc : flare_error(FLARE_ENOMEM, "built-in vocabulary: out of memory");
    }
    for (uint32_t i = 0; i < b.n; i++)
        tok[i] = b.arena + b.off[i];
    free(b.off);
    v->n = b.n;
    v->n_builtin = base;
    v->tokens = tok;
    v->scores = b.scores;
    v->types = b.types;
    v->arena = b.arena;
    return 0;
}

void fl_vocab_free(fl_vocab *v)
{
    if (!v)
        return;
    free(v->tokens);
    free(v->scores);
    free(v->types);
    free(v->arena);
    memset(v, 0, sizeof *v);
}
