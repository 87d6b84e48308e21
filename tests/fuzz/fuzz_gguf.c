/* tests/fuzz/fuzz_gguf.c: libFuzzer target for the GGUF reader.
 *
 * Opens the input with gguf_open_buffer and, when it is accepted, walks every key, value, array
 * element and tensor byte and prints `flare info`'s report of it, whose JSON form must parse
 * (fuzz_gguf_walk.h); when it is refused, checks that a message was set.
 * Built and run by `make fuzz` (ASan + UBSan); the seeds live in tests/fuzz/corpus/fuzz_gguf/. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "flare/error.h"
#include "fuzz_gguf_walk.h"
#include "host/gguf.h"

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
    char why[256];
    if (gguf_info_json(f, why, sizeof why)) {
        fprintf(stderr, "fuzz_gguf: flare info --json is not JSON: %s\n", why);
        abort();
    }
    gguf_close(f);
    return 0;
}
