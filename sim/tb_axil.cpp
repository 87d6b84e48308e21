/* sim/tb_axil.cpp: Verilator testbench of hw/qmatmul_ctrl.v (hw/axil_ctrl.v with the generated
 * qmatmul register map) against include/flare/kernels.h.
 *
 * An AXI4-Lite master drives writes with AW/W in either order or together and random BREADY /
 * RREADY delays; a stub kernel (ap_ctrl_hs: idle until ap_start, then busy for N cycles, then one
 * cycle of ap_done + ap_ready) sits on the kernel side. Checks: reset values; every argument word
 * of random fl_kernel_regs images reads back and arrives on the named argument ports as
 * fl_kernel_from_regs decodes it; byte strobes; the read-only status word; unmapped addresses;
 * and the handshake: ap_start held until ap_ready, ap_done/ap_ready latched and cleared on read,
 * ap_idle, ISR set per IER and toggled on write, interrupt = GIE & ISR, one run per start;
 * ap_continue (ap_ctrl_chain): a written bit 4 gives exactly one one-cycle pulse on the
 * ap_continue pin (not with WSTRB[0] clear, not for other bits or addresses), reads as 0, and
 * together with bit 0 also starts a run. (The kernel's side of ap_ctrl_chain, holding a
 * completion until ap_continue, is tested with the real kernel in sim/tb_qmatmul.cpp.) */
#include <cstdlib>

#include "Vqmatmul_ctrl.h"
#include "flare/kernels.h"
#include "tb_common.h"
#include "verilated.h"

/* Verilator renames the port `interrupt` (a C++ keyword in some dialects) to this. */
#define PORT_INTERRUPT __SYM__interrupt

/* ---- harness: model, stub kernel, cycle counter ---- */
struct harness {
    Vqmatmul_ctrl *m;
    tb_count c;
    tb_rng rng{0x5eed00a1u};
    uint64_t cycle = 0;
    /* stub kernel */
    bool busy = false;
    uint32_t count = 0, n_cycles = 4, runs = 0;
    uint32_t conts = 0; /* cycles with the ap_continue pin high */
};

static void check(harness &h, bool ok, const char *what, uint64_t got, uint64_t want)
{
    if (!tb_check(h.c, ok) && tb_show(h.c))
        std::printf("FAIL cycle %llu: %s: got 0x%llx, expected 0x%llx\n",
                    (unsigned long long)h.cycle, what, (unsigned long long)got,
                    (unsigned long long)want);
}
/* got and want are evaluated once (got is often a bus read with side effects). */
static void check_eq(harness &h, uint64_t got, uint64_t want, const char *what)
{
    check(h, got == want, what, got, want);
}
#define CHECK_EQ(h, got, want, what) check_eq(h, (uint64_t)(got), (uint64_t)(want), what)

/* One clock: the stub's pins follow its state, then the rising edge, then the stub samples the
 * ap_start it saw before the edge. */
static void tick(harness &h)
{
    Vqmatmul_ctrl *m = h.m;
    bool fin = h.busy && h.count == 0;
    m->ap_idle = !h.busy;
    m->ap_done = fin;
    m->ap_ready = fin;
    m->ap_clk = 0;
    m->eval();
    bool start_seen = m->ap_start;
    m->ap_clk = 1;
    m->eval();
    h.cycle++;
    h.conts += m->ap_continue;
    if (!h.busy && start_seen) {
        h.busy = true;
        h.count = h.n_cycles - 1;
        h.runs++;
    } else if (fin) {
        h.busy = false;
    } else if (h.busy) {
        h.count--;
    }
}

/* ---- AXI4-Lite master ---- */
static const int k_timeout = 64;

