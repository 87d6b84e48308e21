/* tests/hls/hls_chain.h: the hls/ kernels chained by hand into a llama forward pass (tests). */
#ifndef FLARE_TESTS_HLS_CHAIN_H
#define FLARE_TESTS_HLS_CHAIN_H

#include <stdint.h>

#include "flare/llama.h"
#include "hls/hls.h"

/* Feed t tokens at position pos through every layer of m on the csim state st (KV cache kept
 * in st); logits (n_vocab) of the last one. Asserts every kernel status. att_flags: 0 (fp16 KV)
 * or FL_ATT_KV_INT8. */
void hls_chain_forward(fl_hls_state *st, const fl_llama *m, const int32_t *tok, uint32_t t,
                       uint32_t pos, uint32_t att_flags, float *logits);

#endif
