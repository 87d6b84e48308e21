/* tests/host/test_run_cli.c: `flare run` and `flare bench` as a user runs them (popen on
 * FLARE_BIN): JSON output fields, the greedy tokens and --logits file against llama.cpp's run,
 * tokenized prompts, seeded sampling, and one clear error line (exit 1) per kind of bad input. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "flare/error.h"
#include "flare/ggml.h"
#include "host/gguf.h"
#include "tests/common/testutil.h"

#define PEER FLARE_TESTDATA "/llamacpp/stories15M-Q8_0"

/* The integers of the JSON array member `key` of the object s (parsed by jansson). Returns the
 * count. */
static int json_ids(const char *s, const char *key, int *ids, int max)
{
    char why[128];
    json_t *o = t_json(s, why, sizeof why);
    cr_assert(o, "not JSON (%s): %s", why, s);
    int n = t_json_ints(o, key, ids, max);
    json_decref(o);
    cr_assert_geq(n, 0, "no array of integers '%s' in %s", key, s);
    return n;
}

/* Member `key` of obj, of JSON type `type`; fails the test when missing or of another type. */
static json_t *member(json_t *obj, const char *key, json_type type)
{
    json_t *v = json_object_get(obj, key);
    cr_assert(v, "no member '%s'", key);
    cr_assert_eq(json_typeof(v), type, "member '%s' has JSON type %d", key, (int)json_typeof(v));
    return v;
}

static void peer_greedy(int *ids)
{
    FILE *f = fopen(PEER ".greedy.txt", "r");
    cr_assert(f);
    char line[4096];
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "generated_ids:", 14)) {
            char *p = line + 14;
            for (int i = 0; i < 16; i++)
                ids[i] = (int)strtol(p, &p, 10);
        }
    fclose(f);
}

/* ---- output --------------------------------------------------------------------------------- */

Test(run_cli, json_greedy_and_logits_vs_llamacpp, .timeout = 60)
{
    char cmd[1024], logits[512], *out;
    snprintf(logits, sizeof logits, "%s/run-logits-%d.f32", FLARE_TMPDIR, (int)getpid());
    snprintf(cmd, sizeof cmd,
             "%s run -m %s.gguf --prompt-ids '1 9038 2501 263 931' -n 16 --temp 0 --ignore-eos "
             "-t 2 --json --logits %s 2>/dev/null",
             FLARE_BIN, PEER, logits);
    cr_assert_eq(t_run(cmd, &out), 0, "%s", out);
    /* one JSON object on one line, with the fields */
    cr_expect_eq(strchr(out, '\n'), strrchr(out, '\n'), "one line: %s", out);
    char why[128];
    json_t *o = t_json(out, why, sizeof why);
    cr_assert(o, "not JSON (%s): %s", why, out);
    json_t *tm = member(o, "timings", JSON_OBJECT);
    member(tm, "prompt_tok_s", JSON_REAL);
    member(tm, "decode_tok_s", JSON_REAL);
    member(tm, "load_ms", JSON_REAL);
    cr_expect_str_eq(json_string_value(member(o, "stop", JSON_STRING)), "length");
    const char *text = json_string_value(member(o, "text", JSON_STRING));
    cr_expect_eq(strncmp(text, " galax galax", 12), 0, "text: %s", text);
    json_decref(o);
    int prompt[8], gen[32], want[16];
    cr_expect_eq(json_ids(out, "prompt_ids", prompt, 8), 5);
    cr_expect_eq(json_ids(out, "generated_ids", gen, 32), 16);
    peer_greedy(want);
    for (int i = 0; i < 16; i++)
        cr_expect_eq(gen[i], want[i], "step %d", i);
    free(out);

    /* --logits: n_vocab float32 per step, 16 steps, each row close to llama.cpp's */
    struct stat st;
    cr_assert_eq(stat(logits, &st), 0);
    cr_expect_eq(st.st_size, 32000 * 4 * 16);
    float *a = malloc(32000 * 4 * 16), *b = malloc(32000 * 4 * 16);
    FILE *f = fopen(logits, "rb"), *g = fopen(PEER ".logits.f32", "rb");
    cr_assert(f && g);
    cr_assert_eq(fread(a, 4, 32000 * 16, f), 32000 * 16);
    cr_assert_eq(fread(b, 4, 32000 * 16, g), 32000 * 16);
    fclose(f), fclose(g);
    for (int s = 0; s < 16; s++) {
        double num = 0, den = 0;
        for (int i = 0; i < 32000; i++) {
            double d = a[s * 32000 + i] - b[s * 32000 + i];
            num += d * d, den += (double)b[s * 32000 + i] * b[s * 32000 + i];
        }
        cr_expect_lt(num / den, 1e-4, "step %d NMSE %.3g", s, num / den);
    }
    free(a), free(b);
    unlink(logits);
}

