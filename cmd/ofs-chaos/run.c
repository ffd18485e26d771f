/*
 * run.c: `ofs-chaos run`: one experiment from gate to verdict.
 *
 * The phases, in order:
 *   1. the steady-state hypothesis, as a gate: if it does not hold,
 *      nothing is injected and the run ends gate_failed (exit 1, never 0);
 *   2. the method: actions (native faults among them) and probes in
 *      order, background activities alongside, while the hypothesis is
 *      checked every interval when the strategy asks for it (during);
 *   3. the hypothesis after: polled until it holds or the RTO is spent,
 *      which measures recovery_s, the time from the first fault to the
 *      steady state restored;
 *   4. the rollbacks, by strategy (by default whenever the method began);
 *   5. the undo of every native fault of this run still live, from the
 *      ledger, so nothing is left behind even when a rollback is missing;
 *   6. the chaos.verdict record and, on request, the Markdown report.
 * Signals: SIGINT, SIGTERM and SIGUSR1 stop the run and go on with 4 and
 * 5 (interrupted, exit 128+N); SIGUSR2 stops it at once, leaving faults
 * live in the ledger for `ofs-chaos recover`.
 */
#include "common.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

#include "chaos.h"
#include "opt.h"
#include "out.h"
#include "rnd.h"
#include "run.h"
#include "sig.h"
#include "state.h"
#include "timefmt.h"
#include "units.h"

/* ---- servicing: timed undos and during checks ----------------------------- */

static int check_hypothesis(struct run *run, const char *phase, enum tri *held);

static void refresh_live(struct run *run)
{
	if (!run->ledger)
		return;
	struct strbuf err = SB_INIT;
	cJSON *all = ledger_live(run->ledger, &err);
	if (!all) {
		error("%s", err.buf);
		sb_release(&err);
		return;
	}
	cJSON *mine = cJSON_CreateArray();
	cJSON *rec;
	cJSON_ArrayForEach(rec, all)
	{
		const char *r = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rec, "run"));
		if (r && !strcmp(r, run->run_id))
			cJSON_AddItemToArray(mine, cJSON_Duplicate(rec, 1));
	}
	cJSON_Delete(all);
	cJSON_Delete(run->live);
	run->live = mine;
	sb_release(&err);
}

/* Undo one live fault of this run and say so. */
static void undo_one(struct run *run, const cJSON *rec, const char *why)
{
	struct strbuf err = SB_INIT;
	int rc = fault_undo(&run->fc, rec, &err);
	cJSON *r = report_new(run, "chaos.undo");
	cJSON_AddStringToObject(r, "uid", cJSON_GetStringValue(cJSON_GetObjectItem(rec, "uid")));
	const char *kind = cJSON_GetStringValue(cJSON_GetObjectItem(rec, "kind"));
	const char *target = cJSON_GetStringValue(cJSON_GetObjectItem(rec, "target"));
	cJSON_AddStringToObject(r, "kind", kind ? kind : "");
	cJSON_AddStringToObject(r, "target", target ? target : "");
	cJSON_AddStringToObject(r, "why", why);
	cJSON_AddStringToObject(r, "status", rc < 0 ? "failed" : "undone");
	if (rc < 0) {
		cJSON_AddStringToObject(r, "error", err.buf);
		run->undo_failed++;
	}
	report_record(run, r);
	sb_release(&err);
}

void run_service(struct run *run)
{
	if (run->live && cJSON_GetArraySize(run->live) > 0) {
		int64_t now = ts_now_ns();
		bool undone = false;
		const cJSON *rec;
		cJSON_ArrayForEach(rec, run->live)
		{
			int64_t due = fault_due(rec);
			if (due > 0 && due <= now) {
				undo_one(run, rec, "its duration ended");
				undone = true;
			}
		}
		if (undone)
			refresh_live(run);
	}
	if (run->next_during_mono && !run->in_during && mono_ns() >= run->next_during_mono &&
	    !sig_pending()) {
		enum tri held;
		run->in_during = true;
		if (check_hypothesis(run, "during", &held) == 0) {
			run->during_checks++;
			if (held == TRI_NO) {
				run->during_deviations++;
				if (run->abort_on_deviation)
					run->abort_now = true;
			}
		}
		run->in_during = false;
		run->next_during_mono = mono_ns() + run->interval_ns;
	}
}

