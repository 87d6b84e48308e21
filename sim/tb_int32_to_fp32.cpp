/* sim/tb_int32_to_fp32.cpp: Verilator testbench of hw/fp/int32_to_fp32.v against C `(float)i`
 * (cvtsi2ss, round to nearest even). Vectors: every +-(2^k + d) for k < 32 and small d (carries
 * into the next binade), every exact tie around 2^24..2^31, INT_MIN/INT_MAX, then millions of
 * random values with random trailing-zero counts (exact results and ties), plus raw random bits.
 * Pipelined, one vector per cycle, checked TB_LATENCY cycles later. */
#include <climits>
#include <cstdlib>
#include <vector>

#include "Vint32_to_fp32.h"
#include "tb_common.h"
#include "verilated.h"

#ifndef TB_LATENCY
#error "TB_LATENCY must match the model's LATENCY parameter"
#endif

int main(int argc, char **argv)
{
    Verilated::commandArgs(argc, argv);
    Vint32_to_fp32 *m = new Vint32_to_fp32;
    tb_count c;
    uint64_t n_random = 6000000;
    if (const char *e = std::getenv("TB_VECTORS"))
        n_random = std::strtoull(e, nullptr, 10);

    std::vector<uint32_t> vec;
    vec.push_back(0u);
    vec.push_back(0x80000000u);
    vec.push_back(0x7fffffffu);
    for (int k = 0; k < 32; k++)
        for (int d = -4; d <= 4; d++) {
            uint32_t v = (uint32_t)(((uint64_t)1 << k) + (uint64_t)(int64_t)d);
            vec.push_back(v);
            vec.push_back(0u - v);
        }
    for (int k = 24; k < 31; k++) { /* ties: odd multiples of half an ulp, and neighbours */
        uint32_t half = 1u << (k - 24);
        for (uint32_t j = 0; j < 64; j++) {
            uint32_t base = (1u << k) + j * 2u * half;
            for (int d = -1; d <= 1; d++) {
                uint32_t v = base + half + (uint32_t)d;
                vec.push_back(v);
                vec.push_back(0u - v);
            }
        }
    }
    tb_rng r(0x5eed0003u);
    for (uint64_t i = 0; i < n_random; i++) {
        uint32_t v = r.u32();
        if (r.below(2)) {
            v &= ~((1u << r.below(32)) - 1u); /* trailing zeros */
            v >>= r.below(8);                 /* and a random magnitude */
            if (r.below(2))
                v = 0u - v;
        }
        vec.push_back(v);
    }

    size_t n = vec.size();
    const size_t lat = TB_LATENCY;
    tb_stream(m, c, "int32_to_fp32", n, lat,
              [&](size_t i, bool on) { m->i = on ? vec[i] : 0u; },
              [&](size_t k) {
                  int32_t iv = (int32_t)vec[k];
                  volatile int32_t vi = iv;
                  uint32_t want = tb_u((float)vi);
                  if (!tb_check(c, m->y == want) && tb_show(c))
                      std::printf("FAIL int32_to_fp32(%d) = %08x, C gives %08x\n", iv, m->y, want);
              });
    m->final();
    delete m;
    std::printf("int32_to_fp32: %zu vectors, latency %d\n", n, TB_LATENCY);
    return tb_finish(c);
}
