/* tests/driver/test_dev_queue.c: launches queued back to back (driver/dev.h): a dependent chain
 * of qmatmul calls (x of call i + 1 = y of call i, residuals from earlier outputs, RMSNorm,
 * SwiGLU, every weight type, a call the kernel refuses in the middle) launched up to the
 * device's queue depth before waiting, on csim, on the simulated card (sim: ap_ctrl_chain, the
 * kernel overlaps calls) and on the card path over the simulator's XRT API (one at a time,
 * status from the status register). Every y must be bit-identical with the hls/ kernel run
 * call by call on the host; statuses come back in launch order. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../hls/hls_testlib.h"
#include "driver/dev.h"
#include "flare/error.h"
#include "flare/ggml.h"
#include "hls/hls.h"
#include "tests/common/testutil.h"

#define D 256u     /* activation width: every call is (D, D) or SwiGLU (D, D) */
#define N_ACT 10u  /* activation slots in one buffer */
#define N_CALLS 9u

typedef struct {
    uint32_t type, flags;
    uint32_t x, y, r; /* activation slots */
    uint32_t bad;     /* the kernel refuses it (k not a multiple of 32) */
} call_desc;

/* x0 -> a1 -> a2 ... with residuals from earlier slots; call 4 is refused (its y slot 9 is
   never read); calls 5.. continue from slot 4. */
static const call_desc CHAIN[N_CALLS] = {
    {FL_TYPE_Q4_0, 0, 0, 1, 0, 0},
    {FL_TYPE_Q4_0, FL_QMM_RESID, 1, 2, 0, 0},
    {FL_TYPE_Q5_0, FL_QMM_NORM, 2, 3, 0, 0},
    {FL_TYPE_Q8_0, FL_QMM_NORM | FL_QMM_SWIGLU, 3, 4, 0, 0},
    {FL_TYPE_Q4_0, 0, 4, 9, 0, 1},
    {FL_TYPE_Q4_0, FL_QMM_RESID, 4, 5, 3, 0},
    {FL_TYPE_Q8_0, 0, 5, 6, 0, 0},
    {FL_TYPE_Q5_0, FL_QMM_NORM | FL_QMM_RESID, 6, 7, 5, 0},
    {FL_TYPE_Q4_0, FL_QMM_SWIGLU, 7, 8, 0, 0},
};

static uint64_t mat_bytes(uint32_t type)
{
    return (uint64_t)D * fl_row_bytes(type, D);
}

