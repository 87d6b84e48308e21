/* sim/tb_axi_mem.cpp: self-test of the AXI4 memory model sim/axi_mem.{h,cpp} (plain C++, no
 * Verilator model): a scripted master drives the pins cycle by cycle.
 *
 * Reads: random INCR bursts at every data width; each beat's bytes against the memory, RLAST,
 * the first beat exactly rd_latency cycles after the AR handshake, beats no faster than the
 * bandwidth allows, the counters. Writes: random bursts with random byte strobes, W sometimes
 * ahead of AW, against a byte-wise shadow copy; B no earlier than wr_latency cycles after the
 * last W beat. Errors that must be reported: a burst crossing 4 KB, a FIXED burst, a narrow
 * size, an unaligned or out-of-range address, a dropped ARVALID, a missing or early WLAST, and
 * the cycle timeout. Last, the sparse (paged) memory against a shadow and through a port. */
#include <cstdlib>
#include <deque>
#include <vector>

#include "axi_mem.h"
#include "tb_common.h"

static const uint64_t BASE = 0x80000000ull;
static const size_t SIZE = 1u << 18;

/* one cycle: the slave drives, the master reacts (`master` sets the master's pins from the
 * slave's), the slave samples, the edge */
template <typename F> static void cycle(axi_port &port, axi_pins &p, F master)
{
    port.drive(p);
    master(p);
    port.sample(p);
    port.step();
}

static void test_reads(unsigned bits, tb_rng &r, tb_count &c)
{
    unsigned bb = bits / 8;
    axi_mem mem(BASE, SIZE);
    for (auto &b : mem.bytes)
        b = (uint8_t)r.u32();
    for (int run = 0; run < 60; run++) {
        axi_port_cfg cfg;
        cfg.data_bits = bits;
        cfg.rd_latency = 1 + r.below(30);
        unsigned slow = 1u << r.below(3); /* one beat per 1, 2 or 4 cycles */
        cfg.rd_bytes_per_cycle = (double)bb / slow;
        axi_port port(mem, cfg, "rd");
        axi_pins p;
        unsigned len = r.below(256);
        uint64_t beats_to_4k = 4096 / bb;
        uint64_t start_beat = r.below((uint32_t)(SIZE / bb));
        /* keep within a 4 KB page and the memory */
        uint64_t page_left = beats_to_4k - start_beat % beats_to_4k;
        if (len + 1 > page_left)
            len = (unsigned)page_left - 1;
        uint64_t addr = BASE + start_beat * bb;
        bool ar_done = false, ok = true;
        uint64_t ar_cycle = 0, last_beat_cycle = 0, got = 0;
        for (uint64_t cyc = 0; cyc < 5000 && got <= len; cyc++) {
            cycle(port, p, [&](axi_pins &q) {
                q.arvalid = !ar_done;
                q.araddr = addr;
                q.arlen = len;
                q.arsize = bits == 64 ? 3 : bits == 128 ? 4 : bits == 256 ? 5 : 6;
                q.arburst = 1;
                q.rready = true;
                if (q.arvalid && q.arready) {
                    ar_done = true;
                    ar_cycle = cyc;
                }
                if (q.rvalid) {
                    if (got == 0 && cyc != ar_cycle + cfg.rd_latency)
                        ok = false;
                    if (got > 0 && cyc - last_beat_cycle < slow)
                        ok = false;
                    if (std::memcmp(q.rdata, mem.at(addr + got * bb), bb) ||
                        q.rlast != (got == len))
                        ok = false;
                    last_beat_cycle = cyc;
                    got++;
                }
            });
        }
        ok = ok && port.ok() && got == len + 1u && port.stats.rd_beats == len + 1u &&
             port.stats.rd_bytes == (len + 1u) * bb && port.stats.rd_bursts == 1;
        if (!tb_check(c, ok) && tb_show(c))
            std::printf("FAIL read %u bits addr 0x%llx len %u lat %u slow %u: got %llu %s\n",
                        bits, (unsigned long long)addr, len, cfg.rd_latency, slow,
                        (unsigned long long)got, port.error.c_str());
    }
}

