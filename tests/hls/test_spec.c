/* tests/hls/test_spec.c: the kernel-argument tables of flare/kernels.h are self-consistent:
 * arguments start at 0x10 and follow each other without gaps or overlaps (64-bit addresses two
 * words), the status word follows the last one, and fl_kernel_regs places every field. */
#include <criterion/criterion.h>
#include <string.h>

#include "flare/kernels.h"

#define WORDS(kind) FL_ARG_WORDS_##kind
#define CHECK_OFF(name, kind, off)                                                              \
    cr_assert_eq((off), next, #name " at 0x%x, expected 0x%x", (unsigned)(off), next);         \
    next += 4u * WORDS(kind);

Test(kernel_spec, qmatmul_offsets_contiguous)
{
    uint32_t next = FL_REG_ARGS;
    FL_QMATMUL_ARGS(CHECK_OFF)
    cr_assert_eq(FL_QMATMUL_REG_STATUS, next);
    cr_assert_eq(FL_QMATMUL_REG_END, next + 4);
}

Test(kernel_spec, attention_offsets_contiguous)
{
    uint32_t next = FL_REG_ARGS;
    FL_ATTENTION_ARGS(CHECK_OFF)
    cr_assert_eq(FL_ATTENTION_REG_STATUS, next);
    cr_assert_eq(FL_ATTENTION_REG_END, next + 4);
}

Test(kernel_spec, register_image)
{
    fl_kernel_call c = {.kernel = FL_KERNEL_QMATMUL};
    c.u.qmm = (fl_qmatmul_args){0x1122334455667788ull, 2, 3, 4, 5, 0xAABBCCDD00000010ull,
                                8, 4096, 2048, 7, FL_QMM_NORM, 1e-5f};
    uint32_t regs[64];
    memset(regs, 0, sizeof regs);
    cr_assert_eq(fl_kernel_regs(&c, regs), FL_QMATMUL_REG_END / 4);
    cr_assert_eq(regs[0x10 / 4], 0x55667788u);
    cr_assert_eq(regs[0x14 / 4], 0x11223344u);
    cr_assert_eq(regs[0x38 / 4], 0x00000010u);
    cr_assert_eq(regs[0x3C / 4], 0xAABBCCDDu);
    cr_assert_eq(regs[0x44 / 4], 4096u);
    cr_assert_eq(regs[0x4C / 4], 7u);
    cr_assert_eq(regs[0x54 / 4], 0x3727c5acu, "eps as IEEE bits");
    cr_assert_eq(regs[0], 0u, "control words untouched");
    fl_kernel_call back;
    cr_assert_eq(fl_kernel_from_regs(FL_KERNEL_QMATMUL, regs, &back), 0);
    cr_assert(memcmp(&back.u.qmm, &c.u.qmm, sizeof c.u.qmm) == 0, "qmatmul round trip");

    fl_kernel_call a = {.kernel = FL_KERNEL_ATTENTION};
    a.u.att = (fl_attention_args){0x100000001000ull, 0x2000, 0x3000, 0x4000, 0xFFFFFFFF00005000ull,
                                  21, 2047, 1, 32, 4, 64, 64, FL_ATT_KV_INT8};
    memset(regs, 0, sizeof regs);
    cr_assert_eq(fl_kernel_regs(&a, regs), FL_ATTENTION_REG_END / 4);
    cr_assert_eq(regs[0x34 / 4], 0xFFFFFFFFu);
    cr_assert_eq(regs[0x3C / 4], 2047u);
    cr_assert_eq(fl_kernel_from_regs(FL_KERNEL_ATTENTION, regs, &back), 0);
    cr_assert(memcmp(&back.u.att, &a.u.att, sizeof a.u.att) == 0, "attention round trip");

    c.kernel = 9;
    cr_assert_eq(fl_kernel_regs(&c, regs), 0);
    cr_assert_eq(fl_kernel_from_regs(9, regs, &back), -1);
    cr_assert_str_eq(fl_kstatus_name(FL_KST_CTX_FULL), "context full");
    cr_assert_str_eq(fl_kstatus_name(99), "?");
}
