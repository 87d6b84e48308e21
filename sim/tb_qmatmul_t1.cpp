/* sim/tb_qmatmul_t1.cpp: Verilator testbench of hw/qmatmul_t1.v (qmatmul, t = 1, no flags)
 * with its three AXI4 ports (w, x read; y write) on the memory model sim/axi_mem.{h,cpp}, and
 * the HLS C kernel fl_qmatmul (hls/qmatmul.c, linked in) as the golden model.
 *
 * Random shapes (k = 32 * 1..96, mostly not a multiple of 256, every fifth 32..96; n = 1..48),
 * all three weight types, w at any byte address and x at any multiple of 4 (two in three
 * cases; else beat-aligned), weight blocks with random finite fp16 scales, x with mixed
 * magnitudes (and all-zero blocks), random memory latencies, bandwidths and stalls. Checked: the status, y's BIT
 * PATTERNS against fl_qmatmul, the words around y untouched, no protocol error or timeout.
 * Arguments the C rejects (bad type, k % 32, n = 0) must give the C's status; t > 1 and flags
 * (which this datapath does not do) must give FL_KST_RANGE / FL_KST_BAD_FLAGS; neither writes.
 * Last: one larger case per type with full bandwidth: cycles vs the weight stream's floor. */
#include <cmath>
#include <cstdlib>
#include <deque>
#include <vector>

#ifdef TB_KERNEL_TOP
#include "Vqmatmul_rtl.h"
typedef Vqmatmul_rtl model_t;
#define PW(lo, up) m->m_axi_gmem0_##up
#define PX(lo, up) m->m_axi_gmem2_##up
#define PY(lo, up) m->m_axi_gmem5_##up
#else
#include "Vqmatmul_t1.h"
typedef Vqmatmul_t1 model_t;
#define PW(lo, up) m->w_##lo
#define PX(lo, up) m->x_##lo
#define PY(lo, up) m->y_##lo
#endif
#include "axi_mem.h"
#include "tb_common.h"
#include "verilated.h"
extern "C" {
#include "hls/hls.h"
}

#ifndef TB_DATA_W
#define TB_DATA_W 512
#endif
static const unsigned BB = TB_DATA_W / 8;
static const uint64_t MEM_BASE = 0x200000000ull;
static const uint64_t Y_OFF = 0x480000, MEM_SIZE = 0x500000;
/* w at any byte offset, x at any multiple of 4 (what fl_kernel_regions allows); set per case */
static uint64_t W_OFF = 0, X_OFF = 0x400000;

static uint32_t block_bytes(uint32_t wt)
{
    return wt == 2 ? 18u : wt == 6 ? 22u : 34u;
}

#ifdef TB_KERNEL_TOP
/* ---- a minimal AXI4-Lite master: one operation at a time from the front of a queue ---- */
struct ctl_op {
    bool write;
    uint32_t addr, data; /* data: to write, or as read */
};
struct ctl_state {
    bool resp = false;              /* address/data phase done, waiting for B / R */
    bool aw_done = false, w_done = false;
    bool aw_fire = false, w_fire = false, ar_fire = false, b_fire = false, r_fire = false;
    bool complete = false;          /* the front operation finished this cycle */
};

static void ctl_drive(model_t *m, std::deque<ctl_op> &ops, ctl_state &cs)
{
    bool have = !ops.empty() && !cs.complete;
    const ctl_op *op = have ? &ops.front() : nullptr;
    m->s_axi_control_AWVALID = have && op->write && !cs.resp && !cs.aw_done;
    m->s_axi_control_AWADDR = have ? op->addr : 0;
    m->s_axi_control_WVALID = have && op->write && !cs.resp && !cs.w_done;
    m->s_axi_control_WDATA = have ? op->data : 0;
    m->s_axi_control_WSTRB = 0xf;
    m->s_axi_control_BREADY = have && op->write && cs.resp;
    m->s_axi_control_ARVALID = have && !op->write && !cs.resp;
    m->s_axi_control_ARADDR = have ? op->addr : 0;
    m->s_axi_control_RREADY = have && !op->write && cs.resp;
}

