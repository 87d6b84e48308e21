/* sim/tb_qmm_epi.cpp: Verilator testbench of hw/qmm_epi.v (the qmatmul epilogue and y writer)
 * with its r (read) and y (write) AXI4 ports on the memory model sim/axi_mem.{h,cpp}.
 *
 * Golden model: mm_epilogue of hls/qmatmul.c on the (g, u) sums, from hls/numerics.h:
 *   o = swiglu ? fl_silu(g) * u : g;  if resid o = o + r[tt*n + row];  y[tt*n + row] = o.
 * The two operations whose operands can both be NaN (the product and the residual add) are
 * evaluated with SSE intrinsics in the source's operand order (mulss silu, u; addss o, r), so
 * NaN payloads are pinned; the plain C expression must agree wherever at most one is NaN.
 *
 * Cases: n 1..5000 (mostly small, some large), t 1..64, all four flag combinations, r and y at
 * any multiple of 4 (two in three cases not beat aligned), values with mixed magnitudes and
 * specials (+-0, +-inf, quiet and signalling NaN, subnormals, g near the exp cut-offs, huge
 * negative g where exp(-g) overflows), random gaps in in_valid, random memory latency,
 * bandwidth and stalls. Checked: every y word's bit pattern, every other byte of memory
 * unchanged (guards around y, r untouched), no r reads without resid, no protocol error or
 * timeout, done exactly once with no transaction left. Last: throughput runs at 64 B/cycle,
 * inputs always valid, cycles per input for t = 1 and t = 8 and each flag combination. */
#include <immintrin.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "Vqmm_epi.h"
#include "axi_mem.h"
#include "hls/numerics.h"
#include "tb_common.h"
#include "verilated.h"

#ifndef TB_DATA_W
#define TB_DATA_W 512
#endif
#ifndef TB_T_MAX /* 2^T_LOG2 of the model */
#define TB_T_MAX 64
#endif
static const unsigned BB = TB_DATA_W / 8;
static const uint64_t MEM_BASE = 0x100000000ull;
static const uint64_t MEM_SIZE = 0x600000; /* r at 0x10000, y at 0x300000 (+ offsets) */
static const uint64_t R_AREA = 0x10000, Y_AREA = 0x300000;

/* ---- golden model ---- */
static float sse_mul(float a, float b)
{
    return _mm_cvtss_f32(_mm_mul_ss(_mm_set_ss(a), _mm_set_ss(b)));
}
static float sse_add(float a, float b)
{
    return _mm_cvtss_f32(_mm_add_ss(_mm_set_ss(a), _mm_set_ss(b)));
}
static uint32_t model_sse(uint32_t g, uint32_t u, uint32_t r, bool sw, bool rs)
{
    float o = tb_f(g);
    if (sw)
        o = sse_mul(fl_silu(o), tb_f(u));
    if (rs)
        o = sse_add(o, tb_f(r));
    return tb_u(o);
}
static uint32_t model_c(uint32_t g, uint32_t u, uint32_t r, bool sw, bool rs)
{
    volatile float o = tb_f(g), vu = tb_f(u), vr = tb_f(r);
    if (sw)
        o = fl_silu(o) * vu;
    if (rs)
        o = o + vr;
    return tb_u(o);
}
static bool is_nan(uint32_t x)
{
    return (x & 0x7fffffffu) > 0x7f800000u;
}

