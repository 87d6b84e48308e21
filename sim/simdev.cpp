/* sim/simdev.cpp: the simulated card of sim/simdev.h: Verilated qmatmul_rtl, six AXI4 slave
 * ports on one sparse memory, an AXI4-Lite master, the run loop, counters and the FST trace. */
#include "simdev.h"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <algorithm>
#include <string>

#include "Vqmatmul_rtl.h"
#include "axi_mem.h"
#include "flare/kernels.h"
#include "verilated.h"
#if VM_TRACE
#include "verilated_fst_c.h"
#endif

/* ---- presets ---- */
struct mem_preset {
    const char *name;
    double bytes_per_cycle;
    unsigned rd_latency, wr_latency;
    double clock_mhz;
};
static const mem_preset PRESETS[] = {
    {"ddr4", 64, 80, 40, 300},
    {"hbm", 32, 60, 30, 450},
};

static const unsigned DATA_BITS = 512;
static const unsigned RESET_CYCLES = 16;
static const unsigned CTL_TIMEOUT = 1000; /* cycles one register access may take */
static const char *const PORT_NAMES[SIMDEV_N_PORTS] = {"gmem0", "gmem1", "gmem2",
                                                       "gmem3", "gmem4", "gmem5"};

/* ---- AXI4-Lite master pins (ours -> the model, and its answers sampled before the edge) ---- */
struct ctl_pins {
    bool awvalid = false, wvalid = false, bready = false, arvalid = false, rready = false;
    uint32_t awaddr = 0, wdata = 0, araddr = 0;
    bool awready = false, wready = false, bvalid = false, arready = false, rvalid = false;
    uint32_t rdata = 0, bresp = 0, rresp = 0;
};

/* a completed call: its status, or the error that ended it */
struct completion {
    bool ok;
    uint32_t status;
    uint64_t cycles;
    std::string error;
};

struct simdev {
    mem_preset preset;
    uint64_t timeout = SIMDEV_DEFAULT_TIMEOUT;
    std::unique_ptr<VerilatedContext> ctx;
    std::unique_ptr<Vqmatmul_rtl> m;
#if VM_TRACE
    std::unique_ptr<VerilatedFstC> tfp;
#endif
    axi_mem mem = axi_mem::sparse(SIMDEV_MEM_BASE, SIMDEV_BANKS * SIMDEV_BANK_BYTES);
    axi_port_cfg port_cfg;
    std::unique_ptr<axi_port> port[SIMDEV_N_PORTS];
    axi_pins pins[SIMDEV_N_PORTS];
    axi_port_stats base_stats[SIMDEV_N_PORTS]; /* counters of ports replaced by a reset */
    ctl_pins ctl;
    uint64_t cycle = 0;       /* every clock since open */
    uint64_t run_cycles = 0;  /* summed over completed and failed runs */
    uint64_t runs = 0;
    uint64_t last_cycles = 0;
    uint64_t last_done = 0;   /* cycle of the latest completion */
    double wall_s = 0;
    bool need_reset = false;
    bool done_seen = false;   /* a control-word read saw ap_done (the read cleared the latch) */
    std::deque<uint64_t> started;  /* start cycle of each call handed over, not yet completed */
    std::deque<completion> done_q; /* completed calls, oldest first, not yet waited for */
    std::string error;

    int fail(const std::string &what)
    {
        error = what;
        return -1;
    }
    void new_ports();
    void tick();
    void reset();
    int reg_write(uint32_t off, uint32_t val);
    int reg_read(uint32_t off, uint32_t *val);
    int read_ctrl(uint32_t *ctrl);
    bool ports_ok();
    int service();
    void fail_all(const std::string &why);
    uint64_t window_start() const
    {
        return started.empty() ? cycle : std::max(started.front(), last_done);
    }
};

