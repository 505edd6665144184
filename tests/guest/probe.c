/*
 * arcbox-probe: the guest-side helper of the virtio-fs guest tests and
 * benchmarks. Busybox has no xattr applets and a shell loop measures fork()
 * rather than the filesystem, so these few operations live here. Built
 * statically (gcc -static) by build-initramfs.sh and run inside the guest.
 *
 * Subcommands (exit status 0 on success, 1 on failure, 2 on bad usage):
 *   xattr-set PATH NAME VALUE     setxattr(2)
 *   xattr-get PATH NAME           prints the value on stdout
 *   xattr-list PATH               prints the names, one per line
 *   xattr-rm PATH NAME            removexattr(2)
 *   storm DIR N                   N lookups of distinct missing names; each
 *                                 must fail with ENOENT (a second pass repeats
 *                                 the same names)
 *   miss DIR N                    the first pass of storm only
 *   stat DIR FILES N              N stats over DIR/f0..f(FILES-1)
 *   create DIR N                  N x (create, write 64 bytes, close, unlink)
 *   readdir DIR N                 N full listings of DIR
 *   seqwrite FILE MIB             writes MIB MiB in 1 MiB writes, then fsync
 *   seqread FILE                  reads FILE in 1 MiB reads
 *   par-meta DIR P N              P processes in parallel, each N x (create,
 *                                 stat, unlink) in its own DIR/pK
 *   par-write DIR P MIB           P processes in parallel, each writes MIB MiB
 *                                 to DIR/wK (1 MiB writes, a pattern seeded by
 *                                 K), then fsync
 *   par-read DIR P                P processes in parallel, each reads DIR/wK in
 *                                 1 MiB reads and checks the pattern
 *   handles MNT FILE DIR          file handles (name_to_handle_at) of FILE,
 *                                 DIR and a file then deleted; drops the
 *                                 kernel's caches (2, then 3); reopens them
 *                                 with open_by_handle_at through MNT: FILE's
 *                                 bytes and DIR's entries must be the same,
 *                                 the deleted file's handle ESTALE
 *   lockwait FILE DIR             holds a write lock on FILE (F_SETLK), forks
 *                                 a child whose F_SETLKW on FILE must wait,
 *                                 and meanwhile looks up 100 missing names in
 *                                 DIR (served while the lock waits), then
 *                                 unlocks: the child must get the lock
 * Benchmark subcommands print one line:
 *   ARCBOX-BENCH <name> ops=<n> ns=<elapsed> bytes=<b>
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void report(const char *name, long long ops, long long ns, long long bytes)
{
	printf("ARCBOX-BENCH %s ops=%lld ns=%lld bytes=%lld\n", name, ops, ns, bytes);
}

static long parse_count(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v <= 0) {
		fprintf(stderr, "arcbox-probe: bad count '%s'\n", s);
		exit(2);
	}
	return v;
}

static int storm(const char *dir, long n, const char *label)
{
	char path[4096];
	long long t0 = now_ns();
	for (long i = 0; i < n; i++) {
		struct stat st;
		snprintf(path, sizeof path, "%s/missing-%ld", dir, i);
		if (stat(path, &st) == 0 || errno != ENOENT) {
			fprintf(stderr, "storm: %s: expected ENOENT, got %s\n", path,
				strerror(errno));
			return 1;
		}
	}
	report(label, n, now_ns() - t0, 0);
	return 0;
}

static int stat_files(const char *dir, long files, long n)
{
	char path[4096];
	long long t0 = now_ns();
	for (long i = 0; i < n; i++) {
		struct stat st;
		snprintf(path, sizeof path, "%s/f%ld", dir, i % files);
		if (stat(path, &st) != 0) {
			perror(path);
			return 1;
		}
	}
	report("stat", n, now_ns() - t0, 0);
	return 0;
}

static int create_unlink(const char *dir, long n)
{
	char path[4096];
	char buf[64];
	memset(buf, 'x', sizeof buf);
	long long t0 = now_ns();
	for (long i = 0; i < n; i++) {
		snprintf(path, sizeof path, "%s/c%ld", dir, i);
		int fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0644);
		if (fd < 0 || write(fd, buf, sizeof buf) != (ssize_t)sizeof buf) {
			perror(path);
			return 1;
		}
		close(fd);
		if (unlink(path) != 0) {
			perror(path);
			return 1;
		}
	}
	report("create-unlink", n, now_ns() - t0, 0);
	return 0;
}

static int list_dir(const char *dir, long n)
{
	long long entries = 0;
	long long t0 = now_ns();
	for (long i = 0; i < n; i++) {
		DIR *d = opendir(dir);
		if (!d) {
			perror(dir);
			return 1;
		}
		while (readdir(d))
			entries++;
		closedir(d);
	}
	report("readdir", n, now_ns() - t0, entries);
	return 0;
}

static int seq_write(const char *file, long mib)
{
	static char buf[1 << 20];
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (char)(i * 7 + 3);
	long long t0 = now_ns();
	int fd = open(file, O_CREAT | O_TRUNC | O_WRONLY, 0644);
	if (fd < 0) {
		perror(file);
		return 1;
	}
	for (long i = 0; i < mib; i++) {
		if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf) {
			perror(file);
			return 1;
		}
	}
	if (fsync(fd) != 0 || close(fd) != 0) {
		perror(file);
		return 1;
	}
	report("seq-write", mib, now_ns() - t0, (long long)mib << 20);
	return 0;
}

static int seq_read(const char *file)
{
	static char buf[1 << 20];
	long long total = 0, ops = 0;
	long long t0 = now_ns();
	int fd = open(file, O_RDONLY);
	if (fd < 0) {
		perror(file);
		return 1;
	}
	for (;;) {
		ssize_t r = read(fd, buf, sizeof buf);
		if (r < 0) {
			perror(file);
			return 1;
		}
		if (r == 0)
			break;
		total += r;
		ops++;
	}
	close(fd);
	report("seq-read", ops, now_ns() - t0, total);
	return 0;
}

/* The byte at offset OFF of the file written by parallel writer K. */
static char pattern(long k, long long off)
{
	return (char)((off * 7 + 3 + k * 31) ^ (off >> 20));
}

