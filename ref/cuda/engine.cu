/* ref/cuda/engine.cu: the CUDA reference engine: a llama forward pass on one GPU, exported as
 * the C ABI of ref/cuda/flare_cuda.h (build/libflare_cuda.so, loaded by ref/engine_cuda.c).
 *
 * The same forward pass as ref/engine_cpu.c, one stream, kernels from kernels.cuh:
 *   x = embed(tokens)                                          (T, n_embd)
 *   per layer: xn = rmsnorm(x) * attn_norm
 *              q, k, v = Wq xn, Wk xn, Wv xn (xn quantized to Q8_0 once for the three)
 *              rope(q, k) with the CPU's cos/sin table; append k, v to the fp16 cache
 *              att = softmax(q k^T / sqrt(hd)) v            causal, grouped-query heads
 *              x += Wo att                                   (accumulated by the matrix kernel)
 *              xn = rmsnorm(x) * ffn_norm
 *              x += Wdown (silu(Wgate xn) * Wup xn)
 *   logits = Wout (rmsnorm(x[T-1]) * output_norm)
 * Matrices sharing an input (q/k/v, gate/up) and a type run as one launch; prompt chunks of
 * 8+ tokens with quantized weights run on int8 tensor cores (mma.cuh: 64 x 64 tiles through
 * shared memory, or with opts.mma 2 the first per-warp kernel), else dp4a.
 * A single token runs RoPE + cache, SwiGLU and the RMSNorms inside the launch of the matrix
 * product before them (kernels.cuh: mm_epilogue), attention quantizes its own output: 5
 * launches a layer instead of 10 (opts.fuse = 0: one a step).
 * Weights are uploaded once (cudaMalloc + cudaMemcpy, repacked to aligned arrays); a tied
 * output shares the embedding's copy. A single-token forward is captured once as a CUDA graph
 * and replayed (the token and position are read from device memory), which removes the launch
 * overhead that would otherwise dominate decode. */
#ifdef FLCU_EMU
#include "ref/cuda/emu.h" /* the CUDA host emulator: build/libflare_cuda_emu.so */
#else
#include <cuda_runtime.h>
#endif
#include <dlfcn.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flare/error.h"
#include "ref/cuda/flare_cuda.h"
#include "ref/cuda/kernels.cuh"

#define DEFAULT_BATCH 512
#define MAX_BATCH 8192 /* keeps every grid dimension far below its limit */
#define NT_PREFILL 8 /* tokens per pass of the dp4a matrix kernels when T > 1 */
#define MMA_MIN_T 8  /* quantized products of at least this many tokens use tensor cores */

#ifndef FLCU_EMU
template <typename T>
struct same_t {
    typedef T type;
};
/* k<<<grid, block, smem, st>>>(a...), written as a call so that the host emulator (emu.h) runs
 * the same source. */
template <typename... P>
static void launch(void (*k)(P...), dim3 grid, dim3 block, size_t smem, cudaStream_t st,
                   typename same_t<P>::type... a)
{
    k<<<grid, block, smem, st>>>(a...);
}
#endif

/* ---- errors --------------------------------------------------------------------------------- */

static __thread char g_err[512];

static int set_err(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int set_err(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_err, sizeof g_err, fmt, ap);
    va_end(ap);
    return code;
}

/* A CUDA call that must succeed; on failure the message names the call and CUDA's error. */
#define CK(call)                                                                                   \
    do {                                                                                           \
        cudaError_t ck_e = (call);                                                                 \
        if (ck_e != cudaSuccess)                                                                   \
            return set_err(FLARE_EDEVICE, "CUDA: %s: %s (%s) at %s:%d", #call,                     \
                           cudaGetErrorName(ck_e), cudaGetErrorString(ck_e), __FILE__, __LINE__);  \
    } while (0)

/* ---- engine state --------------------------------------------------------------------------- */

typedef struct {
    dmat wq, wk, wv, wo, w_gate, w_up, w_down;
} dlayer;

/* Activations as Q8_0: qs (T, k) int8, d (T, k / 32) fp16-rounded scales as float. */
typedef struct {
    int8_t *qs;
    float *d;
} q8buf;