Test(run_cli, tokenized_prompt_and_text_stream)
{
    char cmd[1024], *out;
    snprintf(cmd, sizeof cmd,
             "%s run -m %s.gguf -p 'Once upon a time' -n 4 --temp 0 -t 1 --json 2>/dev/null",
             FLARE_BIN, PEER);
    cr_assert_eq(t_run(cmd, &out), 0, "%s", out);
    int ids[8];
    cr_assert_eq(json_ids(out, "prompt_ids", ids, 8), 5, "%s", out);
    const int want[5] = {1, 9038, 2501, 263, 931}; /* llama.cpp's ids, BOS first */
    for (int i = 0; i < 5; i++)
        cr_expect_eq(ids[i], want[i]);
    free(out);
    /* plain mode: the prompt, then the text, on stdout; timings on stderr */
    snprintf(cmd, sizeof cmd, "%s run -m %s.gguf -p 'Once upon a time' -n 3 --temp 0 2>&1",
             FLARE_BIN, PEER);
    cr_assert_eq(t_run(cmd, &out), 0, "%s", out);
    cr_expect(strstr(out, "Once upon a time galax galax galax\n"), "%s", out);
    cr_expect(strstr(out, "tok/s"), "%s", out);
    free(out);
}

Test(run_cli, seeded_sampling_reproducible)
{
    char cmd[1024], *a, *b, *c;
    const char *fmt = "%s run -m %s.gguf -p 'Once upon a time' -n 12 --temp 1.5 --top-k 100 "
                      "--top-p 0.99 --min-p 0.01 --repeat-penalty 1.1 --seed %d --json "
                      "2>/dev/null";
    snprintf(cmd, sizeof cmd, fmt, FLARE_BIN, PEER, 11);
    cr_assert_eq(t_run(cmd, &a), 0);
    cr_assert_eq(t_run(cmd, &b), 0);
    snprintf(cmd, sizeof cmd, fmt, FLARE_BIN, PEER, 12);
    cr_assert_eq(t_run(cmd, &c), 0);
    int ia[16], ib[16], ic[16];
    cr_assert_eq(json_ids(a, "generated_ids", ia, 16), 12);
    cr_assert_eq(json_ids(b, "generated_ids", ib, 16), 12);
    cr_assert_eq(json_ids(c, "generated_ids", ic, 16), 12);
    cr_expect_eq(memcmp(ia, ib, sizeof(int) * 12), 0, "same seed, same tokens");
    cr_expect_neq(memcmp(ia, ic, sizeof(int) * 12), 0, "another seed, other tokens");
    free(a), free(b), free(c);
}

/* ---- bad input ------------------------------------------------------------------------------ */

/* Runs args (stderr merged); expects exit 1, one line, containing needle. */
static void expect_fail(const char *args, const char *needle)
{
    char cmd[2048], *out;
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", FLARE_BIN, args);
    int rc = t_run(cmd, &out);
    cr_expect_eq(rc, 1, "exit %d for %s: %s", rc, args, out);
    cr_expect(strstr(out, needle), "'%s': output '%s' lacks '%s'", args, out, needle);
    char *nl = strchr(out, '\n');
    cr_expect(nl && nl[1] == 0, "one line expected: '%s'", out);
    free(out);
}

static void write_gpt2_arch(const char *path)
{
    gguf_writer *w = gguf_writer_new();
    cr_assert_eq(gguf_writer_set_str(w, "general.architecture", "gpt2"), 0);
    float z[64] = {0};
    uint64_t ne[1] = {64};
    cr_assert_geq(gguf_writer_add_tensor(w, "output_norm.weight", FL_TYPE_F32, 1, ne, z), 0);
    cr_assert_eq(gguf_writer_write(w, path, NULL, NULL), 0, "%s", flare_last_error());
    gguf_writer_free(w);
}

Test(run_cli, bad_inputs)
{
    char args[1024], path[512];
    snprintf(path, sizeof path, "%s/run-bad-%d.gguf", FLARE_TMPDIR, (int)getpid());

    FILE *f = fopen(path, "wb");
    cr_assert(f);
    fputs("not a gguf file at all, but long enough to be read as a header......\n", f);
    fclose(f);
    snprintf(args, sizeof args, "run -m %s -p hi", path);
    expect_fail(args, path);

    write_gpt2_arch(path);
    snprintf(args, sizeof args, "run -m %s -p hi", path);
    expect_fail(args, "general.architecture");
    unlink(path);

    expect_fail("run -m /nonexistent/m.gguf -p hi", "/nonexistent/m.gguf");
    expect_fail("run -p hi", "-m");
    snprintf(args, sizeof args, "run -m %s.gguf -p 'Once upon a time' -c 4", PEER);
    expect_fail(args, "context of 4");
    snprintf(args, sizeof args, "run -m %s.gguf -p hi --kv q8", PEER);
    expect_fail(args, "--kv");
    snprintf(args, sizeof args, "run -m %s.gguf -p hi -t 0", PEER);
    expect_fail(args, "-t");
    snprintf(args, sizeof args, "run -m %s.gguf --prompt-ids '1 32000'", PEER);
    expect_fail(args, "--prompt-ids");
    snprintf(args, sizeof args, "run -m %s.gguf -p hi --temp x", PEER);
    expect_fail(args, "--temp");
    snprintf(args, sizeof args, "run -m %s.gguf -p hi --logits /nonexistent/dir/l.f32", PEER);
    expect_fail(args, "/nonexistent/dir/l.f32");
    snprintf(args, sizeof args, "run -m %s.gguf -p hi --bogus", PEER);
    expect_fail(args, "--bogus");
}

