/* tests/host/test_run_sim.c: the simulated device (--device sim: the RTL of hw/ in Verilator
 * behind XRT's C API, libflare_xrtsim.so) as a user drives it from the CLI:
 *   - `flare run --device sim` gives the same token ids and bit-identical logits as --device csim
 *     (the RTL is bit-exact with the hls/ kernels; attention runs on the host with the same hls/
 *     code), compared on the --logits files and the --json ids of both runs;
 *   - `--check cpu` passes on it, and the summary says attention ran on the host;
 *   - `flare bench --device sim --json`: per-kernel keys present and consistent with the model
 *     (weight bytes read per token computed here from the GGUF tensors, launches per token from
 *     the layer count, utilization a fraction in (0, 1]);
 *   - `flare perf --json`: a projection no faster than the bandwidth ceiling allows.
 * Skipped with the reason printed where the library is not built (no verilator). Under
 * `make asan` the CLI and the tests are instrumented and the library is not; that works (the
 * library's memory is its own), so these run there too. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flare/error.h"
#include "flare/ggml.h"
#include "host/model.h"
#include "tests/common/testutil.h"

static void need_sim(void)
{
    char lib[1024];
    if (t_xrtsim_lib(lib, sizeof lib))
        cr_skip_test("%s is not built (make builds it where verilator is installed)", lib);
}

static void mkmodel(char *path, size_t cap, const char *preset, const char *type)
{
    snprintf(path, cap, "%s/runsim_%s_%s_%d.gguf", FLARE_TMPDIR, preset, type, (int)getpid());
    char args[1024], *out;
    snprintf(args, sizeof args, "mkmodel --preset %s --type %s --seed 5 -o %s", preset, type,
             path);
    cr_assert_eq(t_flare(args, &out), 0, "%s", out);
    free(out);
}

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f, "%s", path);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)len + 1);
    cr_assert(b && fread(b, 1, (size_t)len, f) == (size_t)len);
    b[len] = 0;
    fclose(f);
    *n = (size_t)len;
    return b;
}

/* ---- the --json reports, read with jansson ---- */

/* Member `key` of obj, which must be a number. */
static double num(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    cr_assert(json_is_number(v), "no number '%s'", key);
    return json_number_value(v);
}

/* The element of the array member `arr` of obj whose member `key` is the string `value`. */
static json_t *find(json_t *obj, const char *arr, const char *key, const char *value)
{
    json_t *a = json_object_get(obj, arr);
    cr_assert(json_is_array(a), "no array '%s'", arr);
    for (size_t i = 0; i < json_array_size(a); i++) {
        const char *s = json_string_value(json_object_get(json_array_get(a, i), key));
        if (s && !strcmp(s, value))
            return json_array_get(a, i);
    }
    cr_assert_fail("no element of '%s' with %s \"%s\"", arr, key, value);
    return NULL;
}

/* ---- run: sim against csim ---- */
static void run_to(const char *model, const char *device, const char *extra, const char *tag,
                   char *logits, size_t cap, char **json)
{
    snprintf(logits, cap, "%s/runsim_%s_%d.logits", FLARE_TMPDIR, tag, (int)getpid());
    char args[2048];
    snprintf(args, sizeof args,
             "run -m %s -p 'Once upon a time' --device %s -n 16 --seed 9 --ignore-eos --json "
             "--logits %s %s 2>/dev/null",
             model, device, logits, extra);
    int st = t_flare(args, json);
    cr_assert_eq(st, 0, "%s: exit %d: %s", device, st, *json);
}

static void sim_matches_csim(const char *preset, const char *type, const char *extra)
{
    need_sim();
    char m[512], lsim[512], lcsim[512], *jsim, *jcsim;
    mkmodel(m, sizeof m, preset, type);
    run_to(m, "sim", extra, "sim", lsim, sizeof lsim, &jsim);
    run_to(m, "csim", extra, "csim", lcsim, sizeof lcsim, &jcsim);
    /* the JSON object is the first line (t_flare merges stderr in after it) */
    json_t *vs, *vc;
    cr_assert(strchr(jsim, '\n') && strchr(jcsim, '\n'));
    *strchr(jsim, '\n') = 0;
    *strchr(jcsim, '\n') = 0;
    cr_assert_eq(t_json_lines(jsim, &vs, 1), 1);
    cr_assert_eq(t_json_lines(jcsim, &vc, 1), 1);
    int ids_sim[32], ids_csim[32];
    int ns = t_json_ints(vs, "generated_ids", ids_sim, 32);
    int nc = t_json_ints(vc, "generated_ids", ids_csim, 32);
    cr_assert(ns > 0 && ns == nc, "%d and %d generated ids", ns, nc);
    cr_expect_eq(memcmp(ids_sim, ids_csim, sizeof(int) * (size_t)ns), 0,
                 "%s %s: token ids differ", preset, type);
    json_decref(vs);
    json_decref(vc);
    size_t na, nb;
    char *a = slurp(lsim, &na), *b = slurp(lcsim, &nb);
    cr_assert_gt(na, 0);
    cr_assert_eq(na, nb, "logits files of %zu and %zu bytes", na, nb);
    size_t first = na;
    for (size_t i = 0; i < na && first == na; i++)
        if (a[i] != b[i])
            first = i;
    cr_expect_eq(first, na, "%s %s: logits differ first at float %zu of %zu", preset, type,
                 first / 4, na / 4);
    free(a);
    free(b);
    free(jsim);
    free(jcsim);
    unlink(lsim);
    unlink(lcsim);
    unlink(m);
}

