/*
 * nginx.c: ofs-deploy's nginx traffic driver. nginx has no runtime API
 * for upstream weights (outside NGINX Plus), so the driver owns one
 * small file that nginx.conf includes, holding the service's upstream
 * block, and after every change runs the test hook (`nginx -t`) and the
 * reload hook (`nginx -s reload`). A reload is graceful: the old workers
 * finish the requests they hold and exit, which is what a drain waits
 * for when the spec names nginx's pid file.
 *
 * The file is replaced atomically, so nginx never reads half of it; a
 * file the test rejects, or a reload that fails, is rolled back to the
 * previous content at once, so a later apply is not mistaken for a no-op
 * and nginx's next reload (by anyone) does not pick up a bad file. When
 * the rendered file is byte-identical to the one in place, nothing is
 * run: weights that did not change cost no reload.
 */
#include "common.h"
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>

#include "deploy.h"
#include "state.h"
#include "strbuf.h"
#include "timefmt.h"
#include "units.h"

/* How long the test and reload hooks may run. */
#define NGINX_HOOK_TIMEOUT_NS (60 * 1000000000LL)
#define NGINX_DRAIN_POLL_MS 100
#define NGINX_DEFAULT_DRAIN_NS (30 * 1000000000LL)
/* How long nginx may take to start the workers of a new configuration. */
#define NGINX_RELOAD_WAIT_NS (10 * 1000000000LL)

/* A worker process: its pid and start time (to survive pid reuse). */
struct worker {
	pid_t pid;
	unsigned long long start;
};

/* The workers nginx ran before our last reload: they are the ones to drain. */
struct nginx_state {
	struct worker *old;
	size_t nold, aold;
};

static int fail(struct strbuf *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct strbuf *err, const char *fmt, ...)
{
	va_list ap;
	sb_reset(err);
	va_start(ap, fmt);
	sb_vaddf(err, fmt, ap);
	va_end(ap);
	return -1;
}

static struct nginx_state *state_of(struct dp_deploy *d)
{
	if (!d->router_state)
		d->router_state = xcalloc(1, sizeof(struct nginx_state));
	return d->router_state;
}

/* ---- the upstream file ---------------------------------------------- */

/* Characters nginx reads as part of one token: no blanks, ';', '{', '}', quotes, '#'. */
static bool plain_token(const char *s, const char *extra)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '-' || c == '_' || strchr(extra, c)))
			return false;
	}
	return true;
}

static int render(const struct dp_deploy *d, const char *upstream, struct strbuf *sb,
		  struct strbuf *err)
{
	sb_addf(sb, "# written by ofs-deploy for %s revision %d: do not edit\n", d->spec->service,
		d->revision);
	sb_addf(sb, "upstream %s {\n", upstream);
	size_t serving = 0;
	for (size_t i = 0; i < d->ninst; i++) {
		const struct dp_inst *in = d->inst[i];
		if (in->state != DP_SERVING)
			continue;
		if (!in->host || !plain_token(in->host, ":[]") || in->port < 1 || in->port > 65535)
			return fail(err, "instance '%s' has no address nginx can use ('%s' port %d)",
				    in->id, in->host ? in->host : "", in->port);
		bool v6 = strchr(in->host, ':') && in->host[0] != '[';
		sb_addf(sb, "    server %s%s%s:%d weight=%d;\n", v6 ? "[" : "", in->host,
			v6 ? "]" : "", in->port, in->weight < 1 ? 1 : in->weight);
		serving++;
	}
	if (!serving)
		sb_addstr(sb, "    server 127.0.0.1:9 down;\n");
	sb_addstr(sb, "}\n");
	return 0;
}

/* The mode the file has (kept when it is replaced), 0644 for a new one. */
static mode_t mode_of(const char *file)
{
	struct stat st;
	return stat(file, &st) == 0 ? (st.st_mode & 07777) : 0644;
}

