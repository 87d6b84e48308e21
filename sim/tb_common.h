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
