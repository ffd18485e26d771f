/*
 * engine.c: the saga engine (engine.h): the rules of forward and
 * backward recovery, applied to many sagas from one poll loop.
 *
 * Forward: stage by stage; each step is journalled `started` (which also
 * registers its compensation) before its call is made, and `succeeded`
 * or `failed` when the call ends. A failure is retried after a backoff
 * (exponential, capped, full jitter) until the step's attempts are spent
 * or the failure is one the step calls non-retryable. The idempotency
 * key ID/STEP/N keeps N while an attempt's outcome is unknown (no
 * answer: a timeout, a lost connection, a crash), so a call that may
 * have taken effect is repeated, never duplicated; N advances only after
 * a definite failure (an error status, a non-zero exit). A step that
 * fails for good before the pivot turns the saga backward; after the
 * pivot it makes the saga stuck, since only going forward is left.
 *
 * Backward: once no forward call is in flight, the compensation of every
 * registered step runs, one at a time, newest first, each retried until
 * it succeeds or its attempts are spent (then the saga is stuck, loudly).
 *
 * Wait steps park the saga (the process moves on); a signal delivered
 * before or after the wait is taken when the saga next runs, and a
 * passed deadline compensates or continues as the step says.
 */
#include "common.h"
#include <fcntl.h>
#include <poll.h>

#include "call.h"
#include "engine.h"
#include "hash.h"
#include "http.h"
#include "journal.h"
#include "jw.h"
#include "lock.h"
#include "out.h"
#include "proc.h"
#include "record.h"
#include "rnd.h"
#include "saga.h"
#include "sig.h"
#include "state.h"
#include "subst.h"
#include "timefmt.h"
#include "units.h"

#define NS_PER_MS INT64_C(1000000)
/* A journal longer than this many records is replaced by a snapshot. */
#define DEFAULT_COMPACT_LINES 1000

struct queued {
	char *id;
	char *create; /* the saga.started line of a saga to create, or NULL */
	enum engine_pre pre;
	char *sig;
	cJSON *data;
};

struct run {
	struct engine *e;
	struct saga s;
	int lock_fd;
	struct journal *j;
	bool *busy;  /* per step: its action's call is in flight */
	bool *cbusy; /* per step: its compensation's call is in flight */
	int fwd_inflight, comp_inflight;
	bool dirty; /* records written since the last sync */
	bool fresh; /* its journal was created and its directory not yet synced */
	size_t compact_at; /* compact once the journal holds more records (0: the default) */
	bool failed; /* its journal could not be written: it records and calls nothing more */
	bool finished;
	int status;
};

struct call {
	struct run *r;
	size_t step;
	bool comp;
	int attempt, key_attempt;
	char *key;
};

struct engine {
	char *dir;
	int concurrency;
	bool skip_busy, unstick;
	int lock_wait_ms;
	struct queued *queue;
	size_t nqueue, aqueue, next;
	struct run **active;
	size_t nactive, aactive;
	struct http_client *http;
	struct proc_pool *procs;
	int status;
	bool stopping;
	bool created; /* a journal was created since the last sync */
	size_t compact_lines; /* a journal longer than this is compacted */
	struct ht *queued_ids; /* ids queued, so one saga is never queued twice */
	struct call **pending; /* journalled `started`, to be made after the sync */
	size_t npending, apending;
	struct strbuf line;
};

static int worse(int a, int b)
{
	return a > b ? a : b;
}

/* ---- records ------------------------------------------------------------ */

/* The run's journal cannot be trusted any more: it stops where it is. */
static void run_failed(struct run *r)
{
	r->failed = true;
	r->finished = true;
	r->status = EXIT_SYSTEM;
}

static void rec_open(struct run *r, struct jw *w, const char *type)
{
	sb_reset(&r->e->line);
	jw_init(w, &r->e->line);
	rec_begin(w, type);
	jw_kv_str(w, "saga", r->s.id);
	jw_kv_int(w, "seq", r->s.seq + 1);
}

/*
 * Close the record, append it to the journal (fsync'd), apply it to the
 * state, print it. A journal that cannot be written stops this saga (its
 * state on disk stays consistent: the record is either whole or absent).
 */
