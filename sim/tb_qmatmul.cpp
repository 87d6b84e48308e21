/* sim/tb_qmatmul.cpp: Verilator testbench of the RTL qmatmul: hw/qmatmul_core.v (the datapath,
 * arguments on pins) at 512 and 64 bits, and with -DTB_KERNEL_TOP hw/qmatmul_rtl.v (the Vitis
 * top, driven through s_axi_control as XRT drives an ap_ctrl_chain kernel). All six AXI4 ports
 * (w, w_up, x, norm_w, r read; y write) sit on the memory model sim/axi_mem.{h,cpp}; the HLS C
 * kernel fl_qmatmul (hls/qmatmul.c, linked in) on a copy of the same bytes, call after call in
 * the same order, is the golden model.
 *
 * Cases: random shapes (n 1..3000, k 32..4096, a few at 16384, t 1..64, the work per case
 * bounded) x the three weight types x the eight flag combinations; edge inputs (zero blocks,
 * NaN, inf, huge x and residuals, inf/NaN weight scales, eps 0 and huge); w and w_up at any
 * byte address, x, norm_w, r and y at any multiple of 4; random memory latencies, bandwidths
 * and stalls; runs back to back without reset. Then CHAINS: 2..8 calls handed over back to
 * back (the host starts call i+1 as soon as the kernel took call i: ap_start reads 0 / `ready`),
 * random shapes, types, flags and t, refused calls in the middle, x of call i+1 = y of call i
 * where the shapes allow; each completion served as XRT does (ap_done, status, ISR, then
 * ap_continue), also by a host slow to continue (the kernel must hold: no other completion,
 * status unchanged). Checked: every status in order, the whole memory against the C's (y's
 * BIT PATTERNS, 16 guard words each side of every y, every other byte), the beats of the
 * w / w_up / x / norm_w ports equal to the good calls' ranges (a refused call reads nothing;
 * alone it moves no AXI beat at all), no protocol error or timeout, idle at the end.
 * Every bad argument (flags, type, shape, range) must give fl_qmatmul_check's status (or
 * FL_KST_RANGE above this build's maxima).
 * Combinations the prologue/epilogue modules do not do are gated (gate() below) with a printed
 * line; TB_FULL=1 runs them anyway. TB_VECTORS=N sets the random case count, TB_CHAINS=N the
 * chain count, TB_SEED the random seed.
 * TB_PERF=1 runs the decode performance tables instead (t = 1, memory presets ddr4 and hbm):
 * one call alone (cycles from start to done; TB_PERF_FLAGS=F: flags F only), and a chain of
 * PERF_CALLS dependent flags-0 calls (period = done-to-done cycles / (calls - 1)), each
 * against weight bytes / (weight ports x bytes per cycle); TB_PERF=single or TB_PERF=chain
 * prints one of them. */
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <deque>
#include <map>
#include <string>
#include <vector>

#ifdef TB_KERNEL_TOP
#include "Vqmatmul_rtl.h"
typedef Vqmatmul_rtl model_t;
#define SIG(g, pre, lo, up) m->m_axi_gmem##g##_##up
#define CLK ap_clk
#else
#include "Vqmatmul_core.h"
typedef Vqmatmul_core model_t;
#define SIG(g, pre, lo, up) m->pre##_##lo
#define CLK clk
#endif
#include "axi_mem.h"
#include "tb_common.h"
#include "verilated.h"
extern "C" {
#include "flare/ggml.h"
#include "hls/hls.h"
}

#ifndef TB_DATA_W
#define TB_DATA_W 512
#endif
static const unsigned BB = TB_DATA_W / 8;
static const uint64_t MEM_BASE = 0x200000000ull;
/* regions (offsets from MEM_BASE); each case adds a random misalignment */
static const uint64_t W_BASE = 0, WU_BASE = 0x1000000, X_BASE = 0x2000000, NW_BASE = 0x2400000,
                      R_BASE = 0x2480000, Y_BASE = 0x2600000, MEM_SIZE = 0x2800000;
static const uint32_t GUARD = 16;     /* poisoned words each side of y */
static const unsigned PERF_CALLS = 6; /* calls of a performance chain */

static uint32_t block_bytes(uint32_t wt)
{
    return wt == 2 ? 18u : wt == 6 ? 22u : 34u;
}

/* ---- what the prologue / epilogue modules do so far ----
 * The features hw/qmm_xprep.v / hw/qmm_epi.v have landed: "tmulti" (t > 1), "norm", "resid",
 * "swiglu". TB_FEATURES (a comma list) overrides, TB_FULL=1 means all. gate() gives the reason
 * a (t, flags) combination is skipped (counted and printed at the end), or nullptr. */
