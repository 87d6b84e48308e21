/* host/cli/cli.h: the `flare` subcommands and the argument helpers they share.
 * Every helper validates fully and prints one error line naming the flag on failure. */
#ifndef FLARE_CLI_H
#define FLARE_CLI_H

#include <stdbool.h>
#include <stdint.h>

/* Each subcommand: argv[0] is the subcommand name. Returns the process exit status. */
int cmd_mkmodel(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_perf(int argc, char **argv);

/* Prints "flare: <message>\n" to stderr and returns 1 (the exit status for bad input). */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parse an unsigned/signed/float value of `flag` within [min, max]. 0 on success; on failure an
 * error line has been printed ("flare: --dim: expected an integer in 1..65536, got 'x'"). */
int cli_u64(const char *flag, const char *s, uint64_t min, uint64_t max, uint64_t *out);
int cli_i64(const char *flag, const char *s, int64_t min, int64_t max, int64_t *out);
int cli_f64(const char *flag, const char *s, double min, double max, double *out);

/* The value after flag argv[*i] (advancing *i), or NULL with an error printed when missing. */
const char *cli_value(int argc, char **argv, int *i);

#endif