/* mode 0: AW and W together; 1: AW first, W later; 2: W first, AW later. */
static void axi_write(harness &h, uint32_t addr, uint32_t data, uint32_t strb, int mode)
{
    Vqmatmul_ctrl *m = h.m;
    int lag = (int)h.rng.below(4);
    bool aw_done = false, w_done = false;
    for (int i = 0; !(aw_done && w_done); i++) {
        if (i > k_timeout) {
            check(h, false, "write address/data handshake timed out", addr, data);
            return;
        }
        m->s_axi_control_AWVALID = !aw_done && (mode != 2 || i >= lag);
        m->s_axi_control_AWADDR = addr;
        m->s_axi_control_WVALID = !w_done && (mode != 1 || i >= lag);
        m->s_axi_control_WDATA = data;
        m->s_axi_control_WSTRB = strb;
        m->s_axi_control_BREADY = 0;
        m->ap_clk = 0;
        m->eval();
        bool aw_hs = m->s_axi_control_AWVALID && m->s_axi_control_AWREADY;
        bool w_hs = m->s_axi_control_WVALID && m->s_axi_control_WREADY;
        tick(h);
        aw_done |= aw_hs;
        w_done |= w_hs;
    }
    m->s_axi_control_AWVALID = 0;
    m->s_axi_control_WVALID = 0;
    int bdelay = (int)h.rng.below(3);
    for (int i = 0;; i++) {
        if (i > k_timeout) {
            check(h, false, "write response timed out", addr, data);
            return;
        }
        m->s_axi_control_BREADY = i >= bdelay;
        m->ap_clk = 0;
        m->eval();
        bool b_hs = m->s_axi_control_BVALID && m->s_axi_control_BREADY;
        if (b_hs)
            CHECK_EQ(h, m->s_axi_control_BRESP, 0, "BRESP");
        tick(h);
        if (b_hs)
            break;
    }
    m->s_axi_control_BREADY = 0;
}

static uint32_t axi_read(harness &h, uint32_t addr)
{
    Vqmatmul_ctrl *m = h.m;
    for (int i = 0;; i++) {
        if (i > k_timeout) {
            check(h, false, "read address handshake timed out", addr, 0);
            return 0;
        }
        m->s_axi_control_ARVALID = 1;
        m->s_axi_control_ARADDR = addr;
        m->s_axi_control_RREADY = 0;
        m->ap_clk = 0;
        m->eval();
        bool ar_hs = m->s_axi_control_ARREADY;
        tick(h);
        if (ar_hs)
            break;
    }
    m->s_axi_control_ARVALID = 0;
    int rdelay = (int)h.rng.below(3);
    uint32_t data = 0;
    for (int i = 0;; i++) {
        if (i > k_timeout) {
            check(h, false, "read data timed out", addr, 0);
            return 0;
        }
        m->s_axi_control_RREADY = i >= rdelay;
        m->ap_clk = 0;
        m->eval();
        bool r_hs = m->s_axi_control_RVALID && m->s_axi_control_RREADY;
        if (r_hs) {
            data = m->s_axi_control_RDATA;
            CHECK_EQ(h, m->s_axi_control_RRESP, 0, "RRESP");
        }
        tick(h);
        if (r_hs)
            break;
    }
    m->s_axi_control_RREADY = 0;
    return data;
}

static void wr(harness &h, uint32_t addr, uint32_t data)
{
    axi_write(h, addr, data, 0xfu, (int)h.rng.below(3));
}

/* ---- register file ---- */
static fl_kernel_call random_call(harness &h)
{
    fl_kernel_call call;
    std::memset(&call, 0, sizeof call);
    call.kernel = FL_KERNEL_QMATMUL;
    fl_qmatmul_args *a = &call.u.qmm;
#define RND_ADDR(name) a->name = ((uint64_t)h.rng.u32() << 32) | h.rng.u32();
    RND_ADDR(w) RND_ADDR(w_up) RND_ADDR(x) RND_ADDR(norm_w) RND_ADDR(r) RND_ADDR(y)
#undef RND_ADDR
    a->wtype = h.rng.u32();
    a->n = h.rng.u32();
    a->k = h.rng.u32();
    a->t = h.rng.u32();
    a->flags = h.rng.u32();
    a->eps = tb_f(h.rng.u32() & 0x7f7fffffu);
    return call;
}