static bool rec_commit(struct run *r, struct jw *w)
{
	jw_obj_end(w);
	struct strbuf *line = &r->e->line;
	struct strbuf err = SB_INIT;
	if (r->failed)
		return false;
	if (journal_write(r->j, line->buf, line->len, &err) < 0) {
		error("saga '%s': %s", r->s.id, err.buf);
		sb_release(&err);
		run_failed(r);
		return false;
	}
	r->dirty = true;
	cJSON *rec = cJSON_ParseWithLength(line->buf, line->len);
	if (!rec)
		die("out of memory");
	if (saga_apply(&r->s, rec, &err) < 0)
		die("saga '%s': %s", r->s.id, err.buf);
	cJSON_Delete(rec);
	sb_release(&err);
	out_record(out_stdout(), line);
	return true;
}

/* ---- keys, backoff ------------------------------------------------------ */

static char *key_of(const struct run *r, size_t i, bool comp, int key_attempt)
{
	const char *name = r->s.def.steps[i].name;
	return comp ? xasprintf("%s/%s/compensation/%d", r->s.id, name, key_attempt)
		    : xasprintf("%s/%s/%d", r->s.id, name, key_attempt);
}

/* The wait before the next attempt, after failures failures in this budget. */
static int64_t backoff_ms(const struct saga_retry *rt, int failures)
{
	double ms = (double)rt->interval_ns / 1e6;
	for (int k = 1; k < failures && ms < 1e12; k++)
		ms *= rt->backoff;
	double cap = (double)rt->max_interval_ns / 1e6;
	if (ms > cap)
		ms = cap;
	int64_t w = (int64_t)ms;
	if (rt->jitter && w > 0)
		w = (int64_t)rnd_below((uint64_t)w + 1);
	return w;
}

static bool non_retryable(const struct saga_retry *rt, int code)
{
	for (size_t i = 0; i < rt->n_non_retryable; i++)
		if (rt->non_retryable[i] == code)
			return true;
	return false;
}

/* ---- calls ---------------------------------------------------------------- */

static void finish_call(struct call *c, struct call_outcome *o);

static void http_done(const struct http_request *req, struct http_response *resp, void *user)
{
	(void)req;
	struct call_outcome o;
	call_http_outcome(resp, &o);
	finish_call(user, &o);
}

static void proc_done(struct call *c, const struct proc_result *pr)
{
	struct call_outcome o;
	call_proc_outcome(pr, &o);
	finish_call(c, &o);
}

/* Journal `started` and queue the call; it is made once the record is
 * on disk (dispatch). rerun: the outcome of this attempt is unknown, it
 * is made again with the same key. */
static void launch(struct run *r, size_t i, bool comp, int attempt, int key_attempt, bool rerun)
{
	const struct saga_step *step = &r->s.def.steps[i];
	char *key = key_of(r, i, comp, key_attempt);
	struct jw w;
	rec_open(r, &w, comp ? "saga.compensation" : "saga.step");
	jw_kv_str(&w, "step", step->name);
	jw_kv_str(&w, "event", "started");
	jw_kv_int(&w, "attempt", attempt);
	jw_kv_str(&w, "key", key);
	if (rerun)
		jw_kv_bool(&w, "rerun", true);
	if (!rec_commit(r, &w)) {
		free(key);
		return;
	}
	struct call *c = xcalloc(1, sizeof(*c));
	c->r = r;
	c->step = i;
	c->comp = comp;
	c->attempt = attempt;
	c->key_attempt = key_attempt;
	c->key = key;
	if (comp) {
		r->cbusy[i] = true;
		r->comp_inflight++;
	} else {
		r->busy[i] = true;
		r->fwd_inflight++;
	}
	ALLOC_GROW(r->e->pending, r->e->npending + 1, r->e->apending);
	r->e->pending[r->e->npending++] = c;
}

/* Make a queued call whose `started` is on disk. */
static void dispatch(struct call *c)
{
	struct run *r = c->r;
	const struct saga_step *step = &r->s.def.steps[c->step];
	const struct saga_call *sc = c->comp ? &step->compensation : &step->action;
	struct call_ctx ctx = { .saga = r->s.id,
				.step = step->name,
				.key = c->key,
				.compensation = c->comp,
				.attempt = c->attempt,
				.data = r->s.data,
				.outputs = r->s.outputs,
				.user = c };
	struct strbuf err = SB_INIT;
	cJSON *rendered = subst_apply(sc->json, r->s.data, r->s.outputs, &err);
	bool ok = rendered && (sc->url ? call_start_http(r->e->http, sc, rendered, &ctx, &err)
				       : call_start_command(r->e->procs, sc, rendered, &ctx, &err));
	cJSON_Delete(rendered);
	if (!ok) {
		/* Nothing was sent: a failure no retry can mend. */
		struct call_outcome o = { .definite = true, .not_sent = true, .code = -1,
					  .error = SB_INIT };
		sb_addstr(&o.error, err.buf);
		finish_call(c, &o);
	}
	sb_release(&err);
}

