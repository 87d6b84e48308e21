/* host/mkmodel.h: `flare mkmodel`: write a complete llama-architecture GGUF with seeded random
 * weights (N(0, 0.02), norm weights exactly 1.0), metadata as llama.cpp writes it, and either the
 * built-in vocabulary or the tokenizer.ggml.* keys of a vocabulary GGUF.
 *
 * Tensors are generated row by row while the GGUF writer streams them out (its fill callback),
 * so memory stays bounded by the largest tensor. Each row has its own PRNG stream seeded from
 * (seed, tensor name, row), so the bytes depend only on the options, never on the thread count. */
#ifndef FLARE_HOST_MKMODEL_H
#define FLARE_HOST_MKMODEL_H

#include <stdint.h>

#define FL_MKMODEL_STD 0.02 /* standard deviation of the random weights */

typedef struct {
    const char *preset;     /* preset name (also the default general.name) */
    const char *name;       /* general.name; NULL: "flare-<preset>" */
    uint32_t type;          /* weight type: FL_TYPE_F32/F16/Q8_0/Q5_0/Q4_0 */
    uint64_t seed;
    uint32_t dim;           /* embedding_length */
    uint32_t ffn;           /* feed_forward_length */
    uint32_t n_layers;      /* block_count */
    uint32_t n_heads;       /* attention.head_count */
    uint32_t n_kv_heads;    /* attention.head_count_kv */
    uint32_t ctx;           /* context_length */
    uint32_t vocab_size;    /* 0: from --vocab or the preset */
    uint32_t preset_vocab;  /* the preset's vocabulary size (0: the built-in size) */
    float rope_base;        /* rope.freq_base */
    float eps;              /* attention.layer_norm_rms_epsilon */
    const char *vocab_path; /* vocabulary GGUF, or NULL for the built-in one */
    uint32_t n_threads;     /* 0: number of online CPUs (at most 16) */
} fl_mkmodel_opts;

/* Fill `o` with the named preset (tiny, stories15M, stories110M, tinyllama, llama2-7b), type
 * Q8_0, seed 1. Returns 0 or FLARE_EINVAL naming --preset and the known names. */
int fl_mkmodel_preset(fl_mkmodel_opts *o, const char *preset);

/* Names of the presets, NULL-terminated. */
const char *const *fl_mkmodel_preset_names(void);

/* Check the options; an error message names the flag (--dim, --heads, ...) and what is expected. */
int fl_mkmodel_check(const fl_mkmodel_opts *o);

/* Write the model to `path`. Returns 0 or a FLARE_E* code with flare_last_error() set. */
int fl_mkmodel_write(const fl_mkmodel_opts *o, const char *path);

/* llama.cpp's general.file_type (LLAMA_FTYPE_*) for a weight type, or -1 when unsupported. */
int fl_mkmodel_file_type(uint32_t type);

/* The PRNG: splitmix64 seeding, xoshiro256** stream, Box-Muller normals. Exposed for tests. */
typedef struct {
    uint64_t s[4];
} fl_rng;

void fl_rng_seed(fl_rng *r, uint64_t seed);
uint64_t fl_rng_next(fl_rng *r);
/* n normal samples with mean 0 and standard deviation `std` into x (n,). */
void fl_rng_normal(fl_rng *r, float *x, uint64_t n, float std);

#endif
