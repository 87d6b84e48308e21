/* tests/host/test_sampler.c: each sampling filter on small hand-made distributions, with the
 * expected survivors derived here from the filter's definition; seeded reproducibility; the
 * frequencies of the draw. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "host/sampler.h"

/* Candidates from probabilities (logit = log p), in a shuffled order. */
static fl_cands from_probs(fl_cand *buf, const double *p, size_t n)
{
    static const int order[8] = {3, 0, 6, 1, 7, 4, 2, 5};
    size_t k = 0;
    for (size_t o = 0; o < 8; o++)
        if ((size_t)order[o] < n)
            buf[k++] = (fl_cand){order[o], (float)log(p[order[o]]), 0};
    return (fl_cands){buf, n, 0};
}

static int has(const fl_cands *c, int32_t id)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->data[i].id == id)
            return 1;
    return 0;
}

static const double P[6] = {0.05, 0.4, 0.1, 0.25, 0.15, 0.05}; /* sorted: 1, 3, 4, 2, 0|5 */

Test(sampler, softmax_sorts_and_normalises)
{
    fl_cand b[8];
    fl_cands c = from_probs(b, P, 6);
    fl_cands_softmax(&c);
    cr_expect_eq(c.data[0].id, 1);
    cr_expect_eq(c.data[1].id, 3);
    double sum = 0;
    for (size_t i = 0; i < c.n; i++) {
        sum += c.data[i].p;
        cr_expect_float_eq(c.data[i].p, P[c.data[i].id], 1e-6);
    }
    cr_expect_float_eq(sum, 1.0, 1e-6);
}

Test(sampler, top_k)
{
    for (int k = 1; k <= 6; k++) {
        fl_cand b[8];
        fl_cands c = from_probs(b, P, 6);
        fl_cands_top_k(&c, k);
        cr_expect_eq(c.n, (size_t)k);
        /* definition: a token survives iff fewer than k tokens have a larger probability
         * (ties 0 and 5 at 0.05: the lower id first) */
        for (int id = 0; id < 6; id++) {
            int above = 0;
            for (int j = 0; j < 6; j++)
                above += P[j] > P[id] || (P[j] == P[id] && j < id);
            cr_expect_eq(has(&c, id), above < k, "k %d id %d", k, id);
        }
    }
    fl_cand b[8];
    fl_cands c = from_probs(b, P, 6);
    fl_cands_top_k(&c, 0);
    cr_expect_eq(c.n, 6, "k = 0 is off");
}

Test(sampler, top_p)
{
    const double ps[5] = {0.3, 0.5, 0.7, 0.85, 0.97};
    for (int t = 0; t < 5; t++) {
        fl_cand b[8];
        fl_cands c = from_probs(b, P, 6);
        fl_cands_top_p(&c, (float)ps[t], 1);
        /* definition: the smallest set of the most probable tokens whose mass reaches p:
         * id survives iff the mass strictly above it is still < p */
        for (int id = 0; id < 6; id++) {
            double above = 0;
            for (int j = 0; j < 6; j++)
                if (P[j] > P[id] || (P[j] == P[id] && j < id))
                    above += P[j];
            cr_expect_eq(has(&c, id), above < ps[t], "p %.2f id %d", ps[t], id);
        }
    }
    fl_cand b[8];
    fl_cands c = from_probs(b, P, 6);
    fl_cands_top_p(&c, 0.1f, 3);
    cr_expect_eq(c.n, 3, "min_keep");
}

Test(sampler, min_p)
{
    const double ms[4] = {0.1, 0.3, 0.5, 0.9};
    for (int t = 0; t < 4; t++) {
        fl_cand b[8];
        fl_cands c = from_probs(b, P, 6);
        fl_cands_min_p(&c, (float)ms[t], 1);
        for (int id = 0; id < 6; id++) /* definition: p >= min_p * max p (max 0.4) */
            cr_expect_eq(has(&c, id), P[id] >= ms[t] * 0.4, "min_p %.2f id %d", ms[t], id);
    }
}

Test(sampler, repeat_penalty)
{
    fl_cand b[4] = {{0, 2.0f, 0}, {1, -1.0f, 0}, {2, 0.5f, 0}, {3, 3.0f, 0}};
    fl_cands c = {b, 4, 0};
    const int32_t last[3] = {0, 1, 1}; /* 1 twice: penalised once */
    fl_cands_repeat_penalty(&c, last, 3, 2.0f);
    cr_expect_float_eq(b[0].logit, 1.0f, 0, "positive: divided");
    cr_expect_float_eq(b[1].logit, -2.0f, 0, "negative: multiplied");
    cr_expect_float_eq(b[2].logit, 0.5f, 0);
    cr_expect_float_eq(b[3].logit, 3.0f, 0);
}

