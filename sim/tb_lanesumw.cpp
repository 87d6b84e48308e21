/* sim/tb_lanesumw.cpp: Verilator testbench of hw/fp/fp32_lanesumw.v (TB_WAYS = 2 or 4 terms
 * per cycle, with fp32_tree8) against fl_lanes_zero / fl_lanes_add / fl_lanes_sum
 * (hls/numerics.h) and the same sum with SSE addss in the written operand order.
 *
 * Rows of 1..300 terms back to back, fed in groups of TB_WAYS terms (the last group of a row
 * holding what is left, 1..TB_WAYS; unused term slots random); random gaps in some rows; terms of mixed magnitudes (cancellation,
 * rounding in every lane), occasionally +-0, subnormals and inf (no NaN: where two NaNs meet
 * C leaves the payload to the compiler; tb_lanesum covers NaN on the one-term unit, which
 * shares the adder). Each row's sum must come out in order, bit for bit. */
#include <immintrin.h>

#include <cstdlib>
#include <deque>
#include <vector>

#include "Vfp32_lanesumw.h"
#include "hls/numerics.h"
#include "tb_common.h"
#include "verilated.h"

static float add_sse(float a, float b)
{
    return _mm_cvtss_f32(_mm_add_ss(_mm_set_ss(a), _mm_set_ss(b)));
}

static uint32_t rnd_term(tb_rng &r, int base, bool specials)
{
    uint32_t s = r.u32() & 0x80000000u;
    switch (specials ? r.below(32) : 31) {
    case 0:
        return s; /* +-0 */
    case 1:
        return s | (r.u32() & 0x7fffffu); /* subnormal */
    case 2:
        return s | 0x7f800000u; /* inf */
    default: {
        int e = base + (int)r.below(25) - 12;
        return s | ((uint32_t)e << 23) | (r.u32() & 0x7fffffu);
    }
    }
}

#ifndef TB_WAYS
#define TB_WAYS 2
#endif
/* terms is 64 bits (2 ways) or 128 bits (4 ways, a VlWide) in the model */
static void set_term(Vfp32_lanesumw *m, unsigned w, uint32_t t)
{
#if TB_WAYS == 2
    m->terms = (m->terms & ~(0xffffffffull << (32 * w))) | ((uint64_t)t << (32 * w));
#else
    m->terms[w] = t;
#endif
}

int main(int argc, char **argv)
{
    Verilated::commandArgs(argc, argv);
    Vfp32_lanesumw *m = new Vfp32_lanesumw;
    tb_count c;
    uint64_t n_rows = 40000;
    if (const char *e = std::getenv("TB_VECTORS"))
        n_rows = std::strtoull(e, nullptr, 10);
    tb_rng r(0x1a2e5u);
    std::deque<uint32_t> want, want_sse;
    std::deque<uint64_t> want_row;

    m->rst = 1;
    m->in_valid = 0;
    tb_tick(m);
    m->rst = 0;

    auto step = [&](bool v, unsigned nt, bool last, const uint32_t *t) {
        m->in_valid = v;
        m->in_n = nt;
        m->last = last;
        for (unsigned w = 0; w < TB_WAYS; w++)
            set_term(m, w, t ? t[w] : 0);
        tb_tick(m);
        if (!m->out_valid)
            return;
        if (!tb_check(c, !want.empty()) && tb_show(c)) {
            std::printf("FAIL lanesumw: a sum with no row pending\n");
            return;
        }
        uint32_t w = want.front(), ws = want_sse.front();
        uint64_t row = want_row.front();
        want.pop_front();
        want_sse.pop_front();
        want_row.pop_front();
        if (!tb_check(c, m->sum == w) && tb_show(c))
            std::printf("FAIL lanesumw row %llu: %08x, fl_lanes_sum gives %08x\n",
                        (unsigned long long)row, m->sum, w);
        if (!tb_check(c, m->sum == ws) && tb_show(c))
            std::printf("FAIL lanesumw row %llu: %08x, the addss-order sum gives %08x\n",
                        (unsigned long long)row, m->sum, ws);
    };

    std::vector<uint32_t> t;
    for (uint64_t row = 0; row < n_rows; row++) {
        uint32_t n = r.below(4) == 0 ? 1 + r.below(16) : 1 + r.below(300);
        bool gaps = r.below(4) == 0, specials = r.below(8) == 0;
        int base = 100 + (int)r.below(60);
        fl_lanes ref;
        fl_lanes_zero(&ref);
        float ls[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        t.resize(n);
        for (uint32_t i = 0; i < n; i++) {
            t[i] = rnd_term(r, base, specials);
            fl_lanes_add(&ref, i, tb_f(t[i]));
            ls[i % 8] = add_sse(ls[i % 8], tb_f(t[i]));
        }
        for (uint32_t i = 0; i < n; i += TB_WAYS) {
            while (gaps && r.below(3) == 0)
                step(false, 0, false, nullptr);
            uint32_t g[TB_WAYS];
            unsigned nt = n - i < TB_WAYS ? n - i : TB_WAYS;
            for (unsigned w = 0; w < TB_WAYS; w++)
                g[w] = w < nt ? t[i + w] : r.u32();
            step(true, nt, i + TB_WAYS >= n, g);
        }
        want.push_back(tb_u(fl_lanes_sum(&ref)));
        want_sse.push_back(tb_u(add_sse(add_sse(add_sse(ls[0], ls[1]), add_sse(ls[2], ls[3])),
                                        add_sse(add_sse(ls[4], ls[5]), add_sse(ls[6], ls[7])))));
        want_row.push_back(row);
    }
    for (int i = 0; i < 64; i++)
        step(false, 0, false, nullptr);
    tb_check(c, want.empty());
    if (!want.empty())
        std::printf("FAIL lanesumw: %zu row sums never came out\n", want.size());
    delete m;
    return tb_finish(c);
}