/* Runs child(k, a, b) in P processes and waits for all; 0 when all succeed. */
static int fan_out(long p, int (*child)(long, const char *, long), const char *a, long b)
{
	int failed = 0;
	for (long k = 0; k < p; k++) {
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0)
			_exit(child(k, a, b));
	}
	for (long k = 0; k < p; k++) {
		int status;
		if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed = 1;
	}
	return failed;
}

static int meta_child(long k, const char *dir, long n)
{
	char sub[2048], path[4096];
	snprintf(sub, sizeof sub, "%s/p%ld", dir, k);
	if (mkdir(sub, 0755) != 0 && errno != EEXIST) {
		perror(sub);
		return 1;
	}
	for (long i = 0; i < n; i++) {
		struct stat st;
		snprintf(path, sizeof path, "%s/m%ld", sub, i);
		int fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0644);
		if (fd < 0 || close(fd) != 0 || stat(path, &st) != 0 || unlink(path) != 0) {
			perror(path);
			return 1;
		}
	}
	return 0;
}

static int write_child(long k, const char *dir, long mib)
{
	static char buf[1 << 20];
	char path[4096];
	snprintf(path, sizeof path, "%s/w%ld", dir, k);
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
	if (fd < 0) {
		perror(path);
		return 1;
	}
	for (long i = 0; i < mib; i++) {
		for (size_t j = 0; j < sizeof buf; j++)
			buf[j] = pattern(k, ((long long)i << 20) + (long long)j);
		if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf) {
			perror(path);
			return 1;
		}
	}
	if (fsync(fd) != 0 || close(fd) != 0) {
		perror(path);
		return 1;
	}
	return 0;
}

static int read_child(long k, const char *dir, long unused)
{
	static char buf[1 << 20];
	char path[4096];
	long long off = 0;
	(void)unused;
	snprintf(path, sizeof path, "%s/w%ld", dir, k);
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		perror(path);
		return 1;
	}
	for (;;) {
		ssize_t r = read(fd, buf, sizeof buf);
		if (r < 0) {
			perror(path);
			return 1;
		}
		if (r == 0)
			break;
		for (ssize_t j = 0; j < r; j++) {
			if (buf[j] != pattern(k, off + j)) {
				fprintf(stderr, "par-read: %s: wrong byte at %lld\n", path, off + j);
				return 1;
			}
		}
		off += r;
	}
	close(fd);
	return off > 0 ? 0 : 1;
}

