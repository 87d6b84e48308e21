/* common/error.c: the per-thread last-error message behind flare/error.h. */
#include "flare/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum { FLARE_ERROR_MAX = 1024 };
static _Thread_local char last_error[FLARE_ERROR_MAX];

int flare_error(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return code;
}

int flare_error_prefix(int code, const char *fmt, ...)
{
    char old[FLARE_ERROR_MAX];
    memcpy(old, last_error, sizeof old);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof last_error && old[0])
        snprintf(last_error + n, sizeof last_error - (size_t)n, ": %s", old);
    return code;
}

const char *flare_last_error(void) { return last_error; }

void flare_clear_error(void) { last_error[0] = '\0'; }