/* Put back what file held before (had: it existed); appends to err on failure. */
static void restore(const char *file, bool had, const struct strbuf *prev, mode_t mode,
		    struct strbuf *err)
{
	struct strbuf e = SB_INIT;
	if (had && state_write_atomic(file, prev->buf, prev->len, mode, &e) < 0)
		sb_addf(err, " (and the previous file could not be put back: %s)", e.buf);
	else if (!had && unlink(file) < 0 && errno != ENOENT)
		sb_addf(err, " (and the new file could not be removed: %s)", strerror(errno));
	sb_release(&e);
}

/* Run a hook, or the default argv when the spec gives none. */
static int run_hook(const char *what, const struct dp_cmd *cmd, const char *const *dflt,
		    const struct dp_hookvars *hv, struct strbuf *err)
{
	struct dp_cmd use = *cmd;
	if (!use.argv && !use.shell)
		use.argv = (char **)dflt;
	return dp_hook_run(what, &use, hv, NULL, NGINX_HOOK_TIMEOUT_NS, NULL, err);
}

/* ---- nginx's processes ---------------------------------------------- */

/* The master's pid from the pid file; -1 with err. */
static pid_t read_master(const char *pid_file, struct strbuf *err)
{
	struct strbuf sb = SB_INIT;
	if (sb_read_file(&sb, pid_file) < 0) {
		fail(err, "cannot read nginx pid file '%s': %s", pid_file, strerror(errno));
		sb_release(&sb);
		return -1;
	}
	char *end;
	errno = 0;
	long pid = strtol(sb.buf, &end, 10);
	while (*end == '\n' || *end == ' ' || *end == '\r')
		end++;
	bool okay = errno == 0 && end != sb.buf && *end == '\0' && pid > 0 && pid <= INT_MAX;
	if (!okay)
		fail(err, "nginx pid file '%s' holds no pid", pid_file);
	sb_release(&sb);
	return okay ? (pid_t)pid : -1;
}

/* From /proc/PID/stat: the parent and the start time; -1 if gone. */
static int proc_stat(pid_t pid, pid_t *ppid, unsigned long long *start)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	struct strbuf sb = SB_INIT;
	int rc = -1;
	if (sb_read_file(&sb, path) == 0) {
		/* After "PID (COMM) ": state ppid pgrp ... starttime is field 22. */
		const char *p = strrchr(sb.buf, ')');
		int pp = 0;
		if (p && sscanf(p + 1, " %*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d "
				       "%*d %*d %*d %*d %llu",
				&pp, start) == 2) {
			*ppid = pp;
			rc = 0;
		}
	}
	sb_release(&sb);
	return rc;
}

/* Whether /proc/PID/cmdline holds needle (arguments joined by spaces). */
static bool cmdline_has(pid_t pid, const char *needle)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	struct strbuf sb = SB_INIT;
	bool has = false;
	if (sb_read_file(&sb, path) == 0) {
		for (size_t i = 0; i < sb.len; i++)
			if (sb.buf[i] == '\0')
				sb.buf[i] = ' ';
		has = strstr(sb.buf, needle) != NULL;
	}
	sb_release(&sb);
	return has;
}

/*
 * The worker children of master: all of them into *all (if not NULL),
 * and the count of those shutting down (an old generation) returned.
 */
static size_t workers_of(pid_t master, struct nginx_state *all)
{
	DIR *dir = opendir("/proc");
	size_t shutting = 0;
	if (!dir)
		return 0;
	struct dirent *e;
	while ((e = readdir(dir)) != NULL) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		pid_t ppid;
		unsigned long long start;
		if (*end || pid <= 0 || proc_stat((pid_t)pid, &ppid, &start) < 0 || ppid != master ||
		    !cmdline_has((pid_t)pid, "worker process"))
			continue;
		if (cmdline_has((pid_t)pid, "shutting down"))
			shutting++;
		if (all) {
			ALLOC_GROW(all->old, all->nold + 1, all->aold);
			all->old[all->nold].pid = (pid_t)pid;
			all->old[all->nold].start = start;
			all->nold++;
		}
	}
	closedir(dir);
	return shutting;
}

/* How many of the workers recorded before the reload still run. */
static size_t old_alive(const struct nginx_state *st, pid_t master)
{
	size_t n = 0;
	for (size_t i = 0; i < st->nold; i++) {
		pid_t ppid;
		unsigned long long start;
		if (proc_stat(st->old[i].pid, &ppid, &start) == 0 && ppid == master &&
		    start == st->old[i].start)
			n++;
	}
	return n;
}

