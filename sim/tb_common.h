/* sim/tb_common.h: shared helpers of the Verilator testbenches (check counting, clocking, a
 * deterministic RNG, bit casts). Each testbench ends with the line "N passed, M failed" and exits
 * nonzero when M > 0; the first failures are printed with their inputs. */
#ifndef FLARE_SIM_TB_COMMON_H
#define FLARE_SIM_TB_COMMON_H

#include <cstdint>
#include <cstdio>
#include <cstring>

/* ---- check counting ---- */
struct tb_count {
    uint64_t passed = 0, failed = 0;
    unsigned shown = 0;
};

static inline bool tb_check(tb_count &c, bool ok)
{
    if (ok) {
        c.passed++;
        return true;
    }
    c.failed++;
    return false;
}

/* True while failure details should still be printed (the first 30). */
static inline bool tb_show(tb_count &c)
{
    return c.shown++ < 30;
}

static inline int tb_finish(const tb_count &c)
{
    std::printf("%llu passed, %llu failed\n", (unsigned long long)c.passed,
                (unsigned long long)c.failed);
    return c.failed == 0 ? 0 : 1;
}

/* ---- one clock cycle of a model with a `clk` input ---- */
template <typename M> static inline void tb_tick(M *m)
{
    m->clk = 0;
    m->eval();
    m->clk = 1;
    m->eval();
}

/* ---- deterministic RNG (xorshift64*) ---- */
struct tb_rng {
    uint64_t s;
    explicit tb_rng(uint64_t seed) : s(seed ? seed : 0x9e3779b97f4a7c15ull) {}
    uint64_t next()
    {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        return s * 0x2545f4914f6cdd1dull;
    }
    uint32_t u32() { return (uint32_t)(next() >> 32); }
    uint32_t below(uint32_t n) { return (uint32_t)((next() >> 32) % n); }
};

/* ---- a pipelined unit fed one input per cycle ----
 * Drives n inputs with in_valid high (apply(i, true) sets the data inputs of input i; idle
 * cycles call apply(0, false), which should set them to zero) through a unit `lat` register
 * stages deep (0: combinational, read after eval). Checks out_valid every cycle and calls
 * check(k) with the output of input k once it appears. */
template <typename M, typename Apply, typename Check>
static inline void tb_stream(M *m, tb_count &c, const char *unit, size_t n, size_t lat,
                             Apply apply, Check check)
{
    m->in_valid = 0;
    tb_tick(m);
    for (size_t cyc = 0; cyc < n + lat; cyc++) {
        m->in_valid = cyc < n;
        apply(cyc < n ? cyc : 0, cyc < n);
        if (lat > 0)
            tb_tick(m);
        else
            m->eval();
        /* after this edge (or eval), the output belongs to the input of cycle cyc + 1 - lat */
        size_t k = lat == 0 ? cyc : cyc + 1 - lat;
        bool want_valid = cyc + 1 >= lat && k < n;
        if (!tb_check(c, (m->out_valid != 0) == want_valid) && tb_show(c))
            std::printf("FAIL %s cycle %zu: out_valid %d\n", unit, cyc, (int)m->out_valid);
        if (want_valid)
            check(k);
    }
}

static inline float tb_f(uint32_t u)
{
    float f;
    std::memcpy(&f, &u, sizeof f);
    return f;
}
static inline uint32_t tb_u(float f)
{
    uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    return u;
}

#endif