static void check_ports(harness &h, const fl_kernel_call &want)
{
    fl_kernel_call got;
    uint32_t regs[FL_KERNEL_REG_WORDS] = {0};
    fl_kernel_regs(&want, regs);
    fl_kernel_from_regs(FL_KERNEL_QMATMUL, regs, &got); /* the header's own decode */
    Vqmatmul_ctrl *m = h.m;
    CHECK_EQ(h, m->arg_w, got.u.qmm.w, "port arg_w");
    CHECK_EQ(h, m->arg_w_up, got.u.qmm.w_up, "port arg_w_up");
    CHECK_EQ(h, m->arg_x, got.u.qmm.x, "port arg_x");
    CHECK_EQ(h, m->arg_norm_w, got.u.qmm.norm_w, "port arg_norm_w");
    CHECK_EQ(h, m->arg_r, got.u.qmm.r, "port arg_r");
    CHECK_EQ(h, m->arg_y, got.u.qmm.y, "port arg_y");
    CHECK_EQ(h, m->arg_wtype, got.u.qmm.wtype, "port arg_wtype");
    CHECK_EQ(h, m->arg_n, got.u.qmm.n, "port arg_n");
    CHECK_EQ(h, m->arg_k, got.u.qmm.k, "port arg_k");
    CHECK_EQ(h, m->arg_t, got.u.qmm.t, "port arg_t");
    CHECK_EQ(h, m->arg_flags, got.u.qmm.flags, "port arg_flags");
    CHECK_EQ(h, m->arg_eps, tb_u(got.u.qmm.eps), "port arg_eps");
}

/* Read every argument word and compare with the image. */
static void check_readback(harness &h, const uint32_t *regs, const char *what)
{
    for (uint32_t off = FL_REG_ARGS; off < FL_QMATMUL_REG_STATUS; off += 4u) {
        char buf[96];
        std::snprintf(buf, sizeof buf, "%s: argument word 0x%02x", what, off);
        CHECK_EQ(h, axi_read(h, off), regs[off / 4u], buf);
    }
}

static void test_registers(harness &h)
{
    uint32_t regs[FL_KERNEL_REG_WORDS];
    for (int it = 0; it < 40; it++) {
        fl_kernel_call call = random_call(h);
        std::memset(regs, 0, sizeof regs);
        uint32_t words = fl_kernel_regs(&call, regs);
        CHECK_EQ(h, words, FL_QMATMUL_REG_END / 4u, "fl_kernel_regs word count");
        for (uint32_t off = FL_REG_ARGS; off < FL_QMATMUL_REG_STATUS; off += 4u)
            wr(h, off, regs[off / 4u]);
        check_readback(h, regs, "image");
        check_ports(h, call);
    }
    /* byte strobes: every 4-bit mask on a random argument word */
    for (uint32_t strb = 0; strb < 16u; strb++) {
        uint32_t off = FL_REG_ARGS + 4u * h.rng.below((FL_QMATMUL_REG_STATUS - FL_REG_ARGS) / 4u);
        uint32_t old = h.rng.u32(), nw = h.rng.u32(), mask = 0;
        wr(h, off, old);
        axi_write(h, off, nw, strb, (int)h.rng.below(3));
        for (int b = 0; b < 4; b++)
            if (strb & (1u << b))
                mask |= 0xffu << (8 * b);
        CHECK_EQ(h, axi_read(h, off), (old & ~mask) | (nw & mask), "byte-strobe write");
    }
    /* status: read-only, the kernel's word */
    std::memset(regs, 0, sizeof regs);
    for (uint32_t off = FL_REG_ARGS; off < FL_QMATMUL_REG_STATUS; off += 4u) {
        regs[off / 4u] = h.rng.u32();
        wr(h, off, regs[off / 4u]);
    }
    for (int it = 0; it < 8; it++) {
        uint32_t st = h.rng.u32();
        h.m->status = st;
        CHECK_EQ(h, axi_read(h, FL_QMATMUL_REG_STATUS), st, "status word");
        wr(h, FL_QMATMUL_REG_STATUS, ~st);
        CHECK_EQ(h, axi_read(h, FL_QMATMUL_REG_STATUS), st, "status word after a write");
    }
    /* unmapped addresses read 0 and writes there change nothing */
    for (uint32_t off = FL_QMATMUL_REG_END; off < 0x80u; off += 4u) {
        wr(h, off, 0xdeadbeefu);
        CHECK_EQ(h, axi_read(h, off), 0, "unmapped address");
    }
    check_readback(h, regs, "after unmapped writes");
    CHECK_EQ(h, axi_read(h, FL_REG_GIE), 0, "GIE after unmapped writes");
    CHECK_EQ(h, axi_read(h, FL_REG_IER), 0, "IER after unmapped writes");
}

