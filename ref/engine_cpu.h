/* ref/engine_cpu.h: the CPU reference engine: a llama forward pass over a fl_llama.
 *
 * Weights are used in place in their stored type (F32, F16, Q8_0, Q5_0, Q4_0); activations
 * are quantized to Q8_0 blocks for quantized matrices and dotted per block in integers
 * (ggml's vec_dot_*_q8_0 semantics), as llama.cpp's CPU backend does. The KV cache holds
 * n_ctx positions in F16 (default) or F32. Prompt tokens go through the matrices n_batch at a
 * time; matrix rows and attention heads are split across a persistent thread pool. */
#ifndef FLARE_REF_ENGINE_CPU_H
#define FLARE_REF_ENGINE_CPU_H

#include <stdint.h>

#include "flare/llama.h"

typedef struct {
    uint32_t n_ctx;     /* KV cache positions (0: the model's context length) */
    uint32_t n_threads; /* threads in all, >= 1 */
    uint32_t n_batch;   /* prompt tokens per forward chunk (0: 128) */
    uint32_t kv_type;   /* FL_TYPE_F16 (default) or FL_TYPE_F32 */
    int scalar;         /* 1: the scalar reference dot products only (no SIMD kernels) */
} fl_engine_opts;

typedef struct fl_engine fl_engine;

/* Called after each layer with the residual stream of the tokens just processed. */
typedef void (*fl_engine_layer_hook)(void *user, uint32_t layer, const float *x /* (T, n_embd) */,
                                     uint32_t T);

void fl_engine_default_opts(fl_engine_opts *o);

/* `m` must outlive the engine. Returns 0 or a FLARE_E* code. */
int fl_engine_new(fl_engine **out, const fl_llama *m, const fl_engine_opts *o);
void fl_engine_free(fl_engine *e);

/* Run n tokens at positions n_past.. and append them to the KV cache; afterwards
 * fl_engine_logits() holds the logits after the last of them. FLARE_ERANGE when the context is
 * full, FLARE_EINVAL for a token id outside the vocabulary (nothing is changed then). */
int fl_engine_eval(fl_engine *e, const int32_t *tokens, uint32_t n);

const float *fl_engine_logits(const fl_engine *e); /* (n_vocab) */
uint32_t fl_engine_n_past(const fl_engine *e);
uint32_t fl_engine_n_ctx(const fl_engine *e);
void fl_engine_reset(fl_engine *e);                /* forget the context (n_past = 0) */
uint64_t fl_engine_kv_bytes(const fl_engine *e);   /* size of the KV cache */
void fl_engine_set_hook(fl_engine *e, fl_engine_layer_hook fn, void *user);
/* Name of the matrix kernels in use ("scalar", "avx2", ...). */
const char *fl_engine_kernels(const fl_engine *e);

#endif
