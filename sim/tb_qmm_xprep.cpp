/* sim/tb_qmm_xprep.cpp: Verilator testbench of hw/qmm_xprep.v (the qmatmul prologue: x rows,
 * optional RMSNorm, Q8_0) with its two AXI4 read ports (x, norm_w) on the memory model
 * sim/axi_mem.{h,cpp}, against fl_qmm_quantize_rows (hls/qmatmul.c, linked in) as the golden
 * model.
 *
 * Random cases: t = 1..64, k = 32..16384 (mostly small, some large), norm on and off, random
 * eps (0 included), x and norm_w at any multiple of 4 (two in three cases; else beat-aligned),
 * random memory latencies, bandwidths and stalls per port. x blocks of mixed magnitudes, and in
 * some cases special blocks: all zero (either sign), NaN and +-inf sprinkled (so a block's amax
 * comes from its NaN-free part), subnormals, values near FLT_MAX, and rounding ties (amax 127,
 * the rest n + 0.5). Checked per call: every (token, block) comes out exactly once with the
 * golden q bytes and fp16 scale bits, out_tok < t and out_blk < k / 32, `done` pulses once, in
 * the cycle of the last entry or the one after, busy high in between, both ports idle at the
 * end and no protocol error or timeout. With norm, white box: each row's sum of squares and
 * scale (read from the RTL's registers, public_flat_rd) against the contract's formula in
 * fl_lanes_* (hls/numerics.h), since an order slip there changes q / d only rarely. After a
 * failed call the model is reset, so the next case starts clean.
 * Last: the cycle counts of k = 256, 2048, 16384 and t = 1, 8 with and without norm at full
 * bandwidth (latency 40), printed (not asserted). */
#include <cmath>
#include <cstdlib>
#include <vector>

#include "Vqmm_xprep.h"
#include "Vqmm_xprep___024root.h" /* public_flat_rd in the RTL: the per-row sums and scales */
#include "axi_mem.h"
#include "tb_common.h"
#include "verilated.h"
extern "C" {
#include "hls/hls.h"
#include "hls/numerics.h"
}

#ifndef TB_DATA_W
#define TB_DATA_W 512
#endif
#ifndef TB_XB_LOG2
#define TB_XB_LOG2 9
#endif
static const unsigned BB = TB_DATA_W / 8;
static const uint64_t MEM_BASE = 0x300000000ull;
static const uint64_t NW_AREA = 0x440000, MEM_SIZE = 0x460000;
static const uint32_t MAX_NB = 1u << TB_XB_LOG2;
static const uint64_t XQ_ROW = FL_MAX_K, XD_ROW = FL_MAX_K / 32u;

typedef Vqmm_xprep model_t;
static uint64_t g_abort_at = ~0ull; /* cycle of the call at which run_rtl gives up (a reset test) */

struct run_out {
    bool ok;
    uint64_t cycles;
};

/* One call through the RTL; x and norm_w already in memory. Each entry is compared as it
 * comes out against the golden xq / xd. */
static bool same_f(uint32_t a, uint32_t b) /* bit-equal, or both NaN (payloads never reach q, d) */
{
    return a == b || ((a & 0x7fffffffu) > 0x7f800000u && (b & 0x7fffffffu) > 0x7f800000u);
}