/* The next moment run_service has work, or INT64_MAX. */
static int64_t next_service_mono(struct run *run)
{
	int64_t next = INT64_MAX;
	if (run->next_during_mono && !run->in_during)
		next = run->next_during_mono;
	const cJSON *rec;
	if (run->live)
		cJSON_ArrayForEach(rec, run->live)
		{
			int64_t due = fault_due(rec);
			if (due > 0) {
				int64_t m = mono_ns() + (due - ts_now_ns());
				if (m < next)
					next = m;
			}
		}
	return next;
}

int run_wait(struct run *run, int64_t ns)
{
	int64_t deadline = mono_ns() + (ns > 0 ? ns : 0);
	for (;;) {
		run_service(run);
		if (sig_pending())
			return -1;
		if (run->abort_now)
			return 0; /* the method is being stopped: no more waiting */
		int64_t now = mono_ns();
		if (now >= deadline)
			return 0;
		int64_t until = deadline;
		int64_t next = next_service_mono(run);
		if (next < until)
			until = next;
		int64_t ms = (until - now + 999999) / 1000000;
		struct pollfd p = { .fd = sig_fd(), .events = POLLIN };
		if (poll(&p, 1, ms < 0 ? 0 : ms > INT_MAX ? INT_MAX : (int)ms) < 0 && errno != EINTR)
			die_errno("poll");
	}
}

/* ---- one activity ---------------------------------------------------------- */

/* How one activity went, for its caller. */
struct act_outcome {
	bool failed;        /* the provider could not do its job */
	enum tri held;      /* the tolerance, when there is one */
	struct strbuf why;  /* the tolerance's line or the error */
};

static void note_output(struct run *run, const char *name, const cJSON *output)
{
	cJSON_DeleteItemFromObjectCaseSensitive(run->outputs, name);
	cJSON_AddItemToObject(run->outputs, name,
			      output ? cJSON_Duplicate(output, 1) : cJSON_CreateNull());
}

static void judge_tolerance(const struct activity *a, const cJSON *prov,
			    const struct act_result *res, bool in_hypothesis,
			    struct act_outcome *oc)
{
	if (res->failed && !res->output) {
		if (a->tolerance || in_hypothesis) {
			oc->held = TRI_NO;
			sb_addstr(&oc->why, res->error.buf);
		}
		return;
	}
	if (a->tolerance) {
		oc->held = tol_check(a->tolerance, res->output, &oc->why) ? TRI_YES : TRI_NO;
	} else if (a->prov == PROV_HEALTH && (in_hypothesis || a->type == ACT_PROBE)) {
		oc->held = health_probe_held(prov, res->output, &oc->why) ? TRI_YES : TRI_NO;
	}
}

static cJSON *activity_record(struct run *run, const struct activity *a, const char *phase,
			      int64_t start_ns, int64_t end_ns)
{
	char ts[TS_BUFSZ];
	cJSON *r = report_new(run, "chaos.activity");
	cJSON_AddStringToObject(r, "phase", phase);
	cJSON_AddStringToObject(r, "name", a->name);
	cJSON_AddStringToObject(r, "activity", activity_type_name(a->type));
	cJSON_AddStringToObject(r, "provider", prov_type_name(a->prov));
	cJSON_AddStringToObject(r, "start", ts_format(start_ns, ts));
	cJSON_AddStringToObject(r, "end", ts_format(end_ns, ts));
	cJSON_AddNumberToObject(r, "duration_s", (double)(end_ns - start_ns) / 1e9);
	return r;
}

/* Add how the activity went to its record r, and write it (r is consumed). */
static void activity_outcome(struct run *run, cJSON *r, const struct act_result *res,
			     const struct act_outcome *oc)
{
	cJSON_AddStringToObject(r, "status", res->failed ? "failed" : "succeeded");
	if (res->output)
		cJSON_AddItemToObject(r, "output", cJSON_Duplicate(res->output, 1));
	if (res->failed)
		cJSON_AddStringToObject(r, "error", res->error.buf);
	if (oc->held != TRI_UNSET) {
		cJSON_AddBoolToObject(r, "tolerance_met", oc->held == TRI_YES);
		cJSON_AddStringToObject(r, "why", oc->why.buf);
	}
	report_record(run, r);
}

