/* host/tokenizer_internal.h: what tokenizer.c, tokenizer_spm.c and tokenizer_bpe.c share:
 * the tokenizer struct, the string -> id hash map, the bigram heap and the id vector. */
#ifndef FLARE_HOST_TOKENIZER_INTERNAL_H
#define FLARE_HOST_TOKENIZER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "host/tokenizer.h"

/* Token attributes as llama.cpp's llama_token_attr bits (a token may carry several). */
enum {
    FL_ATTR_UNKNOWN = 1u << 0,
    FL_ATTR_UNUSED = 1u << 1,
    FL_ATTR_NORMAL = 1u << 2,
    FL_ATTR_CONTROL = 1u << 3,
    FL_ATTR_USER_DEFINED = 1u << 4,
    FL_ATTR_BYTE = 1u << 5,
};

/* ---- strings in one arena ------------------------------------------------------------------- */
typedef struct {
    char *arena;   /* all strings back to back, each followed by a NUL */
    uint32_t *off; /* (n,) byte offset of string i */
    uint32_t *len; /* (n,) byte length of string i */
    uint32_t n;
} fl_strtab;

/* ---- open-addressing hash map: string (in a strtab) -> index ------------------------------- */
typedef struct {
    uint32_t *slots; /* (mask + 1,) index + 1, 0 = empty */
    uint32_t mask;
    const fl_strtab *keys;
} fl_strmap;

/* Build over all strings of `keys`. On a duplicate: keep_first ? keep the first silently :
 * return FLARE_EINVAL with *dup = the later index. */
int fl_strmap_build(fl_strmap *m, const fl_strtab *keys, bool keep_first, uint32_t *dup);
void fl_strmap_free(fl_strmap *m);
/* Index of the string a (+ sep + b when b != NULL), or -1. */
int32_t fl_strmap_find(const fl_strmap *m, const char *a, size_t la, const char *b, size_t lb,
                       char sep);

/* ---- bigram heap: smallest (prio, left) first ---------------------------------------------- */
typedef struct {
    int32_t left, right;
    double prio;   /* SPM: -score; BPE: merge rank */
    uint32_t size; /* bytes of the merged text when pushed (staleness check) */
} fl_bigram;

typedef struct {
    fl_bigram *v;
    size_t n, cap;
} fl_heap;

int fl_heap_push(fl_heap *h, fl_bigram b);
fl_bigram fl_heap_pop(fl_heap *h); /* h->n > 0 */

/* ---- symbols of one merge session ---------------------------------------------------------- */
typedef struct {
    int32_t prev, next;
    uint32_t off, n; /* bytes [off, off + n) of the session text; n == 0: merged away */
} fl_symbol;

/* Split text (len bytes) into one symbol per UTF-8 character (a truncated sequence at the end
 * is one symbol), linked as a list; sym has room for len. Returns the symbol count. */
int32_t fl_symbols_from_text(const char *text, size_t len, fl_symbol *sym);

/* ---- growable id vector --------------------------------------------------------------------- */
typedef struct {
    int32_t *v;
    size_t n, cap;
} fl_ids;

int fl_ids_push(fl_ids *ids, int32_t id);

/* ---- the tokenizer -------------------------------------------------------------------------- */
struct fl_tokenizer {
    enum fl_tok_model model;
    enum fl_tok_pre pre;
    fl_strtab text;   /* token texts */
    fl_strmap by_text;
    float *scores;    /* (n_tokens,) */
    uint8_t *attr;    /* (n_tokens,) FL_ATTR_* */
    int8_t *type;     /* (n_tokens,) enum fl_token_type as given */
    fl_strtab piece;  /* (n_tokens,) piece with special = true (token_to_piece cache) */
    fl_strtab merges; /* BPE "left right" */
    fl_strmap by_merge;
    int32_t bos, eos, unk, eot, eom, pad;
    bool add_bos, add_eos, add_space_prefix, clean_spaces, ignore_merges;
    int32_t byte_token[256];  /* the token for a raw byte (byte fallback), -1 when none */
    int32_t *special;         /* control, user-defined and unknown ids, longest text first */
    uint32_t n_special;
};

/* Byte length of the UTF-8 sequence a lead byte announces, as llama.cpp's unicode_len_utf8
 * (continuation and invalid bytes count 1, 0xF8..0xFF count 4). */
static inline size_t fl_utf8_len(unsigned char c)
{
    static const unsigned char lookup[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return lookup[c >> 4];
}

/* Encode a code point (<= 0x10FFFF) as UTF-8 into out (4 bytes); returns the length. */
size_t fl_utf8_encode(uint32_t cp, char *out);

/* SPM: tokenize one text fragment (already space-escaped) and append the ids. */
int fl_spm_tokenize(const fl_tokenizer *t, const char *text, size_t len, fl_ids *out);

/* BPE: pre-tokenize one fragment, byte-encode and merge each word, append the ids. */
int fl_bpe_tokenize(const fl_tokenizer *t, const char *text, size_t len, fl_ids *out);

/* BPE: the GPT-2 byte -> code point map and its inverse (-1 for code points not in it). */
uint32_t fl_bpe_byte_to_cp(uint8_t b);
int fl_bpe_cp_to_byte(uint32_t cp);

/* Decode UTF-8 into code points as llama.cpp's unicode_cpts_from_utf8 does: a byte that does
 * not start a complete sequence becomes U+FFFD and decoding resumes at the next byte; sequences
 * above U+10FFFF are treated the same way. cps must hold len entries; returns the count. */
size_t fl_utf8_decode_lenient(const char *s, size_t len, uint32_t *cps);

/* GPT-2 pre-tokenizer over code points: writes word lengths (in code points) to lens (n_cps
 * entries suffice) and returns the number of words. */
size_t fl_bpe_split_gpt2(const uint32_t *cps, size_t n_cps, uint32_t *lens);
/* The same for the Llama 3 pre-tokenizer. */
size_t fl_bpe_split_llama3(const uint32_t *cps, size_t n_cps, uint32_t *lens);

#endif
