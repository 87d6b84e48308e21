/* host/vocab_builtin.h: the small built-in SentencePiece-style vocabulary `flare mkmodel` writes
 * when no --vocab file is given.
 *
 * Layout (tokenizer.ggml.model = "llama", the id conventions of LLaMA's SPM vocabulary):
 *   0 "<unk>" (unknown), 1 "<s>" (control, BOS), 2 "</s>" (control, EOS),
 *   3..258 the byte tokens "<0x00>".."<0xFF>" (type byte, score 0),
 *   then merged pieces ("▁"-prefixed words and their prefixes, common bigrams) with scores
 *   0, -1, -2, ... (higher merges first), then "▁" and the 94 printable ASCII characters.
 * Every piece of two or more characters splits into two pieces of the vocabulary, so an SPM
 * tokenizer reaches it by merges; any other text falls back to the byte tokens.
 * Padding (for a larger --vocab-size) appends unique "<unused N>" pieces of type unused with a
 * very low score, which no tokenizer produces from text. */
#ifndef FLARE_HOST_VOCAB_BUILTIN_H
#define FLARE_HOST_VOCAB_BUILTIN_H

#include <stdint.h>

/* tokenizer.ggml.token_type values (llama.cpp's llama_token_type). */
enum fl_vb_token_type {
    FL_VB_NORMAL = 1,
    FL_VB_UNKNOWN = 2,
    FL_VB_CONTROL = 3,
    FL_VB_USER_DEFINED = 4,
    FL_VB_UNUSED = 5,
    FL_VB_BYTE = 6,
};

#define FL_VB_UNK_ID 0
#define FL_VB_BOS_ID 1
#define FL_VB_EOS_ID 2
#define FL_VB_PAD_SCORE (-1e9f) /* score of padding pieces */

typedef struct {
    uint32_t n;          /* tokens */
    uint32_t n_builtin;  /* tokens before padding */
    char **tokens;       /* (n,) NUL-terminated UTF-8 pieces, into one arena */
    float *scores;       /* (n,) */
    int32_t *types;      /* (n,) enum fl_vb_token_type */
    char *arena;
} fl_vocab;

/* Number of tokens in the built-in vocabulary (without padding). */
uint32_t fl_vocab_builtin_size(void);

/* Build the vocabulary with n_vocab tokens (0: the built-in size; more: padded). Returns 0, or
 * FLARE_EINVAL when n_vocab is below the built-in size, FLARE_ENOMEM. Free with fl_vocab_free. */
int fl_vocab_builtin(fl_vocab *v, uint32_t n_vocab);

void fl_vocab_free(fl_vocab *v);

#endif
