/* host/cli/cmd_perf.c: `flare perf`: decode throughput of a model shape on an FPGA card,
 * projected from cycles the RTL takes in the simulator (--device sim), next to the physical
 * ceiling (peak memory bandwidth / weight bytes per token).
 *
 * A full llama2-7b token is ~3.6 GB of Q4_0 weights: far too much to simulate. Decode is a
 * sequence of qmatmul passes (t = 1) whose cost is linear in the row count once the stream is
 * running, so for every matrix of one layer (and the output projection) the kernel runs at two
 * row counts R1 < R2 on the sim device with the card's memory preset, each as the steady period
 * of calls launched back to back (as a layer's matrices run: the kernel takes the next call
 * while one drains and streams its weights early), cycles = a + b x rows is fitted (a: the
 * per-call cost the overlap does not hide, b: cycles per weight row; the cold start of a
 * token's first call, a few hundred cycles, is left out), and a token is
 *   cycles = sum over matrices of (a + b x ceil(N / P))   (n_layer times each layer matrix)
 * with P kernel instances, one per memory port, each streaming 1/P of every matrix's rows from
 * its own port (HBM pseudo-channel / DDR4 bank). The model and its assumptions are printed with
 * the figures and written down in docs/architecture.md. Every simulated y is compared bit for
 * bit with the hls/ qmatmul on the same bytes. */
#include "host/cli/cli.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver/dev.h"
#include "flare/error.h"
#include "flare/fp16.h"
#include "flare/ggml.h"
#include "hls/hls.h"
#include "host/mkmodel.h"
#include "host/vocab_builtin.h"

/* ---- cards ---------------------------------------------------------------------------------- */

typedef struct {
    const char *name, *what;
    const char *uri;           /* the sim device with the card's memory preset */
    uint32_t ports;            /* memory ports = kernel instances */
    double bytes_per_cycle;    /* per port */
    double clock_mhz;          /* kernel clock */
} card;

static const card cards[] = {
    {"U280", "32 HBM2 pseudo-channels, 256-bit at 450 MHz", "sim:mem=hbm", 32, 32.0, 450.0},
    {"U250", "4 DDR4-2400 banks, 512-bit at 300 MHz", "sim:mem=ddr4", 4, 64.0, 300.0},
};
#define N_CARDS (sizeof cards / sizeof cards[0])

/* ---- options -------------------------------------------------------------------------------- */

#define MAX_SHAPES 8

typedef struct {
    const char *shapes[MAX_SHAPES];
    int n_shapes;
    uint32_t type;
    uint64_t rows[2];
    int card_mask; /* bit i: cards[i] */
    int json;
} perf_opts;

static void perf_usage(FILE *out)
{
    fprintf(out,
            "usage: flare perf [options]\n"
            "\n"
            "Decode tok/s of model shapes on a U280-class and a U250-class card, projected from\n"
            "the cycles the RTL qmatmul takes on the simulated device (sim), next to the ceiling\n"
            "(peak bandwidth / weight bytes per token).\n"
            "\n"
            "  --shape LIST     mkmodel presets, comma separated (default tinyllama,llama2-7b)\n"
            "  --type T         weight type q4_0, q5_0 or q8_0 (default q4_0)\n"
            "  --rows R1,R2     row counts of the two simulated runs per matrix (default 64,192)\n"
            "  --card C         u280, u250 or all (default all)\n"
            "  --json           one JSON object per shape and card\n"
            "\n"
            "Needs the simulator library (libflare_xrtsim.so: make; FLARE_XRTSIM_LIB overrides).\n");
}