/* ---- values ---- */
static uint32_t rnd_val(tb_rng &r, unsigned special_pct)
{
    if (r.below(100) < special_pct) {
        static const uint32_t sp[] = {0x00000000u, 0x80000000u, 0x7f800000u, 0xff800000u,
                                      0x7fc00000u, 0xffc00000u, 0x7fa00001u, 0xff812345u,
                                      0x00000001u, 0x807fffffu, 0x00400000u, 0x7f7fffffu,
                                      0xff7fffffu, 0x42c80000u, 0xc2c80000u, 0x42b17218u,
                                      0xc2aeac50u, 0xc47a0000u, 0xd0000000u, 0x3f800000u};
        uint32_t k = r.below(sizeof sp / sizeof sp[0] + 4);
        if (k < sizeof sp / sizeof sp[0])
            return sp[k];
        switch (k - sizeof sp / sizeof sp[0]) {
        case 0: /* subnormal */
            return (r.u32() & 0x807fffffu);
        case 1: /* near the exp cut-offs: |x| 64 .. 128 */
            return (r.u32() & 0x80000000u) | (0x85u << 23) | (r.u32() & 0x7fffffu);
        case 2: /* huge negative: exp(-g) overflows */
            return 0x80000000u | ((0x86u + r.below(0x78)) << 23) | (r.u32() & 0x7fffffu);
        default: /* raw bits */
            return r.u32();
        }
    }
    /* |x| in 2^-12 .. 2^12, either sign */
    uint32_t e = 127 - 12 + r.below(25);
    return (r.u32() & 0x80000000u) | (e << 23) | (r.u32() & 0x7fffffu);
}

struct sim_t {
    Vqmm_epi *m;
    axi_mem mem{MEM_BASE, MEM_SIZE};
};

struct run_res {
    bool ok;
    std::string err;
    uint64_t cycles, first_in, last_in, r_bursts, y_bursts;
};

/* One call: inputs g, u (row-major, tokens inner), memory already filled. */
static run_res run_rtl(sim_t &s, const axi_port_cfg &cfg, uint64_t r_addr, uint64_t y_addr,
                       uint32_t n, uint32_t t, bool sw, bool rs, const std::vector<uint32_t> &g,
                       const std::vector<uint32_t> &u, unsigned gap_pct, tb_rng &rng,
                       uint64_t abort_at = ~0ull)
{
    Vqmm_epi *m = s.m;
    axi_port pr(s.mem, cfg, "r"), py(s.mem, cfg, "y");
    axi_pins r, y;
    run_res res{true, "", 0, 0, 0, 0, 0};
    m->arg_r = r_addr;
    m->arg_y = y_addr;
    m->arg_n = n;
    m->arg_t = t;
    m->swiglu = sw;
    m->resid = rs;
    uint64_t total = (uint64_t)n * t, k = 0, cyc = 0, dones = 0;
    bool vld = false;
    bool seen_first = false;
    for (;;) {
        m->clk = 0;
        m->start = cyc == 0;
        if (!vld && k < total && rng.below(100) >= gap_pct)
            vld = true;
        m->in_valid = vld;
        m->in_g = vld ? g[k] : 0;
        m->in_u = vld ? u[k] : 0;
        pr.drive(r);
        py.drive(y);
        m->r_arready = r.arready;
        m->r_rvalid = r.rvalid;
        axi_to_sig(m->r_rdata, r.rdata, TB_DATA_W);
        m->r_rlast = r.rlast;
        m->r_rresp = r.rresp;
        m->y_awready = y.awready;
        m->y_wready = y.wready;
        m->y_bvalid = y.bvalid;
        m->y_bresp = y.bresp;
        m->eval();
        r.arvalid = m->r_arvalid;
        r.araddr = m->r_araddr;
        r.arlen = m->r_arlen;
        r.arsize = m->r_arsize;
        r.arburst = m->r_arburst;
        r.rready = m->r_rready;
        y.awvalid = m->y_awvalid;
        y.awaddr = m->y_awaddr;
        y.awlen = m->y_awlen;
        y.awsize = m->y_awsize;
        y.awburst = m->y_awburst;
        y.wvalid = m->y_wvalid;
        axi_from_sig(y.wdata, m->y_wdata, TB_DATA_W);
        y.wstrb = m->y_wstrb;
        y.wlast = m->y_wlast;
        y.bready = m->y_bready;
        pr.sample(r);
        py.sample(y);
        bool took = vld && m->in_ready;
        if (cyc == 0 && m->busy) {
            res.ok = false;
            res.err = "busy before start";
        }
        m->clk = 1;
        m->eval();
        pr.step();
        py.step();
        if (took && k + 1 == abort_at) { /* reset in the middle of the call */
            m->rst = 1;
            tb_tick(m);
            m->rst = 0;
            return res;
        }
        if (took) {
            if (!seen_first)
                res.first_in = cyc;
            seen_first = true;
            res.last_in = cyc;
            k++;
            vld = false;
        }
        cyc++;
        if (m->done) {
            dones++;
            if (k != total) {
                res.ok = false;
                res.err = "done before every input was taken";
            }
            if (!pr.idle() || !py.idle()) {
                res.ok = false;
                res.err = "done with AXI transactions unfinished";
            }
            break;
        }
        if (!pr.ok() || !py.ok()) {
            res.ok = false;
            res.err = pr.ok() ? py.error : pr.error;
            break;
        }
        if (cyc > cfg.timeout_cycles) {
            res.ok = false;
            res.err = "timeout (k = " + std::to_string(k) + " of " + std::to_string(total) + ")";
            break;
        }
    }
    /* a few idle cycles: no second done, not busy */
    m->start = 0;
    m->in_valid = 0;
    for (int i = 0; i < 3 && res.ok; i++) {
        tb_tick(m);
        if (m->done || m->busy) {
            res.ok = false;
            res.err = "done or busy after done";
        }
    }
    res.cycles = cyc;
    res.r_bursts = pr.stats.rd_bursts;
    res.y_bursts = py.stats.wr_bursts;
    if (res.ok && !rs && res.r_bursts) {
        res.ok = false;
        res.err = "r read without resid";
    }
    return res;
}

