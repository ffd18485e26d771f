/*
 * recover.c: `watch --recover`: restart what is down, carefully.
 *
 * Only services judged unhealthy are restarted (an impacted service is
 * waiting for a dependency, a degraded one still serves), and only their
 * failing instances, dependencies before dependents. Each instance has
 * an exponential back-off between restarts (backoff doubling up to
 * backoff_max) and a grace period after each restart during which its
 * failures are not judged (watch.c). A service that needs more than
 * `budget` restarts within `window` gets one recovery.gaveup record and
 * no more restarts until it has been healthy for `reset`, which also
 * resets the back-off: the lesson from monit, whose counters never reset,
 * and from restart storms.
 *
 * Hooks run through proc_run with a timeout: an argv template gets
 * {service} {instance} {host} {port} filled in per element, a shell
 * string gets them only as OFS_SERVICE, OFS_INSTANCE, OFS_HOST and
 * OFS_PORT in its environment, so no data is ever parsed by a shell.
 */
#include "common.h"

#include "health.h"
#include "proc.h"
#include "record.h"
#include "timefmt.h"
#include "units.h"

static double secs3(int64_t ms)
{
	return (double)ms / 1000.0;
}

static void record_done(struct health *h, struct health_inst *in)
{
	const struct health_opts *o = h->o;
	const char *svc = h->svc[in->service].ts->name;
	int64_t took_ms = (ts_now_ns() - in->detect_ns) / 1000000;
	if (took_ms < 0)
		took_ms = 0;
	bool breached = o->rto_ms > 0 && took_ms > o->rto_ms;
	if (o->quiet)
		return;
	if (o->format != FMT_JSONL) {
		health_event_line(h, "%s %s recovered in %.3f s after %d %s%s", svc, in->ti->id,
				  secs3(took_ms), in->restarts,
				  in->restarts == 1 ? "restart" : "restarts",
				  breached ? " (rto breached)" : "");
		return;
	}
	struct jw *w = &h->w;
	rec_begin(w, "recovery.done");
	jw_kv_str(w, "service", svc);
	jw_kv_str(w, "instance", in->ti->id);
	jw_kv_double(w, "recovery_s", secs3(took_ms));
	jw_kv_int(w, "restarts", in->restarts);
	if (o->rto_ms > 0) {
		jw_kv_double(w, "rto_s", secs3(o->rto_ms));
		jw_kv_bool(w, "rto_breached", breached);
	}
	rec_end(w, h->out);
}

static void record_gaveup(struct health *h, struct health_svc *s, const char *reason)
{
	const struct health_opts *o = h->o;
	if (o->quiet)
		return;
	if (o->format != FMT_JSONL) {
		health_event_line(h, "%s recovery gave up: %s", s->ts->name, reason);
		return;
	}
	struct jw *w = &h->w;
	rec_begin(w, "recovery.gaveup");
	jw_kv_str(w, "service", s->ts->name);
	jw_kv_int(w, "restarts", (int64_t)s->nlog);
	jw_kv_double(w, "window_s", secs3(s->ts->recovery.budget_window_ms));
	jw_kv_str(w, "reason", reason);
	rec_end(w, h->out);
}

/* One command: an argv (placeholders filled in) or a shell string. */
struct hook_cmd {
	char **argv;
	const char *shell;
};

/* What a restart of one instance runs: restart, or stop then start. */
struct hook {
	struct hook_cmd run, stop;
	struct proc_var env[TOPO_NVARS];
	size_t nenv;
	char port[TOPO_PORTBUF];
};

static bool cmd_set(struct hook_cmd *c, char **argv, const char *shell,
		    const struct proc_var *vars)
{
	if (argv)
		c->argv = proc_expand_argv((const char *const *)argv, vars, TOPO_NVARS);
	else
		c->shell = shell;
	return argv || shell;
}

static bool hook_prepare(struct health *h, struct health_svc *s, struct health_inst *in,
			 struct hook *k)
{
	const struct topo_recovery *rc = &s->ts->recovery;
	static const char *const env_names[TOPO_NVARS] = { "OFS_SERVICE", "OFS_INSTANCE",
							   "OFS_HOST", "OFS_PORT" };
	struct proc_var vars[TOPO_NVARS];
	memset(k, 0, sizeof(*k));
	topo_instance_vars(&h->topo, in->ti, vars, k->port);
	for (size_t i = 0; i < TOPO_NVARS; i++)
		if (vars[i].value && *vars[i].value)
			k->env[k->nenv++] = (struct proc_var){ env_names[i], vars[i].value };
	if (cmd_set(&k->run, rc->restart, rc->restart_shell, vars))
		return true;
	if (!cmd_set(&k->run, rc->start, rc->start_shell, vars))
		return false;
	cmd_set(&k->stop, rc->stop, rc->stop_shell, vars);
	return true;
}

