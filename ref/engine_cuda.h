/* ref/engine_cuda.h: the CUDA reference engine, the same API shape as ref/engine_cpu.h.
 *
 * The engine itself is build/libflare_cuda.so (ref/cuda/, built by `make cuda` with nvcc); this
 * side (ref/engine_cuda.c, in libflare) dlopen()s it on first use, so a flare built without
 * CUDA, or run on a machine without a driver or GPU, still works and says what is missing:
 *   "flare was built without the CUDA engine (run make cuda)"      no libflare_cuda.so
 *   "cannot load ... named by FLARE_CUDA_LIB (...)"                 the library named is not one
 *   "no CUDA driver (cudaErrorInsufficientDriver / libcuda.so.1 not found ...)"
 *   "no GPU (cudaErrorNoDevice ...)"
 * The library is looked for at $FLARE_CUDA_LIB when set, else next to the running program
 * (/proc/self/exe's directory: build/flare finds build/libflare_cuda.so).
 *
 * Arithmetic follows the CPU engine: quantized weights against Q8_0-quantized activations with
 * integer block sums, an fp16 KV cache, the CPU's RoPE table; results agree with fl_engine to
 * rounding (tests/ref/test_engine_cuda.c). */
#ifndef FLARE_REF_ENGINE_CUDA_H
#define FLARE_REF_ENGINE_CUDA_H

#include <stddef.h>
#include <stdint.h>

#include "flare/llama.h"
#include "ref/engine_cpu.h"

typedef struct {
    uint32_t n_ctx;   /* KV cache positions (0: the model's context length) */
    uint32_t n_batch; /* prompt tokens per forward chunk (0: 512) */
    uint32_t device;  /* CUDA device ordinal (cuda:N) */
    int graphs;       /* 1 (default): single-token forwards replayed as a CUDA graph */
    int mma;          /* 1 (default): quantized prompt chunks of >= 8 tokens on int8 tensor
                         cores (64 x 64 tiles through shared memory); 2: the same with the
                         first, per-warp kernel (for A/B); 0: dp4a kernels only */
    int fuse;         /* 1 (default): single-token forwards fuse each step after a matrix
                         product into its launch (5 launches a layer); 0: one launch a step */
    uint32_t att_split; /* 0 (default): single-token attention split over positions into about
                           two blocks an SM; N: at most N blocks a head (1: none; <= 16) */
} fl_cuda_opts;

typedef struct fl_cuda_engine fl_cuda_engine;

void fl_cuda_default_opts(fl_cuda_opts *o);

/* 0 when CUDA device `device` is usable; msg (may be NULL) gets its description, or why not:
 * the library is missing, no driver, no GPU, ... Returns 0 or a FLARE_E* code (the message is
 * also flare_last_error()). */
int fl_cuda_probe(uint32_t device, char *msg, size_t msg_len);

/* A --device URI: 1 for "cuda" (*device = 0) or "cuda:N" (*device = N), 0 for any other
 * device name, FLARE_EINVAL (with a message) for a malformed "cuda:..." ordinal. */
int fl_cuda_parse_uri(const char *uri, uint32_t *device);

/* Path of the loaded libflare_cuda.so (NULL before a successful load). */
const char *fl_cuda_lib_path(void);

/* Upload the weights of `m` to the GPU. Returns 0 or a FLARE_E* code. */
int fl_cuda_engine_new(fl_cuda_engine **out, const fl_llama *m, const fl_cuda_opts *o);
void fl_cuda_engine_free(fl_cuda_engine *e);

/* As fl_engine_eval: n tokens at positions n_past..; FLARE_ERANGE when the context is full,
 * FLARE_EINVAL for a token id outside the vocabulary. */
int fl_cuda_engine_eval(fl_cuda_engine *e, const int32_t *tokens, uint32_t n);

const float *fl_cuda_engine_logits(const fl_cuda_engine *e); /* (n_vocab), host memory */
uint32_t fl_cuda_engine_n_past(const fl_cuda_engine *e);
uint32_t fl_cuda_engine_n_ctx(const fl_cuda_engine *e);
/* Prompt tokens per forward pass (the option, or its default, clamped to the context). */
uint32_t fl_cuda_engine_n_batch(const fl_cuda_engine *e);
void fl_cuda_engine_reset(fl_cuda_engine *e);
/* The same hook type as the CPU engine: residual stream after each layer (host copy). */
void fl_cuda_engine_set_hook(fl_cuda_engine *e, fl_engine_layer_hook fn, void *user);
/* "cuda:0 NVIDIA H200 (sm_90, 139.8 GiB)" */
const char *fl_cuda_engine_device(const fl_cuda_engine *e);
/* Bytes of weights a forward pass reads (every matrix once): the bandwidth floor's numerator. */
uint64_t fl_cuda_engine_weight_bytes(const fl_cuda_engine *e);

/* Device-to-device copy bandwidth (GB/s, read + write) over `bytes`, best of `reps`; a negative
 * FLARE_E* code on error. */
double fl_cuda_d2d_gbps(uint32_t device, uint64_t bytes, int reps);
/* The dense int8 tensor-core peak in TOPS and how it was computed (flcu_int8_peak_tops); 0 when
 * unknown for this GPU, a negative FLARE_E* code on error. */
double fl_cuda_int8_peak_tops(uint32_t device, char *how, size_t how_len);

#endif
