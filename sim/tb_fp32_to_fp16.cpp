/* sim/tb_fp32_to_fp16.cpp: Verilator testbench of hw/fp/fp32_to_fp16.v against
 * fl_fp32_to_fp16 (include/flare/fp16.h) and, for every non-NaN input, F16C's vcvtps2ph with
 * round to nearest even (an independent reference). Vectors: every fp32 exponent with a dense
 * set of significands around each fp16 rounding point (the 13 dropped bits at 0, half - 1, half,
 * half + 1, max; fp16 subnormal range with its wider shifts), then millions of raw random bits.
 * Pipelined, one value per cycle. */
#include <immintrin.h>

#include <cstdlib>
#include <vector>

#include "Vfp32_to_fp16.h"
#include "flare/fp16.h"
#include "tb_common.h"
#include "verilated.h"

#ifndef TB_LATENCY
#error "TB_LATENCY must match the model's LATENCY parameter"
#endif

__attribute__((target("f16c"))) static uint16_t f16c_ref(uint32_t u)
{
    return (uint16_t)_cvtss_sh(tb_f(u), 0);
}

int main(int argc, char **argv)
{
    Verilated::commandArgs(argc, argv);
    Vfp32_to_fp16 *m = new Vfp32_to_fp16;
    tb_count c;
    __builtin_cpu_init();
    bool have_f16c = __builtin_cpu_supports("f16c");
    uint64_t n_random = 4000000;
    if (const char *e = std::getenv("TB_VECTORS"))
        n_random = std::strtoull(e, nullptr, 10);

    std::vector<uint32_t> vec;
    tb_rng r(0x5eed0f16u);
    for (uint32_t e = 0; e < 256; e++) {
        for (uint32_t j = 0; j < 256; j++) {
            uint32_t hi = r.u32() & 0x7fffffu;
            /* low bits around every rounding point of a shift of 13..24 */
            uint32_t sh = 13u + r.below(12);
            uint32_t half = 1u << (sh - 1u);
            static const int dl[] = {0, -1, 1};
            uint32_t low = (j % 5 == 0) ? 0u : (j % 5 == 4) ? (2u * half - 1u) : half;
            uint32_t man = ((hi >> sh) << sh) | ((low + (uint32_t)dl[j % 3]) & (2u * half - 1u));
            uint32_t u = (e << 23) | (man & 0x7fffffu);
            vec.push_back(u);
            vec.push_back(u | 0x80000000u);
        }
    }
    for (uint64_t i = 0; i < n_random; i++)
        vec.push_back(r.u32());

    const size_t n = vec.size(), lat = TB_LATENCY;
    tb_stream(m, c, "fp32_to_fp16", n, lat,
              [&](size_t i, bool on) { m->f = on ? vec[i] : 0u; },
              [&](size_t k) {
                  uint32_t u = vec[k];
                  uint16_t want = fl_fp32_to_fp16(tb_f(u));
                  if (!tb_check(c, m->h == want) && tb_show(c))
                      std::printf("FAIL fp32_to_fp16(%08x) = %04x, fl_fp32_to_fp16 gives %04x\n", u, m->h,
                                  want);
                  if (have_f16c && (u & 0x7fffffffu) <= 0x7f800000u) {
                      uint16_t w2 = f16c_ref(u);
                      if (!tb_check(c, m->h == w2) && tb_show(c))
                          std::printf("FAIL fp32_to_fp16(%08x) = %04x, F16C gives %04x\n", u, m->h, w2);
                  }
              });
    m->final();
    delete m;
    std::printf("fp32_to_fp16: %zu values, latency %d, F16C %s\n", n, TB_LATENCY,
                have_f16c ? "checked" : "not available");
    return tb_finish(c);
}