static int parse(int argc, char **argv, perf_opts *o)
{
    static char shape_buf[256];
    memset(o, 0, sizeof *o);
    o->shapes[0] = "tinyllama", o->shapes[1] = "llama2-7b", o->n_shapes = 2;
    o->type = FL_TYPE_Q4_0;
    o->rows[0] = 64, o->rows[1] = 192;
    o->card_mask = (1 << N_CARDS) - 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            perf_usage(stdout);
            return 1;
        } else if (!strcmp(a, "--json")) {
            o->json = 1;
        } else if (!(v = cli_value(argc, argv, &i))) {
            return -1;
        } else if (!strcmp(a, "--shape")) {
            snprintf(shape_buf, sizeof shape_buf, "%s", v);
            o->n_shapes = 0;
            for (char *save = NULL, *t = strtok_r(shape_buf, ",", &save); t;
                 t = strtok_r(NULL, ",", &save)) {
                fl_mkmodel_opts mo;
                if (o->n_shapes == MAX_SHAPES)
                    return cli_fail("--shape: at most %d shapes", MAX_SHAPES), -1;
                if (fl_mkmodel_preset(&mo, t))
                    return cli_fail("--shape: %s", flare_last_error()), -1;
                o->shapes[o->n_shapes++] = t;
            }
            if (!o->n_shapes)
                return cli_fail("--shape: expected preset names like tinyllama,llama2-7b"), -1;
        } else if (!strcmp(a, "--type")) {
            if (!strcmp(v, "q4_0"))
                o->type = FL_TYPE_Q4_0;
            else if (!strcmp(v, "q5_0"))
                o->type = FL_TYPE_Q5_0;
            else if (!strcmp(v, "q8_0"))
                o->type = FL_TYPE_Q8_0;
            else
                return cli_fail("--type: expected q4_0, q5_0 or q8_0, got '%s'", v), -1;
        } else if (!strcmp(a, "--rows")) {
            char buf[64], *comma;
            snprintf(buf, sizeof buf, "%s", v);
            if (!(comma = strchr(buf, ',')))
                return cli_fail("--rows: expected R1,R2 (e.g. 64,192), got '%s'", v), -1;
            *comma = 0;
            if (cli_u64("--rows", buf, 1, 4096, &o->rows[0]) ||
                cli_u64("--rows", comma + 1, 2, 4096, &o->rows[1]))
                return -1;
            if (o->rows[1] <= o->rows[0])
                return cli_fail("--rows: R2 must exceed R1, got %s", v), -1;
        } else if (!strcmp(a, "--card")) {
            if (!strcmp(v, "u280"))
                o->card_mask = 1;
            else if (!strcmp(v, "u250"))
                o->card_mask = 2;
            else if (!strcmp(v, "all"))
                o->card_mask = 3;
            else
                return cli_fail("--card: expected u280, u250 or all, got '%s'", v), -1;
        } else {
            return cli_fail("perf: unknown option '%s' (try 'flare perf --help')", a), -1;
        }
    }
    return 0;
}

/* ---- the matrices of one layer -------------------------------------------------------------- */

typedef struct {
    const char *name;
    uint64_t n, k;  /* rows, columns */
    uint32_t count; /* per token: n_layer, or 1 for the output projection */
} mat;

typedef struct {
    const char *name;
    fl_mkmodel_opts mo;
    uint32_t vocab, head_dim;
    mat m[8];
    int n_mat;
    uint64_t weight_bytes; /* per token, every matrix once */
} shape;

static int shape_of(const char *name, uint32_t type, shape *s)
{
    memset(s, 0, sizeof *s);
    s->name = name;
    if (fl_mkmodel_preset(&s->mo, name))
        return -1;
    const fl_mkmodel_opts *o = &s->mo;
    s->vocab = o->preset_vocab ? o->preset_vocab : fl_vocab_builtin_size();
    s->head_dim = o->dim / o->n_heads;
    uint64_t d = o->dim, nq = (uint64_t)o->n_heads * s->head_dim,
             nk = (uint64_t)o->n_kv_heads * s->head_dim, ff = o->ffn;
    const mat ms[8] = {
        {"attn_q", nq, d, o->n_layers},   {"attn_k", nk, d, o->n_layers},
        {"attn_v", nk, d, o->n_layers},   {"attn_output", d, nq, o->n_layers},
        {"ffn_gate", ff, d, o->n_layers}, {"ffn_up", ff, d, o->n_layers},
        {"ffn_down", d, ff, o->n_layers}, {"output", s->vocab, d, 1},
    };
    memcpy(s->m, ms, sizeof ms);
    s->n_mat = 8;
    for (int i = 0; i < s->n_mat; i++)
        s->weight_bytes += s->m[i].count * s->m[i].n * fl_row_bytes(type, s->m[i].k);
    return 0;
}