struct engine {
    fl_llama_hparams hp;
    flcu_opts o;
    cudaStream_t st;
    char info[256];
    uint32_t n_past, q_dim, kv_dim, kmax;
    uint64_t weight_bytes;   /* bytes of the matrices read per token */
    void **allocs;           /* every cudaMalloc, freed at the end */
    uint32_t n_allocs, cap_allocs;
    dmat tok_embd, output;
    dlayer *layers;          /* (n_layer) */
    float *norms;            /* device (2 * n_layer + 1, n_embd) */
    float *rope_cs;          /* device (n_ctx, n_rot) cos, sin pairs */
    __half *k_cache;         /* device (n_layer, n_ctx, kv_dim) */
    __half *v_cache;         /* device (n_layer, n_ctx, kv_dim) */
    float *x, *xn;           /* device (B, n_embd) */
    float *q, *att;          /* device (B, q_dim) */
    float *k, *v;            /* device (B, kv_dim) */
    float *hb, *hb2;         /* device (B, n_ff) */
    q8buf xq;                /* device (B, kmax = max(n_embd, q_dim)): Q8_0 of a product's input */
    q8buf hq;                /* device (B, n_ff): Q8_0 of SwiGLU's output (Wdown's input), apart
                                from xq: the fused SwiGLU writes it while gate/up blocks still
                                read xq */
    float *logits_d;         /* device (n_vocab) */
    uint32_t *epi_count;     /* device (max(n_ff / 32, n_head)) arrival counters of the fused
                                steps and of split attention (one launch at a time) */
    int32_t *io_d;           /* device [pos0, tokens (B)] */
    int32_t *io_h;           /* pinned host [pos0, tokens (B)] */
    float *logits;           /* pinned host (n_vocab) */
    float *hook_x;           /* host (B, n_embd) */
    size_t att_smem;         /* dynamic shared bytes of the attention kernel */
    uint32_t att_split;      /* blocks a head in single-token attention (at most) */
    void (*att_kernel)(att_args); /* attention_kernel<head dim / 32 or 0> */
    float *att_part;         /* device (n_head, ATT_MAX_SPLIT, head_dim + 2): split partials */
    cudaGraphExec_t graph1;  /* the single-token forward, when captured */
    int graph_state;         /* 0 not tried, 1 captured, -1 unavailable */
    flcu_layer_hook hook;
    void *hook_user;
};

static int dalloc(engine *e, void **p, size_t bytes)
{
    if (e->n_allocs == e->cap_allocs) {
        uint32_t cap = e->cap_allocs ? 2 * e->cap_allocs : 64;
        void **a = (void **)realloc(e->allocs, cap * sizeof *a);
        if (!a)
            return set_err(FLARE_ENOMEM, "out of host memory");
        e->allocs = a;
        e->cap_allocs = cap;
    }
    cudaError_t ce = cudaMalloc(p, bytes ? bytes : 16);
    if (ce != cudaSuccess)
        return set_err(FLARE_ENOMEM, "cudaMalloc of %zu bytes: %s (device memory full?)", bytes,
                       cudaGetErrorName(ce));
    e->allocs[e->n_allocs++] = *p;
    return 0;
}

#define DALLOC(ptr, bytes)                                                                         \
    do {                                                                                           \
        void *da_p = NULL;                                                                         \
        int da_rc = dalloc(e, &da_p, (bytes));                                                     \
        if (da_rc)                                                                                 \
            return da_rc;                                                                          \
        (ptr) = (decltype(ptr))da_p;                                                               \
    } while (0)

#include "ref/cuda/upload.cuh"

/* ---- launches ------------------------------------------------------------------------------- */

static int is_quant(int t)
{
    return t == T_Q4_0 || t == T_Q5_0 || t == T_Q8_0;
}

/* xq = Q8_0(x (T, k)) */
static void quantize(engine *e, const float *x, uint32_t T, uint32_t k)
{
    uint32_t n_blocks = T * (k / QK);
    launch(quant_q8_kernel, (n_blocks + MM_WARPS - 1) / MM_WARPS, dim3(32, MM_WARPS), 0, e->st,
           x, e->xq.qs, e->xq.d, n_blocks);
}

/* How a matrix product runs: the kernel (and weight type) a launch can share. */
enum mm_kind { MM_MMA, MM_DP4A_1, MM_DP4A_NT, MM_F_1, MM_F_NT };

static mm_kind kind_of(const engine *e, const dmat *m, uint32_t T)
{
    if (is_quant(m->type))
        return T >= MMA_MIN_T && e->o.mma ? MM_MMA : T == 1 ? MM_DP4A_1 : MM_DP4A_NT;
    return T == 1 ? MM_F_1 : MM_F_NT;
}

template <int TYPE>
static void launch_q(engine *e, mm_kind k, const mm_group &G, dim3 grid, const q8buf &xq,
                     uint32_t T, int acc, const mm_epi &ep)
{
    dim3 block(32, MM_WARPS);
    if (k == MM_MMA && e->o.mma == 2)
        launch(mmq_mma_kernel<TYPE>, grid, block, 0, e->st, G, xq.qs, xq.d, T, acc);
    else if (k == MM_MMA)
        launch(mmq_tile_kernel<TYPE>, grid, block, TL_SMEM_BYTES, e->st, G, xq.qs, xq.d, T, acc);
    else if (k == MM_DP4A_1)
        launch(mmq_kernel<TYPE, 1>, grid, block, 0, e->st, G, xq.qs, xq.d, T, acc, ep);
    else
        launch(mmq_kernel<TYPE, NT_PREFILL>, grid, block, 0, e->st, G, xq.qs, xq.d, T, acc, ep);
}