/* ---- ap_ctrl_hs handshake ---- */
static void run_once(harness &h, uint32_t n, uint32_t gie, uint32_t ier)
{
    char buf[128];
    h.n_cycles = n;
    uint32_t runs0 = h.runs;
    wr(h, FL_REG_GIE, gie);
    wr(h, FL_REG_IER, ier);
    CHECK_EQ(h, axi_read(h, FL_REG_CTRL), FL_CTRL_IDLE, "control before start");
    CHECK_EQ(h, h.m->ap_start, 0, "ap_start pin before start");
    axi_write(h, FL_REG_CTRL, 0x1u, 0x1u, (int)h.rng.below(3));
    uint64_t t0 = h.cycle;
    /* poll until done; while running, ap_start and ap_idle as ap_ctrl_hs says */
    uint32_t v = 0;
    int polls = 0;
    for (;; polls++) {
        if (polls > 200) {
            check(h, false, "ap_done never seen", v, FL_CTRL_DONE);
            return;
        }
        bool running = h.busy;
        bool pin = h.m->ap_start;
        v = axi_read(h, FL_REG_CTRL);
        if (v & FL_CTRL_DONE)
            break;
        if (running) {
            CHECK_EQ(h, pin, 1, "ap_start pin held while the kernel runs");
            CHECK_EQ(h, v & (FL_CTRL_START | FL_CTRL_IDLE), FL_CTRL_START,
                     "control while running: start 1, idle 0");
        }
    }
    std::snprintf(buf, sizeof buf, "control at done (N=%u)", n);
    CHECK_EQ(h, v, FL_CTRL_DONE | FL_CTRL_IDLE | FL_CTRL_READY, buf);
    CHECK_EQ(h, h.cycle - t0 >= n, 1, "done no earlier than N cycles after start");
    CHECK_EQ(h, axi_read(h, FL_REG_CTRL), FL_CTRL_IDLE, "control read again: done cleared");
    CHECK_EQ(h, h.runs - runs0, 1, "one kernel run per ap_start");
    uint32_t want_isr = ier & 3u;
    CHECK_EQ(h, axi_read(h, FL_REG_ISR), want_isr, "ISR after done");
    CHECK_EQ(h, h.m->PORT_INTERRUPT, (gie & 1u) && want_isr, "interrupt pin after done");
    /* toggle on write: clear bit 0 (when set), then bit 1 */
    wr(h, FL_REG_ISR, want_isr & 1u);
    CHECK_EQ(h, axi_read(h, FL_REG_ISR), want_isr & 2u, "ISR after writing 1 to bit 0");
    CHECK_EQ(h, h.m->PORT_INTERRUPT, (gie & 1u) && (want_isr & 2u), "interrupt after ISR bit 0");
    wr(h, FL_REG_ISR, want_isr & 2u);
    CHECK_EQ(h, axi_read(h, FL_REG_ISR), 0, "ISR cleared");
    CHECK_EQ(h, h.m->PORT_INTERRUPT, 0, "interrupt low with ISR clear");
}

static void test_handshake(harness &h)
{
    static const uint32_t ns[] = {1, 2, 3, 7, 40};
    for (uint32_t n : ns) {
        run_once(h, n, 1, 3);
        run_once(h, n, 0, 3); /* ISR set, interrupt masked by GIE */
        run_once(h, n, 1, 1); /* only ap_done enabled */
        run_once(h, n, 1, 0); /* nothing enabled */
    }
    /* done is latched without polling, and ap_start written 0 or with WSTRB[0] = 0 starts nothing */
    h.n_cycles = 5;
    uint32_t runs0 = h.runs;
    axi_write(h, FL_REG_CTRL, 0x0u, 0xfu, 0);
    axi_write(h, FL_REG_CTRL, 0x1u, 0xeu, 0);
    for (int i = 0; i < 20; i++)
        tick(h);
    CHECK_EQ(h, h.runs, runs0, "no run without an ap_start write");
    wr(h, FL_REG_CTRL, 1u);
    for (int i = 0; i < 30; i++)
        tick(h);
    CHECK_EQ(h, axi_read(h, FL_REG_CTRL), FL_CTRL_DONE | FL_CTRL_IDLE | FL_CTRL_READY,
             "done latched until read");
    CHECK_EQ(h, h.runs - runs0, 1, "one run");
    /* ISR toggle on write also sets a clear bit */
    wr(h, FL_REG_ISR, 1u);
    CHECK_EQ(h, axi_read(h, FL_REG_ISR), 1u, "ISR bit 0 toggled to 1 by a write");
    wr(h, FL_REG_GIE, 1u);
    CHECK_EQ(h, h.m->PORT_INTERRUPT, 1, "interrupt from a toggled ISR");
    wr(h, FL_REG_ISR, 1u);
    wr(h, FL_REG_GIE, 0u);
    CHECK_EQ(h, h.m->PORT_INTERRUPT, 0, "interrupt low again");
}

