/* tests/hls/test_attention.c: the attention kernel (hls/attention.c) against a float64 model.
 *
 * The model keeps every rotated key and value of the sequence in float64 (no fp16 / int8) and
 * computes causal softmax attention per query head with grouped kv heads. Bound per output
 * element, from the kernel's storage rounding:
 *   key error  |dk| <= 2^-11 |k| (fp16) or amax/254 + amax 2^-11 (int8, amax of the head row),
 *   score error D = max_j scale * sum_d |q_d| |dk_jd| (+ 1e-5 relative for fp32 and RoPE),
 *   softmax weights then move by at most p_j (e^{2D} - 1), values by |dv| as for keys:
 *   |do_d| <= (e^{2D} - 1) sum_j p_j |v_jd| + e^{2D} sum_j p_j |dv_jd| + 1e-5 sum_j p_j |v_jd|. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "hls/hls.h"
#include "hls_testlib.h"

#define SENTINEL 4321.0f

/* ---- float64 model of one sequence ---- */
typedef struct {
    uint32_t n_head, n_kv, hd, n_rot, int8;
    uint32_t len;
    double *k, *v;   /* (FL_MAX_CTX, n_kv, hd) rotated keys, values */
    double *ek, *ev; /* (FL_MAX_CTX, n_kv) error bound per element of that row */
} model;

static void model_init(model *m, uint32_t n_head, uint32_t n_kv, uint32_t hd, uint32_t n_rot,
                       uint32_t int8)
{
    *m = (model){n_head, n_kv, hd, n_rot, int8, 0, NULL, NULL, NULL, NULL};
    size_t e = (size_t)FL_MAX_CTX * n_kv * hd;
    m->k = calloc(e, sizeof(double));
    m->v = calloc(e, sizeof(double));
    m->ek = calloc(e, sizeof(double));
    m->ev = calloc(e, sizeof(double));
}

static void model_free(model *m)
{
    free(m->k);
    free(m->v);
    free(m->ek);
    free(m->ev);
}

static void rope_d(const float *x, const float *cs, uint32_t hd, uint32_t n_rot, double *o)
{
    for (uint32_t i = 0; i < hd; i += 2) {
        double x0 = x[i], x1 = x[i + 1];
        if (i < n_rot) {
            double c = cs[i], s = cs[i + 1];
            o[i] = x0 * c - x1 * s;
            o[i + 1] = x0 * s + x1 * c;
        } else {
            o[i] = x0;
            o[i + 1] = x1;
        }
    }
}

/* storage error bound of each element of a row */
static void row_err(const model *m, const double *row, double *err)
{
    double amax = 0;
    for (uint32_t d = 0; d < m->hd; d++)
        amax = fmax(amax, fabs(row[d]));
    for (uint32_t d = 0; d < m->hd; d++)
        err[d] = m->int8 ? tl_q8_err(amax) : ldexp(fabs(row[d]), -11) * 1.0001;
}

/* Append t tokens at pos and check the kernel output `out` (t, n_head, hd). */
static void model_step(model *m, uint32_t pos, uint32_t t, const float *q, const float *k,
                       const float *v, const float *cs, const float *out)
{
    uint32_t hd = m->hd, nkv = m->n_kv;
    for (uint32_t tt = 0; tt < t; tt++)
        for (uint32_t h = 0; h < nkv; h++) {
            size_t src = ((size_t)tt * nkv + h) * hd, dst = ((size_t)(pos + tt) * nkv + h) * hd;
            rope_d(k + src, cs + (size_t)tt * m->n_rot, hd, m->n_rot, m->k + dst);
            for (uint32_t d = 0; d < hd; d++)
                m->v[dst + d] = v[src + d];
            row_err(m, m->k + dst, m->ek + dst);
            row_err(m, m->v + dst, m->ev + dst);
        }
    m->len = pos + t;
    double scale = 1.0 / sqrt((double)hd);
    double *qr = malloc(sizeof(double) * hd), *s = malloc(sizeof(double) * FL_MAX_CTX),
           *ds = malloc(sizeof(double) * FL_MAX_CTX);
    for (uint32_t tt = 0; tt < t; tt++)
        for (uint32_t hq = 0; hq < m->n_head; hq++) {
            uint32_t h = hq / (m->n_head / nkv), npos = pos + tt + 1;
            size_t qo = ((size_t)tt * m->n_head + hq) * hd;
            rope_d(q + qo, cs + (size_t)tt * m->n_rot, hd, m->n_rot, qr);
            double mx = -INFINITY, D = 0;
            for (uint32_t j = 0; j < npos; j++) {
                const double *kr = m->k + ((size_t)j * nkv + h) * hd;
                const double *er = m->ek + ((size_t)j * nkv + h) * hd;
                double dot = 0, dabs = 0, derr = 0;
                for (uint32_t d = 0; d < hd; d++) {
                    dot += qr[d] * kr[d];
                    dabs += fabs(qr[d] * kr[d]);
                    derr += fabs(qr[d]) * er[d];
                }
                s[j] = dot * scale;
                ds[j] = (derr + 1e-5 * dabs) * scale + 1e-6;
                mx = fmax(mx, s[j]);
                D = fmax(D, ds[j]);
            }
            double sum = 0;
            for (uint32_t j = 0; j < npos; j++) {
                s[j] = exp(s[j] - mx);
                sum += s[j];
            }
            for (uint32_t d = 0; d < hd; d++) {
                double o = 0, pv = 0, pdv = 0;
                for (uint32_t j = 0; j < npos; j++) {
                    size_t e = ((size_t)j * nkv + h) * hd + d;
                    double p = s[j] / sum;
                    o += p * m->v[e];
                    pv += p * fabs(m->v[e]);
                    pdv += p * m->ev[e];
                }
                double bound = (exp(2 * D) - 1) * pv + exp(2 * D) * pdv + 1e-5 * pv + 1e-6;
                double got = out[qo + d];
                cr_assert(fabs(got - o) <= bound,
                          "heads %u/%u %s pos %u t %u: token %u head %u d %u: %.8g, float64 %.8g "
                          "(bound %g)",
                          m->n_head, nkv, m->int8 ? "int8" : "fp16", pos, t, tt, hq, d, got, o,
                          bound);
            }
        }
    free(qr);
    free(s);
    free(ds);
}

