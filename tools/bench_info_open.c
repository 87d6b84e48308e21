/* tools/bench_info_open.c: page-cache residency of a file, for tools/bench_info_open.sh.
 *
 *   bench_info_open evict FILE   flush the file and drop its pages from the page cache
 *                                (fdatasync + posix_fadvise DONTNEED; no root needed)
 *   bench_info_open count FILE   print "<resident bytes> <file bytes>" (mmap + mincore)
 *
 * Counting maps the file and asks mincore() which pages are resident; it touches no page, so
 * it does not change what it measures. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int usage(void)
{
    fprintf(stderr, "usage: bench_info_open evict|count FILE\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc != 3)
        return usage();
    int fd = open(argv[2], O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        perror(argv[2]);
        return 1;
    }
    if (!strcmp(argv[1], "evict")) {
        fdatasync(fd);
        int rc = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        if (rc) {
            fprintf(stderr, "%s: posix_fadvise: %s\n", argv[2], strerror(rc));
            return 1;
        }
        close(fd);
        return 0;
    }
    if (strcmp(argv[1], "count"))
        return usage();
    uint64_t size = (uint64_t)st.st_size, page = (uint64_t)sysconf(_SC_PAGESIZE);
    uint64_t pages = (size + page - 1) / page, resident = 0;
    if (size) {
        void *map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
        unsigned char *vec = malloc(pages);
        if (map == MAP_FAILED || !vec || mincore(map, size, vec) != 0) {
            perror("mmap/mincore");
            return 1;
        }
        for (uint64_t i = 0; i < pages; i++)
            resident += vec[i] & 1;
        munmap(map, size);
        free(vec);
    }
    close(fd);
    printf("%" PRIu64 " %" PRIu64 "\n", resident * page, size);
    return 0;
}
