/* host/cli/cmd_mkmodel.c: `flare mkmodel` (placeholder until host/mkmodel.c lands). */
#include "host/cli/cli.h"

int cmd_mkmodel(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_fail("mkmodel: not built yet");
}