/* One launch for the group G (same kind and weight type), x the f32 input, xq its Q8_0; ep: the
 * fused step (single-token kinds only, else EPI_NONE). */
static void launch_group(engine *e, mm_kind k, int type, const mm_group &G, uint32_t blocks,
                         const float *x, const q8buf &xq, uint32_t T, int acc, const mm_epi &ep)
{
    uint32_t nt = k == MM_MMA ? (e->o.mma == 2 ? 8 * MMA_NTN : TL_TOK)
                  : k == MM_DP4A_1 || k == MM_F_1 ? 1
                                                  : NT_PREFILL;
    dim3 grid(blocks, (T + nt - 1) / nt), block(32, MM_WARPS);
    switch (type) {
    case T_Q4_0: launch_q<T_Q4_0>(e, k, G, grid, xq, T, acc, ep); break;
    case T_Q5_0: launch_q<T_Q5_0>(e, k, G, grid, xq, T, acc, ep); break;
    case T_Q8_0: launch_q<T_Q8_0>(e, k, G, grid, xq, T, acc, ep); break;
    case T_F16:
        if (k == MM_F_1)
            launch(mmf_kernel<1, 1>, grid, block, 0, e->st, G, x, T, acc, ep);
        else
            launch(mmf_kernel<1, NT_PREFILL>, grid, block, 0, e->st, G, x, T, acc, ep);
        break;
    default:
        if (k == MM_F_1)
            launch(mmf_kernel<0, 1>, grid, block, 0, e->st, G, x, T, acc, ep);
        else
            launch(mmf_kernel<0, NT_PREFILL>, grid, block, 0, e->st, G, x, T, acc, ep);
        break;
    }
}

/* The fused step `kind` with its arrival counters; the caller fills in the step's arguments. */
static mm_epi epi_of(const engine *e, int kind)
{
    mm_epi ep;
    memset(&ep, 0, sizeof ep);
    ep.kind = kind;
    ep.count = e->epi_count;
    return ep;
}

/* y_i (T, rows_i) [+]= W_i x (T, k) for n <= 3 matrices sharing the input x; x is quantized to
 * Q8_0 (into e->xq) once when any of them is quantized, unless x_q is where the kernel that
 * wrote x put its Q8_0; consecutive matrices of one type and kernel share a launch. With epi, a
 * single-token product runs that step at the end of its (last) launch: returns 1 when it did, 0
 * when the caller must launch the step itself. EPI_ROPE_STORE and EPI_SWIGLU need all the
 * matrices in one launch (one type). */
static int matmul(engine *e, int n, const dmat *const *w, float *const *y, const float *x,
                  uint32_t T, int acc, const q8buf *x_q, const mm_epi *epi)
{
    int need_q = 0;
    for (int i = 0; i < n; i++)
        need_q |= is_quant(w[i]->type);
    if (need_q && !x_q)
        quantize(e, x, T, w[0]->k);
    const q8buf &xq = x_q ? *x_q : e->xq;
    mm_epi none = epi_of(e, EPI_NONE);
    for (int i = 0; i < n;) {
        mm_kind k = kind_of(e, w[i], T);
        int type = w[i]->type;
        uint32_t rows_per_block = k == MM_MMA ? TL_ROWS : MM_WARPS, blocks = 0; /* both mma */
        mm_group G;
        memset(&G, 0, sizeof G);
        while (i < n && G.n < MM_GROUP && kind_of(e, w[i], T) == k && w[i]->type == type) {
            G.m[G.n] = *w[i];
            G.y[G.n] = y[i];
            blocks += (w[i]->rows + rows_per_block - 1) / rows_per_block;
            G.blk_end[G.n++] = blocks;
            i++;
        }
        const mm_epi *ep = i == n && epi && (k == MM_DP4A_1 || k == MM_F_1) ? epi : &none;
        launch_group(e, k, type, G, blocks, x, xq, T, acc, *ep);
        if (ep != &none)
            return 1;
    }
    return 0;
}

/* ---- forward -------------------------------------------------------------------------------- */

/* The kernels of a forward over T tokens whose ids and first position are in e->io_d; with a
 * hook, the residual stream is copied out after each layer (not allowed while capturing).
 * A single token (decode) runs each step that follows a matrix product inside that product's
 * launch (mm_epilogue), unless o.fuse is 0: 5 launches a layer instead of 10. */