static void finish_call(struct call *c, struct call_outcome *o)
{
	struct run *r = c->r;
	struct saga *s = &r->s;
	const struct saga_step *step = &s->def.steps[c->step];
	const struct saga_call *sc = c->comp ? &step->compensation : &step->action;
	struct step_rt *st = &s->steps[c->step];
	if (c->comp) {
		r->cbusy[c->step] = false;
		r->comp_inflight--;
	} else {
		r->busy[c->step] = false;
		r->fwd_inflight--;
	}
	struct jw w;
	rec_open(r, &w, c->comp ? "saga.compensation" : "saga.step");
	jw_kv_str(&w, "step", step->name);
	jw_kv_str(&w, "event", o->ok ? "succeeded" : "failed");
	jw_kv_int(&w, "attempt", c->attempt);
	jw_kv_int(&w, "duration_ms", o->duration_ms);
	if (o->code > 0)
		jw_kv_int(&w, "code", o->code);
	if (o->ok) {
		jw_key(&w, "output");
		jw_cjson(&w, o->output);
	} else {
		jw_kv_str(&w, "error", o->error.buf);
		jw_kv_str(&w, "outcome", o->not_sent ? "not_sent" : o->definite ? "failed" : "unknown");
		int made = c->comp ? st->c_attempts - st->c_base : st->attempts - st->base;
		bool spent = sc->retry.attempts && made >= sc->retry.attempts;
		bool refused = !c->comp && o->definite && non_retryable(&sc->retry, o->code);
		bool going_on = c->comp ? s->phase == PHASE_COMPENSATING : s->phase == PHASE_RUNNING;
		if (o->code == -1)
			refused = true;
		if (going_on && !spent && !refused) {
			jw_kv_int(&w, "retry_in_ms", backoff_ms(&sc->retry, made));
			jw_kv_int(&w, "next_key_attempt",
				  c->key_attempt + (o->definite && !o->not_sent ? 1 : 0));
		} else if (spent) {
			jw_kv_str(&w, "gave_up", "attempts spent");
		} else if (refused) {
			jw_kv_str(&w, "gave_up", "not retryable");
		}
	}
	rec_commit(r, &w);
	cJSON_Delete(o->output);
	sb_release(&o->error);
	free(c->key);
	free(c);
}

/* ---- forward, wait, backward ------------------------------------------------ */

static bool append_simple(struct run *r, const char *type, const char *step, const char *reason)
{
	struct jw w;
	rec_open(r, &w, type);
	if (step)
		jw_kv_str(&w, "step", step);
	if (reason)
		jw_kv_str(&w, "reason", reason);
	return rec_commit(r, &w);
}

/* Step i failed for good: backward before the pivot, stuck after it. */
static bool fail_for_good(struct run *r, size_t i)
{
	const struct saga_step *step = &r->s.def.steps[i];
	struct strbuf why = SB_INIT;
	sb_addf(&why, "step '%s' failed: %s", step->name,
		r->s.steps[i].error ? r->s.steps[i].error : "unknown error");
	bool ok;
	/* A pivot whose last call may have taken effect cannot be undone by
	 * compensating what came before it: it must be learnt first. */
	bool pivot_unknown = r->s.def.pivot == (ssize_t)i && r->s.steps[i].last_unknown;
	if (pivot_unknown)
		sb_addstr(&why, " (the outcome of the pivot's last call is unknown)");
	if (r->s.pivot_passed || pivot_unknown || step->stage > def_pivot_stage(&r->s.def)) {
		ok = append_simple(r, "saga.stuck", step->name, why.buf);
		warn("saga '%s' is stuck going forward: %s; once the cause is fixed: ofs-saga resume "
		     "%s",
		     r->s.id, why.buf, r->s.id);
	} else {
		ok = append_simple(r, "saga.compensating", step->name, why.buf);
	}
	sb_release(&why);
	return ok;
}