static void hook_release(struct hook *k)
{
	proc_argv_free(k->run.argv);
	proc_argv_free(k->stop.argv);
}

static void cmd_run(const struct health_svc *s, const struct hook *k, const struct hook_cmd *c,
		    struct proc_result *r)
{
	int64_t t = s->ts->recovery.timeout_ms;
	struct proc_spec spec = { 0 };
	spec.env = k->env;
	spec.nenv = k->nenv;
	spec.timeout_ms = t > INT_MAX ? INT_MAX : t > 0 ? (int)t : 0;
	spec.argv = (const char *const *)c->argv;
	spec.shell = c->argv ? NULL : c->shell;
	proc_result_release(r);
	proc_run(&spec, r);
}

/* Run the hook (stop first if there is one); the start's result in r. */
static void hook_run(const struct health_svc *s, struct hook *k, struct proc_result *r)
{
	if (k->stop.argv || k->stop.shell)
		cmd_run(s, k, &k->stop, r);
	cmd_run(s, k, &k->run, r);
}

static void cmd_json(struct jw *w, const struct hook_cmd *c)
{
	if (c->shell) {
		jw_str(w, c->shell);
		return;
	}
	jw_arr_begin(w);
	for (size_t i = 0; c->argv && c->argv[i]; i++)
		jw_str(w, c->argv[i]);
	jw_arr_end(w);
}

static void cmd_text(struct strbuf *sb, const struct hook_cmd *c)
{
	if (c->shell) {
		sb_addstr(sb, c->shell);
		return;
	}
	for (size_t i = 0; c->argv && c->argv[i]; i++)
		sb_addf(sb, "%s%s", i ? " " : "", c->argv[i]);
}

/* Append ": " and the last non-empty line of a hook's stderr (at most
 * 200 bytes), which usually says why it failed. */
static void add_stderr_tail(struct strbuf *sb, const struct strbuf *err)
{
	size_t end = err->len;
	while (end && (err->buf[end - 1] == '\n' || err->buf[end - 1] == '\r' ||
		       err->buf[end - 1] == ' '))
		end--;
	if (!end)
		return;
	size_t start = end;
	while (start && err->buf[start - 1] != '\n')
		start--;
	if (end - start > 200)
		start = end - 200;
	sb_addstr(sb, ": ");
	sb_add(sb, err->buf + start, end - start);
}

static void restart(struct health *h, struct health_svc *s, struct health_inst *in,
		    struct hook *k)
{
	const struct health_opts *o = h->o;
	const struct topo_recovery *rc = &s->ts->recovery;
	int64_t now = mono_ms();
	ALLOC_GROW(s->restart_log, s->nlog + 1, s->alog);
	s->restart_log[s->nlog++] = now;
	int attempt = (int)s->nlog;

	struct proc_result r = PROC_RESULT_INIT;
	bool failed = false;
	struct strbuf why = SB_INIT;
	if (!o->dry_run) {
		hook_run(s, k, &r);
		failed = r.spawn_errno || r.exit_code != 0;
		if (failed) {
			proc_describe(&r, &why);
			add_stderr_tail(&why, &r.err);
		}
	}
	if (in->last_restart_ms) {
		in->backoff_ms *= 2;
		if (in->backoff_ms > rc->backoff_max_ms)
			in->backoff_ms = rc->backoff_max_ms;
	}
	in->restarts++;
	in->last_restart_ms = mono_ms();
	in->grace_until_ms = in->last_restart_ms + rc->grace_ms;