Test(run_cli, context_limit_stops_generation)
{
    char cmd[1024], *out;
    /* 5 prompt tokens in a context of 8: at most 3 more are evaluated, 4 sampled */
    snprintf(cmd, sizeof cmd,
             "%s run -m %s.gguf --prompt-ids '1 9038 2501 263 931' -c 8 -n 20 --temp 0 "
             "--ignore-eos --json 2>/dev/null",
             FLARE_BIN, PEER);
    cr_assert_eq(t_run(cmd, &out), 0, "%s", out);
    int gen[32];
    cr_expect_eq(json_ids(out, "generated_ids", gen, 32), 4, "%s", out);
    char why[160];
    json_t *o = t_json(out, why, sizeof why);
    cr_assert(o, "%s", why);
    cr_expect_str_eq(json_string_value(member(o, "stop", JSON_STRING)), "context");
    json_decref(o);
    free(out);
}

/* ---- bench ---------------------------------------------------------------------------------- */

Test(run_cli, bench_json_and_table, .timeout = 60)
{
    char path[512], cmd[1024], *out;
    snprintf(path, sizeof path, "%s/bench-tiny-%d.gguf", FLARE_TMPDIR, (int)getpid());
    snprintf(cmd, sizeof cmd, "%s mkmodel --preset tiny --type q4_0 --seed 3 -o %s 2>&1",
             FLARE_BIN, path);
    cr_assert_eq(t_run(cmd, &out), 0, "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "%s bench -m %s -p 16 -n 8 -r 2 -t 1,2 --json 2>/dev/null",
             FLARE_BIN, path);
    cr_assert_eq(t_run(cmd, &out), 0, "%s", out);
    /* one object per line: pp16 and tg8 for 1 and 2 threads, in that order */
    const char *want_test[4] = {"pp16", "tg8", "pp16", "tg8"};
    json_t *line[4];
    int lines = t_json_lines(out, line, 4);
    for (int i = 0; i < lines; i++) {
        json_t *o = line[i];
        cr_expect_str_eq(json_string_value(member(o, "test", JSON_STRING)), want_test[i]);
        cr_expect_eq((int)json_integer_value(member(o, "threads", JSON_INTEGER)), 1 + i / 2);
        cr_expect_gt(json_real_value(member(o, "avg_ts", JSON_REAL)), 0.0, "line %d", i);
        member(o, "mem_bw_gbs", JSON_REAL);
        json_decref(o);
    }
    cr_expect_eq(lines, 4, "pp16 and tg8 for 1 and 2 threads");
    free(out);
    snprintf(cmd, sizeof cmd, "%s bench -m %s -p 8 -n 4 -r 1 -t 1 2>/dev/null", FLARE_BIN, path);
    cr_assert_eq(t_run(cmd, &out), 0, "%s", out);
    cr_expect(strstr(out, "| pp8 ") || strstr(out, "pp8"), "%s", out);
    cr_expect(strstr(out, "GB/s"), "%s", out);
    cr_expect(strstr(out, "peak RSS"), "%s", out);
    free(out);
    unlink(path);
    expect_fail("bench -p 8", "-m");
    snprintf(cmd, sizeof cmd, "bench -m %s.gguf -t 1,x", PEER);
    expect_fail(cmd, "-t");
}

Test(run_cli, json_escapes_random_text, .timeout = 60)
{
    char cmd[1024], *out;
    /* hot sampling over the whole vocabulary: byte tokens (newlines, controls), quotes, UTF-8 */
    snprintf(cmd, sizeof cmd,
             "%s run -m %s.gguf -p 'Say \"hi\"' -n 300 --temp 3 --top-k 0 --top-p 1 --min-p 0 "
             "--seed 9 --ignore-eos --json 2>/dev/null",
             FLARE_BIN, PEER);
    cr_assert_eq(t_run(cmd, &out), 0, "%s", out);
    char why[128];
    json_t *o = t_json(out, why, sizeof why);
    cr_expect(o, "not JSON (%s): %s", why, out);
    if (o)
        cr_expect_gt(strlen(json_string_value(member(o, "text", JSON_STRING))), 0);
    json_decref(o);
    free(out);
    /* the parser is strict: a raw newline or an invalid UTF-8 byte in a string is refused */
    cr_expect_null(t_json("{\"a\":\"x\ny\"}", why, sizeof why));
    cr_expect_null(t_json("{\"a\":\"x\xffy\"}", why, sizeof why));
}