/* ---- ap_continue (bit 4 of the control word) ---- */
static void test_continue(harness &h)
{
    h.n_cycles = 3;
    CHECK_EQ(h, h.m->ap_continue, 0, "ap_continue pin at rest");
    uint32_t c0 = h.conts, runs0 = h.runs;
    for (int i = 0; i < 10; i++) {
        axi_write(h, FL_REG_CTRL, FL_CTRL_CONTINUE, 0xfu, (int)h.rng.below(3));
        for (int j = 0; j < (int)h.rng.below(4); j++)
            tick(h);
        CHECK_EQ(h, h.conts - c0, (uint32_t)i + 1, "one ap_continue pulse cycle per write");
    }
    CHECK_EQ(h, h.runs, runs0, "ap_continue alone starts nothing");
    CHECK_EQ(h, axi_read(h, FL_REG_CTRL), FL_CTRL_IDLE, "ap_continue reads 0");
    c0 = h.conts;
    axi_write(h, FL_REG_CTRL, FL_CTRL_CONTINUE, 0xeu, 0); /* byte 0 not written */
    axi_write(h, FL_REG_CTRL, 0x0u, 0xfu, 1);
    axi_write(h, FL_REG_CTRL, ~FL_CTRL_CONTINUE & ~FL_CTRL_START, 0xfu, 2);
    axi_write(h, FL_REG_GIE, FL_CTRL_CONTINUE, 0xfu, 0); /* another address */
    wr(h, FL_REG_GIE, 0);
    for (int i = 0; i < 4; i++)
        tick(h);
    CHECK_EQ(h, h.conts, c0, "no ap_continue without a 1 in bit 4 of a control write");
    /* start and continue in one write */
    axi_write(h, FL_REG_CTRL, FL_CTRL_START | FL_CTRL_CONTINUE, 0xfu, 0);
    for (int i = 0; i < 20; i++)
        tick(h);
    CHECK_EQ(h, h.conts - c0, 1, "ap_continue with ap_start");
    CHECK_EQ(h, h.runs - runs0, 1, "a run from ap_start with ap_continue");
    CHECK_EQ(h, axi_read(h, FL_REG_CTRL), FL_CTRL_DONE | FL_CTRL_IDLE | FL_CTRL_READY,
             "control after start + continue");
}

int main(int argc, char **argv)
{
    Verilated::commandArgs(argc, argv);
    harness h;
    h.m = new Vqmatmul_ctrl;
    Vqmatmul_ctrl *m = h.m;
    m->s_axi_control_AWVALID = 0;
    m->s_axi_control_WVALID = 0;
    m->s_axi_control_BREADY = 0;
    m->s_axi_control_ARVALID = 0;
    m->s_axi_control_RREADY = 0;
    m->status = 0;
    m->ap_rst_n = 0;
    for (int i = 0; i < 4; i++)
        tick(h);
    m->ap_rst_n = 1;
    tick(h);

    /* reset values */
    CHECK_EQ(h, axi_read(h, FL_REG_CTRL), FL_CTRL_IDLE, "control after reset");
    CHECK_EQ(h, axi_read(h, FL_REG_GIE), 0, "GIE after reset");
    CHECK_EQ(h, axi_read(h, FL_REG_IER), 0, "IER after reset");
    CHECK_EQ(h, axi_read(h, FL_REG_ISR), 0, "ISR after reset");
    CHECK_EQ(h, m->PORT_INTERRUPT, 0, "interrupt after reset");
    uint32_t zero[FL_KERNEL_REG_WORDS] = {0};
    check_readback(h, zero, "after reset");

    test_registers(h);
    test_handshake(h);
    test_continue(h);

    m->final();
    delete m;
    std::printf("axil (qmatmul_ctrl): %llu cycles, %u kernel runs\n",
                (unsigned long long)h.cycle, h.runs);
    return tb_finish(h.c);
}