/* A fault was injected: the first one starts the recovery clock. */
static void note_fault(struct run *run)
{
	if (!run->faults_injected++)
		run->first_fault_mono = mono_ns();
}

/*
 * Run activity a in phase: pauses, substitution, the provider, the
 * tolerance, the record. Returns 0, or -1 when a signal stopped it.
 */
static int run_activity(struct run *run, const struct activity *a, const char *phase,
			bool in_hypothesis, struct act_outcome *oc)
{
	oc->failed = false;
	oc->held = TRI_UNSET;
	sb_reset(&oc->why);
	if (a->pause_before_ns && run_wait(run, a->pause_before_ns) < 0)
		return -1;
	struct strbuf err = SB_INIT;
	struct act_result res;
	act_result_init(&res);
	int64_t start = ts_now_ns();
	cJSON *prov = subst_apply(a->provider, run->exp->configuration, run->outputs, &err);
	int rc = 0;
	if (!prov) {
		res.failed = true;
		sb_addf(&res.error, "%s", err.buf);
	} else {
		rc = provider_run(run, a, prov, &res);
	}
	int64_t end = ts_now_ns();
	if (rc < 0) {
		cJSON_Delete(prov);
		act_result_release(&res);
		sb_release(&err);
		if (a->prov == PROV_FAULT)
			refresh_live(run);
		return -1;
	}
	if (a->prov == PROV_FAULT && !res.failed && !run->dry_run) {
		note_fault(run);
		refresh_live(run);
	}
	note_output(run, a->name, res.output);
	judge_tolerance(a, prov, &res, in_hypothesis, oc);
	oc->failed = res.failed;
	if (res.failed && !oc->why.len)
		sb_addstr(&oc->why, res.error.buf);

	cJSON *r = activity_record(run, a, phase, start, end);
	activity_outcome(run, r, &res, oc);
	cJSON_Delete(prov);
	act_result_release(&res);
	sb_release(&err);
	if (a->pause_after_ns && run_wait(run, a->pause_after_ns) < 0)
		return -1;
	return 0;
}

/* ---- the hypothesis --------------------------------------------------------- */

static int check_hypothesis(struct run *run, const char *phase, enum tri *held)
{
	const struct experiment *e = run->exp;
	*held = TRI_UNSET;
	if (!e->nhypothesis)
		return 0;
	struct strbuf label = SB_INIT, why = SB_INIT;
	sb_addf(&label, "hypothesis-%s", phase);
	struct act_outcome oc = { .why = SB_INIT };
	cJSON *probes = cJSON_CreateArray();
	bool all = true;
	int rc = 0;
	for (size_t i = 0; i < e->nhypothesis; i++) {
		const struct activity *a = &e->hypothesis[i];
		if (run_activity(run, a, label.buf, true, &oc) < 0) {
			rc = -1;
			break;
		}
		bool ok = oc.held != TRI_NO && !(oc.failed && oc.held == TRI_UNSET);
		cJSON *p = cJSON_CreateObject();
		cJSON_AddStringToObject(p, "name", a->name);
		cJSON_AddBoolToObject(p, "held", ok);
		cJSON_AddStringToObject(p, "why", oc.why.buf);
		cJSON_AddItemToArray(probes, p);
		if (!ok && all) {
			all = false;
			sb_addf(&why, "%s: %s", a->name, oc.why.buf);
		}
	}
	if (rc == 0) {
		*held = all ? TRI_YES : TRI_NO;
		cJSON *r = report_new(run, "chaos.hypothesis");
		cJSON_AddStringToObject(r, "phase", phase);
		cJSON_AddStringToObject(r, "title", e->hyp_title);
		cJSON_AddBoolToObject(r, "held", all);
		if (!all)
			cJSON_AddStringToObject(r, "why", why.buf);
		if (run->first_fault_mono)
			cJSON_AddNumberToObject(r, "since_fault_s",
						(double)(mono_ns() - run->first_fault_mono) / 1e9);
		cJSON_AddItemToObject(r, "probes", probes);
		report_record(run, r);
		if (!all && !strcmp(phase, "during") && !run->during_why.len)
			sb_addf(&run->during_why, "during the method: %s", why.buf);
	} else {
		cJSON_Delete(probes);
	}
	sb_release(&oc.why);
	sb_release(&label);
	sb_release(&why);
	return rc;
}

