/* host/tokenizer_bpe.c: GPT-2 byte-level BPE (tokenizer.ggml.model "gpt2").
 *
 * Three steps, as llama.cpp's llm_tokenizer_bpe_session:
 *   1. pre-tokenize: decode UTF-8 to code points and split them into words with the GPT-2 regex
 *        's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 *      (or Llama 3's, below) matched by hand, taking the decisions llama.cpp's
 *      unicode_regex_split_custom_gpt2 / _llama3 take;
 *      \p{L}, \p{N} come from libutf8proc's general categories and \s is Unicode White_Space;
 *   2. byte-encode: every byte of a word becomes one printable code point (GPT-2's
 *      bytes_to_unicode: printable Latin-1 bytes map to themselves, the other 68 to U+0100..);
 *   3. merge: adjacent symbols are merged lowest merge rank first (leftmost on ties) while the
 *      pair is in tokenizer.ggml.merges; a final symbol not in the vocabulary falls back to its
 *      single-byte tokens. With ignore_merges (Llama 3) a word that is a token is taken whole. */
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "flare/error.h"
#include "host/tokenizer_internal.h"

// ---- UTF-8 ----------------------------------------------------------------------------------

size_t fl_utf8_encode(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | ((cp >> 18) & 0x07));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

size_t fl_utf8_decode_lenient(const char *str, size_t len, uint32_t *cps)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        unsigned char c = s[i];
        size_t need = c < 0x80 ? 1 : c < 0xC0 ? 0 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : c < 0xF8 ? 4 : 0;
        uint32_t cp = 0;
        bool ok = need > 0 && i + need <= len;
        for (size_t k = 1; ok && k < need; k++)
            ok = (s[i + k] & 0xC0) == 0x80;
        if (ok) {
            static const unsigned char lead_mask[5] = {0, 0x7F, 0x1F, 0x0F, 0x07};
            cp = c & lead_mask[need];
            for (size_t k = 1; k < need; k++)
                cp = (cp << 6) | (s[i + k] & 0x3F);
            ok = cp <= 0x10FFFF; // llama.cpp cannot re-encode these either
        }
        if (ok) {
            cps[n++] = cp;
            i += need;
        } else {
            cps[n++] = 0xFFFD;
            i += 1;
        }
    }
    return n;
}

// ---- Unicode classes (llama.cpp's unicode_cpt_flags, from utf8proc categories) ---------------

enum { CL_LETTER = 1, CL_NUMBER = 2, CL_SPACE = 4, CL_OTHER = 8 };

/* CL_SPACE is the White_Space property: Zs, Zl, Zp, U+0009..U+000D and U+0085. */
static unsigned cpt_class(uint32_t cp)
{
    if (cp == ' ' || (cp >= 0x09 && cp <= 0x0D) || cp == 0x85)
        return CL_SPACE;
    if (cp < 0x80) {
        if ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z')
            return CL_LETTER;
        return cp >= '0' && cp <= '9' ? CL_NUMBER : CL_OTHER;
    }
    switch (utf8proc_category((utf8proc_int32_t)cp)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
        return CL_LETTER;
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
        return CL_NUMBER;
    case UTF8PROC_CATEGORY_ZS:
    case UTF8PROC_CATEGORY_ZL:
    case UTF8PROC_CATEGORY_ZP:
        return CL_SPACE;
    default:
        return CL_OTHER; // every other category, unassigned code points included
    }
}

// ---- GPT-2 pre-tokenizer ----------------------------------------------------------------------

size_t fl_bpe_split_gpt2(const uint32_t *cps, size_t n, uint32_t *lens)
{
    size_t n_words = 0, prev_end = 0;
    // class of position p; 0 past the end (matches nothing)
#define CLS(p) ((p) < n ? cpt_class(cps[p]) : 0u)
#define EMIT(end)                                                                                 \
    do {                                                                                          \
        if ((end) > prev_end)                                                                     \
            lens[n_words++] = (uint32_t)((end) - prev_end);                                       \
        prev_end = (end);                                                                         \
    } while (0)

    for (size_t pos = 0; pos < n;) {
        uint32_t c = cps[pos];
        // 's|'t|'re|'ve|'m|'ll|'d
        if (c == '\'' && pos + 1 < n) {
            uint32_t c1 = cps[pos + 1];
            if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') {
                pos += 2;
                EMIT(pos);
                continue;
            }
            if (pos + 2 < n) {
                uint32_t c2 = cps[pos + 2];
                if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) {
                    pos += 3;
                    EMIT(pos);
                    continue;
                }
            }
        }
        // ' ?' then a run of one class: \p{L}+ | \p{N}+ | [^\s\p{L}\p{N}]+
        unsigned cl = c == ' ' ? CLS(pos + 1) : CLS(pos);
        if (cl == CL_LETTER || cl == CL_NUMBER || cl == CL_OTHER) {
            pos += c == ' ';
            while (CLS(pos) == cl)
                pos++;
            EMIT(pos);
            continue;
        }
        // \s+(?!\S) | \s+
        size_t n_ws = 0;
        while (CLS(pos + n_ws) == CL_SPACE)
            n_ws++;
        if (n_ws > 1 && pos + n_ws < n) {
            pos += n_ws - 1; // leave the last space to prefix the next word
            EMIT(pos);
            continue;
        }
        if (n_ws > 0) {
            pos += n_ws;
            EMIT(pos);
            continue;
        }
        EMIT(++pos); // not reached: every code point has a class
    }
