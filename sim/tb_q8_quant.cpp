/* sim/tb_q8_quant.cpp: Verilator testbench of hw/q8_quant32.v (with q8_rne_clamp, fp32_div,
 * fp32_mul, fp32_to_fp16) against fl_q8_quant(x, 32, q) in hls/numerics.h: the 32 int8 values
 * and the fp16 scale of each block. Blocks: random magnitudes; blocks whose amax is exactly 127
 * (id = 1, so x_i * id = x_i and halves hit the ties-to-even rule directly); all zero (amax 0,
 * id 0); +-0 mixes; NaN elements (ignored by amax, quantized to 0); inf (amax inf); subnormals;
 * huge and tiny scales. Checks the fixed cycle count and that a start while busy is ignored. */
#include <cstdlib>
#include <vector>

#include "Vq8_quant32.h"
#include "hls/numerics.h"
#include "tb_common.h"
#include "verilated.h"

static const int k_q8_cycles = 63;

static uint32_t rnd_elem(tb_rng &r, unsigned kind, int base)
{
    uint32_t s = r.u32() & 0x80000000u;
    switch (kind) {
    case 0: { /* halves and integers in (-127, 127): ties when id = 1 */
        int k = (int)r.below(254) - 127;
        float v = (float)k + (r.below(2) ? 0.5f : 0.0f);
        if (v >= 127.0f)
            v = 126.5f;
        return fl_f32_bits(v);
    }
    case 1:
        return s | (r.u32() & 0x7fffffu); /* subnormal */
    case 2:
        return s; /* +-0 */
    case 3:
        return r.below(2) ? (s | 0x7fc00000u | (r.u32() & 0x3fffffu)) : (s | 0x7f800000u);
    default: {
        int e = base + (int)r.below(30) - 25;
        if (e < 0)
            e = 0;
        if (e > 254)
            e = 254;
        return s | ((uint32_t)e << 23) | (r.u32() & 0x7fffffu);
    }
    }
}

int main(int argc, char **argv)
{
    Verilated::commandArgs(argc, argv);
    Vq8_quant32 *m = new Vq8_quant32;
    tb_count c;
    uint64_t n_blocks = 60000;
    if (const char *e = std::getenv("TB_VECTORS"))
        n_blocks = std::strtoull(e, nullptr, 10);
    tb_rng r(0x5eed0a8du);

    m->rst = 1;
    m->start = 0;
    tb_tick(m);
    m->rst = 0;
    tb_tick(m);
    for (uint64_t blk = 0; blk < n_blocks; blk++) {
        float x[32];
        unsigned mode = r.below(8);
        int base = 1 + (int)r.below(253);
        for (int i = 0; i < 32; i++) {
            unsigned kind = mode == 0 ? 0u : mode == 1 ? 2u : (r.below(40) == 0 ? r.below(4) : 4u);
            x[i] = fl_bits_f32(rnd_elem(r, kind, base));
        }
        if (mode == 0) /* amax exactly 127 */
            x[r.below(32)] = r.below(2) ? 127.0f : -127.0f;
        int8_t want_q[32];
        uint16_t want_d = fl_q8_quant(x, 32, want_q);

        for (int w = 0; w < 32; w++)
            m->x[w] = fl_f32_bits(x[w]);
        m->start = 1;
        tb_tick(m);
        m->start = 0;
        int cycles = 1;
        while (!m->done && cycles < 200) {
            if (blk % 5 == 0 && cycles == 3) {
                m->start = 1; /* ignored while busy */
                for (int w = 0; w < 32; w++)
                    m->x[w] = 0x3f800000u;
            }
            tb_tick(m);
            m->start = 0;
            cycles++;
        }
        if (!tb_check(c, cycles == k_q8_cycles) && tb_show(c))
            std::printf("FAIL q8_quant32 block %llu: done after %d cycles, expected %d\n",
                        (unsigned long long)blk, cycles, k_q8_cycles);
        if (!tb_check(c, m->d == want_d) && tb_show(c))
            std::printf("FAIL q8_quant32 block %llu: d %04x, fl_q8_quant gives %04x\n",
                        (unsigned long long)blk, m->d, want_d);
        for (int i = 0; i < 32; i++) {
            int8_t got = (int8_t)(m->q[i / 4] >> (8 * (i % 4)));
            if (!tb_check(c, got == want_q[i]) && tb_show(c))
                std::printf("FAIL q8_quant32 block %llu: q[%d] = %d for x %08x, expected %d\n",
                            (unsigned long long)blk, i, got, fl_f32_bits(x[i]), want_q[i]);
        }
        tb_tick(m);
        if (!tb_check(c, !m->busy && !m->done) && tb_show(c))
            std::printf("FAIL q8_quant32: busy/done after the result\n");
    }
    m->final();
    delete m;
    std::printf("q8_quant32: %llu blocks, %d cycles each\n", (unsigned long long)n_blocks,
                k_q8_cycles);
    return tb_finish(c);
}
