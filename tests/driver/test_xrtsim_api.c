/* tests/driver/test_xrtsim_api.c: the API checks of libflare_xrtsim.so without kernel runs:
 * every handle check (wrong, stale, other kind: an error, never a crash), buffer bounds, banks,
 * alignment, the host shadow and xrtBOSync, sub-buffers, freed memory, a sparse 1 GiB buffer,
 * argument memory groups, kernel names and the xclbin UUID, device indices and the
 * flsim_configure option strings. Helpers: tests/driver/xrtsim_testlib.h. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "xrtsim_testlib.h"

/* ---- handles: wrong, stale or of another kind -> an error, never a crash ---- */
Test(xrtsim, bad_handles)
{
    xs_load();
    xs_dev v = xs_open("");
    xrtBufferHandle b = A.x.xrtBOAlloc(v.d, 100, 0, 0);
    cr_assert(b, "%s", ERR);
    xrtRunHandle r = A.x.xrtRunOpen(v.k);
    cr_assert(r, "%s", ERR);
    void *bogus[4] = {NULL, (void *)0x1234, v.d, b}; /* the last two: another kind */
    uint8_t buf[16] = {0};
    xuid_t uuid;
    flsim_stats s;
    uint32_t st;
    for (int i = 0; i < 4; i++) {
        void *h = bogus[i];
        if (h != b) {
            errno = 0;
            cr_assert_eq(A.x.xrtBOWrite(h, buf, 4, 0), -1);
            cr_assert_eq(errno, EINVAL);
            cr_assert(strstr(ERR, "xrtBOWrite: handle"), "%s", ERR);
            cr_assert_eq(A.x.xrtBORead(h, buf, 4, 0), -1);
            cr_assert_eq(A.x.xrtBOSync(h, XCL_BO_SYNC_BO_TO_DEVICE, 4, 0), -1);
            cr_assert_eq(A.x.xrtBOAddress(h), 0);
            cr_assert(A.x.xrtBOSubAlloc(h, 4, 0) == NULL);
            cr_assert_eq(A.x.xrtBOFree(h), -1);
        }
        if (h != v.d) {
            cr_assert(A.x.xrtBOAlloc(h, 64, 0, 0) == NULL);
            cr_assert(strstr(ERR, "xrtBOAlloc: handle"), "%s", ERR);
            cr_assert_eq(A.x.xrtDeviceGetXclbinUUID(h, uuid), -1);
            cr_assert_eq(A.x.xrtDeviceLoadXclbinFile(h, "x"), -1);
            cr_assert(A.x.xrtPLKernelOpen(h, uuid, "fl_qmatmul") == NULL);
            cr_assert_eq(A.get_stats(h, &s), -1);
            cr_assert_eq(A.x.xrtDeviceClose(h), -1);
        }
        cr_assert_eq(A.x.xrtKernelClose(h), -1);
        cr_assert_eq(A.x.xrtKernelArgGroupId(h, 0), -1);
        cr_assert(A.x.xrtRunOpen(h) == NULL);
        cr_assert_eq(A.x.xrtRunSetArg(h, 0, b), -1);
        cr_assert_eq(A.x.xrtRunStart(h), -1);
        cr_assert_eq(A.x.xrtRunWaitFor(h, 10), ERT_CMD_STATE_ERROR);
        cr_assert_eq(A.x.xrtRunState(h), ERT_CMD_STATE_ERROR);
        cr_assert_eq(A.run_status(h, &st), -1);
        cr_assert_eq(A.x.xrtRunClose(h), -1);
    }
    /* a run given something that is not a buffer for an address argument */
    cr_assert_eq(A.x.xrtRunSetArg(r, 0, v.k), -1);
    cr_assert(strstr(ERR, "it is a kernel") && strstr(ERR, "argument 0, w"), "%s", ERR);
    cr_assert_eq(A.x.xrtRunSetArg(r, 12, 5u), -1);
    cr_assert(strstr(ERR, "arguments 0..11"), "%s", ERR);
    cr_assert_eq(A.x.xrtRunSetArg(r, -1, 5u), -1);
    cr_assert_eq(A.run_status(r, &st), -1, "not started");
    cr_assert_eq(A.x.xrtRunWaitFor(r, 10), ERT_CMD_STATE_NEW, "nothing started");
    /* stale handles: closed ones stay invalid */
    xrtBufferHandle sub = A.x.xrtBOSubAlloc(b, 10, 20);
    cr_assert(sub, "%s", ERR);
    cr_assert_eq(A.x.xrtBOFree(b), 0);
    cr_assert_eq(A.x.xrtBOWrite(b, buf, 4, 0), -1, "use after free");
    cr_assert(strstr(ERR, "not open"), "%s", ERR);
    cr_assert_eq(A.x.xrtBOFree(b), -1, "double free");
    cr_assert_eq(A.x.xrtBOWrite(sub, buf, 4, 0), 0, "the sub-buffer keeps the storage: %s", ERR);
    cr_assert_eq(A.x.xrtBOFree(sub), 0);
    cr_assert_eq(A.x.xrtRunClose(r), 0);
    cr_assert_eq(A.x.xrtRunClose(r), -1);
    xs_close(&v);
    cr_assert_eq(A.x.xrtKernelClose(v.k), -1);
    cr_assert_eq(A.x.xrtDeviceClose(v.d), -1);
    cr_assert(A.x.xrtBOAlloc(v.d, 64, 0, 0) == NULL);
}