#undef CLS
#undef EMIT
    return n_words;
}

// ---- Llama-3 pre-tokenizer ------------------------------------------------------------------
// (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|
// \s*[\r\n]+|\s+(?!\S)|\s+   (llama.cpp's unicode_regex_split_custom_llama3)

static uint32_t ascii_lower(uint32_t c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

size_t fl_bpe_split_llama3(const uint32_t *cps, size_t n, uint32_t *lens)
{
    size_t n_words = 0, prev_end = 0;
#define CLS(p) ((p) < n ? cpt_class(cps[p]) : 0u)
#define CPT(p) ((p) < n ? cps[p] : 0xFFFFFFFFu)
#define EMIT(end)                                                                                 \
    do {                                                                                          \
        if ((end) > prev_end)                                                                     \
            lens[n_words++] = (uint32_t)((end) - prev_end);                                       \
        prev_end = (end);                                                                         \
    } while (0)

    for (size_t pos = 0; pos < n;) {
        uint32_t c = cps[pos];
        unsigned cl = cpt_class(c);
        // (?i:'s|'t|'re|'ve|'m|'ll|'d)
        if (c == '\'' && pos + 1 < n) {
            uint32_t c1 = ascii_lower(cps[pos + 1]);
            if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') {
                pos += 2;
                EMIT(pos);
                continue;
            }
            if (pos + 2 < n) {
                uint32_t c2 = ascii_lower(cps[pos + 2]);
                if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) {
                    pos += 3;
                    EMIT(pos);
                    continue;
                }
            }
        }
        // [^\r\n\p{L}\p{N}]?\p{L}+
        if (!(c == '\r' || c == '\n' || cl == CL_NUMBER) &&
            (cl == CL_LETTER || CLS(pos + 1) == CL_LETTER)) {
            pos++;
            while (CLS(pos) == CL_LETTER)
                pos++;
            EMIT(pos);
            continue;
        }
        // \p{N}{1,3}
        if (cl == CL_NUMBER) {
            size_t ini = pos;
            while (CLS(pos) == CL_NUMBER) {
                if (++pos - ini >= 3) {
                    EMIT(pos);
                    ini = pos;
                }
            }
            EMIT(pos);
            continue;
        }
        //  ?[^\s\p{L}\p{N}]+[\r\n]*
        unsigned cl2 = c == ' ' ? CLS(pos + 1) : cl;
        if (cl2 != CL_SPACE && cl2 != CL_LETTER && cl2 != CL_NUMBER) {
            pos += c == ' ';
            while (CLS(pos) == CL_OTHER)
                pos++;
            while (CPT(pos) == '\r' || CPT(pos) == '\n')
                pos++;
            EMIT(pos);
            continue;
        }
        // \s*[\r\n]+ | \s+(?!\S) | \s+
        size_t n_ws = 0, last_rn = 0;
        while (CLS(pos + n_ws) == CL_SPACE) {
            if (cps[pos + n_ws] == '\r' || cps[pos + n_ws] == '\n')
                last_rn = pos + n_ws + 1;
            n_ws++;
        }
        if (last_rn > 0) {
            pos = last_rn;
            EMIT(pos);
            continue;
        }
        if (n_ws > 1 && pos + n_ws < n) {
            pos += n_ws - 1;
            EMIT(pos);
            continue;
        }
        if (n_ws > 0) {
            pos += n_ws;
            EMIT(pos);
            continue;
        }
        EMIT(++pos);
    }
#undef CLS
#undef CPT
#undef EMIT
    return n_words;
}

// ---- GPT-2 bytes_to_unicode ---------------------------------------------------------------------

