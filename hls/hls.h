/* hls/hls.h: the HLS kernel top functions and, for C simulation, their on-chip state.
 *
 * Under Vitis (__SYNTHESIS__) the kernels keep their on-chip memories (KV cache, quantized x,
 * scores) in `static` arrays bound to URAM/BRAM, and the top functions take only the ports of
 * flare/kernels.h. Compiled natively (csim, the golden model) the same arrays live in an
 * fl_hls_state that the csim device allocates when it is opened, passed as a first argument:
 * a flare binary carries no 92 MiB KV cache in .bss, and two csim devices are independent. */
#ifndef FLARE_HLS_H
#define FLARE_HLS_H

#include <stdint.h>

#include "flare/kernels.h"

/* ---- on-chip state (native builds) ---- */
#define FL_KV_ROWS ((uint64_t)FL_MAX_LAYERS * 2u * FL_MAX_CTX * FL_MAX_KV_HEADS)
#define FL_KV_ELEMS (FL_KV_ROWS * FL_MAX_HEAD_DIM)
#define FL_XQ_BLOCKS ((uint64_t)FL_MAX_T * (FL_MAX_K / 32u))

typedef struct fl_hls_state {
    uint16_t *kv;       /* (FL_MAX_LAYERS, 2 (k, v), FL_MAX_CTX, FL_MAX_KV_HEADS, FL_MAX_HEAD_DIM):
                           fp16 bits, or an int8 in the low byte (FL_ATT_KV_INT8) */
    uint16_t *kv_scale; /* (FL_MAX_LAYERS, 2, FL_MAX_CTX, FL_MAX_KV_HEADS) fp16 (int8 mode) */
    uint32_t *kv_len;   /* (FL_MAX_LAYERS) positions cached */
    uint8_t *kv_mode;   /* (FL_MAX_LAYERS) flags & FL_ATT_KV_INT8 of the sequence */
    int8_t *xq;         /* (FL_MAX_T, FL_MAX_K) x quantized to Q8_0 values */
    uint16_t *xd;       /* (FL_MAX_T, FL_MAX_K / 32) fp16 Q8_0 scales */
    float *scores;      /* (FL_MAX_CTX) one head's scores, then softmax numerators */
} fl_hls_state;

#ifdef __SYNTHESIS__
#define FL_HLS_STATE_PARAM
#else
#define FL_HLS_STATE_PARAM fl_hls_state *st,

/* Allocate the state (zeroed: empty KV cache). Returns 0 or FLARE_ENOMEM with a message. */
int fl_hls_state_open(fl_hls_state **out);
void fl_hls_state_close(fl_hls_state *st);
/* Bytes the state reserves (the on-chip memory a build needs). */
uint64_t fl_hls_state_bytes(void);
#endif

/* ---- kernels (arguments: flare/kernels.h) ----
 * Pointers are the AXI4 master ports (device memory); status receives an FL_KST_* code. On a
 * non-zero status nothing is written: not y / out, not the KV cache. */
void fl_qmatmul(FL_HLS_STATE_PARAM const uint8_t *w, const uint8_t *w_up, const float *x,
                const float *norm_w, const float *r, float *y, uint32_t wtype, uint32_t n,
                uint32_t k, uint32_t t, uint32_t flags, float eps, uint32_t *status);

void fl_attention(FL_HLS_STATE_PARAM const float *q, const float *k, const float *v,
                  const float *rope, float *out, uint32_t layer, uint32_t pos, uint32_t t,
                  uint32_t n_head, uint32_t n_kv, uint32_t head_dim, uint32_t n_rot,
                  uint32_t flags, uint32_t *status);

/* The qmatmul prologue alone (what fl_qmatmul does first; arguments already checked): token
 * rows x (t, k) at x + tt * k, optionally RMSNorm'ed with norm_w (k,) and eps (flags &
 * FL_QMM_NORM), quantized to Q8_0: xq (FL_MAX_T, FL_MAX_K) int8 values at tt * FL_MAX_K +
 * 32 * b + j, xd (FL_MAX_T, FL_MAX_K / 32) fp16 scales at tt * (FL_MAX_K / 32) + b. */
void fl_qmm_quantize_rows(const float *x, const float *norm_w, uint32_t k, uint32_t t,
                          uint32_t flags, float eps, int8_t *xq, uint16_t *xd);

/* Argument checks, without touching memory: FL_KST_OK or the status the kernel would return
 * (the attention check needs the state for the cached length and KV type of the layer). */
uint32_t fl_qmatmul_check(uint32_t wtype, uint32_t n, uint32_t k, uint32_t t, uint32_t flags);

/* ---- host side (not synthesized) ----
 * RoPE table for positions pos..pos+t-1: cs (t, n_rot/2, 2) = {cos, sin} of
 * theta = (pos + i) * base^(-2j / n_rot), evaluated in double and rounded to fp32. */
void fl_rope_table(float *cs, uint32_t pos, uint32_t t, uint32_t n_rot, float base);

#endif
