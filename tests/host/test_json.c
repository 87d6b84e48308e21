/* tests/host/test_json.c: JSON strings (host/json.h) as a strict parser (jansson, through
 * t_json) reads them back: escapes, UTF-8 kept, each byte of an invalid sequence replaced by
 * U+FFFD; then the CLI reports that carry strings from outside (a metadata string in `flare
 * info --json`, a file name in `flare bench --json`). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flare/error.h"
#include "flare/ggml.h"
#include "host/gguf.h"
#include "host/json.h"
#include "tests/common/testutil.h"

#define FFFD "\xef\xbf\xbd"

/* fl_json_str of n bytes of s, wrapped in an array, parsed back: the string jansson decoded. */
static char *round_trip(const char *s, size_t n, char *text, size_t text_len)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert(f);
    fputc('[', f);
    fl_json_str(f, s, n);
    fputc(']', f);
    fclose(f);
    snprintf(text, text_len, "%s", buf);
    char why[160];
    json_t *v = t_json(buf, why, sizeof why);
    cr_assert(v, "%s: %s", why, buf);
    free(buf);
    const char *got = json_string_value(json_array_get(v, 0));
    cr_assert(got);
    char *out = strdup(got);
    json_decref(v);
    return out;
}

static void expect_string(const char *in, size_t n, const char *want)
{
    char text[512];
    char *got = round_trip(in, n, text, sizeof text);
    cr_expect_str_eq(got, want, "JSON text %s", text);
    free(got);
}

Test(json, escapes_and_utf8)
{
    /* ASCII with every escape class: same string back */
    const char ascii[] = "a\"b\\c/\n\r\t\x01\x1f\x7f end";
    expect_string(ascii, sizeof ascii - 1, ascii);
    /* valid UTF-8 of 2, 3 and 4 bytes, and U+FFFD itself: unchanged */
    const char utf8[] = "caf\xc3\xa9 \xe2\x96\x81x \xf0\x9f\x98\x80 " FFFD;
    expect_string(utf8, sizeof utf8 - 1, utf8);
    char text[64];
    char *got = round_trip("\xc3\xa9", 2, text, sizeof text);
    cr_expect_str_eq(text, "[\"\xc3\xa9\"]", "valid UTF-8 goes out as it is, not as \\u");
    free(got);
    /* a NUL inside the n bytes is a control character like the others */
    got = round_trip("a\0b", 3, text, sizeof text);
    cr_expect_str_eq(text, "[\"a\\u0000b\"]");
    free(got);
}

Test(json, invalid_utf8_each_byte_replaced)
{
    static const struct {
        const char *in;
        const char *want;
    } cases[] = {
        {"\xff", FFFD},                               /* never valid */
        {"a\x80z", "a" FFFD "z"},                     /* a lone continuation byte */
        {"\xc0\xaf", FFFD FFFD},                      /* overlong '/' */
        {"\xe0\x80\xaf", FFFD FFFD FFFD},             /* overlong, 3 bytes */
        {"\xed\xa0\x80", FFFD FFFD FFFD},             /* a UTF-16 surrogate, U+D800 */
        {"\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD},    /* past U+10FFFF */
        {"x\xe2\x96", "x" FFFD FFFD},                 /* cut at the end of the text */
        {"\xe2\x96y", FFFD FFFD "y"},                 /* cut before an ASCII byte */
        {"\xc3\xa9\xc3", "\xc3\xa9" FFFD},            /* valid, then cut */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_string(cases[i].in, strlen(cases[i].in), cases[i].want);
}

/* Random bytes: whatever they are, the output parses, and a text that was valid UTF-8 without
 * control characters comes back byte for byte. */
Test(json, random_bytes_always_parse)
{
    uint64_t seed = 0x2545f4914f6cdd1dull;
    for (int r = 0; r < 2000; r++) {
        char in[24];
        size_t n = (size_t)(r % 24);
        for (size_t i = 0; i < n; i++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            unsigned b = (unsigned)(seed >> 56);
            in[i] = (char)(r % 3 == 0 ? 0x20 + b % 0x5f : b); /* a third printable ASCII */
        }
        char text[256];
        char *got = round_trip(in, n, text, sizeof text);
        if (r % 3 == 0)
            cr_expect(strlen(got) == n && !memcmp(got, in, n), "%s", text);
        free(got);
    }
}

/* flare info --json of a file whose metadata strings hold quotes, control characters and
 * invalid UTF-8: valid JSON, the strings decoded as fl_json_str defines. */
Test(json, info_with_hostile_metadata)
{
    char path[512], cmd[1024], *out;
    snprintf(path, sizeof path, "%s/json-meta-%d.gguf", FLARE_TMPDIR, (int)getpid());
    gguf_writer *w = gguf_writer_new();
    cr_assert(w);
    cr_assert_eq(gguf_writer_set_str(w, "general.name", "q\"\\\n\x01\xff\xe2\x96"), 0);
    cr_assert_eq(gguf_writer_set_str(w, "bad.key\xc0", "v"), 0);
    cr_assert_eq(gguf_writer_write(w, path, NULL, NULL), 0, "%s", flare_last_error());
    gguf_writer_free(w);
    snprintf(cmd, sizeof cmd, "%s info --json '%s'", FLARE_BIN, path);
    cr_assert_eq(t_run(cmd, &out), 0, "%s", out);
    char why[160];
    json_t *v = t_json(out, why, sizeof why);
    cr_assert(v, "%s: %s", why, out);
    json_t *meta = json_object_get(v, "metadata");
    cr_assert(json_is_array(meta), "%s", out);
    int seen = 0;
    for (size_t i = 0; i < json_array_size(meta); i++) {
        json_t *kv = json_array_get(meta, i);
        const char *key = json_string_value(json_object_get(kv, "key"));
        const char *val = json_string_value(json_object_get(kv, "value"));
        cr_assert(key, "%s", out);
        if (!strcmp(key, "general.name")) {
            cr_expect_str_eq(val, "q\"\\\n\x01" FFFD FFFD FFFD);
            seen++;
        } else if (!strcmp(key, "bad.key" FFFD)) {
            seen++;
        }
    }
    cr_expect_eq(seen, 2, "%s", out);
    json_decref(v);
    free(out);
    unlink(path);
}

/* flare bench --json names the model by its file name, whatever bytes that has. */
Test(json, bench_with_hostile_file_name, .timeout = 120)
{
    char dir[512], path[600], cmd[1400], *out;
    snprintf(dir, sizeof dir, "%s/json-%d", FLARE_TMPDIR, (int)getpid());
    snprintf(path, sizeof path, "%s/we\"ird\\name\xff.gguf", dir);
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' && %s mkmodel --preset tiny --type q4_0 -o '%s' 2>&1",
             dir, FLARE_BIN, path);
    cr_assert_eq(t_run(cmd, &out), 0, "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "%s bench -m '%s' -p 2 -n 0 -r 1 -t 1 --json 2>/dev/null", FLARE_BIN,
             path);
    cr_assert_eq(t_run(cmd, &out), 0, "%s", out);
    char why[160];
    json_t *v = t_json(out, why, sizeof why);
    cr_assert(v, "%s: %s", why, out);
    cr_expect_str_eq(json_string_value(json_object_get(v, "model")), "we\"ird\\name" FFFD ".gguf");
    json_decref(v);
    free(out);
    unlink(path);
    rmdir(dir);
}
