/*
 * ready.c: waiting until newly started instances are ready for traffic.
 *
 * Every 200 ms each instance not yet ready gets its spec's ready check
 * (http GET of HOST:PORT/PATH answered 2xx or 3xx, a tcp connect, or a
 * command exiting 0 with the hook context), all instances of a round at
 * once through check.h's runner (one poll loop, no thread per target).
 * An instance is ready once its checks have passed without a break for
 * minReady (Kubernetes' minReadySeconds: a failure starts the clock
 * again). An instance whose process is gone fails the wait at once,
 * naming its log and the log's last line, rather than letting the
 * deploy sit out readyTimeout on something that will never answer. A
 * driver with its own notion of readiness (kubectl's rollout status)
 * answers through runner->ready instead of the spec's check.
 */
#include "common.h"

#include "check.h"
#include "deploy.h"
#include "timefmt.h"
#include "units.h"

#define ROUND_NS (200 * 1000000LL)
#define NAP_NS (50 * 1000000LL)   /* sleeps are cut so an interrupt is seen soon */
#define LOG_TAIL 4096             /* bytes of a log read for its last line */

/* One instance being waited for. */
struct watch {
	struct dp_inst *in;
	int64_t since_ns;       /* passing continuously since (mono); 0: not passing */
	bool ready;
	bool checked;           /* some check has finished */
	struct strbuf reason;   /* why the last check failed */
	struct check_spec cs;
};

/* ---- the spec's check, as check.h's --------------------------------------- */

/* The N of an id "SERVICE-rREV-N", or -1. */
static int inst_index(const struct dp_inst *in)
{
	const char *dash = strrchr(in->id, '-');
	long long n;
	if (!dash || num_parse_int(dash + 1, 0, INT_MAX, &n, NULL) < 0)
		return -1;
	return (int)n;
}

/* "OFS_NAME=value" for each of hv's variables, NULL-terminated (allocated). */
static char **hook_env(const struct dp_hookvars *hv)
{
	char **env = xcalloc(hv->n + 1, sizeof(*env));
	for (size_t i = 0; i < hv->n; i++) {
		struct strbuf sb = SB_INIT;
		sb_addstr(&sb, "OFS_");
		for (const char *c = hv->v[i].name; *c; c++)
			sb_addch(&sb, *c >= 'a' && *c <= 'z' ? *c - 'a' + 'A' : *c);
		sb_addf(&sb, "=%s", hv->v[i].value);
		env[i] = sb_detach(&sb, NULL);
	}
	return env;
}

static void build_check(const struct dp_spec *spec, struct watch *w)
{
	const struct dp_ready *r = &spec->instances.ready;
	const struct dp_inst *in = w->in;
	struct check_spec *cs = &w->cs;
	check_spec_init(cs);
	int64_t ms = r->timeout_ns > 0 ? (r->timeout_ns + 999999) / 1000000 : 1000;
	cs->timeout_ms = ms;
	const char *host = in->host && *in->host ? in->host : "127.0.0.1";
	if (r->kind == DP_READY_HTTP) {
		const char *path = r->path && *r->path ? r->path : "/health";
		cs->kind = CHECK_HTTP;
		cs->url = strchr(host, ':')
				  ? xasprintf("http://[%s]:%d%s%s", host, in->port,
					      *path == '/' ? "" : "/", path)
				  : xasprintf("http://%s:%d%s%s", host, in->port,
					      *path == '/' ? "" : "/", path);
	} else if (r->kind == DP_READY_TCP) {
		cs->kind = CHECK_TCP;
		cs->host = xstrdup(host);
		cs->port = in->port;
	} else {
		struct dp_hookvars hv;
		dp_hook_vars(spec, in, inst_index(in), &hv);
		cs->kind = CHECK_EXEC;
		if (r->command.argv)
			cs->argv = proc_expand_argv((const char *const *)r->command.argv, hv.v,
						    hv.n);
		else
			cs->shell = xstrdup(r->command.shell ? r->command.shell : "false");
		cs->env = hook_env(&hv);
	}
}

static void check_done(void *user, const struct check_spec *spec, const struct check_result *res,
		       void *ctx)
{
	struct watch *w = user;
	int64_t *round_ns = ctx;
	(void)spec;
	w->checked = true;
	if (res->status == CHECK_OK) {
		if (!w->since_ns)
			w->since_ns = *round_ns;
		return;
	}
	w->since_ns = 0;
	sb_reset(&w->reason);
	if (res->reason.len)
		sb_addstr(&w->reason, res->reason.buf);
	else
		sb_addstr(&w->reason, check_status_name(res->status));
}

/* ---- the wait -------------------------------------------------------------- */

/* The last non-empty line of the file at path (at most its last 4 KiB). */
static void log_last_line(const char *path, struct strbuf *out)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	char buf[LOG_TAIL + 1];
	if (fseek(f, 0, SEEK_END) == 0) {
		long size = ftell(f);
		if (size > LOG_TAIL)
			fseek(f, size - LOG_TAIL, SEEK_SET);
		else
			rewind(f);
	}
	size_t n = fread(buf, 1, LOG_TAIL, f);
	fclose(f);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	size_t start = n;
	while (start && buf[start - 1] != '\n')
		start--;
	sb_add(out, buf + start, n - start);
}

static void exited_error(struct dp_deploy *d, const struct dp_inst *in, struct strbuf *err)
{
	sb_addf(err, "instance '%s' exited before it was ready", in->id);
	char *log = xasprintf("%s/logs/%s.log", d->dir, in->id);
	if (access(log, F_OK) == 0) {
		struct strbuf line = SB_INIT;
		log_last_line(log, &line);
		sb_addf(err, " (log: %s)", log);
		if (line.len)
			sb_addf(err, ": %s", line.buf);
		sb_release(&line);
	}
	free(log);
}