/* Run the chain on `uri`; returns the device's total kernel cycles (0 where unknown). */
static uint64_t run_chain(const char *uri)
{
    fl_dev *d = t_open_dev(uri);
    int rc;
    tl_rng rng = {77};
    /* weights: w and w_up per call, each in its own buffer */
    uint8_t *w[N_CALLS], *wu[N_CALLS];
    fl_dev_buf bw[N_CALLS], bwu[N_CALLS];
    for (uint32_t i = 0; i < N_CALLS; i++) {
        w[i] = tl_random_matrix(&rng, CHAIN[i].type, D, D);
        wu[i] = tl_random_matrix(&rng, CHAIN[i].type, D, D);
        cr_assert_eq(fl_dev_alloc(d, mat_bytes(CHAIN[i].type), 0, &bw[i]), 0);
        cr_assert_eq(fl_dev_alloc(d, mat_bytes(CHAIN[i].type), 0, &bwu[i]), 0);
        cr_assert_eq(fl_dev_write(d, &bw[i], 0, w[i], mat_bytes(CHAIN[i].type)), 0);
        cr_assert_eq(fl_dev_write(d, &bwu[i], 0, wu[i], mat_bytes(CHAIN[i].type)), 0);
    }
    float nw[D];
    tl_fill(&rng, nw, D, 0.5f, 1.5f);
    float *act = calloc((size_t)N_ACT * D, 4), *ref = calloc((size_t)N_ACT * D, 4);
    tl_fill(&rng, act, D, -1, 1);
    memcpy(ref, act, (size_t)D * 4);
    fl_dev_buf ba, bn;
    cr_assert_eq(fl_dev_alloc(d, (uint64_t)N_ACT * D * 4, 0, &ba), 0);
    cr_assert_eq(fl_dev_alloc(d, sizeof nw, 0, &bn), 0);
    cr_assert_eq(fl_dev_write(d, &ba, 0, act, (uint64_t)N_ACT * D * 4), 0);
    cr_assert_eq(fl_dev_write(d, &bn, 0, nw, sizeof nw), 0);

    /* the reference: the hls/ kernel, call by call */
    fl_hls_state *st;
    cr_assert_eq(fl_hls_state_open(&st), 0);
    uint32_t want[N_CALLS];
    for (uint32_t i = 0; i < N_CALLS; i++) {
        const call_desc *c = &CHAIN[i];
        fl_qmatmul(st, w[i], c->flags & FL_QMM_SWIGLU ? wu[i] : NULL, ref + (size_t)c->x * D,
                   c->flags & FL_QMM_NORM ? nw : NULL,
                   c->flags & FL_QMM_RESID ? ref + (size_t)c->r * D : NULL,
                   ref + (size_t)c->y * D, c->type, D, c->bad ? 33 : D, 1, c->flags, 1e-5f,
                   &want[i]);
        cr_assert_eq(want[i] != FL_KST_OK, c->bad != 0, "call %u reference status %u", i,
                     want[i]);
    }

    /* the device: launched back to back, waited for oldest first when the queue is full */
    uint32_t depth = fl_dev_queue_depth(d), next_wait = 0;
    for (uint32_t i = 0; i <= N_CALLS; i++) {
        if (i == N_CALLS || d->pending == depth) {
            while (next_wait < N_CALLS && (i == N_CALLS || d->pending == depth)) {
                uint32_t ks = 99;
                rc = fl_dev_wait(d, 600000, &ks);
                cr_assert_eq(ks, want[next_wait], "%s: call %u status %u, expected %u", uri,
                             next_wait, ks, want[next_wait]);
                cr_assert_eq(rc, want[next_wait] ? FLARE_EDEVICE : 0, "%s: call %u: %s", uri,
                             next_wait, fl_dev_last_error(d));
                next_wait++;
            }
            if (i == N_CALLS)
                break;
        }
        const call_desc *c = &CHAIN[i];
        fl_kernel_call k = {.kernel = FL_KERNEL_QMATMUL};
        k.u.qmm = (fl_qmatmul_args){
            .w = bw[i].addr, .w_up = c->flags & FL_QMM_SWIGLU ? bwu[i].addr : 0,
            .x = ba.addr + (uint64_t)c->x * D * 4, .norm_w = c->flags & FL_QMM_NORM ? bn.addr : 0,
            .r = c->flags & FL_QMM_RESID ? ba.addr + (uint64_t)c->r * D * 4 : 0,
            .y = ba.addr + (uint64_t)c->y * D * 4, .wtype = c->type, .n = D,
            .k = c->bad ? 33 : D, .t = 1, .flags = c->flags, .eps = 1e-5f};
        cr_assert_eq(fl_dev_launch(d, &k), 0, "%s: call %u: %s", uri, i, fl_dev_last_error(d));
    }
    cr_assert_eq(d->pending, 0);
    cr_assert_eq(fl_dev_read(d, &ba, 0, act, (uint64_t)N_ACT * D * 4), 0, "%s",
                 fl_dev_last_error(d));
    for (uint32_t s = 0; s + 1 < N_ACT; s++) /* slot 9: the refused call's y, never written */
        for (uint32_t j = 0; j < D; j++) {
            uint32_t a, b;
            memcpy(&a, &act[(size_t)s * D + j], 4);
            memcpy(&b, &ref[(size_t)s * D + j], 4);
            cr_assert_eq(a, b, "%s: slot %u word %u: 0x%08x, hls/ gives 0x%08x", uri, s, j, a,
                         b);
        }
    for (uint32_t j = 0; j < D; j++)
        cr_assert_eq(act[(size_t)9 * D + j], 0.0f, "%s: the refused call wrote y", uri);
    fl_dev_stats sts;
    fl_dev_get_stats(d, &sts);
    cr_assert_eq(sts.runs[FL_KERNEL_QMATMUL], N_CALLS);
    cr_assert_eq(sts.errors, 1);
    fl_hls_state_close(st);
    fl_dev_close(d);
    for (uint32_t i = 0; i < N_CALLS; i++) {
        free(w[i]);
        free(wu[i]);
    }
    free(act);
    free(ref);
    return sts.cycles;
}