/* A wait step: take its signal, park, or act on its deadline. Returns
 * true when something was journalled. */
static bool wait_step(struct run *r, size_t i)
{
	const struct saga_step *step = &r->s.def.steps[i];
	struct step_rt *st = &r->s.steps[i];
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(r->s.signals, step->signal);
	struct jw w;
	if (data) {
		rec_open(r, &w, "saga.step");
		jw_kv_str(&w, "step", step->name);
		jw_kv_str(&w, "event", "succeeded");
		jw_kv_str(&w, "signal", step->signal);
		jw_key(&w, "output");
		jw_cjson(&w, data);
		return rec_commit(r, &w);
	}
	int64_t now = ts_now_ns();
	if (st->st == STEP_PENDING) {
		rec_open(r, &w, "saga.parked");
		jw_kv_str(&w, "step", step->name);
		jw_kv_str(&w, "signal", step->signal);
		jw_key(&w, "deadline");
		if (step->wait_timeout_ns) {
			char ts[TS_BUFSZ];
			jw_str(&w, ts_format(now + step->wait_timeout_ns, ts));
		} else {
			jw_null(&w);
		}
		return rec_commit(r, &w);
	}
	if (st->deadline && now >= st->deadline) {
		rec_open(r, &w, "saga.step");
		jw_kv_str(&w, "step", step->name);
		if (step->timeout_continues) {
			jw_kv_str(&w, "event", "succeeded");
			jw_kv_bool(&w, "timed_out", true);
			jw_key(&w, "output");
			jw_null(&w);
		} else {
			struct strbuf why = SB_INIT;
			sb_addf(&why, "the deadline passed without signal '%s'", step->signal);
			jw_kv_str(&w, "event", "failed");
			jw_kv_str(&w, "error", why.buf);
			jw_kv_str(&w, "gave_up", "deadline");
			sb_release(&why);
		}
		return rec_commit(r, &w);
	}
	return false;
}

static size_t current_stage(const struct saga *s)
{
	for (size_t i = 0; i < s->def.nsteps; i++)
		if (s->steps[i].st != STEP_SUCCEEDED)
			return s->def.steps[i].stage;
	return s->def.nstages;
}

/* Going forward; true when something was journalled (look again). */
static bool forward(struct run *r)
{
	struct saga *s = &r->s;
	size_t stage = current_stage(s);
	if (stage > def_pivot_stage(&s->def) && !s->pivot_passed)
		return append_simple(r, "saga.pivot", s->def.steps[s->def.pivot].name, NULL);
	if (stage == s->def.nstages) {
		if (r->fwd_inflight)
			return false;
		return append_simple(r, "saga.completed", NULL, NULL);
	}
	int64_t now = ts_now_ns();
	for (size_t i = s->def.stage_first[stage]; i < s->def.stage_first[stage + 1]; i++) {
		struct step_rt *st = &s->steps[i];
		if (r->busy[i])
			continue;
		switch (st->st) {
		case STEP_SUCCEEDED:
			break;
		case STEP_PENDING:
			if (s->def.steps[i].is_wait)
				return wait_step(r, i);
			launch(r, i, false, st->attempts + 1, 1, false);
			break;
		case STEP_STARTED:
			launch(r, i, false, st->attempts, st->key_attempt, true);
			break;
		case STEP_RETRYING:
			if (now >= st->retry_at)
				launch(r, i, false, st->attempts + 1, st->key_attempt, false);
			break;
		case STEP_FAILED:
			return fail_for_good(r, i);
		case STEP_PARKED:
			return wait_step(r, i);
		}
		if (r->finished)
			return false;
	}
	return false;
}

