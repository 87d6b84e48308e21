/* sim/tb_qblock.cpp: Verilator testbench of the qmatmul block step: hw/qblock_decode.v,
 * hw/q8_mac32.v and hw/qblock_dot.v (through sim/tb_qblock_top.v) against C.
 *
 * References, written from the block layouts of include/flare/ggml.h and the formula of
 * docs/numerics.md (qmatmul step 3): the 32 decoded integers and the fp16 scale of random Q4_0,
 * Q5_0 and Q8_0 blocks (and of unknown type ids, which decode as Q5_0 with type_ok 0); the exact
 * int32 dot with random int8 activations (including -128 and all-extreme blocks); and
 *   term = (float)sumi * (fl_fp16_to_fp32(dw) * fl_fp16_to_fp32(dx))
 * with C fp32 arithmetic, for random finite scales, subnormal scales, and inf/NaN scales (a NaN
 * result must match the SSE operand order: mulss dw, dx, then mulss sumi, scale). */
#include <immintrin.h>

#include <cstdlib>
#include <vector>

#include "Vtb_qblock_top.h"
#include "flare/fp16.h"
#include "flare/ggml.h"
#include "tb_common.h"
#include "verilated.h"

#ifndef TB_LATENCY
#error "TB_LATENCY must be LAT_A + LAT_B of the model"
#endif

/* ---- C references ---- */
static void ref_decode(const uint8_t *b, uint32_t wtype, int8_t q[32], uint16_t *d)
{
    if (wtype == FL_TYPE_Q8_0) {
        block_q8_0 blk;
        std::memcpy(&blk, b, sizeof blk);
        *d = blk.d;
        for (int j = 0; j < 32; j++)
            q[j] = blk.qs[j];
    } else if (wtype == FL_TYPE_Q4_0) {
        block_q4_0 blk;
        std::memcpy(&blk, b, sizeof blk);
        *d = blk.d;
        for (int j = 0; j < 16; j++) {
            q[j] = (int8_t)((int)(blk.qs[j] & 15) - 8);
            q[j + 16] = (int8_t)((int)(blk.qs[j] >> 4) - 8);
        }
    } else {
        block_q5_0 blk;
        std::memcpy(&blk, b, sizeof blk);
        *d = blk.d;
        uint32_t qh = (uint32_t)blk.qh[0] | ((uint32_t)blk.qh[1] << 8) |
                      ((uint32_t)blk.qh[2] << 16) | ((uint32_t)blk.qh[3] << 24);
        for (int j = 0; j < 16; j++) {
            int lo = (blk.qs[j] & 15) | (int)(((qh >> j) & 1u) << 4);
            int hi = (blk.qs[j] >> 4) | (int)(((qh >> (j + 16)) & 1u) << 4);
            q[j] = (int8_t)(lo - 16);
            q[j + 16] = (int8_t)(hi - 16);
        }
    }
}

static uint32_t ref_term(int32_t sumi, uint16_t dw, uint16_t dx)
{
    volatile float a = fl_fp16_to_fp32(dw), b = fl_fp16_to_fp32(dx);
    float s = a * b;
    volatile float si = (float)sumi;
    float t = si * s;
    /* both scales NaN: C may pick either payload; the contract is the SSE order (dw first) */
    if (t != t) {
        __m128 sc = _mm_mul_ss(_mm_set_ss(fl_fp16_to_fp32(dw)), _mm_set_ss(fl_fp16_to_fp32(dx)));
        t = _mm_cvtss_f32(_mm_mul_ss(_mm_set_ss((float)sumi), sc));
    }
    return tb_u(t);
}

/* ---- vectors ---- */
struct vec {
    uint32_t wtype;
    uint8_t blk[34];
    int8_t xq[32];
    uint16_t dx;
};

static uint16_t rnd_scale(tb_rng &r)
{
    switch (r.below(16)) {
    case 0: /* subnormal */
        return (uint16_t)((r.u32() & 0x83ffu));
    case 1: /* inf, NaN, zero */
        return (uint16_t)((r.u32() & 0x8000u) | (r.below(3) == 0 ? 0 : 0x7c00u | (r.below(2) ? (r.u32() & 0x3ffu) : 0)));
    default: /* finite */
        return (uint16_t)(r.u32() & 0xffffu) % 0x7c00u | (uint16_t)(r.u32() & 0x8000u);
    }
}

