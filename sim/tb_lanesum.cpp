/* sim/tb_lanesum.cpp: Verilator testbench of hw/fp/fp32_lanesum.v (with fp32_tree8) against
 * the C definition of the 8-lane sum, fl_lanes_zero / fl_lanes_add / fl_lanes_sum in
 * hls/numerics.h (compiled here with -ffp-contract=off).
 *
 * Rows of 1..300 terms back to back (the next row starts the cycle after `last`), with random
 * gaps in in_valid in some rows; terms of mixed magnitudes (cancellation, rounding in every
 * lane), occasionally -0, subnormals, inf and NaN. Each row's sum must come out in order.
 * Two references: fl_lanes_* exactly, except that where two NaNs meet C leaves the payload to
 * the compiler (gcc may swap the operands of a commutative add), so there any NaN matches a NaN;
 * and the same sum with SSE addss in the written operand order, which pins even those bits. */
#include <immintrin.h>

#include <cstdlib>
#include <deque>
#include <vector>

#include "Vfp32_lanesum.h"
#include "hls/numerics.h"
#include "tb_common.h"
#include "verilated.h"

static float add_sse(float a, float b)
{
    return _mm_cvtss_f32(_mm_add_ss(_mm_set_ss(a), _mm_set_ss(b)));
}

static bool is_nan(uint32_t u)
{
    return (u & 0x7fffffffu) > 0x7f800000u;
}

static uint32_t rnd_term(tb_rng &r, int base_exp)
{
    uint32_t s = r.u32() & 0x80000000u;
    switch (r.below(64)) {
    case 0:
        return s; /* +-0 */
    case 1:
        return s | (r.u32() & 0x7fffffu); /* subnormal */
    case 2:
        return s | 0x7f800000u; /* inf */
    case 3:
        return s | 0x7f800000u | (r.u32() & 0x7fffffu) | 1u; /* NaN (quiet or signalling) */
    default: {
        int e = base_exp + (int)r.below(25) - 12;
        if (e < 1)
            e = 1;
        if (e > 254)
            e = 254;
        return s | ((uint32_t)e << 23) | (r.u32() & 0x7fffffu);
    }
    }
}

int main(int argc, char **argv)
{
    Verilated::commandArgs(argc, argv);
    Vfp32_lanesum *m = new Vfp32_lanesum;
    tb_count c;
    uint64_t n_rows = 40000;
    if (const char *e = std::getenv("TB_VECTORS"))
        n_rows = std::strtoull(e, nullptr, 10);

    tb_rng r(0x5eed1a2eu);
    std::deque<uint32_t> want;     /* expected sums in row order (fl_lanes_sum) */
    std::deque<uint32_t> want_sse; /* the same with addss in operand order */
    std::deque<uint64_t> want_row;
    uint64_t got_rows = 0, cycles = 0;

    m->rst = 1;
    m->in_valid = 0;
    tb_tick(m);
    m->rst = 0;

    auto step = [&](bool v, bool last, uint32_t term) {
        m->in_valid = v;
        m->last = last;
        m->term = term;
        tb_tick(m);
        cycles++;
        if (m->out_valid) {
            if (!tb_check(c, !want.empty()) && tb_show(c)) {
                std::printf("FAIL lanesum: a sum with no row pending\n");
                return;
            }
            uint32_t w = want.front(), ws = want_sse.front();
            uint64_t row = want_row.front();
            want.pop_front();
            want_sse.pop_front();
            want_row.pop_front();
            got_rows++;
            if (!tb_check(c, m->sum == w || (is_nan(m->sum) && is_nan(w))) && tb_show(c))
                std::printf("FAIL lanesum row %llu: %08x, fl_lanes_sum gives %08x\n",
                            (unsigned long long)row, m->sum, w);
            if (!tb_check(c, m->sum == ws) && tb_show(c))
                std::printf("FAIL lanesum row %llu: %08x, the addss-order sum gives %08x\n",
                            (unsigned long long)row, m->sum, ws);
        }
    };

    for (uint64_t row = 0; row < n_rows; row++) {
        uint32_t n = r.below(4) == 0 ? 1 + r.below(16) : 1 + r.below(300);
        bool gaps = r.below(4) == 0;
        bool specials = r.below(8) == 0;
        int base = 100 + (int)r.below(60);
        fl_lanes ref;
        fl_lanes_zero(&ref);
        float ls[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        for (uint32_t i = 0; i < n; i++) {
            uint32_t t = specials ? rnd_term(r, base)
                                  : ((r.u32() & 0x80000000u) |
                                     ((uint32_t)(base + (int)r.below(25) - 12) << 23) |
                                     (r.u32() & 0x7fffffu));
            fl_lanes_add(&ref, i, tb_f(t));
            ls[i % 8] = add_sse(ls[i % 8], tb_f(t));
            while (gaps && r.below(3) == 0)
                step(false, false, 0);
            step(true, i + 1 == n, t);
        }
        want.push_back(tb_u(fl_lanes_sum(&ref)));
        want_sse.push_back(tb_u(add_sse(add_sse(add_sse(ls[0], ls[1]), add_sse(ls[2], ls[3])),
                                        add_sse(add_sse(ls[4], ls[5]), add_sse(ls[6], ls[7])))));
        want_row.push_back(row);
    }
    for (int i = 0; i < 64; i++)
        step(false, false, 0);
    tb_check(c, want.empty());
    if (!want.empty())
        std::printf("FAIL lanesum: %zu row sums never came out\n", want.size());
    m->final();
    delete m;
    std::printf("fp32_lanesum: %llu rows, %llu sums, %llu cycles\n", (unsigned long long)n_rows,
                (unsigned long long)got_rows, (unsigned long long)cycles);
    return tb_finish(c);
}