/* Going backward; true when something was journalled. */
static bool backward(struct run *r)
{
	struct saga *s = &r->s;
	if (r->fwd_inflight || r->comp_inflight)
		return false;
	int64_t now = ts_now_ns();
	for (size_t k = s->norder; k-- > 0;) {
		size_t i = s->order[k];
		const struct saga_step *step = &s->def.steps[i];
		struct step_rt *st = &s->steps[i];
		if (!step->has_compensation || st->cst == COMP_SUCCEEDED)
			continue;
		switch (st->cst) {
		case COMP_NONE:
			launch(r, i, true, st->c_attempts + 1, 1, false);
			return false;
		case COMP_STARTED:
			launch(r, i, true, st->c_attempts, st->c_key_attempt, true);
			return false;
		case COMP_RETRYING:
			if (now >= st->c_retry_at)
				launch(r, i, true, st->c_attempts + 1, st->c_key_attempt, false);
			return false;
		case COMP_FAILED: {
			struct strbuf why = SB_INIT;
			sb_addf(&why, "the compensation of '%s' failed: %s", step->name,
				st->c_error ? st->c_error : "unknown error");
			bool ok = append_simple(r, "saga.stuck", step->name, why.buf);
			error("saga '%s' is stuck compensating: %s; once the cause is fixed: ofs-saga "
			      "resume %s",
			      s->id, why.buf, s->id);
			sb_release(&why);
			return ok;
		}
		case COMP_SUCCEEDED:
			break;
		}
	}
	return append_simple(r, "saga.compensated", NULL, s->reason);
}

static size_t parked_step(const struct saga *s)
{
	for (size_t i = 0; i < s->def.nsteps; i++)
		if (s->steps[i].st == STEP_PARKED)
			return i;
	return s->def.nsteps;
}

static void advance(struct run *r)
{
	struct saga *s = &r->s;
	while (!r->finished) {
		bool again = false;
		switch (s->phase) {
		case PHASE_COMPLETED:
		case PHASE_COMPENSATED:
		case PHASE_STUCK:
			break;
		case PHASE_PARKED: {
			size_t i = parked_step(s);
			again = i < s->def.nsteps && wait_step(r, i);
			break;
		}
		case PHASE_RUNNING:
			again = forward(r);
			break;
		case PHASE_COMPENSATING:
			again = backward(r);
			break;
		}
		if (again)
			continue;
		bool resting = s->phase == PHASE_COMPLETED || s->phase == PHASE_COMPENSATED ||
			       s->phase == PHASE_STUCK || s->phase == PHASE_PARKED;
		if (resting && !r->fwd_inflight && !r->comp_inflight)
			r->finished = true;
		return;
	}
}

/* The earliest retry due of a run, in ms from now (INT64_MAX: none). */
static int64_t next_due_ms(const struct run *r)
{
	int64_t best = INT64_MAX, now = ts_now_ns();
	for (size_t i = 0; i < r->s.def.nsteps; i++) {
		const struct step_rt *st = &r->s.steps[i];
		int64_t at = st->st == STEP_RETRYING ? st->retry_at
			     : st->cst == COMP_RETRYING ? st->c_retry_at
							 : INT64_MAX;
		if (at == INT64_MAX)
			continue;
		int64_t ms = at <= now ? 0 : (at - now) / NS_PER_MS + 1;
		if (ms < best)
			best = ms;
	}
	return best;
}

/* ---- opening and closing runs --------------------------------------------------- */


static int phase_status(const struct saga *s)
{
	switch (s->phase) {
	case PHASE_COMPENSATED:
		return EXIT_NO;
	case PHASE_STUCK:
		return EXIT_SYSTEM;
	default:
		return EXIT_OK;
	}
}

/* Make what the run wrote durable; false (the run stopped) on failure. */
static bool sync_run(struct run *r)
{
	if (!r->dirty)
		return true;
	struct strbuf err = SB_INIT;
	r->dirty = false;
	if (journal_sync(r->j, &err) == 0) {
		sb_release(&err);
		return true;
	}
	error("saga '%s': %s", r->s.id, err.buf);
	sb_release(&err);
	run_failed(r);
	return false;
}

/* Close a run with no call in flight; its exit status. */
static int close_run(struct run *r)
{
	struct strbuf err = SB_INIT;
	if (!r->failed)
		sync_run(r);
	if (r->j && journal_close(r->j, &err) < 0) {
		error("%s", err.buf);
		r->status = EXIT_SYSTEM;
	}
	int status = worse(r->status, phase_status(&r->s));
	sb_release(&err);
	lock_release(r->lock_fd);
	saga_free(&r->s);
	free(r->busy);
	free(r->cbusy);
	free(r);
	return status;
}