/* Whether the master has taken the reload: no worker recorded before it
 * still serves (each is gone or shutting down) and a new one runs. */
static bool reload_taken(const struct nginx_state *st, pid_t master)
{
	struct nginx_state now = { NULL, 0, 0 };
	workers_of(master, &now);
	bool fresh = false, stale = false;
	for (size_t i = 0; i < now.nold; i++) {
		bool was_old = false;
		for (size_t j = 0; j < st->nold; j++)
			if (st->old[j].pid == now.old[i].pid && st->old[j].start == now.old[i].start)
				was_old = true;
		if (!was_old)
			fresh = true;
		else if (!cmdline_has(now.old[i].pid, "shutting down"))
			stale = true;
	}
	free(now.old);
	return fresh && !stale;
}

/*
 * `nginx -s reload` returns once the signal is sent; the master rereads
 * its configuration and starts new workers a moment later. Until then
 * the old upstream serves, so a deploy must not go on: wait (bounded)
 * until the reload is taken. Without a pid file there is nothing to
 * look at.
 */
static int wait_reloaded(struct dp_deploy *d, struct strbuf *err)
{
	const char *pid_file = d->spec->traffic.pid_file;
	struct nginx_state *st = state_of(d);
	if (!pid_file || !st->nold)
		return 0;
	int64_t deadline = mono_ns() + NGINX_RELOAD_WAIT_NS;
	for (;;) {
		pid_t master = read_master(pid_file, err);
		if (master < 0)
			return -1;
		if (reload_taken(st, master))
			return 0;
		if (mono_ns() >= deadline) {
			char buf[DUR_BUFSZ];
			return fail(err, "nginx (pid %d) did not take the reload within %s",
				    (int)master, dur_format(NGINX_RELOAD_WAIT_NS, buf, sizeof(buf)));
		}
		struct timespec ts = { 0, 20 * 1000000L };
		nanosleep(&ts, NULL);
	}
}

/* Remember the workers serving now (best effort: nginx may not run yet). */
static void record_workers(struct dp_deploy *d)
{
	struct nginx_state *st = state_of(d);
	st->nold = 0;
	if (!d->spec->traffic.pid_file)
		return;
	struct strbuf ignored = SB_INIT;
	pid_t master = read_master(d->spec->traffic.pid_file, &ignored);
	sb_release(&ignored);
	if (master > 0)
		workers_of(master, st);
}

/* ---- the driver ----------------------------------------------------- */

static const char *upstream_of(const struct dp_deploy *d)
{
	return d->spec->traffic.upstream ? d->spec->traffic.upstream : d->spec->service;
}

static const char *const test_argv[] = { "nginx", "-t", NULL };
static const char *const reload_argv[] = { "nginx", "-s", "reload", NULL };

static int check_spec(const struct dp_deploy *d, struct strbuf *err)
{
	const struct dp_traffic *t = &d->spec->traffic;
	if (!t->file || !*t->file)
		return fail(err, "traffic driver nginx needs the upstream file ('file')");
	if (!plain_token(upstream_of(d), ""))
		return fail(err, "invalid nginx upstream name '%s' (allowed: letters, digits, '.', "
				 "'-', '_')",
			    upstream_of(d));
	return 0;
}

/* Before any change: the spec is usable and nginx accepts its config as it is. */
static int nginx_prepare(struct dp_deploy *d, struct strbuf *err)
{
	if (check_spec(d, err) < 0)
		return -1;
	/* The first deploy writes the file: nginx.conf cannot pass before. */
	if (access(d->spec->traffic.file, F_OK) < 0 && errno == ENOENT)
		return 0;
	struct dp_hookvars hv;
	dp_hook_vars(d->spec, NULL, 0, &hv);
	return run_hook("nginx test", &d->spec->traffic.test, test_argv, &hv, err);
}

