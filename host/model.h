/* host/model.h: a llama-architecture GGUF file read into the plain model description.
 *
 * fl_model_open maps the file (host/gguf.h), reads the hyperparameters the way llama.cpp does
 * (llama.* keys, defaults for head_count_kv, rope.freq_base, rope.dimension_count), and points
 * every weight of include/flare/llama.h into the mapping after checking its presence, type and
 * shape. Errors name the file, then the key or tensor and what was expected. */
#ifndef FLARE_HOST_MODEL_H
#define FLARE_HOST_MODEL_H

#include <stdint.h>

#include "flare/llama.h"
#include "host/gguf.h"

typedef struct {
    gguf_file *gguf;       /* owned when opened by fl_model_open */
    int owns_gguf;
    fl_llama llama;        /* views into the mapping */
    uint64_t weight_bytes; /* bytes a decode step streams: every matrix once + the norms */
    uint64_t file_bytes;
    uint64_t n_params;     /* elements of all weights */
} fl_model;

/* Open `path` and describe it. Returns 0 or a FLARE_E* code (flare_last_error() says why). */
int fl_model_open(fl_model **out, const char *path);

/* Describe an already opened GGUF file (borrowed: it must outlive the model). */
int fl_model_from_gguf(fl_model **out, gguf_file *f);

void fl_model_free(fl_model *m);

/* "f32", "q8_0", ... when every matrix has the same type, else "mixed". */
const char *fl_model_type_name(const fl_model *m);

#endif
