/* sim/tb_fp32_binop.cpp: Verilator testbench of hw/fp/fp32_add.v or fp32_mul.v (built with
 * -DTB_ADD or -DTB_MUL) against the x86-64 SSE operation (addss/mulss through intrinsics, which
 * fixes the operand order for NaN propagation), and against C `a + b` / `a * b` (compiled with
 * -ffp-contract=off) wherever at most one operand is NaN. The unit runs pipelined, one vector per
 * cycle; results are checked LATENCY cycles later. Vectors: every pair of an edge-value list
 * (zeros, subnormals, min/max normal, inf, quiet/signalling NaN, both signs), then millions of
 * random pairs in classes: raw bits, near exponents (cancellation), subnormal range, products
 * near the underflow/overflow bounds, and short significands (exact results and ties). */
#include <immintrin.h>

#include <cstdlib>
#include <vector>

#include "tb_common.h"
#include "verilated.h"

#if defined(TB_ADD)
#include "Vfp32_add.h"
typedef Vfp32_add Model;
static const char *const k_name = "fp32_add";
static uint32_t ref_sse(uint32_t a, uint32_t b)
{
    return tb_u(_mm_cvtss_f32(_mm_add_ss(_mm_set_ss(tb_f(a)), _mm_set_ss(tb_f(b)))));
}
static uint32_t ref_c(uint32_t a, uint32_t b)
{
    volatile float x = tb_f(a), y = tb_f(b);
    return tb_u(x + y);
}
#elif defined(TB_MUL)
#include "Vfp32_mul.h"
typedef Vfp32_mul Model;
static const char *const k_name = "fp32_mul";
static uint32_t ref_sse(uint32_t a, uint32_t b)
{
    return tb_u(_mm_cvtss_f32(_mm_mul_ss(_mm_set_ss(tb_f(a)), _mm_set_ss(tb_f(b)))));
}
static uint32_t ref_c(uint32_t a, uint32_t b)
{
    volatile float x = tb_f(a), y = tb_f(b);
    return tb_u(x * y);
}
#else
#error "define TB_ADD or TB_MUL"
#endif

#ifndef TB_LATENCY
#error "TB_LATENCY must match the model's LATENCY parameter"
#endif

static bool is_nan(uint32_t u)
{
    return (u & 0x7fffffffu) > 0x7f800000u;
}

/* ---- vector classes ---- */
static const uint32_t k_edges[] = {
    0x00000000u, 0x00000001u, 0x00000002u, 0x00000003u, 0x003fffffu, 0x00400000u, 0x007fffffu,
    0x00800000u, 0x00800001u, 0x00ffffffu, 0x01000000u, 0x0c000000u, 0x1f800000u, 0x33800000u,
    0x33ffffffu, 0x34000000u, 0x3effffffu, 0x3f000000u, 0x3f7fffffu, 0x3f800000u, 0x3f800001u,
    0x3fc00000u, 0x3fffffffu, 0x40000000u, 0x4b000000u, 0x4b7fffffu, 0x4b800000u, 0x5f000000u,
    0x7effffffu, 0x7f000000u, 0x7f7fffffu, 0x7f800000u, 0x7f800001u, 0x7fbfffffu, 0x7fc00000u,
    0x7fc00001u, 0x7fffffffu,
};

