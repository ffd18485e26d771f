/*
 * run.c: `run`, `resume`, `rollback`, `promote` and `abort`: taking a
 * service (its lock and state), starting or replaying a deploy, and
 * driving it to its end (dp_drive): promoted, or rolled back with the
 * reason, every step journalled, one deploy.done record in the journal,
 * on standard output and in history.jsonl.
 *
 * Exit statuses: 0 promoted (or, for `rollback`, rolled back as asked),
 * 1 rolled back automatically or aborted, 2 invalid spec or misuse, 4 a
 * driver or the state directory failed (the message says what, and
 * whether the rollback itself went through), 128+N after SIGINT/SIGTERM
 * (the deploy is left for `resume` or `rollback`).
 */
#include "common.h"

#include <sys/stat.h>

#include "cmds.h"
#include "engine.h"
#include "journal.h"
#include "lock.h"
#include "opt.h"
#include "record.h"
#include "sig.h"
#include "state.h"
#include "timefmt.h"
#include "units.h"

/* How a command found or wants the deploy. */
enum dp_mode { MODE_STRATEGY, MODE_ROLLBACK };

struct session {
	char *dir;
	int lock;
	struct dp_spec spec, prev;
	bool have_spec, have_prev;
	struct dp_deploy d;
	char *kind;
	char *from_version;
	int64_t fail_ns;
};

static void session_release(struct session *s)
{
	dp_deploy_release(&s->d);
	if (s->have_spec)
		dp_spec_release(&s->spec);
	if (s->have_prev)
		dp_spec_release(&s->prev);
	lock_release(s->lock);
	free(s->dir);
	free(s->kind);
	free(s->from_version);
}

static int parse_wait(const char *arg)
{
	int64_t ns;
	struct strbuf err = SB_INIT;
	if (dur_parse(arg, &ns, &err) < 0)
		opt_usage_error(NULL, "--wait: %s", err.buf);
	sb_release(&err);
	return ns / 1000000 > INT_MAX ? INT_MAX : (int)(ns / 1000000);
}

/* Take the service's lock; exits with a message when it stays busy. */
static int take(struct session *s, const char *service, int wait_ms)
{
	struct strbuf err = SB_INIT;
	s->lock = -1;
	s->dir = dp_store_dir(service, true, &err);
	if (!s->dir) {
		error("%s", err.buf);
		return EXIT_SYSTEM;
	}
	s->lock = dp_store_lock(s->dir, wait_ms, &err);
	if (s->lock < 0) {
		if (errno == EWOULDBLOCK)
			error("a deploy of '%s' is in progress: %s (use --wait to wait for it)",
			      service, err.buf);
		else
			error("%s", err.buf);
		sb_release(&err);
		return EXIT_SYSTEM;
	}
	sb_release(&err);
	return 0;
}

static char *journal_path(const char *dir, int no)
{
	struct strbuf sb = SB_INIT;
	sb_addf(&sb, "%s/deploys/%d.jsonl", dir, no);
	return sb_detach(&sb, NULL);
}

/* Check the drivers can work, open the journal; 0 or an exit status. */
static int open_deploy(struct session *s, bool repair)
{
	struct dp_deploy *d = &s->d;
	struct strbuf err = SB_INIT;
	dp_drivers(d, d->spec);
	if (d->runner->prepare(d, &err) < 0 || d->router->prepare(d, &err) < 0) {
		error("cannot deploy '%s': %s", d->service, err.buf);
		sb_release(&err);
		return EXIT_SYSTEM;
	}
	char *path = journal_path(s->dir, d->number);
	if (repair)
		journal_repair(path, NULL, NULL);
	d->journal = journal_open(path, &err);
	free(path);
	if (!d->journal) {
		error("%s", err.buf);
		sb_release(&err);
		return EXIT_SYSTEM;
	}
	sb_release(&err);
	tc_to_env(&d->trace);
	return 0;
}

