/* ref/quants.h: ggml-exact quantize / dequantize / dot for F32, F16, Q8_0, Q5_0, Q4_0.
 *
 * The scalar functions here are the definition (STYLE: scalar reference first): quantizers round
 * exactly as ggml's quantize_row_*_ref, so flare writes the same bytes llama.cpp writes from the
 * same floats; dot products follow ggml's vec_dot_*_q8_0 semantics (integer sums per block in
 * int32, then sumi * d_x * d_y accumulated in fp32). SIMD versions are tested against these. */
#ifndef FLARE_REF_QUANTS_H
#define FLARE_REF_QUANTS_H

#include <stdint.h>

#include "flare/ggml.h"

/* x (k,) -> y (k/32 blocks); k a multiple of 32. */
void fl_quantize_row_q4_0(const float *x, block_q4_0 *y, int64_t k);
void fl_quantize_row_q5_0(const float *x, block_q5_0 *y, int64_t k);
void fl_quantize_row_q8_0(const float *x, block_q8_0 *y, int64_t k);

/* x (k/32 blocks) -> y (k,) */
void fl_dequantize_row_q4_0(const block_q4_0 *x, float *y, int64_t k);
void fl_dequantize_row_q5_0(const block_q5_0 *x, float *y, int64_t k);
void fl_dequantize_row_q8_0(const block_q8_0 *x, float *y, int64_t k);

/* Any supported type (F32, F16, Q8_0, Q5_0, Q4_0): row of k floats <-> row bytes.
 * Return 0 or FLARE_EUNSUP / FLARE_EINVAL (k not a multiple of the block size). */
int fl_quantize_row(uint32_t type, const float *x, void *dst, int64_t k);
int fl_dequantize_row(uint32_t type, const void *src, float *y, int64_t k);

/* True for the weight types flare's engines compute with. */
int fl_type_supported(uint32_t type);

/* Scalar dot products over n elements (n a multiple of 32): row x of the named type against
 * activations y quantized to Q8_0 (or plain floats for F32/F16 rows). */
float fl_vec_dot_q4_0_q8_0(int64_t n, const block_q4_0 *x, const block_q8_0 *y);
float fl_vec_dot_q5_0_q8_0(int64_t n, const block_q5_0 *x, const block_q8_0 *y);
float fl_vec_dot_q8_0_q8_0(int64_t n, const block_q8_0 *x, const block_q8_0 *y);
float fl_vec_dot_f16_f32(int64_t n, const uint16_t *x, const float *y);
float fl_vec_dot_f32_f32(int64_t n, const float *x, const float *y);

#endif