static uint32_t rnd_class(tb_rng &r, unsigned cls, uint32_t other)
{
    uint32_t s = r.u32() & 0x80000000u;
    uint32_t man = r.u32() & 0x7fffffu;
    switch (cls) {
    case 0: /* raw bits */
        return r.u32();
    case 1: { /* exponent within +-3 of the other operand (cancellation, carries) */
        int e = (int)((other >> 23) & 0xffu) + (int)r.below(7) - 3;
        if (e < 0)
            e = 0;
        if (e > 254)
            e = 254;
        return s | ((uint32_t)e << 23) | man;
    }
    case 2: /* subnormal and lowest normals */
        return s | (r.below(3) << 23) | man;
    case 3: { /* exponent within 0..40 of the other operand (rounding, sticky) */
        int e = (int)((other >> 23) & 0xffu) - (int)r.below(41);
        if (e < 0)
            e = 0;
        return s | ((uint32_t)e << 23) | man;
    }
    case 4: { /* products near underflow (exponent sum ~127) or overflow (~381) */
        int oe = (int)((other >> 23) & 0xffu);
        int tgt = (r.below(2) ? 127 : 381) - oe + (int)r.below(61) - 30;
        if (tgt < 0)
            tgt = 0;
        if (tgt > 254)
            tgt = 254;
        return s | ((uint32_t)tgt << 23) | man;
    }
    default: { /* short significand: many exact results and exact ties */
        uint32_t keep = r.below(24);
        man &= ~((1u << (23 - (keep < 23 ? keep : 23))) - 1u);
        int e = (int)((other >> 23) & 0xffu) + (int)r.below(61) - 30;
        if (r.below(4) == 0)
            e = (int)r.below(255);
        if (e < 0)
            e = 0;
        if (e > 254)
            e = 254;
        return s | ((uint32_t)e << 23) | man;
    }
    }
}

/* ---- pipelined driver ---- */
struct pending {
    uint32_t a, b;
};

int main(int argc, char **argv)
{
    Verilated::commandArgs(argc, argv);
    Model *m = new Model;
    tb_count c;
    uint64_t n_random = 6000000;
    if (const char *e = std::getenv("TB_VECTORS"))
        n_random = std::strtoull(e, nullptr, 10);

    std::vector<pending> vec;
    const size_t ne = sizeof k_edges / sizeof k_edges[0];
    for (size_t i = 0; i < ne; i++)
        for (size_t j = 0; j < ne; j++)
            for (uint32_t sg = 0; sg < 4; sg++)
                vec.push_back({k_edges[i] | ((sg & 1u) << 31), k_edges[j] | ((sg >> 1) << 31)});
    tb_rng r(0x5eed0000u + (k_name[5] == 'a' ? 1u : 2u));
    for (uint64_t i = 0; i < n_random; i++) {
        uint32_t a = rnd_class(r, r.below(6), r.u32());
        uint32_t b = rnd_class(r, r.below(6), a);
        vec.push_back(r.below(2) ? pending{a, b} : pending{b, a});
    }

    /* one vector per cycle; out_valid must rise exactly TB_LATENCY cycles after in_valid */
    m->in_valid = 0;
    tb_tick(m);
    tb_tick(m);
    size_t n = vec.size();
    for (size_t cyc = 0; cyc < n + TB_LATENCY; cyc++) {
        if (cyc < n) {
            m->in_valid = 1;
            m->a = vec[cyc].a;
            m->b = vec[cyc].b;
        } else {
            m->in_valid = 0;
        }
        if (TB_LATENCY > 0)
            tb_tick(m);
        else
            m->eval();
        size_t k = cyc + 1 - (TB_LATENCY > 0 ? TB_LATENCY : 1);
        if (TB_LATENCY == 0)
            k = cyc;
        bool want_valid = (cyc + 1 >= (size_t)(TB_LATENCY > 0 ? TB_LATENCY : 1)) && k < n;
        if (!tb_check(c, (m->out_valid != 0) == want_valid) && tb_show(c))
            std::printf("FAIL %s cycle %zu: out_valid %d, expected %d\n", k_name, cyc,
                        (int)m->out_valid, (int)want_valid);
        if (!want_valid)
            continue;
        uint32_t a = vec[k].a, b = vec[k].b, got = m->y;
        uint32_t want = ref_sse(a, b);
        if (!tb_check(c, got == want) && tb_show(c))
            std::printf("FAIL %s(%08x, %08x) = %08x, SSE gives %08x (%g, %g)\n", k_name, a, b,
                        got, want, (double)tb_f(a), (double)tb_f(b));
        if (!(is_nan(a) && is_nan(b))) {
            uint32_t wc = ref_c(a, b);
            if (!tb_check(c, got == wc) && tb_show(c))
                std::printf("FAIL %s(%08x, %08x) = %08x, C gives %08x\n", k_name, a, b, got, wc);
        }
    }
    m->final();
    delete m;
    std::printf("%s: %zu vectors, latency %d\n", k_name, n, TB_LATENCY);
    return tb_finish(c);
}
