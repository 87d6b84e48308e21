/* host/cli/cmd_info.c: `flare info` (placeholder until it lands). */
#include "host/cli/cli.h"

int cmd_info(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_fail("info: not built yet");
}
