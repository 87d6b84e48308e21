/* host/sampler.c: the sampling chain of host/sampler.h. */
#include "host/sampler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "flare/error.h"

struct fl_sampler {
    fl_sampler_params p;
    uint32_t n_vocab;
    uint64_t rng;     /* splitmix64 state */
    fl_cand *cands;   /* (n_vocab) */
    int32_t *last;    /* (repeat_last_n) ring of recent tokens */
    size_t n_last, last_pos;
};

void fl_sampler_default_params(fl_sampler_params *p)
{
    *p = (fl_sampler_params){.temp = 0.8f, .top_k = 40, .top_p = 0.95f, .min_p = 0.05f,
                             .repeat_penalty = 1.0f, .repeat_last_n = 64, .seed = 0};
}

/* ---- filters -------------------------------------------------------------------------------- */

static int cmp_desc(const void *a, const void *b)
{
    const fl_cand *x = a, *y = b;
    if (x->logit != y->logit)
        return x->logit > y->logit ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

static void sort_desc(fl_cands *c)
{
    if (!c->sorted)
        qsort(c->data, c->n, sizeof *c->data, cmp_desc);
    c->sorted = 1;
}

void fl_cands_softmax(fl_cands *c)
{
    sort_desc(c);
    if (!c->n)
        return;
    float mx = c->data[0].logit;
    double sum = 0;
    for (size_t i = 0; i < c->n; i++)
        sum += (c->data[i].p = expf(c->data[i].logit - mx));
    for (size_t i = 0; i < c->n; i++)
        c->data[i].p = (float)(c->data[i].p / sum);
}

void fl_cands_repeat_penalty(fl_cands *c, const int32_t *last, size_t n_last, float penalty)
{
    if (penalty == 1.0f || !n_last)
        return;
    for (size_t i = 0; i < c->n; i++) {
        int seen = 0;
        for (size_t j = 0; j < n_last && !seen; j++)
            seen = last[j] == c->data[i].id;
        if (!seen)
            continue;
        if (c->data[i].logit <= 0)
            c->data[i].logit *= penalty;
        else
            c->data[i].logit /= penalty;
    }
    c->sorted = 0; /* O(n * n_last): fine for a 64-token window over 32000 candidates */
}

void fl_cands_top_k(fl_cands *c, int32_t k)
{
    if (k <= 0 || (size_t)k >= c->n)
        return;
    sort_desc(c);
    c->n = (size_t)k;
}

void fl_cands_top_p(fl_cands *c, float p, size_t min_keep)
{
    if (p >= 1.0f || !c->n)
        return;
    fl_cands_softmax(c);
    double cum = 0;
    size_t keep = c->n;
    for (size_t i = 0; i < c->n; i++) {
        cum += c->data[i].p;
        if (cum >= p && i + 1 >= min_keep) {
            keep = i + 1;
            break;
        }
    }
    c->n = keep;
}

void fl_cands_min_p(fl_cands *c, float p, size_t min_keep)
{
    if (p <= 0.0f || !c->n)
        return;
    fl_cands_softmax(c);
    float thr = c->data[0].p * p;
    size_t keep = 1;
    while (keep < c->n && c->data[keep].p >= thr)
        keep++;
    c->n = keep < min_keep && min_keep <= c->n ? min_keep : keep;
}

void fl_cands_temp(fl_cands *c, float temp)
{
    if (temp <= 0) { /* greedy: only the largest survives */
        sort_desc(c);
        if (c->n)
            c->n = 1;
        return;
    }
    for (size_t i = 0; i < c->n; i++)
        c->data[i].logit /= temp;
}

int32_t fl_cands_draw(fl_cands *c, double u)
{
    fl_cands_softmax(c);
    double cum = 0;
    for (size_t i = 0; i < c->n; i++) {
        cum += c->data[i].p;
        if (u < cum)
            return c->data[i].id;
    }
    return c->n ? c->data[c->n - 1].id : -1; /* u beyond a sum rounded below 1 */
}

/* ---- sampler -------------------------------------------------------------------------------- */

int fl_sampler_new(fl_sampler **out, const fl_sampler_params *p, uint32_t n_vocab)
{
    *out = NULL;
    if (!n_vocab)
        return flare_error(FLARE_EINVAL, "sampler: empty vocabulary");
    fl_sampler *s = calloc(1, sizeof *s);
    if (!s)
        return flare_error(FLARE_ENOMEM, "out of memory");
    s->p = *p;
    if (s->p.repeat_last_n < 0)
        s->p.repeat_last_n = 0;
    s->n_vocab = n_vocab;
    s->rng = p->seed;
    s->cands = malloc(n_vocab * sizeof *s->cands);
    s->last = malloc(((size_t)s->p.repeat_last_n + 1) * sizeof *s->last);
    if (!s->cands || !s->last) {
        fl_sampler_free(s);
        return flare_error(FLARE_ENOMEM, "out of memory for the sampler");
    }
    *out = s;
    return 0;
}

void fl_sampler_free(fl_sampler *s)
{
    if (!s)
        return;
    free(s->cands);
    free(s->last);
    free(s);
}

void fl_sampler_accept(fl_sampler *s, int32_t tok)
{
    size_t n = (size_t)s->p.repeat_last_n;
    if (!n)
        return;
    s->last[s->last_pos] = tok;
    s->last_pos = (s->last_pos + 1) % n;
    if (s->n_last < n)
        s->n_last++;
}

double fl_sampler_uniform(fl_sampler *s)
{
    uint64_t z = (s->rng += 0x9e3779b97f4a7c15ull); /* splitmix64 */
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (double)(z >> 11) * (1.0 / 9007199254740992.0);
}

int32_t fl_sampler_sample(fl_sampler *s, const float *logits)
{
    const fl_sampler_params *p = &s->p;
    if (p->temp <= 0 && (p->repeat_penalty == 1.0f || !s->n_last)) {
        uint32_t b = 0; /* greedy: argmax, the lowest id on ties */
        float best = logits[0];
        for (uint32_t i = 1; i < s->n_vocab; i++)
            if (logits[i] > best)
                best = logits[i], b = i;
        return (int32_t)b;
    }
    fl_cands c = {s->cands, s->n_vocab, 0};
    for (uint32_t i = 0; i < s->n_vocab; i++)
        s->cands[i] = (fl_cand){(int32_t)i, logits[i], 0};
    fl_cands_repeat_penalty(&c, s->last, s->n_last, p->repeat_penalty);
    if (p->temp <= 0) { /* greedy after the penalty */
        size_t b = 0;
        for (size_t i = 1; i < c.n; i++)
            if (c.data[i].logit > c.data[b].logit)
                b = i;
        return c.data[b].id;
    }
    if (p->top_k > 0 && (size_t)p->top_k < c.n) {
        /* partial selection: keep the k best before sorting (cheap for 32000 logits) */
        size_t k = (size_t)p->top_k, filled = 0;
        for (size_t i = 0; i < c.n; i++) {
            fl_cand x = c.data[i];
            if (filled == k && cmp_desc(&x, &c.data[k - 1]) >= 0)
                continue;
            size_t j = filled < k ? filled++ : k - 1; /* insertion into the sorted head */
            while (j > 0 && cmp_desc(&x, &c.data[j - 1]) < 0) {
                c.data[j] = c.data[j - 1];
                j--;
            }
            c.data[j] = x;
        }
        c.n = k;
        c.sorted = 1;
    }
    fl_cands_top_p(&c, p->top_p, 1);
    fl_cands_min_p(&c, p->min_p, 1);
    fl_cands_temp(&c, p->temp);
    return fl_cands_draw(&c, fl_sampler_uniform(s));
}
