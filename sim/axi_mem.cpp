/* sim/axi_mem.cpp: the AXI4 slave memory model of sim/axi_mem.h (read AR/R, write AW/W/B). */
#include "axi_mem.h"

#include <cstdio>
#include <cstring>

/* ---- sparse memory ---- */
const uint8_t axi_mem::zero_page_[1u << axi_mem::PAGE_LOG2] = {};

uint8_t *axi_mem::page_rw(uint64_t off)
{
    region &r = regions_[off >> REGION_LOG2];
    if (r.empty())
        r.resize(1u << (REGION_LOG2 - PAGE_LOG2));
    std::unique_ptr<uint8_t[]> &p = r[(off >> PAGE_LOG2) & ((1u << (REGION_LOG2 - PAGE_LOG2)) - 1)];
    if (!p)
        p.reset(new uint8_t[1u << PAGE_LOG2]()); /* zeroed */
    return p.get();
}

void axi_mem::write(uint64_t addr, const void *src, uint64_t n)
{
    const uint8_t *s = static_cast<const uint8_t *>(src);
    if (!paged_) {
        std::memcpy(&bytes[addr - base], s, n);
        return;
    }
    while (n) {
        uint64_t off = addr - base, in_page = (1ull << PAGE_LOG2) - (off & PAGE_MASK);
        uint64_t m = n < in_page ? n : in_page;
        std::memcpy(at(addr), s, m);
        addr += m;
        s += m;
        n -= m;
    }
}

void axi_mem::read(uint64_t addr, void *dst, uint64_t n) const
{
    uint8_t *d = static_cast<uint8_t *>(dst);
    if (!paged_) {
        std::memcpy(d, &bytes[addr - base], n);
        return;
    }
    while (n) {
        uint64_t off = addr - base, in_page = (1ull << PAGE_LOG2) - (off & PAGE_MASK);
        uint64_t m = n < in_page ? n : in_page;
        std::memcpy(d, peek(addr), m);
        addr += m;
        d += m;
        n -= m;
    }
}

void axi_mem::zero(uint64_t addr, uint64_t n)
{
    if (!paged_) {
        std::memset(&bytes[addr - base], 0, n);
        return;
    }
    while (n) {
        uint64_t off = addr - base, in_page = (1ull << PAGE_LOG2) - (off & PAGE_MASK);
        uint64_t m = n < in_page ? n : in_page;
        region &r = regions_[off >> REGION_LOG2];
        if (!r.empty()) {
            std::unique_ptr<uint8_t[]> &p =
                r[(off >> PAGE_LOG2) & ((1u << (REGION_LOG2 - PAGE_LOG2)) - 1)];
            if (p && m == (1ull << PAGE_LOG2))
                p.reset();
            else if (p)
                std::memset(p.get() + (off & PAGE_MASK), 0, m);
        }
        addr += m;
        n -= m;
    }
}

uint64_t axi_mem::resident_bytes() const
{
    if (!paged_)
        return bytes.size();
    uint64_t total = 0;
    for (const region &r : regions_)
        for (const std::unique_ptr<uint8_t[]> &p : r)
            total += p ? (1ull << PAGE_LOG2) : 0;
    return total;
}

/* ---- setup ---- */
axi_port::axi_port(axi_mem &mem, const axi_port_cfg &c, const char *name)
    : cfg(c), mem_(mem), name_(name), beat_bytes_(c.data_bits / 8), rng_(c.seed * 2 + 1)
{
    if (c.data_bits < 64 || c.data_bits > 512 || (c.data_bits & (c.data_bits - 1)))
        fail("data_bits must be 64, 128, 256 or 512");
    if (c.rd_latency < 1 || c.wr_latency < 1)
        fail("latencies must be >= 1 cycle");
    rd_credit_ = wr_credit_ = beat_bytes_;
}

void axi_port::fail(const std::string &what)
{
    if (!error.empty())
        return;
    char buf[64];
    std::snprintf(buf, sizeof buf, " (port %s, cycle %llu)", name_.c_str(),
                  (unsigned long long)stats.cycles);
    error = what + buf;
}

bool axi_port::rnd_stall()
{
    if (cfg.stall_pct == 0)
        return false;
    rng_ ^= rng_ >> 12;
    rng_ ^= rng_ << 25;
    rng_ ^= rng_ >> 27;
    return ((rng_ * 0x2545f4914f6cdd1dull) >> 33) % 100 < cfg.stall_pct;
}

bool axi_port::idle() const
{
    return rd_q_.empty() && aw_q_.empty() && b_q_.empty() && w_data_.empty();
}

/* ---- slave outputs of this cycle ---- */
void axi_port::drive(axi_pins &p)
{
    arready_ = !ar_stall_ && rd_q_.size() < cfg.max_rd_bursts;
    if (!r_hold_)
        r_hold_ = !rd_q_.empty() && stats.cycles >= rd_q_.front().ready_at &&
                  rd_credit_ >= beat_bytes_ && !r_stall_;
    rvalid_ = r_hold_;
    awready_ = !aw_stall_ && aw_q_.size() + b_q_.size() < cfg.max_wr_bursts;
    wready_ = !w_stall_ && wr_credit_ >= beat_bytes_ && w_data_.size() < 256u * cfg.max_wr_bursts;
    bvalid_ = !b_q_.empty() && stats.cycles >= b_q_.front().ready_at;

    p.arready = arready_;
    p.rvalid = rvalid_;
    p.rresp = 0;
    p.rlast = false;
    std::memset(p.rdata, 0, sizeof p.rdata);
    if (rvalid_) {
        const burst &b = rd_q_.front();
        std::memcpy(p.rdata, mem_.peek(b.addr + (uint64_t)b.done * beat_bytes_), beat_bytes_);
        p.rlast = b.done + 1 == b.beats;
    }
    p.awready = awready_;
    p.wready = wready_;
    p.bvalid = bvalid_;
    p.bresp = 0;
}

