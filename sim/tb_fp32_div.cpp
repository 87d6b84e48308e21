/* sim/tb_fp32_div.cpp: Verilator testbench of hw/fp/fp32_div.v (sequential) against SSE divss
 * (operand order fixed, so NaN payloads are pinned) and C `a / b` (compiled with
 * -ffp-contract=off) wherever at most one operand is NaN. Vectors: every pair of an edge-value
 * list (zeros, subnormals, min/max normal, inf, NaN, both signs), then random pairs: raw bits,
 * near exponents, subnormal operands, quotients near the overflow and underflow bounds (gradual
 * underflow, where halfway cases exist), and short significands (exact quotients). Checks the
 * result and that done comes exactly DIV_CYCLES after start, and that a start while busy is
 * ignored. */
#include <immintrin.h>

#include <cstdlib>
#include <vector>

#include "Vfp32_div.h"
#include "tb_common.h"
#include "verilated.h"

static const int k_div_cycles = 29;

static const uint32_t k_edges[] = {
    0x00000000u, 0x00000001u, 0x00000003u, 0x003fffffu, 0x00400000u, 0x007fffffu, 0x00800000u,
    0x00800001u, 0x01000000u, 0x33800000u, 0x3f000000u, 0x3f7fffffu, 0x3f800000u, 0x3f800001u,
    0x3fc00000u, 0x40400000u, 0x42fe0000u, 0x4b800000u, 0x7effffffu, 0x7f000000u, 0x7f7fffffu,
    0x7f800000u, 0x7f800001u, 0x7fbfffffu, 0x7fc00000u, 0x7fffffffu,
};

static uint32_t ref_sse(uint32_t a, uint32_t b)
{
    return tb_u(_mm_cvtss_f32(_mm_div_ss(_mm_set_ss(tb_f(a)), _mm_set_ss(tb_f(b)))));
}
static uint32_t ref_c(uint32_t a, uint32_t b)
{
    volatile float x = tb_f(a), y = tb_f(b);
    return tb_u(x / y);
}
static bool is_nan(uint32_t u)
{
    return (u & 0x7fffffffu) > 0x7f800000u;
}

static uint32_t rnd_operand(tb_rng &r, unsigned cls, uint32_t other)
{
    uint32_t s = r.u32() & 0x80000000u, man = r.u32() & 0x7fffffu;
    int oe = (int)((other >> 23) & 0xffu), e;
    switch (cls) {
    case 0:
        return r.u32();
    case 1: /* near the other's exponent */
        e = oe + (int)r.below(7) - 3;
        break;
    case 2: /* subnormal or lowest normals */
        e = (int)r.below(3);
        break;
    case 3: /* quotient near overflow (e - oe ~ 128) or underflow (~ -126 .. -150) */
        e = r.below(2) ? oe + 120 + (int)r.below(16) : oe - 118 - (int)r.below(40);
        break;
    default: /* short significand */
        man &= ~((1u << (23 - r.below(24))) - 1u);
        e = r.below(2) ? oe + (int)r.below(61) - 30 : (int)r.below(255);
        break;
    }
    if (e < 0)
        e = 0;
    if (e > 254)
        e = 254;
    return s | ((uint32_t)e << 23) | man;
}

int main(int argc, char **argv)
{
    Verilated::commandArgs(argc, argv);
    Vfp32_div *m = new Vfp32_div;
    tb_count c;
    uint64_t n_random = 300000;
    if (const char *e = std::getenv("TB_VECTORS"))
        n_random = std::strtoull(e, nullptr, 10);

    std::vector<std::pair<uint32_t, uint32_t>> vec;
    const size_t ne = sizeof k_edges / sizeof k_edges[0];
    for (size_t i = 0; i < ne; i++)
        for (size_t j = 0; j < ne; j++)
            for (uint32_t sg = 0; sg < 4; sg++)
                vec.push_back({k_edges[i] | ((sg & 1u) << 31), k_edges[j] | ((sg >> 1) << 31)});
    tb_rng r(0x5eed0d1fu);
    for (uint64_t i = 0; i < n_random; i++) {
        uint32_t b = rnd_operand(r, r.below(5), r.u32());
        uint32_t a = rnd_operand(r, r.below(5), b);
        vec.push_back({a, b});
    }

    m->rst = 1;
    m->start = 0;
    tb_tick(m);
    m->rst = 0;
    tb_tick(m);
    for (size_t k = 0; k < vec.size(); k++) {
        uint32_t a = vec[k].first, b = vec[k].second;
        if (!tb_check(c, !m->busy) && tb_show(c))
            std::printf("FAIL fp32_div: busy before start\n");
        m->start = 1;
        m->a = a;
        m->b = b;
        tb_tick(m);
        m->start = 0;
        bool poke = (k % 7) == 0; /* a start while busy must be ignored */
        int cycles = 1;
        while (!m->done && cycles < 100) {
            if (poke && cycles == 5) {
                m->start = 1;
                m->a = 0x3f800000u;
                m->b = 0x40400000u;
            }
            tb_tick(m);
            m->start = 0;
            cycles++;
        }
        if (!tb_check(c, cycles == k_div_cycles) && tb_show(c))
            std::printf("FAIL fp32_div(%08x, %08x): done after %d cycles, expected %d\n", a, b,
                        cycles, k_div_cycles);
        uint32_t got = m->y, want = ref_sse(a, b);
        if (!tb_check(c, got == want) && tb_show(c))
            std::printf("FAIL fp32_div(%08x, %08x) = %08x, divss gives %08x (%g / %g)\n", a, b,
                        got, want, (double)tb_f(a), (double)tb_f(b));
        if (!(is_nan(a) && is_nan(b))) {
            uint32_t wc = ref_c(a, b);
            if (!tb_check(c, got == wc) && tb_show(c))
                std::printf("FAIL fp32_div(%08x, %08x) = %08x, C gives %08x\n", a, b, got, wc);
        }
        tb_tick(m); /* done is a one-cycle pulse */
        if (!tb_check(c, !m->done && !m->busy) && tb_show(c))
            std::printf("FAIL fp32_div: done/busy after the result\n");
    }
    m->final();
    delete m;
    std::printf("fp32_div: %zu vectors, %d cycles each\n", vec.size(), k_div_cycles);
    return tb_finish(c);
}
