/* sim/tb_fp16_to_fp32.cpp: Verilator testbench of hw/fp/fp16_to_fp32.v against
 * fl_fp16_to_fp32 (include/flare/fp16.h), over all 65536 codes, and for every non-NaN code
 * against F16C's vcvtph2ps (_cvtsh_ss, an independent reference; NaNs differ by design: F16C
 * quiets them, the contract keeps the payload as is). Pipelined, one code per cycle. */
#include <immintrin.h>

#include <vector>

#include "Vfp16_to_fp32.h"
#include "flare/fp16.h"
#include "tb_common.h"
#include "verilated.h"

#ifndef TB_LATENCY
#error "TB_LATENCY must match the model's LATENCY parameter"
#endif

__attribute__((target("f16c"))) static uint32_t f16c_ref(uint16_t h)
{
    return tb_u(_cvtsh_ss(h));
}

int main(int argc, char **argv)
{
    Verilated::commandArgs(argc, argv);
    Vfp16_to_fp32 *m = new Vfp16_to_fp32;
    tb_count c;
    __builtin_cpu_init();
    bool have_f16c = __builtin_cpu_supports("f16c");

    const size_t n = 65536, lat = TB_LATENCY;
    tb_stream(m, c, "fp16_to_fp32", n, lat,
              [&](size_t i, bool on) { m->h = (uint16_t)(on ? i : 0u); },
              [&](size_t k) {
                  uint16_t h = (uint16_t)k;
                  uint32_t want = fl_f32_bits(fl_fp16_to_fp32(h));
                  if (!tb_check(c, m->y == want) && tb_show(c))
                      std::printf("FAIL fp16_to_fp32(%04x) = %08x, fl_fp16_to_fp32 gives %08x\n", h, m->y,
                                  want);
                  bool h_nan = (h & 0x7c00u) == 0x7c00u && (h & 0x3ffu) != 0;
                  if (have_f16c && !h_nan) {
                      uint32_t w2 = f16c_ref(h);
                      if (!tb_check(c, m->y == w2) && tb_show(c))
                          std::printf("FAIL fp16_to_fp32(%04x) = %08x, F16C gives %08x\n", h, m->y, w2);
                  }
              });
    m->final();
    delete m;
    std::printf("fp16_to_fp32: %zu codes, latency %d, F16C %s\n", n, TB_LATENCY,
                have_f16c ? "checked" : "not available");
    return tb_finish(c);
}