static int forward_launch(engine *e, uint32_t T)
{
    const fl_llama_hparams *hp = &e->hp;
    uint32_t d = hp->n_embd, hd = hp->head_dim;
    const int32_t *pos0 = e->io_d, *ids = e->io_d + 1;
    size_t layer_kv = (size_t)e->o.n_ctx * e->kv_dim;
    int fuse = T == 1 && e->o.fuse;
    /* xn = rmsnorm(x) * norm weights l, and Q8_0 of it (the next product's input) */
    norm_args norm = {e->x, e->norms, e->xn, d, hp->rms_eps, e->xq.qs, e->xq.d};
    mm_epi ep_norm = epi_of(e, EPI_NORM), ep_rope = epi_of(e, EPI_ROPE_STORE);
    mm_epi ep_sw = epi_of(e, EPI_SWIGLU);
    ep_sw.sw = {e->hb, e->hb2, e->hq.qs, e->hq.d};

    launch(dequant_rows_kernel, T, 256, 0, e->st, e->tok_embd, ids, e->x);
    launch(rmsnorm_kernel, T, ROW_THREADS, 0, e->st, norm);
    for (uint32_t l = 0; l < hp->n_layer; l++) {
        const dlayer *ly = &e->layers[l];
        // q, k, v projections of xn; rope on q and k, append k, v to the cache
        __half *kc = e->k_cache + l * layer_kv, *vc = e->v_cache + l * layer_kv;
        ep_rope.rope = {e->q, e->k, e->v, e->rope_cs, kc, vc, pos0, hp->n_head, hp->n_head_kv,
                        hd, hp->n_rot};
        const dmat *qkv[3] = {&ly->wq, &ly->wk, &ly->wv};
        float *qkv_out[3] = {e->q, e->k, e->v};
        int fuse_rope = fuse && hd % MM_WARPS == 0 && ly->wq.type == ly->wk.type &&
                        ly->wq.type == ly->wv.type; /* one launch, pairs within a block */
        if (!matmul(e, 3, qkv, qkv_out, e->xn, T, 0, &e->xq, fuse_rope ? &ep_rope : NULL))
            launch(rope_store_kernel, T, 256, 0, e->st, ep_rope.rope);
        // attention, its output quantized for Wo by the same kernel
        int att_q = e->o.fuse && hd % QK == 0 && is_quant(ly->wo.type);
        att_args aa = {e->q, kc, vc, e->att, pos0, hp->n_head, hp->n_head / hp->n_head_kv, hd,
                       1.0f / sqrtf((float)hd), att_q ? e->xq.qs : NULL,
                       att_q ? e->xq.d : NULL, e->att_part, e->epi_count};
        launch(e->att_kernel, dim3(hp->n_head, T, T == 1 ? e->att_split : 1), ATT_THREADS,
               e->att_smem, e->st, aa);
        // x += Wo att; xn = rmsnorm(x) * ffn_norm
        norm.w = e->norms + (size_t)(2 * l + 1) * d;
        ep_norm.norm = norm;
        const dmat *wo = &ly->wo;
        if (!matmul(e, 1, &wo, &e->x, e->att, T, 1, att_q ? &e->xq : NULL,
                    fuse ? &ep_norm : NULL))
            launch(rmsnorm_kernel, T, ROW_THREADS, 0, e->st, norm);
        // feed-forward: h = silu(Wgate xn) * Wup xn; x += Wdown h
        const dmat *gu[2] = {&ly->w_gate, &ly->w_up};
        float *gu_out[2] = {e->hb, e->hb2};
        int fuse_sw = fuse && ly->w_gate.type == ly->w_up.type; /* one launch for both */
        uint32_t ff_blocks = T * (hp->n_ff / QK);
        if (!matmul(e, 2, gu, gu_out, e->xn, T, 0, &e->xq, fuse_sw ? &ep_sw : NULL))
            launch(swiglu_kernel, (ff_blocks + MM_WARPS - 1) / MM_WARPS, dim3(32, MM_WARPS), 0,
                   e->st, ep_sw.sw, ff_blocks);
        // then the next layer's attn_norm, or after the last layer the output norm of the last
        // token only
        int last = l + 1 == hp->n_layer;
        norm.w = e->norms + (size_t)(2 * l + 2) * d;
        norm.x = e->x + (last ? (size_t)(T - 1) * d : 0);
        ep_norm.norm = norm;
        const dmat *wd = &ly->w_down;
        if (!matmul(e, 1, &wd, &e->x, e->hb, T, 1, &e->hq, fuse ? &ep_norm : NULL))
            launch(rmsnorm_kernel, last ? 1 : T, ROW_THREADS, 0, e->st, norm);
        if (e->hook) {
            CK(cudaMemcpyAsync(e->hook_x, e->x, (size_t)T * d * sizeof(float),
                               cudaMemcpyDeviceToHost, e->st));
            CK(cudaStreamSynchronize(e->st));
            e->hook(e->hook_user, l, e->hook_x, T);
        }
    }
    // logits of the last token
    const dmat *wout = &e->output;
    matmul(e, 1, &wout, &e->logits_d, e->xn, 1, 0, &e->xq, NULL);
    CK(cudaGetLastError());
    return 0;
}

