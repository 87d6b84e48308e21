/* ref/engine_mm.c: the engine's matrix kernels over ref/kernels.h (ref/engine_mm.h). */
#include "ref/engine_mm.h"

#include "ref/kernels.h"
#include "ref/quants.h"

void fl_mm_select(fl_mm_kernels *k, int scalar)
{
    k->isa = scalar ? FL_ISA_SCALAR : fl_kernels_isa();
    k->name = fl_isa_name((fl_isa)k->isa);
}

void fl_mm_quantize(const fl_mm_kernels *kern, const float *x, block_q8_0 *xq, uint32_t T,
                    uint64_t k)
{
    fl_quantize_act_q8_0_isa((fl_isa)kern->isa, x, xq, T, (int64_t)k);
}

void fl_mm_rows(const fl_mm_kernels *kern, const fl_weight *w, const float *x,
                const block_q8_0 *xq, uint32_t T, uint64_t r0, uint64_t r1, float *y)
{
    const void *act = fl_matmul_x_type(w->type) == FL_TYPE_Q8_0 ? (const void *)xq
                                                                  : (const void *)x;
    fl_matmul_rows_isa((fl_isa)kern->isa, w->type, w->data, w->row_bytes, (int64_t)w->ne0, act,
                       T, y, (int64_t)w->ne1, (int64_t)r0, (int64_t)r1);
}

void fl_mm_rows_ref(const fl_weight *w, const float *x, const block_q8_0 *xq, uint32_t T,
                    uint64_t r0, uint64_t r1, float *y)
{
    int64_t k = (int64_t)w->ne0, nb = k / FL_QK;
    for (uint64_t r = r0; r < r1; r++) {
        const void *row = (const char *)w->data + r * w->row_bytes;
        for (uint32_t t = 0; t < T; t++) {
            const block_q8_0 *a = xq + (size_t)t * (size_t)nb;
            const float *xf = x + (size_t)t * (size_t)k;
            float s;
            switch (w->type) {
            case FL_TYPE_Q4_0: s = fl_vec_dot_q4_0_q8_0(k, row, a); break;
            case FL_TYPE_Q5_0: s = fl_vec_dot_q5_0_q8_0(k, row, a); break;
            case FL_TYPE_Q8_0: s = fl_vec_dot_q8_0_q8_0(k, row, a); break;
            case FL_TYPE_F16: s = fl_vec_dot_f16_f32(k, row, xf); break;
            default: s = fl_vec_dot_f32_f32(k, row, xf); break;
            }
            y[(size_t)t * w->ne1 + r] = s;
        }
    }
}