static int par_meta(const char *dir, long p, long n)
{
	long long t0 = now_ns();
	if (fan_out(p, meta_child, dir, n))
		return 1;
	report("par-meta", p * n, now_ns() - t0, 0);
	return 0;
}

static int par_write(const char *dir, long p, long mib)
{
	long long t0 = now_ns();
	if (fan_out(p, write_child, dir, mib))
		return 1;
	report("par-write", p * mib, now_ns() - t0, (p * mib) << 20);
	return 0;
}

static int par_read(const char *dir, long p)
{
	struct stat st;
	long long bytes = 0;
	char path[4096];
	for (long k = 0; k < p; k++) {
		snprintf(path, sizeof path, "%s/w%ld", dir, k);
		if (stat(path, &st) != 0) {
			perror(path);
			return 1;
		}
		bytes += st.st_size;
	}
	long long t0 = now_ns();
	if (fan_out(p, read_child, dir, 0))
		return 1;
	report("par-read", bytes >> 20, now_ns() - t0, bytes);
	return 0;
}

static struct file_handle *handle_of(const char *path)
{
	struct file_handle *h = malloc(sizeof *h + MAX_HANDLE_SZ);
	int mnt;
	if (!h)
		return NULL;
	h->handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(AT_FDCWD, path, h, &mnt, 0) != 0) {
		fprintf(stderr, "handles: name_to_handle_at %s: %s\n", path, strerror(errno));
		free(h);
		return NULL;
	}
	return h;
}

static long count_entries(DIR *d)
{
	long n = 0;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static int drop_caches(const char *how)
{
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
	sync();
	if (fd < 0 || write(fd, how, 1) != 1) {
		perror("drop_caches");
		return 1;
	}
	close(fd);
	return 0;
}

static int handles(const char *mnt, const char *file, const char *dir)
{
	char want[4096], got[4096], gone[4096];
	int fd = open(file, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, want, sizeof want);
	if (n <= 0) {
		perror(file);
		return 1;
	}
	close(fd);
	DIR *d = opendir(dir);
	if (!d) {
		perror(dir);
		return 1;
	}
	long entries = count_entries(d);
	snprintf(gone, sizeof gone, "%s/handle-gone", dir);
	fd = open(gone, O_CREAT | O_WRONLY, 0644);
	if (fd < 0) {
		perror(gone);
		return 1;
	}
	close(fd);
	struct file_handle *hf = handle_of(file), *hd = handle_of(dir), *hg = handle_of(gone);
	if (!hf || !hd || !hg || unlink(gone) != 0)
		return 1;
	for (int round = 0; round < 2; round++) {
		if (drop_caches(round == 0 ? "2" : "3"))
			return 1;
		int mfd = open(mnt, O_RDONLY | O_DIRECTORY);
		if (mfd < 0) {
			perror(mnt);
			return 1;
		}
		fd = open_by_handle_at(mfd, hf, O_RDONLY);
		if (fd < 0 || read(fd, got, sizeof got) != n || memcmp(want, got, (size_t)n) != 0) {
			fprintf(stderr, "handles: %s by handle: %s\n", file,
				fd < 0 ? strerror(errno) : "other bytes");
			return 1;
		}
		close(fd);
		fd = open_by_handle_at(mfd, hd, O_RDONLY | O_DIRECTORY);
		DIR *dd = fd < 0 ? NULL : fdopendir(fd);
		long e = dd ? count_entries(dd) : -1;
		if (e != entries) {
			fprintf(stderr, "handles: %s by handle: %s (%ld entries, want %ld)\n", dir,
				fd < 0 ? strerror(errno) : "listed", e, entries);
			return 1;
		}
		fd = open_by_handle_at(mfd, hg, O_RDONLY);
		if (fd >= 0 || errno != ESTALE) {
			fprintf(stderr, "handles: deleted file by handle: %s, want ESTALE\n",
				fd >= 0 ? "opened" : strerror(errno));
			return 1;
		}
		close(mfd);
	}
	return 0;
}

static int set_lock(int fd, int cmd, short type)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0 };
	return fcntl(fd, cmd, &fl);
}