/* Capture the single-token forward as a graph once; on any failure fall back to launches. */
static void try_capture(engine *e)
{
    e->graph_state = -1;
    cudaGraph_t g = NULL;
    if (cudaStreamBeginCapture(e->st, cudaStreamCaptureModeThreadLocal) != cudaSuccess)
        return;
    int rc = forward_launch(e, 1);
    cudaError_t ce = cudaStreamEndCapture(e->st, &g);
    if (rc || ce != cudaSuccess || !g) {
        if (g)
            cudaGraphDestroy(g);
        cudaGetLastError(); /* clear a sticky capture error */
        return;
    }
    if (cudaGraphInstantiate(&e->graph1, g, 0) == cudaSuccess)
        e->graph_state = 1;
    else
        cudaGetLastError();
    cudaGraphDestroy(g);
}

static int forward(engine *e, const int32_t *tokens, uint32_t T)
{
    e->io_h[0] = (int32_t)e->n_past;
    memcpy(e->io_h + 1, tokens, T * sizeof *tokens);
    CK(cudaMemcpyAsync(e->io_d, e->io_h, (T + 1) * sizeof(int32_t), cudaMemcpyHostToDevice, e->st));
    int use_graph = T == 1 && e->o.graphs && !e->hook;
    if (use_graph && e->graph_state == 0)
        try_capture(e);
    if (use_graph && e->graph_state == 1) {
        CK(cudaGraphLaunch(e->graph1, e->st));
    } else {
        int rc = forward_launch(e, T);
        if (rc)
            return rc;
    }
    CK(cudaMemcpyAsync(e->logits, e->logits_d, e->hp.n_vocab * sizeof(float),
                       cudaMemcpyDeviceToHost, e->st));
    CK(cudaStreamSynchronize(e->st));
    e->n_past += T;
    return 0;
}

/* ---- create --------------------------------------------------------------------------------- */

/* cos/sin of pos * base^(-2i/n_rot) for every position, advanced by multiplication exactly as
 * the CPU engine (ref/engine_cpu.c: rope_angles) does, so both rotate by the same floats. */
static void rope_table(float *cs, uint32_t n_ctx, uint32_t n_rot, float base)
{
    float theta_scale = powf(base, -2.0f / (float)n_rot);
    for (uint32_t pos = 0; pos < n_ctx; pos++) {
        float theta = (float)pos;
        for (uint32_t i = 0; i < n_rot; i += 2) {
            cs[(size_t)pos * n_rot + i] = cosf(theta);
            cs[(size_t)pos * n_rot + i + 1] = sinf(theta);
            theta *= theta_scale;
        }
    }
}

static int check_model(const fl_llama *m, const flcu_opts *o)
{
    const fl_llama_hparams *hp = &m->hp;
    if (!hp->n_layer || !hp->n_head || !hp->n_head_kv || hp->n_head % hp->n_head_kv ||
        !hp->n_embd || !hp->n_vocab || !hp->head_dim)
        return set_err(FLARE_EINVAL, "model: n_layer %u, n_head %u, n_head_kv %u, n_embd %u: "
                       "expected nonzero and n_head a multiple of n_head_kv", hp->n_layer,
                       hp->n_head, hp->n_head_kv, hp->n_embd);
    if (hp->n_embd % QK || hp->n_ff % QK || (hp->n_head * hp->head_dim) % QK)
        return set_err(FLARE_EUNSUP, "embedding_length %u, feed_forward_length %u: the CUDA "
                       "engine needs multiples of %d", hp->n_embd, hp->n_ff, QK);
    if (hp->n_rot > hp->head_dim || hp->n_rot % 2)
        return set_err(FLARE_EINVAL, "rope dimension %u: expected even and <= head dim %u",
                       hp->n_rot, hp->head_dim);
    if (o->n_ctx > (1u << 24))
        return set_err(FLARE_ERANGE, "context %u: expected at most 16777216", o->n_ctx);
    return 0;
}