/* ---- measurement ---------------------------------------------------------------------------- */

typedef struct {
    uint64_t k;
    double a, b;       /* cycles = a + b x rows, calls back to back (steady period) */
    double a1, b1;     /* the same for one call alone (cold: latency, tail, prologue) */
    uint64_t cycles[2], cycles1[2];
} fit;

/* Deterministic weight rows: random quants, a finite fp16 scale first in every block. */
static void fill_weights(uint8_t *w, uint32_t type, uint64_t rows, uint64_t k, uint64_t *rng)
{
    uint64_t bb = fl_row_bytes(type, 32), nb = rows * (k / 32);
    for (uint64_t i = 0; i < nb * bb; i++) {
        *rng = *rng * 6364136223846793005ull + 1442695040888963407ull;
        w[i] = (uint8_t)(*rng >> 56);
    }
    for (uint64_t b = 0; b < nb; b++) {
        uint16_t h = fl_fp32_to_fp16(0.001f + (float)(b % 17) * 0.0005f);
        memcpy(w + b * bb, &h, 2);
    }
}

/* Run y = W x at `rows` rows of K on the device once alone (*alone_cycles: cold, as a call the
   host waits for), then PERF_REPS times back to back, as a layer's matrices follow each other
   (*cycles: the steady period, the calls after the first over their count: they overlap their
   weight reads with the previous call's tail); y checked against hls/. */
#define PERF_REPS 4
static int run_one(fl_dev *dev, fl_hls_state *hst, uint32_t type, uint64_t k, uint64_t rows,
                   const fl_dev_buf *wb, const fl_dev_buf *xb, const fl_dev_buf *yb,
                   const uint8_t *w, const float *x, float *y, float *yref, uint64_t *cycles,
                   uint64_t *alone_cycles)
{
    fl_kernel_call c = {.kernel = FL_KERNEL_QMATMUL};
    c.u.qmm = (fl_qmatmul_args){.w = wb->addr, .x = xb->addr, .y = yb->addr, .wtype = type,
                                .n = (uint32_t)rows, .k = (uint32_t)k, .t = 1, .eps = 1e-5f};
    uint32_t reps = fl_dev_queue_depth(dev) < PERF_REPS ? fl_dev_queue_depth(dev) : PERF_REPS;
    if (reps < 2)
        return flare_error(FLARE_EUNSUP, "%s queues one launch: perf needs the sim device",
                           dev->uri);
    /* one call alone (its cycles: the cold start), then reps back to back: the calls after the
       first take (chain - alone) / (reps - 1) each */
    uint64_t alone = 0, chain = 0;
    int rc = 0;
    for (uint32_t pass = 0; pass < 2 && rc == 0; pass++) {
        fl_dev_stats s0, s1;
        fl_dev_get_stats(dev, &s0);
        for (uint32_t i = 0; i < (pass ? reps : 1u) && rc == 0; i++)
            rc = fl_dev_launch(dev, &c);
        int rd = fl_dev_drain(dev, 600000);
        rc = rc ? rc : rd;
        fl_dev_get_stats(dev, &s1);
        *(pass ? &chain : &alone) = s1.k[FL_KERNEL_QMATMUL].cycles - s0.k[FL_KERNEL_QMATMUL].cycles;
    }
    if (rc)
        return flare_error_prefix(FLARE_EDEVICE, "qmatmul %" PRIu64 " x %" PRIu64, rows, k);
    *cycles = chain > alone ? (chain - alone) / (reps - 1) : 0;
    *alone_cycles = alone;
    if (*cycles == 0)
        return flare_error(FLARE_EUNSUP, "%s reports no cycle counts (perf needs the sim "
                           "device)", dev->uri);
    if (fl_dev_read(dev, yb, 0, y, rows * 4u))
        return FLARE_EDEVICE;
    uint32_t kst = FL_KST_OK;
    fl_qmatmul(hst, w, NULL, x, NULL, NULL, yref, type, (uint32_t)rows, (uint32_t)k, 1, 0, 1e-5f,
               &kst);
    if (kst != FL_KST_OK || memcmp(y, yref, rows * 4u) != 0)
        return flare_error(FLARE_EDEVICE, "qmatmul %" PRIu64 " x %" PRIu64 " on %s differs from "
                           "the hls/ kernel (status %u)", rows, k, dev->uri, kst);
    return 0;
}

