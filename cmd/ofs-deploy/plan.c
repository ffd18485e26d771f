/*
 * plan.c: what `ofs-deploy run --dry-run` prints: the steps a deploy of
 * a spec would take, as deploy.plan records, and how long it takes at
 * the least, as one deploy.estimate record. Nothing is touched.
 *
 * A user reviews the plan before a deploy changes anything (and a CI
 * job can diff it), so it is computed from the spec alone with the same
 * rollout.h arithmetic the strategies use. The rules (ofs-deploy(1)
 * quotes them):
 *
 * Every record has "service" and "revision"; every deploy.plan record
 * "step" (1..N), "steps" (N) and "action".
 *
 * rolling: one "batch" per batch of ro_rolling_plan (stop old instances,
 * then start new ones and wait until they are ready), with stop, start,
 * old_after, new_after, min_available and max_total; the first batch
 * also has max_surge and max_unavailable as resolved against the
 * replicas (maxSurge rounds up, maxUnavailable down). Replacing as many
 * instances as the spec runs is ro_rolling_plan itself; a first deploy
 * (from_replicas 0) is one batch that starts them all; another count of
 * old instances follows the same rule from that count (each batch stops
 * min(old, old + new - (replicas - maxUnavailable)), then starts
 * min(replicas - new, replicas + maxSurge - running)). With an
 * "analysis", each batch names it: it runs after the batch.
 *
 * blueGreen: "start" (instances: the replicas of the new revision),
 * "analysis" (the prePromotionAnalysis, if any), "pause" (until promote
 * when autoPromotion is false; duration_s when autoPromotionDelay is set),
 * "switch" (weight 100: all traffic to the new revision), "analysis"
 * (the postPromotionAnalysis, if any; failing it switches back),
 * "scaleDown" (after_s: scaleDownDelay; instances: the old revision's,
 * absent on a first deploy).
 *
 * canary: one record per step of the canary (rollout.h): "setWeight"
 * (weight, with canary_instances and stable_instances as
 * ro_replica_weights counts them for a router that cannot split
 * traffic), "pause" (duration_s, or "until": "promote"), "analysis"
 * (name, metrics, min_duration_s) and the final "promote".
 *
 * An analysis' shortest run (min_duration_s) is its longest metric's
 * initialDelay + interval x count; its metrics run side by side (a
 * metric with count 0, which runs until the step ends, counts one
 * interval).
 *
 * deploy.estimate: strategy, replicas, from_replicas, min_duration_s,
 * rollback_s and manual (true when a pause waits for `promote`, whose
 * wait the minimum leaves out). min_duration_s, Flagger-style, counts
 * waits, not the time instances take to start: rolling: batches x
 * (minReady + the analysis' shortest run); blueGreen: minReady + the
 * shortest runs of both analyses + autoPromotionDelay; canary:
 * ro_canary_estimate (the timed pauses plus each analysis step's
 * shortest run; for stepWeight that is interval x maxWeight /
 * stepWeight). rollback_s: canary: interval x threshold as
 * ro_canary_estimate has it, from the canary's analyses' metric for
 * which interval x (failureLimit + 1) is largest (0 without analysis);
 * rolling and blueGreen: 0, as the old revision is restored at once,
 * without analysis.
 */
#include "common.h"

#include "deploy.h"
#include "record.h"

struct plan {
	const struct dp_spec *spec;
	int revision;
	struct out *o;
	struct strbuf sb;
	struct jw w;
	int step, steps;
};

static int64_t add_sat(int64_t a, int64_t b)
{
	if (b > 0 && a > INT64_MAX - b)
		return INT64_MAX;
	return a + b;
}

static int64_t mul_sat(int64_t a, int64_t b)
{
	if (a <= 0 || b <= 0)
		return 0;
	return a > INT64_MAX / b ? INT64_MAX : a * b;
}

static double seconds(int64_t ns)
{
	return (double)ns / 1e9;
}

/* The shortest run of analysis a (rule above). */
static int64_t analysis_ns(const struct dp_analysis *a)
{
	int64_t longest = 0;
	for (size_t i = 0; i < a->nmetric; i++) {
		const struct dp_metric *m = &a->metric[i];
		int64_t count = m->an.count > 0 ? m->an.count : 1;
		int64_t t = add_sat(m->initial_delay_ns, mul_sat(m->interval_ns, count));
		if (t > longest)
			longest = t;
	}
	return longest;
}

static void rec_open(struct plan *pl, const char *type)
{
	rec_begin(&pl->w, type);
	jw_kv_str(&pl->w, "service", pl->spec->service);
	jw_kv_int(&pl->w, "revision", pl->revision);
}

static void step_open(struct plan *pl, const char *action)
{
	rec_open(pl, "deploy.plan");
	jw_kv_int(&pl->w, "step", ++pl->step);
	jw_kv_int(&pl->w, "steps", pl->steps);
	jw_kv_str(&pl->w, "action", action);
}

static void rec_close(struct plan *pl)
{
	rec_end(&pl->w, pl->o);
}

