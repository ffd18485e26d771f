/*
 * run_exec.c: the exec instance driver: the spec's own start and stop
 * hooks start and stop instances, for whatever ofs-deploy cannot start
 * as a plain process (systemd units, containers, a remote script).
 *
 * start allocates a port as the process driver does (when the spec has
 * a range), then runs the start hook with the instance's placeholders
 * and OFS_* variables; the hook starts the instance and returns. If the
 * first line of its standard output is a positive integer, that is the
 * instance's pid: it is remembered with its start time and watched as
 * the process driver watches its own; otherwise the driver cannot tell
 * whether the instance runs (alive answers -1) and only the ready check
 * judges it. stop runs the stop hook and, with a known pid, waits for
 * the process to go.
 */
#include "common.h"

#include "deploy.h"
#include "pid.h"
#include "timefmt.h"
#include "units.h"

#define POLL_NS (20 * 1000000LL)

/* The N of an id "SERVICE-rREV-N", or -1. */
static int inst_index(const struct dp_inst *in)
{
	const char *dash = strrchr(in->id, '-');
	long long n;
	if (!dash || num_parse_int(dash + 1, 0, INT_MAX, &n, NULL) < 0)
		return -1;
	return (int)n;
}

/* The pid on the first line of out, or 0. */
static long first_line_pid(const struct strbuf *out)
{
	const char *nl = memchr(out->buf, '\n', out->len);
	size_t len = nl ? (size_t)(nl - out->buf) : out->len;
	char *line = xstrndup(out->buf, len);
	char *s = line;
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && strchr(" \t\r", s[n - 1]))
		s[--n] = '\0';
	long long pid = 0;
	if (num_parse_int(s, 1, INT_MAX, &pid, NULL) < 0)
		pid = 0;
	free(line);
	return (long)pid;
}

static int exec_prepare(struct dp_deploy *d, struct strbuf *err)
{
	/* the same checks: the hooks' programs, a free port if ports are given */
	return dp_runner_process.prepare(d, err);
}

static int exec_start(struct dp_deploy *d, const struct dp_spec *spec, struct dp_inst *in,
		      struct strbuf *err)
{
	const struct dp_instances *is = &spec->instances;
	int port = 0;
	if (is->port_min > 0 && dp_port_pick(d, spec, &port, err) < 0)
		return -1;
	free(in->host);
	in->host = xstrdup(is->host && *is->host ? is->host : "127.0.0.1");
	in->port = port;
	in->pid = 0;
	in->pid_start = 0;
	struct dp_hookvars hv;
	dp_hook_vars(spec, in, inst_index(in), &hv);
	struct strbuf out = SB_INIT;
	int rc = dp_hook_run("start", &is->start, &hv, NULL, is->ready_timeout_ns, &out, err);
	if (rc == 0) {
		struct pidstat st;
		in->pid = first_line_pid(&out);
		if (in->pid > 0 && pid_stat((pid_t)in->pid, &st) == 0)
			in->pid_start = st.start;
	} else {
		in->port = 0;
	}
	sb_release(&out);
	return rc;
}

static int exec_alive(struct dp_deploy *d, const struct dp_inst *in)
{
	if (in->pid <= 0)
		return -1;
	return dp_runner_process.alive(d, in);
}

static int exec_stop(struct dp_deploy *d, const struct dp_spec *spec, struct dp_inst *in,
		     struct strbuf *err)
{
	const struct dp_instances *is = &spec->instances;
	struct dp_hookvars hv;
	dp_hook_vars(spec, in, inst_index(in), &hv);
	if (dp_hook_run("stop", &is->stop, &hv, NULL, is->stop_timeout_ns, NULL, err) < 0)
		return -1;
	if (in->pid <= 0)
		return 0;
	int64_t end = mono_ns() + is->stop_timeout_ns;
	while (exec_alive(d, in) != 0) {
		if (mono_ns() >= end) {
			char buf[DUR_BUFSZ];
			sb_addf(err, "process %ld is still running %s after the stop hook", in->pid,
				dur_format(is->stop_timeout_ns, buf, sizeof(buf)));
			return -1;
		}
		struct timespec ts = { 0, POLL_NS };
		nanosleep(&ts, NULL);
	}
	return 0;
}

static void exec_release(struct dp_deploy *d)
{
	(void)d; /* no state of its own */
}

const struct dp_runner dp_runner_exec = {
	.name = "exec",
	.prepare = exec_prepare,
	.start = exec_start,
	.ready = NULL,
	.alive = exec_alive,
	.stop = exec_stop,
	.release = exec_release,
};