static const char *const FEATURES_DEFAULT = "tmulti,norm,resid,swiglu";
static std::string g_features = FEATURES_DEFAULT;

static bool have(const char *f)
{
    return g_features == "all" || ("," + g_features + ",").find("," + std::string(f) + ",") !=
                                      std::string::npos;
}

static const char *gate(uint32_t t, uint32_t flags)
{
    if ((flags & FL_QMM_NORM) && !have("norm"))
        return "NORM (qmm_xprep lacks it)";
    if ((flags & FL_QMM_SWIGLU) && !have("swiglu"))
        return "SWIGLU (qmm_epi lacks it)";
    if ((flags & FL_QMM_RESID) && !have("resid"))
        return "RESID (qmm_epi lacks it)";
    if (t > 1 && !have("tmulti"))
        return "t > 1 (qmm_xprep / qmm_epi lack it)";
    return nullptr;
}

/* ---- one call ---- */
struct call_t {
    uint64_t w, w_up, x, norm_w, r, y; /* offsets from MEM_BASE */
    uint32_t wtype, n, k, t, flags;
    float eps;
};

/* how the host hands calls over and completes them */
struct host_cfg {
    bool eager = false;    /* start call i+1 as soon as call i is taken (else after its continue) */
    bool poll = true;      /* top: poll the control word for ap_done (else wait for the interrupt) */
    bool checks = false;   /* top: read ISR around its clear (set, then clear) */
    unsigned cont_max = 0; /* ap_continue 0..cont_max cycles after the completion is seen; the
                              status and "no further ap_done" are checked meanwhile */
};

struct chain_out {
    bool ok = false;
    std::string err;
    uint64_t cycles = 0;
    std::vector<uint32_t> status;   /* per completion, in order */
    std::vector<uint64_t> done_cyc; /* cycle of each completion (ap_done / done) */
    uint64_t beats[6] = {0, 0, 0, 0, 0, 0}; /* per port, both directions */
};

#define RD_DRIVE(g, pre, p)                                                                      \
    do {                                                                                         \
        SIG(g, pre, arready, ARREADY) = p.arready;                                               \
        SIG(g, pre, rvalid, RVALID) = p.rvalid;                                                  \
        axi_to_sig(SIG(g, pre, rdata, RDATA), p.rdata, TB_DATA_W);                               \
        SIG(g, pre, rlast, RLAST) = p.rlast;                                                     \
        SIG(g, pre, rresp, RRESP) = p.rresp;                                                     \
    } while (0)
#define RD_SAMPLE(g, pre, p)                                                                     \
    do {                                                                                         \
        p.arvalid = SIG(g, pre, arvalid, ARVALID);                                               \
        p.araddr = SIG(g, pre, araddr, ARADDR);                                                  \
        p.arlen = SIG(g, pre, arlen, ARLEN);                                                     \
        p.arsize = SIG(g, pre, arsize, ARSIZE);                                                  \
        p.arburst = SIG(g, pre, arburst, ARBURST);                                               \
        p.rready = SIG(g, pre, rready, RREADY);                                                  \
    } while (0)

/* ---- the six memory ports around the model: one clock cycle ----
 * host.drive() sets the control inputs (clock low), host.sample() sees the settled outputs
 * before the edge, host.after() the registered outputs after it. */