/* ---- background activities --------------------------------------------------- */

/*
 * A background activity runs in a child process of its own, so the
 * method goes on meanwhile; the child sends its result back as one JSON
 * object through a pipe. Faults it injects are in the ledger under this
 * run's id, so the end of the run undoes them like any other.
 */
struct bg_task {
	pid_t pid;
	int fd;
	const struct activity *a;
	struct strbuf buf;
	int64_t start_ns;
};

struct bg_set {
	struct bg_task *t;
	size_t n, alloc;
};

static void bg_child(struct run *run, const struct activity *a, int fd)
{
	/* Nothing of the parent's bookkeeping is the child's to do. */
	run->journal = NULL;
	run->quiet = true;
	run->next_during_mono = 0;
	cJSON_Delete(run->live);
	run->live = NULL;
	struct strbuf err = SB_INIT;
	struct act_result res;
	act_result_init(&res);
	cJSON *prov = subst_apply(a->provider, run->exp->configuration, run->outputs, &err);
	if (!prov) {
		res.failed = true;
		sb_addstr(&res.error, err.buf);
	} else if (provider_run(run, a, prov, &res) < 0) {
		_exit(EXIT_SIGNAL);
	}
	cJSON *o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "failed", res.failed);
	cJSON_AddStringToObject(o, "error", res.error.buf ? res.error.buf : "");
	if (res.output)
		cJSON_AddItemToObject(o, "output", cJSON_Duplicate(res.output, 1));
	char *s = cJSON_PrintUnformatted(o);
	size_t len = strlen(s), off = 0;
	while (off < len) {
		ssize_t w = write(fd, s + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	_exit(0);
}

static int bg_start(struct run *run, struct bg_set *bg, const struct activity *a)
{
	if (a->pause_before_ns && run_wait(run, a->pause_before_ns) < 0)
		return -1;
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		die_errno("cannot create a pipe");
	out_flush(out_stdout());
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0)
		die_errno("cannot fork");
	if (pid == 0) {
		close(p[0]);
		bg_child(run, a, p[1]);
	}
	close(p[1]);
	if (bg->n == bg->alloc) {
		bg->alloc = bg->alloc ? bg->alloc * 2 : 4;
		bg->t = xrealloc(bg->t, bg->alloc * sizeof(*bg->t));
	}
	bg->t[bg->n++] = (struct bg_task){ pid, p[0], a, SB_INIT, ts_now_ns() };
	return 0;
}

/* A child finished: reap it and record its activity. */
static void bg_finish(struct run *run, struct bg_task *t, struct act_outcome *oc)
{
	int st;
	while (waitpid(t->pid, &st, 0) < 0 && errno == EINTR)
		;
	close(t->fd);
	cJSON *o = cJSON_ParseWithLength(t->buf.buf ? t->buf.buf : "", t->buf.len);
	struct act_result res;
	act_result_init(&res);
	if (!o) {
		res.failed = true;
		sb_addstr(&res.error, "the background activity ended without a result");
	} else {
		res.failed = cJSON_IsTrue(cJSON_GetObjectItem(o, "failed"));
		const char *e = cJSON_GetStringValue(cJSON_GetObjectItem(o, "error"));
		sb_addstr(&res.error, e ? e : "");
		cJSON *out = cJSON_DetachItemFromObject(o, "output");
		res.output = out;
		cJSON_Delete(o);
	}
	const struct activity *a = t->a;
	if (a->prov == PROV_FAULT && !res.failed && !run->dry_run)
		note_fault(run);
	refresh_live(run);
	note_output(run, a->name, res.output);
	oc->held = TRI_UNSET;
	sb_reset(&oc->why);
	/* A health probe's implied tolerance reads its substituted "expect". */
	struct strbuf serr = SB_INIT;
	cJSON *prov = subst_apply(a->provider, run->exp->configuration, run->outputs, &serr);
	judge_tolerance(a, prov ? prov : a->provider, &res, false, oc);
	cJSON_Delete(prov);
	sb_release(&serr);
	oc->failed = res.failed;
	cJSON *r = activity_record(run, a, "method", t->start_ns, ts_now_ns());
	cJSON_AddBoolToObject(r, "background", true);
	activity_outcome(run, r, &res, oc);
	act_result_release(&res);
	sb_release(&t->buf);
}