int main(int argc, char **argv)
{
    Verilated::commandArgs(argc, argv);
    Vtb_qblock_top *m = new Vtb_qblock_top;
    tb_count c;
    uint64_t n_random = 800000;
    if (const char *e = std::getenv("TB_VECTORS"))
        n_random = std::strtoull(e, nullptr, 10);
    static const uint32_t types[] = {FL_TYPE_Q4_0, FL_TYPE_Q5_0, FL_TYPE_Q8_0};

    std::vector<vec> vs;
    tb_rng r(0x5eed0b1cu);
    for (uint64_t i = 0; i < n_random; i++) {
        vec v;
        v.wtype = r.below(64) == 0 ? r.below(40) : types[r.below(3)];
        for (int b = 0; b < 34; b++)
            v.blk[b] = (uint8_t)r.u32();
        uint16_t dw = rnd_scale(r);
        v.blk[0] = (uint8_t)dw;
        v.blk[1] = (uint8_t)(dw >> 8);
        unsigned ext = r.below(8);
        for (int j = 0; j < 32; j++) {
            v.xq[j] = (int8_t)(ext == 0 ? -128 : ext == 1 ? 127 : (int)r.below(255) - 127);
            if (ext <= 1 && v.wtype == FL_TYPE_Q8_0)
                v.blk[2 + j] = ext == 0 ? 0x80u : 0x81u; /* -128 * -128, 127 * -127 */
        }
        v.dx = rnd_scale(r);
        vs.push_back(v);
    }

    const size_t n = vs.size(), lat = TB_LATENCY;
    m->in_valid = 0;
    tb_tick(m);
    for (size_t cyc = 0; cyc < n + lat; cyc++) {
        bool in = cyc < n;
        m->in_valid = in;
        const vec &v = vs[in ? cyc : 0];
        m->wtype = v.wtype;
        for (int w = 0; w < 8; w++) { /* 34 bytes into 32-bit words */
            uint32_t u = 0;
            for (int b = 0; b < 4; b++)
                u |= (uint32_t)v.blk[4 * w + b] << (8 * b);
            m->blk[w] = u;
        }
        m->blk[8] = (uint32_t)v.blk[32] | ((uint32_t)v.blk[33] << 8);
        for (int w = 0; w < 8; w++) {
            uint32_t u = 0;
            for (int b = 0; b < 4; b++)
                u |= (uint32_t)(uint8_t)v.xq[4 * w + b] << (8 * b);
            m->xq[w] = u;
        }
        m->dx = v.dx;
        m->clk = 0;
        m->eval();
        if (in) { /* combinational decode and MAC of this cycle's block */
            int8_t q[32];
            uint16_t d;
            ref_decode(v.blk, v.wtype, q, &d);
            bool ok_type = v.wtype == FL_TYPE_Q4_0 || v.wtype == FL_TYPE_Q5_0 ||
                           v.wtype == FL_TYPE_Q8_0;
            if (!tb_check(c, m->dec_type_ok == ok_type) && tb_show(c))
                std::printf("FAIL qblock_decode type %u: type_ok %d\n", v.wtype,
                            (int)m->dec_type_ok);
            if (!tb_check(c, m->dec_d == d) && tb_show(c))
                std::printf("FAIL qblock_decode type %u: d %04x, expected %04x\n", v.wtype,
                            m->dec_d, d);
            int32_t sumi = 0;
            for (int j = 0; j < 32; j++) {
                int8_t got = (int8_t)(m->dec_q[j / 4] >> (8 * (j % 4)));
                if (!tb_check(c, got == q[j]) && tb_show(c))
                    std::printf("FAIL qblock_decode type %u: q[%d] = %d, expected %d\n",
                                v.wtype, j, got, q[j]);
                sumi += (int32_t)q[j] * (int32_t)v.xq[j];
            }
            if (!tb_check(c, (int32_t)m->mac_sumi == sumi) && tb_show(c))
                std::printf("FAIL q8_mac32: sumi %d, expected %d\n", (int32_t)m->mac_sumi, sumi);
        }
        m->clk = 1;
        m->eval();
        size_t k = cyc + 1 - lat;
        bool want_valid = cyc + 1 >= lat && k < n;
        if (!tb_check(c, (m->out_valid != 0) == want_valid) && tb_show(c))
            std::printf("FAIL qblock_dot cycle %zu: out_valid %d\n", cyc, (int)m->out_valid);
        if (!want_valid)
            continue;
        const vec &w = vs[k];
        int8_t q[32];
        uint16_t d;
        ref_decode(w.blk, w.wtype, q, &d);
        int32_t sumi = 0;
        for (int j = 0; j < 32; j++)
            sumi += (int32_t)q[j] * (int32_t)w.xq[j];
        uint32_t want = ref_term(sumi, d, w.dx);
        if (!tb_check(c, m->term == want) && tb_show(c))
            std::printf("FAIL qblock_dot(sumi %d, dw %04x, dx %04x) = %08x, C gives %08x\n", sumi,
                        d, w.dx, m->term, want);
    }
    m->final();
    delete m;
    std::printf("qblock (decode, mac32, dot): %zu blocks, latency %d\n", n, TB_LATENCY);
    return tb_finish(c);
}