	const char *reason = in->fail_reason.len ? in->fail_reason.buf : "failing";
	if (o->quiet) {
		/* nothing on stdout */
	} else if (o->format != FMT_JSONL) {
		struct strbuf cmd = SB_INIT;
		cmd_text(&cmd, &k->run);
		health_event_line(h, "%s %s restart %d%s: %s%s%s", s->ts->name, in->ti->id, attempt,
				  o->dry_run ? " (dry run)" : "", cmd.buf, failed ? ": " : "",
				  why.buf);
		sb_release(&cmd);
	} else {
		char ts[TS_BUFSZ];
		struct jw *w = &h->w;
		rec_begin(w, "recovery.start");
		jw_kv_str(w, "service", s->ts->name);
		jw_kv_str(w, "instance", in->ti->id);
		jw_kv_int(w, "attempt", attempt);
		jw_kv_str(w, "reason", reason);
		jw_kv_str(w, "detected_at",
			  ts_format(in->detect_ns ? in->detect_ns : h->round_start_ns, ts));
		jw_key(w, "hook");
		cmd_json(w, &k->run);
		if (k->stop.argv || k->stop.shell) {
			jw_key(w, "stop_hook");
			cmd_json(w, &k->stop);
		}
		if (o->dry_run) {
			jw_kv_bool(w, "dry_run", true);
		} else {
			if (r.exit_code >= 0)
				jw_kv_int(w, "exit_code", r.exit_code);
			if (failed)
				jw_kv_str(w, "hook_error", why.buf);
		}
		rec_end(w, h->out);
	}
	sb_release(&why);
	proc_result_release(&r);
}

/* Forget restarts older than the window. */
static void prune(struct health_svc *s, int64_t now)
{
	size_t m = 0;
	for (size_t i = 0; i < s->nlog; i++)
		if (now - s->restart_log[i] < s->ts->recovery.budget_window_ms)
			s->restart_log[m++] = s->restart_log[i];
	s->nlog = m;
}

static void reset_service(struct health *h, struct health_svc *s)
{
	s->gaveup = false;
	s->nlog = 0;
	for (size_t j = 0; j < s->ninst; j++) {
		struct health_inst *in = &h->inst[s->first + j];
		in->last_restart_ms = 0;
		in->backoff_ms = s->ts->recovery.backoff_ms;
	}
}

static void recover_service(struct health *h, struct health_svc *s, int64_t now)
{
	const struct topo_recovery *rc = &s->ts->recovery;
	for (size_t j = 0; j < s->ninst && !s->gaveup; j++) {
		struct health_inst *in = &h->inst[s->first + j];
		if (!in->selected || in->jstate != JUDGE_INST_FAILING)
			continue;
		if (now < in->grace_until_ms)
			continue;
		if (in->last_restart_ms && now - in->last_restart_ms < in->backoff_ms)
			continue;
		struct hook k;
		if (!hook_prepare(h, s, in, &k)) {
			s->gaveup = true;
			record_gaveup(h, s, "no restart or start hook is defined");
			return;
		}
		prune(s, now);
		if ((int64_t)s->nlog >= rc->budget) {
			struct strbuf why = SB_INIT;
			char win[DUR_BUFSZ], rst[DUR_BUFSZ];
			sb_addf(&why,
				"%zu restarts within %s reached the budget of %d; none until "
				"healthy for %s",
				s->nlog,
				dur_format(rc->budget_window_ms * 1000000, win, sizeof(win)),
				rc->budget, dur_format(rc->reset_ms * 1000000, rst, sizeof(rst)));
			s->gaveup = true;
			record_gaveup(h, s, why.buf);
			sb_release(&why);
			hook_release(&k);
			return;
		}
		restart(h, s, in, &k);
		hook_release(&k);
	}
}

void recover_round(struct health *h)
{
	int64_t now = mono_ms();
	for (size_t i = 0; i < h->ninst; i++) {
		struct health_inst *in = &h->inst[i];
		if (!in->recovered)
			continue;
		record_done(h, in);
		in->recovered = false;
		in->restarts = 0;
		in->detect_ns = 0;
		in->grace_until_ms = 0;
	}
	for (size_t k = 0; k < h->nsvc; k++) {
		struct health_svc *s = &h->svc[h->order[k]];
		if (!s->reported)
			continue;
		if (s->verdict.state == JUDGE_HEALTHY) {
			if (!s->healthy_since_ms)
				s->healthy_since_ms = now;
			if (now - s->healthy_since_ms >= s->ts->recovery.reset_ms)
				reset_service(h, s);
			continue;
		}
		s->healthy_since_ms = 0;
		/* An impacted service waits for its root cause; an unhealthy or
		 * degraded one has failing instances of its own to restart. */
		if ((s->verdict.state == JUDGE_UNHEALTHY || s->verdict.state == JUDGE_DEGRADED) &&
		    !s->gaveup)
			recover_service(h, s, now);
	}
}