static void method_outcome(struct run *run, const struct activity *a, struct act_outcome *oc);

/*
 * Read what the children have written; wait_ms 0 polls, -1 waits until
 * every child is done. Returns -1 if a signal arrived while waiting.
 */
static int bg_collect(struct run *run, struct bg_set *bg, bool wait_all)
{
	struct act_outcome oc = { .why = SB_INIT };
	int rc = 0;
	while (bg->n) {
		struct pollfd *fds = xcalloc(bg->n + 1, sizeof(*fds));
		for (size_t i = 0; i < bg->n; i++)
			fds[i] = (struct pollfd){ .fd = bg->t[i].fd, .events = POLLIN };
		fds[bg->n] = (struct pollfd){ .fd = sig_fd(), .events = POLLIN };
		int timeout = 0;
		if (wait_all) {
			int64_t next = next_service_mono(run);
			timeout = next == INT64_MAX ? 1000 : (int)((next - mono_ns()) / 1000000 + 1);
			if (timeout < 0)
				timeout = 0;
			if (timeout > 1000)
				timeout = 1000;
		}
		int n = poll(fds, bg->n + 1, timeout);
		if (n < 0 && errno != EINTR)
			die_errno("poll");
		for (size_t i = bg->n; i-- > 0;) {
			if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			struct bg_task *t = &bg->t[i];
			char buf[8192];
			ssize_t r = read(t->fd, buf, sizeof(buf));
			if (r > 0) {
				sb_add(&t->buf, buf, (size_t)r);
				continue;
			}
			if (r < 0 && errno == EINTR)
				continue;
			bg_finish(run, t, &oc);
			method_outcome(run, t->a, &oc);
			bg->t[i] = bg->t[--bg->n];
		}
		free(fds);
		if (sig_pending()) {
			rc = -1;
			break;
		}
		run_service(run);
		if (!wait_all)
			break;
	}
	sb_release(&oc.why);
	return rc;
}

/* Stop every background child (after a signal or an abort). */
static void bg_kill(struct run *run, struct bg_set *bg)
{
	for (size_t i = 0; i < bg->n; i++)
		kill(bg->t[i].pid, SIGTERM);
	for (size_t i = 0; i < bg->n; i++) {
		int st;
		while (waitpid(bg->t[i].pid, &st, 0) < 0 && errno == EINTR)
			;
		close(bg->t[i].fd);
		sb_release(&bg->t[i].buf);
	}
	bg->n = 0;
	refresh_live(run);
}

/* ---- the phases -------------------------------------------------------------- */

static void set_status(struct run *run, enum run_status s, const char *why, const char *detail)
{
	run->status = s;
	run->why = why;
	sb_reset(&run->why_detail);
	if (detail && *detail)
		sb_addf(&run->why_detail, "%s: %s", why, detail);
}

/* What an activity of the method means for the run. */
static void method_outcome(struct run *run, const struct activity *a, struct act_outcome *oc)
{
	if (oc->failed && a->type == ACT_ACTION) {
		if (run->status != RUN_ABORTED) {
			struct strbuf d = SB_INIT;
			sb_addf(&d, "%s: %s", a->name, oc->why.buf);
			set_status(run, RUN_ABORTED, "an action of the method failed", d.buf);
			sb_release(&d);
		}
		run->abort_now = true;
	} else if (oc->held == TRI_NO) {
		run->deviated = true;
		if (!run->during_why.len)
			sb_addf(&run->during_why, "method probe %s: %s", a->name, oc->why.buf);
		if (run->abort_on_deviation)
			run->abort_now = true;
	}
}

