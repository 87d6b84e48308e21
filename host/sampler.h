/* host/sampler.h: choosing the next token from logits, with llama.cpp's filter semantics.
 *
 * The chain, in llama.cpp's default order: repetition penalty over the last N tokens (a
 * positive logit is divided by the penalty, a negative one multiplied, once per distinct
 * token), top-k, top-p (the smallest prefix of the sorted distribution whose probability reaches
 * p), min-p (tokens with probability >= min_p * the largest), temperature, then a draw from the
 * softmax with the sampler's own PRNG (splitmix64; same seed -> same tokens). temp <= 0 is
 * greedy: the largest logit after the penalty. The filters work on a candidate list and are
 * exposed for the tests. */
#ifndef FLARE_HOST_SAMPLER_H
#define FLARE_HOST_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    float temp;             /* <= 0: greedy */
    int32_t top_k;          /* <= 0: off */
    float top_p;            /* >= 1: off */
    float min_p;            /* <= 0: off */
    float repeat_penalty;   /* 1: off */
    int32_t repeat_last_n;  /* tokens the penalty looks back over */
    uint64_t seed;
} fl_sampler_params;

/* llama.cpp's defaults: temp 0.8, top-k 40, top-p 0.95, min-p 0.05, penalty 1.0 over 64. */
void fl_sampler_default_params(fl_sampler_params *p);

/* ---- candidate lists and the filters -------------------------------------------------------- */

typedef struct {
    int32_t id;
    float logit;
    float p; /* set by fl_cands_softmax */
} fl_cand;

typedef struct {
    fl_cand *data;
    size_t n;
    int sorted; /* by logit, descending */
} fl_cands;

/* Sort descending by logit (stable for equal logits: lower id first) and set p = softmax. */
void fl_cands_softmax(fl_cands *c);
void fl_cands_repeat_penalty(fl_cands *c, const int32_t *last, size_t n_last, float penalty);
void fl_cands_top_k(fl_cands *c, int32_t k);
void fl_cands_top_p(fl_cands *c, float p, size_t min_keep);
void fl_cands_min_p(fl_cands *c, float p, size_t min_keep);
void fl_cands_temp(fl_cands *c, float temp);
/* Draw from softmax(c) with u uniform in [0, 1). */
int32_t fl_cands_draw(fl_cands *c, double u);

/* ---- the sampler ---------------------------------------------------------------------------- */

typedef struct fl_sampler fl_sampler;

int fl_sampler_new(fl_sampler **out, const fl_sampler_params *p, uint32_t n_vocab);
void fl_sampler_free(fl_sampler *s);

/* Record a token (prompt or generated) for the repetition penalty. */
void fl_sampler_accept(fl_sampler *s, int32_t tok);

/* The next token from logits (n_vocab); does not accept it. */
int32_t fl_sampler_sample(fl_sampler *s, const float *logits);

/* The sampler's PRNG: next uniform double in [0, 1). */
double fl_sampler_uniform(fl_sampler *s);

#endif