/* Append the queued pre-record; false (with the status set) when refused. */
static bool pre_record(struct run *r, const struct queued *q)
{
	struct saga *s = &r->s;
	if (q->pre == PRE_NONE)
		return true;
	if (saga_ended(s)) {
		error("saga '%s' has ended (%s); %s", s->id, saga_phase_names[s->phase],
		      q->pre == PRE_SIGNAL ? "the signal was not delivered" : "nothing to abort");
		r->status = EXIT_NO;
		return false;
	}
	struct jw w;
	if (q->pre == PRE_SIGNAL) {
		rec_open(r, &w, "saga.signalled");
		jw_kv_str(&w, "signal", q->sig);
		jw_key(&w, "data");
		if (q->data)
			jw_cjson(&w, q->data);
		else
			jw_null(&w);
		return rec_commit(r, &w);
	}
	if (s->pivot_passed) {
		error("saga '%s' passed its pivot '%s'; it can only go forward, not be aborted",
		      s->id, s->def.steps[s->def.pivot].name);
		r->status = EXIT_NO;
		return false;
	}
	if (s->def.pivot >= 0) {
		const struct step_rt *pv = &s->steps[s->def.pivot];
		bool open = pv->st == STEP_STARTED || pv->st == STEP_SUCCEEDED ||
			    ((pv->st == STEP_RETRYING || pv->st == STEP_FAILED) && pv->last_unknown);
		if (open) {
			error("saga '%s': its pivot '%s' may have taken effect (the outcome of its "
			      "last call is unknown); resume the saga to learn it, then abort if it "
			      "failed", s->id, s->def.steps[s->def.pivot].name);
			r->status = EXIT_NO;
			return false;
		}
	}
	if (s->phase == PHASE_COMPENSATING || (s->phase == PHASE_STUCK && s->stuck_backward))
		return true; /* already going backward */
	return append_simple(r, "saga.aborted", NULL, "aborted by request");
}

/* Whether the saga.started line started describes saga s. */
static bool same_start(const struct saga *s, const char *started)
{
	cJSON *rec = cJSON_Parse(started);
	if (!rec)
		die("out of memory");
	bool same = cJSON_Compare(cJSON_GetObjectItemCaseSensitive(rec, "spec"), s->def.cfg.root,
				  true) &&
		    cJSON_Compare(cJSON_GetObjectItemCaseSensitive(rec, "data"), s->data, true);
	cJSON_Delete(rec);
	return same;
}

static struct run *open_run(struct engine *e, const struct queued *q)
{
	struct strbuf err = SB_INIT;
	char *path = saga_journal_path(e->dir, q->id);
	char *lock = xasprintf("%s/%s.lock", e->dir, q->id);
	struct run *r = xcalloc(1, sizeof(*r));
	r->e = e;
	r->lock_fd = -1;
	r->lock_fd = lock_acquire(lock, e->lock_wait_ms, &err);
	if (r->lock_fd < 0) {
		if (!(e->skip_busy && errno == EWOULDBLOCK)) {
			error("saga '%s': %s", q->id, err.buf);
			r->status = EXIT_SYSTEM;
		}
		goto fail;
	}
	bool fresh = false;
	if (q->create && !saga_exists(path)) {
		/* The directory entry becomes durable with the group's sync. */
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0) {
			error("cannot create journal '%s': %s", path, strerror(errno));
			r->status = EXIT_SYSTEM;
			goto fail;
		}
		close(fd);
		e->created = true;
		fresh = true;
		r->fresh = true;
	} else if (!saga_exists(path)) {
		error("no saga '%s' in '%s'", q->id, e->dir);
		r->status = EXIT_USAGE;
		goto fail;
	}
	if (journal_repair(path, NULL, &err) < 0 ||
	    (!fresh && saga_load(path, &r->s, &err) < 0)) {
		error("%s", err.buf);
		r->status = EXIT_SYSTEM;
		goto fail;
	}
	if (q->create && !fresh && !same_start(&r->s, q->create)) {
		error("saga '%s' exists already with another definition or input", q->id);
		r->status = EXIT_USAGE;
		goto fail;
	}
	r->j = journal_open(path, &err);
	if (!r->j) {
		error("%s", err.buf);
		r->status = EXIT_SYSTEM;
		goto fail;
	}
	if (fresh) {
		cJSON *rec = cJSON_Parse(q->create);
		if (!rec)
			die("out of memory");
		r->s.path = xstrdup(path);
		r->s.id = xstrdup(q->id);
		r->s.def.pivot = -1;
		bool ok = journal_write(r->j, q->create, strlen(q->create), &err) == 0 &&
			  saga_apply(&r->s, rec, &err) == 0;
		cJSON_Delete(rec);
		if (!ok) {
			error("%s", err.buf);
			r->status = EXIT_SYSTEM;
			goto fail;
		}
		r->dirty = true;
		sb_addstr(&e->line, q->create);
		out_record(out_stdout(), &e->line);
	}
	r->busy = xcalloc(r->s.def.nsteps, sizeof(bool));
	r->cbusy = xcalloc(r->s.def.nsteps, sizeof(bool));
	if (e->unstick && r->s.phase == PHASE_STUCK &&
	    !append_simple(r, "saga.resumed", NULL, NULL))
		goto fail;
	if (!pre_record(r, q))
		goto fail;
	free(path);
	free(lock);
	sb_release(&err);
	return r;
