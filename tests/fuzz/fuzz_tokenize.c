/* tests/fuzz/fuzz_tokenize.c: libFuzzer target for the SPM and BPE tokenizers.
 *
 * Loads llama.cpp's two test vocabularies once (from $FLARE_TESTDATA, default
 * ../shared/testdata), tokenizes the input with both (special-token parsing on and off), checks
 * every id is inside the vocabulary, detokenizes, and for SPM checks the round trip of valid
 * UTF-8 text is exact (byte fallback covers every byte; the leading-space rule is undone) unless
 * the text itself holds U+2581, the character SPM uses for a space. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/gguf.h"
#include "host/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static fl_tokenizer *load(const char *name)
{
    const char *dir = getenv("FLARE_TESTDATA");
    char path[1024];
    snprintf(path, sizeof path, "%s/vocab/%s", dir ? dir : "../shared/testdata", name);
    gguf_file *f = NULL;
    fl_tokenizer *t = NULL;
    if (gguf_open(&f, path) || fl_tokenizer_from_gguf(&t, f)) {
        fprintf(stderr, "fuzz_tokenize: cannot load %s\n", path);
        abort();
    }
    gguf_close(f); /* the tokenizer keeps its own copy of the vocabulary */
    return t;
}

static int valid_utf8(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint8_t b = s[i];
        size_t len = b < 0x80 ? 1 : (b >= 0xC2 && b < 0xE0) ? 2 : (b >= 0xE0 && b < 0xF0) ? 3
                   : (b >= 0xF0 && b < 0xF5) ? 4 : 0;
        if (!len || i + len > n)
            return 0;
        uint32_t cp = len == 1 ? b : len == 2 ? (b & 0x1Fu) : len == 3 ? (b & 0x0Fu) : (b & 0x07u);
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3Fu);
        }
        if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp < 0xE000))) ||
            (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
            return 0;
        i += len;
    }
    return 1;
}

static void check(const fl_tokenizer *t, const uint8_t *data, size_t size, unsigned flags,
                  int roundtrip)
{
    int32_t *ids = NULL;
    size_t n = 0;
    if (fl_tokenize(t, (const char *)data, size, flags, &ids, &n))
        abort(); /* a well-formed vocabulary encodes any bytes */
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || (uint32_t)ids[i] >= fl_tok_n_tokens(t))
            abort();
    char *text = NULL;
    size_t len = 0;
    if (fl_detokenize(t, ids, n, 0, &text, &len))
        abort();
    if (roundtrip && (len != size || memcmp(text, data, size) != 0)) {
        fprintf(stderr, "SPM round trip differs: %zu bytes in, %zu out\n", size, len);
        abort();
    }
    free(text);
    free(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static fl_tokenizer *spm, *bpe;
    if (!spm) {
        spm = load("ggml-vocab-llama-spm.gguf");
        bpe = load("ggml-vocab-gpt-2.gguf");
    }
    if (size > 4096)
        return 0;
    int plain = valid_utf8(data, size) && memchr(data, 0, size) == NULL &&
                memmem(data, size, "\xe2\x96\x81", 3) == NULL;
    check(spm, data, size, 0, plain);
    check(spm, data, size, FL_TOKENIZE_ADD_SPECIAL | FL_TOKENIZE_PARSE_SPECIAL, 0);
    check(bpe, data, size, 0, 0);
    check(bpe, data, size, FL_TOKENIZE_PARSE_SPECIAL, 0);
    return 0;
}
