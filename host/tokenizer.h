/* host/tokenizer.h: the tokenizers of llama.cpp's vocabularies, exact against llama.cpp.
 *
 * Two models, chosen by tokenizer.ggml.model:
 *   "llama" (SPM): SentencePiece-style merges by score over UTF-8 characters, spaces escaped as
 *                  U+2581, a space prepended to each text fragment (add_space_prefix), byte
 *                  fallback to the "<0xNN>" tokens.
 *   "gpt2"  (BPE): GPT-2 byte-level BPE: the pre-tokenizer splits the text into words (the GPT-2
 *                  or Llama 3 regex (tokenizer.ggml.pre), matched by hand over Unicode categories
 *                  from libutf8proc), each word's
 *                  bytes are mapped to printable code points, then merged by merge rank.
 *
 * The core takes a plain vocabulary description (fl_vocab_desc: token texts, scores, types,
 * merges, special ids), so it is tested without files; fl_tokenizer_from_gguf() only fills one
 * from the tokenizer.ggml.* keys (defaults as llama.cpp: BOS 1, EOS 2, UNK 0 for "llama").
 *
 * Invalid UTF-8 input never fails: SPM keeps the bytes (they become byte tokens, as llama.cpp);
 * BPE decodes as llama.cpp does and turns each undecodable byte into U+FFFD. The streaming
 * decoder always emits valid UTF-8 (undecodable bytes become U+FFFD). */
#ifndef FLARE_HOST_TOKENIZER_H
#define FLARE_HOST_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "host/gguf.h"

/* ---- vocabulary description ----------------------------------------------------------------- */

enum fl_tok_model {
    FL_TOK_SPM = 1, /* tokenizer.ggml.model "llama" */
    FL_TOK_BPE = 2, /* tokenizer.ggml.model "gpt2" */
};

/* The BPE pre-tokenizer (tokenizer.ggml.pre). */
enum fl_tok_pre {
    FL_PRE_NONE = 0, /* SPM */
    FL_PRE_GPT2 = 1,   /* "gpt-2", "phi-2", "mpt", "olmo", "jais", ... */
    FL_PRE_LLAMA3 = 2, /* "llama-bpe", "llama3", "llama-v3", "falcon3" */
};

/* tokenizer.ggml.token_type values (llama.cpp's llama_token_type). */
enum fl_token_type {
    FL_TOKTYPE_UNDEFINED = 0,
    FL_TOKTYPE_NORMAL = 1,
    FL_TOKTYPE_UNKNOWN = 2,
    FL_TOKTYPE_CONTROL = 3,
    FL_TOKTYPE_USER_DEFINED = 4,
    FL_TOKTYPE_UNUSED = 5,
    FL_TOKTYPE_BYTE = 6,
};

#define FL_TOKEN_NONE (-1)

/* Everything the tokenizer needs, as plain arrays (copied by fl_tokenizer_new). */
typedef struct {
    enum fl_tok_model model;
    enum fl_tok_pre pre;
    uint32_t n_tokens;
    const char *const *tokens; /* (n_tokens,) UTF-8 pieces */
    const uint32_t *token_lens; /* (n_tokens,) byte lengths; NULL: tokens are NUL-terminated */
    const float *scores;       /* (n_tokens,) or NULL (all 0) */
    const int32_t *types;      /* (n_tokens,) enum fl_token_type, or NULL (all normal) */
    uint32_t n_merges;
    const char *const *merges; /* (n_merges,) "left right", rank = index (BPE) */
    const uint32_t *merge_lens; /* NULL: NUL-terminated */
    /* Special ids, FL_TOKEN_NONE when absent; out-of-range ids are treated as absent. */
    int32_t bos_id, eos_id, unk_id, eot_id, eom_id, pad_id;
    bool add_bos, add_eos;  /* what FL_TOKENIZE_ADD_SPECIAL adds */
    bool add_space_prefix;  /* SPM: prepend a space to each text fragment */
    bool clean_spaces;      /* detokenize: llama.cpp's clean_up_tokenization_spaces */
    bool ignore_merges;     /* BPE: a pre-tokenized word that is a token is taken whole */
} fl_vocab_desc;

/* Fills the defaults llama.cpp uses for `model` (ids, add_bos, add_space_prefix, ...). */
void fl_vocab_desc_defaults(fl_vocab_desc *d, enum fl_tok_model model);

typedef struct fl_tokenizer fl_tokenizer;

/* Build a tokenizer (hash maps, piece cache). Returns 0, or FLARE_EINVAL (duplicate token,
 * missing merges, bad ids; the message names the token index) / FLARE_ENOMEM. */
int fl_tokenizer_new(fl_tokenizer **out, const fl_vocab_desc *d);

/* Build from the tokenizer.ggml.* keys of an open GGUF file. FLARE_EINVAL names the missing or
 * mistyped key; FLARE_EUNSUP names an unknown tokenizer model or pre-tokenizer. */
