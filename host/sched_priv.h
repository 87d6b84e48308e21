/* host/sched_priv.h: the scheduler's state, shared by its two files: host/scheduler.c (new,
 * free, the forward pass, stats) and host/sched_upload.c (device buffers, the weights' upload and
 * their lookup by name). Not part of the API (host/scheduler.h is). */
#ifndef FLARE_HOST_SCHED_PRIV_H
#define FLARE_HOST_SCHED_PRIV_H

#include <time.h>

#include "hls/hls.h"
#include "host/scheduler.h"

/* A matrix on the device: n rows of k elements in `type` blocks at buf + off. */
typedef struct {
    fl_dev_buf *buf;
    uint64_t off, bytes;
    uint32_t type, n, k;
    char name[48];
} dmat;

typedef struct {
    dmat q, k, v, o, gate, up, down; /* q, k, v share one buffer (rows q|k|v) when fusable */
    int qkv_fused;
} dlayer;

struct fl_sched {
    const fl_llama *m;
    fl_dev *dev;
    fl_sched_opts o;
    uint32_t n_ctx, n_batch, n_past;
    dlayer *layers;  /* (n_layer) */
    dmat out;        /* output projection */
    fl_dev_buf *bufs; /* (n_bufs) every buffer the scheduler allocated */
    uint32_t n_bufs, cap_bufs;
    fl_dev_buf *norms; /* (2 * n_layer + 1, n_embd) fp32: attn_norm, ffn_norm per layer, output */
    /* activations (device) */
    fl_dev_buf *x, *x2; /* (n_batch, n_embd) residual stream: layer input/output, after attention */
    fl_dev_buf *qkv;    /* (n_batch, nq + 2 nk): q (T, nq), k (T, nk), v (T, nk) back to back */
    fl_dev_buf *att;    /* (n_batch, nq) attention output */
    fl_dev_buf *h;      /* (n_batch, n_ff) SwiGLU output */
    fl_dev_buf *rope;   /* (n_batch, n_rot) {cos, sin} pairs */
    fl_dev_buf *logits_d; /* (n_vocab) */
    /* host */
    float *xh;     /* (n_batch, n_embd) embedding rows, hook read-backs */
    float *ropeh;  /* (n_batch, n_rot) */
    float *logits; /* (n_vocab) */
    fl_engine_layer_hook hook;
    void *hook_user;
    fl_sched_op_hook op_hook;
    void *op_user;
    fl_sched_input_hook in_hook;
    void *in_user;
    /* attention on the host when the device lacks it */
    int att_host;
    fl_hls_state *hst; /* the host kernel's state (KV cache) */
    float *qkvh;       /* (n_batch, nq + 2 nk) q, k, v read back */
    float *atth;       /* (n_batch, nq) its output */
    /* launches queued on the device, oldest first: what and which layer, for messages */
    struct {
        const char *what;
        uint32_t layer;
    } q[FL_DEV_QUEUE];
    uint32_t n_q;
    fl_sched_stats st;
};

static inline double fl_sched_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* A new device buffer of `bytes` (what: for the message), kept in s->bufs; NULL on error. */
fl_dev_buf *fl_sched_new_buf(fl_sched *s, uint64_t bytes, const char *what);
/* Every weight of s->m to the device: matrices in their device type, norm weights as fp32. */
int fl_sched_upload(fl_sched *s);

#endif
