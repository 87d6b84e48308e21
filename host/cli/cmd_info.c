/* host/cli/cmd_info.c: `flare info FILE [--json]`: the report of host/info.c. */
#include "host/cli/cli.h"

#include <stdio.h>
#include <string.h>

#include "flare/error.h"
#include "host/gguf.h"
#include "host/info.h"

static void info_usage(FILE *out)
{
    fprintf(out,
            "usage: flare info [--json] FILE\n"
            "\n"
            "Print a GGUF file's header, metadata (long arrays summarised), tensor table, totals\n"
            "by type and derived figures: parameters, bytes streamed per decoded token, KV-cache\n"
            "bytes per token of context. The file is mapped, and its tensor data never read.\n"
            "\n"
            "  --json   the same report as one JSON object\n");
}

int cmd_info(int argc, char **argv)
{
    const char *path = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            info_usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--json"))
            json = true;
        else if (argv[i][0] == '-' && argv[i][1])
            return cli_fail("info: unknown option '%s' (try 'flare info --help')", argv[i]);
        else if (path)
            return cli_fail("info: one FILE expected, got '%s' and '%s'", path, argv[i]);
        else
            path = argv[i];
    }
    if (!path)
        return cli_fail("info: missing FILE (try 'flare info --help')");
    gguf_file *f = NULL;
    if (gguf_open(&f, path))
        return cli_fail("info: %s", flare_last_error());
    int rc = fl_info_print(stdout, f, json);
    gguf_close(f);
    return rc ? cli_fail("info: %s", flare_last_error()) : 0;
}