/* ---- buffers: bounds, banks, alignment, shadow and sync ---- */
Test(xrtsim, buffers)
{
    xs_load();
    xs_dev v = xs_open("");
    uint8_t src[256], dst[256];
    for (int i = 0; i < 256; i++)
        src[i] = (uint8_t)(i * 13 + 1);
    xrtBufferHandle b = A.x.xrtBOAlloc(v.d, 200, 0, 3), b2 = A.x.xrtBOAlloc(v.d, 5000, 0, 3);
    cr_assert(b && b2, "%s", ERR);
    uint64_t a = A.x.xrtBOAddress(b), a2 = A.x.xrtBOAddress(b2);
    cr_assert_eq(a % 4096, 0);
    cr_assert_eq(a2 % 4096, 0);
    cr_assert(a2 >= a + 200 || a >= a2 + 5000, "buffers overlap");
    xrtBufferHandle c0 = A.x.xrtBOAlloc(v.d, 64, 0, 0), c31 = A.x.xrtBOAlloc(v.d, 64, 0, 31);
    cr_assert(c0 && c31, "%s", ERR);
    cr_assert(A.x.xrtBOAddress(c31) > A.x.xrtBOAddress(b) && A.x.xrtBOAddress(b) >
              A.x.xrtBOAddress(c0), "bank b in its own address range");
    /* bounds */
    errno = 0;
    cr_assert_eq(A.x.xrtBOWrite(b, src, 100, 150), -1);
    cr_assert_eq(errno, EINVAL);
    cr_assert(strstr(ERR, "xrtBOWrite: 100 bytes at offset 150 exceed the 200-byte buffer"),
              "%s", ERR);
    cr_assert_eq(A.x.xrtBOWrite(b, src, 1, 200), -1);
    cr_assert_eq(A.x.xrtBOWrite(b, src, 2, SIZE_MAX), -1, "offset overflow");
    cr_assert_eq(A.x.xrtBOWrite(b, src, SIZE_MAX, 1), -1, "size overflow");
    cr_assert_eq(A.x.xrtBOWrite(b, NULL, 4, 0), -1);
    cr_assert_eq(A.x.xrtBORead(b, dst, 201, 0), -1);
    cr_assert(strstr(ERR, "xrtBORead: 201 bytes at offset 0"), "%s", ERR);
    cr_assert_eq(A.x.xrtBOSync(b, XCL_BO_SYNC_BO_TO_DEVICE, 8, 196), -1);
    cr_assert(strstr(ERR, "xrtBOSync"), "%s", ERR);
    cr_assert_eq(A.x.xrtBOSync(b, XCL_BO_SYNC_BO_TO_DEVICE, 0, 0), -1, "size 0");
    cr_assert_eq(A.x.xrtBOSync(b, (enum xclBOSyncDirection)7, 8, 0), -1);
    cr_assert(A.x.xrtBOSubAlloc(b, 100, 101) == NULL);
    cr_assert(strstr(ERR, "xrtBOSubAlloc: 100 bytes at offset 101 exceed the 200-byte buffer"),
              "%s", ERR);
    cr_assert(A.x.xrtBOSubAlloc(b, 0, 0) == NULL);
    cr_assert(A.x.xrtBOAlloc(v.d, 0, 0, 0) == NULL);
    cr_assert(A.x.xrtBOAlloc(v.d, 64, 0, 32) == NULL);
    cr_assert(strstr(ERR, "memory group 32"), "%s", ERR);
    cr_assert(A.x.xrtBOAlloc(v.d, 64, 1u << 31, 0) == NULL);
    cr_assert(strstr(ERR, "flags"), "%s", ERR);
    /* host shadow vs device: a write is not on the device until synced */
    cr_assert_eq(A.x.xrtBOWrite(b, src, 200, 0), 0);
    cr_assert_eq(A.x.xrtBORead(b, dst, 200, 0), 0);
    cr_assert(memcmp(dst, src, 200) == 0);
    cr_assert_eq(A.x.xrtBOSync(b, XCL_BO_SYNC_BO_FROM_DEVICE, 200, 0), 0);
    cr_assert_eq(A.x.xrtBORead(b, dst, 200, 0), 0);
    for (int i = 0; i < 200; i++)
        cr_assert_eq(dst[i], 0, "the device had zeros, the sync from it brings them");
    cr_assert_eq(A.x.xrtBOWrite(b, src, 200, 0), 0);
    cr_assert_eq(A.x.xrtBOSync(b, XCL_BO_SYNC_BO_TO_DEVICE, 100, 50), 0);
    memset(dst, 0x77, sizeof dst);
    cr_assert_eq(A.x.xrtBOWrite(b, dst, 200, 0), 0);
    cr_assert_eq(A.x.xrtBOSync(b, XCL_BO_SYNC_BO_FROM_DEVICE, 200, 0), 0);
    cr_assert_eq(A.x.xrtBORead(b, dst, 200, 0), 0);
    for (int i = 0; i < 200; i++)
        cr_assert_eq(dst[i], i >= 50 && i < 150 ? src[i] : 0, "byte %d after partial syncs", i);
    /* sub-buffers see the parent's bytes at their offset */
    xrtBufferHandle s = A.x.xrtBOSubAlloc(b, 40, 60);
    cr_assert(s, "%s", ERR);
    cr_assert_eq(A.x.xrtBOAddress(s), a + 60);
    cr_assert_eq(A.x.xrtBORead(s, dst, 40, 0), 0);
    cr_assert(memcmp(dst, src + 60, 40) == 0);
    cr_assert_eq(A.x.xrtBOWrite(s, src, 41, 0), -1);
    cr_assert_eq(A.x.xrtBOFree(s), 0);
    /* freed memory comes back zeroed */
    cr_assert_eq(A.x.xrtBOFree(b), 0);
    xrtBufferHandle b3 = A.x.xrtBOAlloc(v.d, 200, 0, 3);
    cr_assert(b3, "%s", ERR);
    cr_assert_eq(A.x.xrtBORead(b3, dst, 200, 0), 0);
    for (int i = 0; i < 200; i++)
        cr_assert_eq(dst[i], 0);
    /* a buffer of 1 GiB costs only what is written */
    xrtBufferHandle big = A.x.xrtBOAlloc(v.d, (size_t)1 << 30, 0, 5);
    cr_assert(big, "%s", ERR);
    cr_assert_eq(A.x.xrtBOWrite(big, src, 256, ((size_t)1 << 30) - 256), 0);
    cr_assert_eq(A.x.xrtBOSync(big, XCL_BO_SYNC_BO_TO_DEVICE, 256, ((size_t)1 << 30) - 256), 0);
    cr_assert(A.x.xrtBOAlloc(v.d, ((size_t)3 << 30) + 1, 0, 5) == NULL, "bank 5 is 4 GiB");
    cr_assert(strstr(ERR, "bank 5 has no free range"), "%s", ERR);
    cr_assert_eq(A.x.xrtBOFree(big), 0);
    cr_assert_eq(A.x.xrtBOFree(b2), 0);
    cr_assert_eq(A.x.xrtBOFree(b3), 0);
    cr_assert_eq(A.x.xrtBOFree(c0), 0);
    cr_assert_eq(A.x.xrtBOFree(c31), 0);
    /* argument memory groups */
    cr_assert_eq(A.x.xrtKernelArgGroupId(v.k, 0), 0);
    cr_assert_eq(A.x.xrtKernelArgGroupId(v.k, 5), 0);
    cr_assert_eq(A.x.xrtKernelArgGroupId(v.k, 6), -1);
    cr_assert(strstr(ERR, "argument 6 (wtype) is a scalar"), "%s", ERR);
    cr_assert_eq(A.x.xrtKernelArgGroupId(v.k, 12), -1);
    xs_close(&v);
}

