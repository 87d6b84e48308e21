/* sim/axi_mem.h: a cycle-based AXI4 slave memory model for the Verilator testbenches.
 *
 * One byte-addressed memory (axi_mem) is shared by any number of AXI4 slave ports (axi_port),
 * one per master of the design under test. A port has a read side (AR/R) and a write side
 * (AW/W/B), single ID, in-order responses, INCR bursts of 1..256 beats of the full data width
 * (DATA_W 64..512 bits), a configurable first-beat latency in cycles, a bandwidth limit in bytes
 * per cycle (a credit bucket each for reads and writes), a bound on
 * accepted-but-unfinished bursts, and random AR/AW-ready and R-valid stalls if asked for.
 * Protocol violations (a burst crossing 4 KB, a non-INCR burst, a narrow size, an unaligned
 * address, an address outside the memory, a VALID dropped before READY, a payload that changes
 * while waiting) and a cycle timeout are recorded as errors: `ok()` turns false and `error`
 * says what and when. Counters per port: busy cycles (a transaction outstanding or in flight),
 * beats and bytes moved, bursts, per direction.
 *
 * Use per clock cycle, with the model's clock low and its inputs settled:
 *     port.drive(pins);      // slave outputs for this cycle -> pins
 *     model->eval();         // the master's outputs settle (they may depend on ours)
 *     port.sample(pins);     // master outputs -> handshakes of this cycle
 *     tick the model;        // rising edge
 *     port.step();           // the slave's state advances past the edge
 * `axi_pins` is a plain struct the testbench copies to and from the Verilator ports (helpers
 * below copy wide data). */
#ifndef FLARE_SIM_AXI_MEM_H
#define FLARE_SIM_AXI_MEM_H

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

/* ---- the memory: bytes at [base, base + size) ----
 * Flat (the testbenches): `bytes` holds every byte. Sparse (axi_mem::sparse, the XRT device with
 * a 1..128 GB address space): 64 KiB pages allocated on first write, in a two-level table of
 * 1 GiB regions, so memory costs only what was written; unwritten bytes read as zero. A beat
 * (aligned, at most 64 bytes) never spans two pages, so at() / peek() of a beat address give
 * the whole beat. read() / write() / zero() copy ranges of any length. */
struct axi_mem {
    static const unsigned PAGE_LOG2 = 16, REGION_LOG2 = 30;
    uint64_t base = 0;
    uint64_t size = 0;
    std::vector<uint8_t> bytes; /* flat mode only */
    axi_mem(uint64_t base_addr, size_t size_bytes)
        : base(base_addr), size(size_bytes), bytes(size_bytes, 0), paged_(false)
    {
    }
    static axi_mem sparse(uint64_t base_addr, uint64_t size_bytes)
    {
        return axi_mem(base_addr, size_bytes, true);
    }
    bool contains(uint64_t addr, uint64_t n) const
    {
        return addr >= base && n <= size && addr - base <= size - n;
    }
    /* writable pointer to addr (sparse: its page is allocated) */
    uint8_t *at(uint64_t addr)
    {
        return paged_ ? page_rw(addr - base) + ((addr - base) & PAGE_MASK) : &bytes[addr - base];
    }
    /* read-only pointer to addr (sparse: a zero page where nothing was written) */
    const uint8_t *peek(uint64_t addr) const
    {
        return paged_ ? page_ro(addr - base) + ((addr - base) & PAGE_MASK) : &bytes[addr - base];
    }
    /* ranges inside the memory (check contains() first) */
    void write(uint64_t addr, const void *src, uint64_t n);
    void read(uint64_t addr, void *dst, uint64_t n) const;
    void zero(uint64_t addr, uint64_t n); /* sparse: whole pages are released */
    uint64_t resident_bytes() const;      /* bytes allocated for the contents */

  private:
    static const uint64_t PAGE_MASK = (1ull << PAGE_LOG2) - 1;
    axi_mem(uint64_t base_addr, uint64_t size_bytes, bool)
        : base(base_addr), size(size_bytes), paged_(true),
          regions_((size_bytes + (1ull << REGION_LOG2) - 1) >> REGION_LOG2)
    {
    }
    typedef std::vector<std::unique_ptr<uint8_t[]>> region;
    uint8_t *page_rw(uint64_t off);
    const uint8_t *page_ro(uint64_t off) const
    {
        const region &r = regions_[off >> REGION_LOG2];
        if (r.empty())
            return zero_page_;
        const uint8_t *p = r[(off >> PAGE_LOG2) & ((1u << (REGION_LOG2 - PAGE_LOG2)) - 1)].get();
        return p ? p : zero_page_;
    }
    bool paged_;
    std::vector<region> regions_;
    static const uint8_t zero_page_[1u << PAGE_LOG2];
};

