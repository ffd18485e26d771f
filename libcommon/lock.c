/*
 * lock.c: flock-based per-object locks (see lock.h).
 *
 * The holder's pid is written into the lock file after the lock is taken
 * and cleared before it is released, so a process that finds the lock
 * busy can say who has it. The pid is advisory, for the message only;
 * the flock alone decides. Bounded waits poll with flock(LOCK_NB) and a
 * short sleep; an endless wait blocks in flock itself. Either wait ends
 * early when a signal handler runs (ofs's SIGINT/SIGTERM handlers are
 * installed without SA_RESTART), so a run told to stop does not hang on
 * a lock.
 */
#include "common.h"
#include <fcntl.h>
#include <sys/file.h>

#include "lock.h"

#define POLL_MIN_MS 5
#define POLL_MAX_MS 100

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleep; -1 with EINTR if a signal handler ran meanwhile. */
static int sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	return nanosleep(&ts, NULL);
}

/* The pid the holder wrote into the file, or 0 if there is none. */
static long holder_pid(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	char *end;
	errno = 0;
	long pid = strtol(buf, &end, 10);
	if (errno || end == buf || (*end && *end != '\n') || pid <= 0)
		return 0;
	return pid;
}

/* Record our pid; a failure only loses the pid in others' messages. */
static void write_pid(int fd)
{
	char pid[32];
	int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	int written = ftruncate(fd, 0) == 0 && pwrite(fd, pid, (size_t)n, 0) == n;
	(void)written;
}

/* Not locked, because of e: say why, close fd, return -1 with errno e. */
static int give_up(int fd, const char *path, int e, struct strbuf *err)
{
	if (err && e == EWOULDBLOCK) {
		long pid = holder_pid(fd);
		sb_addf(err, "'%s' is locked by another ofs run", path);
		if (pid)
			sb_addf(err, " (pid %ld)", pid);
	} else if (err && e == EINTR) {
		sb_addf(err, "interrupted while waiting for '%s'", path);
	} else if (err) {
		sb_addf(err, "cannot lock '%s': %s", path, strerror(e));
	}
	close(fd);
	errno = e;
	return -1;
}

int lock_acquire(const char *path, int wait_ms, struct strbuf *err)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		int e = errno;
		if (err)
			sb_addf(err, "cannot open lock file '%s': %s", path, strerror(e));
		errno = e;
		return -1;
	}
	if (wait_ms < 0) {
		if (flock(fd, LOCK_EX) < 0)
			return give_up(fd, path, errno, err);
	} else {
		int64_t deadline = now_ms() + wait_ms;
		int nap = POLL_MIN_MS;
		while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			int e = errno;
			int64_t left = deadline - now_ms();
			if (e != EWOULDBLOCK || left <= 0)
				return give_up(fd, path, e, err);
			if (sleep_ms(left < nap ? (int)left : nap) < 0)
				return give_up(fd, path, errno, err);
			nap = nap * 2 > POLL_MAX_MS ? POLL_MAX_MS : nap * 2;
		}
	}
	write_pid(fd);
	return fd;
}

void lock_release(int fd)
{
	if (fd < 0)
		return;
	/* clearing the pid is a courtesy; the next holder overwrites it anyway */
	int cleared = ftruncate(fd, 0);
	(void)cleared;
	close(fd);
}