/* ---- kernel names, xclbin, device index ---- */
Test(xrtsim, kernels_and_xclbin)
{
    xs_load();
    cr_assert_eq(A.configure(""), 0);
    cr_assert(A.x.xrtDeviceOpen(1) == NULL);
    cr_assert(strstr(ERR, "only device 0"), "%s", ERR);
    xrtDeviceHandle d = A.x.xrtDeviceOpen(0);
    cr_assert(d, "%s", ERR);
    errno = 0;
    cr_assert_eq(A.x.xrtDeviceLoadXclbinFile(d, "/nonexistent/flare.xclbin"), -1);
    cr_assert_eq(errno, ENOENT);
    cr_assert(strstr(ERR, "cannot read '/nonexistent/flare.xclbin'"), "%s", ERR);
    cr_assert_eq(A.x.xrtDeviceLoadXclbinFile(d, NULL), -1);
    cr_assert_eq(A.x.xrtDeviceLoadXclbinFile(d, FLARE_SRCDIR), -1, "a directory");
    cr_assert(strstr(ERR, "cannot read"), "%s", ERR);
    cr_assert_eq(A.x.xrtDeviceLoadXclbinFile(d, FLARE_SRCDIR "/Makefile"), 0, "%s", ERR);
    xuid_t u1, u2;
    cr_assert_eq(A.x.xrtDeviceGetXclbinUUID(d, u1), 0);
    cr_assert_eq(A.x.xrtDeviceGetXclbinUUID(d, u2), 0);
    cr_assert(memcmp(u1, u2, sizeof u1) == 0);
    cr_assert(A.x.xrtPLKernelOpen(d, u1, "fl_attention") == NULL);
    cr_assert(strstr(ERR, "no kernel 'fl_attention'") && strstr(ERR, "only fl_qmatmul"), "%s",
              ERR);
    cr_assert(A.x.xrtPLKernelOpen(d, u1, "fl_qmatmulx") == NULL);
    cr_assert(A.x.xrtPLKernelOpen(d, u1, "") == NULL);
    cr_assert(A.x.xrtPLKernelOpen(d, u1, NULL) == NULL);
    xuid_t other;
    memcpy(other, u1, sizeof other);
    other[3] ^= 1;
    cr_assert(A.x.xrtPLKernelOpen(d, other, "fl_qmatmul") == NULL);
    cr_assert(strstr(ERR, "UUID"), "%s", ERR);
    xrtKernelHandle k = A.x.xrtPLKernelOpen(d, u1, "fl_qmatmul:{fl_qmatmul_1}");
    cr_assert(k, "%s", ERR);
    /* registers need an exclusive open, which needs the compute unit unopened */
    uint32_t v = 0;
    cr_assert_eq(A.x.xrtKernelReadRegister(k, FL_QMATMUL_REG_STATUS, &v), -1);
    cr_assert(strstr(ERR, "not opened exclusively"), "%s", ERR);
    cr_assert(A.x.xrtPLKernelOpenExclusive(d, u1, "fl_qmatmul") == NULL);
    cr_assert(strstr(ERR, "already open"), "%s", ERR);
    xrtKernelHandle k2 = A.x.xrtPLKernelOpen(d, u1, "fl_qmatmul");
    cr_assert(k2, "a second shared open: %s", ERR);
    cr_assert_eq(A.x.xrtKernelClose(k2), 0);
    cr_assert_eq(A.x.xrtKernelClose(k), 0);
    xrtKernelHandle ke = A.x.xrtPLKernelOpenExclusive(d, u1, "fl_qmatmul");
    cr_assert(ke, "%s", ERR);
    cr_assert(A.x.xrtPLKernelOpen(d, u1, "fl_qmatmul") == NULL, "excluded");
    cr_assert(strstr(ERR, "exclusively"), "%s", ERR);
    /* the register file as the kernel left it after reset: idle, no argument written */
    cr_assert_eq(A.x.xrtKernelReadRegister(ke, FL_REG_CTRL, &v), 0, "%s", ERR);
    cr_assert_eq(v & (FL_CTRL_IDLE | FL_CTRL_START), FL_CTRL_IDLE, "control word 0x%x", v);
    cr_assert_eq(A.x.xrtKernelReadRegister(ke, FL_QMATMUL_REG_STATUS + 2, &v), -1, "unaligned");
    cr_assert_eq(A.x.xrtKernelReadRegister(ke, FL_QMATMUL_REG_END, &v), -1, "past the end");
    cr_assert_eq(A.x.xrtKernelReadRegister(ke, FL_REG_CTRL, NULL), -1);
    cr_assert_eq(A.x.xrtKernelReadRegister((xrtKernelHandle)d, FL_REG_CTRL, &v), -1);
    cr_assert_eq(A.x.xrtKernelClose(ke), 0);
    cr_assert_eq(A.x.xrtDeviceClose(d), 0);
}