/* ---- ports ---- */
void simdev::new_ports()
{
    for (unsigned i = 0; i < SIMDEV_N_PORTS; i++) {
        if (port[i]) {
            const axi_port_stats &s = port[i]->stats;
            axi_port_stats &b = base_stats[i];
            b.cycles += s.cycles;
            b.busy_cycles += s.busy_cycles;
            b.rd_busy_cycles += s.rd_busy_cycles;
            b.rd_beats += s.rd_beats;
            b.rd_bytes += s.rd_bytes;
            b.rd_bursts += s.rd_bursts;
            b.wr_busy_cycles += s.wr_busy_cycles;
            b.wr_beats += s.wr_beats;
            b.wr_bytes += s.wr_bytes;
            b.wr_bursts += s.wr_bursts;
        }
        port[i].reset(new axi_port(mem, port_cfg, PORT_NAMES[i]));
        pins[i] = axi_pins();
    }
}

bool simdev::ports_ok()
{
    for (unsigned i = 0; i < SIMDEV_N_PORTS; i++)
        if (!port[i]->ok()) {
            fail("AXI error: " + port[i]->error);
            return false;
        }
    return true;
}

/* ---- one clock cycle ----
 * Slave outputs and the control master's pins are applied with the clock low, the model
 * settles, the masters' outputs are sampled, then the rising edge. Read data is copied only on
 * a beat (RVALID) and write data only with WVALID. */