/* Fit cycles = a + b x rows for K on the device (two runs). */
static int measure(fl_dev *dev, fl_hls_state *hst, uint32_t type, uint64_t k,
                   const uint64_t rows[2], fit *f)
{
    uint64_t rb = fl_row_bytes(type, k), nmax = rows[1];
    uint8_t *w = malloc(nmax * rb);
    float *x = malloc(k * 4u), *y = malloc(nmax * 4u), *yref = malloc(nmax * 4u);
    fl_dev_buf wb = {0}, xb = {0}, yb = {0};
    int rc = w && x && y && yref ? 0 : flare_error(FLARE_ENOMEM, "perf: out of memory");
    if (rc == 0) {
        uint64_t rng = 42 + k;
        fill_weights(w, type, nmax, k, &rng);
        for (uint64_t i = 0; i < k; i++)
            x[i] = sinf((float)i * 0.37f) * 2.0f;
        /* w in bank 0 and x, y in bank 1: the weight port has its memory to itself */
        if ((rc = fl_dev_alloc(dev, nmax * rb, 0, &wb)) || (rc = fl_dev_alloc(dev, k * 4u, 1, &xb)) ||
            (rc = fl_dev_alloc(dev, nmax * 4u, 1, &yb)) ||
            (rc = fl_dev_write(dev, &wb, 0, w, nmax * rb)) ||
            (rc = fl_dev_write(dev, &xb, 0, x, k * 4u)))
            rc = flare_error_prefix(rc, "perf: device buffers");
    }
    for (int i = 0; i < 2 && rc == 0; i++)
        rc = run_one(dev, hst, type, k, rows[i], &wb, &xb, &yb, w, x, y, yref, &f->cycles[i],
                     &f->cycles1[i]);
    if (rc == 0) {
        f->k = k;
        f->b = ((double)f->cycles[1] - (double)f->cycles[0]) / (double)(rows[1] - rows[0]);
        f->a = (double)f->cycles[0] - f->b * (double)rows[0];
        f->b1 = ((double)f->cycles1[1] - (double)f->cycles1[0]) / (double)(rows[1] - rows[0]);
        f->a1 = (double)f->cycles1[0] - f->b1 * (double)rows[0];
    }
    fl_dev_free(dev, &wb);
    fl_dev_free(dev, &xb);
    fl_dev_free(dev, &yb);
    free(w);
    free(x);
    free(y);
    free(yref);
    return rc;
}

/* ---- report --------------------------------------------------------------------------------- */

static void assumptions(const perf_opts *o)
{
    printf("flare perf: decode (t = 1) projected from RTL cycles on the simulated device\n"
           "assumptions:\n"
           "  - P qmatmul instances, one per memory port (U280: 32 on its 32 HBM pseudo-channels;"
           "\n    U250: 4 on its 4 DDR4 banks); each streams 1/P of every matrix's rows from its"
           "\n    own port; x and y share the ports (a few KB per pass); matrices run one after"
           "\n    another (each needs the previous one's output)\n"
           "  - a matrix of N rows takes a + b x ceil(N / P) cycles; a, b fitted per K from two "
           "row\n    counts (%" PRIu64 " and %" PRIu64 ") of the RTL on the sim memory preset of "
           "the card (hbm: 32 B/cycle\n    per port, ddr4: 64), at the card's kernel clock, "
           "twice: one call alone (a alone:\n    latency, pipeline tail, x prologue) and the "
           "steady period of calls launched back\n    to back (a chained: the kernel streams the "
           "next call's weights while one drains,\n    ap_ctrl_chain)\n"
           "  - projected: chained. With P instances every instance reads the x that all wrote, "
           "so\n    chaining across matrices needs an on-card barrier between them (not built); "
           "what\n    the host can drive today is the one-call-at-a-time line (host latency "
           "between\n    matrices not counted)\n"
           "  - ffn_gate and ffn_up as two plain passes (the fused SwiGLU pass streams both on "
           "two\n    ports at once: the same bytes per port-cycle)\n"
           "  - attention (on the host today), the embedding lookup and the norms are excluded: "
           "the\n    projection is the weight stream alone, the part the ceiling bounds\n"
           "  - ceiling = peak bandwidth (ports x bytes per cycle x clock) / weight bytes per "
           "token\n\n",
           o->rows[0], o->rows[1]);
}

