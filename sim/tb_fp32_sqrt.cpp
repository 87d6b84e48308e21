/* sim/tb_fp32_sqrt.cpp: Verilator testbench of hw/fp/fp32_sqrt.v (sequential) against SSE
 * sqrtss and C sqrtf (the same correctly rounded operation). Vectors: every positive subnormal
 * exponent/shift pattern, edge values (zeros, subnormals, min/max normal, inf, NaN, negatives),
 * every exponent 0..255 with random significands, perfect squares and their neighbours, then
 * raw random bits. Checks the result, that done comes exactly SQRT_CYCLES after start, and that a
 * start while busy is ignored. */
#include <immintrin.h>

#include <cmath>
#include <cstdlib>
#include <vector>

#include "Vfp32_sqrt.h"
#include "tb_common.h"
#include "verilated.h"

static const int k_sqrt_cycles = 28;

static uint32_t ref_sse(uint32_t a)
{
    return tb_u(_mm_cvtss_f32(_mm_sqrt_ss(_mm_set_ss(tb_f(a)))));
}

int main(int argc, char **argv)
{
    Verilated::commandArgs(argc, argv);
    Vfp32_sqrt *m = new Vfp32_sqrt;
    tb_count c;
    uint64_t n_random = 300000;
    if (const char *e = std::getenv("TB_VECTORS"))
        n_random = std::strtoull(e, nullptr, 10);

    std::vector<uint32_t> vec;
    static const uint32_t edges[] = {0x00000000u, 0x00000001u, 0x00000002u, 0x00000003u,
                                     0x007fffffu, 0x00800000u, 0x00800001u, 0x3f800000u,
                                     0x3f800001u, 0x3f7fffffu, 0x40000000u, 0x40800000u,
                                     0x7f7fffffu, 0x7f800000u, 0x7f800001u, 0x7fc00000u,
                                     0x7fffffffu, 0x7fbfffffu};
    for (uint32_t e : edges) {
        vec.push_back(e);
        vec.push_back(e | 0x80000000u);
    }
    for (uint32_t sh = 0; sh < 23; sh++) /* every subnormal leading-bit position */
        for (uint32_t j = 0; j < 8; j++)
            vec.push_back((1u << sh) | (j & ((1u << sh) - 1u)));
    tb_rng r(0x5eed5a27u);
    for (uint32_t e = 0; e < 256; e++)
        for (uint32_t j = 0; j < 64; j++)
            vec.push_back((e << 23) | (r.u32() & 0x7fffffu));
    for (uint32_t j = 0; j < 20000; j++) { /* squares of short integers and neighbours */
        uint32_t v = 1u + r.below(4096);
        float sq = (float)v * (float)v * std::ldexp(1.0f, (int)r.below(60) - 30);
        uint32_t u = tb_u(sq);
        vec.push_back(u);
        vec.push_back(u + 1u);
        vec.push_back(u - 1u);
    }
    for (uint64_t i = 0; i < n_random; i++)
        vec.push_back(r.below(4) == 0 ? r.u32() : r.u32() & 0x7fffffffu);

    m->rst = 1;
    m->start = 0;
    tb_tick(m);
    m->rst = 0;
    tb_tick(m);
    for (size_t k = 0; k < vec.size(); k++) {
        uint32_t a = vec[k];
        if (!tb_check(c, !m->busy) && tb_show(c))
            std::printf("FAIL fp32_sqrt: busy before start\n");
        m->start = 1;
        m->a = a;
        tb_tick(m);
        m->start = 0;
        bool poke = (k % 7) == 0;
        int cycles = 1;
        while (!m->done && cycles < 100) {
            if (poke && cycles == 5) {
                m->start = 1;
                m->a = 0x40000000u;
            }
            tb_tick(m);
            m->start = 0;
            cycles++;
        }
        if (!tb_check(c, cycles == k_sqrt_cycles) && tb_show(c))
            std::printf("FAIL fp32_sqrt(%08x): done after %d cycles, expected %d\n", a, cycles,
                        k_sqrt_cycles);
        uint32_t got = m->y, want = ref_sse(a);
        if (!tb_check(c, got == want) && tb_show(c))
            std::printf("FAIL fp32_sqrt(%08x) = %08x, sqrtss gives %08x (%g)\n", a, got, want,
                        (double)tb_f(a));
        volatile float x = tb_f(a);
        uint32_t wc = tb_u(sqrtf(x));
        if (!tb_check(c, got == wc) && tb_show(c))
            std::printf("FAIL fp32_sqrt(%08x) = %08x, C sqrtf gives %08x\n", a, got, wc);
        tb_tick(m);
        if (!tb_check(c, !m->done && !m->busy) && tb_show(c))
            std::printf("FAIL fp32_sqrt: done/busy after the result\n");
    }
    m->final();
    delete m;
    std::printf("fp32_sqrt: %zu vectors, %d cycles each\n", vec.size(), k_sqrt_cycles);
    return tb_finish(c);
}
