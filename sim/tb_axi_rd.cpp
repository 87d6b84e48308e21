/* sim/tb_axi_rd.cpp: Verilator testbench of hw/axi_rd_stream.v (the AXI4 read-master stream)
 * against the AXI4 memory model sim/axi_mem.{h,cpp}, built at the data width TB_DATA_W (the
 * model's DATA_W, with MAX_BURST TB_MAX_BURST, MAX_OUT TB_MAX_OUT, FIFO_LOG2 TB_FIFO_LOG2).
 *
 * Random byte ranges (half at any byte address, half beat-aligned, often near a 4 KB boundary;
 * lengths 0..24 KB) under random memory latencies (1..60 cycles), bandwidths (1/8 to 1 beat per
 * cycle), ready/valid stalls of the memory and consumer backpressure. Checked: the beats that
 * cover the range, from its start rounded down, equal the memory's bytes in order, out_last
 * exactly on the final beat, `done` once at the end, no protocol error from the memory model
 * (4 KB crossing, burst type/size, alignment, VALID stability), the number of outstanding
 * bursts never above MAX_OUT, and no timeout.
 * Last, a long range with no stalls at full bandwidth: cycles vs the memory floor.
 *
 * With -DTB_QUEUE the same for hw/axi_rd_queue.v (the weight streams of the qmatmul core):
 * sequences of 1..4 ranges, each `start` offered at random cycles and taken only with
 * start_ready (offers while not ready must be ignored), a consumer taking 0, 1 or 2 beats a
 * cycle at random (the second only when out_valid[1]); checked: the beats of all ranges in
 * order equal memory, out_last0 / out_last1 exactly on each range's final beat, busy low at
 * the end, the memory model's protocol checks, MAX_OUT; then the throughput of two long
 * ranges back to back (the second queued while the first streams). */
#include <cstdlib>
#include <vector>

#ifdef TB_QUEUE
#include "Vaxi_rd_queue.h"
typedef Vaxi_rd_queue model_t;
#else
#include "Vaxi_rd_stream.h"
typedef Vaxi_rd_stream model_t;
#endif
#include "axi_mem.h"
#include "tb_common.h"
#include "verilated.h"

#ifndef TB_DATA_W
#define TB_DATA_W 512
#endif
#ifndef TB_MAX_OUT
#define TB_MAX_OUT 4
#endif

static const unsigned BB = TB_DATA_W / 8;

struct run_result {
    bool ok;
    uint64_t cycles;
};

/* The read channel between the memory model and the master (both models have the same AXI
   pins): the port's answers onto the model's inputs, before eval ... */
static void port_to_model(model_t *m, axi_port &port, axi_pins &p)
{
    port.drive(p);
    m->m_axi_arready = p.arready;
    m->m_axi_rvalid = p.rvalid;
    axi_to_sig(m->m_axi_rdata, p.rdata, TB_DATA_W);
    m->m_axi_rlast = p.rlast;
    m->m_axi_rresp = p.rresp;
}

/* ... and the model's requests into the port after it; counts the bursts outstanding. */
static void model_to_port(model_t *m, axi_port &port, axi_pins &p, unsigned &outstanding,
                          unsigned &max_outstanding)
{
    p.arvalid = m->m_axi_arvalid;
    p.araddr = m->m_axi_araddr;
    p.arlen = m->m_axi_arlen;
    p.arsize = m->m_axi_arsize;
    p.arburst = m->m_axi_arburst;
    p.rready = m->m_axi_rready;
    port.sample(p);
    if (p.arvalid && p.arready)
        outstanding++;
    if (p.rvalid && p.rready && p.rlast)
        outstanding--;
    if (outstanding > max_outstanding)
        max_outstanding = outstanding;
}

/* The memory of random run i: a short (1..8) or, every fourth run, long (1..60) latency,
   1/8 to 1 beat a cycle, random stalls in every third run. */
