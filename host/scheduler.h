/* host/scheduler.h: the layer scheduler: a llama forward pass on a device (driver/dev.h).
 *
 * Same shape as the CPU engine (ref/engine_cpu.h), so `flare run` and the cross-check drive
 * either: new(model, device, opts) / eval(tokens, n) / logits / n_past / reset / set_hook /
 * stats / free.
 *
 * Load: the hyperparameters are checked against the device build (hls/config.h); a shape above
 * a build maximum is refused with a message naming the limit and the -D option that raises it.
 * Every weight matrix is uploaded once (q|k|v rows of a layer into one buffer, so a decode step
 * computes all three in one qmatmul), the RMSNorm weights as fp32 in one buffer. Q4_0 / Q5_0 /
 * Q8_0 matrices go up as stored; F32 / F16 matrices are converted to Q8_0 at upload (the kernel
 * takes only the three block formats; fl_sched_stats.n_converted counts them and
 * fl_sched_print_stats says how many); other types are refused naming the tensor and its type.
 * The token embedding stays on the host: its rows are dequantized there and written to the
 * device (T * n_embd floats per eval). The upload shows a \r-updated percentage on stderr once
 * it has taken a second, when stderr is a tty or opts.progress = 1.
 *
 * Per eval of T tokens (T <= n_batch; more are split into chunks), activations stay on the
 * device, and per layer:
 *   qkv   = qmatmul(Wq|Wk|Wv, rmsnorm(x) * attn_norm)        (one launch when T = 1, else three)
 *   att   = attention(q, k, v, rope table, layer, pos)        (appends to the on-chip KV cache)
 *   x2    = qmatmul(Wo, att) + x                              (residual epilogue)
 *   h     = qmatmul(Wgate, Wup, rmsnorm(x2) * ffn_norm)       (SwiGLU epilogue)
 *   x     = qmatmul(Wdown, h) + x2                            (residual epilogue)
 * then logits = qmatmul(Wout, rmsnorm(x[T-1]) * output_norm), the only read back per eval. A
 * layer hook reads the residual stream back after every layer, an op hook also after every
 * attention block: the stats count those bytes separately (hook_read_bytes).
 *
 * A kernel the device lacks (fl_dev_supports; attention on the sim device today) runs on the
 * host with explicit transfers: q, k, v are read back, the same hls/ kernel runs natively on a
 * host-side fl_hls_state (its own KV cache), and `att` is written back, so the results are
 * bit-identical to csim's. The stats count these launches and bytes (host_launches,
 * host_read_bytes, host_write_bytes) and fl_sched_print_stats says where attention ran. */
#ifndef FLARE_HOST_SCHEDULER_H
#define FLARE_HOST_SCHEDULER_H

#include <stdint.h>
#include <stdio.h>

#include "driver/dev.h"
#include "flare/llama.h"
#include "ref/engine_cpu.h" /* fl_engine_layer_hook */

typedef struct {
    uint32_t n_ctx;      /* KV positions (0: the model's context length); <= FL_MAX_CTX */
    uint32_t n_batch;    /* prompt tokens per pass (0: FL_MAX_T); <= FL_MAX_T */
    uint32_t att_flags;  /* 0 (fp16 KV) or FL_ATT_KV_INT8 */
    int progress;        /* upload progress bar on stderr: -1 when stderr is a tty, 0 off, 1 on */
    uint32_t timeout_ms; /* bound of each kernel wait (0: 60000) */
} fl_sched_opts;

typedef struct {
    uint64_t n_tokens;        /* tokens evaluated */
    uint64_t n_passes;        /* forward passes (chunks of <= n_batch tokens) */
    uint64_t weight_bytes;    /* weights held on the device (as uploaded) */
    uint32_t n_converted;     /* F32/F16 matrices converted to Q8_0 at upload */
    double upload_s;          /* time to upload the weights */
    double eval_s;            /* time in fl_sched_eval */
    uint64_t launches[FL_KERNEL_COUNT];
    uint64_t write_bytes;     /* host -> device during evals (embedding rows, RoPE tables) */
    uint64_t read_bytes;      /* device -> host during evals (logits + hook read-backs) */
    uint64_t hook_read_bytes; /* of read_bytes: what the hooks cost (0 without hooks) */
    uint64_t hook_write_bytes; /* of write_bytes: rows an input hook replaced */
    /* kernels the device lacks, run on the host (not in launches[] or the bytes above) */
    uint64_t host_launches[FL_KERNEL_COUNT];
    uint64_t host_read_bytes;  /* device -> host: their inputs */
    uint64_t host_write_bytes; /* host -> device: their outputs */
    double host_s;             /* time in them, transfers included */
    fl_dev_stats dev;         /* the device's own counters (upload included) */
} fl_sched_stats;