Test(run_sim, tiny_q8_0_sim_matches_csim_bitwise, .timeout = 600)
{
    sim_matches_csim("tiny", "q8_0", "");
}

Test(run_sim, tiny_q5_0_sampled_sim_matches_csim_bitwise, .timeout = 600)
{
    sim_matches_csim("tiny", "q5_0", "--temp 0.9 -b 3"); /* prefill in passes of 3 tokens */
}

Test(run_sim, stories15M_q4_0_sim_matches_csim_bitwise, .timeout = 900)
{
    sim_matches_csim("stories15M", "q4_0", "--temp 0");
}

Test(run_sim, sim_check_cpu_passes, .timeout = 600)
{
    need_sim();
    char m[512], args[1024], *out;
    mkmodel(m, sizeof m, "tiny", "q4_0");
    snprintf(args, sizeof args,
             "run -m %s -p 'Once upon a time' --device sim --check cpu -n 16 --seed 2", m);
    int st = t_flare(args, &out);
    cr_assert_eq(st, 0, "exit %d: %s", st, out);
    cr_assert(strstr(out, "check: PASS"), "%s", out);
    cr_assert(strstr(out, "device sim, checked against cpu"), "%s", out);
    cr_assert(strstr(out, "attention: on the host (sim has no attention kernel), "), "%s", out);
    cr_assert(strstr(out, "qmatmul on sim: "), "%s", out);
    free(out);
    unlink(m);
}

/* A device failure in the middle of a layer's queued calls (the simulator's cycle timeout): exit
   1 with one message naming the layer, the matrix and the cause, no crash, nothing hanging. */
Test(run_sim, device_failure_names_layer_and_matrix, .timeout = 600)
{
    need_sim();
    char m[512], args[1024], *out;
    mkmodel(m, sizeof m, "tiny", "q8_0");
    snprintf(args, sizeof args, "run -m %s -p hi -n 4 --device sim:timeout=150", m);
    int st = t_flare(args, &out);
    cr_assert_eq(st, 1, "exit %d: %s", st, out);
    cr_assert(strstr(out, "layer 0 blk.0.attn_q") && strstr(out, "timeout after 150 cycles"),
              "%s", out);
    free(out);
    unlink(m);
}

/* ---- bench --json ---- */
/* Weight bytes a decode step streams: every layer matrix and the output projection, from the
 * tensors of the GGUF file; *beat_bytes the same with each weight stream of a decode launch
 * rounded up to whole AXI beats (what a port moves: every matrix starts a buffer, q|k|v one
 * stream at t = 1, gate and up one each on their two ports). */
static uint64_t ceil_to(uint64_t v, uint64_t a)
{
    return (v + a - 1) / a * a;
}

static uint64_t model_weight_bytes(const char *path, uint32_t *n_layer, uint64_t beat,
                                   uint64_t *beat_bytes)
{
    fl_model *m;
    cr_assert_eq(fl_model_open(&m, path), 0, "%s", flare_last_error());
    const fl_llama *L = &m->llama;
#define WB(w) ((w).row_bytes * (w).ne1)
    uint64_t b = WB(L->output);
    *beat_bytes = ceil_to(WB(L->output), beat);
    for (uint32_t l = 0; l < L->hp.n_layer; l++) {
        const fl_llama_layer *y = &L->layers[l];
        b += WB(y->wq) + WB(y->wk) + WB(y->wv) + WB(y->wo) + WB(y->w_gate) + WB(y->w_up) +
             WB(y->w_down);
        *beat_bytes += ceil_to(WB(y->wq) + WB(y->wk) + WB(y->wv), beat) + ceil_to(WB(y->wo), beat) +
                       ceil_to(WB(y->w_gate), beat) + ceil_to(WB(y->w_up), beat) +
                       ceil_to(WB(y->w_down), beat);
    }
#undef WB
    *n_layer = L->hp.n_layer;
    fl_model_free(m);
    return b;
}