static axi_port_cfg random_mem(tb_rng &r, uint64_t i)
{
    axi_port_cfg cfg;
    cfg.data_bits = TB_DATA_W;
    cfg.rd_latency = 1 + r.below(i % 4 == 0 ? 60 : 8);
    static const double frac[] = {1.0, 1.0, 0.5, 0.25, 0.125, 0.75};
    cfg.rd_bytes_per_cycle = BB * frac[r.below(6)];
    cfg.max_rd_bursts = 16;
    cfg.stall_pct = (i % 3 == 0) ? r.below(40) : 0;
    cfg.timeout_cycles = 2000000;
    cfg.seed = i + 1;
    return cfg;
}

#ifdef TB_QUEUE
struct range {
    uint64_t addr;
    uint32_t len;
};

/* A sequence of ranges through the queue; false on the first failure (printed). */
static run_result run_queue(model_t *m, axi_mem &mem, const axi_port_cfg &cfg,
                            const std::vector<range> &rs, unsigned take_pct, unsigned offer_pct,
                            tb_rng &r, tb_count &c)
{
    axi_port port(mem, cfg, "rd");
    axi_pins p;
    /* every beat expected, in order: (address, last of its range) */
    std::vector<std::pair<uint64_t, bool>> want;
    for (const range &g : rs) {
        uint64_t a0 = g.addr / BB * BB, nb = (g.addr - a0 + g.len + BB - 1) / BB;
        for (uint64_t i = 0; i < nb; i++)
            want.push_back({a0 + i * BB, i + 1 == nb});
    }
    size_t got = 0, next = 0;
    uint64_t cyc = 0;
    unsigned outstanding = 0, max_outstanding = 0;
    bool bad = false;
    auto fail = [&](const char *what) {
        if (tb_show(c))
            std::printf("FAIL %zu ranges (first addr 0x%llx len %u) lat %u bpc %.1f stall %u "
                        "take %u%%: %s (beat %zu, cycle %llu)\n",
                        rs.size(), (unsigned long long)rs[0].addr, rs[0].len, cfg.rd_latency,
                        cfg.rd_bytes_per_cycle, cfg.stall_pct, take_pct, what, got,
                        (unsigned long long)cyc);
        bad = true;
    };
    while (!bad) {
        m->clk = 0;
        port_to_model(m, port, p);
        /* the next range offered at random cycles: taken only with start_ready (a start
           taken while the previous range still requests would lose a range) */
        bool offer = next < rs.size() && r.below(100) < offer_pct;
        m->start = offer;
        m->addr = offer ? rs[next].addr : r.u32();
        m->len_bytes = offer ? rs[next].len : r.u32();
        m->out_take = 0;
        m->eval();
        unsigned v = m->out_valid;
        unsigned take = r.below(100) < take_pct ? 1 + r.below(2) : 0;
        if (take > 1 && !(v & 2u))
            take = 1;
        if (!(v & 1u))
            take = 0;
        m->out_take = take;
        m->eval();
        model_to_port(m, port, p, outstanding, max_outstanding);
        bool taken = offer && m->start_ready;
        for (unsigned k = 0; k < take && !bad; k++) {
            uint32_t w[16];
            bool last = k ? m->out_last1 : m->out_last0;
            if (k)
                axi_from_sig(w, m->out_data1, TB_DATA_W);
            else
                axi_from_sig(w, m->out_data0, TB_DATA_W);
            if (got >= want.size())
                fail("beat past the end");
            else if (std::memcmp(w, mem.at(want[got].first), BB))
                fail("beat data differs from memory");
            else if (last != want[got].second)
                fail("out_last wrong");
            got++;
        }
        m->clk = 1;
        m->eval();
        port.step();
        cyc++;
        if (taken)
            next++;
        if (!port.ok()) {
            fail(port.error.c_str());
            break;
        }
        if (next == rs.size() && got == want.size() && !m->busy && port.idle())
            break;
        if (cyc > cfg.timeout_cycles) {
            fail("timeout");
            break;
        }
    }
    if (!bad && max_outstanding > TB_MAX_OUT)
        fail("more outstanding bursts than MAX_OUT");
    tb_check(c, !bad);
    m->start = 0;
    m->out_take = 0;
    m->m_axi_rvalid = 0;
    m->m_axi_arready = 0;
    for (int i = 0; i < 3; i++)
        tb_tick(m);
    return run_result{!bad, cyc};
}
#else
/* One range through the master; returns false on the first failure (printed). */
static run_result run_range(model_t *m, axi_mem &mem, const axi_port_cfg &cfg,
                            uint64_t addr, uint32_t len, unsigned ready_pct, tb_rng &r,
                            tb_count &c)
{
    axi_port port(mem, cfg, "rd");
    axi_pins p;
    uint64_t a0 = addr / BB * BB; /* the beats start at addr rounded down */
    uint64_t n_beats = len ? (addr - a0 + len + BB - 1) / BB : 0, got = 0, dones = 0, cyc = 0;
    unsigned outstanding = 0, max_outstanding = 0;
    bool bad = false;
    auto fail = [&](const char *what) {
        if (tb_show(c))
            std::printf("FAIL addr 0x%llx len %u lat %u bpc %.1f stall %u ready %u%%: %s "
                        "(beat %llu, cycle %llu)\n",
                        (unsigned long long)addr, len, cfg.rd_latency, cfg.rd_bytes_per_cycle,
                        cfg.stall_pct, ready_pct, what, (unsigned long long)got,
                        (unsigned long long)cyc);
        bad = true;
    };
    bool started = false;
    while (!bad) {
        m->clk = 0;
        port_to_model(m, port, p);
        m->start = !started;
        m->addr = addr;
        m->len_bytes = len;
        bool ready = r.below(100) < ready_pct;
        m->out_ready = ready;
        m->eval();
        model_to_port(m, port, p, outstanding, max_outstanding);
        if (started && m->out_valid && ready) {
            uint32_t w[16];
            axi_from_sig(w, m->out_data, TB_DATA_W);
            if (got >= n_beats)
                fail("beat past the end");
            else if (std::memcmp(w, mem.at(a0 + got * BB), BB))
                fail("beat data differs from memory");
            else if ((bool)m->out_last != (got + 1 == n_beats))
                fail("out_last wrong");
            got++;
        }
        m->clk = 1;
        m->eval();
        port.step();
        cyc++;
        started = true;
        if (m->done)
            dones++;
        if (!port.ok()) {
            fail(port.error.c_str());
            break;
        }
        if (dones && got == n_beats && !m->busy && port.idle())
            break;
    }
    if (!bad && dones != 1)
        fail("done did not pulse exactly once");
    if (!bad && max_outstanding > TB_MAX_OUT)
        fail("more outstanding bursts than MAX_OUT");
    tb_check(c, !bad);
    /* a few idle cycles between ranges */
    for (int i = 0; i < 3; i++) {
        m->m_axi_rvalid = 0;
        m->m_axi_arready = 0;
        m->start = 0;
        tb_tick(m);
    }
    return run_result{!bad, cyc};
}

