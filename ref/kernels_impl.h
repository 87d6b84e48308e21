/* ref/kernels_impl.h: internal to the kernels: the per-ISA entry points that ref/kernels.c
 * dispatches to (ref/kernels_avx2.c, ref/kernels_avx512.c). Same contracts as ref/kernels.h. */
#ifndef FLARE_REF_KERNELS_IMPL_H
#define FLARE_REF_KERNELS_IMPL_H

#include "ref/kernels.h"

void fl_quantize_act_q8_0_scalar(const float *x, block_q8_0 *xq, int64_t T, int64_t k);
void fl_matmul_rows_scalar(uint32_t wtype, const void *W, size_t w_row_bytes, int64_t k,
                           const void *x, int64_t T, float *y, int64_t y_stride, int64_t r0,
                           int64_t r1);

void fl_quantize_act_q8_0_avx2(const float *x, block_q8_0 *xq, int64_t T, int64_t k);
void fl_matmul_rows_avx2(uint32_t wtype, const void *W, size_t w_row_bytes, int64_t k,
                         const void *x, int64_t T, float *y, int64_t y_stride, int64_t r0,
                         int64_t r1);

void fl_quantize_act_q8_0_avx512(const float *x, block_q8_0 *xq, int64_t T, int64_t k);
void fl_matmul_rows_avx512(uint32_t wtype, const void *W, size_t w_row_bytes, int64_t k,
                           const void *x, int64_t T, float *y, int64_t y_stride, int64_t r0,
                           int64_t r1);

#endif