fail:
	e->status = worse(e->status, r->status);
	if (r->s.id || r->s.path)
		saga_free(&r->s);
	if (r->j)
		journal_close(r->j, NULL);
	lock_release(r->lock_fd);
	free(r->busy);
	free(r->cbusy);
	free(r);
	free(path);
	free(lock);
	sb_release(&err);
	return NULL;
}

/* ---- the loop ----------------------------------------------------------------- */

struct engine *engine_new(const char *dir, int concurrency, bool skip_busy, bool unstick)
{
	struct engine *e = xcalloc(1, sizeof(*e));
	e->dir = xstrdup(dir);
	e->concurrency = concurrency > 0 ? concurrency : 1;
	e->skip_busy = skip_busy;
	e->unstick = unstick;
	e->compact_lines = DEFAULT_COMPACT_LINES;
	e->queued_ids = ht_new();
	const char *env = getenv("OFS_SAGA_COMPACT");
	long long n;
	if (env && *env) {
		if (num_parse_int(env, 10, 100000000, &n, NULL) < 0)
			die_usage("OFS_SAGA_COMPACT: must be a number of records 10..100000000, got "
				  "'%s'", env);
		e->compact_lines = (size_t)n;
	}
	sb_init(&e->line, 512);
	return e;
}

void engine_lock_wait(struct engine *e, int ms)
{
	e->lock_wait_ms = ms;
}

void engine_add_new(struct engine *e, const char *id, const char *started)
{
	size_t n = e->nqueue;
	engine_add(e, id, PRE_NONE, NULL, NULL);
	if (e->nqueue > n)
		e->queue[e->nqueue - 1].create = xstrdup(started);
}

void engine_add(struct engine *e, const char *id, enum engine_pre pre, const char *sig,
		const cJSON *data)
{
	/* A saga is driven by one run: its lock would refuse a second. */
	if (ht_has(e->queued_ids, id))
		return;
	ht_put(e->queued_ids, id, e);
	ALLOC_GROW(e->queue, e->nqueue + 1, e->aqueue);
	struct queued *q = &e->queue[e->nqueue++];
	memset(q, 0, sizeof(*q));
	q->id = xstrdup(id);
	q->pre = pre;
	q->sig = sig ? xstrdup(sig) : NULL;
	q->data = data ? cJSON_Duplicate(data, true) : NULL;
}

/* Collect finished commands. */
static void reap_procs(struct engine *e)
{
	void *user;
	struct proc_result pr = PROC_RESULT_INIT;
	while (proc_pool_next(e->procs, &user, &pr)) {
		proc_done(user, &pr);
		proc_result_release(&pr);
	}
}

static void wait_for_work(struct engine *e, int64_t due_ms)
{
	long ms = due_ms > 100 ? 100 : (long)due_ms;
	if (e->procs && proc_pool_pending(e->procs)) {
		http_run_for(e->http, 0, http_done);
		proc_pool_run_step(e->procs, (int)(ms > 5 ? 5 : ms));
		reap_procs(e);
	} else if (http_pending(e->http)) {
		http_run_for(e->http, ms, http_done);
	} else if (ms > 0) {
		struct pollfd pfd = { sig_fd(), POLLIN, 0 };
		poll(&pfd, 1, (int)ms);
	}
}

/*
 * Replace a long journal (retries going on for days) by one saga.snapshot
 * record holding the whole state: written to a temporary file, synced
 * and renamed over the journal, so a crash leaves the old journal or the
 * new one. The run's records are all synced when this is called.
 */
