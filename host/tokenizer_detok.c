/* host/tokenizer_detok.c: ids -> text. fl_detokenize follows llama.cpp's detokenize semantics (first-piece
 * space strip, optional removal of BOS/EOS, clean_up_tokenization_spaces); the streaming decoder
 * holds back incomplete UTF-8 characters between tokens. */
#include <stdlib.h>
#include <string.h>

#include "flare/error.h"
#include "host/tokenizer_internal.h"

// ---- whole sequences ---------------------------------------------------------------------------

/* clean_up_tokenization_spaces, as llama.cpp applies it to BPE vocabularies that ask for it:
 * (1) no space before ? ! . ,  (2) " ' " becomes "'"  (3) no space before 's 'm 're 've.
 * Each pass compacts text in place (the write index never passes the read index). */
static bool is_stop_punct(const char *s, size_t i, size_t n)
{
    (void)n;
    return s[i] == '?' || s[i] == '!' || s[i] == '.' || s[i] == ',';
}

static bool is_contraction(const char *s, size_t i, size_t n)
{
    if (s[i] != '\'' || i + 1 >= n)
        return false;
    char a = s[i + 1];
    if (a == 's' || a == 'm')
        return true;
    return i + 2 < n && (a == 'r' || a == 'v') && s[i + 2] == 'e';
}

/* Removes every space directly followed by a match of `next`. */
static size_t drop_space_before(char *s, size_t n, bool (*next)(const char *, size_t, size_t))
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++)
        if (!(s[i] == ' ' && i + 1 < n && next(s, i + 1, n)))
            s[o++] = s[i];
    return o;
}

/* " ' " -> "'": a quote between two spaces loses both (a space already taken by the previous
 * match does not count). */
static size_t join_spaced_quotes(char *s, size_t n)
{
    size_t o = 0;
    bool prev_space = false; /* the last character written is a space from the input */
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\'' && prev_space && i + 1 < n && s[i + 1] == ' ') {
            s[o - 1] = '\'';
            i++;
            prev_space = false;
            continue;
        }
        prev_space = s[i] == ' ';
        s[o++] = s[i];
    }
    return o;
}

static size_t clean_spaces(char *text, size_t n)
{
    n = drop_space_before(text, n, is_stop_punct);
    n = join_spaced_quotes(text, n);
    return drop_space_before(text, n, is_contraction);
}

int fl_detokenize(const fl_tokenizer *t, const int32_t *ids, size_t n, unsigned flags, char **text,
                  size_t *len)
{
    *text = NULL;
    *len = 0;
    bool special = flags & FL_DETOK_SPECIAL;
    bool remove_space = t->add_space_prefix;
    if ((flags & FL_DETOK_REMOVE_SPECIAL) && t->add_bos && n > 0 && ids[0] == t->bos) {
        remove_space = false;
        ids++;
        n--;
    }
    if ((flags & FL_DETOK_REMOVE_SPECIAL) && t->add_eos && n > 0 && ids[n - 1] == t->eos)
        n--;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || (uint32_t)ids[i] >= t->text.n)
            return flare_error(FLARE_ERANGE, "detokenize: id %d at position %zu is outside the "
                               "vocabulary (0..%u)", ids[i], i, t->text.n - 1);
        total += t->piece.len[ids[i]];
    }
    char *out = malloc(total + 1);
    if (!out)
        return flare_error(FLARE_ENOMEM, "detokenize: out of memory for %zu bytes", total);
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l;
        const char *p = fl_token_piece(t, ids[i], special, &l);
        if (remove_space && l > 0 && p[0] == ' ') {
            p++;
            l--;
        }
        remove_space = false;
        memcpy(out + pos, p, l);
        pos += l;
    }
    if (t->clean_spaces)
        pos = clean_spaces(out, pos);
    out[pos] = 0;
    *text = out;
    *len = pos;
    return 0;
}

// ---- streaming ---------------------------------------------------------------------------------

