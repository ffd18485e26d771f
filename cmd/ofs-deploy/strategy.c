/*
 * strategy.c: rolling, blue/green and canary, each a sequence of the
 * fleet's moves (fleet.c), and the way back (dp_restore).
 *
 * Every step is written so that running it again after a crash does no
 * harm: "grow revision N to 3 ready instances" starts only what is
 * missing, "route 20 % to N" sets what is not yet set. `resume` therefore
 * replays the journal and runs the step that was under way again.
 *
 * A strategy returns DP_DONE when the new revision is fully promoted,
 * DP_FAIL with a reason when it must be rolled back (an analysis failed,
 * a person aborted, the progress deadline passed), DP_ERROR when a driver
 * failed, DP_INTERRUPTED on SIGINT/SIGTERM (the journal stays open for
 * `resume` or `rollback`). An inconclusive analysis pauses the deploy in
 * place until `promote` (go on) or `abort` (roll back).
 */
#include "common.h"

#include "engine.h"
#include "timefmt.h"
#include "units.h"

/*
 * The progress deadline bounds each step that moves instances (a rolling
 * batch, the green set's start, a canary weight, the promotion): one that
 * took longer (instances slow to start, drains that would not end) fails
 * the deploy, which is then rolled back, as Argo Rollouts does with
 * progressDeadlineAbort. Waits for a person, pauses and analyses are not
 * moves and never count.
 */
static bool past_deadline(struct dp_deploy *d, int64_t start_mono, int step, const char *what,
			  struct strbuf *reason)
{
	int64_t dl = d->spec->strategy.progress_deadline_ns;
	if (dl <= 0 || mono_ns() - start_mono <= dl)
		return false;
	char buf[32];
	sb_addf(reason, "step %d (%s) took longer than the progress deadline of %s", step, what,
		dur_format(dl, buf, sizeof(buf)));
	return true;
}

/* A wake-up that is not a timeout: what the strategy does with it. */
static enum dp_flow woken(enum dp_wake w, struct strbuf *reason)
{
	if (w == DP_WAKE_ABORT) {
		sb_addstr(reason, "aborted by a person");
		return DP_FAIL;
	}
	if (w == DP_WAKE_SIGNAL)
		return DP_INTERRUPTED;
	return DP_DONE;
}

/* Pause until promote (DP_DONE), abort (DP_FAIL) or a signal. */
static enum dp_flow pause_for_person(struct dp_deploy *d, int step, int steps, const char *why,
				     struct strbuf *reason)
{
	dp_step_emit(d, step, steps, "pause", "paused", why, NULL, NULL);
	enum dp_wake w = dp_sleep(d, -1);
	if (w == DP_WAKE_PROMOTE) {
		dp_step_emit(d, step, steps, "promote", "progressing", "promoted by a person", NULL,
			     NULL);
		return DP_DONE;
	}
	return woken(w, reason);
}

/* Run analysis index ai as step (step/steps); inconclusive pauses. */
static enum dp_flow analyse(struct dp_deploy *d, ssize_t ai, int step, int steps,
			    struct strbuf *reason)
{
	if (ai < 0)
		return DP_DONE;
	const struct dp_analysis *a = &d->spec->analysis[ai];
	dp_step_emit(d, step, steps, "analysis", "progressing", a->name, NULL, NULL);
	struct strbuf why = SB_INIT;
	enum an_phase ph = dp_analysis_run(d, a, &why);
	enum dp_flow f = DP_DONE;
	switch (ph) {
	case AN_PHASE_SUCCESSFUL:
		break;
	case AN_PHASE_INCONCLUSIVE: {
		struct strbuf msg = SB_INIT;
		sb_addf(&msg, "analysis '%s' inconclusive: %s", a->name, why.buf);
		f = pause_for_person(d, step, steps, msg.buf, reason);
		sb_release(&msg);
		break;
	}
	case AN_PHASE_ERROR:
		/* an analysis that cannot measure fails, unless a signal cut it */
		if (dp_interrupted()) {
			f = DP_INTERRUPTED;
			break;
		}
		sb_addf(reason, "analysis '%s' failed: %s", a->name, why.buf);
		f = DP_FAIL;
		break;
	case AN_PHASE_FAILED:
	case AN_PHASE_RUNNING:
		sb_addf(reason, "analysis '%s' failed: %s", a->name, why.buf);
		f = DP_FAIL;
		break;
	}
	sb_release(&why);
	return f;
}