static void compact(struct run *r)
{
	struct strbuf line = SB_INIT, err = SB_INIT;
	struct jw w;
	jw_init(&w, &line);
	rec_begin(&w, "saga.snapshot");
	jw_kv_str(&w, "saga", r->s.id);
	jw_kv_int(&w, "seq", r->s.seq + 1);
	saga_snapshot(&r->s, &w);
	jw_obj_end(&w);
	sb_addch(&line, '\n');
	journal_close(r->j, NULL);
	if (state_write_atomic(r->s.path, line.buf, line.len, 0600, &err) == 0) {
		r->s.seq++;
		r->s.lines = 1;
	} else {
		/* Try again once as many records have come, not every loop. */
		warn("saga '%s': cannot compact its journal: %s", r->s.id, err.buf);
		r->compact_at = r->s.lines + r->e->compact_lines;
		sb_reset(&err);
	}
	r->j = journal_open(r->s.path, &err);
	if (!r->j) {
		error("saga '%s': %s", r->s.id, err.buf);
		run_failed(r);
	}
	sb_release(&line);
	sb_release(&err);
}

/*
 * Sync every journal written to since the last time (on ext4 the first
 * fdatasync commits the others' lines too), then make the calls whose
 * `started` is now on disk; a run whose journal failed makes none.
 */
static void group_commit(struct engine *e)
{
	if (e->created) {
		struct strbuf err = SB_INIT;
		char *inside = xasprintf("%s/.", e->dir);
		bool ok = state_fsync_dir(inside, &err) == 0;
		free(inside);
		for (size_t k = 0; k < e->nactive; k++) {
			struct run *r = e->active[k];
			if (r->fresh && !ok) {
				/* Its journal might not survive a crash: no call. */
				error("saga '%s': %s", r->s.id, err.buf);
				run_failed(r);
			}
			r->fresh = false;
		}
		sb_release(&err);
		e->created = false;
	}
	for (size_t k = 0; k < e->nactive; k++)
		if (!e->active[k]->failed && sync_run(e->active[k]) &&
		    e->active[k]->s.lines >
			    (e->active[k]->compact_at ? e->active[k]->compact_at : e->compact_lines))
			compact(e->active[k]);
	size_t n = e->npending;
	e->npending = 0;
	for (size_t i = 0; i < n; i++) {
		struct call *c = e->pending[i];
		if (c->r->failed) {
			/* Its journal failed: the call is never made. */
			if (c->comp)
				c->r->comp_inflight--;
			else
				c->r->fwd_inflight--;
			free(c->key);
			free(c);
			continue;
		}
		dispatch(c);
	}
}

int engine_run(struct engine *e)
{
	/* Sagas run for seconds to days: their records flow as they happen. */
	out_set_line_flush(out_stdout(), true);
	e->http = http_client_new(e->concurrency * 2);
	e->procs = proc_pool_new((size_t)e->concurrency);
	while (e->next < e->nqueue || e->nactive) {
		if (sig_pending())
			e->stopping = true;
		while (!e->stopping && e->nactive < (size_t)e->concurrency && e->next < e->nqueue) {
			struct run *r = open_run(e, &e->queue[e->next++]);
			if (!r)
				continue;
			ALLOC_GROW(e->active, e->nactive + 1, e->aactive);
			e->active[e->nactive++] = r;
		}
		int64_t due = INT64_MAX;
		size_t kept = 0;
		for (size_t k = 0; k < e->nactive; k++) {
			struct run *r = e->active[k];
			if (!e->stopping)
				advance(r);
			bool idle = !r->fwd_inflight && !r->comp_inflight;
			if ((r->finished || e->stopping) && idle) {
				e->status = worse(e->status, close_run(r));
				continue;
			}
			int64_t d = next_due_ms(r);
			if (d < due)
				due = d;
			e->active[kept++] = r;
		}
		e->nactive = kept;
		group_commit(e);
		if (e->stopping && !e->nactive)
			break;
		if (e->nactive)
			wait_for_work(e, due);
	}
	http_client_free(e->http);
	e->http = NULL;
	proc_pool_free(e->procs);
	e->procs = NULL;
	if (sig_pending())
		return sig_exit_status();
	return e->status;
}

void engine_free(struct engine *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->nqueue; i++) {
		free(e->queue[i].id);
		free(e->queue[i].create);
		free(e->queue[i].sig);
		cJSON_Delete(e->queue[i].data);
	}
	free(e->queue);
	ht_free(e->queued_ids, NULL);
	free(e->active);
	free(e->pending);
	free(e->dir);
	sb_release(&e->line);
	free(e);
}