struct bench {
    model_t *m;
    std::vector<axi_port *> ports;
    axi_pins p[6];
    uint64_t cyc = 0;
    bench(model_t *model, axi_mem &mem, const axi_port_cfg &cfg) : m(model)
    {
        static const char *names[6] = {"w", "w_up", "x", "norm_w", "r", "y"};
        for (int i = 0; i < 6; i++)
            ports.push_back(new axi_port(mem, cfg, names[i]));
    }
    ~bench()
    {
        for (axi_port *q : ports)
            delete q;
    }
    bench(const bench &) = delete;
    bench &operator=(const bench &) = delete;
    template <typename H> void step(H &host)
    {
        m->CLK = 0;
        host.drive();
        for (int i = 0; i < 6; i++)
            ports[i]->drive(p[i]);
        RD_DRIVE(0, w, p[0]);
        RD_DRIVE(1, wu, p[1]);
        RD_DRIVE(2, x, p[2]);
        RD_DRIVE(3, nw, p[3]);
        RD_DRIVE(4, r, p[4]);
        SIG(5, y, awready, AWREADY) = p[5].awready;
        SIG(5, y, wready, WREADY) = p[5].wready;
        SIG(5, y, bvalid, BVALID) = p[5].bvalid;
        SIG(5, y, bresp, BRESP) = p[5].bresp;
        m->eval();
        RD_SAMPLE(0, w, p[0]);
        RD_SAMPLE(1, wu, p[1]);
        RD_SAMPLE(2, x, p[2]);
        RD_SAMPLE(3, nw, p[3]);
        RD_SAMPLE(4, r, p[4]);
        p[5].awvalid = SIG(5, y, awvalid, AWVALID);
        p[5].awaddr = SIG(5, y, awaddr, AWADDR);
        p[5].awlen = SIG(5, y, awlen, AWLEN);
        p[5].awsize = SIG(5, y, awsize, AWSIZE);
        p[5].awburst = SIG(5, y, awburst, AWBURST);
        p[5].wvalid = SIG(5, y, wvalid, WVALID);
        axi_from_sig(p[5].wdata, SIG(5, y, wdata, WDATA), TB_DATA_W);
        p[5].wstrb = SIG(5, y, wstrb, WSTRB);
        p[5].wlast = SIG(5, y, wlast, WLAST);
        p[5].bready = SIG(5, y, bready, BREADY);
        for (int i = 0; i < 6; i++)
            ports[i]->sample(p[i]);
        host.sample();
        m->CLK = 1;
        m->eval();
        for (int i = 0; i < 6; i++)
            ports[i]->step();
        cyc++;
        host.after();
    }
    bool ports_idle() const
    {
        for (axi_port *q : ports)
            if (!q->idle())
                return false;
        return true;
    }
    std::string port_error() const
    {
        for (axi_port *q : ports)
            if (!q->ok())
                return q->error;
        return std::string();
    }
};

#include "tb_qmatmul_host.h"

/* Hands `calls` to the model as host `h` does, until every completion is continued. */
static chain_out run_chain(model_t *m, axi_mem &mem, const axi_port_cfg &cfg,
                           const std::vector<call_t> &calls, const host_cfg &h, tb_rng &r)
{
    chain_out o;
    bench b(m, mem, cfg);
    host_t host(m, calls, h, r, o, b);
    while (!host.finished()) {
        b.step(host);
        if (o.err.empty() && b.cyc > cfg.timeout_cycles)
            o.err = "timeout";
        if (o.err.empty())
            o.err = b.port_error();
        if (!o.err.empty())
            break;
    }
    host.end();
    if (o.err.empty() && !b.ports_idle())
        o.err = "done with AXI transactions unfinished";
    if (o.err.empty() && o.status.size() != calls.size())
        o.err = "not every call completed";
    o.cycles = b.cyc;
    for (int i = 0; i < 6; i++)
        o.beats[i] = b.ports[i]->stats.rd_beats + b.ports[i]->stats.wr_beats;
    o.ok = o.err.empty();
    return o;
}

/* ---- inputs ---- */
static uint16_t rnd_scale(tb_rng &r, bool edge)
{
    if (edge && r.below(16) == 0) {
        static const uint16_t sp[6] = {0x7c00, 0xfc00, 0x7e00, 0x0000, 0x8000, 0x0001};
        return sp[r.below(6)];
    }
    /* finite fp16, exponent 2^-14 .. 2^-3, either sign */
    return (uint16_t)((r.u32() & 0x8000u) | ((1 + r.below(12)) << 10) | (r.u32() & 0x3ffu));
}