static bool hyp_before(enum hyp_strategy s)
{
	return s == HYP_DEFAULT || s == HYP_BEFORE_ONLY || s == HYP_CONTINUOUSLY;
}

static bool hyp_during(enum hyp_strategy s)
{
	return s == HYP_DURING_ONLY || s == HYP_CONTINUOUSLY;
}

static bool hyp_after(enum hyp_strategy s)
{
	return s == HYP_DEFAULT || s == HYP_AFTER_ONLY || s == HYP_CONTINUOUSLY;
}

/* The method; -1 when a signal stopped it. */
static int run_method(struct run *run)
{
	const struct experiment *e = run->exp;
	struct bg_set bg = { 0 };
	struct act_outcome oc = { .why = SB_INIT };
	int rc = 0;
	if (hyp_during(e->hyp_strategy) && e->nhypothesis)
		run->next_during_mono = mono_ns() + run->interval_ns;
	for (size_t i = 0; i < e->nmethod && !run->abort_now; i++) {
		const struct activity *a = &e->method[i];
		if (a->background) {
			if (bg_start(run, &bg, a) < 0) {
				rc = -1;
				break;
			}
			continue;
		}
		if (run_activity(run, a, "method", false, &oc) < 0) {
			rc = -1;
			break;
		}
		method_outcome(run, a, &oc);
		if (bg_collect(run, &bg, false) < 0) {
			rc = -1;
			break;
		}
	}
	if (rc == 0 && !run->abort_now && bg_collect(run, &bg, true) < 0)
		rc = -1;
	if (bg.n)
		bg_kill(run, &bg);
	free(bg.t);
	run->next_during_mono = 0;
	sb_release(&oc.why);
	if (rc == 0 && run->abort_now && run->status != RUN_ABORTED)
		set_status(run, RUN_ABORTED, "the hypothesis deviated and --abort-on-deviation stopped the method",
			   run->during_why.buf);
	run->abort_now = false;
	return rc;
}

/*
 * The hypothesis after the method, polled until it holds or the RTO
 * (counted from the first fault) is spent. -1 on a signal.
 */
static int run_after(struct run *run, int64_t method_start_mono)
{
	int64_t t0 = run->first_fault_mono ? run->first_fault_mono : method_start_mono;
	int64_t deadline = run->rto_ns ? t0 + run->rto_ns : 0;
	for (;;) {
		int64_t check_start = mono_ns();
		enum tri held;
		if (check_hypothesis(run, "after", &held) < 0)
			return -1;
		if (held != TRI_NO) {
			run->after = held;
			/* Recovery is only measured against a hypothesis. */
			if (held == TRI_YES)
				run->recovery_s = (double)(check_start - t0) / 1e9;
			return 0;
		}
		int64_t now = mono_ns();
		if (!deadline || now >= deadline) {
			run->after = TRI_NO;
			return 0;
		}
		int64_t wait = run->interval_ns;
		if (now + wait > deadline)
			wait = deadline - now;
		if (run_wait(run, wait) < 0)
			return -1;
	}
}

static void run_rollbacks(struct run *run)
{
	const struct experiment *e = run->exp;
	struct act_outcome oc = { .why = SB_INIT };
	run->rollbacks_ran = e->nrollbacks > 0;
	for (size_t i = 0; i < e->nrollbacks; i++) {
		if (run_activity(run, &e->rollbacks[i], "rollback", false, &oc) < 0) {
			/* A second signal cuts the rollbacks short. */
			run->stop_signal = sig_pending();
			break;
		}
		if (oc.failed)
			run->rollbacks_failed++;
	}
	sb_release(&oc.why);
}

static void undo_all(struct run *run)
{
	refresh_live(run);
	if (!run->live)
		return;
	for (int i = cJSON_GetArraySize(run->live) - 1; i >= 0; i--)
		undo_one(run, cJSON_GetArrayItem(run->live, i), "end of the run");
	refresh_live(run);
}

/* Whether the rollbacks run, by strategy. */
static bool want_rollbacks(const struct run *run, bool method_began)
{
	switch (run->rollback_strategy) {
	case RB_ALWAYS:
		return true;
	case RB_NEVER:
		return false;
	case RB_DEVIATED:
		return run->deviated;
	case RB_DEFAULT:
		break;
	}
	return method_began;
}