Test(dev_queue, csim_chain_in_order)
{
    fl_dev *d;
    cr_assert_eq(fl_dev_open("csim", &d), 0);
    cr_assert_eq(fl_dev_queue_depth(d), FL_DEV_QUEUE);
    fl_dev_close(d);
    run_chain("csim");
}

/* The simulated card takes FL_DEV_QUEUE launches; its cycles are counted per call and add up. */
Test(dev_queue, sim_chain_overlapped_bit_exact, .timeout = 300)
{
    uint64_t cycles = run_chain("sim");
    cr_assert_gt(cycles, 0);
}

/* The card path (exclusive compute unit, status register read after each wait, one launch at a
   time) over the simulator's implementation of XRT's C API. */
Test(dev_queue, xrt_path_status_register, .timeout = 300)
{
    char xclbin[512], uri[600];
    if (t_xrt_over_sim("devqueue", uri, sizeof uri, xclbin, sizeof xclbin))
        cr_skip_test("libflare_xrtsim.so is not built (make builds it where verilator is "
                     "installed)");
    fl_dev *d;
    cr_assert_eq(fl_dev_open(uri, &d), 0, "%s", flare_last_error());
    cr_assert_eq(fl_dev_queue_depth(d), 1, "a card queues one launch (status register)");
    fl_dev_close(d);
    cr_assert_eq(run_chain(uri), 0, "a card reports no cycles");
    unlink(xclbin);
}

/* A call that fails on the device (the simulator's cycle timeout) in the middle of a queue: the
   calls before it complete, it and every call behind it in the kernel fail naming the cause,
   nothing crashes, and the device works again afterwards (the kernel is reset). */
Test(dev_queue, sim_failure_in_the_middle, .timeout = 300)
{
    fl_dev *d = t_open_dev("sim:timeout=2000");
    const uint32_t k = 256, n_small = 64, n_big = 1024; /* the big one: 4352 cycles at least */
    tl_rng rng = {5};
    uint8_t *w = tl_random_matrix(&rng, FL_TYPE_Q8_0, n_big, k);
    float x[256], y[64], want[64];
    tl_fill(&rng, x, k, -1, 1);
    fl_dev_buf bw, bx, by;
    uint64_t wbytes = (uint64_t)n_big * fl_row_bytes(FL_TYPE_Q8_0, k);
    cr_assert_eq(fl_dev_alloc(d, wbytes, 0, &bw), 0);
    cr_assert_eq(fl_dev_alloc(d, sizeof x, 0, &bx), 0);
    cr_assert_eq(fl_dev_alloc(d, (uint64_t)n_big * 4, 0, &by), 0);
    cr_assert_eq(fl_dev_write(d, &bw, 0, w, wbytes), 0);
    cr_assert_eq(fl_dev_write(d, &bx, 0, x, sizeof x), 0);
    fl_kernel_call c = {.kernel = FL_KERNEL_QMATMUL};
    c.u.qmm = (fl_qmatmul_args){.w = bw.addr, .x = bx.addr, .y = by.addr,
                                .wtype = FL_TYPE_Q8_0, .n = n_small, .k = k, .t = 1};
    fl_kernel_call big = c;
    big.u.qmm.n = n_big;
    cr_assert_eq(fl_dev_launch(d, &c), 0, "%s", fl_dev_last_error(d));
    cr_assert_eq(fl_dev_launch(d, &big), 0, "%s", fl_dev_last_error(d));
    cr_assert_eq(fl_dev_launch(d, &c), 0, "%s", fl_dev_last_error(d));
    uint32_t ks = 99;
    cr_assert_eq(fl_dev_wait(d, 600000, &ks), 0, "the call before: %s", fl_dev_last_error(d));
    cr_assert_eq(ks, FL_KST_OK);
    cr_assert_eq(fl_dev_wait(d, 600000, &ks), FLARE_EDEVICE);
    cr_assert(strstr(fl_dev_last_error(d), "timeout after 2000 cycles"), "%s",
              fl_dev_last_error(d));
    cr_assert_eq(fl_dev_wait(d, 600000, &ks), FLARE_EDEVICE, "the call behind it fails too");
    cr_assert_eq(d->pending, 0);
    /* the device works again: the small call, checked against the hls/ kernel */
    cr_assert_eq(fl_dev_run(d, &c, 600000, &ks), 0, "%s", fl_dev_last_error(d));
    cr_assert_eq(fl_dev_read(d, &by, 0, y, sizeof y), 0);
    fl_hls_state *st;
    cr_assert_eq(fl_hls_state_open(&st), 0);
    fl_qmatmul(st, w, NULL, x, NULL, NULL, want, FL_TYPE_Q8_0, n_small, k, 1, 0, 0.0f, &ks);
    cr_assert(memcmp(y, want, sizeof y) == 0, "y after the reset differs from hls/");
    fl_hls_state_close(st);
    fl_dev_close(d);
    free(w);
}