int fl_tokenizer_from_gguf(fl_tokenizer **out, const gguf_file *f);

void fl_tokenizer_free(fl_tokenizer *t);

/* ---- queries -------------------------------------------------------------------------------- */

enum fl_tok_model fl_tok_model_of(const fl_tokenizer *t);
const char *fl_tok_model_name(const fl_tokenizer *t); /* "llama" or "gpt2" */
uint32_t fl_tok_n_tokens(const fl_tokenizer *t);
int32_t fl_tok_bos(const fl_tokenizer *t);
int32_t fl_tok_eos(const fl_tokenizer *t);
int32_t fl_tok_unk(const fl_tokenizer *t);
bool fl_tok_add_bos(const fl_tokenizer *t);
/* True for the end-of-generation tokens (EOS, EOT, EOM). */
bool fl_tok_is_eog(const fl_tokenizer *t, int32_t id);
enum fl_token_type fl_tok_type(const fl_tokenizer *t, int32_t id); /* UNDEFINED when out of range */
float fl_tok_score(const fl_tokenizer *t, int32_t id);
/* The token's text as stored in the vocabulary (not NUL-terminated); NULL when out of range. */
const char *fl_tok_text(const fl_tokenizer *t, int32_t id, size_t *len);
/* The id of an exact vocabulary text, or FL_TOKEN_NONE. */
int32_t fl_tok_find(const fl_tokenizer *t, const char *text, size_t len);

/* ---- tokenize ------------------------------------------------------------------------------- */

enum {
    FL_TOKENIZE_ADD_SPECIAL = 1u << 0,   /* BOS/EOS as the vocabulary says (add_bos, add_eos) */
    FL_TOKENIZE_PARSE_SPECIAL = 1u << 1, /* control tokens written in the text become tokens */
};

/* text (len bytes) -> *ids (malloc'ed, *n_ids entries; free()). Returns 0 or FLARE_ENOMEM /
 * FLARE_EINVAL (a byte without a byte token in a broken vocabulary). */
int fl_tokenize(const fl_tokenizer *t, const char *text, size_t len, unsigned flags,
                int32_t **ids, size_t *n_ids);

/* ---- detokenize ----------------------------------------------------------------------------- */

/* The piece of one token, as llama.cpp's token_to_piece: SPM U+2581 -> ' ', byte tokens -> the
 * raw byte, BPE byte-level code points -> bytes. Control/unknown tokens give their text when
 * `special`, else "". NULL (and *len 0) when id is out of range. Not NUL-terminated. */
const char *fl_token_piece(const fl_tokenizer *t, int32_t id, bool special, size_t *len);

enum {
    FL_DETOK_SPECIAL = 1u << 0,        /* render control/unknown tokens' text */
    FL_DETOK_REMOVE_SPECIAL = 1u << 1, /* drop a leading BOS / trailing EOS the vocab adds */
};

/* ids -> *text (malloc'ed, NUL-terminated, *len bytes), exactly llama.cpp's llama_detokenize:
 * with add_space_prefix the first token's leading space is stripped (unless a leading BOS was
 * removed by FL_DETOK_REMOVE_SPECIAL); clean_spaces vocabularies get the " ?"/" 's" clean-up.
 * Returns 0, FLARE_ERANGE (an id out of range, named) or FLARE_ENOMEM. */
int fl_detokenize(const fl_tokenizer *t, const int32_t *ids, size_t n, unsigned flags, char **text,
                  size_t *len);

/* Streaming decoder for generation: feed ids one at a time, get back only complete UTF-8
 * characters; a character split over byte tokens is held back until its last byte arrives.
 * Bytes that cannot form a character are emitted as U+FFFD, so the output is valid UTF-8. */
typedef struct {
    const fl_tokenizer *tok;
    unsigned flags;          /* FL_DETOK_SPECIAL, FL_DETOK_STREAM_LSTRIP */
    bool first;              /* no token pushed yet */
    unsigned char pend[4];   /* the incomplete character so far */
    uint32_t n_pend, need;   /* bytes held, bytes the character needs */
    char *buf;               /* output of the last push */
    size_t cap;
} fl_detok_stream;

enum { FL_DETOK_STREAM_LSTRIP = 1u << 2 }; /* strip one leading space of the first piece */

void fl_detok_stream_init(fl_detok_stream *s, const fl_tokenizer *t, unsigned flags);
/* Decode one more token. *out points into the stream's buffer (valid until the next call),
 * *out_len may be 0. Returns 0, FLARE_ERANGE (bad id) or FLARE_ENOMEM. */
int fl_detok_stream_push(fl_detok_stream *s, int32_t id, const char **out, size_t *out_len);
/* End of stream: a held incomplete character comes out as U+FFFD. */
int fl_detok_stream_flush(fl_detok_stream *s, const char **out, size_t *out_len);
void fl_detok_stream_free(fl_detok_stream *s);

#endif
