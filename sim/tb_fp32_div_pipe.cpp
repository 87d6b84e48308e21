/* sim/tb_fp32_div_pipe.cpp: Verilator testbench of hw/fp/fp32_div_pipe.v (the pipelined
 * divider, one division per cycle) against SSE divss with the operands in order (so NaN
 * payloads are pinned) and against C `a / b` wherever at most one operand is NaN.
 * Vectors: every pair of a list of edge values (zeros, subnormals, min/max normal, 1, inf,
 * quiet and signalling NaN, both signs), then random pairs of classes: raw bits, exponents
 * close together, subnormal operands, quotients near overflow and in gradual underflow, and
 * short significands (exact quotients). Fed back to back through tb_stream, so the latency
 * (TB_LATENCY) and the valid pipeline are checked as well. */
#include <immintrin.h>

#include <cstdlib>
#include <vector>

#include "Vfp32_div_pipe.h"
#include "tb_common.h"
#include "verilated.h"

#ifndef TB_LATENCY
#error "TB_LATENCY must match the model's latency"
#endif

static const uint32_t k_edge[] = {
    0x00000000u, 0x00000001u, 0x00000007u, 0x001fffffu, 0x00400001u, 0x007fffffu, 0x00800000u,
    0x00800003u, 0x00ffffffu, 0x34000000u, 0x3effffffu, 0x3f800000u, 0x3f800001u, 0x3fffffffu,
    0x40490fdbu, 0x4b000001u, 0x7e800000u, 0x7f7fffffu, 0x7f800000u, 0x7f800001u, 0x7fbfffffu,
    0x7fc00000u, 0x7fd23456u,
};

static uint32_t divss(uint32_t a, uint32_t b)
{
    return tb_u(_mm_cvtss_f32(_mm_div_ss(_mm_set_ss(tb_f(a)), _mm_set_ss(tb_f(b)))));
}
static uint32_t div_c(uint32_t a, uint32_t b)
{
    volatile float x = tb_f(a), y = tb_f(b);
    return tb_u(x / y);
}
static bool nan32(uint32_t v)
{
    return (v & 0x7fffffffu) > 0x7f800000u;
}

/* an operand of class cls; `ref` is the other operand (for the relative classes) */
static uint32_t operand(tb_rng &r, unsigned cls, uint32_t ref)
{
    uint32_t sign = r.u32() & 0x80000000u, frac = r.u32() & 0x7fffffu;
    int re = (int)((ref >> 23) & 0xffu), e;
    if (cls == 0)
        return r.u32();
    if (cls == 1)
        e = re - 4 + (int)r.below(9);
    else if (cls == 2)
        e = (int)r.below(2);
    else if (cls == 3)
        e = r.below(2) ? re + 124 + (int)r.below(8) : re - 150 + (int)r.below(30);
    else {
        frac &= 0x7fffffu << r.below(24);
        e = 1 + (int)r.below(253);
    }
    e = e < 0 ? 0 : e > 254 ? 254 : e;
    return sign | ((uint32_t)e << 23) | frac;
}

int main(int argc, char **argv)
{
    Verilated::commandArgs(argc, argv);
    Vfp32_div_pipe *m = new Vfp32_div_pipe;
    tb_count c;
    uint64_t n_random = 400000;
    if (const char *e = std::getenv("TB_VECTORS"))
        n_random = std::strtoull(e, nullptr, 10);
    std::vector<uint32_t> va, vb;
    const size_t ne = sizeof k_edge / sizeof k_edge[0];
    for (size_t i = 0; i < ne; i++)
        for (size_t j = 0; j < ne; j++)
            for (uint32_t sg = 0; sg < 4; sg++) {
                va.push_back(k_edge[i] | (sg & 1u) << 31);
                vb.push_back(k_edge[j] | (sg >> 1) << 31);
            }
    tb_rng r(0xd1f1u);
    for (uint64_t i = 0; i < n_random; i++) {
        uint32_t b = operand(r, r.below(5), r.u32());
        va.push_back(operand(r, r.below(5), b));
        vb.push_back(b);
    }
    tb_stream(
        m, c, "fp32_div_pipe", va.size(), TB_LATENCY,
        [&](size_t k, bool on) {
            m->a = on ? va[k] : 0;
            m->b = on ? vb[k] : 0;
        },
        [&](size_t k) {
            uint32_t a = va[k], b = vb[k], got = m->y, want = divss(a, b);
            if (!tb_check(c, got == want) && tb_show(c))
                std::printf("FAIL %08x / %08x = %08x, divss %08x\n", a, b, got, want);
            if (!(nan32(a) && nan32(b)) && !tb_check(c, got == div_c(a, b)) && tb_show(c))
                std::printf("FAIL %08x / %08x = %08x, C %08x\n", a, b, got, div_c(a, b));
        });
    m->final();
    delete m;
    std::printf("fp32_div_pipe: %zu vectors, latency %d\n", va.size(), TB_LATENCY);
    return tb_finish(c);
}