/* What a failed dp_grow means: a signal, the new revision's fault (it
 * did not become ready: roll back), or a driver's. */
static enum dp_flow grow_failed(int rc)
{
	if (dp_interrupted())
		return DP_INTERRUPTED;
	return rc == -2 ? DP_FAIL : DP_ERROR;
}

/* ---- rolling ------------------------------------------------------------- */

struct batch_info {
	int stop, start, old, new_;
};

static void batch_fields(struct jw *w, void *ctx)
{
	const struct batch_info *b = ctx;
	jw_kv_int(w, "stop", b->stop);
	jw_kv_int(w, "start", b->start);
	jw_kv_int(w, "old", b->old);
	jw_kv_int(w, "new", b->new_);
}

enum dp_flow dp_rolling(struct dp_deploy *d, struct strbuf *reason)
{
	const struct dp_spec *s = d->spec;
	int R = s->replicas, surge, unavail;
	struct strbuf err = SB_INIT;
	if (ro_resolve_surge_unavailable(R, s->strategy.max_surge, s->strategy.max_unavailable,
					 &surge, &unavail, &err) < 0) {
		sb_add(reason, err.buf, err.len);
		sb_release(&err);
		return DP_ERROR;
	}
	unsigned up = DP_S(DP_READY) | DP_S(DP_SERVING);
	/* the number of batches, for "step N of M", from where we stand */
	struct ro_plan plan = RO_PLAN_INIT;
	int old0 = (int)dp_count(d, d->revision, false, up);
	ro_rolling_plan(old0 > R ? old0 : R, surge, unavail, &plan, NULL);
	int steps = old0 ? (int)plan.n : 1, step = 0;
	ro_plan_release(&plan);
	enum dp_flow f = DP_DONE;
	for (;;) {
		if (dp_interrupted()) {
			f = DP_INTERRUPTED;
			break;
		}
		enum dp_wake w = dp_control(d);
		if (w == DP_WAKE_ABORT || w == DP_WAKE_SIGNAL) {
			f = woken(w, reason);
			break;
		}
		int old = (int)dp_count(d, d->revision, false, up);
		int nw = (int)dp_count(d, d->revision, true, up);
		if (old == 0 && nw >= R)
			break;
		struct batch_info b = { 0, 0, old, nw };
		int floor_avail = R - unavail > 0 ? R - unavail : 0;
		b.stop = old + nw - floor_avail;
		if (b.stop > old)
			b.stop = old;
		if (b.stop < 0)
			b.stop = 0;
		b.start = R + surge - (old - b.stop + nw);
		if (b.start > R - nw)
			b.start = R - nw;
		if (b.start < 0)
			b.start = 0;
		if (b.stop == 0 && b.start == 0) {
			/* only surplus old instances are left */
			b.stop = old;
		}
		if (++step > steps)
			steps = step;
		dp_step_emit(d, step, steps, "batch", "progressing", NULL, batch_fields, &b);
		int64_t t0 = mono_ns();
		if (b.stop && dp_retire(d, d->revision, b.stop, &err) < 0) {
			f = DP_ERROR;
			break;
		}
		if (b.start) {
			int g = dp_grow(d, s, d->revision, nw + b.start, s->strategy.min_ready_ns, &err);
			if (g < 0) {
				f = grow_failed(g);
				break;
			}
			if (dp_route_all(d, &err) < 0) {
				f = DP_ERROR;
				break;
			}
		}
		if (past_deadline(d, t0, step, "batch", reason)) {
			f = DP_FAIL;
			break;
		}
		f = analyse(d, s->strategy.analysis, step, steps, reason);
		if (f != DP_DONE)
			break;
	}
	if ((f == DP_ERROR || f == DP_FAIL) && err.len)
		sb_add(reason, err.buf, err.len);
	sb_release(&err);
	return f;
}

