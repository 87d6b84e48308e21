/* host/json.h: JSON string output for the CLI's --json reports and `flare info --json`.
 *
 * RFC 8259 text is UTF-8, and the strings flare prints are not always that: generated text
 * can stop inside a character, and GGUF metadata, file names and device URIs are bytes. So a
 * string goes out with '"', '\\' and the control characters escaped, valid UTF-8 (decoded by
 * utf8proc: no overlong forms, surrogates or code points past U+10FFFF) as it is, and each byte
 * that does not start a valid sequence as \ufffd (U+FFFD, the replacement character), so that
 * any JSON parser reads it. */
#ifndef FLARE_HOST_JSON_H
#define FLARE_HOST_JSON_H

#include <stddef.h>
#include <stdio.h>

void fl_json_str(FILE *f, const char *s, size_t n);
void fl_json_cstr(FILE *f, const char *s); /* NUL-terminated; NULL prints null */

#endif
