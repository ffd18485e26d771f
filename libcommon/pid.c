/*
 * pid.c: processes by pid through /proc (see pid.h).
 *
 * ofs-chaos finds the processes its kill and pause faults act on here,
 * and ofs-deploy watches and stops the instances it started. Both need
 * the same care: a pid is trusted only together with its start time, and
 * the process behind a port is found by the listening socket it holds
 * (/proc/net/tcp{,6} for the inode, /proc/PID/fd for its holders) rather
 * than by a pid file that may be stale.
 */
#include "common.h"
#include <dirent.h>
#include <sys/wait.h>

#include "hash.h"
#include "pid.h"
#include "units.h"

/* ---- /proc/PID/stat ---------------------------------------------------- */

int pid_stat(pid_t pid, struct pidstat *st)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* the command name (field 2) may hold blanks and parentheses */
	char *p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || !p[2]) {
		errno = EINVAL;
		return -1;
	}
	p += 2;
	st->state = *p++;
	long long v[19];
	for (int i = 0; i < 19; i++) { /* fields 4..22 */
		char *end;
		errno = 0;
		v[i] = strtoll(p, &end, 10);
		if (end == p || errno) {
			errno = EINVAL;
			return -1;
		}
		p = end;
	}
	st->ppid = (pid_t)v[0];
	st->pgrp = (pid_t)v[1];
	st->session = (pid_t)v[2];
	st->start = (uint64_t)v[18];
	return 0;
}

bool pid_alive(pid_t pid, uint64_t start)
{
	struct pidstat st;
	if (pid <= 0 || pid_stat(pid, &st) < 0)
		return false;
	if (st.state == 'Z' || st.state == 'X')
		return false;
	return !start || st.start == start;
}

uint64_t pid_self_start(void)
{
	struct pidstat st;
	return pid_stat(getpid(), &st) == 0 ? st.start : 0;
}

int pid_reap(pid_t pid)
{
	if (pid <= 0) {
		errno = ECHILD;
		return -1;
	}
	int status;
	pid_t r;
	while ((r = waitpid(pid, &status, WNOHANG)) < 0 && errno == EINTR)
		;
	if (r < 0)
		return -1;
	return r == pid ? 1 : 0;
}

/* Call fn for each numeric entry of /proc; it returns non-zero to stop. */
static void each_pid(int (*fn)(pid_t pid, void *ctx), void *ctx)
{
	DIR *d = opendir("/proc");
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		if (*end || pid <= 0 || pid > INT_MAX)
			continue;
		if (fn((pid_t)pid, ctx))
			break;
	}
	closedir(d);
}

struct group_scan {
	pid_t pgid;
	uint64_t min_start;
	pid_t *pids;
	size_t n, alloc;
};

static int in_group(pid_t pid, void *ctx)
{
	struct group_scan *g = ctx;
	struct pidstat st;
	if (pid_stat(pid, &st) < 0 || st.pgrp != g->pgid || st.session != g->pgid ||
	    st.state == 'Z' || st.state == 'X' || st.start < g->min_start)
		return 0;
	ALLOC_GROW(g->pids, g->n + 1, g->alloc);
	g->pids[g->n++] = pid;
	return 0;
}

size_t pid_group(pid_t pgid, uint64_t min_start, pid_t **out)
{
	struct group_scan g = { pgid, min_start, NULL, 0, 0 };
	each_pid(in_group, &g);
	*out = g.pids;
	return g.n;
}

/* ---- listening sockets ------------------------------------------------- */

/* Add the inodes of sockets listening on port in one /proc/net file. */
static void listening_inodes(const char *file, int port, struct ht *inodes)
{
	FILE *f = fopen(file, "re");
	if (!f)
		return;
	char line[512];
	bool header = true;
	while (fgets(line, sizeof(line), f)) {
		if (header) {
			header = false;
			continue;
		}
		unsigned lport, state;
		unsigned long inode;
		if (sscanf(line, " %*u: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x %*s %*s %*s %*u %*u %lu",
			   &lport, &state, &inode) != 3)
			continue;
		if ((int)lport != port || state != 0x0A || !inode)
			continue;
		char key[32];
		snprintf(key, sizeof(key), "socket:[%lu]", inode);
		ht_put(inodes, key, NULL);
	}
	fclose(f);
}

struct holder_scan {
	struct ht *inodes;
	pid_t *pids;
	size_t n, alloc;
};

static int holds_socket(pid_t pid, void *ctx)
{
	struct holder_scan *h = ctx;
	char dir[64];
	snprintf(dir, sizeof(dir), "/proc/%ld/fd", (long)pid);
	DIR *d = opendir(dir);
	if (!d)
		return 0; /* gone, or not ours to see */
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char link[64];
		ssize_t n = readlinkat(dirfd(d), e->d_name, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		if (ht_has(h->inodes, link)) {
			ALLOC_GROW(h->pids, h->n + 1, h->alloc);
			h->pids[h->n++] = pid;
			break;
		}
	}
	closedir(d);
	return 0;
}

/* Among the holders of a socket: the one whose parent does not hold it. */
static pid_t first_holder(const pid_t *pids, size_t n)
{
	pid_t best = 0;
	for (size_t i = 0; i < n; i++) {
		struct pidstat st;
		bool parent_holds = false;
		if (pid_stat(pids[i], &st) == 0)
			for (size_t k = 0; k < n; k++)
				if (pids[k] == st.ppid)
					parent_holds = true;
		if (!parent_holds && (!best || pids[i] < best))
			best = pids[i];
	}
	if (!best)
		for (size_t i = 0; i < n; i++)
			if (!best || pids[i] < best)
				best = pids[i];
	return best;
}

int pid_listener(int port, pid_t *pid, struct strbuf *err)
{
	struct ht *inodes = ht_new();
	listening_inodes("/proc/net/tcp", port, inodes);
	listening_inodes("/proc/net/tcp6", port, inodes);
	struct holder_scan h = { inodes, NULL, 0, 0 };
	if (ht_len(inodes))
		each_pid(holds_socket, &h);
	ht_free(inodes, NULL);
	if (!h.n) {
		sb_addf(err, "nothing that %s may see listens on port %d", ofs_progname, port);
		free(h.pids);
		return -1;
	}
	*pid = first_holder(h.pids, h.n);
	free(h.pids);
	return 0;
}

/* ---- pid files --------------------------------------------------------- */

int pid_file_read(const char *path, pid_t *pid, struct strbuf *err)
{
	struct strbuf sb = SB_INIT;
	if (sb_read_file(&sb, path) < 0) {
		int e = errno;
		sb_addf(err, "cannot read pid file '%s': %s", path, strerror(e));
		sb_release(&sb);
		errno = e;
		return -1;
	}
	char *s = sb.buf;
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	size_t len = strlen(s);
	while (len && strchr(" \t\r\n", s[len - 1]))
		s[--len] = '\0';
	long long v;
	if (num_parse_int(s, 1, INT_MAX, &v, NULL) < 0) {
		sb_addf(err, "pid file '%s' does not hold a pid", path);
		sb_release(&sb);
		errno = EINVAL;
		return -1;
	}
	sb_release(&sb);
	*pid = (pid_t)v;
	return 0;
}
