/* common/exe_dir.c: the running program's directory (common/exe_dir.h). */
#include "common/exe_dir.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void fl_exe_dir(char *dir, size_t n)
{
    char buf[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n)
        dir[0] = 0;
    if (len <= 0 || !n)
        return;
    buf[len] = 0;
    char *slash = strrchr(buf, '/');
    if (slash && (size_t)(slash + 1 - buf) < n) {
        slash[1] = 0;
        snprintf(dir, n, "%s", buf);
    }
}