static int create(engine *e, const fl_llama *m)
{
    const fl_llama_hparams *hp = &m->hp;
    cudaDeviceProp prop;
    CK(cudaSetDevice((int)e->o.device));
    CK(cudaGetDeviceProperties(&prop, (int)e->o.device));
    snprintf(e->info, sizeof e->info, "cuda:%u %.200s (sm_%d%d, %.1f GiB)", e->o.device, prop.name,
             prop.major, prop.minor, (double)prop.totalGlobalMem / (1024.0 * 1024 * 1024));
    CK(cudaStreamCreateWithFlags(&e->st, cudaStreamNonBlocking));

    e->q_dim = hp->n_head * hp->head_dim;
    e->kv_dim = hp->n_head_kv * hp->head_dim;
    e->att_smem = ATT_SMEM_FLOATS(hp->head_dim) * sizeof(float);
    if (e->att_smem + 256 > prop.sharedMemPerBlockOptin) /* + the kernel's static shared */
        return set_err(FLARE_EUNSUP, "head dim %u: the attention kernel keeps %zu bytes a block "
                       "in shared memory, more than the %zu of %s", hp->head_dim, e->att_smem,
                       (size_t)prop.sharedMemPerBlockOptin, prop.name);
    /* decode attention: about two blocks an SM over the heads (flash-decoding), unless set */
    uint32_t split = e->o.att_split ? e->o.att_split
                                    : (2 * (uint32_t)prop.multiProcessorCount + hp->n_head - 1) /
                                          hp->n_head;
    e->att_split = split < 1 ? 1 : split > ATT_MAX_SPLIT ? ATT_MAX_SPLIT : split;
    uint32_t hd32 = hp->head_dim % 32 ? 0 : hp->head_dim / 32;
    e->att_kernel = hd32 == 1   ? attention_kernel<1>
                    : hd32 == 2 ? attention_kernel<2>
                    : hd32 == 4 ? attention_kernel<4>
                    : hd32 == 8 ? attention_kernel<8>
                                : attention_kernel<0>;
    CK(cudaFuncSetAttribute(e->att_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                            (int)e->att_smem));

    // weights: a tied output shares the embedding's copy
    int rc = upload(e, &m->tok_embd, &e->tok_embd, "token_embd.weight");
    if (rc)
        return rc;
    if (m->output.data == m->tok_embd.data && m->output.type == m->tok_embd.type)
        e->output = e->tok_embd;
    else if ((rc = upload(e, &m->output, &e->output, "output.weight")))
        return rc;
    if (e->tok_embd.k != hp->n_embd || e->tok_embd.rows < hp->n_vocab ||
        e->output.k != hp->n_embd || e->output.rows != hp->n_vocab)
        return set_err(FLARE_EINVAL, "token_embd (%u, %u), output (%u, %u): expected (%u, %u)",
                       e->tok_embd.k, e->tok_embd.rows, e->output.k, e->output.rows, hp->n_embd,
                       hp->n_vocab);
    e->weight_bytes = dmat_bytes(&e->output);
    e->layers = (dlayer *)calloc(hp->n_layer, sizeof *e->layers);
    if (!e->layers)
        return set_err(FLARE_ENOMEM, "out of host memory");
    size_t d = hp->n_embd;
    DALLOC(e->norms, (2 * (size_t)hp->n_layer + 1) * d * sizeof(float));
    for (uint32_t l = 0; l <= hp->n_layer; l++) {
        const fl_weight *nw[2] = {l < hp->n_layer ? &m->layers[l].attn_norm : &m->output_norm,
                                  l < hp->n_layer ? &m->layers[l].ffn_norm : NULL};
        for (int i = 0; i < 2 && nw[i]; i++) {
            char what[64];
            snprintf(what, sizeof what, "blk.%u.%s", l, i ? "ffn_norm" : "attn_norm");
            dmat nm;
            if (nw[i]->ne0 != d)
                return set_err(FLARE_EINVAL, "%s: %llu elements, expected %zu", what,
                               (unsigned long long)nw[i]->ne0, d);
            if ((rc = upload(e, nw[i], &nm, l < hp->n_layer ? what : "output_norm.weight")))
                return rc;
            nm.rows = 1;
            launch(dequant_rows_kernel, 1, 256, 0, e->st, nm, NULL,
                   e->norms + (2 * (size_t)l + i) * d);
        }
        if (l == hp->n_layer)
            break;
        const fl_llama_layer *ly = &m->layers[l];
        dlayer *dl = &e->layers[l];
        const fl_weight *src[7] = {&ly->wq, &ly->wk, &ly->wv, &ly->wo,
                                   &ly->w_gate, &ly->w_up, &ly->w_down};
        dmat *dst[7] = {&dl->wq, &dl->wk, &dl->wv, &dl->wo, &dl->w_gate, &dl->w_up, &dl->w_down};
        static const char *const names[7] = {"attn_q", "attn_k", "attn_v", "attn_output",
                                             "ffn_gate", "ffn_up", "ffn_down"};
        static const int is_in_q[7] = {0, 0, 0, 1, 0, 0, 2}; /* input: n_embd, q_dim, n_ff */
        for (int i = 0; i < 7; i++) {
            char what[64];
            snprintf(what, sizeof what, "blk.%u.%s.weight", l, names[i]);
            if ((rc = upload(e, src[i], dst[i], what)))
                return rc;
            uint32_t want_k = is_in_q[i] == 1 ? e->q_dim : is_in_q[i] == 2 ? hp->n_ff : hp->n_embd;
            uint32_t want_rows = i == 0 ? e->q_dim : i < 3 ? e->kv_dim
                                 : i == 3 || i == 6 ? hp->n_embd : hp->n_ff;
            if (dst[i]->k != want_k || dst[i]->rows != want_rows)
                return set_err(FLARE_EINVAL, "%s: shape (%u, %u), expected (%u, %u)", what,
                               dst[i]->k, dst[i]->rows, want_k, want_rows);
            e->weight_bytes += dmat_bytes(dst[i]);
        }
    }

    // activations, cache, rope table
    size_t B = e->o.n_batch;
    e->kmax = hp->n_embd > e->q_dim ? hp->n_embd : e->q_dim;
    size_t kv_elems = (size_t)hp->n_layer * e->o.n_ctx * e->kv_dim;
    DALLOC(e->k_cache, kv_elems * sizeof(__half));
    DALLOC(e->v_cache, kv_elems * sizeof(__half));
    DALLOC(e->x, B * d * sizeof(float));
    DALLOC(e->xn, B * d * sizeof(float));
    DALLOC(e->q, B * e->q_dim * sizeof(float));
    DALLOC(e->att, B * e->q_dim * sizeof(float));
    DALLOC(e->k, B * e->kv_dim * sizeof(float));
    DALLOC(e->v, B * e->kv_dim * sizeof(float));
    DALLOC(e->hb, B * hp->n_ff * sizeof(float));
    DALLOC(e->hb2, B * hp->n_ff * sizeof(float));
    DALLOC(e->xq.qs, B * e->kmax);
    DALLOC(e->xq.d, B * (e->kmax / QK) * sizeof(float));
    DALLOC(e->hq.qs, B * hp->n_ff);
    DALLOC(e->hq.d, B * (hp->n_ff / QK) * sizeof(float));
    DALLOC(e->logits_d, (size_t)hp->n_vocab * sizeof(float));
    DALLOC(e->io_d, (B + 1) * sizeof(int32_t));
    DALLOC(e->rope_cs, (size_t)e->o.n_ctx * (hp->n_rot ? hp->n_rot : 1) * sizeof(float));
    DALLOC(e->att_part, (size_t)hp->n_head * ATT_MAX_SPLIT * (hp->head_dim + 2) * sizeof(float));
    size_t n_count = hp->n_ff / QK > hp->n_head ? hp->n_ff / QK : hp->n_head; /* also attention's */
    DALLOC(e->epi_count, n_count * sizeof(uint32_t));
    CK(cudaMallocHost((void **)&e->io_h, (B + 1) * sizeof(int32_t)));
    CK(cudaMallocHost((void **)&e->logits, (size_t)hp->n_vocab * sizeof(float)));
    memset(e->logits, 0, (size_t)hp->n_vocab * sizeof(float));
    e->hook_x = (float *)malloc(B * d * sizeof(float));
    float *cs = (float *)malloc((size_t)e->o.n_ctx * (hp->n_rot ? hp->n_rot : 1) * sizeof(float));
    if (!e->hook_x || !cs) {
        free(cs);
        return set_err(FLARE_ENOMEM, "out of host memory");
    }
    rope_table(cs, e->o.n_ctx, hp->n_rot, hp->rope_base);
    rc = h2d(e, e->rope_cs, cs, (size_t)e->o.n_ctx * hp->n_rot * sizeof(float));
    free(cs);
    uint32_t *zero = (uint32_t *)calloc(n_count, sizeof *zero);
    if (!rc)
        rc = zero ? h2d(e, e->epi_count, zero, n_count * sizeof *zero)
                  : set_err(FLARE_ENOMEM, "out of host memory");
    free(zero);
    if (rc)
        return rc;
    CK(cudaStreamSynchronize(e->st));
    CK(cudaGetLastError());
    return 0;
}