#define RD_IN(i)                                                                                 \
    do {                                                                                         \
        axi_pins &p = pins[i];                                                                   \
        port[i]->drive(p);                                                                       \
        m->m_axi_gmem##i##_ARREADY = p.arready;                                                  \
        m->m_axi_gmem##i##_RVALID = p.rvalid;                                                    \
        m->m_axi_gmem##i##_RLAST = p.rlast;                                                      \
        m->m_axi_gmem##i##_RRESP = p.rresp;                                                      \
        if (p.rvalid)                                                                            \
            axi_to_sig(m->m_axi_gmem##i##_RDATA, p.rdata, DATA_BITS);                            \
    } while (0)
#define RD_OUT(i)                                                                                \
    do {                                                                                         \
        axi_pins &p = pins[i];                                                                   \
        p.arvalid = m->m_axi_gmem##i##_ARVALID;                                                  \
        p.araddr = m->m_axi_gmem##i##_ARADDR;                                                    \
        p.arlen = m->m_axi_gmem##i##_ARLEN;                                                      \
        p.arsize = m->m_axi_gmem##i##_ARSIZE;                                                    \
        p.arburst = m->m_axi_gmem##i##_ARBURST;                                                  \
        p.rready = m->m_axi_gmem##i##_RREADY;                                                    \
        port[i]->sample(p);                                                                      \
    } while (0)

void simdev::tick()
{
    Vqmatmul_rtl *t = m.get();
    t->ap_clk = 0;
    t->s_axi_control_AWVALID = ctl.awvalid;
    t->s_axi_control_AWADDR = ctl.awaddr;
    t->s_axi_control_WVALID = ctl.wvalid;
    t->s_axi_control_WDATA = ctl.wdata;
    t->s_axi_control_WSTRB = 0xf;
    t->s_axi_control_BREADY = ctl.bready;
    t->s_axi_control_ARVALID = ctl.arvalid;
    t->s_axi_control_ARADDR = ctl.araddr;
    t->s_axi_control_RREADY = ctl.rready;
    RD_IN(0);
    RD_IN(1);
    RD_IN(2);
    RD_IN(3);
    RD_IN(4);
    {
        axi_pins &p = pins[5];
        port[5]->drive(p);
        t->m_axi_gmem5_AWREADY = p.awready;
        t->m_axi_gmem5_WREADY = p.wready;
        t->m_axi_gmem5_BVALID = p.bvalid;
        t->m_axi_gmem5_BRESP = p.bresp;
    }
    t->eval();
#if VM_TRACE
    if (tfp)
        tfp->dump(2 * cycle);
#endif
    RD_OUT(0);
    RD_OUT(1);
    RD_OUT(2);
    RD_OUT(3);
    RD_OUT(4);
    {
        axi_pins &p = pins[5];
        p.awvalid = t->m_axi_gmem5_AWVALID;
        p.awaddr = t->m_axi_gmem5_AWADDR;
        p.awlen = t->m_axi_gmem5_AWLEN;
        p.awsize = t->m_axi_gmem5_AWSIZE;
        p.awburst = t->m_axi_gmem5_AWBURST;
        p.wvalid = t->m_axi_gmem5_WVALID;
        if (p.wvalid) {
            axi_from_sig(p.wdata, t->m_axi_gmem5_WDATA, DATA_BITS);
            p.wstrb = t->m_axi_gmem5_WSTRB;
            p.wlast = t->m_axi_gmem5_WLAST;
        }
        p.bready = t->m_axi_gmem5_BREADY;
        port[5]->sample(p);
    }
    ctl.awready = t->s_axi_control_AWREADY;
    ctl.wready = t->s_axi_control_WREADY;
    ctl.bvalid = t->s_axi_control_BVALID;
    ctl.bresp = t->s_axi_control_BRESP;
    ctl.arready = t->s_axi_control_ARREADY;
    ctl.rvalid = t->s_axi_control_RVALID;
    ctl.rdata = t->s_axi_control_RDATA;
    ctl.rresp = t->s_axi_control_RRESP;
    t->ap_clk = 1;
    t->eval();
#if VM_TRACE
    if (tfp)
        tfp->dump(2 * cycle + 1);
#endif
    for (unsigned i = 0; i < SIMDEV_N_PORTS; i++)
        port[i]->step();
    cycle++;
}

void simdev::reset()
{
    ctl = ctl_pins();
    new_ports();
    m->ap_rst_n = 0;
    for (unsigned i = 0; i < RESET_CYCLES; i++)
        tick();
    m->ap_rst_n = 1;
    new_ports(); /* the reset cycles' counters are kept, the port state is fresh */
    need_reset = false;
    done_seen = false;
}

/* ---- AXI4-Lite master: one access at a time ---- */
int simdev::reg_write(uint32_t off, uint32_t val)
{
    bool aw_done = false, w_done = false;
    for (unsigned n = 0; n < CTL_TIMEOUT; n++) {
        ctl.awvalid = !aw_done;
        ctl.awaddr = off;
        ctl.wvalid = !w_done;
        ctl.wdata = val;
        ctl.bready = aw_done && w_done;
        tick();
        bool b_fire = ctl.bready && ctl.bvalid;
        aw_done |= ctl.awvalid && ctl.awready;
        w_done |= ctl.wvalid && ctl.wready;
        if (b_fire) {
            bool bad = ctl.bresp != 0;
            ctl = ctl_pins();
            if (bad) {
                char buf[64];
                std::snprintf(buf, sizeof buf, "s_axi_control write 0x%02x: BRESP error", off);
                return fail(buf);
            }
            return 0;
        }
    }
    ctl = ctl_pins();
    need_reset = true;
    char buf[96];
    std::snprintf(buf, sizeof buf,
                  "s_axi_control: no write response for offset 0x%02x in %u cycles", off,
                  CTL_TIMEOUT);
    return fail(buf);
}

int simdev::reg_read(uint32_t off, uint32_t *val)
{
    bool ar_done = false;
    for (unsigned n = 0; n < CTL_TIMEOUT; n++) {
        ctl.arvalid = !ar_done;
        ctl.araddr = off;
        ctl.rready = ar_done;
        tick();
        bool r_fire = ctl.rready && ctl.rvalid;
        ar_done |= ctl.arvalid && ctl.arready;
        if (r_fire) {
            *val = ctl.rdata;
            bool bad = ctl.rresp != 0;
            ctl = ctl_pins();
            if (bad)
                return fail("s_axi_control read: RRESP error");
            return 0;
        }
    }
    ctl = ctl_pins();
    need_reset = true;
    char buf[96];
    std::snprintf(buf, sizeof buf, "s_axi_control: no read data for offset 0x%02x in %u cycles",
                  off, CTL_TIMEOUT);
    return fail(buf);
}

/* ---- the C API ---- */
extern "C" {

int simdev_can_trace(void)
{
    return VM_TRACE ? 1 : 0;
}

simdev *simdev_open(const simdev_cfg *cfg, char *err, size_t err_len)
{
    auto bad = [&](const std::string &why) -> simdev * {
        if (err && err_len)
            std::snprintf(err, err_len, "%s", why.c_str());
        return nullptr;
    };
    const char *mem = cfg && cfg->mem ? cfg->mem : "ddr4";
    const mem_preset *pre = nullptr;
    for (const mem_preset &p : PRESETS)
        if (std::strcmp(p.name, mem) == 0)
            pre = &p;
    if (!pre)
        return bad(std::string("unknown memory preset '") + mem + "' (ddr4, hbm)");
    const char *trace = cfg ? cfg->trace_path : nullptr;
#if !VM_TRACE
    if (trace)
        return bad("trace: this libflare_xrtsim.so was built without tracing (XRTSIM_TRACE=0)");
#else
    if (trace) {
        /* check that the file can be created before Verilator's writer tries */
        std::FILE *f = std::fopen(trace, "wb");
        if (!f)
            return bad(std::string("trace: cannot create '") + trace +
                       "': " + std::strerror(errno));
        std::fclose(f);
    }
#endif
    std::unique_ptr<simdev> d(new simdev);
    d->preset = *pre;
    d->timeout = cfg && cfg->timeout_cycles ? cfg->timeout_cycles : SIMDEV_DEFAULT_TIMEOUT;
    d->port_cfg.data_bits = DATA_BITS;
    d->port_cfg.rd_latency = pre->rd_latency;
    d->port_cfg.wr_latency = pre->wr_latency;
    d->port_cfg.rd_bytes_per_cycle = pre->bytes_per_cycle;
    d->port_cfg.wr_bytes_per_cycle = pre->bytes_per_cycle;
    d->port_cfg.max_rd_bursts = 16;
    d->port_cfg.max_wr_bursts = 16;
    d->port_cfg.timeout_cycles = UINT64_MAX; /* the run timeout is ours */
    d->ctx.reset(new VerilatedContext);
    d->ctx->fatalOnError(false);
#if VM_TRACE
    if (trace)
        d->ctx->traceEverOn(true);
#endif
    d->m.reset(new Vqmatmul_rtl(d->ctx.get(), "qmatmul_rtl"));
#if VM_TRACE
    if (trace) {
        d->tfp.reset(new VerilatedFstC);
        d->m->trace(d->tfp.get(), 99);
        d->tfp->open(trace);
        if (!d->tfp->isOpen())
            return bad(std::string("trace: cannot open '") + trace + "'");
    }
#endif
    d->reset();
    d->run_cycles = 0;
    return d.release();
}

void simdev_close(simdev *d)
{
    if (!d)
        return;
#if VM_TRACE
    if (d->tfp)
        d->tfp->close();
#endif
    d->m->final();
    delete d;
}

const char *simdev_error(const simdev *d)
{
    return d->error.c_str();
}

static int mem_check(simdev *d, const char *what, uint64_t addr, uint64_t n)
{
    if (d->mem.contains(addr, n))
        return 0;
    char buf[160];
    std::snprintf(buf, sizeof buf,
                  "%s: %llu bytes at 0x%llx outside the device memory [0x%llx, 0x%llx)", what,
                  (unsigned long long)n, (unsigned long long)addr, (unsigned long long)d->mem.base,
                  (unsigned long long)(d->mem.base + d->mem.size));
    return d->fail(buf);
}

int simdev_mem_write(simdev *d, uint64_t addr, const void *src, uint64_t n)
{
    if (mem_check(d, "memory write", addr, n))
        return -1;
    d->mem.write(addr, src, n);
    return 0;
}

int simdev_mem_read(simdev *d, uint64_t addr, void *dst, uint64_t n)
{
    if (mem_check(d, "memory read", addr, n))
        return -1;
    d->mem.read(addr, dst, n);
    return 0;
}

int simdev_mem_zero(simdev *d, uint64_t addr, uint64_t n)
{
    if (mem_check(d, "memory zero", addr, n))
        return -1;
    d->mem.zero(addr, n);
    return 0;
}

uint64_t simdev_mem_resident(const simdev *d)
{
    return d->mem.resident_bytes();
}

int simdev_reg_write(simdev *d, uint32_t off, uint32_t val)
{
    if (d->need_reset)
        d->reset();
    return d->reg_write(off, val);
}

int simdev_reg_read(simdev *d, uint32_t off, uint32_t *val)
{
    if (d->need_reset)
        d->reset();
    return d->reg_read(off, val);
}

/* ---- runs: calls handed over with ap_start, completed in order ---- */
int simdev::read_ctrl(uint32_t *ctrl)
{
    int rc = reg_read(FL_REG_CTRL, ctrl);
    if (!rc && (*ctrl & FL_CTRL_DONE))
        done_seen = true;
    return rc;
}

/* Every call still in the kernel ends with `why`; the kernel is reset before the next one. */
void simdev::fail_all(const std::string &why)
{
    error = why;
    while (!started.empty()) {
        uint64_t c = cycle - window_start();
        run_cycles += c;
        done_q.push_back({false, 0, c, why});
        last_done = cycle;
        started.pop_front();
    }
    need_reset = true;
}

/* The interrupt pin is up: complete the oldest call as XRT does for an ap_ctrl_chain kernel
 * (ap_done seen, status read, ISR cleared, ap_continue). 0, or -1 after fail_all. */
int simdev::service()
{
    char buf[160];
    uint64_t done_cycle = cycle;
    uint32_t ctrl = 0, st = 0;
    int rc = read_ctrl(&ctrl);
    if (!rc && !done_seen) {
        std::snprintf(buf, sizeof buf, "interrupt without ap_done: control word 0x%x", ctrl);
        rc = fail(buf);
    }
    if (!rc)
        rc = reg_read(FL_QMATMUL_REG_STATUS, &st);
    if (!rc)
        rc = reg_write(FL_REG_ISR, 1);
    if (!rc)
        rc = reg_write(FL_REG_CTRL, FL_CTRL_CONTINUE);
    if (!rc && !ports_ok())
        rc = -1;
    /* the last call handed over: nothing of the kernel may still be on the ports */
    for (unsigned i = 0; !rc && started.size() == 1 && i < SIMDEV_N_PORTS; i++)
        if (!port[i]->idle()) {
            std::snprintf(buf, sizeof buf, "ap_done with AXI transactions open on %s",
                          PORT_NAMES[i]);
            rc = fail(buf);
        }
    if (rc) {
        fail_all(error);
        return -1;
    }
    done_seen = false;
    uint64_t c = done_cycle - window_start();
    run_cycles += c;
    runs++;
    last_done = done_cycle;
    started.pop_front();
    done_q.push_back({true, st, c, std::string()});
    return 0;
}

int simdev_start(simdev *d, const uint32_t *regs, uint32_t n_words)
{
    if (n_words > FL_KERNEL_REG_WORDS)
        return d->fail("start: more register words than the control interface has");
    if (d->started.empty() && d->need_reset)
        d->reset();
    if (d->need_reset) /* calls of a failed sequence are still to be waited for */
        return d->fail("start: the kernel failed (" + d->error + "); wait for the calls "
                       "handed over before it first");
    auto t0 = std::chrono::steady_clock::now();
    Vqmatmul_rtl *m = d->m.get();
    int rc = 0;
    if (d->started.empty()) {
        rc = d->reg_write(FL_REG_GIE, 1);
        if (!rc)
            rc = d->reg_write(FL_REG_IER, 1);
    } else {
        /* the kernel still holds the previous call's arguments until it takes them (ap_start
           reads 0); complete calls meanwhile, or it may wait for our ap_continue */
        uint32_t ctrl = FL_CTRL_START;
        uint64_t since = d->cycle;
        while (!rc && (ctrl & FL_CTRL_START)) {
            if (m->__SYM__interrupt) {
                if (d->service())
                    break;
                since = d->cycle;
                if (d->started.empty())
                    break;
                continue;
            }
            if (d->cycle - since >= d->timeout) {
                char buf[96];
                std::snprintf(buf, sizeof buf,
                              "timeout: ap_start not taken in %llu cycles",
                              (unsigned long long)d->timeout);
                d->fail_all(buf);
                break;
            }
            rc = d->read_ctrl(&ctrl);
            if (!rc && !d->ports_ok())
                rc = -1;
        }
        if (rc)
            d->fail_all(d->error);
        if (d->need_reset) {
            d->wall_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            return d->fail("start: " + d->error);
        }
    }
    for (uint32_t i = FL_REG_ARGS / 4u; !rc && i < n_words; i++)
        rc = d->reg_write(i * 4u, regs[i]);
    uint64_t start = d->cycle;
    if (!rc)
        rc = d->reg_write(FL_REG_CTRL, FL_CTRL_START);
    d->wall_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (rc) {
        d->fail_all(d->error);
        return -1;
    }
    d->started.push_back(start);
    return 0;
}

int simdev_wait(simdev *d, uint32_t *status)
{
    if (d->done_q.empty() && d->started.empty())
        return d->fail("wait: no run started");
    auto t0 = std::chrono::steady_clock::now();
    Vqmatmul_rtl *m = d->m.get();
    while (d->done_q.empty()) {
        if (m->__SYM__interrupt) {
            d->service();
            continue;
        }
        if (d->cycle - d->window_start() >= d->timeout) {
            char buf[96];
            std::snprintf(buf, sizeof buf, "timeout after %llu cycles",
                          (unsigned long long)d->timeout);
            d->fail_all(buf);
            break;
        }
        d->tick();
        if (!d->ports_ok())
            d->fail_all(d->error);
    }
#if VM_TRACE
    if (d->tfp)
        d->tfp->flush();
#endif
    d->wall_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    completion c = d->done_q.front();
    d->done_q.pop_front();
    d->last_cycles = c.cycles;
    if (!c.ok) {
        d->error = c.error;
        return -1;
    }
    *status = c.status;
    return 0;
}

uint32_t simdev_outstanding(const simdev *d)
{
    return (uint32_t)(d->started.size() + d->done_q.size());
}

uint64_t simdev_last_cycles(const simdev *d)
{
    return d->last_cycles;
}

void simdev_get_stats(const simdev *d, flsim_stats *out)
{
    std::memset(out, 0, sizeof *out);
    out->runs = d->runs;
    out->cycles = d->run_cycles;
    out->wall_s = d->wall_s;
    out->data_bits = DATA_BITS;
    out->bytes_per_cycle = d->preset.bytes_per_cycle;
    out->rd_latency = d->preset.rd_latency;
    out->clock_mhz = d->preset.clock_mhz;
    std::snprintf(out->mem, sizeof out->mem, "%s", d->preset.name);
    out->n_ports = SIMDEV_N_PORTS;
    for (unsigned i = 0; i < SIMDEV_N_PORTS; i++) {
        const axi_port_stats &s = d->port[i]->stats, &b = d->base_stats[i];
        flsim_port_stats &o = out->port[i];
        std::snprintf(o.name, sizeof o.name, "%s", PORT_NAMES[i]);
        o.rd_bytes = s.rd_bytes + b.rd_bytes;
        o.wr_bytes = s.wr_bytes + b.wr_bytes;
        o.busy_cycles = s.busy_cycles + b.busy_cycles;
    }
}

} /* extern "C" */
