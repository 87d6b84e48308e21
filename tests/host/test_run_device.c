/* tests/host/test_run_device.c: `flare run --device csim --check cpu` as a user runs it: the
 * accelerator path's acceptance runs (tiny, stories15M Q4_0 and llama.cpp's stories15M Q8_0),
 * the device generating on its own with every layer and token checked against the CPU
 * reference; the device alone giving llama.cpp's greedy tokens; bad --device/--check use; and
 * `--device cuda` saying in one line why it cannot run where there is no GPU. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/common/testutil.h"

#define PEER FLARE_TESTDATA "/llamacpp/stories15M-Q8_0"

/* A model from `flare mkmodel` in the scratch dir (unique per process). */
static void mkmodel(char *path, size_t cap, const char *preset, const char *type)
{
    snprintf(path, cap, "%s/rundev_%s_%s_%d.gguf", FLARE_TMPDIR, preset, type, (int)getpid());
    char args[1024], *out;
    snprintf(args, sizeof args, "mkmodel --preset %s --type %s --seed 7 -o %s", preset, type, path);
    cr_assert_eq(t_flare(args, &out), 0, "%s", out);
    free(out);
}

/* flare run on the csim device with the CPU cross-check; the verdict must be PASS, exit 0. */
static void check_passes(const char *model, const char *extra)
{
    char args[2048], *out;
    snprintf(args, sizeof args,
             "run -m %s -p 'Once upon a time' --device csim --check cpu -n 32 %s", model, extra);
    int st = t_flare(args, &out);
    cr_assert_eq(st, 0, "exit %d: %s", st, out);
    cr_assert(strstr(out, "check: PASS"), "%s", out);
    cr_assert(strstr(out, "device csim, checked against cpu"), "%s", out);
    cr_assert(strstr(out, "per layer (residual stream"), "the table is printed: %s", out);
    cr_assert(strstr(out, "qmatmul") && strstr(out, "attention launches"), "stats: %s", out);
    free(out);
}

Test(run_device, tiny_csim_check_cpu, .timeout = 120)
{
    char m[512];
    mkmodel(m, sizeof m, "tiny", "q8_0");
    check_passes(m, "--temp 0");
    check_passes(m, "--seed 3"); /* sampled, not only greedy */
    unlink(m);
}

Test(run_device, stories15M_q4_0_csim_check_cpu, .timeout = 240)
{
    char m[512];
    mkmodel(m, sizeof m, "stories15M", "q4_0");
    check_passes(m, "--temp 0");
    unlink(m);
}

Test(run_device, stories15M_q8_0_llamacpp_csim_check_cpu, .timeout = 240)
{
    check_passes(PEER ".gguf", "--temp 0");
}

/* The device alone, greedy from llama.cpp's prompt ids: the same 16 tokens llama.cpp chose. */
Test(run_device, csim_alone_gives_llamacpp_tokens, .timeout = 240)
{
    FILE *f = fopen(PEER ".greedy.txt", "r");
    cr_assert(f);
    char line[4096];
    int want[16], n = 0;
    while (fgets(line, sizeof line, f) && n < 16) {
        int step, id;
        if (sscanf(line, "step %d: id %d", &step, &id) == 2)
            want[n++] = id;
    }
    fclose(f);
    cr_assert_eq(n, 16, "parsed %d steps of %s.greedy.txt", n, PEER);
    char *out;
    int st = t_flare("run -m " PEER ".gguf --prompt-ids '1 9038 2501 263 931' --device csim "
                     "--temp 0 --ignore-eos -n 16 --json",
                     &out);
    cr_assert_eq(st, 0, "%s", out);
    char why[160], *nl = strchr(out, '\n');
    cr_assert(nl, "%s", out);
    *nl = 0; /* the JSON object; the timings t_flare merged in from stderr follow */
    json_t *v = t_json(out, why, sizeof why);
    cr_assert(v, "%s: %s", why, out);
    int ids[16];
    cr_assert_eq(t_json_ints(v, "generated_ids", ids, 16), 16, "%s", out);
    for (int i = 0; i < 16; i++)
        cr_expect_eq(ids[i], want[i], "step %d: csim chose %d, llama.cpp %d", i, ids[i], want[i]);
    cr_expect_str_eq(json_string_value(json_object_get(v, "device")), "csim");
    json_decref(v);
    free(out);
}

