/* flare/error.h: status codes and the per-thread last-error message.
 *
 * Every fallible flare function returns 0 (FLARE_OK) or a negative FLARE_E* code and, on
 * failure, leaves a message in flare_last_error() that names the object (file, tensor, key,
 * argument), the offset or field, and what was expected. Messages are per thread. */
#ifndef FLARE_ERROR_H
#define FLARE_ERROR_H

#include <stddef.h>

enum flare_status {
    FLARE_OK = 0,
    FLARE_EINVAL = -1,    /* bad argument or malformed input */
    FLARE_EIO = -2,       /* open/read/write/mmap failed */
    FLARE_ENOMEM = -3,    /* allocation failed */
    FLARE_EUNSUP = -4,    /* valid input this build does not support */
    FLARE_ERANGE = -5,    /* a size or index beyond a limit */
    FLARE_ETIMEDOUT = -6, /* a bounded wait ran out */
    FLARE_EDEVICE = -7,   /* the device or its library reported a failure */
};

/* Sets the calling thread's message (printf format) and returns `code`, so that
 * `return flare_error(FLARE_EINVAL, "%s: ...", path);` reads naturally. */
int flare_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefixes the current message with more context: "prefix: old message". Returns `code`. */
int flare_error_prefix(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The calling thread's last message ("" when none). */
const char *flare_last_error(void);

void flare_clear_error(void);

#endif
