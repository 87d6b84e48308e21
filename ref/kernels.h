/* ref/kernels.h: fast CPU compute kernels of the reference engine (activation quantization and
 * matrix multiplication), chosen at run time by cpuid.
 *
 * Three implementations of every entry: scalar (the definition, built on ref/quants.h),
 * AVX2+FMA+F16C (ref/kernels_avx2.c) and AVX-512 F/BW/VL + VNNI (ref/kernels_avx512.c). The
 * dispatching entries (no _isa suffix) use the best ISA the CPU has, lowered by the environment
 * variable FLARE_ISA=scalar|avx2|avx512 or by fl_kernels_set_isa(). The _isa entries run one
 * implementation explicitly (tests, benchmarks); asking for an ISA the CPU lacks runs scalar.
 *
 * Numerics (what is exact, what is not):
 * - fl_quantize_act_q8_0 rounds as ggml's CPU backend quantizes activations (its SIMD
 *   quantize_row_q8_0, not quantize_row_q8_0_ref): d = amax / 127 stored as fp16,
 *   id = amax ? 127 / amax : 0 in fp32, q = round-half-to-even(x * id). Every ISA gives the
 *   same bytes (tested), non-finite input included (converted as x86 does: NaN -> -128).
 * - Quantized matmul: the integer dot of each 32-element block is exact in int32 in every ISA
 *   (identical to the scalar fl_vec_dot_*_q8_0 block sums); the fp32 steps (block sum * d_w *
 *   d_x, then the sum over blocks) run in another order and with FMA in the SIMD paths, so
 *   results differ from scalar by float rounding only (relative ~1e-6 of sum |terms|).
 * - F32/F16 matmul: fp32 products summed in fp32 in a blocked order (SIMD) or double (scalar). */
#ifndef FLARE_REF_KERNELS_H
#define FLARE_REF_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "flare/ggml.h"

typedef enum {
    FL_ISA_SCALAR = 0,
    FL_ISA_AVX2 = 1,   /* AVX2 + FMA + F16C */
    FL_ISA_AVX512 = 2, /* AVX-512 F, BW, VL, DQ + VNNI */
    FL_ISA_COUNT
} fl_isa;

/* ---- ISA selection ------------------------------------------------------------------------ */

/* Best ISA this CPU supports (cpuid), ignoring FLARE_ISA. */
fl_isa fl_cpu_best_isa(void);

/* ISA the dispatching entries use: fl_cpu_best_isa() lowered by FLARE_ISA (read once) or by
 * fl_kernels_set_isa(). */
fl_isa fl_kernels_isa(void);

/* Selects the ISA for the dispatching entries. FLARE_EUNSUP (with a message) when the CPU lacks
 * it, FLARE_EINVAL for a bad value. Not meant to be called while other threads run kernels. */
int fl_kernels_set_isa(fl_isa isa);

/* "scalar", "avx2", "avx512"; fl_isa_from_name returns -1 for an unknown name. */
const char *fl_isa_name(fl_isa isa);
int fl_isa_from_name(const char *name);

/* ---- Activation quantization -------------------------------------------------------------- */

/* x (T, k) fp32, rows contiguous -> xq (T, k/32) Q8_0 blocks, rows contiguous. k % 32 == 0.
 * Quantized values are in -127..127 (never -128), which the matmul kernels rely on. */
void fl_quantize_act_q8_0(const float *x, block_q8_0 *xq, int64_t T, int64_t k);
void fl_quantize_act_q8_0_isa(fl_isa isa, const float *x, block_q8_0 *xq, int64_t T, int64_t k);

/* ---- Matrix multiplication ---------------------------------------------------------------- */

/* Activation type a weight type multiplies with: FL_TYPE_Q8_0 for Q4_0/Q5_0/Q8_0 weights
 * (quantize x with fl_quantize_act_q8_0 first), FL_TYPE_F32 for F32/F16 weights. */
uint32_t fl_matmul_x_type(uint32_t wtype);

/* y[t * y_stride + r] = sum_i W[r][i] * x[t][i]  for r in [r0, r1), t in [0, T).
 *   W (n_rows, k): row r starts at (const char *)W + r * w_row_bytes, type wtype (F32, F16,
 *     Q8_0, Q5_0, Q4_0; w_row_bytes >= fl_row_bytes(wtype, k)); rows outside [r0, r1) are
 *     not read, so threads split the rows of one matmul by giving disjoint ranges.
 *   x (T, k): fl_matmul_x_type(wtype) rows, contiguous: T rows of k/32 block_q8_0, or T rows
 *     of k floats.
 *   y (T, y_stride) fp32, y_stride >= r1; only y[t][r0..r1) is written.
 * k % 32 == 0. The caller checks types and shapes (fl_type_supported, fl_row_bytes); an
 * unsupported wtype writes nothing. Thread-safe. Quantized weights: no allocation for T = 1
 * (k <= 8192), a transient scratch buffer (malloc, about T * k * 1.125 bytes + 40 KB) for
 * T >= 2, which runs the register-tiled prefill kernel; if malloc fails the scalar
 * definition runs. Row ranges that are multiples of 16 (AVX-512) / 8 (AVX2) waste nothing. */
void fl_matmul_rows(uint32_t wtype, const void *W, size_t w_row_bytes, int64_t k, const void *x,
                    int64_t T, float *y, int64_t y_stride, int64_t r0, int64_t r1);
void fl_matmul_rows_isa(fl_isa isa, uint32_t wtype, const void *W, size_t w_row_bytes,
                        int64_t k, const void *x, int64_t T, float *y, int64_t y_stride,
                        int64_t r0, int64_t r1);

#endif