static run_out run_rtl(model_t *m, axi_mem &mem, const axi_port_cfg &cx, const axi_port_cfg &cn,
                       uint64_t x_addr, uint64_t nw_addr, uint32_t k, uint32_t t, bool norm,
                       float eps, const int8_t *xq, const uint16_t *xd, const float *ss_want,
                       const float *scale_want, std::string &err)
{
    /* white box (norm): each row's sum of squares and scale as the RTL's chain takes them in
       (rows in order, alternating between two slots) */
    auto *root = m->rootp;
    uint32_t ss_rows = 0, sc_rows = 0;
    unsigned ss_have0 = 0, sc_have0 = 0;
    axi_port px(mem, cx, "x"), pn(mem, cn, "nw");
    axi_pins x, n;
    uint32_t nb = k / 32u;
    std::vector<uint8_t> seen((size_t)t * nb, 0);
    uint64_t n_seen = 0, last_cyc = 0, done_cyc = 0;
    bool done_seen = false;
    m->arg_x = x_addr;
    m->arg_norm_w = nw_addr;
    m->arg_k = k;
    m->arg_t = t;
    m->norm = norm;
    m->arg_eps = tb_u(eps);
    /* after a reset the module stays busy a few cycles: start once it is idle (no memory
       behind the ports meanwhile) */
    m->x_arready = m->x_rvalid = m->nw_arready = m->nw_rvalid = 0;
    for (int i = 0; m->clk = 0, m->start = 0, m->eval(), m->busy; i++) {
        if (i > 100 || m->out_valid) {
            err = m->out_valid ? "an entry between calls" : "busy for 100 cycles before the start";
            return run_out{false, 0};
        }
        tb_tick(m);
    }
    uint64_t cyc = 0;
    uint64_t end = ~0ull;
    while (cyc < end) {
        if (cyc == g_abort_at) { /* a reset in the middle of the call: the caller does it */
            m->x_arready = m->x_rvalid = m->nw_arready = m->nw_rvalid = 0;
            return run_out{true, cyc};
        }
        m->clk = 0;
        m->start = cyc == 0;
        px.drive(x);
        pn.drive(n);
        m->x_arready = x.arready;
        m->x_rvalid = x.rvalid;
        axi_to_sig(m->x_rdata, x.rdata, TB_DATA_W);
        m->x_rlast = x.rlast;
        m->x_rresp = x.rresp;
        m->nw_arready = n.arready;
        m->nw_rvalid = n.rvalid;
        axi_to_sig(m->nw_rdata, n.rdata, TB_DATA_W);
        m->nw_rlast = n.rlast;
        m->nw_rresp = n.rresp;
        m->eval();
        x.arvalid = m->x_arvalid;
        x.araddr = m->x_araddr;
        x.arlen = m->x_arlen;
        x.arsize = m->x_arsize;
        x.arburst = m->x_arburst;
        x.rready = m->x_rready;
        n.arvalid = m->nw_arvalid;
        n.araddr = m->nw_araddr;
        n.arlen = m->nw_arlen;
        n.arsize = m->nw_arsize;
        n.arburst = m->nw_arburst;
        n.rready = m->nw_rready;
        px.sample(x);
        pn.sample(n);
        /* this cycle's outputs */
        if (norm && cyc > 0) {
            unsigned sh = root->qmm_xprep__DOT__ss_have, ch = root->qmm_xprep__DOT__scale_have;
            for (unsigned b = 0; b < 2; b++) {
                if ((sh & ~ss_have0) >> b & 1u) {
                    uint32_t got = (uint32_t)(root->qmm_xprep__DOT__ss_q >> (32 * b));
                    if (ss_rows >= t || !same_f(got, tb_u(ss_want[ss_rows])))
                        err = "row " + std::to_string(ss_rows) + ": sum of squares " +
                              std::to_string(tb_f(got)) + ", want " +
                              std::to_string(ss_rows < t ? ss_want[ss_rows] : 0.0f);
                    ss_rows++;
                }
                if ((ch & ~sc_have0) >> b & 1u) {
                    uint32_t got = (uint32_t)(root->qmm_xprep__DOT__scale_q >> (32 * b));
                    if (sc_rows >= t || !same_f(got, tb_u(scale_want[sc_rows])))
                        err = "row " + std::to_string(sc_rows) + ": scale " +
                              std::to_string(tb_f(got)) + ", want " +
                              std::to_string(sc_rows < t ? scale_want[sc_rows] : 0.0f);
                    sc_rows++;
                }
            }
            ss_have0 = sh;
            sc_have0 = ch;
        }
        if (cyc > 0 && !done_seen && !m->done && !m->busy && err.empty())
            err = "busy low before done";
        if (!norm && (m->nw_arvalid || (cyc > 0 && !pn.idle())) && err.empty())
            err = "norm_w port used without norm";
        if (m->out_valid && err.empty()) {
            uint32_t tok = m->out_tok, blk = m->out_blk;
            if (done_seen) {
                err = "entry after done";
            } else if (tok >= t || blk >= nb) {
                err = "entry (" + std::to_string(tok) + ", " + std::to_string(blk) +
                      ") out of range";
            } else if (seen[(size_t)tok * nb + blk]++) {
                err = "entry (" + std::to_string(tok) + ", " + std::to_string(blk) + ") twice";
            } else {
                const int8_t *wq = xq + tok * XQ_ROW + blk * 32u;
                uint16_t wd = xd[tok * XD_ROW + blk];
                bool same = m->out_d == wd;
                int bad_j = -1;
                for (unsigned j = 0; j < 32; j++) {
                    uint8_t got = (uint8_t)(m->out_q[j / 4] >> (8 * (j % 4)));
                    if (got != (uint8_t)wq[j] && bad_j < 0)
                        bad_j = (int)j;
                }
                if (!same || bad_j >= 0) {
                    char b[160];
                    if (!same)
                        std::snprintf(b, sizeof b, "entry (%u, %u): d 0x%04x, want 0x%04x", tok,
                                      blk, (unsigned)m->out_d, (unsigned)wd);
                    else
                        std::snprintf(b, sizeof b, "entry (%u, %u): q[%d] %d, want %d", tok,
                                      blk, bad_j,
                                      (int)(int8_t)(m->out_q[bad_j / 4] >> (8 * (bad_j % 4))),
                                      (int)wq[bad_j]);
                    err = b;
                }
            }
            n_seen++;
            last_cyc = cyc;
        }
        if (m->done) {
            if (done_seen && err.empty())
                err = "done twice";
            if (!done_seen) {
                done_seen = true;
                done_cyc = cyc;
                end = cyc + 40; /* a few more cycles: nothing may follow */
            }
        }
        m->clk = 1;
        m->eval();
        px.step();
        pn.step();
        cyc++;
        for (axi_port *p : {&px, &pn})
            if (!p->ok() && err.empty())
                err = p->error;
        if (!err.empty())
            return run_out{false, cyc};
        if (cyc > cx.timeout_cycles) {
            err = "timeout, " + std::to_string(n_seen) + " entries seen";
            return run_out{false, cyc};
        }
    }
    if (norm && nb && (ss_rows != t || sc_rows != t) && err.empty())
        err = std::to_string(ss_rows) + " sums and " + std::to_string(sc_rows) +
              " scales for " + std::to_string(t) + " rows";
    if (!err.empty())
        ;
    else if (n_seen != (uint64_t)t * nb)
        err = "done after " + std::to_string(n_seen) + " of " + std::to_string((uint64_t)t * nb) +
              " entries";
    else if (done_cyc < last_cyc || done_cyc > last_cyc + 1)
        err = "done " + std::to_string(done_cyc) + " not with or after the last entry " +
              std::to_string(last_cyc);
    else if (m->busy)
        err = "busy after done";
    else if (!px.idle() || !pn.idle())
        err = "done with AXI transactions unfinished";
    return run_out{err.empty(), done_cyc + 1};
}

