/* ref/cuda/flare_cuda.h: the C ABI of build/libflare_cuda.so, the CUDA reference engine.
 *
 * The contract between two sides (STYLE: one interface header that says who implements what):
 *   - ref/cuda/engine.cu implements every function here (extern "C", compiled by nvcc, cudart
 *     linked statically so only the driver libcuda.so.1 is needed at run time);
 *   - ref/engine_cuda.c (in libflare) dlopen()s the library and looks the functions up by the
 *     names below; it never links against CUDA.
 * The library is standalone (it does not call into libflare): errors come back as negative
 * FLARE_E* values with the message in flcu_last_error().
 *
 * FLCU_ABI_VERSION changes whenever a signature here changes; the loader refuses a library
 * whose flcu_abi_version() differs. */
#ifndef FLARE_REF_CUDA_FLARE_CUDA_H
#define FLARE_REF_CUDA_FLARE_CUDA_H

#include <stddef.h>
#include <stdint.h>

#include "flare/llama.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FLCU_ABI_VERSION 6

typedef struct {
    uint32_t n_ctx;   /* KV cache positions (0: the model's context length) */
    uint32_t n_batch; /* prompt tokens per forward chunk (0: 512) */
    uint32_t device;  /* CUDA device ordinal */
    int graphs;       /* 1: replay single-token forwards as a CUDA graph (default); 0: plain
                         launches (also used whenever a layer hook is set) */
    int mma;          /* 1: prompt chunks of >= 8 tokens with quantized weights use int8 tensor
                         cores (mma.sync m16n8k32, mma.cuh's tiled kernel); 2: the same on the
                         per-warp kernel; 0: the dp4a kernels everywhere */
    int fuse;         /* 1: a single-token forward runs RoPE + cache, SwiGLU and RMSNorm at the
                         end of the matrix product before each, attention quantizes its output
                         (5 launches a layer); 0: each step its own launch (10) */
    uint32_t att_split; /* single-token attention: blocks a head at most (flash-decoding);
                           0: about two blocks an SM over the heads; 1: one; at most 16 */
} flcu_opts;

/* Same signature as fl_engine_layer_hook (ref/engine_cpu.h): the residual stream after each
 * layer, copied to host memory. */
typedef void (*flcu_layer_hook)(void *user, uint32_t layer, const float *x /* (T, n_embd) */,
                                uint32_t T);

int flcu_abi_version(void);
/* 0 when device `device` is usable (msg: its name, compute capability and memory), else a
 * negative FLARE_E* code and msg says why: no CUDA driver, no GPU, ... */
int flcu_probe(uint32_t device, char *msg, size_t msg_len);
/* Upload the weights of `m` (read once; `m` need not outlive the engine). */
int flcu_create(void **out, const fl_llama *m, const flcu_opts *o);
int flcu_eval(void *e, const int32_t *tokens, uint32_t n);
const float *flcu_logits(void *e); /* (n_vocab), host memory */
uint32_t flcu_n_past(void *e);
uint32_t flcu_n_ctx(void *e);
uint32_t flcu_n_batch(void *e); /* prompt tokens per forward pass, as created (default, clamped) */
void flcu_reset(void *e);
void flcu_set_hook(void *e, flcu_layer_hook fn, void *user);
void flcu_free(void *e);
uint64_t flcu_weight_bytes(void *e); /* device bytes of the weights (uploaded form) */
const char *flcu_device_info(void *e);
/* Device-to-device copy bandwidth in GB/s (1e9 bytes/s) over `bytes`, best of `reps` (for the
 * bandwidth floor in tools/bench_cuda.c); negative FLARE_E* on error. */
double flcu_d2d_gbps(uint32_t device, uint64_t bytes, int reps);
/* The dense int8 tensor-core peak of `device` in TOPS (1e12 ops/s, a multiply-add is 2 ops):
 * SMs x the SM clock (cudaDevAttrClockRate) x the int8 ops per clock and SM of its compute
 * capability (4096 on sm_80, 8192 on sm_90); `how` says which numbers. 0 when the capability's
 * rate is not known here (and on the emulator); negative FLARE_E* on error. */
double flcu_int8_peak_tops(uint32_t device, char *how, size_t how_len);
/* Host-only check of the block decoding the kernels use (repacked layout, nibble and fifth-bit
 * unpacking, the dp4a sums) against flare/ggml.h's definition on random blocks: 0 or
 * FLARE_EINVAL with the first mismatch in flcu_last_error(). Needs no GPU. */
int flcu_selftest(void);
/* The message of this thread's last error. */
const char *flcu_last_error(void);

#ifdef __cplusplus
}
#endif

#endif