static void analysis_step(struct plan *pl, size_t idx)
{
	const struct dp_analysis *a = &pl->spec->analysis[idx];
	step_open(pl, "analysis");
	jw_kv_str(&pl->w, "name", a->name);
	jw_key(&pl->w, "metrics");
	jw_arr_begin(&pl->w);
	for (size_t i = 0; i < a->nmetric; i++)
		jw_str(&pl->w, a->metric[i].name);
	jw_arr_end(&pl->w);
	jw_kv_double(&pl->w, "min_duration_s", seconds(analysis_ns(a)));
	rec_close(pl);
}

static void estimate(struct plan *pl, int from, int64_t min_ns, int64_t rollback_ns, bool manual)
{
	rec_open(pl, "deploy.estimate");
	jw_kv_str(&pl->w, "strategy", dp_strategy_name(pl->spec->strategy.kind));
	jw_kv_int(&pl->w, "replicas", pl->spec->replicas);
	jw_kv_int(&pl->w, "from_replicas", from);
	jw_kv_double(&pl->w, "min_duration_s", seconds(min_ns));
	jw_kv_double(&pl->w, "rollback_s", seconds(rollback_ns));
	jw_kv_bool(&pl->w, "manual", manual);
	rec_close(pl);
}

/* ---- rolling ------------------------------------------------------------ */

/* ro_rolling_plan's rule from `from` old instances to `replicas` new. */
static void rolling_from(int from, int replicas, int surge, int unavailable, struct ro_plan *plan)
{
	ro_plan_release(plan);
	plan->replicas = replicas;
	plan->surge = surge;
	plan->unavailable = unavailable;
	int64_t r = replicas, max_total = (int64_t)replicas + surge;
	int64_t min_avail = unavailable >= replicas ? 0 : r - unavailable;
	int64_t old = from, new = 0;
	size_t alloc = 0;
	while (old > 0 || new < r) {
		int64_t stop = old + new - min_avail < old ? old + new - min_avail : old;
		if (stop < 0)
			stop = 0;
		int64_t during = old - stop + new;
		int64_t start = max_total - during < r - new ? max_total - during : r - new;
		if (start < 0)
			start = 0;
		if (!stop && !start)
			break;
		ALLOC_GROW(plan->batch, plan->n + 1, alloc);
		struct ro_batch *b = &plan->batch[plan->n++];
		b->stop = (int)stop;
		b->start = (int)start;
		b->min_available = (int)during;
		b->max_total = (int)(old + new > during + start ? old + new : during + start);
		old -= stop;
		new += start;
		b->old_after = (int)old;
		b->new_after = (int)new;
	}
}

static void plan_rolling(struct plan *pl, int from)
{
	const struct dp_spec *s = pl->spec;
	const struct dp_strategy *st = &s->strategy;
	int surge = 0, unavailable = 0;
	struct ro_plan plan = RO_PLAN_INIT;
	if (ro_resolve_surge_unavailable(s->replicas, st->max_surge, st->max_unavailable, &surge,
					 &unavailable, NULL) < 0)
		return; /* refused by the loader */
	if (from == s->replicas)
		ro_rolling_plan(s->replicas, surge, unavailable, &plan, NULL);
	else
		rolling_from(from, s->replicas, surge, unavailable, &plan);
	const char *analysis = st->analysis >= 0 ? s->analysis[st->analysis].name : NULL;
	pl->steps = (int)plan.n;
	for (size_t i = 0; i < plan.n; i++) {
		const struct ro_batch *b = &plan.batch[i];
		step_open(pl, "batch");
		if (i == 0) {
			jw_kv_int(&pl->w, "max_surge", surge);
			jw_kv_int(&pl->w, "max_unavailable", unavailable);
		}
		jw_kv_int(&pl->w, "stop", b->stop);
		jw_kv_int(&pl->w, "start", b->start);
		jw_kv_int(&pl->w, "old_after", b->old_after);
		jw_kv_int(&pl->w, "new_after", b->new_after);
		jw_kv_int(&pl->w, "min_available", b->min_available);
		jw_kv_int(&pl->w, "max_total", b->max_total);
		if (analysis)
			jw_kv_str(&pl->w, "analysis", analysis);
		rec_close(pl);
	}
	int64_t per_batch = st->min_ready_ns;
	if (st->analysis >= 0)
		per_batch = add_sat(per_batch, analysis_ns(&s->analysis[st->analysis]));
	estimate(pl, from, mul_sat(per_batch, (int64_t)plan.n), 0, false);
	ro_plan_release(&plan);
}

/* ---- blue/green --------------------------------------------------------- */