static void test_writes(unsigned bits, tb_rng &r, tb_count &c)
{
    unsigned bb = bits / 8;
    axi_mem mem(BASE, SIZE);
    std::vector<uint8_t> shadow(SIZE, 0);
    for (int run = 0; run < 60; run++) {
        axi_port_cfg cfg;
        cfg.data_bits = bits;
        cfg.wr_latency = 1 + r.below(20);
        cfg.stall_pct = r.below(2) ? 0 : r.below(40);
        cfg.seed = (uint64_t)run + 1;
        axi_port port(mem, cfg, "wr");
        axi_pins p;
        unsigned len = r.below(64);
        uint64_t start_beat = r.below((uint32_t)(SIZE / bb));
        uint64_t page_left = 4096 / bb - start_beat % (4096 / bb);
        if (len + 1 > page_left)
            len = (unsigned)page_left - 1;
        if (start_beat + len + 1 > SIZE / bb)
            len = (unsigned)(SIZE / bb - start_beat) - 1;
        uint64_t addr = BASE + start_beat * bb;
        unsigned aw_delay = r.below(3) == 0 ? r.below(20) : 0; /* W may run ahead of AW */
        std::vector<std::vector<uint8_t>> data(len + 1, std::vector<uint8_t>(bb));
        std::vector<uint64_t> strb(len + 1);
        for (unsigned i = 0; i <= len; i++) {
            for (auto &b : data[i])
                b = (uint8_t)r.u32();
            strb[i] = r.next() & (bb == 64 ? ~0ull : ((1ull << bb) - 1));
            for (unsigned j = 0; j < bb; j++)
                if ((strb[i] >> j) & 1)
                    shadow[start_beat * bb + i * bb + j] = data[i][j];
        }
        bool aw_done = false, ok = true, b_seen = false;
        unsigned sent = 0;
        uint64_t last_w_cycle = 0;
        for (uint64_t cyc = 0; cyc < 20000 && !b_seen; cyc++) {
            cycle(port, p, [&](axi_pins &q) {
                q.awvalid = !aw_done && cyc >= aw_delay;
                q.awaddr = addr;
                q.awlen = len;
                q.awsize = bits == 64 ? 3 : bits == 128 ? 4 : bits == 256 ? 5 : 6;
                q.awburst = 1;
                q.wvalid = sent <= len;
                if (q.wvalid) {
                    std::memcpy(q.wdata, data[sent].data(), bb);
                    q.wstrb = strb[sent];
                    q.wlast = sent == len;
                }
                q.bready = true;
                if (q.awvalid && q.awready)
                    aw_done = true;
                if (q.wvalid && q.wready) {
                    sent++;
                    last_w_cycle = cyc;
                }
                if (q.bvalid) {
                    if (sent <= len || cyc < last_w_cycle + cfg.wr_latency)
                        ok = false;
                    b_seen = true;
                }
            });
        }
        ok = ok && b_seen && port.ok() && port.idle() && port.stats.wr_beats == len + 1u &&
             std::memcmp(shadow.data(), mem.bytes.data(), SIZE) == 0;
        if (!tb_check(c, ok) && tb_show(c))
            std::printf("FAIL write %u bits addr 0x%llx len %u: b %d %s\n", bits,
                        (unsigned long long)addr, len, b_seen, port.error.c_str());
    }
}

/* A single AR (or AW + W) the model must reject, by the text of its error. */
static void expect_error(const char *what, uint64_t addr, unsigned len, unsigned size,
                         unsigned burst, bool write, bool bad_wlast, bool drop_valid,
                         tb_count &c)
{
    axi_mem mem(BASE, SIZE);
    axi_port_cfg cfg;
    cfg.data_bits = 512;
    cfg.max_rd_bursts = drop_valid ? 0 : 8; /* ARREADY never: dropping ARVALID is the error */
    cfg.timeout_cycles = 200;
    axi_port port(mem, cfg, "e");
    axi_pins p;
    unsigned sent = 0;
    for (uint64_t cyc = 0; cyc < 300 && port.ok(); cyc++) {
        cycle(port, p, [&](axi_pins &q) {
            bool first = cyc == 0;
            q.arvalid = !write && (first || (!drop_valid && cyc < 2 && !q.arready));
            q.araddr = addr;
            q.arlen = len;
            q.arsize = size;
            q.arburst = burst;
            q.rready = true;
            q.awvalid = write && first;
            q.awaddr = addr;
            q.awlen = len;
            q.awsize = size;
            q.awburst = burst;
            q.wvalid = write && sent <= len;
            q.wstrb = ~0ull;
            q.wlast = bad_wlast ? sent != len : sent == len;
            if (q.wvalid && q.wready)
                sent++;
            q.bready = true;
        });
    }
    bool ok = !port.ok() && port.error.find(what) != std::string::npos;
    if (!tb_check(c, ok) && tb_show(c))
        std::printf("FAIL expected error '%s', got '%s'\n", what, port.error.c_str());
}

/* The sparse memory (axi_mem::sparse): ranges across page and region boundaries against a
   shadow of the touched span, zero() releasing whole pages, unwritten bytes reading as zero,
   and a port reading and writing bursts in it (pages allocated on demand). */