/* ---- blue/green ---------------------------------------------------------- */

enum { BG_START = 1, BG_PRE, BG_PAUSE, BG_SWITCH, BG_POST, BG_DELAY, BG_SCALEDOWN, BG_STEPS = 7 };

enum dp_flow dp_bluegreen(struct dp_deploy *d, int from_step, struct strbuf *reason)
{
	const struct dp_spec *s = d->spec;
	const struct dp_strategy *st = &s->strategy;
	struct strbuf err = SB_INIT;
	enum dp_flow f = DP_DONE;
	for (int step = from_step < 1 ? 1 : from_step; step <= BG_STEPS && f == DP_DONE; step++) {
		if (dp_interrupted()) {
			f = DP_INTERRUPTED;
			break;
		}
		switch (step) {
		case BG_START:
			dp_step_emit(d, step, BG_STEPS, "start", "progressing", "the green set", NULL,
				     NULL);
			int64_t t0 = mono_ns();
			int g = dp_grow(d, s, d->revision, s->replicas, st->min_ready_ns, &err);
			if (g < 0)
				f = grow_failed(g);
			else if (past_deadline(d, t0, step, "start", reason))
				f = DP_FAIL;
			break;
		case BG_PRE:
			f = analyse(d, st->pre_analysis, step, BG_STEPS, reason);
			break;
		case BG_PAUSE:
			if (!st->auto_promote) {
				f = pause_for_person(d, step, BG_STEPS,
						     "waiting for promote before the switch", reason);
			} else if (st->auto_promotion_ns > 0) {
				dp_step_emit(d, step, BG_STEPS, "pause", "progressing",
					     "autoPromotionDelay", NULL, NULL);
				enum dp_wake w = dp_sleep(d, st->auto_promotion_ns);
				f = woken(w, reason);
			}
			break;
		case BG_SWITCH:
			dp_step_emit(d, step, BG_STEPS, "switch", "progressing",
				     "all traffic to the green set", NULL, NULL);
			if (dp_route(d, d->revision, 100, &err) < 0)
				f = DP_ERROR;
			break;
		case BG_POST:
			f = analyse(d, st->post_analysis, step, BG_STEPS, reason);
			break;
		case BG_DELAY:
			if (st->scale_down_delay_ns > 0 &&
			    dp_count(d, d->revision, false, DP_LIVE) > 0) {
				dp_step_emit(d, step, BG_STEPS, "scaleDownDelay", "progressing",
					     "the blue set stays up for an instant rollback", NULL,
					     NULL);
				enum dp_wake w = dp_sleep(d, st->scale_down_delay_ns);
				f = woken(w, reason);
			}
			break;
		case BG_SCALEDOWN:
			dp_step_emit(d, step, BG_STEPS, "scaleDown", "progressing", "the blue set",
				     NULL, NULL);
			if (dp_retire(d, d->revision, -1, &err) < 0)
				f = DP_ERROR;
			break;
		}
	}
	if ((f == DP_ERROR || f == DP_FAIL) && err.len)
		sb_add(reason, err.buf, err.len);
	sb_release(&err);
	return f;
}

/* ---- canary -------------------------------------------------------------- */

struct weight_info {
	int weight, canary, stable;
};

static void weight_fields(struct jw *w, void *ctx)
{
	const struct weight_info *wi = ctx;
	jw_kv_int(w, "weight", wi->weight);
	jw_kv_int(w, "canary_instances", wi->canary);
	jw_kv_int(w, "stable_instances", wi->stable);
}