Test(run_sim, bench_json_per_kernel, .timeout = 600)
{
    need_sim();
    char m[512], args[1024], *out;
    mkmodel(m, sizeof m, "tiny", "q8_0");
    snprintf(args, sizeof args, "bench -m %s --device sim --json -p 8 -n 4 -r 2 2>/dev/null", m);
    int st = t_flare(args, &out);
    cr_assert_eq(st, 0, "exit %d: %s", st, out);
    json_t *line[2];
    cr_assert_eq(t_json_lines(out, line, 2), 2, "pp8 and tg4");
    json_t *pp = line[0], *tg = line[1];
    cr_assert_str_eq(json_string_value(json_object_get(pp, "test")), "pp8");
    cr_assert_str_eq(json_string_value(json_object_get(tg, "test")), "tg4");
    uint64_t beat = (uint64_t)num(tg, "data_bits") / 8, wbeats;
    cr_assert(beat >= 8 && beat <= 128, "data_bits %.0f", num(tg, "data_bits"));
    uint32_t L;
    uint64_t wbytes = model_weight_bytes(m, &L, beat, &wbeats);
    /* tg: 8 tokens (4 x 2 reps), one pass each: per layer q|k|v, o, gate|up, down + output */
    json_t *q = find(tg, "kernels", "kernel", "qmatmul");
    cr_expect_str_eq(json_string_value(json_object_get(q, "where")), "device");
    cr_expect_eq(num(tg, "tokens"), 8);
    cr_expect_eq(num(q, "runs"), 8 * (4 * L + 1));
    cr_expect_gt(num(q, "cycles"), 0);
    double util = num(q, "port_utilization");
    cr_expect(util > 0 && util <= 1, "port_utilization %g", util);
    /* every weight byte once per token: w on gmem0, w_up on gmem1, in whole beats */
    double wread = num(find(q, "ports", "port", "gmem0"), "read_bytes") +
                   num(find(q, "ports", "port", "gmem1"), "read_bytes");
    cr_expect_eq((uint64_t)wread, 8 * wbeats, "weights read %.0f, expected 8 x %llu (%llu bytes "
                 "of weights in %llu-byte beats)", wread, (unsigned long long)wbeats,
                 (unsigned long long)wbytes, (unsigned long long)beat);
    cr_expect_leq(wbeats - wbytes, (4 * L + 1) * beat, "at most a beat per stream");
    cr_expect_eq(num(tg, "weight_bytes"), wbytes);
    json_t *ports = json_object_get(q, "ports");
    cr_expect_gt(json_array_size(ports), 2);
    for (size_t i = 0; i < json_array_size(ports); i++) {
        json_t *p = json_array_get(ports, i);
        double busy = num(p, "busy_fraction"), bw = num(p, "bandwidth_fraction");
        cr_expect(busy >= 0 && busy <= 1 && bw >= 0 && bw <= 1, "port %zu: %g %g", i, busy, bw);
    }
    cr_expect_eq(num(q, "bytes"), num(q, "read_bytes") + num(q, "write_bytes"));
    json_t *a = find(tg, "kernels", "kernel", "attention");
    cr_expect_str_eq(json_string_value(json_object_get(a, "where")), "host");
    cr_expect_eq(num(a, "runs"), 8 * L);
    cr_expect_gt(num(a, "bytes_moved"), 0);
    /* pp: one pass of 8 tokens per rep: q, k, v separately at t > 1 */
    cr_expect_eq(num(find(pp, "kernels", "kernel", "qmatmul"), "runs"), 2 * (6 * L + 1));
    json_decref(pp);
    json_decref(tg);
    free(out);

    snprintf(args, sizeof args, "bench -m %s --device sim -p 0 -n 2", m);
    st = t_flare(args, &out);
    cr_assert_eq(st, 0, "exit %d: %s", st, out);
    cr_expect(strstr(out, "qmatmul") && strstr(out, "gmem0") && strstr(out, "host"), "%s", out);
    free(out);
    unlink(m);
}

/* ---- perf --json ---- */
Test(run_sim, perf_projection_under_the_ceiling, .timeout = 600)
{
    need_sim();
    char *out;
    int st = t_flare("perf --shape stories15M --rows 32,96 --json 2>/dev/null", &out);
    cr_assert_eq(st, 0, "exit %d: %s", st, out);
    json_t *card[2];
    int cards = t_json_lines(out, card, 2);
    for (int c = 0; c < cards; c++) {
        json_t *p = card[c];
        double tok = num(p, "projected_tok_s"), ceil = num(p, "ceiling_tok_s");
        double peak = num(p, "peak_gbs"), wb = num(p, "weight_bytes_per_token");
        cr_expect_gt(tok, 0);
        cr_expect(tok <= ceil * 1.0001, "projected %g tok/s beats the ceiling %g", tok, ceil);
        cr_expect(fabs(ceil - peak * 1e9 / wb) < 1e-3 * ceil, "ceiling %g != peak %g / bytes %g",
                  ceil, peak, wb);
        /* calls back to back can only gain on calls the host waits for one by one */
        double tok1 = num(p, "projected_tok_s_one_at_a_time");
        cr_expect(tok1 > 0 && tok1 <= tok * 1.0001, "one at a time %g, chained %g", tok1, tok);
        json_decref(p);
    }
    cr_expect_eq(cards, 2, "U280 and U250");
    free(out);
    st = t_flare("perf --shape tiny --rows 16,48 --card u250 2>/dev/null", &out);
    cr_assert_eq(st, 0, "exit %d: %s", st, out);
    cr_expect(strstr(out, "assumptions") && strstr(out, "projected") && strstr(out, "ceiling"),
              "%s", out);
    free(out);
}
