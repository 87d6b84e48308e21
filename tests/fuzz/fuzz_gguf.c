/* tests/fuzz/fuzz_gguf.c: libFuzzer target for the GGUF reader.
 *
 * Opens the input with gguf_open_buffer and, when it is accepted, walks every key, value, array
 * element and tensor byte (fuzz_gguf_walk.h) and prints `flare info`'s report of it, whose JSON
 * form must parse (jansson, strict); when it is refused, checks that a message was set.
 * Built and run by `make fuzz` (ASan + UBSan); the seeds live in tests/fuzz/corpus/fuzz_gguf/. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "flare/error.h"
#include "fuzz_gguf_walk.h"
#include "host/gguf.h"
#include "host/info.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gguf_file *f = NULL;
    flare_clear_error();
    int rc = gguf_open_buffer(&f, data, size, "fuzz.gguf");
    if (rc) {
        /* a refusal always explains itself and names the input */
        const char *msg = flare_last_error();
        if (f != NULL || msg[0] == '\0' || strstr(msg, "fuzz.gguf") == NULL)
            abort();
        return 0;
    }
    volatile uint64_t sink = gguf_walk(f);
    (void)sink;
    /* flare info's report of it: the text one runs, the JSON one is JSON (a strict parser) */
    static FILE *devnull;
    if (!devnull && !(devnull = fopen("/dev/null", "w")))
        abort();
    fl_info_print(devnull, f, false);
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    if (!mem)
        abort();
    fl_info_print(mem, f, true);
    fclose(mem);
    json_error_t err;
    /* integers as reals: jansson's own integers stop at INT64_MAX, a uint64 value does not */
    json_t *v = json_loadb(buf, len, JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, &err);
    if (!v) {
        fprintf(stderr, "fuzz_gguf: flare info --json is not JSON: %s (line %d column %d)\n",
                err.text, err.line, err.column);
        abort();
    }
    json_decref(v);
    free(buf);
    gguf_close(f);
    return 0;
}
