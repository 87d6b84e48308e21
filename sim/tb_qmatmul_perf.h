/* sim/tb_qmatmul_perf.h: the decode performance tables of sim/tb_qmatmul.cpp (t = 1): each
 * shape and weight type as one call alone on the ddr4 and hbm memory presets (start-to-done
 * cycles against the bandwidth floor), then as dependent calls back to back (the done-to-done
 * period against the floor). Included by tb_qmatmul.cpp
 * after its test machinery (tb_t, place, one, run_case); not a standalone header. */
#ifndef FLARE_SIM_TB_QMATMUL_PERF_H
#define FLARE_SIM_TB_QMATMUL_PERF_H

/* ---- the decode performance tables (t = 1) ---- */
static const uint32_t PERF_SHAPES[6][2] = {{256, 256},   {2048, 2048}, {5632, 2048},
                                           {2048, 5632}, {32000, 288}, {768, 288}};
static const struct {
    const char *name;
    double bpc;
    unsigned lat;
} PRESETS[2] = {{"ddr4", 64, 80}, {"hbm", 32, 60}};

static axi_port_cfg perf_cfg(unsigned p)
{
    axi_port_cfg cfg;
    cfg.data_bits = TB_DATA_W;
    cfg.rd_latency = PRESETS[p].lat;
    cfg.rd_bytes_per_cycle = PRESETS[p].bpc < BB ? PRESETS[p].bpc : BB;
    cfg.wr_bytes_per_cycle = cfg.rd_bytes_per_cycle;
    cfg.timeout_cycles = 50000000;
    return cfg;
}

/* simulated cycles and wall time of the performance tables (the model's speed) */
static uint64_t g_perf_cycles = 0;
static double g_perf_s = 0;

/* one call alone: cycles from start to done, the fused flags too */
static void perf_single(tb_t &s)
{
    static const uint32_t flagset[4] = {0, FL_QMM_NORM, FL_QMM_RESID,
                                        FL_QMM_NORM | FL_QMM_SWIGLU};
    const char *only = std::getenv("TB_PERF_FLAGS"); /* e.g. "0" to run flags 0 only */
    std::printf("one call alone (start to done)\n");
    std::printf("preset type      n     k flags   cycles    floor  ratio\n");
    for (unsigned p = 0; p < 2; p++)
        for (auto &sh : PERF_SHAPES)
            for (uint32_t ty : TYPES)
                for (uint32_t fl : flagset) {
                    if (only && (uint32_t)std::atoi(only) != fl)
                        continue;
                    if (gate(1, fl)) {
                        s.skipped[gate(1, fl)]++;
                        continue;
                    }
                    axi_port_cfg cfg = perf_cfg(p);
                    call_t c = place(s, ty, sh[0], sh[1], 1, fl);
                    c.w = W_BASE;
                    c.w_up = WU_BASE;
                    uint64_t wbytes = (uint64_t)sh[0] * (sh[1] / 32) * block_bytes(ty);
                    unsigned ports = (fl & FL_QMM_SWIGLU) ? 2 : 1;
                    auto t0 = std::chrono::steady_clock::now();
                    uint64_t cyc = one(s, c, cfg, false, true);
                    g_perf_s += std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                                              t0).count();
                    g_perf_cycles += cyc;
                    double floor = (double)wbytes / cfg.rd_bytes_per_cycle; /* per port */
                    std::printf("%-6s Q%u_0 %6u %5u %5u %8llu %8.0f  %.3f%s\n", PRESETS[p].name,
                                ty == 2 ? 4 : ty == 6 ? 5 : 8, sh[0], sh[1], fl,
                                (unsigned long long)cyc, floor, (double)cyc / floor,
                                ports == 2 ? " (2 weight ports)" : "");
                    std::fflush(stdout);
                }
}

/* back to back: PERF_CALLS dependent calls (x of call i+1 = y of call i; one weight matrix),
 * handed over as soon as the kernel takes them and continued at once; the period is the
 * done-to-done cycles over calls - 1 */
static void perf_chain(tb_t &s)
{
    std::printf("back to back: %u dependent calls, flags 0 (period = done-to-done / %u)\n",
                PERF_CALLS, PERF_CALLS - 1);
    std::printf("preset type      n     k   period    floor  ratio\n");
    double worst = 0;
    for (unsigned p = 0; p < 2; p++)
        for (auto &sh : PERF_SHAPES)
            for (uint32_t ty : TYPES) {
                axi_port_cfg cfg = perf_cfg(p);
                uint32_t n = sh[0], k = sh[1];
                uint64_t wbytes = (uint64_t)n * (k / 32) * block_bytes(ty);
                uint64_t ystride = ((uint64_t)4 * (n > k ? n : k) + 8 * GUARD + 255) / 256 * 256;
                std::vector<call_t> calls;
                for (unsigned i = 0; i < PERF_CALLS; i++) {
                    call_t c = place(s, ty, n, k, 1, 0);
                    c.w = W_BASE;
                    c.y = Y_BASE + 4 * GUARD + i * ystride;
                    if (i > 0)
                        c.x = calls.back().y;
                    calls.push_back(c);
                }
                fill_call(s, calls[0], false, true);
                host_cfg h;
                h.eager = true;
                auto t0 = std::chrono::steady_clock::now();
                chain_out o = run_case(s, calls, cfg, h);
                g_perf_s +=
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
                g_perf_cycles += o.cycles;
                double floor = (double)wbytes / cfg.rd_bytes_per_cycle;
                double period = o.ok ? (double)(o.done_cyc.back() - o.done_cyc.front()) /
                                           (PERF_CALLS - 1)
                                     : 0;
                if (n >= 256 && k >= 256 && period / floor > worst)
                    worst = period / floor;
                std::printf("%-6s Q%u_0 %6u %5u %8.0f %8.0f  %.3f\n", PRESETS[p].name,
                            ty == 2 ? 4 : ty == 6 ? 5 : 8, n, k, period, floor, period / floor);
                std::fflush(stdout);
            }
    std::printf("back to back: worst period / floor %.3f (target <= 1.11)\n", worst);
}

#endif
