/* common/exe_dir.h: where the running program lives, for finding the libraries flare loads at
 * run time beside it (build/flare finds build/libflare_cuda.so and build/libflare_xrtsim.so). */
#ifndef FLARE_COMMON_EXE_DIR_H
#define FLARE_COMMON_EXE_DIR_H

#include <stddef.h>

/* Directory of the running program (/proc/self/exe) with a trailing '/' into dir; "" when it
 * cannot be read or does not fit. */
void fl_exe_dir(char *dir, size_t n);

#endif