static bool byte_is_printable(unsigned b)
{
    return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

/* The 68 other bytes, in byte order, map to U+0100..U+0143: 0x00..0x20 (33), 0x7F..0xA0 (34),
 * 0xAD (1). */
uint32_t fl_bpe_byte_to_cp(uint8_t b)
{
    if (byte_is_printable(b))
        return b;
    if (b <= 0x20)
        return 256u + b;
    if (b >= 0x7F && b <= 0xA0)
        return 256u + 33 + (b - 0x7Fu);
    return 256u + 67; // 0xAD
}

int fl_bpe_cp_to_byte(uint32_t cp)
{
    if (cp < 256)
        return byte_is_printable(cp) ? (int)cp : -1;
    uint32_t k = cp - 256;
    if (k < 33)
        return (int)k;
    if (k < 67)
        return (int)(0x7F + (k - 33));
    return k == 67 ? 0xAD : -1;
}

// ---- merges -------------------------------------------------------------------------------------

static int add_bigram(const fl_tokenizer *t, const char *w, const fl_symbol *sym, fl_heap *heap,
                      int32_t left, int32_t right)
{
    if (left < 0 || right < 0)
        return 0;
    int32_t rank = fl_strmap_find(&t->by_merge, w + sym[left].off, sym[left].n, w + sym[right].off,
                                  sym[right].n, ' ');
    if (rank < 0)
        return 0;
    fl_bigram b = {.left = left, .right = right, .prio = rank, .size = sym[left].n + sym[right].n};
    return fl_heap_push(heap, b);
}

/* One byte-encoded word w (len bytes): merge and append its ids. sym has room for len. */
static int bpe_word(const fl_tokenizer *t, const char *w, size_t len, fl_symbol *sym,
                    fl_heap *heap, fl_ids *out)
{
    int32_t n_sym = fl_symbols_from_text(w, len, sym);
    heap->n = 0;
    int rc = 0;
    for (int32_t i = 1; i < n_sym && !rc; i++)
        rc = add_bigram(t, w, sym, heap, i - 1, i);
    while (heap->n > 0 && !rc) {
        fl_bigram b = fl_heap_pop(heap);
        fl_symbol *l = &sym[b.left], *r = &sym[b.right];
        if (l->n == 0 || r->n == 0 || l->n + r->n != b.size)
            continue; // stale
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0)
            sym[r->next].prev = b.left;
        rc = add_bigram(t, w, sym, heap, l->prev, b.left);
        if (!rc)
            rc = add_bigram(t, w, sym, heap, b.left, l->next);
    }
    for (int32_t i = 0; i < n_sym && !rc; i++) {
        if (sym[i].n == 0)
            continue;
        int32_t id = fl_strmap_find(&t->by_text, w + sym[i].off, sym[i].n, NULL, 0, 0);
        if (id >= 0) {
            rc = fl_ids_push(out, id);
            continue;
        }
        // not a token: each byte of the (byte-encoded) text that is a token on its own
        for (uint32_t j = 0; j < sym[i].n && !rc; j++) {
            int32_t bid = fl_strmap_find(&t->by_text, w + sym[i].off + j, 1, NULL, 0, 0);
            if (bid >= 0)
                rc = fl_ids_push(out, bid);
        }
    }
    return rc;
}

int fl_bpe_tokenize(const fl_tokenizer *t, const char *text, size_t len, fl_ids *out)
{
    if (len == 0)
        return 0;
    if (len > UINT32_MAX / 16)
        return flare_error(FLARE_ERANGE, "tokenizer: text of %zu bytes is too long", len);
    uint32_t *cps = malloc(len * sizeof *cps);   // (n_cps,) code points
    uint32_t *lens = malloc(len * sizeof *lens); // (n_words,) word lengths in code points
    char *word = malloc(len * 4 * 2 + 8);       // one word, UTF-8 then byte-encoded
    fl_symbol *sym = malloc(len * 4 * sizeof *sym);
    fl_heap heap = {0};
    int rc = 0;
    if (!cps || !lens || !word || !sym) {
        rc = flare_error(FLARE_ENOMEM, "tokenizer: out of memory for %zu bytes of text", len);
        goto done;
    }
    size_t n_cps = fl_utf8_decode_lenient(text, len, cps);
    size_t n_words = t->pre == FL_PRE_LLAMA3 ? fl_bpe_split_llama3(cps, n_cps, lens)
                                             : fl_bpe_split_gpt2(cps, n_cps, lens);
    size_t start = 0;
    for (size_t w = 0; w < n_words && !rc; w++) {
        // word bytes: the code points re-encoded (invalid input is U+FFFD by now)
        char utf8[4];
        size_t n_enc = 0;
        for (size_t i = start; i < start + lens[w]; i++) {
            size_t k = fl_utf8_encode(cps[i], utf8);
            for (size_t j = 0; j < k; j++)
                n_enc += fl_utf8_encode(fl_bpe_byte_to_cp((uint8_t)utf8[j]), word + n_enc);
        }
        start += lens[w];
        int32_t whole = t->ignore_merges ? fl_strmap_find(&t->by_text, word, n_enc, NULL, 0, 0) : -1;
        rc = whole >= 0 ? fl_ids_push(out, whole) : bpe_word(t, word, n_enc, sym, &heap, out);
    }
done:
    free(heap.v);
    free(sym);
    free(word);
    free(lens);
    free(cps);
    return rc;
}