Test(run_device, bad_device_and_check_options)
{
    static const struct {
        const char *args, *msg;
    } cases[] = {
        {"--device csim --check gpu", "--check: expected cpu or cuda[:N]"},
        {"--device csim --check cuda:x", "cuda:x"},
        {"--device cuda --check cuda", "the device is the CUDA engine already"},
        {"--check cpu", "--check: needs --device"},
        {"--device nosuch", "--device nosuch"},
        {"--device xrt:0", "--device xrt:0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char args[1024], *out;
        snprintf(args, sizeof args, "run -m %s.gguf -p hi -n 2 %s", PEER, cases[i].args);
        int st = t_flare(args, &out);
        cr_expect_eq(st, 1, "%s: exit %d: %s", cases[i].args, st, out);
        cr_expect(strstr(out, cases[i].msg), "%s: %s", cases[i].args, out);
        cr_expect(!strchr(out, '\n') || strchr(out, '\n') == out + strlen(out) - 1,
                  "%s: one error line: %s", cases[i].args, out);
        free(out);
    }
}

/* Without a GPU (CI, this machine), --device cuda fails with one line that says which part is
 * missing: the engine library, the driver or the GPU. With one, the run must pass its check. */
Test(run_device, cuda_says_what_is_missing, .timeout = 240)
{
    char *out;
    int st = t_flare("run -m " PEER ".gguf -p 'Once upon a time' --device cuda --check cpu "
                     "-n 8 --temp 0",
                     &out);
    if (st == 0) {
        cr_assert(strstr(out, "cross-check: device cuda against the cpu reference engine") &&
                      strstr(out, "check: PASS (free)"),
                  "%s", out);
    } else {
        cr_assert_eq(st, 1, "exit %d: %s", st, out);
        cr_assert(strstr(out, "no CUDA driver") || strstr(out, "no GPU") ||
                      strstr(out, "built without the CUDA engine"),
                  "%s", out);
        cr_assert_eq(strchr(out, '\n'), out + strlen(out) - 1, "one line: %s", out);
        free(out);
        /* flare check --device cuda says the same */
        cr_assert_eq(t_flare("check -m " PEER ".gguf --device cuda --prompts 1", &out), 1,
                     "%s", out);
        cr_assert(strstr(out, "--device cuda: ") && !strstr(out, "per layer"), "%s", out);
        free(out);
        /* flare bench says the same, before printing any table */
        cr_assert_eq(t_flare("bench -m " PEER ".gguf --device cuda -r 1", &out), 1, "%s", out);
        cr_assert(strstr(out, "--device cuda: ") && !strstr(out, "| model"), "%s", out);
        cr_assert_eq(strchr(out, '\n'), out + strlen(out) - 1, "one line: %s", out);
    }
    free(out);
    cr_assert_eq(t_flare("run -m " PEER ".gguf -p hi --device cuda:x -n 2", &out), 1);
    cr_assert(strstr(out, "cuda:x") && strchr(out, '\n') == out + strlen(out) - 1, "%s", out);
    free(out);
}

/* --check cuda: any device cross-checked against the CUDA engine, with the CPU check's table.
 * Without a GPU it fails before running anything, in one line saying what is missing; with one,
 * csim must pass against it (teacher-forced in flare check, free-running in flare run). */
Test(run_device, check_against_cuda, .timeout = 240)
{
    char *out;
    int st = t_flare("run -m " PEER ".gguf -p 'Once upon a time' --device csim --check cuda "
                     "-n 8 --temp 0",
                     &out);
    if (st == 0) {
        cr_assert(strstr(out, "against the cuda reference engine"), "%s", out);
        cr_assert(strstr(out, "check: PASS"), "%s", out);
        free(out);
        cr_assert_eq(t_flare("check -m " PEER ".gguf --device csim --ref cuda -n 4 --prompts 2",
                             &out),
                     0, "%s", out);
        cr_assert(strstr(out, "against the cuda reference") && strstr(out, "check: PASS"), "%s",
                  out);
    } else {
        cr_assert_eq(st, 1, "exit %d: %s", st, out);
        cr_assert(strstr(out, "--check cuda: "), "%s", out);
        cr_assert(strstr(out, "no CUDA driver") || strstr(out, "no GPU") ||
                      strstr(out, "built without the CUDA engine"),
                  "%s", out);
        cr_assert_eq(strchr(out, '\n'), out + strlen(out) - 1, "one line: %s", out);
        free(out);
        cr_assert_eq(t_flare("check -m " PEER ".gguf --ref cuda:0", &out), 1, "%s", out);
        cr_assert(strstr(out, "--ref cuda:0: ") && !strstr(out, "per layer"), "%s", out);
    }
    free(out);
}

/* The CUDA engine's code paths in the CLI, on any machine: this build's CUDA host emulator
 * (the same engine source on the CPU, docs/cuda.md) behind FLARE_CUDA_LIB, on llama.cpp's
 * stories15M-Q8_0. run --device cuda passes its check against the CPU engine, csim passes
 * against it, and bench names it as the emulator (its speeds are not a GPU's). */
Test(run_device, cuda_emulator_through_the_cli, .timeout = 240)
{
    char lib[4096];
    if (t_build_lib(NULL, "libflare_cuda_emu.so", lib, sizeof lib))
        cr_skip_test("%s not built", lib);
    setenv("FLARE_CUDA_LIB", lib, 1);
    char *out;
    int st = t_flare("run -m " PEER ".gguf -p 'Once upon a time' --device cuda --check cpu "
                     "-n 8 --temp 0",
                     &out);
    cr_assert_eq(st, 0, "exit %d: %s", st, out);
    /* the cross-check's table: per layer, then per forward pass (the prompt, 7 steps) */
    cr_expect(strstr(out, "cross-check: device cuda against the cpu reference engine") &&
                  strstr(out, "per layer (residual stream after the layer, worst token row; "
                              "free-running device)") &&
                  strstr(out, "check: PASS (free)") && strstr(out, "top-1 agree 8/8"),
              "%s", out);
    cr_expect(strstr(out, "CUDA emulator on the CPU (not a GPU"), "%s", out);
    free(out);
    st = t_flare("run -m " PEER ".gguf -p 'Once upon a time' --device csim --check cuda -n 4 "
                 "--temp 0",
                 &out);
    cr_assert_eq(st, 0, "exit %d: %s", st, out);
    cr_expect(strstr(out, "against the cuda reference engine") && strstr(out, "check: PASS"),
              "%s", out);
    free(out);
    st = t_flare("check -m " PEER ".gguf --device cuda --prompts 1 -n 4", &out);
    cr_assert_eq(st, 0, "exit %d: %s", st, out);
    cr_expect(strstr(out, "free-running (an engine has no input hook)") &&
                  strstr(out, "cross-check: device cuda against the cpu reference engine") &&
                  strstr(out, "check: PASS (free)"),
              "%s", out);
    free(out);
    st = t_flare("check -m " PEER ".gguf --device cuda --ref cuda", &out);
    cr_expect_eq(st, 1, "exit %d: %s", st, out);
    cr_expect(strstr(out, "the device is the CUDA engine already"), "%s", out);
    free(out);
    /* the emulator's launch profile: 39 kernels a single-token forward pass on this 6-layer
     * model (the embedding, its norm, 6 a layer: q/k/v + RoPE, attention, Q8_0 of its output
     * (head dim 48 is no multiple of 32), Wo + norm, gate/up + SwiGLU, down + norm; the output)
     * for the prompt and one step, and 13 at load (the norm weights: 2 a layer and the output
     * norm) */
    setenv("FLCU_EMU_PROFILE", "1", 1);
    st = t_flare("run -m " PEER ".gguf --prompt-ids 1 --device cuda -n 2 --temp 0", &out);
    unsetenv("FLCU_EMU_PROFILE");
    cr_assert_eq(st, 0, "exit %d: %s", st, out);
    cr_expect(strstr(out, "91 launches in all") && strstr(out, "mmq_kernel<8, 1>"), "%s", out);
    free(out);
    st = t_flare("bench -m " PEER ".gguf --device cuda -p 16 -n 4 -r 1", &out);
    cr_assert_eq(st, 0, "exit %d: %s", st, out);
    cr_expect(strstr(out, " tg4 |") && strstr(out, " pp16 |"), "%s", out);
    cr_expect(strstr(out, "device-to-device copy bandwidth") &&
                  strstr(out, "CUDA emulator on the CPU (not a GPU"),
              "%s", out);
    free(out);
}
