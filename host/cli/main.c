/* host/cli/main.c: the `flare` command line: dispatches to one subcommand per file. */
#include "host/cli/cli.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *usage;
} command;

static const command commands[] = {
    {"mkmodel", cmd_mkmodel, "write a llama GGUF with seeded random weights"},
    {"info", cmd_info, "print a GGUF file's metadata, tensors and derived figures"},
    {"tokenize", cmd_tokenize, "print the token ids of a text (the model's tokenizer)"},
    {"run", cmd_run, "generate text (CPU engine, or --device csim|sim|xrt|cuda [--check cpu|cuda])"},
    {"check", cmd_check, "cross-check a device against the CPU or CUDA engine (per layer, per token)"},
    {"bench", cmd_bench, "throughput of the CPU engine (llama-bench style) or of a device"},
    {"perf", cmd_perf, "decode tok/s on U280/U250-class cards, projected from simulated cycles"},
};

static void usage(FILE *out)
{
    fprintf(out, "flare %s: LLM inference on FPGA accelerators\n\nusage: flare COMMAND [options]\n\n",
            FLARE_VERSION);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].usage);
    fprintf(out, "\n'flare COMMAND --help' shows a command's options.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 1;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("flare %s\n", FLARE_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "flare: unknown command '%s' (try 'flare --help')\n", argv[1]);
    return 1;
}