#include "ref/cuda/selftest.cuh"

/* ---- the C ABI ------------------------------------------------------------------------------ */

extern "C" {

int flcu_abi_version(void)
{
    return FLCU_ABI_VERSION;
}

const char *flcu_last_error(void)
{
    return g_err;
}

int flcu_selftest(void)
{
    uint64_t seed = 42;
    for (int rep = 0; rep < 50; rep++)
        if (selftest_type<T_Q4_0>(&seed) || selftest_type<T_Q5_0>(&seed) ||
            selftest_type<T_Q8_0>(&seed))
            return FLARE_EINVAL;
    return 0;
}

void flcu_free(void *ep)
{
    engine *e = (engine *)ep;
    if (!e)
        return;
    if (e->graph1)
        cudaGraphExecDestroy(e->graph1);
    for (uint32_t i = 0; i < e->n_allocs; i++)
        cudaFree(e->allocs[i]);
    if (e->io_h)
        cudaFreeHost(e->io_h);
    if (e->st)
        cudaStreamDestroy(e->st);
    free(e->allocs);
    free(e->layers);
    if (e->logits)
        cudaFreeHost(e->logits);
    free(e->hook_x);
    free(e);
}

int flcu_create(void **out, const fl_llama *m, const flcu_opts *opts)
{
    *out = NULL;
    flcu_opts o = {0, 0, 0, 1, 1, 1, 0};
    if (opts)
        o = *opts;
    if (!o.n_ctx)
        o.n_ctx = m->hp.n_ctx_train;
    if (!o.n_batch)
        o.n_batch = DEFAULT_BATCH;
    if (o.n_batch > MAX_BATCH)
        o.n_batch = MAX_BATCH;
    if (o.n_batch > o.n_ctx)
        o.n_batch = o.n_ctx;
    if (o.att_split > ATT_MAX_SPLIT)
        return set_err(FLARE_EINVAL, "CUDA options: att_split %u: at most %d", o.att_split,
                       ATT_MAX_SPLIT);
    if (o.mma < 0 || o.mma > 2)
        return set_err(FLARE_EINVAL, "CUDA options: mma %d is not 0 (dp4a), 1 (tensor cores, "
                       "tiled) or 2 (tensor cores, per warp)", o.mma);
    int rc = check_model(m, &o);
    if (rc)
        return rc;
    char msg[512];
    if ((rc = flcu_probe(o.device, msg, sizeof msg)))
        return rc;
    engine *e = (engine *)calloc(1, sizeof *e);
    if (!e)
        return set_err(FLARE_ENOMEM, "out of host memory");
    e->hp = m->hp;
    e->o = o;
    if ((rc = create(e, m))) {
        flcu_free(e);
        return rc;
    }
    *out = e;
    return 0;
}

int flcu_eval(void *ep, const int32_t *tokens, uint32_t n)
{
    engine *e = (engine *)ep;
    if (n == 0)
        return set_err(FLARE_EINVAL, "no tokens to evaluate");
    if ((uint64_t)e->n_past + n > e->o.n_ctx)
        return set_err(FLARE_ERANGE, "context full: %u tokens after %u would exceed the context "
                       "of %u positions (-c)", n, e->n_past, e->o.n_ctx);
    for (uint32_t i = 0; i < n; i++)
        if (tokens[i] < 0 || (uint32_t)tokens[i] >= e->hp.n_vocab)
            return set_err(FLARE_EINVAL, "token id %d at %u: expected 0..%u", tokens[i], i,
                           e->hp.n_vocab - 1);
    for (uint32_t i = 0; i < n; i += e->o.n_batch) {
        uint32_t T = n - i < e->o.n_batch ? n - i : e->o.n_batch;
        int rc = forward(e, tokens + i, T);
        if (rc)
            return rc;
    }
    return 0;
}

const float *flcu_logits(void *e)
{
    return ((engine *)e)->logits;
}

uint32_t flcu_n_past(void *e)
{
    return ((engine *)e)->n_past;
}

uint32_t flcu_n_ctx(void *e)
{
    return ((engine *)e)->o.n_ctx;
}

uint32_t flcu_n_batch(void *e)
{
    return ((engine *)e)->o.n_batch;
}

void flcu_reset(void *e)
{
    ((engine *)e)->n_past = 0;
}

void flcu_set_hook(void *ep, flcu_layer_hook fn, void *user)
{
    engine *e = (engine *)ep;
    e->hook = fn;
    e->hook_user = user;
}

uint64_t flcu_weight_bytes(void *e)
{
    return ((engine *)e)->weight_bytes;
}

const char *flcu_device_info(void *e)
{
    return ((engine *)e)->info;
}

} /* extern "C" */

#include "ref/cuda/device.cuh"