int cmd_perf(int argc, char **argv)
{
    perf_opts o;
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc < 0 ? 1 : 0;
    shape shapes[MAX_SHAPES];
    for (int i = 0; i < o.n_shapes; i++)
        if (shape_of(o.shapes[i], o.type, &shapes[i]))
            return cli_fail("--shape: %s", flare_last_error());
    for (int i = 0; i < o.n_shapes; i++)
        for (int j = 0; j < shapes[i].n_mat; j++)
            if (shapes[i].m[j].k > FL_MAX_K)
                return cli_fail("--shape %s: %s has K %" PRIu64 " above the device build's "
                                "FL_MAX_K %u", shapes[i].name, shapes[i].m[j].name,
                                shapes[i].m[j].k, FL_MAX_K);
    for (uint32_t ci = 0; ci < N_CARDS; ci++) { /* a missing library: one line, no table */
        fl_dev *probe;
        if (!(o.card_mask & (1 << ci)))
            continue;
        if (fl_dev_open(cards[ci].uri, &probe))
            return cli_fail("--device %s: %s", cards[ci].uri, flare_last_error());
        fl_dev_close(probe);
        break;
    }
    fl_hls_state *hst = NULL;
    if (fl_hls_state_open(&hst))
        return cli_fail("%s", flare_last_error());
    if (!o.json)
        assumptions(&o);
    int status = 0;
    for (uint32_t ci = 0; ci < N_CARDS && !status; ci++) {
        if (!(o.card_mask & (1 << ci)))
            continue;
        const card *cd = &cards[ci];
        fl_dev *dev;
        if (fl_dev_open(cd->uri, &dev)) {
            status = cli_fail("--device %s: %s", cd->uri, flare_last_error());
            break;
        }
        fl_dev_stats ds;
        fl_dev_get_stats(dev, &ds);
        fit fits[16];
        int n_fits = 0;
        for (int si = 0; si < o.n_shapes && !status; si++) {
            const shape *s = &shapes[si];
            double cyc = 0, cyc1 = 0; /* per token: chained, one call at a time */
            if (!o.json)
                printf("%s (%s) on %s (%s; simulated as %s, %.0f B/cycle per port):\n"
                       "| %-11s | %6s x %-6s | %10s | %10s | %10s | %13s | %12s | %8s |\n"
                       "| ----------- | --------------- | ---------- | ---------- | ---------- "
                       "| ------------- | ------------ | -------- |\n",
                       s->name, fl_type_name(o.type), cd->name, cd->what, cd->uri,
                       ds.mem.bytes_per_cycle, "matrix", "rows", "K", "a chained", "a alone",
                       "b cyc/row", "floor cyc/row", "cycles/token", "of floor");
            for (int mi = 0; mi < s->n_mat && !status; mi++) {
                const mat *m = &s->m[mi];
                const fit *f = NULL;
                for (int i = 0; i < n_fits && !f; i++)
                    if (fits[i].k == m->k)
                        f = &fits[i];
                if (!f) {
                    if (n_fits == 16 || measure(dev, hst, o.type, m->k, o.rows, &fits[n_fits])) {
                        status = cli_fail("perf on %s: %s", cd->uri, flare_last_error());
                        break;
                    }
                    f = &fits[n_fits++];
                }
                double rows_per = ceil((double)m->n / cd->ports);
                double c = m->count * (f->a + f->b * rows_per);
                double floor_b = (double)fl_row_bytes(o.type, m->k) / ds.mem.bytes_per_cycle;
                cyc += c;
                cyc1 += m->count * (f->a1 + f->b1 * rows_per);
                if (!o.json)
                    printf("| %-11s | %6" PRIu64 " x %-6" PRIu64 " | %10.0f | %10.0f | %10.2f "
                           "| %13.2f | %12.0f | %7.1f%% |\n",
                           m->name, m->n, m->k, f->a, f->a1, f->b, floor_b, c,
                           100 * floor_b / f->b);
            }
            if (status)
                break;
            double peak_gbs = cd->ports * cd->bytes_per_cycle * cd->clock_mhz * 1e6 / 1e9;
            double tok_s = cd->clock_mhz * 1e6 / cyc, tok1_s = cd->clock_mhz * 1e6 / cyc1;
            double ceil_tok_s = peak_gbs * 1e9 / (double)s->weight_bytes;
            if (o.json) {
                printf("{\"shape\":\"%s\",\"type\":\"%s\",\"card\":\"%s\",\"ports\":%u,"
                       "\"bytes_per_cycle_per_port\":%.0f,\"clock_mhz\":%.0f,\"peak_gbs\":%.1f,"
                       "\"weight_bytes_per_token\":%" PRIu64 ",\"cycles_per_token\":%.0f,"
                       "\"projected_tok_s\":%.3f,\"ceiling_tok_s\":%.3f,\"of_ceiling\":%.4f,"
                       "\"cycles_per_token_one_at_a_time\":%.0f,"
                       "\"projected_tok_s_one_at_a_time\":%.3f,"
                       "\"sim\":\"%s\",\"rows\":[%" PRIu64 ",%" PRIu64 "],\"fits\":[",
                       s->name, fl_type_name(o.type), cd->name, cd->ports, cd->bytes_per_cycle,
                       cd->clock_mhz, peak_gbs, s->weight_bytes, cyc, tok_s, ceil_tok_s,
                       tok_s / ceil_tok_s, cyc1, tok1_s, cd->uri, o.rows[0], o.rows[1]);
                int first = 1;
                for (int i = 0; i < n_fits; i++) {
                    int used = 0;
                    for (int mi = 0; mi < s->n_mat; mi++)
                        used |= s->m[mi].k == fits[i].k;
                    if (!used)
                        continue;
                    printf("%s{\"k\":%" PRIu64 ",\"a\":%.2f,\"b\":%.4f,\"cycles\":[%" PRIu64
                           ",%" PRIu64 "],\"a_alone\":%.2f,\"b_alone\":%.4f,"
                           "\"cycles_alone\":[%" PRIu64 ",%" PRIu64 "]}",
                           first ? "" : ",", fits[i].k, fits[i].a, fits[i].b, fits[i].cycles[0],
                           fits[i].cycles[1], fits[i].a1, fits[i].b1, fits[i].cycles1[0],
                           fits[i].cycles1[1]);
                    first = 0;
                }
                printf("]}\n");
            } else {
                printf("=> %s on %s: %.3f GB of weights per token, %.0f cycles per token at "
                       "%.0f MHz:\n   projected %.1f tok/s; ceiling %.1f tok/s (%.1f GB/s peak "
                       "/ weight bytes); %.1f%% of the ceiling\n"
                       "   one call at a time (the host waits for every instance between "
                       "matrices): %.0f cycles, %.1f tok/s, %.1f%%\n\n",
                       s->name, cd->name, (double)s->weight_bytes / 1e9, cyc, cd->clock_mhz,
                       tok_s, ceil_tok_s, peak_gbs, 100 * tok_s / ceil_tok_s, cyc1, tok1_s,
                       100 * tok1_s / ceil_tok_s);
            }
            fflush(stdout);
        }
        fl_dev_close(dev);
    }
    fl_hls_state_close(hst);
    return status;
}
