/* host/info.h: the `flare info` report of a GGUF file: header facts, metadata (long arrays
 * summarised), the tensor table, totals by type, and derived figures (parameters, bytes
 * streamed per decoded token, KV-cache bytes per token of context), as text or JSON.
 *
 * Only the header, metadata and tensor infos are touched: tensor data in the mapping is never
 * read, so `flare info` on a multi-GB file costs a few pages of I/O. */
#ifndef FLARE_HOST_INFO_H
#define FLARE_HOST_INFO_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "host/gguf.h"

typedef struct {
    uint64_t n_params;           /* elements of every tensor */
    uint64_t tensor_bytes;       /* bytes of every tensor (without alignment padding) */
    uint64_t embd_row_bytes;     /* one row of token_embd.weight (0 when absent) */
    bool tied_output;            /* no output.weight: token_embd is also the output matrix */
    uint64_t stream_bytes;       /* streamed per decoded token: every tensor except
                                  * token_embd, plus one token_embd row (all of token_embd
                                  * when tied_output) */
    /* from <arch>.* metadata; 0 when missing */
    uint64_t n_layers, n_heads, n_kv_heads, head_dim, n_ctx;
    uint64_t kv_bytes_per_token; /* 2 (K and V) * layers * kv_heads * head_dim * 2 (fp16) */
} fl_info_figures;

/* Derived figures of an open file. Always succeeds; missing metadata leaves fields 0. */
void fl_info_figures_get(const gguf_file *f, fl_info_figures *out);

/* Print the report of an open file to `out` (text, or JSON when `json`). Returns 0, or
 * FLARE_EIO when writing to `out` failed. */
int fl_info_print(FILE *out, const gguf_file *f, bool json);

#endif