#endif

int main(int argc, char **argv)
{
    Verilated::commandArgs(argc, argv);
    model_t *m = new model_t;
    tb_count c;
    uint64_t n_runs = 1500;
    if (const char *e = std::getenv("TB_VECTORS"))
        n_runs = std::strtoull(e, nullptr, 10);

    tb_rng r(0xa11ce5u + TB_DATA_W);
    const uint64_t base = 0x100000000ull, size = 1u << 20;
    axi_mem mem(base, size);
    for (auto &b : mem.bytes)
        b = (uint8_t)r.u32();

#ifdef TB_QUEUE
    m->rst = 1;
    m->start = 0;
    m->out_take = 0;
    tb_tick(m);
    tb_tick(m);
    m->rst = 0;

    for (uint64_t i = 0; i < n_runs / 2; i++) {
        axi_port_cfg cfg = random_mem(r, i);
        std::vector<range> rs(1 + r.below(4));
        for (range &g : rs) {
            switch (r.below(4)) {
            case 0: g.len = 1 + r.below(4 * BB); break;
            case 1: g.len = 1 + r.below(3000); break;
            default: g.len = 1 + r.below(12288); break;
            }
            uint64_t off = (uint64_t)r.below((uint32_t)(size - 32768)) / BB * BB;
            if (r.below(3) == 0) /* just below a 4 KB boundary */
                off = (off | 4095) + 1 - BB * (1 + r.below(8));
            if (r.below(2)) /* any byte address */
                off += r.below(BB);
            g.addr = base + off;
        }
        unsigned take_pct = r.below(3) == 0 ? 100 : 20 + r.below(81);
        unsigned offer_pct = r.below(2) ? 100 : 5 + r.below(60);
        if (!run_queue(m, mem, cfg, rs, take_pct, offer_pct, r, c).ok && c.failed > 20)
            break;
    }

    /* throughput: two ranges of 448 KB back to back at full bandwidth, latency 40, the
       consumer taking two beats a cycle */
    {
        axi_port_cfg cfg;
        cfg.data_bits = TB_DATA_W;
        cfg.rd_latency = 40;
        cfg.rd_bytes_per_cycle = BB;
        cfg.max_rd_bursts = 16;
        cfg.timeout_cycles = 10000000;
        uint32_t len = (uint32_t)(size / 2 - 65536);
        std::vector<range> rs = {{base + 4096, len}, {base + 4096 + len, len}};
        run_result rr = run_queue(m, mem, cfg, rs, 100, 100, r, c);
        double floor_cycles = 2.0 * len / BB;
        std::printf("throughput: 2 x %u bytes in %llu cycles, memory floor %.0f (%.1f%% of "
                    "peak)\n",
                    len, (unsigned long long)rr.cycles, floor_cycles,
                    100.0 * floor_cycles / (double)rr.cycles);
    }
#else
    m->rst = 1;
    m->start = 0;
    tb_tick(m);
    tb_tick(m);
    m->rst = 0;

    for (uint64_t i = 0; i < n_runs; i++) {
        axi_port_cfg cfg = random_mem(r, i);
        uint32_t len;
        switch (r.below(4)) {
        case 0: len = r.below(4 * BB); break;
        case 1: len = r.below(3000); break;
        default: len = r.below(24576); break;
        }
        uint64_t off = (uint64_t)r.below((uint32_t)(size - 32768)) / BB * BB;
        if (r.below(3) == 0) /* just below a 4 KB boundary */
            off = (off | 4095) + 1 - BB * (1 + r.below(8));
        if (r.below(2)) /* any byte address */
            off += r.below(BB);
        unsigned ready_pct = r.below(3) == 0 ? 100 : 20 + r.below(81);
        if (!run_range(m, mem, cfg, base + off, len, ready_pct, r, c).ok && c.failed > 20)
            break;
    }

    /* throughput: 1 MB - 64 KB at full bandwidth, no stalls, latency 40 */
    {
        axi_port_cfg cfg;
        cfg.data_bits = TB_DATA_W;
        cfg.rd_latency = 40;
        cfg.rd_bytes_per_cycle = BB;
        cfg.max_rd_bursts = 16;
        cfg.timeout_cycles = 10000000;
        uint32_t len = (uint32_t)(size - 65536);
        run_result rr = run_range(m, mem, cfg, base + 4096, len, 100, r, c);
        double floor_cycles = (double)len / BB;
        std::printf("throughput: %u bytes in %llu cycles, memory floor %.0f (%.1f%% of peak)\n",
                    len, (unsigned long long)rr.cycles, floor_cycles,
                    100.0 * floor_cycles / (double)rr.cycles);
    }
#endif
    delete m;
    return tb_finish(c);
}