static void timeout_error(const struct dp_spec *spec, const struct watch *w, int64_t now,
			  int64_t min_ready_ns, struct strbuf *err)
{
	char limit[DUR_BUFSZ], a[DUR_BUFSZ], b[DUR_BUFSZ];
	sb_addf(err, "instance '%s' not ready after %s: ", w->in->id,
		dur_format(spec->instances.ready_timeout_ns, limit, sizeof(limit)));
	if (w->since_ns) {
		int64_t passed = (now - w->since_ns) / 1000000 * 1000000; /* whole ms */
		sb_addf(err, "passing for %s of minReady %s", dur_format(passed, a, sizeof(a)),
			dur_format(min_ready_ns, b, sizeof(b)));
	} else if (w->reason.len) {
		sb_addstr(err, w->reason.buf);
	} else {
		sb_addstr(err, w->checked ? "not ready" : "no check finished in time");
	}
}

/* Ask the driver (runner->ready) about each instance not ready yet. */
static int ask_driver(struct dp_deploy *d, const struct dp_spec *spec, struct watch *w, size_t n,
		      int64_t round_ns, struct strbuf *err)
{
	for (size_t i = 0; i < n; i++) {
		if (w[i].ready)
			continue;
		struct strbuf why = SB_INIT;
		int r = d->runner->ready(d, spec, w[i].in, &why);
		w[i].checked = true;
		if (r < 0) {
			sb_addf(err, "instance '%s' failed: %s", w[i].in->id, why.buf);
			sb_release(&why);
			return -1;
		}
		if (r > 0) {
			if (!w[i].since_ns)
				w[i].since_ns = round_ns;
		} else {
			w[i].since_ns = 0;
			sb_reset(&w[i].reason);
			sb_addstr(&w[i].reason, why.len ? why.buf : "not ready yet");
		}
		sb_release(&why);
	}
	return 0;
}

/* One round of checks: 0, or -1 with err (an exit, a driver's failure, a signal). */
static int round_once(struct dp_deploy *d, const struct dp_spec *spec, struct watch *w, size_t n,
		      struct check_runner **cr, int64_t round_ns, struct strbuf *err)
{
	for (size_t i = 0; i < n; i++) {
		if (!w[i].ready && d->runner->alive && d->runner->alive(d, w[i].in) == 0) {
			exited_error(d, w[i].in, err);
			return -1;
		}
	}
	if (d->runner->ready)
		return ask_driver(d, spec, w, n, round_ns, err);
	if (!*cr)
		*cr = check_runner_new(n < 256 ? (int)n : 256, 32, 0);
	for (size_t i = 0; i < n; i++) {
		if (w[i].ready)
			continue;
		if (w[i].cs.kind != CHECK_EXEC && w[i].in->port <= 0) {
			sb_reset(&w[i].reason);
			sb_addstr(&w[i].reason, "it has no port to check");
			continue;
		}
		check_runner_add(*cr, &w[i].cs, &w[i]);
	}
	if (check_runner_run(*cr, check_done, &round_ns) < 0) {
		sb_addstr(err, "interrupted");
		return -1;
	}
	return 0;
}

/* Sleep until mono time t, waking for an interrupt; false when interrupted. */
static bool nap_until(int64_t t)
{
	for (;;) {
		if (dp_interrupted())
			return false;
		int64_t left = t - mono_ns();
		if (left <= 0)
			return true;
		struct timespec ts = { 0, left < NAP_NS ? left : NAP_NS };
		nanosleep(&ts, NULL);
	}
}

int dp_wait_ready(struct dp_deploy *d, const struct dp_spec *spec, struct dp_inst **insts,
		  size_t n, int64_t min_ready_ns, struct strbuf *err)
{
	struct watch *w = xcalloc(n ? n : 1, sizeof(*w));
	for (size_t i = 0; i < n; i++) {
		w[i].in = insts[i];
		sb_init(&w[i].reason, 0);
		build_check(spec, &w[i]);
	}
	struct check_runner *cr = NULL;
	int64_t deadline = mono_ns() + spec->instances.ready_timeout_ns;
	int rc = -1;
	for (;;) {
		if (dp_interrupted()) {
			sb_addstr(err, "interrupted");
			break;
		}
		int64_t round_ns = mono_ns();
		if (round_once(d, spec, w, n, &cr, round_ns, err) < 0)
			break;
		int64_t now = mono_ns();
		size_t left = 0;
		for (size_t i = 0; i < n; i++) {
			if (!w[i].ready && w[i].since_ns && now - w[i].since_ns >= min_ready_ns) {
				w[i].ready = true;
				w[i].in->state = DP_READY;
			}
			left += !w[i].ready;
		}
		if (!left) {
			rc = 0;
			break;
		}
		if (now >= deadline) {
			for (size_t i = 0; i < n; i++)
				if (!w[i].ready) {
					timeout_error(spec, &w[i], now, min_ready_ns, err);
					break;
				}
			break;
		}
		int64_t next = round_ns + ROUND_NS;
		if (!nap_until(next < deadline ? next : deadline)) {
			sb_addstr(err, "interrupted");
			break;
		}
	}
	check_runner_free(cr);
	for (size_t i = 0; i < n; i++) {
		check_spec_release(&w[i].cs);
		sb_release(&w[i].reason);
	}
	free(w);
	return rc;
}