/* after eval, before the edge: the handshakes of this cycle */
static void ctl_sample(model_t *m, std::deque<ctl_op> &ops, ctl_state &cs)
{
    cs.aw_fire = m->s_axi_control_AWVALID && m->s_axi_control_AWREADY;
    cs.w_fire = m->s_axi_control_WVALID && m->s_axi_control_WREADY;
    cs.b_fire = m->s_axi_control_BREADY && m->s_axi_control_BVALID;
    cs.ar_fire = m->s_axi_control_ARVALID && m->s_axi_control_ARREADY;
    cs.r_fire = m->s_axi_control_RREADY && m->s_axi_control_RVALID;
    if (ops.empty())
        return;
    if (cs.r_fire)
        ops.front().data = m->s_axi_control_RDATA;
    cs.aw_done |= cs.aw_fire;
    cs.w_done |= cs.w_fire;
    if (ops.front().write && cs.aw_done && cs.w_done)
        cs.resp = true;
    if (cs.ar_fire)
        cs.resp = true;
    if (cs.b_fire || cs.r_fire) {
        cs.resp = cs.aw_done = cs.w_done = false;
        cs.complete = true;
    }
}
#endif

struct sim_t {
    model_t *m;
    axi_mem mem{MEM_BASE, MEM_SIZE};
};

struct run_out {
    bool ok;
    uint64_t cycles;
    uint32_t status;
    axi_port_stats ws;
};