/* What the queue is for, in simulated cycles (deterministic, not wall time): 256 x 256 Q4_0 decode
   calls handed over back to back keep the weight port busy (issue 5's rule: after the first
   call, <= 1.11 x weight_bytes / 64 B per cycle on ddr4), which one call at a time cannot. */
Test(dev_queue, sim_back_to_back_meets_the_port_rule, .timeout = 300)
{
    fl_dev *d = t_open_dev("sim:mem=ddr4");
    int rc;
    tl_rng rng = {9};
    uint8_t *w = tl_random_matrix(&rng, FL_TYPE_Q4_0, D, D);
    float x[D];
    tl_fill(&rng, x, D, -1, 1);
    uint64_t wbytes = mat_bytes(FL_TYPE_Q4_0);
    fl_dev_buf bw, ba;
    cr_assert_eq(fl_dev_alloc(d, wbytes, 0, &bw), 0);
    cr_assert_eq(fl_dev_alloc(d, (uint64_t)N_ACT * D * 4, 0, &ba), 0);
    cr_assert_eq(fl_dev_write(d, &bw, 0, w, wbytes), 0);
    cr_assert_eq(fl_dev_write(d, &ba, 0, x, sizeof x), 0);
    fl_kernel_call c = {.kernel = FL_KERNEL_QMATMUL};
    c.u.qmm = (fl_qmatmul_args){.w = bw.addr, .wtype = FL_TYPE_Q4_0, .n = D, .k = D, .t = 1};
    const double floor_cycles = (double)wbytes / 64.0; /* 576 */
    uint64_t per_mode[2];
    for (int queued = 0; queued < 2; queued++) {
        fl_dev_stats s0, s1;
        fl_dev_get_stats(d, &s0);
        for (uint32_t i = 0; i < 4; i++) { /* a dependent chain: x of call i+1 = y of call i */
            c.u.qmm.x = ba.addr + (uint64_t)i * D * 4;
            c.u.qmm.y = ba.addr + (uint64_t)(i + 1) * D * 4;
            uint32_t ks;
            if (queued)
                rc = fl_dev_launch(d, &c);
            else
                rc = fl_dev_run(d, &c, 600000, &ks);
            cr_assert_eq(rc, 0, "%s", fl_dev_last_error(d));
        }
        cr_assert_eq(fl_dev_drain(d, 600000), 0, "%s", fl_dev_last_error(d));
        fl_dev_get_stats(d, &s1);
        per_mode[queued] = s1.cycles - s0.cycles;
    }
    /* the first call of each sequence pays the cold start; compare the three after it */
    double alone = (double)per_mode[0] / 4.0;
    double chained_after_first = ((double)per_mode[1] - alone) / 3.0;
    cr_assert(alone > 1.11 * floor_cycles, "one call alone: %.0f cycles (floor %.0f): the "
              "latency cannot be hidden in one call", alone, floor_cycles);
    cr_assert(chained_after_first <= 1.11 * floor_cycles,
              "back to back: %.1f cycles a call, floor %.0f: the weight port idles",
              chained_after_first, floor_cycles);
    fl_dev_close(d);
    free(w);
}