/* Sub-steps an op hook sees: the residual stream after the attention block (x2 above) and
 * after the FFN block (x, the layer output, what the layer hook also sees). */
enum fl_sched_op {
    FL_SCHED_OP_ATTN = 0,
    FL_SCHED_OP_FFN = 1,
};
typedef void (*fl_sched_op_hook)(void *user, uint32_t layer, uint32_t op,
                                 const float *x /* (T, n_embd) */, uint32_t T);
/* Input hook: called before layer `layer` (n_layer: before the final norm and output
 * projection) with a host buffer for the residual stream; returning 1 means the hook filled x
 * with the rows the layer must use instead, and the scheduler writes them to the device (the
 * cross-check's teacher forcing: every layer gets the reference's input, as test-backend-ops
 * gives each op the same inputs). Returning 0 leaves the device's own stream. */
typedef int (*fl_sched_input_hook)(void *user, uint32_t layer, float *x /* (T, n_embd) */,
                                   uint32_t T);

typedef struct fl_sched fl_sched;

void fl_sched_default_opts(fl_sched_opts *o);

/* Check the model against the device build without uploading: 0 or FLARE_EUNSUP naming the
 * first limit exceeded and the option that raises it (n_ctx as in the opts, 0: the model's). */
int fl_sched_check_model(const fl_llama *m, uint32_t n_ctx);

/* `m` and `dev` are borrowed and must outlive the scheduler. Uploads the weights. Returns 0 or
 * a FLARE_E* code with the message set. */
int fl_sched_new(fl_sched **out, const fl_llama *m, fl_dev *dev, const fl_sched_opts *o);
void fl_sched_free(fl_sched *s); /* frees its device buffers, not the device */

/* Run n tokens at positions n_past..; afterwards fl_sched_logits() holds the logits after the
 * last of them. FLARE_ERANGE when the context is full, FLARE_EINVAL for a token outside the
 * vocabulary (nothing is changed then), a device error as the device reported it. */
int fl_sched_eval(fl_sched *s, const int32_t *tokens, uint32_t n);

const float *fl_sched_logits(const fl_sched *s); /* (n_vocab) */
uint32_t fl_sched_n_past(const fl_sched *s);
uint32_t fl_sched_n_ctx(const fl_sched *s);
uint32_t fl_sched_n_batch(const fl_sched *s);
void fl_sched_reset(fl_sched *s); /* forget the context: the next eval starts at position 0 */
void fl_sched_set_hook(fl_sched *s, fl_engine_layer_hook fn, void *user);
void fl_sched_set_op_hook(fl_sched *s, fl_sched_op_hook fn, void *user);
void fl_sched_set_input_hook(fl_sched *s, fl_sched_input_hook fn, void *user);
void fl_sched_get_stats(const fl_sched *s, fl_sched_stats *out);
/* A few lines on the stats (what went where, what the hooks cost). */
void fl_sched_print_stats(const fl_sched *s, FILE *f);

fl_dev *fl_sched_device(const fl_sched *s);
/* 1 when `kernel` runs on the device, 0 when the scheduler runs it on the host. */
int fl_sched_on_device(const fl_sched *s, uint32_t kernel);
/* Where the device copy of a weight matrix lives ("blk.1.ffn_down", "output", ...): its buffer,
 * byte offset, size and device type. For tests and diagnostics (e.g. corrupting the device copy
 * only). 0 or FLARE_EINVAL for an unknown name. */
int fl_sched_weight(const fl_sched *s, const char *name, fl_dev_buf *buf, uint64_t *off,
                    uint64_t *bytes, uint32_t *type);

#endif