/* ---- one kernel call on random inputs, checked against the model ---- */
static uint32_t call(fl_hls_state *st, model *m, tl_rng *r, uint32_t layer, uint32_t pos,
                     uint32_t t, int check)
{
    uint32_t hd = m->hd;
    size_t nq = (size_t)t * m->n_head * hd, nk = (size_t)t * m->n_kv * hd;
    float *q = calloc(nq, 4), *k = calloc(nk, 4), *v = calloc(nk, 4), *out = calloc(nq, 4);
    float *cs = calloc((size_t)t * (m->n_rot + 2), sizeof(float));
    tl_fill(r, q, nq, -3.0, 3.0);
    tl_fill(r, k, nk, -1.0, 1.0);
    tl_fill(r, v, nk, -1.0, 1.0);
    /* the cos/sin table, computed here in float64 independently of fl_rope_table */
    for (uint32_t tt = 0; tt < t; tt++)
        for (uint32_t i = 0; i < m->n_rot / 2; i++) {
            double th = (pos + tt) * pow(10000.0, -2.0 * i / m->n_rot);
            cs[(tt * m->n_rot / 2 + i) * 2] = (float)cos(th);
            cs[(tt * m->n_rot / 2 + i) * 2 + 1] = (float)sin(th);
        }
    for (size_t i = 0; i < nq; i++)
        out[i] = SENTINEL;
    uint32_t status = 99;
    fl_attention(st, q, k, v, cs, out, layer, pos, t, m->n_head, m->n_kv, hd, m->n_rot,
                 m->int8 ? FL_ATT_KV_INT8 : 0, &status);
    if (status == FL_KST_OK && check)
        model_step(m, pos, t, q, k, v, cs, out);
    if (status != FL_KST_OK)
        for (size_t i = 0; i < nq; i++)
            cr_assert_eq(out[i], SENTINEL, "out written on error status %u", status);
    free(q);
    free(k);
    free(v);
    free(out);
    free(cs);
    return status;
}

/* prefill 5, decode 1, 1, then a chunk of 3, for one head layout and KV type */
static void sequence(uint32_t n_head, uint32_t n_kv, uint32_t hd, uint32_t n_rot, uint32_t int8,
                     uint32_t layer, uint64_t seed)
{
    fl_hls_state *st;
    cr_assert_eq(fl_hls_state_open(&st), 0);
    model m;
    model_init(&m, n_head, n_kv, hd, n_rot, int8);
    tl_rng r = {seed};
    uint32_t steps[4][2] = {{0, 5}, {5, 1}, {6, 1}, {7, 3}};
    for (int i = 0; i < 4; i++)
        cr_assert_eq(call(st, &m, &r, layer, steps[i][0], steps[i][1], 1), FL_KST_OK);
    model_free(&m);
    fl_hls_state_close(st);
}

/* ---- head layouts and KV types ---- */
Test(hls_attention, gqa1_fp16_and_int8)
{
    sequence(4, 4, 64, 64, 0, 0, 1);
    sequence(4, 4, 64, 64, 1, 0, 2);
}

Test(hls_attention, gqa4_fp16_and_int8)
{
    sequence(8, 2, 64, 64, 0, 3, 3);
    sequence(8, 2, 64, 64, 1, 3, 4);
}

Test(hls_attention, gqa8_fp16_and_int8)
{
    sequence(32, 4, 64, 64, 0, FL_MAX_LAYERS - 1, 5);
    sequence(8, 1, 64, 64, 1, 7, 6);
}

