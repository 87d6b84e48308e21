/* host/cli/args.c: strict parsing of command-line values shared by the subcommands. */
#include "host/cli/cli.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

int cli_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("flare: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

int cli_u64(const char *flag, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = (s && *s && *s != '-') ? strtoull(s, &end, 10) : 0;
    if (!s || !*s || *s == '-' || errno || !end || *end || v < min || v > max) {
        cli_fail("%s: expected an integer in %" PRIu64 "..%" PRIu64 ", got '%s'", flag, min, max,
                 s ? s : "");
        return -1;
    }
    *out = v;
    return 0;
}

int cli_i64(const char *flag, const char *s, int64_t min, int64_t max, int64_t *out)
{
    char *end = NULL;
    errno = 0;
    long long v = (s && *s) ? strtoll(s, &end, 10) : 0;
    if (!s || !*s || errno || !end || *end || v < min || v > max) {
        cli_fail("%s: expected an integer in %" PRId64 "..%" PRId64 ", got '%s'", flag, min, max,
                 s ? s : "");
        return -1;
    }
    *out = v;
    return 0;
}

int cli_f64(const char *flag, const char *s, double min, double max, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = (s && *s) ? strtod(s, &end) : 0;
    if (!s || !*s || errno || !end || *end || !isfinite(v) || v < min || v > max) {
        cli_fail("%s: expected a number in %g..%g, got '%s'", flag, min, max, s ? s : "");
        return -1;
    }
    *out = v;
    return 0;
}

const char *cli_value(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        cli_fail("%s: missing value", argv[*i]);
        return NULL;
    }
    return argv[++*i];
}
