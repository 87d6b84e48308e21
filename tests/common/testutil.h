/* tests/common/testutil.h: helpers shared by the test files: running a command or the CLI
 * under test and collecting what it printed. */
#ifndef FLARE_TESTS_TESTUTIL_H
#define FLARE_TESTS_TESTUTIL_H

/* Runs a shell command; *out gets what it wrote to stdout (malloc'ed, NUL-terminated; free()).
 * Returns the exit status, or -1 when the process did not exit normally (a crash). */
int t_run(const char *cmd, char **out);

/* Runs `FLARE_BIN args` with stderr merged into stdout, as t_run. */
int t_flare(const char *args, char **out);

#include <stddef.h>
#include <stdint.h>

#include "driver/dev.h"
#include "host/model.h"

/* sum((a - ref)^2) / sum(ref^2) in double (the plain squared error when ref is all zero). */
double t_nmse(const float *a, const float *ref, size_t n);

/* Index of the largest element (the first of equal ones). */
int32_t t_argmax(const float *x, size_t n);

/* Write flare mkmodel's `preset` in ggml type `type` (seed, one thread) to
 * FLARE_TMPDIR/<tag>-<preset>-<type>-<pid>.gguf (path gets the name) and open it. */
fl_model *t_make_model(const char *tag, const char *preset, uint32_t type, uint64_t seed,
                       char *path, size_t path_len);

/* The library `name` of this build: $env_var when that is set (env_var may be NULL), else the
 * file beside FLARE_BIN, into path. 0 when the file is there, -1 when it is not built (the caller
 * skips). */
int t_build_lib(const char *env_var, const char *name, char *path, size_t path_len);
/* libflare_xrtsim.so (FLARE_XRTSIM_LIB), as t_build_lib. */
int t_xrtsim_lib(char *path, size_t path_len);

/* fl_dev_open(uri); a device whose library is not built (sim without verilator) skips the test,
 * any other failure fails it. */
fl_dev *t_open_dev(const char *uri);

/* The xrt backend's card path over the simulator's XRT API: points FLARE_XRT_LIB at
 * libflare_xrtsim.so beside FLARE_BIN, writes a stand-in xclbin (tag in its name) to
 * FLARE_TMPDIR and puts "xrt:0:xclbin=FILE" in uri and the file's path in xclbin. Returns 0, or
 * -1 when the library is not built (the caller skips). */
int t_xrt_over_sim(const char *tag, char *uri, size_t uri_len, char *xclbin, size_t xclbin_len);

/* The JSON text s parsed by jansson, which holds to RFC 8259 (no raw control characters in
 * strings, valid UTF-8, nothing after the value; \u0000 allowed) and here also refuses
 * duplicate keys. NULL when it is not JSON, with jansson's reason and place in why;
 * json_decref() the result. */
typedef struct json_t json_t;
json_t *t_json(const char *s, char *why, size_t why_len);

/* Each line of out (split in place) through t_json, into v; more than max lines or a line that
 * is not JSON fails the test. Returns the count. */
int t_json_lines(char *out, json_t **v, int max);

/* The integers of the array member `key` of obj into ids (at most max). Returns the count, -1
 * when obj has no such array of integers. */
int t_json_ints(json_t *obj, const char *key, int *ids, int max);

#endif
