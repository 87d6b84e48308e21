/* sim/tb_fp32_exp.cpp: Verilator testbench of hw/fp/fp32_exp.v against fl_exp
 * (hls/numerics.h, the contract's exp). Vectors: every fp32 exponent 0..133 with random
 * significands (|x| < 100, both signs, so every table entry and both overflow/underflow cut-offs
 * are hit), dense points around the cut-offs (x near 88.72, -87.34, +-100), zeros, subnormals,
 * inf, NaN (returned unchanged), then raw random bits. Pipelined, one value per cycle. Also
 * reports the table entries the vectors reached, and fails unless all 64 were. */
#include <cstdlib>
#include <vector>

#include "Vfp32_exp.h"
#include "hls/numerics.h"
#include "tb_common.h"
#include "verilated.h"

#ifndef TB_LATENCY
#error "TB_LATENCY must match the model's LATENCY parameter"
#endif

/* Table index fl_exp uses for x (-1 on the early-exit paths), to check coverage. */
static int table_index(float x)
{
    if (x != x)
        return -1;
    uint32_t b = fl_f32_bits(x);
    float ax = fl_bits_f32(b & 0x7fffffffu);
    int neg = (b >> 31) != 0;
    if (ax >= 100.0f)
        return -1;
    uint64_t a = (uint64_t)(ax * 16777216.0f);
    uint64_t tm = (a * FL_EXP_LOG2E_Q32) >> 33;
    if ((!neg && tm >= (128ull << 23)) || (neg && tm > (126ull << 23)))
        return -1;
    uint32_t u = neg ? (126u << 23) - (uint32_t)tm : (126u << 23) + (uint32_t)tm;
    return (int)((u & 0x7fffffu) >> 17);
}

int main(int argc, char **argv)
{
    Verilated::commandArgs(argc, argv);
    Vfp32_exp *m = new Vfp32_exp;
    tb_count c;
    uint64_t n_random = 2000000;
    if (const char *e = std::getenv("TB_VECTORS"))
        n_random = std::strtoull(e, nullptr, 10);

    std::vector<uint32_t> vec;
    tb_rng r(0x5eede4b1u);
    for (uint32_t e = 0; e <= 133; e++)
        for (uint32_t j = 0; j < 4096; j++)
            vec.push_back((r.u32() & 0x80000000u) | (e << 23) | (r.u32() & 0x7fffffu));
    static const float cuts[] = {88.7228f, -87.3365f, 100.0f, -100.0f, 88.0f, -87.0f};
    for (float cut : cuts)
        for (int d = -3000; d <= 3000; d++)
            vec.push_back(fl_f32_bits(cut) + (uint32_t)d);
    static const uint32_t specials[] = {0x00000000u, 0x80000000u, 0x00000001u, 0x80000001u,
                                        0x7f800000u, 0xff800000u, 0x7fc00000u, 0xffc00001u,
                                        0x7f800001u, 0x7f7fffffu, 0xff7fffffu};
    for (uint32_t s : specials)
        vec.push_back(s);
    for (uint64_t i = 0; i < n_random; i++)
        vec.push_back(r.u32());

    bool hit[64] = {false};
    const size_t n = vec.size(), lat = TB_LATENCY;
    tb_stream(m, c, "fp32_exp", n, lat,
              [&](size_t i, bool on) { m->x = on ? vec[i] : 0u; },
              [&](size_t k) {
                  uint32_t u = vec[k];
                  uint32_t want = fl_f32_bits(fl_exp(fl_bits_f32(u)));
                  int ti = table_index(fl_bits_f32(u));
                  if (ti >= 0)
                      hit[ti] = true;
                  if (!tb_check(c, m->y == want) && tb_show(c))
                      std::printf("FAIL fp32_exp(%08x = %g) = %08x, fl_exp gives %08x\n", u,
                                  (double)tb_f(u), m->y, want);
              });
    int n_hit = 0;
    for (bool h : hit)
        n_hit += h;
    if (!tb_check(c, n_hit == 64))
        std::printf("FAIL fp32_exp: vectors reached %d of the 64 table entries\n", n_hit);
    m->final();
    delete m;
    std::printf("fp32_exp: %zu values, latency %d, %d/64 table entries reached\n", n, TB_LATENCY,
                n_hit);
    return tb_finish(c);
}