/* ---- inputs ---- */
static float rnd_normal(tb_rng &r, int base)
{
    switch (r.below(16)) {
    case 0:
        return 0.0f;
    case 1:
        return -0.0f;
    default: {
        int e = base + (int)r.below(9) - 4;
        float v = std::ldexp(1.0f + (float)(r.u32() >> 9) / 8388608.0f, e);
        return (r.u32() & 1) ? -v : v;
    }
    }
}

static float rnd_bits(tb_rng &r, uint32_t exp_lo, uint32_t exp_hi)
{
    uint32_t e = exp_lo + r.below(exp_hi - exp_lo + 1);
    return tb_f((r.u32() & 0x80000000u) | (e << 23) | (r.u32() & 0x7fffffu));
}

/* One block of 32 values around 2^base; `special` enables the unusual kinds. */
static void fill_block(tb_rng &r, float *v, int base, bool special)
{
    unsigned kind = special ? r.below(10) : (r.below(20) == 0 ? 1 : 0);
    for (unsigned j = 0; j < 32; j++)
        v[j] = rnd_normal(r, base);
    switch (kind) {
    case 1: /* all zero, either sign */
        for (unsigned j = 0; j < 32; j++)
            v[j] = (r.u32() & 1) ? -0.0f : 0.0f;
        break;
    case 2: /* NaNs (quiet and signalling payloads) among normal values */
        for (unsigned j = 0, n = 1 + r.below(4); j < n; j++)
            v[r.below(32)] = tb_f((r.u32() & 0x80000000u) | 0x7f800000u |
                                  (1u + r.below(0x7fffffu)));
        break;
    case 3: /* +-inf */
        v[r.below(32)] = (r.u32() & 1) ? -INFINITY : INFINITY;
        break;
    case 4: /* subnormals only, or mixed with tiny normals */
        for (unsigned j = 0; j < 32; j++)
            v[j] = r.below(4) ? rnd_bits(r, 0, 0) : rnd_bits(r, 1, 3);
        break;
    case 5: /* huge */
        for (unsigned j = 0; j < 32; j++)
            v[j] = rnd_bits(r, 240, 254);
        break;
    case 6: /* rounding ties: amax 127, the rest n + 0.5 */
        for (unsigned j = 0; j < 32; j++)
            v[j] = (float)((int)r.below(253) - 126) + 0.5f;
        v[r.below(32)] = (r.u32() & 1) ? -127.0f : 127.0f;
        break;
    case 7: /* all NaN */
        for (unsigned j = 0; j < 32; j++)
            v[j] = tb_f(0x7fc00000u | r.below(0x400000u));
        break;
    case 8: /* one nonzero value, the rest zero */
        for (unsigned j = 0; j < 32; j++)
            v[j] = 0.0f;
        v[r.below(32)] = rnd_normal(r, base);
        break;
    default:
        break;
    }
}