/* ---- one port's pins, as the testbench copies them (data as 32-bit words, LSW first) ---- */
struct axi_pins {
    /* master -> slave */
    bool arvalid = false, rready = false, awvalid = false, wvalid = false, wlast = false,
         bready = false;
    uint64_t araddr = 0, awaddr = 0, wstrb = 0;
    unsigned arlen = 0, arsize = 0, arburst = 1, awlen = 0, awsize = 0, awburst = 1;
    uint32_t wdata[16] = {};
    /* slave -> master */
    bool arready = false, rvalid = false, rlast = false, awready = false, wready = false,
         bvalid = false;
    unsigned rresp = 0, bresp = 0;
    uint32_t rdata[16] = {};
};

struct axi_port_cfg {
    unsigned data_bits = 512;     /* 64, 128, 256 or 512 */
    unsigned rd_latency = 20;     /* cycles from AR accepted to its first beat valid (>= 1) */
    unsigned wr_latency = 10;     /* cycles from the last W beat to B valid (>= 1) */
    double rd_bytes_per_cycle = 64; /* bandwidth limits (beats wait for the credit) */
    double wr_bytes_per_cycle = 64;
    unsigned max_rd_bursts = 8;   /* accepted, not finished; AR stalls beyond */
    unsigned max_wr_bursts = 8;
    unsigned stall_pct = 0;       /* % of cycles AR/AW ready, W ready and R valid are held low */
    uint64_t timeout_cycles = 10000000; /* the run ends with an error past this cycle */
    uint64_t seed = 1;
};

struct axi_port_stats {
    uint64_t cycles = 0;
    uint64_t busy_cycles = 0; /* a read or a write outstanding or in flight */
    uint64_t rd_busy_cycles = 0, rd_beats = 0, rd_bytes = 0, rd_bursts = 0;
    uint64_t wr_busy_cycles = 0, wr_beats = 0, wr_bytes = 0, wr_bursts = 0;
};

class axi_port {
  public:
    axi_port(axi_mem &mem, const axi_port_cfg &cfg, const char *name);
    void drive(axi_pins &p);
    void sample(const axi_pins &p);
    void step();
    bool ok() const { return error.empty(); }
    bool idle() const; /* nothing accepted and unfinished */
    axi_port_stats stats;
    std::string error; /* the first error, with its cycle */
    const axi_port_cfg cfg;

  private:
    struct burst {
        uint64_t addr;
        unsigned beats, done;
        uint64_t ready_at; /* cycle the first beat (R) or the response (B) may go */
    };
    struct wbeat {
        std::vector<uint8_t> data;
        uint64_t strb;
        bool last;
    };
    void fail(const std::string &what);
    bool rnd_stall();
    bool check_burst(const char *ch, uint64_t addr, unsigned len, unsigned size, unsigned type);
    axi_mem &mem_;
    std::string name_;
    unsigned beat_bytes_;
    uint64_t rng_;
    std::deque<burst> rd_q_, aw_q_, b_q_;
    std::deque<wbeat> w_data_; /* W beats not yet matched to an AW */
    double rd_credit_ = 0, wr_credit_ = 0;
    /* this cycle's outputs and the handshakes sampled */
    bool arready_ = false, rvalid_ = false, awready_ = false, wready_ = false, bvalid_ = false;
    bool r_fire_ = false, ar_fire_ = false, aw_fire_ = false, w_fire_ = false, b_fire_ = false;
    axi_pins last_; /* the previous cycle's master pins (for VALID stability) */
    bool ar_wait_ = false, aw_wait_ = false, w_wait_ = false; /* VALID high without READY */
    bool r_hold_ = false; /* RVALID presented, waiting for RREADY */
    bool ar_stall_ = false, r_stall_ = false, aw_stall_ = false, w_stall_ = false;
};

/* ---- copies between axi_pins data words and Verilator signals ---- */
/* Verilator gives signals of <= 64 bits as integers and wider ones as VlWide arrays. */
static inline void axi_to_sig(uint64_t &sig, const uint32_t *w, unsigned bits)
{
    sig = w[0] | (bits > 32 ? (uint64_t)w[1] << 32 : 0);
}
template <typename W> static inline void axi_to_sig(W &sig, const uint32_t *w, unsigned bits)
{
    for (unsigned i = 0; i < bits / 32; i++)
        sig[i] = w[i];
}
static inline void axi_from_sig(uint32_t *w, uint64_t sig, unsigned bits)
{
    w[0] = (uint32_t)sig;
    if (bits > 32)
        w[1] = (uint32_t)(sig >> 32);
}
template <typename W> static inline void axi_from_sig(uint32_t *w, const W &sig, unsigned bits)
{
    for (unsigned i = 0; i < bits / 32; i++)
        w[i] = sig[i];
}

#endif