Test(sampler, temperature)
{
    fl_cand b[3] = {{0, 2.0f, 0}, {1, -1.0f, 0}, {2, 0.5f, 0}};
    fl_cands c = {b, 3, 0};
    fl_cands_temp(&c, 0.5f);
    cr_expect_float_eq(b[0].logit, 4.0f, 0);
    cr_expect_float_eq(b[1].logit, -2.0f, 0);
    fl_cands_temp(&c, 0.0f);
    cr_expect_eq(c.n, 1);
    cr_expect_eq(c.data[0].id, 0);
}

Test(sampler, draw_follows_cdf)
{
    fl_cand b[8];
    fl_cands c = from_probs(b, P, 6);
    /* sorted order 1 (0.4), 3 (0.25), 4 (0.15), 2 (0.1), 0 (0.05), 5 (0.05) */
    cr_expect_eq(fl_cands_draw(&c, 0.0), 1);
    cr_expect_eq(fl_cands_draw(&c, 0.39), 1);
    cr_expect_eq(fl_cands_draw(&c, 0.41), 3);
    cr_expect_eq(fl_cands_draw(&c, 0.66), 4);
    cr_expect_eq(fl_cands_draw(&c, 0.96), 5);
}

static void logits_of(float *l, const double *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        l[i] = (float)log(p[i]);
}

Test(sampler, seeded_reproducible)
{
    fl_sampler_params sp;
    fl_sampler_default_params(&sp);
    sp.temp = 1.0f;
    sp.top_k = 0;
    sp.top_p = 1.0f;
    sp.min_p = 0.0f;
    float l[6];
    logits_of(l, P, 6);
    int32_t a[64], b2[64], d[64];
    for (int run = 0; run < 3; run++) {
        sp.seed = run == 2 ? 43 : 42;
        fl_sampler *s;
        cr_assert_eq(fl_sampler_new(&s, &sp, 6), 0);
        for (int i = 0; i < 64; i++)
            (run == 0 ? a : run == 1 ? b2 : d)[i] = fl_sampler_sample(s, l);
        fl_sampler_free(s);
    }
    cr_expect_eq(memcmp(a, b2, sizeof a), 0, "same seed, same tokens");
    cr_expect_neq(memcmp(a, d, sizeof a), 0, "another seed, other tokens");
}

Test(sampler, frequencies)
{
    fl_sampler_params sp;
    fl_sampler_default_params(&sp);
    sp.temp = 1.0f, sp.top_k = 0, sp.top_p = 1.0f, sp.min_p = 0.0f, sp.seed = 7;
    float l[6];
    logits_of(l, P, 6);
    fl_sampler *s;
    cr_assert_eq(fl_sampler_new(&s, &sp, 6), 0);
    int count[6] = {0};
    const int N = 40000;
    for (int i = 0; i < N; i++)
        count[fl_sampler_sample(s, l)]++;
    for (int i = 0; i < 6; i++) /* 5 sigma of a binomial at N = 40000 is below 0.013 */
        cr_expect_float_eq((double)count[i] / N, P[i], 0.013, "id %d", i);
    fl_sampler_free(s);

    /* temperature 0.5 squares the probabilities (renormalised) */
    sp.temp = 0.5f;
    cr_assert_eq(fl_sampler_new(&s, &sp, 6), 0);
    memset(count, 0, sizeof count);
    double z = 0;
    for (int i = 0; i < 6; i++)
        z += P[i] * P[i];
    for (int i = 0; i < N; i++)
        count[fl_sampler_sample(s, l)]++;
    for (int i = 0; i < 6; i++)
        cr_expect_float_eq((double)count[i] / N, P[i] * P[i] / z, 0.013, "T 0.5 id %d", i);
    fl_sampler_free(s);
}

Test(sampler, greedy_with_penalty_and_top_k_chain)
{
    fl_sampler_params sp;
    fl_sampler_default_params(&sp);
    sp.temp = 0;
    sp.repeat_penalty = 4.0f;
    float l[6];
    logits_of(l, P, 6); /* log p: all negative, so penalised ones are multiplied */
    fl_sampler *s;
    cr_assert_eq(fl_sampler_new(&s, &sp, 6), 0);
    cr_expect_eq(fl_sampler_sample(s, l), 1);
    fl_sampler_accept(s, 1);
    cr_expect_eq(fl_sampler_sample(s, l), 3, "log 0.4 * 4 < log 0.25");
    fl_sampler_free(s);

    /* top-k 2 at any temperature leaves only ids 1 and 3 */
    sp.temp = 5.0f, sp.repeat_penalty = 1.0f, sp.top_k = 2, sp.top_p = 1.0f, sp.min_p = 0;
    cr_assert_eq(fl_sampler_new(&s, &sp, 6), 0);
    for (int i = 0; i < 200; i++) {
        int32_t t = fl_sampler_sample(s, l);
        cr_expect(t == 1 || t == 3, "got %d", t);
    }
    fl_sampler_free(s);
}