static void test_sparse(tb_rng &r, tb_count &c)
{
    const uint64_t base = 0x400000000ull, size = 3ull << 30, page = 1u << axi_mem::PAGE_LOG2;
    axi_mem mem = axi_mem::sparse(base, size);
    bool ok = mem.resident_bytes() == 0 && mem.contains(base + size - 1, 1) &&
              !mem.contains(base + size - 1, 2) && !mem.contains(base - 1, 1) &&
              *mem.peek(base + 12345) == 0;
    /* a window straddling the 1 GiB region boundary */
    const uint64_t win = base + (1ull << 30) - 3 * page, win_len = 6 * page;
    std::vector<uint8_t> shadow(win_len, 0), buf(win_len);
    for (int i = 0; i < 200 && ok; i++) {
        uint64_t off = r.below((uint32_t)win_len), n = 1 + r.below((uint32_t)(win_len - off));
        if (r.below(4) == 0) {
            mem.zero(win + off, n);
            std::memset(&shadow[off], 0, n);
        } else {
            for (uint64_t j = 0; j < n; j++)
                buf[j] = (uint8_t)r.u32();
            mem.write(win + off, buf.data(), n);
            std::memcpy(&shadow[off], buf.data(), n);
        }
        mem.read(win, buf.data(), win_len);
        ok = std::memcmp(buf.data(), shadow.data(), win_len) == 0 &&
             mem.resident_bytes() <= win_len + page;
    }
    mem.zero(win - page, win_len + 2 * page);
    ok = ok && mem.resident_bytes() == 0;
    /* the last page of the memory through a port: a write burst, then a read burst */
    axi_port_cfg cfg;
    cfg.data_bits = 512;
    cfg.rd_latency = 3;
    cfg.wr_latency = 2;
    axi_port port(mem, cfg, "s");
    axi_pins p;
    const uint64_t a = base + size - 4096;
    unsigned sent = 0, got = 0;
    bool b_seen = false, ar_sent = false, data_ok = true;
    for (uint64_t cyc = 0; cyc < 400 && port.ok() && got < 64; cyc++) {
        cycle(port, p, [&](axi_pins &q) {
            q.awvalid = cyc == 0;
            q.awaddr = a;
            q.awlen = 63;
            q.awsize = 6;
            q.awburst = 1;
            q.wvalid = sent < 64;
            for (unsigned w = 0; w < 16; w++)
                q.wdata[w] = (uint32_t)(sent * 16 + w) * 2654435761u;
            q.wstrb = ~0ull;
            q.wlast = sent == 63;
            if (q.wvalid && q.wready)
                sent++;
            q.bready = true;
            if (q.bvalid)
                b_seen = true;
            q.arvalid = b_seen && !ar_sent;
            if (q.arvalid && q.arready)
                ar_sent = true;
            q.araddr = a;
            q.arlen = 63;
            q.arsize = 6;
            q.arburst = 1;
            q.rready = true;
            if (q.rvalid) {
                for (unsigned w = 0; w < 16; w++)
                    data_ok &= q.rdata[w] == (uint32_t)(got * 16 + w) * 2654435761u;
                got++;
            }
        });
    }
    ok = ok && port.ok() && got == 64 && data_ok && mem.resident_bytes() == page;
    if (!tb_check(c, ok) && tb_show(c))
        std::printf("FAIL sparse memory: got %u beats, data %d, resident %llu, %s\n", got,
                    data_ok, (unsigned long long)mem.resident_bytes(), port.error.c_str());
}

int main()
{
    tb_count c;
    tb_rng r(0xa7e3u);
    for (unsigned bits : {64u, 128u, 256u, 512u}) {
        test_reads(bits, r, c);
        test_writes(bits, r, c);
    }
    expect_error("4 KB", BASE + 4096 - 128, 3, 6, 1, false, false, false, c);
    expect_error("4 KB", BASE + 8192 - 64, 1, 6, 1, true, false, false, c);
    expect_error("INCR", BASE, 0, 6, 0, false, false, false, c);
    expect_error("full data width", BASE, 0, 5, 1, false, false, false, c);
    expect_error("aligned", BASE + 32, 0, 6, 1, false, false, false, c);
    expect_error("outside", BASE + SIZE, 0, 6, 1, false, false, false, c);
    expect_error("outside", BASE - 64, 0, 6, 1, true, false, false, c);
    expect_error("ARVALID dropped", BASE, 0, 6, 1, false, false, true, c);
    expect_error("WLAST before", BASE, 3, 6, 1, true, true, false, c);
    expect_error("WLAST missing", BASE, 0, 6, 1, true, true, false, c);
    expect_error("timeout", BASE, 0, 6, 1, false, false, false, c);
    test_sparse(r, c);
    return tb_finish(c);
}