/* ---- the master's outputs of this cycle ---- */
void axi_port::sample(const axi_pins &p)
{
    /* VALID must stay high, and the payload unchanged, until READY */
    if (ar_wait_ && (!p.arvalid || p.araddr != last_.araddr || p.arlen != last_.arlen))
        fail("ARVALID dropped or AR payload changed before ARREADY");
    if (aw_wait_ && (!p.awvalid || p.awaddr != last_.awaddr || p.awlen != last_.awlen))
        fail("AWVALID dropped or AW payload changed before AWREADY");
    if (w_wait_ && (!p.wvalid || std::memcmp(p.wdata, last_.wdata, beat_bytes_) ||
                    p.wstrb != last_.wstrb || p.wlast != last_.wlast))
        fail("WVALID dropped or W payload changed before WREADY");
    ar_fire_ = p.arvalid && arready_;
    r_fire_ = rvalid_ && p.rready;
    aw_fire_ = p.awvalid && awready_;
    w_fire_ = p.wvalid && wready_;
    b_fire_ = bvalid_ && p.bready;
    ar_wait_ = p.arvalid && !arready_;
    aw_wait_ = p.awvalid && !awready_;
    w_wait_ = p.wvalid && !wready_;
    last_ = p;
}

/* ---- state after the clock edge ---- */
bool axi_port::check_burst(const char *ch, uint64_t addr, unsigned len, unsigned size,
                           unsigned type)
{
    char buf[160];
    unsigned beats = len + 1;
    const char *why = nullptr;
    if (type != 1)
        why = "burst type is not INCR";
    else if (len > 255)
        why = "more than 256 beats";
    else if ((1u << size) != beat_bytes_)
        why = "size is not the full data width";
    else if (addr % beat_bytes_)
        why = "address not aligned to the beat";
    else if ((addr & 4095) + (uint64_t)beats * beat_bytes_ > 4096)
        why = "burst crosses a 4 KB boundary";
    else if (!mem_.contains(addr, (uint64_t)beats * beat_bytes_))
        why = "burst outside the memory";
    if (!why)
        return true;
    std::snprintf(buf, sizeof buf, "%s addr 0x%llx len %u size %u burst %u: %s", ch,
                  (unsigned long long)addr, len, size, type, why);
    fail(buf);
    return false;
}

void axi_port::step()
{
    const axi_pins &p = last_;
    uint64_t now = stats.cycles;
    bool rd_busy = !rd_q_.empty() || p.arvalid;
    bool wr_busy = !aw_q_.empty() || !b_q_.empty() || !w_data_.empty() || p.awvalid || p.wvalid;

    /* read side */
    if (r_fire_) {
        burst &b = rd_q_.front();
        b.done++;
        r_hold_ = false;
        rd_credit_ -= beat_bytes_;
        stats.rd_beats++;
        stats.rd_bytes += beat_bytes_;
        if (b.done == b.beats)
            rd_q_.pop_front();
    }
    if (ar_fire_ && check_burst("AR", p.araddr, p.arlen, p.arsize, p.arburst)) {
        rd_q_.push_back(burst{p.araddr, p.arlen + 1, 0, now + cfg.rd_latency});
        stats.rd_bursts++;
    }

    /* write side: W beats may come before their AW; they are applied in order */
    if (aw_fire_ && check_burst("AW", p.awaddr, p.awlen, p.awsize, p.awburst)) {
        aw_q_.push_back(burst{p.awaddr, p.awlen + 1, 0, 0});
        stats.wr_bursts++;
    }
    if (w_fire_) {
        wbeat w{std::vector<uint8_t>(beat_bytes_), p.wstrb, p.wlast};
        std::memcpy(w.data.data(), p.wdata, beat_bytes_);
        w_data_.push_back(w);
        wr_credit_ -= beat_bytes_;
        stats.wr_beats++;
    }
    while (!aw_q_.empty() && !w_data_.empty()) {
        burst &b = aw_q_.front();
        const wbeat &w = w_data_.front();
        uint8_t *dst = mem_.at(b.addr + (uint64_t)b.done * beat_bytes_);
        for (unsigned i = 0; i < beat_bytes_; i++)
            if ((w.strb >> i) & 1) {
                dst[i] = w.data[i];
                stats.wr_bytes++;
            }
        b.done++;
        if (w.last != (b.done == b.beats))
            fail(b.done == b.beats ? "WLAST missing on the last beat of a burst"
                                   : "WLAST before the last beat of a burst");
        w_data_.pop_front();
        if (b.done == b.beats) {
            b_q_.push_back(burst{b.addr, b.beats, b.beats, now + cfg.wr_latency});
            aw_q_.pop_front();
        }
    }
    if (b_fire_)
        b_q_.pop_front();

    /* counters, bandwidth credit, stalls of the next cycle, timeout */
    stats.rd_busy_cycles += rd_busy;
    stats.wr_busy_cycles += wr_busy;
    stats.busy_cycles += rd_busy || wr_busy;
    rd_credit_ += cfg.rd_bytes_per_cycle;
    if (rd_credit_ > beat_bytes_)
        rd_credit_ = beat_bytes_;
    wr_credit_ += cfg.wr_bytes_per_cycle;
    if (wr_credit_ > beat_bytes_)
        wr_credit_ = beat_bytes_;
    ar_stall_ = rnd_stall();
    r_stall_ = rnd_stall();
    aw_stall_ = rnd_stall();
    w_stall_ = rnd_stall();
    stats.cycles++;
    if (stats.cycles > cfg.timeout_cycles)
        fail("timeout");
}