static int set_weight(struct dp_deploy *d, int step, int steps, int weight, struct strbuf *err)
{
	const struct dp_spec *s = d->spec;
	struct ro_weights rw;
	if (ro_replica_weights(s->replicas, weight, &rw, err) < 0)
		return -1;
	bool router = d->router->max_weight > 1;
	struct weight_info wi = { weight, rw.canary, router ? s->replicas : rw.stable };
	dp_step_emit(d, step, steps, "setWeight", "progressing", NULL, weight_fields, &wi);
	int g = dp_grow(d, s, d->revision, rw.canary, s->strategy.min_ready_ns, err);
	if (g < 0)
		return g;
	if (dp_route(d, d->revision, weight, err) < 0)
		return -1;
	if (!router) {
		/* without a traffic router the split is the instance count */
		int extra = (int)dp_count(d, d->revision, false, DP_LIVE) - rw.stable;
		if (extra > 0 && dp_retire(d, d->revision, extra, err) < 0)
			return -1;
	}
	return 0;
}

static int promote_all(struct dp_deploy *d, int step, int steps, struct strbuf *err)
{
	const struct dp_spec *s = d->spec;
	dp_step_emit(d, step, steps, "promote", "progressing", "full promotion", NULL, NULL);
	int g = dp_grow(d, s, d->revision, s->replicas, s->strategy.min_ready_ns, err);
	if (g < 0)
		return g;
	if (dp_route(d, d->revision, 100, err) < 0)
		return -1;
	return dp_retire(d, d->revision, -1, err);
}

enum dp_flow dp_canary(struct dp_deploy *d, int from_step, struct strbuf *reason)
{
	const struct ro_canary *c = &d->spec->strategy.canary;
	int steps = (int)c->n;
	struct strbuf err = SB_INIT;
	enum dp_flow f = DP_DONE;
	for (int i = from_step < 1 ? 0 : from_step - 1; i < steps && f == DP_DONE; i++) {
		const struct ro_step *st = &c->step[i];
		int step = i + 1;
		if (dp_interrupted()) {
			f = DP_INTERRUPTED;
			break;
		}
		enum dp_wake w = dp_control(d);
		if (w == DP_WAKE_ABORT || w == DP_WAKE_SIGNAL) {
			f = woken(w, reason);
			break;
		}
		int64_t t0 = mono_ns();
		switch (st->kind) {
		case RO_STEP_WEIGHT: {
			int rc = set_weight(d, step, steps, st->weight, &err);
			if (rc < 0)
				f = grow_failed(rc);
			break;
		}
		case RO_STEP_PAUSE: {
			char buf[32];
			dp_step_emit(d, step, steps, "pause", "progressing",
				     dur_format(st->pause_ns, buf, sizeof(buf)), NULL, NULL);
			w = dp_sleep(d, st->pause_ns);
			f = woken(w, reason);
			break;
		}
		case RO_STEP_PAUSE_PROMOTE:
			f = pause_for_person(d, step, steps, "waiting for promote", reason);
			break;
		case RO_STEP_ANALYSIS:
			f = analyse(d, (ssize_t)st->analysis, step, steps, reason);
			break;
		case RO_STEP_PROMOTE: {
			int rc = promote_all(d, step, steps, &err);
			if (rc < 0)
				f = grow_failed(rc);
			break;
		}
		}
		if (f == DP_DONE && (st->kind == RO_STEP_WEIGHT || st->kind == RO_STEP_PROMOTE) &&
		    past_deadline(d, t0, step, ro_step_kind_name(st->kind), reason))
			f = DP_FAIL;
	}
	if ((f == DP_ERROR || f == DP_FAIL) && err.len)
		sb_add(reason, err.buf, err.len);
	sb_release(&err);
	return f;
}

/* ---- the way back -------------------------------------------------------- */

int dp_restore(struct dp_deploy *d, const struct dp_spec *spec, int rev, struct strbuf *err)
{
	if (spec && rev > 0) {
		if (dp_grow(d, spec, rev, spec->replicas, 0, err) < 0)
			return -1;
		if (dp_route(d, rev, 100, err) < 0)
			return -1;
	}
	return dp_retire(d, rev, -1, err);
}