static void emit_start(struct session *s)
{
	struct dp_deploy *d = &s->d;
	struct strbuf sb = SB_INIT;
	struct jw w;
	jw_init(&w, &sb);
	dp_rec_begin(d, &w, "deploy.start");
	jw_kv_int(&w, "number", d->number);
	jw_kv_str(&w, "kind", s->kind);
	jw_kv_str(&w, "version", d->spec->version);
	jw_kv_int(&w, "from_revision", d->from_revision);
	if (s->from_version)
		jw_kv_str(&w, "from_version", s->from_version);
	jw_kv_str(&w, "strategy", dp_strategy_name(d->spec->strategy.kind));
	jw_kv_int(&w, "replicas", d->spec->replicas);
	jw_kv_str(&w, "spec", d->spec->file);
	jw_kv_int(&w, "next_index", d->next_index);
	jw_key(&w, "instances");
	jw_arr_begin(&w);
	for (size_t i = 0; i < d->ninst; i++) {
		jw_obj_begin(&w);
		dp_inst_write(&w, d->inst[i], false);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	dp_emit(d, &w);
	sb_release(&sb);
}

/* The deploy.done record, in the journal, on stdout and in the history. */
static void emit_done(struct session *s, const char *outcome, const char *reason)
{
	struct dp_deploy *d = &s->d;
	struct strbuf sb = SB_INIT;
	struct jw w;
	jw_init(&w, &sb);
	dp_rec_begin(d, &w, "deploy.done");
	jw_kv_int(&w, "number", d->number);
	jw_kv_str(&w, "kind", s->kind);
	jw_kv_str(&w, "outcome", outcome);
	jw_kv_str(&w, "version", d->spec->version);
	jw_kv_int(&w, "from_revision", d->from_revision);
	if (s->from_version)
		jw_kv_str(&w, "from_version", s->from_version);
	jw_kv_str(&w, "strategy", dp_strategy_name(d->spec->strategy.kind));
	char ts[TS_BUFSZ];
	jw_kv_str(&w, "started", ts_format(d->start_ns, ts));
	int64_t now = ts_now_ns();
	jw_kv_double(&w, "duration_s", (double)(now - d->start_ns) / 1e9);
	if (s->fail_ns)
		jw_kv_double(&w, "restore_s", (double)(now - s->fail_ns) / 1e9);
	if (reason && *reason)
		jw_kv_str(&w, "reason", reason);
	struct strbuf line = SB_INIT, err = SB_INIT;
	dp_emit_copy(d, &w, &line);
	if (dp_history_append(s->dir, line.buf, line.len, &err) < 0)
		error("cannot write the history: %s", err.buf);
	sb_release(&err);
	sb_release(&line);
	sb_release(&sb);
}

static void emit_rollback(struct session *s, int to, const char *reason)
{
	struct dp_deploy *d = &s->d;
	struct strbuf sb = SB_INIT;
	struct jw w;
	jw_init(&w, &sb);
	dp_rec_begin(d, &w, "deploy.rollback");
	jw_kv_int(&w, "to_revision", to);
	jw_kv_str(&w, "reason", reason);
	dp_emit(d, &w);
	sb_release(&sb);
	s->fail_ns = ts_now_ns();
}

static int save_current(struct session *s, int rev, const char *version)
{
	struct strbuf err = SB_INIT;
	int rc = dp_current_save(&s->d, rev, version, &err);
	if (rc < 0)
		error("%s", err.buf);
	sb_release(&err);
	return rc;
}

/* Roll back to `to` (0: remove the new revision entirely). */
static int roll_back(struct session *s, int to, const struct dp_spec *to_spec, const char *why,
		     int status)
{
	struct dp_deploy *d = &s->d;
	emit_rollback(s, to, why);
	sig_reset();
	struct strbuf err = SB_INIT;
	if (dp_restore(d, to_spec, to, &err) < 0) {
		error("rollback of %s failed: %s", d->id, err.buf);
		emit_done(s, DP_ROLLBACK_FAILED, err.buf);
		sb_release(&err);
		return EXIT_SYSTEM;
	}
	sb_release(&err);
	emit_done(s, DP_ROLLED_BACK, why);
	if (to_spec && save_current(s, to, to_spec->version) < 0)
		return EXIT_SYSTEM;
	if (!to_spec) {
		char *path = dp_store_path(d, "current.json");
		unlink(path);
		free(path);
	}
	return status;
}

/* Drive the deploy in s to its end; returns the exit status. */
static int drive(struct session *s, int from_step, enum dp_mode mode, const char *why)
{
	struct dp_deploy *d = &s->d;
	const struct dp_spec *back = d->prev_spec;
	if (mode == MODE_ROLLBACK)
		return roll_back(s, d->from_revision, back, why, EXIT_NO);
	struct strbuf reason = SB_INIT;
	enum dp_flow f = DP_DONE;
	switch (d->spec->strategy.kind) {
	case DP_ROLLING: f = dp_rolling(d, &reason); break;
	case DP_BLUEGREEN: f = dp_bluegreen(d, from_step, &reason); break;
	case DP_CANARY: f = dp_canary(d, from_step, &reason); break;
	}
	int status;
	switch (f) {
	case DP_DONE:
		emit_done(s, DP_PROMOTED, NULL);
		status = save_current(s, d->revision, d->spec->version) < 0 ? EXIT_SYSTEM : EXIT_OK;
		break;
	case DP_INTERRUPTED: {
		struct strbuf msg = SB_INIT;
		sb_addf(&msg, "stopped by signal %d: run 'ofs-deploy resume %s' or 'ofs-deploy rollback %s'",
			sig_pending(), d->service, d->service);
		dp_step_emit(d, 0, 0, "interrupt", "interrupted", msg.buf, NULL, NULL);
		sb_release(&msg);
		status = sig_exit_status();
		break;
	}
	case DP_ERROR:
		error("deploy %s failed: %s", d->id, reason.buf);
		status = roll_back(s, d->from_revision, back, reason.buf, EXIT_SYSTEM);
		break;
	default:
		status = roll_back(s, d->from_revision, back, reason.buf, EXIT_NO);
		break;
	}
	sb_release(&reason);
	return status;
}

/* Load revision rev's spec into sp; exits 4 on failure. */
static void load_revision(struct session *s, int rev, struct dp_spec *sp)
{
	struct strbuf err = SB_INIT;
	if (dp_revision_load(s->dir, rev, sp, &err) < 0) {
		error_lines(err.buf, err.len);
		exit_after_output(EXIT_SYSTEM);
	}
	sb_release(&err);
}

/* ---- run ------------------------------------------------------------------- */

static int dry_run(const struct dp_spec *spec)
{
	struct strbuf err = SB_INIT;
	char *dir = dp_store_dir(spec->service, false, &err);
	struct dp_current cur;
	int from = 0, rev = 1;
	if (dir && dp_current_load(dir, &cur, &err) == 0) {
		for (size_t i = 0; i < cur.ninst; i++)
			if (cur.inst[i]->state != DP_STOPPED)
				from++;
		rev = cur.next_deploy;
		dp_current_release(&cur);
	}
	free(dir);
	sb_release(&err);
	dp_plan_print(spec, from, rev, out_stdout());
	return EXIT_OK;
}

/* Refuse to start over a deploy that did not end. */
static int check_latest_done(struct session *s, const char *service)
{
	int latest = dp_latest_deploy(s->dir);
	if (!latest)
		return 0;
	char *path = journal_path(s->dir, latest);
	struct dp_replay r;
	struct strbuf err = SB_INIT;
	int rc = 0;
	if (dp_replay_load(path, &r, &err) == 0 && !r.done) {
		error("deploy %s/%d did not finish: run 'ofs-deploy resume %s' or 'ofs-deploy rollback %s' first",
		      service, latest, service, service);
		rc = EXIT_SYSTEM;
	}
	dp_replay_release(&r);
	sb_release(&err);
	free(path);
	return rc;
}

int cmd_run(int argc, char **argv)
{
	struct opt_parser p;
	bool dry = false, quiet = false;
	int wait_ms = 0;
	opt_begin(&p, argc, argv);
	for (int c; (c = opt_next(&p)) != OPT_DONE;) {
		switch (c) {
		case 'q': quiet = true; break;
		case DOPT_DRY_RUN: dry = true; break;
		case DOPT_WAIT: wait_ms = parse_wait(p.arg); break;
		}
	}
	char **ops;
	int nops = opt_operands(&p, &ops);
	if (nops != 1)
		opt_usage_error(&p, nops ? "one spec at a time" : "which spec?");
	struct session s;
	memset(&s, 0, sizeof(s));
	s.lock = -1;
	struct strbuf err = SB_INIT;
	if (dp_spec_load(ops[0], &s.spec, &err) < 0) {
		error_lines(err.buf, err.len);
		sb_release(&err);
		opt_end(&p);
		return EXIT_USAGE;
	}
	s.have_spec = true;
	opt_end(&p);
	if (dry) {
		int st = dry_run(&s.spec);
		session_release(&s);
		return st;
	}
	int st = take(&s, s.spec.service, wait_ms);
	if (!st)
		st = check_latest_done(&s, s.spec.service);
	if (st) {
		session_release(&s);
		return st;
	}
	struct dp_current cur;
	if (dp_current_load(s.dir, &cur, &err) < 0) {
		error("%s", err.buf);
		session_release(&s);
		return EXIT_SYSTEM;
	}
	struct dp_deploy *d = &s.d;
	dp_deploy_init(d, s.spec.service, cur.next_deploy);
	d->dir = xstrdup(s.dir);
	d->spec = &s.spec;
	d->revision = d->number;
	d->from_revision = cur.revision;
	d->quiet = quiet;
	d->out = out_stdout();
	out_set_line_flush(d->out, true);
	s.kind = xstrdup("run");
	if (cur.revision) {
		load_revision(&s, cur.revision, &s.prev);
		s.have_prev = true;
		d->prev_spec = &s.prev;
		s.from_version = xstrdup(cur.version);
	}
	d->inst = cur.inst;
	d->ninst = d->ainst = cur.ninst;
	cur.inst = NULL;
	cur.ninst = 0;
	dp_current_release(&cur);
	st = open_deploy(&s, false);
	if (!st) {
		if (dp_revision_save(s.dir, d->revision, &s.spec, &err) < 0) {
			error("%s", err.buf);
			st = EXIT_SYSTEM;
		}
	}
	if (!st) {
		dp_control_reset(d);
		emit_start(&s);
		st = drive(&s, 1, MODE_STRATEGY, NULL);
	}
	sb_release(&err);
	session_release(&s);
	return st;
}

/* ---- resume, and the commands that finish a stopped deploy ------------------ */

/*
 * Replay the latest deploy of service (lock held) into s. Returns 0, or
 * 1 when the latest deploy has ended (nothing to resume; *outcome set),
 * or an exit status > 1.
 */
static int replay_latest(struct session *s, const char *service, bool quiet,
			 struct dp_replay *r)
{
	int latest = dp_latest_deploy(s->dir);
	memset(r, 0, sizeof(*r));
	if (!latest)
		return 1;
	char *path = journal_path(s->dir, latest);
	struct strbuf err = SB_INIT;
	int rc = dp_replay_load(path, r, &err);
	free(path);
	if (rc < 0) {
		error("%s", err.buf);
		sb_release(&err);
		return EXIT_SYSTEM;
	}
	sb_release(&err);
	if (r->done)
		return 1;
	struct dp_deploy *d = &s->d;
	dp_deploy_init(d, service, latest);
	d->dir = xstrdup(s->dir);
	d->revision = r->revision;
	d->from_revision = r->from_revision;
	d->quiet = quiet;
	d->out = out_stdout();
	out_set_line_flush(d->out, true);
	d->next_index = r->next_index;
	if (r->start_ns)
		d->start_ns = r->start_ns;
	if (r->trace_id && strlen(r->trace_id) == 32) {
		for (int i = 0; i < 16; i++) {
			unsigned v;
			if (sscanf(r->trace_id + 2 * i, "%2x", &v) == 1)
				d->trace.trace_id[i] = (uint8_t)v;
		}
	}
	s->kind = xstrdup(r->kind ? r->kind : "run");
	load_revision(s, r->revision, &s->spec);
	s->have_spec = true;
	d->spec = &s->spec;
	if (r->from_revision) {
		load_revision(s, r->from_revision, &s->prev);
		s->have_prev = true;
		d->prev_spec = &s->prev;
		s->from_version = xstrdup(s->prev.version);
	}
	d->inst = r->inst;
	d->ninst = d->ainst = r->ninst;
	r->inst = NULL;
	r->ninst = 0;
	return 0;
}

/* Take over the stopped deploy of service and finish it: resume its
 * strategy, or roll it back. control ("promote", "abort" or NULL) is
 * handed to it as if it had been running. */
int dp_finish_stopped(const char *service, int wait_ms, bool quiet, bool rollback,
		      const char *control)
{
	enum dp_mode mode = rollback ? MODE_ROLLBACK : MODE_STRATEGY;
	struct session s;
	memset(&s, 0, sizeof(s));
	s.lock = -1;
	int st = take(&s, service, wait_ms);
	if (st) {
		session_release(&s);
		return st;
	}
	struct dp_replay r;
	st = replay_latest(&s, service, quiet, &r);
	if (st == 1) {
		if (r.deploy)
			error("no deploy of '%s' to finish: the last one (%s/%d) ended %s", service,
			      service, r.deploy ? r.deploy : 0, r.outcome ? r.outcome : "?");
		else
			error("no deploy of '%s' to finish: it was never deployed", service);
		dp_replay_release(&r);
		session_release(&s);
		return EXIT_NO;
	}
	if (st) {
		dp_replay_release(&r);
		session_release(&s);
		return st;
	}
	struct dp_deploy *d = &s.d;
	st = open_deploy(&s, true);
	if (!st) {
		struct strbuf err = SB_INIT;
		dp_control_reset(d);
		dp_step_emit(d, 0, 0, "resume", "progressing",
			     r.rolling_back ? "the rollback goes on" : NULL, NULL, NULL);
		if (control) {
			struct strbuf text = SB_INIT;
			sb_addf(&text, "{\"deploy\":%d,\"action\":\"%s\"}\n", d->number, control);
			char *path = dp_store_path(d, "control");
			if (state_write_atomic(path, text.buf, text.len, 0600, NULL) < 0)
				warn("cannot hand '%s' to the deploy", control);
			free(path);
			sb_release(&text);
		}
		if (dp_reconcile(d, &err) < 0) {
			error("cannot settle the instances of %s: %s", d->id, err.buf);
			st = EXIT_SYSTEM;
		} else if (r.rolling_back || mode == MODE_ROLLBACK || !strcmp(s.kind, "rollback")) {
			const char *why = r.reason ? r.reason : "rolled back by a person";
			if (!strcmp(s.kind, "rollback"))
				st = roll_back(&s, d->revision, d->spec, why, EXIT_OK);
			else
				st = drive(&s, 0, MODE_ROLLBACK,
					   mode == MODE_ROLLBACK ? "rolled back by a person" : why);
		} else {
			st = drive(&s, r.step, MODE_STRATEGY, NULL);
		}
		sb_release(&err);
	}
	dp_replay_release(&r);
	session_release(&s);
	return st;
}

int cmd_resume(int argc, char **argv)
{
	struct opt_parser p;
	bool quiet = false;
	int wait_ms = 0;
	opt_begin(&p, argc, argv);
	for (int c; (c = opt_next(&p)) != OPT_DONE;) {
		switch (c) {
		case 'q': quiet = true; break;
		case DOPT_WAIT: wait_ms = parse_wait(p.arg); break;
		}
	}
	char **ops;
	if (opt_operands(&p, &ops) != 1)
		opt_usage_error(&p, "which service?");
	char *service = xstrdup(ops[0]);
	opt_end(&p);
	int st = dp_finish_stopped(service, wait_ms, quiet, false, NULL);
	free(service);
	return st;
}

/* ---- rollback of a finished deploy ------------------------------------------ */

struct hist_scan {
	int current;     /* the revision serving */
	int before;      /* the revision promoted before it */
};

static int scan_history(const char *line, size_t len, size_t lineno, void *ctx)
{
	(void)lineno;
	struct hist_scan *h = ctx;
	cJSON *o = cJSON_ParseWithLength(line, len);
	const cJSON *out = cJSON_GetObjectItemCaseSensitive(o, "outcome");
	const cJSON *rev = cJSON_GetObjectItemCaseSensitive(o, "revision");
	const cJSON *from = cJSON_GetObjectItemCaseSensitive(o, "from_revision");
	if (cJSON_IsString(out) && cJSON_IsNumber(rev) && cJSON_IsNumber(from) &&
	    (int)rev->valuedouble == h->current && !strcmp(out->valuestring, DP_PROMOTED))
		h->before = (int)from->valuedouble;
	cJSON_Delete(o);
	return 0;
}

int dp_rollback_done(const char *service, int to, int wait_ms, bool quiet)
{
	struct session s;
	memset(&s, 0, sizeof(s));
	s.lock = -1;
	int st = take(&s, service, wait_ms);
	struct dp_current cur;
	memset(&cur, 0, sizeof(cur));
	struct strbuf err = SB_INIT;
	if (!st && dp_current_load(s.dir, &cur, &err) < 0) {
		error("%s", err.buf);
		st = EXIT_SYSTEM;
	}
	if (!st && !cur.revision) {
		error("nothing to roll back: '%s' has no revision serving", service);
		st = EXIT_NO;
	}
	if (!st && !to) {
		struct hist_scan h = { cur.revision, 0 };
		char *path = dp_store_path(&(struct dp_deploy){ .dir = s.dir }, "history.jsonl");
		journal_read(path, scan_history, &h, NULL, NULL);
		free(path);
		to = h.before;
		if (!to) {
			error("nothing to roll back to: revision %d of '%s' is the first", cur.revision,
			      service);
			st = EXIT_NO;
		}
	}
	if (!st && to == cur.revision) {
		error("revision %d of '%s' is already serving", to, service);
		st = EXIT_NO;
	}
	if (st) {
		dp_current_release(&cur);
		sb_release(&err);
		session_release(&s);
		return st;
	}
	struct dp_deploy *d = &s.d;
	dp_deploy_init(d, service, cur.next_deploy);
	d->dir = xstrdup(s.dir);
	d->quiet = quiet;
	d->out = out_stdout();
	out_set_line_flush(d->out, true);
	s.kind = xstrdup("rollback");
	load_revision(&s, to, &s.spec);
	s.have_spec = true;
	load_revision(&s, cur.revision, &s.prev);
	s.have_prev = true;
	s.from_version = xstrdup(cur.version);
	d->spec = &s.spec;
	d->prev_spec = &s.prev;
	d->revision = to;
	d->from_revision = cur.revision;
	d->inst = cur.inst;
	d->ninst = d->ainst = cur.ninst;
	cur.inst = NULL;
	cur.ninst = 0;
	st = open_deploy(&s, false);
	if (!st) {
		dp_control_reset(d);
		emit_start(&s);
		struct strbuf why = SB_INIT;
		sb_addf(&why, "rolled back by a person from revision %d", cur.revision);
		st = roll_back(&s, to, &s.spec, why.buf, EXIT_OK);
		sb_release(&why);
	}
	dp_current_release(&cur);
	sb_release(&err);
	session_release(&s);
	return st;
}