int main(int argc, char **argv)
{
    Verilated::commandArgs(argc, argv);
    sim_t s;
    s.m = new Vqmm_epi;
    tb_count c;
    uint64_t n_runs = 120;
    if (const char *e = std::getenv("TB_VECTORS"))
        n_runs = std::strtoull(e, nullptr, 10);
    tb_rng rng(0xe91u + TB_DATA_W);
    uint64_t model_diff = 0, n_words = 0;

    s.m->rst = 1;
    s.m->start = 0;
    s.m->in_valid = 0;
    tb_tick(s.m);
    tb_tick(s.m);
    s.m->rst = 0;
    tb_tick(s.m);

    auto one = [&](uint32_t n, uint32_t t, bool sw, bool rs, const axi_port_cfg &cfg,
                   unsigned gap_pct, unsigned special_pct, bool report) {
        if (t > TB_T_MAX)
            t = 1 + (t - 1) % TB_T_MAX;
        bool unaligned = rng.below(3) != 0;
        uint64_t r_off = R_AREA + (unaligned ? 4u * rng.below(BB / 4 + 1) : 0);
        uint64_t y_off = Y_AREA + (unaligned ? 4u * rng.below(BB / 4 + 1) : 0);
        if (rng.below(4) == 0) /* start just before a 4 KB boundary */
            y_off = Y_AREA + 4096 - 4u * rng.below(2 * BB / 4 + 1);
        uint64_t words = (uint64_t)n * t;
        std::vector<uint32_t> g(words), u(words);
        for (uint64_t i = 0; i < words; i++) {
            g[i] = rnd_val(rng, special_pct);
            u[i] = rnd_val(rng, special_pct);
        }
        /* memory: noise everywhere near r and y, r values in place */
        for (uint64_t i = R_AREA - 256; i < R_AREA + 4 * words + 2 * BB + 256; i++)
            s.mem.bytes[i] = (uint8_t)rng.u32();
        for (uint64_t i = Y_AREA - 256; i < Y_AREA + 4096 + 4 * words + 2 * BB + 256; i++)
            s.mem.bytes[i] = (uint8_t)rng.u32();
        uint32_t *rv = (uint32_t *)&s.mem.bytes[r_off];
        for (uint64_t i = 0; i < words; i++)
            rv[i] = rnd_val(rng, special_pct);
        std::vector<uint8_t> before(s.mem.bytes);
        std::vector<uint32_t> want(words);
        for (uint32_t row = 0; row < n; row++)
            for (uint32_t tt = 0; tt < t; tt++) {
                uint64_t in = (uint64_t)row * t + tt, out = (uint64_t)tt * n + row;
                want[out] = model_sse(g[in], u[in], rv[out], sw, rs);
                bool both_nan = (sw && is_nan(u[in]) && is_nan(g[in])) ||
                                (rs && is_nan(rv[out]) &&
                                 is_nan(sw ? model_sse(g[in], u[in], 0, true, false) : g[in]));
                if (!both_nan && model_c(g[in], u[in], rv[out], sw, rs) != want[out])
                    model_diff++;
                n_words++;
            }
        run_res o = run_rtl(s, cfg, MEM_BASE + r_off, MEM_BASE + y_off, n, t, sw, rs, g, u,
                            gap_pct, rng);
        bool ok = o.ok;
        std::string why = o.err;
        const uint32_t *yv = (const uint32_t *)&s.mem.bytes[y_off];
        for (uint64_t i = 0; ok && i < words; i++)
            if (yv[i] != want[i]) {
                ok = false;
                uint64_t row = i % n, tt = i / n, in = row * t + tt;
                char buf[200];
                std::snprintf(buf, sizeof buf,
                              "y[tt %llu, row %llu] = %08x, want %08x (g %08x u %08x r %08x)",
                              (unsigned long long)tt, (unsigned long long)row, yv[i], want[i],
                              g[in], u[in], ((const uint32_t *)&before[r_off])[i]);
                why = buf;
            }
        for (uint64_t i = 0; ok && i < MEM_SIZE; i++) {
            if (i >= y_off && i < y_off + 4 * words)
                continue;
            if (s.mem.bytes[i] != before[i]) {
                ok = false;
                char buf[120];
                std::snprintf(buf, sizeof buf, "byte at offset 0x%llx changed (y at 0x%llx)",
                              (unsigned long long)i, (unsigned long long)y_off);
                why = buf;
            }
        }
        if (!tb_check(c, ok) && tb_show(c))
            std::printf("FAIL n %u t %u swiglu %d resid %d (r +%llu y +%llu, lat %u/%u bpc %.0f "
                        "stall %u gap %u): %s\n",
                        n, t, sw, rs, (unsigned long long)(r_off - R_AREA),
                        (unsigned long long)(y_off - Y_AREA), cfg.rd_latency, cfg.wr_latency,
                        cfg.rd_bytes_per_cycle, cfg.stall_pct, gap_pct, why.c_str());
        if (report && ok)
            std::printf("n %4u t %2u swiglu %d resid %d: %7llu cycles, %.3f cycles/input "
                        "(first to last input %.3f); y bursts %llu, r bursts %llu\n",
                        n, t, sw, rs, (unsigned long long)o.cycles,
                        (double)o.cycles / (double)words,
                        words > 1 ? (double)(o.last_in - o.first_in) / (double)(words - 1) : 1.0,
                        (unsigned long long)o.y_bursts, (unsigned long long)o.r_bursts);
    };

    /* ---- TB_SWEEP=1: throughput only, t 1..64, read latency 40 and 100, every flag ---- */
    if (std::getenv("TB_SWEEP")) {
        for (unsigned lat : {40u, 100u})
            for (uint32_t t : {1u, 2u, 3u, 8u, 16u, 33u, 64u})
                for (unsigned flags = 0; flags < 4; flags++) {
                    axi_port_cfg cfg;
                    cfg.data_bits = TB_DATA_W;
                    cfg.rd_latency = lat;
                    cfg.wr_latency = lat / 2;
                    cfg.rd_bytes_per_cycle = cfg.wr_bytes_per_cycle = 64;
                    cfg.timeout_cycles = 4000000;
                    std::printf("lat %3u: ", lat);
                    one(8192 / t, t, flags & 1, flags & 2, cfg, 0, 0, true);
                }
        n_runs = 0;
    }
    /* ---- a reset in the middle of a SiLU + residual call (its arithmetic pipeline full, a
     * block's last output in it), then a call right after it: nothing of the first may reach
     * the second ---- */
    for (int i = 0; i < 4 && n_runs; i++) {
        axi_port_cfg cfg;
        cfg.data_bits = TB_DATA_W;
        uint32_t n = 200, t = 3;
        std::vector<uint32_t> g(n * t), u(n * t);
        for (auto &v : g)
            v = rnd_val(rng, 0);
        for (auto &v : u)
            v = rnd_val(rng, 0);
        run_rtl(s, cfg, MEM_BASE + R_AREA, MEM_BASE + Y_AREA + 0x100000, n, t, true, true, g, u,
                0, rng, 96 * (uint64_t)(i + 1) + 2 + 6 * (uint64_t)i); /* a block's end in flight */
        one(1 + rng.below(40), 1 + rng.below(4), i & 1, i & 2, cfg, 0, 5, false);
    }
    /* ---- random cases ---- */
    for (uint64_t i = 0; i < n_runs; i++) {
        axi_port_cfg cfg;
        cfg.data_bits = TB_DATA_W;
        cfg.rd_latency = 1 + rng.below(100);
        cfg.wr_latency = 1 + rng.below(40);
        cfg.rd_bytes_per_cycle = cfg.wr_bytes_per_cycle = BB * (rng.below(2) ? 1.0 : 0.25);
        cfg.stall_pct = rng.below(3) == 0 ? rng.below(40) : 0;
        cfg.max_rd_bursts = 1 + rng.below(8);
        cfg.max_wr_bursts = 1 + rng.below(8);
        cfg.timeout_cycles = 4000000;
        cfg.seed = i + 11;
        uint32_t t = rng.below(3) == 0 ? 1 : rng.below(4) == 0 ? 64 - rng.below(3)
                                                             : 1 + rng.below(64);
        uint32_t n;
        switch (rng.below(6)) {
        case 0:
            n = 1 + rng.below(8);
            break;
        case 1:
            n = 1 + rng.below(5000);
            break;
        default:
            n = 1 + rng.below(300);
            break;
        }
        while ((uint64_t)n * t > 60000) /* keep the run time bounded */
            n = n / 2 + 1;
        unsigned flags = (unsigned)(i % 4);
        unsigned gap = rng.below(3) == 0 ? rng.below(80) : 0;
        one(n, t, flags & 1, flags & 2, cfg, gap, rng.below(2) ? 20 : 2, false);
    }
    /* ---- a few fixed corners: one row, one token, row counts around the block and beat ---- */
    {
        static const uint32_t ns[] = {1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 1024, 4097};
        static const uint32_t ts[] = {1, 2, 63, 64};
        unsigned j = 0;
        for (uint32_t n : ns)
            for (uint32_t t : ts) {
                if ((uint64_t)n * t > 70000)
                    continue;
                axi_port_cfg cfg;
                cfg.data_bits = TB_DATA_W;
                cfg.rd_latency = 1 + rng.below(60);
                cfg.stall_pct = j % 3 == 0 ? 20 : 0;
                cfg.timeout_cycles = 4000000;
                cfg.seed = 1000 + j;
                one(n, t, j & 1, (j >> 1) & 1, cfg, j % 5 == 0 ? 50 : 0, 10, false);
                j++;
            }
    }
    /* ---- throughput: 64 B/cycle, memory latency 40 (read) / 20 (write), inputs always valid ---- */
    for (uint32_t t : {1u, 8u})
        for (unsigned flags = 0; flags < 4; flags++) {
            axi_port_cfg cfg;
            cfg.data_bits = TB_DATA_W;
            cfg.rd_latency = 40;
            cfg.wr_latency = 20;
            cfg.rd_bytes_per_cycle = cfg.wr_bytes_per_cycle = 64;
            cfg.timeout_cycles = 4000000;
            one(t == 1 ? 4096 : 1024, t, flags & 1, flags & 2, cfg, 0, 0, true);
        }
    if (!tb_check(c, model_diff == 0) && tb_show(c))
        std::printf("FAIL the C expression and the pinned SSE model differ on %llu words\n",
                    (unsigned long long)model_diff);
    std::printf("qmm_epi (DATA_W %d): %llu words checked\n", TB_DATA_W,
                (unsigned long long)n_words);
    s.m->final();
    delete s.m;
    return tb_finish(c);
}