static float rnd_x(tb_rng &r, int base, bool edge)
{
    if (edge) {
        switch (r.below(40)) {
        case 0:
            return NAN;
        case 1:
            return INFINITY;
        case 2:
            return -INFINITY;
        case 3:
            return 3.0e38f;
        case 4:
            return -1.7e38f;
        case 5:
            return 1e-40f; /* subnormal */
        default:
            break;
        }
    }
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

struct tb_t {
    model_t *m;
    axi_mem mem{MEM_BASE, MEM_SIZE};
    std::vector<uint8_t> shadow = std::vector<uint8_t>(MEM_SIZE); /* the C's memory */
    fl_hls_state *st = nullptr;
    tb_rng r{0x9a7a1u + TB_DATA_W};
    tb_count c;
    std::map<std::string, unsigned> skipped;
    uint64_t nan_payload = 0; /* y words where both are NaN with different bits */
    uint64_t chains = 0, chain_calls = 0, chain_dep = 0, chain_bad = 0;
};

static bool is_nan(uint32_t u)
{
    return (u & 0x7f800000u) == 0x7f800000u && (u & 0x7fffffu) != 0;
}

static uint8_t *mb(tb_t &s, uint64_t off)
{
    return s.mem.at(MEM_BASE + off);
}

/* fill w (and w_up) with random blocks */
static void fill_w(tb_t &s, uint64_t off, uint64_t nblk, uint32_t bsz, bool edge)
{
    uint8_t *w = mb(s, off);
    for (uint64_t i = 0; i < nblk * bsz; i += 4) {
        uint32_t v = s.r.u32();
        for (uint32_t j = 0; j < 4 && i + j < nblk * bsz; j++)
            w[i + j] = (uint8_t)(v >> (8 * j));
    }
    for (uint64_t b = 0; b < nblk; b++) {
        uint16_t d = rnd_scale(s.r, edge);
        w[b * bsz] = (uint8_t)d;
        w[b * bsz + 1] = (uint8_t)(d >> 8);
    }
}

static void fill_f(tb_t &s, uint64_t off, uint64_t cnt, bool edge, int spread)
{
    float *v = (float *)mb(s, off);
    for (uint64_t b = 0; b < cnt; b += 32) {
        int base = (int)s.r.below(2 * spread + 1) - spread;
        bool zero = s.r.below(20) == 0;
        for (uint64_t j = b; j < b + 32 && j < cnt; j++)
            v[j] = zero ? 0.0f : rnd_x(s.r, base, edge);
    }
}

/* the inputs of a good call (x only when not another call's y) */
static void fill_call(tb_t &s, const call_t &c, bool edge, bool fill_x)
{
    uint32_t nb = c.k / 32u, bsz = block_bytes(c.wtype);
    fill_w(s, c.w, (uint64_t)c.n * nb, bsz, edge);
    if (c.flags & FL_QMM_SWIGLU)
        fill_w(s, c.w_up, (uint64_t)c.n * nb, bsz, edge);
    if (fill_x)
        fill_f(s, c.x, (uint64_t)c.t * c.k, edge, 10);
    if (c.flags & FL_QMM_NORM)
        fill_f(s, c.norm_w, c.k, edge, 1);
    if (c.flags & FL_QMM_RESID)
        fill_f(s, c.r, (uint64_t)c.t * c.n, edge, 6);
}

static uint64_t beats_of(uint64_t off, uint64_t len)
{
    uint64_t a = MEM_BASE + off;
    return len ? (a + len - 1) / BB - a / BB + 1 : 0;
}

static void copy_span(tb_t &s, uint64_t off, uint64_t len)
{
    std::memcpy(&s.shadow[off], mb(s, off), len);
}

/* One sequence of calls (inputs already in memory): y of every call poisoned with its guard
 * words, the C run call after call on a copy of the bytes it touches, the RTL run as host `h`
 * hands them over, then statuses, y words (with guards) and the read ports' beats compared.
 * Returns the run (ok false on any mismatch). */
static chain_out run_case(tb_t &s, const std::vector<call_t> &calls, const axi_port_cfg &cfg,
                          const host_cfg &h)
{
    size_t nc = calls.size();
    std::vector<uint32_t> want_st(nc);
    std::vector<uint64_t> ny(nc);
    uint64_t want_beats[4] = {0, 0, 0, 0}; /* w, w_up, x, norm_w */
    for (size_t i = 0; i < nc; i++) {
        const call_t &c = calls[i];
        want_st[i] = fl_qmatmul_check(c.wtype, c.n, c.k, c.t, c.flags);
        ny[i] = want_st[i] == FL_KST_OK ? (uint64_t)c.t * c.n : 0;
        uint32_t *yv = (uint32_t *)mb(s, c.y - 4 * GUARD);
        for (uint64_t j = 0; j < ny[i] + 2 * GUARD; j++)
            yv[j] = 0xdeadbeefu ^ (uint32_t)j ^ (uint32_t)(i << 24);
    }
    /* the C's copy: every byte a call reads or writes */
    for (size_t i = 0; i < nc; i++) {
        const call_t &c = calls[i];
        copy_span(s, c.y - 4 * GUARD, 4 * (ny[i] + 2 * GUARD));
        if (want_st[i] != FL_KST_OK)
            continue;
        uint64_t wbytes = (uint64_t)c.n * (c.k / 32) * block_bytes(c.wtype);
        copy_span(s, c.w, wbytes);
        want_beats[0] += beats_of(c.w, wbytes);
        if (c.flags & FL_QMM_SWIGLU) {
            copy_span(s, c.w_up, wbytes);
            want_beats[1] += beats_of(c.w_up, wbytes);
        }
        copy_span(s, c.x, 4ull * c.t * c.k);
        want_beats[2] += beats_of(c.x, 4ull * c.t * c.k);
        if (c.flags & FL_QMM_NORM) {
            copy_span(s, c.norm_w, 4ull * c.k);
            want_beats[3] += beats_of(c.norm_w, 4ull * c.k);
        }
        if (c.flags & FL_QMM_RESID)
            copy_span(s, c.r, 4 * ny[i]);
    }
    for (size_t i = 0; i < nc; i++) {
        const call_t &c = calls[i];
        if (want_st[i] != FL_KST_OK)
            continue;
        uint8_t *sh = s.shadow.data();
        fl_qmatmul(s.st, sh + c.w, sh + c.w_up, (const float *)(sh + c.x),
                   (const float *)(sh + c.norm_w), (const float *)(sh + c.r),
                   (float *)(sh + c.y), c.wtype, c.n, c.k, c.t, c.flags, c.eps, &want_st[i]);
    }
    chain_out o = run_chain(s.m, s.mem, cfg, calls, h, s.r);
    for (size_t i = 0; o.ok && i < nc; i++)
        if (o.status[i] != want_st[i]) {
            char buf[96];
            std::snprintf(buf, sizeof buf, "call %zu: status %u, want %u", i, o.status[i],
                          want_st[i]);
            o.ok = false;
            o.err = buf;
        }
    bool all_bad = true;
    for (size_t i = 0; i < nc; i++)
        all_bad &= want_st[i] != FL_KST_OK;
    uint64_t tot = 0;
    for (int i = 0; i < 6; i++)
        tot += o.beats[i];
    if (o.ok && all_bad && tot != 0) {
        o.ok = false;
        o.err = "AXI beats on a refused call";
    }
    for (int i = 0; o.ok && i < 4; i++)
        if (o.beats[i] != want_beats[i]) {
            static const char *nm[4] = {"w", "w_up", "x", "norm_w"};
            char buf[120];
            std::snprintf(buf, sizeof buf, "%s port: %llu beats, the good calls' ranges %llu",
                          nm[i], (unsigned long long)o.beats[i],
                          (unsigned long long)want_beats[i]);
            o.ok = false;
            o.err = buf;
        }
    for (size_t i = 0; o.ok && i < nc; i++) {
        const call_t &c = calls[i];
        const uint32_t *got = (const uint32_t *)mb(s, c.y - 4 * GUARD);
        const uint32_t *want = (const uint32_t *)&s.shadow[c.y - 4 * GUARD];
        for (uint64_t j = 0; j < ny[i] + 2 * GUARD; j++) {
            if (got[j] == want[j])
                continue;
            /* NaN against NaN: which NaN comes out of an fp32 add or multiply of two NaNs
               is the operand order gcc picked for the C (a commutative +), not a contract */
            if (j >= GUARD && j < GUARD + ny[i] && is_nan(got[j]) && is_nan(want[j])) {
                s.nan_payload++;
                continue;
            }
            long long wi = (long long)j - GUARD;
            char buf[160];
            std::snprintf(buf, sizeof buf,
                          "call %zu: y word %lld (token %lld row %lld) = 0x%08x, want 0x%08x",
                          i, wi, wi / (long long)c.n, wi % (long long)c.n, got[j], want[j]);
            o.ok = false;
            o.err = buf;
            break;
        }
    }
    if (!tb_check(s.c, o.ok) && tb_show(s.c)) {
        std::printf("FAIL (lat %u bpc %.0f stall %u, host %s%s cont<=%u): %s\n", cfg.rd_latency,
                    cfg.rd_bytes_per_cycle, cfg.stall_pct, h.eager ? "eager" : "serial",
                    h.poll ? " poll" : " irq", h.cont_max, o.err.c_str());
        for (size_t i = 0; i < nc; i++) {
            const call_t &c = calls[i];
            std::printf("  call %zu: type %u n %u k %u t %u flags %u eps %g (w+%llu wu+%llu "
                        "x+%llu) status %u\n",
                        i, c.wtype, c.n, c.k, c.t, c.flags, (double)c.eps,
                        (unsigned long long)(c.w % BB), (unsigned long long)(c.w_up % BB),
                        (unsigned long long)(c.x % BB), want_st[i]);
        }
    }
    return o;
}

/* One call alone (the old one-at-a-time sequence): fill, run, compare. Returns the RTL's
 * cycles (0 on failure or when gated). */
static uint64_t one(tb_t &s, call_t c, const axi_port_cfg &cfg, bool edge, bool fill)
{
    uint32_t st = fl_qmatmul_check(c.wtype, c.n, c.k, c.t, c.flags);
    if (st == FL_KST_OK) {
        if (const char *why = gate(c.t, c.flags)) {
            s.skipped[why]++;
            return 0;
        }
        if (fill)
            fill_call(s, c, edge, true);
    }
    host_cfg h;
    h.checks = true;
    chain_out o = run_case(s, std::vector<call_t>(1, c), cfg, h);
    return o.ok ? o.cycles : 0;
}

/* a call with random misalignments inside the regions */
static call_t place(tb_t &s, uint32_t wtype, uint32_t n, uint32_t k, uint32_t t,
                    uint32_t flags)
{
    call_t c;
    tb_rng &r = s.r;
    c.w = W_BASE + (r.below(3) ? r.below(2 * BB) : 0);
    c.w_up = WU_BASE + (r.below(3) ? r.below(2 * BB) : 0);
    c.x = X_BASE + (r.below(3) ? 4u * r.below(BB / 2) : 0);
    c.norm_w = NW_BASE + (r.below(3) ? 4u * r.below(BB / 2) : 0);
    c.r = R_BASE + (r.below(3) ? 4u * r.below(BB / 2) : 0);
    c.y = Y_BASE + 4 * GUARD + (r.below(3) ? 4u * r.below(BB / 2) : 0);
    c.wtype = wtype;
    c.n = n;
    c.k = k;
    c.t = t;
    c.flags = flags;
    c.eps = 1e-5f;
    return c;
}

/* ---- chains: calls laid out one after the other in each region ---- */
struct bump {
    uint64_t cur[6] = {W_BASE, WU_BASE, X_BASE, NW_BASE, R_BASE, Y_BASE};
    /* region i: `bytes` at a fresh place, misaligned by `mis` */
    uint64_t take(int i, uint64_t bytes, uint64_t mis)
    {
        uint64_t a = (cur[i] + 255) / 256 * 256 + mis;
        cur[i] = a + bytes;
        return a;
    }
};

static const uint32_t TYPES[3] = {FL_TYPE_Q4_0, FL_TYPE_Q5_0, FL_TYPE_Q8_0};

struct bad_args {
    uint32_t wtype, n, k, t, flags;
};
static const bad_args BADS[] = {
    {FL_TYPE_Q8_0, 4, 64, 1, 0x8},   {FL_TYPE_Q4_0, 4, 64, 1, 0x100},
    {3, 4, 64, 1, 0},                {0, 4, 64, 1, 0},
    {7, 0, 0, 0, 0x10},              {FL_TYPE_Q4_0, 0, 64, 1, 0},
    {FL_TYPE_Q5_0, 4, 0, 1, 0},      {FL_TYPE_Q5_0, 4, 64, 0, 0},
    {FL_TYPE_Q8_0, 4, 48, 1, 0},     {FL_TYPE_Q8_0, 4, 33, 1, 7},
    {FL_TYPE_Q8_0, 262145, 64, 1, 0}, {FL_TYPE_Q4_0, 4, 16416, 1, 0},
    {FL_TYPE_Q4_0, 4, 64, 65, 0},    {FL_TYPE_Q5_0, 4, 0x80000000u, 1, 0},
    {FL_TYPE_Q5_0, 0xffffffffu, 64, 0xffffffffu, 0},
};

/* A random chain of 2..8 calls: random type, flags, t and shape (small enough to fit the
 * regions), a refused call now and then, x of call i+1 = y of call i where its t * k words
 * fit in that y. */
static void random_chain(tb_t &s, const axi_port_cfg &cfg, const host_cfg &h)
{
    tb_rng &r = s.r;
    bump bp;
    std::vector<call_t> calls;
    unsigned nc = 2 + r.below(7);
    int prev_i = -1; /* the previous call, when good */
    for (unsigned i = 0; i < nc; i++) {
        const call_t *prev = prev_i >= 0 ? &calls[prev_i] : nullptr;
        call_t c;
        bool bad = r.below(6) == 0;
        uint32_t flags = r.below(8);
        if (bad) {
            const bad_args &b = BADS[r.below(sizeof BADS / sizeof BADS[0])];
            c.wtype = b.wtype, c.n = b.n, c.k = b.k, c.t = b.t, c.flags = b.flags;
        } else {
            c.wtype = TYPES[r.below(3)];
            c.flags = flags;
            c.t = r.below(3) ? 1 : 2 + r.below(r.below(4) ? 7 : 31);
            uint32_t nb = 1 + r.below(r.below(4) ? 12 : 48);
            c.n = 1 + r.below(r.below(3) ? 300 : 1200);
            bool dep = prev && r.below(4) != 0 && prev->n >= 32;
            if (dep) { /* x = the previous y: t * k <= its t * n */
                c.t = prev->t;
                nb = 1 + r.below(prev->n / 32 < 48 ? prev->n / 32 : 48);
            }
            c.k = 32 * nb;
            if ((uint64_t)c.n * nb * c.t > 60000)
                c.n = (uint32_t)(60000 / ((uint64_t)nb * c.t)) + 1;
            if (gate(c.t, c.flags))
                return;
        }
        c.eps = 1e-5f;
        bool ok = fl_qmatmul_check(c.wtype, c.n, c.k, c.t, c.flags) == FL_KST_OK;
        uint64_t wbytes = ok ? (uint64_t)c.n * (c.k / 32) * block_bytes(c.wtype) : 0;
        uint64_t ny = ok ? (uint64_t)c.t * c.n : 0, nx = ok ? (uint64_t)c.t * c.k : 0;
        c.w = bp.take(0, wbytes, r.below(3) ? r.below(2 * BB) : 0);
        c.w_up = bp.take(1, wbytes, r.below(3) ? r.below(2 * BB) : 0);
        bool dep = ok && prev && (uint64_t)c.t * c.k <= (uint64_t)prev->t * prev->n;
        c.x = dep ? prev->y : bp.take(2, 4 * nx, 4u * r.below(BB / 2));
        c.norm_w = bp.take(3, ok ? 4ull * c.k : 0, 4u * r.below(BB / 2));
        c.r = bp.take(4, 4 * ny, 4u * r.below(BB / 2));
        c.y = bp.take(5, 4 * (ny + 2 * GUARD), 4u * r.below(BB / 2)) + 4 * GUARD;
        if (ok)
            fill_call(s, c, false, !dep);
        s.chain_dep += dep;
        s.chain_bad += !ok;
        calls.push_back(c);
        prev_i = ok ? (int)calls.size() - 1 : -1;
    }
    if (bp.cur[0] > WU_BASE || bp.cur[1] > X_BASE || bp.cur[2] > NW_BASE ||
        bp.cur[3] > R_BASE || bp.cur[4] > Y_BASE || bp.cur[5] > MEM_SIZE) {
        std::printf("random_chain: the regions overflow (a testbench bug)\n");
        tb_check(s.c, false);
        return;
    }
    s.chains++;
    s.chain_calls += calls.size();
    run_case(s, calls, cfg, h);
}

#include "tb_qmatmul_perf.h"

/* A memory of random latency (1..100 read, 1..30 write response), bandwidth (a beat or a
   quarter beat a cycle) and, one time in three, random stalls. */
static axi_port_cfg random_mem(tb_rng &r, uint64_t timeout_cycles, uint64_t seed)
{
    axi_port_cfg cfg;
    cfg.data_bits = TB_DATA_W;
    cfg.rd_latency = 1 + r.below(100);
    cfg.wr_latency = 1 + r.below(30);
    cfg.rd_bytes_per_cycle = cfg.wr_bytes_per_cycle = BB * (r.below(2) ? 1.0 : 0.25);
    cfg.stall_pct = r.below(3) == 0 ? r.below(30) : 0;
    cfg.timeout_cycles = timeout_cycles;
    cfg.seed = seed;
    return cfg;
}

int main(int argc, char **argv)
{
    Verilated::commandArgs(argc, argv);
    tb_t s;
    s.m = new model_t;
    /* under 10 s of CPU each on an idle core: the 64-bit model moves 8x the beats, the top
       adds the s_axi_control sequence (its datapath is the 512-bit one, tested in full) */
#if defined(TB_KERNEL_TOP)
    uint64_t n_runs = 120, n_chains = 40;
#elif TB_DATA_W < 512
    uint64_t n_runs = 100, n_chains = 16;
#else
    uint64_t n_runs = 360, n_chains = 40;
#endif
    if (const char *e = std::getenv("TB_VECTORS"))
        n_runs = std::strtoull(e, nullptr, 10);
    if (const char *e = std::getenv("TB_CHAINS"))
        n_chains = std::strtoull(e, nullptr, 10);
    if (const char *e = std::getenv("TB_SEED"))
        s.r = tb_rng(std::strtoull(e, nullptr, 0));
    if (std::getenv("TB_FULL"))
        g_features = "all";
    else if (const char *f = std::getenv("TB_FEATURES"))
        g_features = f;
    if (fl_hls_state_open(&s.st) != 0) {
        std::printf("cannot open the csim state\n");
        return 1;
    }
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
    s.m->cont = 0;
    tb_tick(s.m);
    tb_tick(s.m);
    s.m->rst = 0;
#endif
    if (const char *pf = std::getenv("TB_PERF")) { /* "single" or "chain": that table only */
        if (std::strcmp(pf, "chain") != 0)
            perf_single(s);
        if (std::strcmp(pf, "single") != 0)
            perf_chain(s);
        std::printf("simulated %llu cycles in %.1f s: %.0f cycles/s (incl. the C reference)\n",
                    (unsigned long long)g_perf_cycles, g_perf_s,
                    g_perf_s > 0 ? (double)g_perf_cycles / g_perf_s : 0.0);
    } else {
        tb_rng &r = s.r;
        /* random cases: every type x flag combination in turn, t mostly small */
        for (uint64_t i = 0; i < n_runs; i++) {
            axi_port_cfg cfg = random_mem(r, 5000000, i + 7);
            uint32_t flags = (uint32_t)((i / 3) % 8);
            uint32_t t = r.below(5) < 2 ? 1 : r.below(4) ? 2 + r.below(7) : 9 + r.below(56);
            uint32_t k = 32u * (1 + r.below(r.below(4) ? 24 : 128));
            if (i % 7 == 6) /* one to three blocks a row: rows back to back */
                k = 32u * (1 + r.below(3));
            if (i % 41 == 40) { /* the largest k */
                k = 16384;
                t = 1 + r.below(2);
            }
            uint32_t nb = k / 32;
            uint32_t n = 1 + r.below(r.below(8) ? 64 : 3000);
            /* bound the work: n * nb * t (dots) and the weight bytes */
            uint64_t cap_n = 24000ull * 4 / ((uint64_t)nb * t) + 1;
            uint64_t cap_blk = 40000 * BB / 64 + 8000; /* weight blocks */
            if (n > cap_n)
                n = (uint32_t)cap_n;
            if ((uint64_t)n * nb > cap_blk)
                n = (uint32_t)(cap_blk / nb + 1);
            if (r.below(40) == 0) /* a wide n, short rows */
                n = 2000 + r.below(1000), k = 32, t = 1;
            bool edge = r.below(6) == 0;
            call_t c = place(s, TYPES[i % 3], n, k, t, flags);
            if (edge && r.below(2))
                c.eps = r.below(2) ? 0.0f : 1e30f;
            one(s, c, cfg, edge, true);
        }
        /* arguments the kernel refuses: status, nothing read or written */
        {
            axi_port_cfg cfg;
            cfg.data_bits = TB_DATA_W;
            cfg.timeout_cycles = 10000;
            for (const bad_args &b : BADS)
                one(s, place(s, b.wtype, b.n, b.k, b.t, b.flags), cfg, false, false);
        }
        /* chains: hosts eager (the next call as soon as the kernel takes one) or serial,
           completions by interrupt or polling, continues at once or late */
        for (uint64_t i = 0; i < n_chains; i++) {
            axi_port_cfg cfg = random_mem(r, 3000000, i + 1000);
            host_cfg h;
            h.eager = i % 4 != 3;
            h.poll = i % 2 == 1;
            h.checks = r.below(2) == 0;
            h.cont_max = i % 3 == 2 ? 3000 : r.below(2) ? 0 : 20;
            random_chain(s, cfg, h);
        }
        std::printf("chains: %llu (%llu calls, %llu with x = the previous y, %llu refused)\n",
                    (unsigned long long)s.chains, (unsigned long long)s.chain_calls,
                    (unsigned long long)s.chain_dep, (unsigned long long)s.chain_bad);
        /* throughput at full bandwidth (t = 1, flags 0): cycles vs the weight floor */
        for (int i = 0; i < 3; i++) {
            axi_port_cfg cfg;
            cfg.data_bits = TB_DATA_W;
            cfg.rd_latency = 40;
            cfg.rd_bytes_per_cycle = cfg.wr_bytes_per_cycle = BB;
            uint32_t n = BB >= 64 ? 256 : 64;
            call_t c = place(s, TYPES[i], n, 2048, 1, 0);
            uint64_t cyc = one(s, c, cfg, false, true);
            uint64_t wbytes = (uint64_t)n * 64 * block_bytes(TYPES[i]);
            if (cyc)
                std::printf("type %2u n %u k 2048: %llu cycles, floor %llu at %u B/cycle "
                            "(%.3fx)\n",
                            TYPES[i], n, (unsigned long long)cyc,
                            (unsigned long long)(wbytes / BB), BB,
                            (double)cyc / (double)(wbytes / BB));
        }
    }
    if (s.nan_payload)
        std::printf("%llu y words NaN in both with other NaN bits (accepted: see run_case())\n",
                    (unsigned long long)s.nan_payload);
    for (auto &kv : s.skipped)
        std::printf("skipped: %u cases with %s\n", kv.second, kv.first.c_str());
    fl_hls_state_close(s.st);
    delete s.m;
    return tb_finish(s.c);
}
