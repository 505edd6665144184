/* Metadata micro-benchmarks for bench/fusedev.sh: a tight C loop, so the
 * loop itself is never the bottleneck. Prints the elapsed seconds.
 *
 *   fusedev-meta missing DIR N   stat DIR/nx<i>, i < N (each must be ENOENT)
 *   fusedev-meta create  DIR N   open(O_CREAT) + write 4 KiB + close DIR/f<i>
 *   fusedev-meta stat    DIR N   stat DIR/f<i>
 *   fusedev-meta readdir DIR N   read the whole directory (must see >= N entries)
 *   fusedev-meta unlink  DIR N   unlink DIR/f<i>
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void die(const char *what, const char *path) {
    fprintf(stderr, "fusedev-meta: %s %s: %s\n", what, path, strerror(errno));
    exit(1);
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s missing|create|stat|readdir|unlink DIR N\n", argv[0]);
        return 2;
    }
    const char *op = argv[1], *dir = argv[2];
    long n = atol(argv[3]);
    char path[4096];
    static char block[4096];
    memset(block, 'x', sizeof block);
    struct stat st;
    double t0 = now();
    if (!strcmp(op, "missing")) {
        for (long i = 0; i < n; i++) {
            snprintf(path, sizeof path, "%s/nx%ld", dir, i);
            if (stat(path, &st) == 0 || errno != ENOENT) die("stat (expected ENOENT)", path);
        }
    } else if (!strcmp(op, "create")) {
        for (long i = 0; i < n; i++) {
            snprintf(path, sizeof path, "%s/f%ld", dir, i);
            int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
            if (fd < 0) die("open", path);
            if (write(fd, block, sizeof block) != (ssize_t)sizeof block) die("write", path);
            if (close(fd) != 0) die("close", path);
        }
    } else if (!strcmp(op, "stat")) {
        for (long i = 0; i < n; i++) {
            snprintf(path, sizeof path, "%s/f%ld", dir, i);
            if (stat(path, &st) != 0) die("stat", path);
        }
    } else if (!strcmp(op, "readdir")) {
        DIR *d = opendir(dir);
        if (!d) die("opendir", dir);
        long seen = 0;
        errno = 0;
        while (readdir(d)) seen++;
        if (errno) die("readdir", dir);
        closedir(d);
        if (seen < n) {
            fprintf(stderr, "fusedev-meta: readdir %s: %ld entries, expected %ld\n", dir, seen, n);
            return 1;
        }
    } else if (!strcmp(op, "unlink")) {
        for (long i = 0; i < n; i++) {
            snprintf(path, sizeof path, "%s/f%ld", dir, i);
            if (unlink(path) != 0) die("unlink", path);
        }
    } else {
        fprintf(stderr, "fusedev-meta: unknown operation %s\n", op);
        return 2;
    }
    printf("%.6f\n", now() - t0);
    return 0;
}
