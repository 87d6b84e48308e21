/* host/crosscheck.h: run the CPU reference engine and a device (the scheduler, or an engine:
 * fl_xcheck_new_engine) on the same tokens and compare them: the residual stream after every
 * layer (through both engines' layer hooks) and the logits after every forward pass: NMSE, max
 * abs error, top-1 agreement.
 *
 * Both are fed in chunks of the scheduler's prefill batch, so each chunk's hidden states are
 * compared row by row (one row per token) and its last token's logits. By default the device is
 * teacher-forced (the scheduler's input hook gives each of its layers the reference's input), so
 * a layer's NMSE is that layer's own error; opts.forced = 0 lets the device run free. A failure names the
 * first layer that diverged and, as far as the hooks tell, the sub-step: the scheduler's op hook
 * gives the device's residual stream after the attention block; the FFN block is recomputed on
 * the host (float64, dequantized weights) from that input, and the block whose output disagrees
 * is named. The summary table lists, per layer, the worst NMSE and max abs error, and per
 * compared token its logits NMSE and top-1 agreement.
 *
 * Use from a generation loop (e.g. `flare run --check cpu`): fl_xcheck_new once, then call
 * fl_xcheck_eval wherever the loop would call fl_sched_eval (it evaluates both engines), read the
 * device's logits with fl_sched_logits, and at the end fl_xcheck_report. */
#ifndef FLARE_HOST_CROSSCHECK_H
#define FLARE_HOST_CROSSCHECK_H

#include <stdint.h>
#include <stdio.h>

#include "flare/llama.h"
#include "host/scheduler.h"
#include "ref/engine_cpu.h"
#include "ref/engine_cuda.h"

typedef struct {
    int forced;             /* 1 (default): teacher forcing: every device layer (and the output
                               projection) gets the reference's input, so each layer is held to
                               its own error budget, as test-backend-ops gives each op the same
                               inputs; 0: free-running device (its own stream end to end), the
                               thresholds then grow with depth: x (layer + 1), logits
                               x (n_layer + 1), since independent per-layer errors add */
    double max_nmse_logits; /* per compared token (default 5e-4) */
    double max_nmse_hidden; /* per layer and token row of the residual stream (default 1e-3) */
    double tie_factor;      /* a top-1 disagreement is a tie (not a failure) when the reference's
                               logit gap between the two tokens is at most tie_factor * the RMS
                               difference of that row (default 4) */
} fl_xcheck_opts;

typedef struct fl_xcheck fl_xcheck;

/* The reference side of a check: an engine with eval / logits / reset and a layer hook (the
 * residual stream after every layer, fl_engine_layer_hook). fl_xref_cpu and fl_xref_cuda fill
 * one for the CPU engine (ref/engine_cpu.h) and the CUDA engine (ref/engine_cuda.h). */
typedef struct {
    const char *name; /* "cpu" or "cuda", for the report */
    void *engine;
    int (*eval)(void *engine, const int32_t *tokens, uint32_t n);
    const float *(*logits)(const void *engine);
    void (*reset)(void *engine);
    void (*set_hook)(void *engine, fl_engine_layer_hook fn, void *user);
} fl_xref;

void fl_xref_cpu(fl_xref *r, fl_engine *e);
void fl_xref_cuda(fl_xref *r, fl_cuda_engine *e);

void fl_xcheck_default_opts(fl_xcheck_opts *o);

/* Top-1 agreement of `dev` with `ref` (n logits each): 1 the same token, 2 a near-tie (ref's own
 * logit gap between its token and dev's is at most tie_factor x the RMS difference of the two
 * rows), 0 a disagreement. *top_ref, *top_dev get the two tokens; *gap, *limit (either may be
 * NULL) that gap and tie_factor x RMS. The rule of the check below, for other comparisons too. */
int fl_xcheck_top1(const float *ref, const float *dev, uint32_t n, double tie_factor,
                   int32_t *top_ref, int32_t *top_dev, double *gap, double *limit);

/* Borrow both engines (same model `m`) and install hooks on them (removed by fl_xcheck_free).
 * Both should start at the same position (fl_xcheck_reset makes sure). */
int fl_xcheck_new(fl_xcheck **out, const fl_llama *m, fl_engine *ref, fl_sched *dev,
                  const fl_xcheck_opts *o);
/* The same against any reference (*ref is copied; its engine stays the caller's). */
int fl_xcheck_new_ref(fl_xcheck **out, const fl_llama *m, const fl_xref *ref, fl_sched *dev,
                      const fl_xcheck_opts *o);
/* The device side an engine too (the CUDA engine under `flare run --device cuda --check cpu`),
 * fed in chunks of n_batch tokens: it has a layer hook but no input hook and no hook after the
 * attention block, so the check is free-running (o->forced is taken as 0) and a divergence is
 * named by layer only. The report names the device by dev->name. */
int fl_xcheck_new_engine(fl_xcheck **out, const fl_llama *m, const fl_xref *ref,
                         const fl_xref *dev, uint32_t n_batch, const fl_xcheck_opts *o);
void fl_xcheck_free(fl_xcheck *x);

/* Reset both engines; the following tokens count as a new sequence (a new prompt). */
void fl_xcheck_reset(fl_xcheck *x);

/* Evaluate n tokens on both engines and compare. Returns 0 (whether or not they agree: see
 * fl_xcheck_failed) or the FLARE_E* code of an engine error. */
int fl_xcheck_eval(fl_xcheck *x, const int32_t *tokens, uint32_t n);

/* 1 once any comparison failed; *why (may be NULL) gets the first failure's description. */
int fl_xcheck_failed(const fl_xcheck *x, const char **why);
/* Layer (0-based; n_layer = the output projection, -1 none) of the first failure, and its op
 * ("attention", "ffn", "output"; NULL none or not known: an engine device). */
int fl_xcheck_fail_layer(const fl_xcheck *x, const char **op);

/* Print the summary table and a one-line verdict; returns 0 on pass, 1 on failure. */
int fl_xcheck_report(const fl_xcheck *x, FILE *f);

/* One cross-checked generation: reset, the prompt, then n_decode greedy steps fed with the
 * device's own choices (written to out_tokens when not NULL, n_decode of them). Returns 0 when
 * everything so far agrees, 1 on a failed comparison, or a negative FLARE_E* code. */
int fl_crosscheck_run(fl_xcheck *x, const int32_t *prompt, uint32_t n_prompt, uint32_t n_decode,
                      int32_t *out_tokens);

#endif
