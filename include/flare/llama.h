/* flare/llama.h: the plain description of a llama-architecture model that the engines run.
 *
 * Below host/ on purpose (DESIGN.md: dependencies point down): ref/ engines and drivers take
 * this struct, host/model.c fills it from a GGUF file. It holds only pointers, ggml type ids,
 * shapes and hyperparameters; no GGUF types. Every weight stays where the loader put it
 * (normally the read-only mmap of the file) in its stored type (flare/ggml.h).
 *
 * Shapes follow ggml: ne0 is the row length (contiguous), ne1 the number of rows. A matrix
 * W with ne0 = n_in, ne1 = n_out computes y[r] = dot(W row r, x) for r < n_out. */
#ifndef FLARE_LLAMA_H
#define FLARE_LLAMA_H

#include <stdint.h>

/* A weight tensor view: `data` points at ne1 rows of row_bytes each, of ggml type `type`. */
typedef struct {
    const void *data;
    uint32_t type;      /* enum fl_type */
    uint64_t ne0;       /* elements per row */
    uint64_t ne1;       /* rows (1 for vectors) */
    uint64_t row_bytes; /* bytes per row (fl_row_bytes(type, ne0)) */
} fl_weight;

typedef struct {
    uint32_t n_vocab;     /* tokens */
    uint32_t n_embd;      /* model width (dim) */
    uint32_t n_layer;
    uint32_t n_ff;        /* feed-forward hidden width */
    uint32_t n_head;
    uint32_t n_head_kv;   /* grouped-query attention: n_head % n_head_kv == 0 */
    uint32_t head_dim;    /* n_embd / n_head */
    uint32_t n_rot;       /* rotated dims per head (<= head_dim, even) */
    uint32_t n_ctx_train; /* context length the model was trained for */
    float rms_eps;        /* RMSNorm epsilon */
    float rope_base;      /* RoPE frequency base (10000 by default) */
} fl_llama_hparams;

typedef struct {
    fl_weight attn_norm; /* (n_embd) */
    fl_weight wq;        /* (n_embd -> n_head * head_dim) */
    fl_weight wk;        /* (n_embd -> n_head_kv * head_dim) */
    fl_weight wv;        /* (n_embd -> n_head_kv * head_dim) */
    fl_weight wo;        /* (n_head * head_dim -> n_embd) */
    fl_weight ffn_norm;  /* (n_embd) */
    fl_weight w_gate;    /* (n_embd -> n_ff) */
    fl_weight w_up;      /* (n_embd -> n_ff) */
    fl_weight w_down;    /* (n_ff -> n_embd) */
} fl_llama_layer;

typedef struct {
    fl_llama_hparams hp;
    fl_weight tok_embd;    /* (n_vocab rows of n_embd) */
    fl_weight output_norm; /* (n_embd) */
    fl_weight output;      /* (n_embd -> n_vocab); the same view as tok_embd when tied */
    fl_llama_layer *layers; /* (n_layer) */
    int32_t bos_id;        /* -1 when unknown */
    int32_t eos_id;        /* -1 when unknown */
} fl_llama;

#endif