int main(int argc, char **argv)
{
    Verilated::commandArgs(argc, argv);
    model_t *m = new model_t;
    axi_mem mem(MEM_BASE, MEM_SIZE);
    tb_count c;
    uint64_t n_runs = TB_DATA_W >= 256 ? 400 : 120;
    if (const char *e = std::getenv("TB_VECTORS"))
        n_runs = std::strtoull(e, nullptr, 10);
    std::vector<int8_t> xq((size_t)FL_MAX_T * XQ_ROW);
    std::vector<uint16_t> xd((size_t)FL_MAX_T * XD_ROW);
    tb_rng r(0x5eedu + TB_DATA_W);

    m->rst = 1;
    m->start = 0;
    tb_tick(m);
    tb_tick(m);
    m->rst = 0;
    m->eval();
    if (!tb_check(c, !m->busy && !m->out_valid && !m->done) && tb_show(c))
        std::printf("FAIL after the power-up reset: busy %d out_valid %d done %d\n",
                    (int)m->busy, (int)m->out_valid, (int)m->done);

    /* one case: fill memory, run both, compare */
    auto one = [&](uint32_t k, uint32_t t, bool norm, float eps, unsigned special_pct,
                   const axi_port_cfg &cx, const axi_port_cfg &cn, bool aligned,
                   uint64_t *cycles) {
        uint64_t x_off = 0x40 + (!aligned && r.below(3) ? 4u * r.below(BB / 4) : 0);
        uint64_t nw_off = NW_AREA + (!aligned && r.below(3) ? 4u * r.below(BB / 4) : 0);
        float *xv = (float *)&mem.bytes[x_off];
        float *nwv = (float *)&mem.bytes[nw_off];
        /* block magnitudes: all over the range, or all near one (so that the mean of the
           squares is near eps for some cases) */
        bool spread = r.below(2) != 0;
        int base_case = (int)r.below(19) - 14;
        for (uint32_t b = 0; b < t * (k / 32u); b++)
            fill_block(r, xv + 32u * b,
                       spread ? (int)r.below(24) - 12 : base_case + (int)r.below(3) - 1,
                       r.below(100) < special_pct);
        for (uint32_t i = 0; i < k; i++) {
            nwv[i] = std::ldexp(0.5f + (float)(r.u32() >> 8) / 16777216.0f, (int)r.below(3) - 1);
            if (r.below(8) == 0)
                nwv[i] = -nwv[i];
        }
        if (special_pct && r.below(4) == 0) { /* norm_w with a zero, a huge value, a NaN */
            nwv[r.below(k)] = 0.0f;
            nwv[r.below(k)] = 3.0e38f;
            if (r.below(2))
                nwv[r.below(k)] = tb_f(0x7fa00001u);
        }
        fl_qmm_quantize_rows(xv, nwv, k, t, norm ? FL_QMM_NORM : 0u, eps, xq.data(), xd.data());
        /* the contract's per-row sum of squares and scale (docs/numerics.md, RMSNorm) */
        std::vector<float> ss_want(t), scale_want(t);
        for (uint32_t tt = 0; tt < t; tt++) {
            fl_lanes ls;
            fl_lanes_zero(&ls);
            for (uint32_t i = 0; i < k; i++)
                fl_lanes_add(&ls, i, xv[(uint64_t)tt * k + i] * xv[(uint64_t)tt * k + i]);
            ss_want[tt] = fl_lanes_sum(&ls);
            float mean = ss_want[tt] / (float)k;
            scale_want[tt] = 1.0f / std::sqrt(mean + eps);
        }
        std::string err;
        run_out o = run_rtl(m, mem, cx, cn, MEM_BASE + x_off, MEM_BASE + nw_off, k, t, norm,
                            eps, xq.data(), xd.data(), ss_want.data(), scale_want.data(), err);
        if (!o.ok || g_abort_at != ~0ull) { /* the call may still be running: reset */
            m->rst = 1;
            m->start = 0;
            m->x_arready = m->x_rvalid = m->nw_arready = m->nw_rvalid = 0;
            for (int i = 0; i < (o.ok ? 1 : 8); i++) /* one cycle is enough */
                tb_tick(m);
            m->rst = 0;
        }
        if (!tb_check(c, o.ok) && tb_show(c))
            std::printf("FAIL k %u t %u norm %d eps %a (x +%llu nw +%llu; lat %u/%u bpc "
                        "%.0f/%.0f stall %u/%u): %s\n",
                        k, t, (int)norm, (double)eps, (unsigned long long)(x_off % BB),
                        (unsigned long long)(nw_off % BB), cx.rd_latency, cn.rd_latency,
                        cx.rd_bytes_per_cycle, cn.rd_bytes_per_cycle, cx.stall_pct,
                        cn.stall_pct, err.c_str());
        if (cycles)
            *cycles = o.cycles;
    };
    auto rnd_cfg = [&](uint64_t seed) {
        axi_port_cfg cfg;
        cfg.data_bits = TB_DATA_W;
        cfg.rd_latency = 1 + r.below(r.below(4) ? 60 : 120);
        cfg.rd_bytes_per_cycle = BB * (r.below(2) ? 1.0 : r.below(2) ? 0.5 : 0.125);
        cfg.stall_pct = r.below(3) == 0 ? r.below(40) : 0;
        cfg.max_rd_bursts = 1 + r.below(8);
        cfg.timeout_cycles = 2000000;
        cfg.seed = seed;
        return cfg;
    };

    static const float eps_list[5] = {1e-5f, 1e-6f, 0.0f, 1e-2f, 3.0f};
    for (uint64_t i = 0; i < n_runs; i++) {
        uint32_t k, t;
        switch (r.below(10)) {
        case 0: /* large k, few tokens */
            k = 32u * (MAX_NB / 2 + r.below(MAX_NB / 2 + 1));
            t = 1 + r.below(2);
            break;
        case 1: /* many tokens */
            k = 32u * (1 + r.below(TB_DATA_W >= 256 ? 64 : 16));
            t = 1 + r.below(FL_MAX_T);
            break;
        case 2: /* tiny rows: one or two blocks */
            k = 32u * (1 + r.below(2));
            t = 1 + r.below(FL_MAX_T);
            break;
        default:
            k = 32u * (1 + r.below(96));
            t = 1 + r.below(6);
            break;
        }
        if (TB_DATA_W < 256 && (uint64_t)k * t > 65536) /* keep the narrow model quick */
            t = 1;
        bool norm = r.below(2) != 0;
        float eps = r.below(3) ? eps_list[r.below(5)] : std::ldexp((float)r.below(1000), -20);
        unsigned special = r.below(3) == 0 ? 5 + r.below(30) : 0;
        axi_port_cfg cx = rnd_cfg(2 * i + 1), cn = rnd_cfg(2 * i + 2);
        one(k, t, norm, eps, special, cx, cn, false, nullptr);
    }
    /* a reset (one cycle) in the middle of a call, then a call that must come out right */
    for (int i = 0; i < 12; i++) {
        axi_port_cfg cx = rnd_cfg(8001 + i), cn = rnd_cfg(9001 + i);
        uint32_t k = 32u * (1 + r.below(64)), t = 1 + r.below(8);
        g_abort_at = r.below(2) ? 1 + r.below(20) : 50 + r.below(400);
        one(k, t, i % 2 == 0, 1e-5f, 0, cx, cn, false, nullptr);
        g_abort_at = ~0ull;
        one(32u * (1 + r.below(64)), 1 + r.below(8), i % 3 == 0, 1e-5f, 10, cx, cn, false,
            nullptr);
    }
    /* calls with no block (the caller's check excludes them): done at once, nothing read */
    {
        axi_port_cfg cx = rnd_cfg(9901), cn = rnd_cfg(9902);
        one(0, 3, true, 1e-5f, 0, cx, cn, false, nullptr);
        one(64, 0, true, 1e-5f, 0, cx, cn, false, nullptr);
        one(16, 2, false, 1e-5f, 0, cx, cn, false, nullptr);
    }
    /* the largest shape with norm and specials */
    {
        axi_port_cfg cx = rnd_cfg(7001), cn = rnd_cfg(7002);
        one(32u * MAX_NB, 1, true, 1e-5f, 10, cx, cn, false, nullptr);
        one(32u * MAX_NB, 3, false, 0.0f, 10, cx, cn, false, nullptr);
    }

    /* cycles at full bandwidth, memory latency 40, x and norm_w beat-aligned */
    std::printf("cycles, start to done (DATA_W %u, %u B/cycle per port, latency 40):\n",
                TB_DATA_W, BB);
    static const uint32_t ks[3] = {256, 2048, 16384};
    for (uint32_t ki = 0; ki < 3; ki++) {
        if (ks[ki] > 32u * MAX_NB)
            continue;
        for (uint32_t t : {1u, 8u}) {
            uint64_t cyc[2] = {0, 0};
            for (int norm = 0; norm < 2; norm++) {
                axi_port_cfg cfg;
                cfg.data_bits = TB_DATA_W;
                cfg.rd_latency = 40;
                cfg.rd_bytes_per_cycle = BB;
                cfg.timeout_cycles = 20000000;
                one(ks[ki], t, norm != 0, 1e-5f, 0, cfg, cfg, true, &cyc[norm]);
            }
            std::printf("  k %5u t %u: %7llu without norm (k*t/%u = %llu), %7llu with norm\n",
                        ks[ki], t, (unsigned long long)cyc[0], BB / 4,
                        (unsigned long long)ks[ki] * t / (BB / 4), (unsigned long long)cyc[1]);
        }
    }
    delete m;
    return tb_finish(c);
}
