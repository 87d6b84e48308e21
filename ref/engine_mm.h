/* ref/engine_mm.h: the matrix kernels the CPU engine calls, chosen once at engine creation.
 *
 * fl_mm_rows: y[t][r] = dot(W row r, activation t) for r in [r0, r1), t < T, with y laid out
 * (T, w->ne1). Quantized rows (Q4_0, Q5_0, Q8_0) dot the Q8_0 activations xq (T, ne0/32
 * blocks, from fl_mm_quantize); F32 and F16 rows dot the float activations x (T, ne0).
 * The work is done by ref/kernels.h at the chosen ISA; fl_mm_rows_ref is an independent
 * scalar version on ref/quants.h's vec_dot functions, kept for the tests. */
#ifndef FLARE_REF_ENGINE_MM_H
#define FLARE_REF_ENGINE_MM_H

#include <stdint.h>

#include "flare/ggml.h"
#include "flare/llama.h"

typedef struct {
    int isa;          /* fl_isa */
    const char *name; /* "scalar", "avx2", "avx512" */
} fl_mm_kernels;

/* The fastest kernels this CPU runs (honouring FLARE_ISA), or the scalar ones. */
void fl_mm_select(fl_mm_kernels *k, int scalar);

/* x (T, k) -> xq (T, k/32) as ggml's CPU backend quantizes activations. */
void fl_mm_quantize(const fl_mm_kernels *kern, const float *x, block_q8_0 *xq, uint32_t T,
                    uint64_t k);

void fl_mm_rows(const fl_mm_kernels *kern, const fl_weight *w, const float *x,
                const block_q8_0 *xq, uint32_t T, uint64_t r0, uint64_t r1, float *y);

/* Scalar reference of fl_mm_rows built on ref/quants.h (one vec_dot per row and token). */
void fl_mm_rows_ref(const fl_weight *w, const float *x, const block_q8_0 *xq, uint32_t T,
                    uint64_t r0, uint64_t r1, float *y);

#endif