static int lock_wait(const char *file, const char *dir)
{
	char path[4096];
	int fd = open(file, O_RDWR | O_CREAT, 0644);
	if (fd < 0 || set_lock(fd, F_SETLK, F_WRLCK) != 0) {
		perror("lockwait: lock");
		return 1;
	}
	pid_t child = fork();
	if (child < 0) {
		perror("fork");
		return 1;
	}
	if (child == 0) {
		int cfd = open(file, O_RDWR);
		if (cfd < 0 || set_lock(cfd, F_SETLKW, F_WRLCK) != 0) {
			perror("lockwait: child F_SETLKW");
			_exit(1);
		}
		_exit(0);
	}
	/* Let the child's SETLKW reach the daemon and wait there. */
	usleep(500000);
	for (int i = 0; i < 100; i++) {
		struct stat st;
		snprintf(path, sizeof path, "%s/lockwait-missing-%d", dir, i);
		if (stat(path, &st) == 0 || errno != ENOENT) {
			fprintf(stderr, "lockwait: %s: not ENOENT\n", path);
			return 1;
		}
	}
	int status;
	if (waitpid(child, &status, WNOHANG) != 0) {
		fprintf(stderr, "lockwait: the child's F_SETLKW did not wait\n");
		return 1;
	}
	if (set_lock(fd, F_SETLK, F_UNLCK) != 0) {
		perror("lockwait: unlock");
		return 1;
	}
	if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "lockwait: the child did not get the lock\n");
		return 1;
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		goto usage;
	const char *cmd = argv[1];
	if (!strcmp(cmd, "xattr-set") && argc == 5) {
		if (setxattr(argv[2], argv[3], argv[4], strlen(argv[4]), 0) != 0) {
			perror("setxattr");
			return 1;
		}
		return 0;
	}
	if (!strcmp(cmd, "xattr-get") && argc == 4) {
		char buf[4096];
		ssize_t n = getxattr(argv[2], argv[3], buf, sizeof buf);
		if (n < 0) {
			perror("getxattr");
			return 1;
		}
		fwrite(buf, 1, (size_t)n, stdout);
		putchar('\n');
		return 0;
	}
	if (!strcmp(cmd, "xattr-list") && argc == 3) {
		char buf[8192];
		ssize_t n = listxattr(argv[2], buf, sizeof buf);
		if (n < 0) {
			perror("listxattr");
			return 1;
		}
		for (ssize_t i = 0; i < n; i += (ssize_t)strlen(buf + i) + 1)
			puts(buf + i);
		return 0;
	}
	if (!strcmp(cmd, "xattr-rm") && argc == 4) {
		if (removexattr(argv[2], argv[3]) != 0) {
			perror("removexattr");
			return 1;
		}
		return 0;
	}
	if (!strcmp(cmd, "storm") && argc == 4) {
		long n = parse_count(argv[3]);
		if (storm(argv[2], n, "lookup-miss"))
			return 1;
		return storm(argv[2], n, "lookup-miss-repeat");
	}
	if (!strcmp(cmd, "miss") && argc == 4)
		return storm(argv[2], parse_count(argv[3]), "lookup-miss");
	if (!strcmp(cmd, "stat") && argc == 5)
		return stat_files(argv[2], parse_count(argv[3]), parse_count(argv[4]));
	if (!strcmp(cmd, "create") && argc == 4)
		return create_unlink(argv[2], parse_count(argv[3]));
	if (!strcmp(cmd, "readdir") && argc == 4)
		return list_dir(argv[2], parse_count(argv[3]));
	if (!strcmp(cmd, "seqwrite") && argc == 4)
		return seq_write(argv[2], parse_count(argv[3]));
	if (!strcmp(cmd, "seqread") && argc == 3)
		return seq_read(argv[2]);
	if (!strcmp(cmd, "par-meta") && argc == 5)
		return par_meta(argv[2], parse_count(argv[3]), parse_count(argv[4]));
	if (!strcmp(cmd, "par-write") && argc == 5)
		return par_write(argv[2], parse_count(argv[3]), parse_count(argv[4]));
	if (!strcmp(cmd, "par-read") && argc == 4)
		return par_read(argv[2], parse_count(argv[3]));
	if (!strcmp(cmd, "handles") && argc == 5)
		return handles(argv[2], argv[3], argv[4]);
	if (!strcmp(cmd, "lockwait") && argc == 4)
		return lock_wait(argv[2], argv[3]);
usage:
	fprintf(stderr, "usage: arcbox-probe xattr-set|xattr-get|xattr-list|xattr-rm|"
			"storm|miss|stat|create|readdir|seqwrite|seqread|par-meta|par-write|par-read|"
			"lockwait ARGS...\n");
	return 2;
}
