/* hls/native.c: the parts of hls/ that only exist in native builds (never synthesized): the
 * C-simulation state that stands in for the kernels' on-chip memories, and the host-side RoPE
 * table the attention kernel reads. */
#ifndef __SYNTHESIS__
#include "hls/hls.h"

#include <math.h>
#include <stdlib.h>

#include "flare/error.h"

/* ---- csim state ---- */
uint64_t fl_hls_state_bytes(void)
{
    return FL_KV_ELEMS * 2u + FL_KV_ROWS * 2u + FL_MAX_LAYERS * 5u +
           (uint64_t)FL_MAX_T * FL_MAX_K + FL_XQ_BLOCKS * 2u + FL_MAX_CTX * 4u;
}

int fl_hls_state_open(fl_hls_state **out)
{
    *out = NULL;
    fl_hls_state *st = calloc(1, sizeof *st);
    if (!st)
        return flare_error(FLARE_ENOMEM, "csim: cannot allocate the kernel state");
    /* calloc: the pages of the KV cache are only backed once written */
    st->kv = calloc(FL_KV_ELEMS, sizeof *st->kv);
    st->kv_scale = calloc(FL_KV_ROWS, sizeof *st->kv_scale);
    st->kv_len = calloc(FL_MAX_LAYERS, sizeof *st->kv_len);
    st->kv_mode = calloc(FL_MAX_LAYERS, sizeof *st->kv_mode);
    st->xq = calloc((uint64_t)FL_MAX_T * FL_MAX_K, sizeof *st->xq);
    st->xd = calloc(FL_XQ_BLOCKS, sizeof *st->xd);
    st->scores = calloc(FL_MAX_CTX, sizeof *st->scores);
    if (!st->kv || !st->kv_scale || !st->kv_len || !st->kv_mode || !st->xq || !st->xd ||
        !st->scores) {
        fl_hls_state_close(st);
        return flare_error(FLARE_ENOMEM, "csim: cannot allocate %llu bytes of on-chip memory",
                           (unsigned long long)fl_hls_state_bytes());
    }
    *out = st;
    return 0;
}

void fl_hls_state_close(fl_hls_state *st)
{
    if (!st)
        return;
    free(st->kv);
    free(st->kv_scale);
    free(st->kv_len);
    free(st->kv_mode);
    free(st->xq);
    free(st->xd);
    free(st->scores);
    free(st);
}

/* ---- RoPE table ---- */
void fl_rope_table(float *cs, uint32_t pos, uint32_t t, uint32_t n_rot, float base)
{
    for (uint32_t i = 0; i < t; i++) {
        for (uint32_t j = 0; j < n_rot / 2u; j++) {
            double theta = (double)(pos + i) * pow((double)base, -2.0 * j / (double)n_rot);
            cs[((uint64_t)i * (n_rot / 2u) + j) * 2u] = (float)cos(theta);
            cs[((uint64_t)i * (n_rot / 2u) + j) * 2u + 1u] = (float)sin(theta);
        }
    }
}
#endif