void fl_detok_stream_init(fl_detok_stream *s, const fl_tokenizer *t, unsigned flags)
{
    memset(s, 0, sizeof *s);
    s->tok = t;
    s->flags = flags;
    s->first = true;
}

void fl_detok_stream_free(fl_detok_stream *s)
{
    free(s->buf);
    s->buf = NULL;
    s->cap = 0;
}

static int reserve(fl_detok_stream *s, size_t need)
{
    if (need <= s->cap)
        return 0;
    size_t cap = s->cap ? s->cap : 64;
    while (cap < need)
        cap *= 2;
    char *b = realloc(s->buf, cap);
    if (!b)
        return flare_error(FLARE_ENOMEM, "detokenize: out of memory (%zu bytes)", cap);
    s->buf = b;
    s->cap = cap;
    return 0;
}

static void put_fffd(char *buf, size_t *n)
{
    memcpy(buf + *n, "\xef\xbf\xbd", 3);
    *n += 3;
}

/* Does byte b continue the held sequence (second-byte limits exclude overlong forms,
 * surrogates and code points above U+10FFFF)? */
static bool continues(const fl_detok_stream *s, unsigned char b)
{
    if ((b & 0xC0) != 0x80)
        return false;
    if (s->n_pend != 1)
        return true;
    switch (s->pend[0]) {
    case 0xE0: return b >= 0xA0;
    case 0xED: return b <= 0x9F;
    case 0xF0: return b >= 0x90;
    case 0xF4: return b <= 0x8F;
    default: return true;
    }
}

/* Feed bytes; complete characters are appended to s->buf at *n (room for 3 per byte + 3). */
static void feed(fl_detok_stream *s, const unsigned char *p, size_t l, size_t *n)
{
    for (size_t i = 0; i < l; i++) {
        unsigned char b = p[i];
        if (s->n_pend > 0) {
            if (continues(s, b)) {
                s->pend[s->n_pend++] = b;
                if (s->n_pend == s->need) {
                    memcpy(s->buf + *n, s->pend, s->n_pend);
                    *n += s->n_pend;
                    s->n_pend = 0;
                }
                continue;
            }
            put_fffd(s->buf, n); // the held bytes cannot complete; b starts afresh
            s->n_pend = 0;
        }
        if (b < 0x80) {
            s->buf[(*n)++] = (char)b;
        } else if (b >= 0xC2 && b <= 0xF4) {
            s->pend[0] = b;
            s->n_pend = 1;
            s->need = b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
        } else {
            put_fffd(s->buf, n); // stray continuation byte or never-valid lead byte
        }
    }
}

int fl_detok_stream_push(fl_detok_stream *s, int32_t id, const char **out, size_t *out_len)
{
    *out = "";
    *out_len = 0;
    size_t l;
    const char *p = fl_token_piece(s->tok, id, s->flags & FL_DETOK_SPECIAL, &l);
    if (!p)
        return flare_error(FLARE_ERANGE, "detokenize: id %d is outside the vocabulary (0..%u)",
                           id, fl_tok_n_tokens(s->tok) - 1);
    if (s->first && (s->flags & FL_DETOK_STREAM_LSTRIP) && l > 0 && p[0] == ' ') {
        p++;
        l--;
    }
    s->first = false;
    int rc = reserve(s, 3 * (l + 4));
    if (rc)
        return rc;
    size_t n = 0;
    feed(s, (const unsigned char *)p, l, &n);
    *out = s->buf;
    *out_len = n;
    return 0;
}

int fl_detok_stream_flush(fl_detok_stream *s, const char **out, size_t *out_len)
{
    *out = "";
    *out_len = 0;
    int rc = reserve(s, 4);
    if (rc)
        return rc;
    size_t n = 0;
    if (s->n_pend > 0)
        put_fffd(s->buf, &n);
    s->n_pend = 0;
    *out = s->buf;
    *out_len = n;
    return 0;
}