/* One kernel call through the RTL; the arguments in memory are already written. */
static run_out run_rtl(sim_t &s, const axi_port_cfg &cfg, uint32_t wtype, uint32_t n,
                       uint32_t k, uint32_t t, uint32_t flags, std::string &err)
{
    model_t *m = s.m;
    axi_port pw(s.mem, cfg, "w"), px(s.mem, cfg, "x"), py(s.mem, cfg, "y");
    axi_pins w, x, y;
#ifdef TB_KERNEL_TOP
    /* the driver's sequence on s_axi_control: GIE, IER, the argument words, ap_start; then
       poll the control word for ap_done, read status and ISR, clear ISR, read it again */
    fl_kernel_call call;
    std::memset(&call, 0, sizeof call);
    call.kernel = FL_KERNEL_QMATMUL;
    call.u.qmm.w = MEM_BASE + W_OFF;
    call.u.qmm.x = MEM_BASE + X_OFF;
    call.u.qmm.y = MEM_BASE + Y_OFF;
    call.u.qmm.w_up = 0x1234567800ull;
    call.u.qmm.wtype = wtype;
    call.u.qmm.n = n;
    call.u.qmm.k = k;
    call.u.qmm.t = t;
    call.u.qmm.flags = flags;
    uint32_t regs[FL_QMATMUL_REG_END / 4u] = {0};
    fl_kernel_regs(&call, regs);
    std::deque<ctl_op> ops;
    ops.push_back({true, 0x04, 1});
    ops.push_back({true, 0x08, 1});
    for (uint32_t a = 0x10; a < FL_QMATMUL_REG_STATUS; a += 4)
        ops.push_back({true, a, regs[a / 4]});
    ops.push_back({true, 0x00, 1});
    ops.push_back({false, 0x00, 0});
    ctl_state cs;
    uint32_t status = 0xffffffffu;
    bool irq_seen = false, polled_done = false;
#else
    m->arg_w = MEM_BASE + W_OFF;
    m->arg_x = MEM_BASE + X_OFF;
    m->arg_y = MEM_BASE + Y_OFF;
    m->arg_wtype = wtype;
    m->arg_n = n;
    m->arg_k = k;
    m->arg_t = t;
    m->arg_flags = flags;
#endif
    uint64_t cyc = 0;
    bool done = false;
    while (!done) {
#ifdef TB_KERNEL_TOP
        m->ap_clk = 0;
        ctl_drive(m, ops, cs);
#else
        m->clk = 0;
        m->start = cyc == 0;
#endif
        pw.drive(w);
        px.drive(x);
        py.drive(y);
        PW(arready, ARREADY) = w.arready;
        PW(rvalid, RVALID) = w.rvalid;
        axi_to_sig(PW(rdata, RDATA), w.rdata, TB_DATA_W);
        PW(rlast, RLAST) = w.rlast;
        PW(rresp, RRESP) = w.rresp;
        PX(arready, ARREADY) = x.arready;
        PX(rvalid, RVALID) = x.rvalid;
        axi_to_sig(PX(rdata, RDATA), x.rdata, TB_DATA_W);
        PX(rlast, RLAST) = x.rlast;
        PX(rresp, RRESP) = x.rresp;
        PY(awready, AWREADY) = y.awready;
        PY(wready, WREADY) = y.wready;
        PY(bvalid, BVALID) = y.bvalid;
        PY(bresp, BRESP) = y.bresp;
        m->eval();
        w.arvalid = PW(arvalid, ARVALID);
        w.araddr = PW(araddr, ARADDR);
        w.arlen = PW(arlen, ARLEN);
        w.arsize = PW(arsize, ARSIZE);
        w.arburst = PW(arburst, ARBURST);
        w.rready = PW(rready, RREADY);
        x.arvalid = PX(arvalid, ARVALID);
        x.araddr = PX(araddr, ARADDR);
        x.arlen = PX(arlen, ARLEN);
        x.arsize = PX(arsize, ARSIZE);
        x.arburst = PX(arburst, ARBURST);
        x.rready = PX(rready, RREADY);
        y.awvalid = PY(awvalid, AWVALID);
        y.awaddr = PY(awaddr, AWADDR);
        y.awlen = PY(awlen, AWLEN);
        y.awsize = PY(awsize, AWSIZE);
        y.awburst = PY(awburst, AWBURST);
        y.wvalid = PY(wvalid, WVALID);
        axi_from_sig(y.wdata, PY(wdata, WDATA), TB_DATA_W);
        y.wstrb = PY(wstrb, WSTRB);
        y.wlast = PY(wlast, WLAST);
        y.bready = PY(bready, BREADY);
        pw.sample(w);
        px.sample(x);
        py.sample(y);
#ifdef TB_KERNEL_TOP
        ctl_sample(m, ops, cs);
        m->ap_clk = 1;
#else
        m->clk = 1;
#endif
        m->eval();
        pw.step();
        px.step();
        py.step();
        cyc++;
#ifdef TB_KERNEL_TOP
        irq_seen |= m->__SYM__interrupt;
        if (cs.complete) { /* an operation finished: the next step of the sequence */
            cs.complete = false;
            ctl_op op = ops.front();
            ops.pop_front();
            if (!op.write && op.addr == 0x00 && !polled_done) {
                if (op.data & 2u) {
                    polled_done = true;
                    ops.push_back({false, FL_QMATMUL_REG_STATUS, 0});
                    ops.push_back({false, 0x0C, 0});
                    ops.push_back({true, 0x0C, 1});
                    ops.push_back({false, 0x0C, 0});
                    ops.push_back({false, 0x00, 0});
                } else {
                    ops.push_back({false, 0x00, 0});
                }
            } else if (!op.write && op.addr == FL_QMATMUL_REG_STATUS) {
                status = op.data;
            } else if (!op.write && op.addr == 0x0C && ops.size() == 3 && !(op.data & 1u)) {
                err = "ISR ap_done not set after ap_done";
            } else if (!op.write && op.addr == 0x0C && ops.size() == 1 && op.data != 0) {
                err = "ISR not cleared by writing 1";
            } else if (!op.write && op.addr == 0x00 && polled_done) {
                if ((op.data & 0xfu) != 4u)
                    err = "control word after the run is not ap_idle only";
                done = true;
            }
            if (!err.empty())
                return run_out{false, cyc, 0, pw.stats};
        }
        if (cyc > cfg.timeout_cycles) {
            err = "timeout on s_axi_control";
            return run_out{false, cyc, 0, pw.stats};
        }
#else
        done = m->done;
#endif
        for (axi_port *p : {&pw, &px, &py})
            if (!p->ok()) {
                err = p->error;
                return run_out{false, cyc, 0, pw.stats};
            }
    }
    if (!pw.idle() || !px.idle() || !py.idle()) {
        err = "done with AXI transactions unfinished";
        return run_out{false, cyc, 0, pw.stats};
    }
#ifdef TB_KERNEL_TOP
    if (!irq_seen || m->__SYM__interrupt) {
        err = irq_seen ? "interrupt still high after ISR cleared" : "no interrupt";
        return run_out{false, cyc, 0, pw.stats};
    }
    return run_out{true, cyc, status, pw.stats};
#else
    m->clk = 0;
    m->start = 0;
    m->eval();
    return run_out{true, cyc, m->status, pw.stats};
#endif
}