Test(hls_attention, partial_rotation_and_small_head)
{
    sequence(2, 1, 16, 8, 0, 1, 7);
    sequence(2, 2, 64, 0, 1, 1, 8);
}

/* ---- context full: exactly full works, one past fails and changes nothing ---- */
Test(hls_attention, context_full_then_one_past)
{
    fl_hls_state *st;
    cr_assert_eq(fl_hls_state_open(&st), 0);
    model m;
    model_init(&m, 2, 1, 16, 16, 0);
    tl_rng r = {9};
    for (uint32_t pos = 0; pos < FL_MAX_CTX; pos += FL_MAX_T) {
        uint32_t t = FL_MAX_CTX - pos < FL_MAX_T ? FL_MAX_CTX - pos : FL_MAX_T;
        cr_assert_eq(call(st, &m, &r, 2, pos, t, 1), FL_KST_OK);
    }
    cr_assert_eq(m.len, FL_MAX_CTX);
    cr_assert_eq(call(st, &m, &r, 2, FL_MAX_CTX, 1, 0), FL_KST_CTX_FULL);
    cr_assert_eq(call(st, &m, &r, 2, FL_MAX_CTX - 8, 9, 0), FL_KST_CTX_FULL);
    /* the failed calls wrote nothing: rewriting the last position matches the model */
    cr_assert_eq(call(st, &m, &r, 2, FL_MAX_CTX - 1, 1, 1), FL_KST_OK);
    model_free(&m);
    fl_hls_state_close(st);
}

/* ---- argument errors ---- */
static uint32_t bad(fl_hls_state *st, uint32_t layer, uint32_t pos, uint32_t t, uint32_t nh,
                    uint32_t nkv, uint32_t hd, uint32_t nrot, uint32_t flags)
{
    float out[4] = {SENTINEL, SENTINEL, SENTINEL, SENTINEL};
    uint32_t status = 99;
    /* NULL inputs: reading them before the check would crash */
    fl_attention(st, NULL, NULL, NULL, NULL, out, layer, pos, t, nh, nkv, hd, nrot, flags,
                 &status);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(out[i], SENTINEL);
    return status;
}

Test(hls_attention, bad_arguments)
{
    fl_hls_state *st;
    cr_assert_eq(fl_hls_state_open(&st), 0);
    cr_assert_eq(bad(st, FL_MAX_LAYERS, 0, 1, 4, 4, 64, 64, 0), FL_KST_RANGE);
    cr_assert_eq(bad(st, 0, 0, FL_MAX_T + 1, 4, 4, 64, 64, 0), FL_KST_RANGE);
    cr_assert_eq(bad(st, 0, 0, 1, FL_MAX_HEADS * 2, FL_MAX_HEADS, 64, 64, 0), FL_KST_RANGE);
    cr_assert_eq(bad(st, 0, 0, 1, 4, 4, FL_MAX_HEAD_DIM + 2, 64, 0), FL_KST_RANGE);
    cr_assert_eq(bad(st, 0, 0, 1, 6, 4, 64, 64, 0), FL_KST_BAD_SHAPE);
    cr_assert_eq(bad(st, 0, 0, 1, 4, 4, 63, 62, 0), FL_KST_BAD_SHAPE);
    cr_assert_eq(bad(st, 0, 0, 1, 4, 4, 32, 64, 0), FL_KST_BAD_SHAPE);
    cr_assert_eq(bad(st, 0, 0, 0, 4, 4, 64, 64, 0), FL_KST_BAD_SHAPE);
    cr_assert_eq(bad(st, 0, 0, 1, 4, 4, 64, 64, 2), FL_KST_BAD_FLAGS);
    cr_assert_eq(bad(st, 0, 3, 1, 4, 4, 64, 64, 0), FL_KST_KV_GAP, "nothing cached yet");
    cr_assert_eq(bad(st, 0, 0xffffffffu, 2, 4, 4, 64, 64, 0), FL_KST_CTX_FULL);
    fl_hls_state_close(st);
}

Test(hls_attention, kv_type_fixed_per_sequence)
{
    fl_hls_state *st;
    cr_assert_eq(fl_hls_state_open(&st), 0);
    model m;
    model_init(&m, 2, 1, 32, 32, 1);
    tl_rng r = {10};
    cr_assert_eq(call(st, &m, &r, 4, 0, 3, 1), FL_KST_OK);
    m.int8 = 0; /* switch type mid-sequence: refused, nothing written */
    cr_assert_eq(call(st, &m, &r, 4, 3, 1, 0), FL_KST_KV_MODE);
    m.int8 = 1;
    cr_assert_eq(call(st, &m, &r, 4, 3, 2, 1), FL_KST_OK);
    m.int8 = 0; /* a new sequence (pos 0) may choose the other type */
    cr_assert_eq(call(st, &m, &r, 4, 0, 2, 1), FL_KST_OK);
    model_free(&m);
    fl_hls_state_close(st);
}
