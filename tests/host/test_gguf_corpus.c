/* tests/host/test_gguf_corpus.c: replay the fuzz corpus (tests/fuzz/corpus/fuzz_gguf/) through
 * the reader and the same walk and `flare info` report the libFuzzer target makes. Seeds and
 * every crash input that fuzzing ever found live there; each must open or be refused with a
 * message naming the input, and never crash (run under `make asan` for the memory checks); the
 * JSON report of each one that opens must parse (jansson; numbers read as reals, since a GGUF
 * uint64 can pass INT64_MAX, where jansson's integers stop). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include "flare/error.h"
#include "host/gguf.h"
#include "../fuzz/fuzz_gguf_walk.h"

#define CORPUS FLARE_SRCDIR "/tests/fuzz/corpus/fuzz_gguf"

Test(gguf_corpus, replay_fuzz_corpus)
{
    DIR *d = opendir(CORPUS);
    cr_assert_not_null(d, "%s is missing", CORPUS);
    int files = 0, accepted = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", CORPUS, e->d_name);
        FILE *fp = fopen(path, "rb");
        cr_assert_not_null(fp, "%s", path);
        fseek(fp, 0, SEEK_END);
        long n = ftell(fp);
        fseek(fp, 0, SEEK_SET);
        uint8_t *buf = malloc(n > 0 ? (size_t)n : 1); /* exactly sized: ASan sees overreads */
        cr_assert_eq(fread(buf, 1, (size_t)n, fp), (size_t)n);
        fclose(fp);
        gguf_file *f = NULL;
        flare_clear_error();
        if (gguf_open_buffer(&f, buf, (size_t)n, e->d_name) == 0) {
            accepted++;
            volatile uint64_t h = gguf_walk(f);
            (void)h;
            char why[256];
            cr_expect_eq(gguf_info_json(f, why, sizeof why), 0, "%s: info --json: %s",
                         e->d_name, why);
            gguf_close(f);
        } else {
            cr_assert_null(f);
            cr_assert(strstr(flare_last_error(), e->d_name) == flare_last_error(),
                      "%s: message '%s' does not start with the input's name", e->d_name,
                      flare_last_error());
        }
        /* the same bytes through gguf_open (mmap) */
        if (gguf_open(&f, path) == 0)
            gguf_close(f);
        free(buf);
        files++;
    }
    closedir(d);
    cr_assert_geq(files, 5, "the corpus holds the seeds");
    cr_assert_geq(accepted, 1, "valid seeds open");
}