static uint16_t rnd_scale(tb_rng &r)
{
    /* finite fp16, exponent 2^-14 .. 2^-3, either sign */
    return (uint16_t)((r.u32() & 0x8000u) | ((1 + r.below(12)) << 10) | (r.u32() & 0x3ffu));
}

static float rnd_x(tb_rng &r, int base)
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

int main(int argc, char **argv)
{
    Verilated::commandArgs(argc, argv);
    sim_t s;
    s.m = new model_t;
    tb_count c;
    uint64_t n_runs = 150;
    if (const char *e = std::getenv("TB_VECTORS"))
        n_runs = std::strtoull(e, nullptr, 10);
    fl_hls_state *st = nullptr;
    if (fl_hls_state_open(&st) != 0) {
        std::printf("cannot open the csim state\n");
        return 1;
    }
    tb_rng r(0x9a7a1u + TB_DATA_W);
    static const uint32_t types[3] = {2, 6, 8};
#ifdef TB_KERNEL_TOP
    s.m->ap_rst_n = 0;
    for (int i = 0; i < 2; i++) {
        s.m->ap_clk = 0;
        s.m->eval();
        s.m->ap_clk = 1;
        s.m->eval();
    }
    s.m->ap_rst_n = 1;
#else
    s.m->rst = 1;
    s.m->start = 0;
    tb_tick(s.m);
    tb_tick(s.m);
    s.m->rst = 0;
#endif

    /* one case: fill memory, run both, compare */
    auto one = [&](uint32_t wtype, uint32_t n, uint32_t k, uint32_t t, uint32_t flags,
                   const axi_port_cfg &cfg, bool report) {
        W_OFF = r.below(3) ? r.below(2 * BB) : 0;
        X_OFF = 0x400000 + (r.below(3) ? 4u * r.below(BB / 2) : 0);
        uint32_t nb = k / 32u, bsz = block_bytes(wtype);
        uint64_t wbytes = (uint64_t)n * nb * bsz;
        if (flags == 0 && t == 1 && k % 32 == 0 && k)
            for (uint64_t i = 0; i < wbytes; i++)
                s.mem.bytes[W_OFF + i] = (uint8_t)r.u32();
        for (uint64_t b = 0; k % 32 == 0 && b < (uint64_t)n * nb; b++) {
            uint16_t d = rnd_scale(r);
            s.mem.bytes[W_OFF + b * bsz] = (uint8_t)d;
            s.mem.bytes[W_OFF + b * bsz + 1] = (uint8_t)(d >> 8);
        }
        float *xv = (float *)&s.mem.bytes[X_OFF];
        for (uint32_t b = 0; b < k / 32u; b++) {
            int base = (int)r.below(20) - 10;
            bool zero = r.below(20) == 0;
            for (uint32_t j = 0; j < 32; j++)
                xv[b * 32 + j] = zero ? 0.0f : rnd_x(r, base);
        }
        /* y area (with a guard word each side) poisoned */
        uint32_t *yv = (uint32_t *)&s.mem.bytes[Y_OFF];
        for (uint32_t i = 0; i < n + 32; i++)
            yv[i] = 0xdeadbeefu;
        std::vector<float> want(n + 32);
        std::memcpy(want.data(), yv, (n + 32) * 4u);
        uint32_t want_st = fl_qmatmul_check(wtype, n, k, t, flags);
        if (want_st == 0 && t > 1)
            want_st = 3; /* FL_KST_RANGE: not done by this datapath, nothing written */
        else if (want_st == 0 && flags)
            want_st = 7; /* FL_KST_BAD_FLAGS */
        else
            fl_qmatmul(st, &s.mem.bytes[W_OFF], nullptr, xv, nullptr, nullptr, want.data(),
                       wtype, n, k, t, flags, 0.0f, &want_st);
        std::string err;
        run_out o = run_rtl(s, cfg, wtype, n, k, t, flags, err);
        bool ok = o.ok && o.status == want_st;
        uint32_t bad_i = 0;
        for (uint32_t i = 0; ok && i < n + 32; i++)
            if (tb_u(want[i]) != yv[i]) {
                ok = false;
                bad_i = i;
            }
        if (!tb_check(c, ok) && tb_show(c)) {
            std::printf("FAIL type %u n %u k %u t %u flags %u (lat %u bpc %.0f stall %u): ",
                        wtype, n, k, t, flags, cfg.rd_latency, cfg.rd_bytes_per_cycle,
                        cfg.stall_pct);
            if (!o.ok)
                std::printf("%s\n", err.c_str());
            else if (o.status != want_st)
                std::printf("status %u, want %u\n", o.status, want_st);
            else
                std::printf("y[%u] = 0x%08x, want 0x%08x\n", bad_i, yv[bad_i],
                            tb_u(want[bad_i]));
        }
        if (report && ok)
            std::printf("type %2u n %u k %u: %llu cycles; weights %llu bytes, floor %llu cycles "
                        "at %u B/cycle (%.1f%%); w port busy %llu cycles\n",
                        wtype, n, k, (unsigned long long)o.cycles, (unsigned long long)wbytes,
                        (unsigned long long)(wbytes / BB), BB,
                        100.0 * (double)(wbytes / BB) / (double)o.cycles,
                        (unsigned long long)o.ws.rd_busy_cycles);
    };

    for (uint64_t i = 0; i < n_runs; i++) {
        axi_port_cfg cfg;
        cfg.data_bits = TB_DATA_W;
        cfg.rd_latency = 1 + r.below(50);
        cfg.wr_latency = 1 + r.below(20);
        cfg.rd_bytes_per_cycle = cfg.wr_bytes_per_cycle = BB * (r.below(2) ? 1.0 : 0.25);
        cfg.stall_pct = r.below(3) == 0 ? r.below(30) : 0;
        cfg.timeout_cycles = 3000000;
        cfg.seed = i + 7;
        uint32_t k = 32u * (1 + r.below(96));
        if (k % 256 == 0 && r.below(4))
            k += 32;
        if (i % 5 == 4) /* one to three blocks a row: rows back to back, the write FIFO full */
            k = 32u * (1 + r.below(3));
        one(types[i % 3], 1 + r.below(48), k, 1, 0, cfg, false);
    }
    /* arguments the kernel refuses */
    {
        axi_port_cfg cfg;
        cfg.data_bits = TB_DATA_W;
        one(3, 4, 64, 1, 0, cfg, false);    /* bad type */
        one(2, 0, 64, 1, 0, cfg, false);    /* n = 0 */
        one(8, 4, 48, 1, 0, cfg, false);    /* k % 32 */
        one(6, 4, 64, 2, 0, cfg, false);    /* t > 1: not in this datapath */
        one(8, 4, 64, 1, 1, cfg, false);    /* a flag: not in this datapath */
        one(8, 4, 64, 1, 0x100, cfg, false); /* an unknown flag */
    }
    /* throughput at full bandwidth */
    for (int i = 0; i < 3; i++) {
        axi_port_cfg cfg;
        cfg.data_bits = TB_DATA_W;
        cfg.rd_latency = 40;
        cfg.rd_bytes_per_cycle = cfg.wr_bytes_per_cycle = BB;
        one(types[i], 64, 2048, 1, 0, cfg, true);
    }
    fl_hls_state_close(st);
    delete s.m;
    return tb_finish(c);
}