/* The record of a signal that stopped the run. */
static void note_signal(struct run *run)
{
	if (!run->stop_signal)
		run->stop_signal = sig_pending();
	struct strbuf d = SB_INIT;
	sb_addf(&d, "signal %d (%s)", run->stop_signal, strsignal(run->stop_signal));
	set_status(run, RUN_INTERRUPTED, "the run was stopped by a signal", d.buf);
	sb_release(&d);
}

int run_experiment(struct run *run)
{
	const struct experiment *e = run->exp;
	bool method_began = false;
	int64_t method_start = mono_ns();
	run->status = RUN_COMPLETED;

	if (hyp_before(e->hyp_strategy)) {
		if (check_hypothesis(run, "before", &run->before) < 0)
			note_signal(run);
		else if (run->before == TRI_NO) {
			run->deviated = true;
			const cJSON *last = cJSON_GetArrayItem(run->records,
							       cJSON_GetArraySize(run->records) - 1);
			set_status(run, RUN_GATE_FAILED,
				   "the steady-state hypothesis did not hold before the method",
				   cJSON_GetStringValue(cJSON_GetObjectItem(last, "why")));
		}
	}
	if (run->status == RUN_COMPLETED) {
		method_began = true;
		method_start = mono_ns();
		if (run_method(run) < 0)
			note_signal(run);
	}
	if (run->status == RUN_COMPLETED || (run->status == RUN_ABORTED && run->abort_on_deviation &&
					     run->during_deviations)) {
		if (hyp_after(e->hyp_strategy) && run_after(run, method_start) < 0)
			note_signal(run);
	}
	if (run->status == RUN_COMPLETED) {
		if (run->after == TRI_NO) {
			run->deviated = true;
			struct strbuf d = SB_INIT;
			const cJSON *rec;
			cJSON_ArrayForEach(rec, run->records)
			{
				const char *t = cJSON_GetStringValue(cJSON_GetObjectItem(rec, "type"));
				const char *w = cJSON_GetStringValue(cJSON_GetObjectItem(rec, "why"));
				if (t && !strcmp(t, "chaos.hypothesis") && w) {
					sb_reset(&d);
					sb_addstr(&d, w);
				}
			}
			if (run->rto_ns) {
				set_status(run, RUN_DEVIATED, "the steady state was not restored within the RTO",
					   d.buf);
			} else {
				set_status(run, RUN_DEVIATED, "the steady-state hypothesis did not hold after the method",
					   d.buf);
			}
			sb_release(&d);
		} else if (run->rto_ns && run->after == TRI_YES &&
			   run->recovery_s * 1e9 > (double)run->rto_ns) {
			/* It held, but only after the RTO (the method outlasted it). */
			struct strbuf d = SB_INIT;
			sb_addf(&d, "held after %.3f s, RTO %.3f s", run->recovery_s,
				(double)run->rto_ns / 1e9);
			set_status(run, RUN_DEVIATED, "the steady state was not restored within the RTO",
				   d.buf);
			sb_release(&d);
		} else if (run->during_deviations && !run->rto_ns) {
			run->deviated = true;
			set_status(run, RUN_DEVIATED, "the steady-state hypothesis deviated during the method",
				   run->during_why.buf);
		} else if (run->deviated) {
			set_status(run, RUN_DEVIATED, "a probe of the method was not within its tolerance",
				   run->during_why.buf);
		}
	}
	if (run->during_deviations)
		run->deviated = true;

	/* Rollbacks and the undo of native faults: not after SIGUSR2. */
	if (run->stop_signal == SIGUSR2) {
		refresh_live(run);
	} else {
		int sig = run->stop_signal;
		sig_reset();
		if (want_rollbacks(run, method_began))
			run_rollbacks(run);
		undo_all(run);
		if (sig)
			run->stop_signal = sig;
	}
	run->end_ns = ts_now_ns();
	if (run->status == RUN_INTERRUPTED)
		return EXIT_SIGNAL + run->stop_signal;
	return run->status == RUN_COMPLETED ? EXIT_OK : EXIT_NO;
}