/* ---- flsim_configure ---- */
Test(xrtsim, options)
{
    xs_load();
    static const char *bad[] = {"mem=ddr5", "speed=1", "timeout=abc", "timeout=0", "timeout=-5",
                                "timeout=99999999999999999999999", "mem=ddr4,mem=hbm", "trace=",
                                "garbage", "mem=hbm,", ",", "=x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(A.configure(bad[i]), -1, "'%s' accepted", bad[i]);
        cr_assert(strstr(ERR, "flsim_configure"), "'%s': %s", bad[i], ERR);
    }
    cr_assert_eq(A.configure("mem=ddr5"), -1);
    cr_assert(strstr(ERR, "ddr5") && strstr(ERR, "ddr4 or hbm"), "%s", ERR);
    cr_assert_eq(A.configure("speed=1"), -1);
    cr_assert(strstr(ERR, "unknown option 'speed'"), "%s", ERR);
    cr_assert_eq(A.configure(NULL), 0);
    cr_assert_eq(A.configure(""), 0);
    cr_assert_eq(A.configure("timeout=18446744073709551615,mem=hbm"), 0, "%s", ERR);
    xrtDeviceHandle d = A.x.xrtDeviceOpen(0);
    cr_assert(d, "%s", ERR);
    flsim_stats s;
    cr_assert_eq(A.get_stats(d, &s), 0);
    cr_assert_str_eq(s.mem, "hbm");
    cr_assert_eq(A.get_stats(d, NULL), -1);
    cr_assert_eq(A.x.xrtDeviceClose(d), 0);
    /* a bad option leaves the previous configuration alone? No: it is rejected as a whole and
       the next open uses the defaults of the last good call */
    cr_assert_eq(A.configure("mem=hbm"), 0);
    cr_assert_eq(A.configure("mem=hbm,speed=2"), -1);
    d = A.x.xrtDeviceOpen(0);
    cr_assert(d, "%s", ERR);
    cr_assert_eq(A.get_stats(d, &s), 0);
    cr_assert_str_eq(s.mem, "hbm", "the last good configuration");
    cr_assert_eq(A.x.xrtDeviceClose(d), 0);
    d = A.x.xrtDeviceOpen(0);
    cr_assert_eq(A.get_stats(d, &s), 0);
    cr_assert_str_eq(s.mem, "ddr4", "options apply to one open");
    cr_assert_eq(A.x.xrtDeviceClose(d), 0);
}
