/* host/cli/cmd_mkmodel.c: `flare mkmodel`: options -> fl_mkmodel_opts -> host/mkmodel.c. */
#include "host/cli/cli.h"

#include <stdio.h>
#include <string.h>

#include "flare/error.h"
#include "flare/ggml.h"
#include "host/mkmodel.h"

static void mkmodel_usage(FILE *out)
{
    fprintf(out,
            "usage: flare mkmodel [--preset NAME] [options] -o FILE\n"
            "\n"
            "Write a llama-architecture GGUF with seeded random weights (normal, std 0.02; norm\n"
            "weights 1.0). Same options and seed give the same bytes.\n"
            "\n"
            "  --preset NAME     tiny (default), stories15M, stories110M, tinyllama, llama2-7b\n"
            "  --type TYPE       weight type: f32, f16, q8_0 (default), q5_0, q4_0\n"
            "  --seed N          PRNG seed (default 1)\n"
            "  --vocab FILE      copy the tokenizer.ggml.* keys of a vocabulary GGUF (vocab size\n"
            "                    from it); default: the built-in byte-level SPM vocabulary,\n"
            "                    padded with unused tokens up to the preset's vocab size\n"
            "  --name NAME       general.name (default flare-PRESET)\n"
            "  --threads N       generator threads (default: online CPUs, at most 16; the bytes\n"
            "                    do not depend on it)\n"
            "  -o, --output FILE the GGUF to write\n"
            "\n"
            "Overrides of the preset's shape:\n"
            "  --dim N  --ffn N  --layers N  --heads N  --kv-heads N  --ctx N  --vocab-size N\n"
            "  --rope-base F  --eps F\n"
            "(--heads without --kv-heads keeps the preset's ratio when the preset has kv = heads.)\n");
}

static int parse_u32(const char *flag, const char *s, uint64_t max, uint32_t *out)
{
    uint64_t v;
    if (cli_u64(flag, s, 1, max, &v))
        return -1;
    *out = (uint32_t)v;
    return 0;
}

int cmd_mkmodel(int argc, char **argv)
{
    const char *preset = "tiny", *out_path = NULL;
    /* pass 1: --help and the preset, so that overrides apply whatever their position */
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            mkmodel_usage(stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--preset")) {
            if (!(preset = cli_value(argc, argv, &i)))
                return 1;
        }
    }
    fl_mkmodel_opts o;
    if (fl_mkmodel_preset(&o, preset))
        return cli_fail("mkmodel: %s", flare_last_error());
    int kv_set = 0, heads_set = 0;
    uint32_t preset_heads = o.n_heads, preset_kv = o.n_kv_heads;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (!strcmp(a, "--preset")) {
            i++;
            continue;
        }
        if (a[0] != '-')
            return cli_fail("mkmodel: unexpected argument '%s' (the output goes after -o)", a);
        if (!(v = cli_value(argc, argv, &i)))
            return 1;
        double f;
        uint64_t u;
        int bad = 0;
        if (!strcmp(a, "-o") || !strcmp(a, "--output"))
            out_path = v;
        else if (!strcmp(a, "--type")) {
            int t = fl_type_from_name(v);
            if (t < 0 || fl_mkmodel_file_type((uint32_t)t) < 0)
                return cli_fail("--type: expected f32, f16, q8_0, q5_0 or q4_0, got '%s'", v);
            o.type = (uint32_t)t;
        } else if (!strcmp(a, "--seed")) {
            bad = cli_u64(a, v, 0, UINT64_MAX, &u);
            o.seed = u;
        } else if (!strcmp(a, "--vocab"))
            o.vocab_path = v;
        else if (!strcmp(a, "--name"))
            o.name = v;
        else if (!strcmp(a, "--threads"))
            bad = parse_u32(a, v, 64, &o.n_threads);
        else if (!strcmp(a, "--dim"))
            bad = parse_u32(a, v, 65536, &o.dim);
        else if (!strcmp(a, "--ffn"))
            bad = parse_u32(a, v, 262144, &o.ffn);
        else if (!strcmp(a, "--layers"))
            bad = parse_u32(a, v, 1024, &o.n_layers);
        else if (!strcmp(a, "--heads")) {
            bad = parse_u32(a, v, 65536, &o.n_heads);
            heads_set = 1;
        } else if (!strcmp(a, "--kv-heads")) {
            bad = parse_u32(a, v, 65536, &o.n_kv_heads);
            kv_set = 1;
        } else if (!strcmp(a, "--ctx"))
            bad = parse_u32(a, v, 1048576, &o.ctx);
        else if (!strcmp(a, "--vocab-size"))
            bad = parse_u32(a, v, 2097152, &o.vocab_size) || (o.vocab_size < 3 &&
                  cli_fail("--vocab-size: expected an integer in 3..2097152, got '%s'", v));
        else if (!strcmp(a, "--rope-base")) {
            bad = cli_f64(a, v, 1e-3, 1e12, &f);
            o.rope_base = (float)f;
        } else if (!strcmp(a, "--eps")) {
            bad = cli_f64(a, v, 1e-12, 0.5, &f);
            o.eps = (float)f;
        } else
            return cli_fail("mkmodel: unknown option '%s' (try 'flare mkmodel --help')", a);
        if (bad)
            return 1;
    }
    if (heads_set && !kv_set && preset_kv == preset_heads)
        o.n_kv_heads = o.n_heads;
    if (!out_path)
        return cli_fail("-o: missing output file (try 'flare mkmodel --help')");
    if (fl_mkmodel_write(&o, out_path))
        return cli_fail("mkmodel: %s", flare_last_error());
    return 0;
}