static int nginx_apply(struct dp_deploy *d, struct strbuf *err)
{
	const struct dp_traffic *t = &d->spec->traffic;
	if (check_spec(d, err) < 0)
		return -1;

	struct strbuf next = SB_INIT, prev = SB_INIT;
	int rc = render(d, upstream_of(d), &next, err);
	if (rc < 0)
		goto out;
	bool had = sb_read_file(&prev, t->file) == 0;
	if (!had && errno != ENOENT) {
		rc = fail(err, "cannot read '%s': %s", t->file, strerror(errno));
		goto out;
	}
	if (had && prev.len == next.len && memcmp(prev.buf, next.buf, next.len) == 0)
		goto out; /* nothing changed: no test, no reload */

	mode_t mode = mode_of(t->file);
	if (state_write_atomic(t->file, next.buf, next.len, mode, err) < 0) {
		rc = -1;
		goto out;
	}
	struct dp_hookvars hv;
	dp_hook_vars(d->spec, NULL, 0, &hv);
	struct strbuf herr = SB_INIT;
	if (run_hook("nginx test", &t->test, test_argv, &hv, &herr) < 0) {
		rc = fail(err, "nginx rejected '%s', put back as it was: %s", t->file, herr.buf);
		restore(t->file, had, &prev, mode, err);
	} else {
		record_workers(d);
		if (run_hook("nginx reload", &t->reload, reload_argv, &hv, &herr) < 0) {
			rc = fail(err, "cannot reload nginx, '%s' put back as it was: %s", t->file,
				  herr.buf);
			restore(t->file, had, &prev, mode, err);
			state_of(d)->nold = 0;
		} else if (wait_reloaded(d, err) < 0) {
			rc = -1;
		}
	}
	sb_release(&herr);
out:
	sb_release(&next);
	sb_release(&prev);
	return rc;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/*
 * Wait until the workers of before the last reload are gone and no worker
 * is shutting down. in is not looked at: nginx drains all at once.
 */
static int nginx_wait(struct dp_deploy *d, struct dp_inst *in, int64_t timeout_ns,
		      struct strbuf *err)
{
	const char *pid_file = d->spec->traffic.pid_file;
	if (!pid_file)
		return 0;
	if (timeout_ns <= 0)
		timeout_ns = d->spec->traffic.drain_timeout_ns > 0 ? d->spec->traffic.drain_timeout_ns
								     : NGINX_DEFAULT_DRAIN_NS;
	struct nginx_state *st = state_of(d);
	int64_t deadline = mono_ns() + timeout_ns;
	for (;;) {
		pid_t master = read_master(pid_file, err);
		if (master < 0)
			return -1;
		if (kill(master, 0) < 0 && errno == ESRCH)
			return fail(err, "nginx master process %d (from '%s') is not running",
				    (int)master, pid_file);
		size_t left = workers_of(master, NULL), old = old_alive(st, master);
		if (!left && !old) {
			st->nold = 0;
			return 0;
		}
		int64_t now = mono_ns();
		if (now >= deadline) {
			char buf[DUR_BUFSZ];
			size_t n = left > old ? left : old;
			return fail(err,
				    "instance '%s' not drained: nginx still has %zu old worker "
				    "process%s after %s",
				    in->id, n, n == 1 ? "" : "es", dur_format(timeout_ns, buf, sizeof(buf)));
		}
		int64_t rest_ms = (deadline - now + 999999) / 1000000;
		sleep_ms(rest_ms < NGINX_DRAIN_POLL_MS ? (int)rest_ms : NGINX_DRAIN_POLL_MS);
	}
}

static int nginx_release(struct dp_deploy *d, struct dp_inst *in, struct strbuf *err)
{
	(void)d;
	(void)in;
	(void)err;
	return 0;
}

static void nginx_free_state(struct dp_deploy *d)
{
	struct nginx_state *st = d->router_state;
	if (!st)
		return;
	free(st->old);
	free(st);
	d->router_state = NULL;
}

const struct dp_router dp_router_nginx = {
	.name = "nginx",
	.max_weight = 100,
	.prepare = nginx_prepare,
	.apply = nginx_apply,
	.wait_drained = nginx_wait,
	.release = nginx_release,
	.free_state = nginx_free_state,
};