static void plan_bluegreen(struct plan *pl, int from)
{
	const struct dp_spec *s = pl->spec;
	const struct dp_strategy *st = &s->strategy;
	bool timed = st->auto_promote && st->auto_promotion_ns > 0;
	pl->steps = 2 + (st->pre_analysis >= 0) + (!st->auto_promote || timed) +
		    (st->post_analysis >= 0) + (from > 0);
	int64_t min_ns = st->min_ready_ns;

	step_open(pl, "start");
	jw_kv_int(&pl->w, "instances", s->replicas);
	rec_close(pl);
	if (st->pre_analysis >= 0) {
		analysis_step(pl, (size_t)st->pre_analysis);
		min_ns = add_sat(min_ns, analysis_ns(&s->analysis[st->pre_analysis]));
	}
	if (!st->auto_promote) {
		step_open(pl, "pause");
		jw_kv_str(&pl->w, "until", "promote");
		rec_close(pl);
	} else if (timed) {
		step_open(pl, "pause");
		jw_kv_double(&pl->w, "duration_s", seconds(st->auto_promotion_ns));
		rec_close(pl);
		min_ns = add_sat(min_ns, st->auto_promotion_ns);
	}
	step_open(pl, "switch");
	jw_kv_int(&pl->w, "weight", 100);
	rec_close(pl);
	if (st->post_analysis >= 0) {
		analysis_step(pl, (size_t)st->post_analysis);
		min_ns = add_sat(min_ns, analysis_ns(&s->analysis[st->post_analysis]));
	}
	if (from > 0) {
		step_open(pl, "scaleDown");
		jw_kv_double(&pl->w, "after_s", seconds(st->scale_down_delay_ns));
		jw_kv_int(&pl->w, "instances", from);
		rec_close(pl);
	}
	estimate(pl, from, min_ns, 0, !st->auto_promote);
}

/* ---- canary ------------------------------------------------------------- */

/* The metric of the canary's analyses that takes longest to fail. */
static const struct dp_metric *slowest_to_fail(const struct dp_spec *s)
{
	const struct ro_canary *c = &s->strategy.canary;
	const struct dp_metric *worst = NULL;
	int64_t worst_ns = -1;
	for (size_t i = 0; i < c->n; i++) {
		if (c->step[i].kind != RO_STEP_ANALYSIS)
			continue;
		const struct dp_analysis *a = &s->analysis[c->step[i].analysis];
		for (size_t j = 0; j < a->nmetric; j++) {
			const struct dp_metric *m = &a->metric[j];
			int64_t t = mul_sat(m->interval_ns, (int64_t)m->an.failure_limit + 1);
			if (t > worst_ns) {
				worst_ns = t;
				worst = m;
			}
		}
	}
	return worst;
}

static void plan_canary(struct plan *pl, int from)
{
	const struct dp_spec *s = pl->spec;
	const struct ro_canary *c = &s->strategy.canary;
	pl->steps = (int)c->n;
	int64_t analyses_ns = 0;
	for (size_t i = 0; i < c->n; i++) {
		const struct ro_step *st = &c->step[i];
		struct ro_weights rw = { 0, 0, 0 };
		switch (st->kind) {
		case RO_STEP_WEIGHT:
			ro_replica_weights(s->replicas, st->weight, &rw, NULL);
			step_open(pl, "setWeight");
			jw_kv_int(&pl->w, "weight", st->weight);
			jw_kv_int(&pl->w, "canary_instances", rw.canary);
			jw_kv_int(&pl->w, "stable_instances", rw.stable);
			rec_close(pl);
			break;
		case RO_STEP_PAUSE:
			step_open(pl, "pause");
			jw_kv_double(&pl->w, "duration_s", seconds(st->pause_ns));
			rec_close(pl);
			break;
		case RO_STEP_PAUSE_PROMOTE:
			step_open(pl, "pause");
			jw_kv_str(&pl->w, "until", "promote");
			rec_close(pl);
			break;
		case RO_STEP_ANALYSIS:
			analysis_step(pl, st->analysis);
			analyses_ns = add_sat(analyses_ns, analysis_ns(&s->analysis[st->analysis]));
			break;
		case RO_STEP_PROMOTE:
			step_open(pl, "promote");
			rec_close(pl);
			break;
		}
	}
	/* Pauses and the rollback from rollout.h; each analysis step its own
	 * shortest run (the analyses may differ). */
	const struct dp_metric *m = slowest_to_fail(s);
	struct ro_estimate est;
	ro_canary_estimate(c, m ? m->interval_ns : 0, m ? m->an.failure_limit + 1 : 1, 0, &est);
	estimate(pl, from, add_sat(est.promote_ns, analyses_ns), est.rollback_ns, est.manual);
}

void dp_plan_print(const struct dp_spec *spec, int from_replicas, int revision, struct out *o)
{
	struct plan pl = { .spec = spec, .revision = revision, .o = o };
	sb_init(&pl.sb, 0);
	jw_init(&pl.w, &pl.sb);
	if (from_replicas < 0)
		from_replicas = 0;
	switch (spec->strategy.kind) {
	case DP_ROLLING:
		plan_rolling(&pl, from_replicas);
		break;
	case DP_BLUEGREEN:
		plan_bluegreen(&pl, from_replicas);
		break;
	case DP_CANARY:
		plan_canary(&pl, from_replicas);
		break;
	}
	sb_release(&pl.sb);
}
