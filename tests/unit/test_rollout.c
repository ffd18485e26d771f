/*
 * test_rollout.c: unit tests for rollout.c, every expectation computed
 * by hand from the rules in rollout.h: maxSurge/maxUnavailable
 * resolution (rounding, the both-zero rule, exact errors), rolling
 * plans written as "-stop+start" per batch, with the availability and
 * surge bounds checked for every batch of every plan over a grid of
 * sizes, canary step lists (explicit, stepWeight/maxWeight,
 * stepWeights) with their estimates, and replica counts for weights.
 */
#include "common.h"
#include <math.h>

#include "rollout.h"
#include "strbuf.h"
#include "tap.h"

#define SEC 1000000000LL
#define P(v) { (v), true }
#define N(v) { (v), false }

static const struct {
	int replicas;
	struct ro_amount surge, unavailable;
	int want_surge, want_unavailable;
	const char *err; /* NULL: resolves */
} resolve_cases[] = {
	{ 10, P(25), P(25), 3, 2, NULL },  /* 2.5 up, 2.5 down */
	{ 4, P(25), P(25), 1, 1, NULL },
	{ 6, P(25), P(25), 2, 1, NULL },   /* 1.5 up, 1.5 down */
	{ 2, P(25), P(25), 1, 0, NULL },   /* 0.5 up, 0.5 down */
	{ 1, P(25), P(25), 1, 0, NULL },
	{ 10, P(33), P(33), 4, 3, NULL },  /* 3.3 */
	{ 0, P(25), P(25), 0, 1, NULL },   /* both resolve to 0: unavailable 1 */
	{ 5, N(0), P(10), 0, 1, NULL },    /* 0.5 rounds down to 0: unavailable 1 */
	{ 5, P(0), P(10), 0, 1, NULL },
	{ 3, N(1), N(0), 1, 0, NULL },
	{ 3, N(0), N(1), 0, 1, NULL },
	{ 6, P(100), N(0), 6, 0, NULL },
	{ 4, P(200), N(0), 8, 0, NULL },   /* surge may pass 100 % */
	{ 3, N(0), P(100), 0, 3, NULL },
	{ 3, N(5), N(7), 5, 7, NULL },     /* counts are not clamped */
	{ 3, N(0), N(0), 0, 0, "maxSurge and maxUnavailable must not both be 0" },
	{ 3, P(0), N(0), 0, 0, "maxSurge and maxUnavailable must not both be 0" },
	{ 3, P(0), P(0), 0, 0, "maxSurge and maxUnavailable must not both be 0" },
	{ 3, N(1), P(101), 0, 0, "maxUnavailable must not be above 100%, got 101%" },
	{ 3, N(-1), N(1), 0, 0, "maxSurge must not be negative, got -1" },
	{ 3, N(1), P(-5), 0, 0, "maxUnavailable must not be negative, got -5%" },
	{ -1, N(1), N(1), 0, 0, "replicas must not be negative, got -1" },
};

static void test_resolve(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(resolve_cases); i++) {
		const __typeof__(resolve_cases[0]) *c = &resolve_cases[i];
		struct strbuf err = SB_INIT;
		int s = -99, u = -99;
		int rc = ro_resolve_surge_unavailable(c->replicas, c->surge, c->unavailable, &s, &u,
						      &err);
		char name[96];
		snprintf(name, sizeof(name), "resolve %d: %d%s / %d%s", c->replicas, c->surge.value,
			 c->surge.percent ? "%" : "", c->unavailable.value,
			 c->unavailable.percent ? "%" : "");
		if (c->err) {
			is_int(rc, -1, name);
			is_str(err.buf, c->err, name);
			ok(s == -99 && u == -99, "%s: outputs untouched", name);
		} else {
			is_int(rc, 0, name);
			is_int(s, c->want_surge, name);
			is_int(u, c->want_unavailable, name);
			is_str(err.buf, "", name);
		}
		sb_release(&err);
	}
	int s, u;
	ok(ro_resolve_surge_unavailable(3, (struct ro_amount)N(0), (struct ro_amount)N(0), &s, &u,
					NULL) == -1,
	   "resolve: a NULL err is allowed");
}

static void plan_text(const struct ro_plan *p, struct strbuf *out)
{
	for (size_t i = 0; i < p->n; i++)
		sb_addf(out, "%s-%d+%d", i ? " " : "", p->batch[i].stop, p->batch[i].start);
}

#define X6(s) s " " s " " s " " s " " s " " s

static const struct {
	int replicas, surge, unavailable;
	const char *want;
} plan_cases[] = {
	/* 25 %/25 % of 1, 2, 6, 10 resolve to 1/0, 1/0, 2/1, 3/2. */
	{ 1, 1, 0, "-0+1 -1+0" },
	{ 2, 1, 0, "-0+1 -1+1 -1+0" },
	{ 6, 2, 1, "-1+3 -3+3 -2+0" },
	{ 10, 3, 2, "-2+5 -5+5 -3+0" },
	/* 1/0: one extra instance at a time, never one fewer. */
	{ 6, 1, 0, "-0+1 -1+1 -1+1 -1+1 -1+1 -1+1 -1+0" },
	{ 10, 1, 0, "-0+1 " X6("-1+1") " -1+1 -1+1 -1+1 -1+0" },
	/* 0/1: replace in place, one at a time. */
	{ 1, 0, 1, "-1+1" },
	{ 2, 0, 1, "-1+1 -1+1" },
	{ 6, 0, 1, X6("-1+1") },
	{ 10, 0, 1, X6("-1+1") " -1+1 -1+1 -1+1 -1+1" },
	/* 100 %/0: the whole new set beside the old, then the old goes. */
	{ 6, 6, 0, "-0+6 -6+0" },
	{ 10, 10, 0, "-0+10 -10+0" },
	/* 0/100 %: recreate. */
	{ 10, 0, 10, "-10+10" },
	{ 4, 0, 3, "-3+3 -1+1" },
	{ 3, 5, 7, "-3+3" },	/* allowances above the replicas */
	{ 0, 0, 1, "" },
};

static void test_plans(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(plan_cases); i++) {
		struct ro_plan p = RO_PLAN_INIT;
		struct strbuf got = SB_INIT, err = SB_INIT;
		char name[64];
		snprintf(name, sizeof(name), "plan %d replicas, surge %d, unavailable %d",
			 plan_cases[i].replicas, plan_cases[i].surge, plan_cases[i].unavailable);
		is_int(ro_rolling_plan(plan_cases[i].replicas, plan_cases[i].surge,
				       plan_cases[i].unavailable, &p, &err),
		       0, name);
		plan_text(&p, &got);
		is_str(got.buf, plan_cases[i].want, name);
		sb_release(&got);
		sb_release(&err);
		ro_plan_release(&p);
	}

	/* One plan in full: 6 replicas, 25 %/25 % (surge 2, unavailable 1). */
	struct ro_plan p = RO_PLAN_INIT;
	ro_rolling_plan(6, 2, 1, &p, NULL);
	static const struct ro_batch want[] = {
		{ 1, 3, 5, 3, 5, 8 },
		{ 3, 3, 2, 6, 5, 8 },
		{ 2, 0, 0, 6, 6, 8 },
	};
	if (is_int((long long)p.n, 3, "6 at 25 %/25 %: 3 batches"))
		for (size_t i = 0; i < 3; i++)
			ok(!memcmp(&p.batch[i], &want[i], sizeof(want[i])),
			   "6 at 25 %%/25 %%: batch %zu is -%d+%d, %d old, %d new, %d..%d", i + 1,
			   want[i].stop, want[i].start, want[i].old_after, want[i].new_after,
			   want[i].min_available, want[i].max_total);
	ok(p.replicas == 6 && p.surge == 2 && p.unavailable == 1, "the plan keeps its inputs");

	/* A plan reused: the old batches are freed and replaced. */
	ro_rolling_plan(1, 0, 1, &p, NULL);
	is_int((long long)p.n, 1, "a reused plan holds the new batches only");
	ro_plan_release(&p);

	/* Errors leave the plan empty. */
	struct strbuf err = SB_INIT;
	ro_rolling_plan(6, 2, 1, &p, NULL);
	is_int(ro_rolling_plan(3, 0, 0, &p, &err), -1, "plan: surge and unavailable both 0");
	is_str(err.buf, "surge and unavailable must not both be 0", "plan: both 0 message");
	ok(p.n == 0 && p.batch == NULL, "plan: an error leaves it empty");
	sb_reset(&err);
	is_int(ro_rolling_plan(-1, 1, 0, &p, &err), -1, "plan: negative replicas");
	is_str(err.buf, "replicas, surge and unavailable must not be negative, got -1, 1, 0",
	       "plan: negative message");
	sb_release(&err);
	ro_plan_release(&p);
}

/* Every batch of every plan over a grid keeps the bounds, moves, and ends all new. */
static void test_plan_invariants(void)
{
	int bad = 0, plans = 0;
	for (int r = 0; r <= 24; r++)
		for (int s = 0; s <= r + 2; s++)
			for (int u = 0; u <= r + 2; u++) {
				if (!s && !u)
					continue;
				struct ro_plan p = RO_PLAN_INIT;
				if (ro_rolling_plan(r, s, u, &p, NULL) < 0) {
					bad++;
					continue;
				}
				plans++;
				int old = r, new = 0, floor_avail = u >= r ? 0 : r - u;
				for (size_t i = 0; i < p.n; i++) {
					const struct ro_batch *b = &p.batch[i];
					int during = old - b->stop + new;
					if (b->stop + b->start < 1 || b->stop > old ||
					    b->min_available != during || during < floor_avail ||
					    during + b->start > r + s || b->max_total > r + s ||
					    new + b->start > r)
						bad++;
					old -= b->stop;
					new += b->start;
					if (b->old_after != old || b->new_after != new)
						bad++;
				}
				if (old != 0 || new != r || (r && !p.n) || p.n > 2 * (size_t)r + 1)
					bad++;
				ro_plan_release(&p);
			}
	ok(bad == 0, "%d plans keep available >= replicas - unavailable and total <= "
		     "replicas + surge, and end all new (%d violations)",
	   plans, bad);
}

static void canary_text(const struct ro_canary *c, struct strbuf *out)
{
	for (size_t i = 0; i < c->n; i++) {
		const struct ro_step *s = &c->step[i];
		if (i)
			sb_addch(out, ' ');
		switch (s->kind) {
		case RO_STEP_WEIGHT:
			sb_addf(out, "w%d", s->weight);
			break;
		case RO_STEP_PAUSE:
			sb_addf(out, "p%llds", (long long)(s->pause_ns / SEC));
			break;
		case RO_STEP_ANALYSIS:
			sb_addf(out, "a%zu", s->analysis);
			break;
		default:
			sb_addstr(out, ro_step_kind_name(s->kind));
			break;
		}
	}
}

static const struct {
	int step, max;
	int64_t interval;
	const char *want; /* or the error */
	int rc;
	int64_t promote_s;
} step_weight_cases[] = {
	{ 10, 50, 60 * SEC, "w10 p60s w20 p60s w30 p60s w40 p60s w50 p60s promote", 0, 300 },
	{ 20, 50, 60 * SEC, "w20 p60s w40 p60s w50 p60s promote", 0, 180 },
	{ 25, 100, 30 * SEC, "w25 p30s w50 p30s w75 p30s w100 p30s promote", 0, 120 },
	{ 5, 5, 10 * SEC, "w5 p10s promote", 0, 10 },
	{ 0, 50, SEC, "stepWeight 0 and maxWeight 50 must satisfy 1 <= stepWeight <= maxWeight <= 100",
	  -1, 0 },
	{ 60, 50, SEC,
	  "stepWeight 60 and maxWeight 50 must satisfy 1 <= stepWeight <= maxWeight <= 100", -1, 0 },
	{ 10, 101, SEC,
	  "stepWeight 10 and maxWeight 101 must satisfy 1 <= stepWeight <= maxWeight <= 100", -1,
	  0 },
	{ 10, 50, 0, "interval must be above 0", -1, 0 },
};

static const struct {
	int weights[6];
	size_t n;
	const char *want;
	int rc;
} step_weights_cases[] = {
	{ { 1, 2, 10, 80 }, 4, "w1 p30s w2 p30s w10 p30s w80 p30s promote", 0 },
	{ { 100 }, 1, "w100 p30s promote", 0 },
	{ { 0 }, 0, "stepWeights must not be empty", -1 },
	{ { 0, 5 }, 2, "stepWeights[0]: weight must be 1 to 100, got 0", -1 },
	{ { 50, 101 }, 2, "stepWeights[1]: weight must be 1 to 100, got 101", -1 },
	{ { 1, 5, 5 }, 3, "stepWeights[2]: 5 does not increase on 5", -1 },
	{ { 10, 5 }, 2, "stepWeights[1]: 5 does not increase on 10", -1 },
};

static void test_canary_generated(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(step_weight_cases); i++) {
		const __typeof__(step_weight_cases[0]) *c = &step_weight_cases[i];
		struct ro_canary can = RO_CANARY_INIT;
		struct strbuf got = SB_INIT, err = SB_INIT;
		char name[64];
		snprintf(name, sizeof(name), "stepWeight %d maxWeight %d", c->step, c->max);
		int rc = ro_canary_from_step_weight(c->step, c->max, c->interval, &can, &err);
		is_int(rc, c->rc, name);
		canary_text(&can, &got);
		is_str(rc ? err.buf : got.buf, c->want, name);
		if (!rc) {
			struct ro_estimate e;
			ro_canary_estimate(&can, c->interval, 3, 0, &e);
			is_int(e.promote_ns, c->promote_s * SEC, "  minimum time to promotion");
			is_int(e.rollback_ns, 3 * c->interval, "  rollback: interval x threshold 3");
			ok(!e.manual, "  no manual step");
		} else {
			ok(can.n == 0, "  an error leaves no steps");
		}
		ro_canary_release(&can);
		sb_release(&got);
		sb_release(&err);
	}
	for (size_t i = 0; i < ARRAY_SIZE(step_weights_cases); i++) {
		const __typeof__(step_weights_cases[0]) *c = &step_weights_cases[i];
		struct ro_canary can = RO_CANARY_INIT;
		struct strbuf got = SB_INIT, err = SB_INIT;
		int rc = ro_canary_from_step_weights(c->weights, c->n, 30 * SEC, &can, &err);
		is_int(rc, c->rc, c->want);
		canary_text(&can, &got);
		is_str(rc ? err.buf : got.buf, c->want, c->want);
		ro_canary_release(&can);
		sb_release(&got);
		sb_release(&err);
	}
	struct ro_canary can = RO_CANARY_INIT;
	struct strbuf err = SB_INIT;
	int w[] = { 1, 2, 10, 80 };
	ro_canary_from_step_weights(w, 4, 30 * SEC, &can, NULL);
	struct ro_estimate e;
	ro_canary_estimate(&can, 30 * SEC, 0, 0, &e);
	ok(e.promote_ns == 120 * SEC && e.weight_steps == 4,
	   "stepWeights [1,2,10,80] every 30 s: 4 steps, promotion after 120 s at the least");
	is_int(e.rollback_ns, 30 * SEC, "threshold 0 counts as 1 for the rollback time");
	is_int(ro_canary_from_step_weights(w, 4, 0, &can, &err), -1, "stepWeights: interval 0");
	is_str(err.buf, "interval must be above 0", "stepWeights: interval message");
	ro_canary_release(&can);
	sb_release(&err);
}

#define W(n) { .kind = RO_STEP_WEIGHT, .weight = (n) }
#define PAUSE(s) { .kind = RO_STEP_PAUSE, .pause_ns = (s) * SEC }
#define HOLD { .kind = RO_STEP_PAUSE_PROMOTE }
#define AN(i) { .kind = RO_STEP_ANALYSIS, .analysis = (i) }
#define PROMOTE { .kind = RO_STEP_PROMOTE }

static const struct {
	const char *name;
	struct ro_step steps[8];
	size_t n;
	const char *want; /* the steps, or the error */
	int rc;
	int64_t promote_s; /* with 300 s per analysis */
	bool manual;
	int weight_steps;
} explicit_cases[] = {
	{ "Argo's example", { W(20), HOLD, W(40), PAUSE(600), AN(0), W(60), PAUSE(600) }, 7,
	  "w20 pausePromote w40 p600s a0 w60 p600s promote", 0, 1500, true, 3 },
	{ "timed only", { W(10), PAUSE(60), AN(1), W(50), PAUSE(120) }, 5,
	  "w10 p60s a1 w50 p120s promote", 0, 480, false, 2 },
	{ "ends with its own promote", { W(50), PAUSE(30), PROMOTE }, 3, "w50 p30s promote", 0,
	  30, false, 1 },
	{ "no steps: straight to promotion", { W(0) }, 0, "promote", 0, 0, false, 0 },
	{ "weights 0 and 100 allowed", { W(0), W(100) }, 2, "w0 w100 promote", 0, 0, false, 2 },
	{ "weight above 100", { W(10), W(101) }, 2, "step 2: weight must be 0 to 100, got 101", -1, 0, false, 0 },
	{ "negative weight", { W(-1) }, 1, "step 1: weight must be 0 to 100, got -1", -1, 0, false, 0 },
	{ "negative pause", { PAUSE(-1) }, 1, "step 1: pause must not be negative", -1, 0, false, 0 },
	{ "steps after promote", { W(10), PROMOTE, W(20) }, 3,
	  "step 2: promote must be the last step", -1, 0, false, 0 },
	{ "unknown kind", { { .kind = (enum ro_step_kind)42 } }, 1, "step 1: unknown step kind 42",
	  -1, 0, false, 0 },
};

static void test_canary_explicit(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(explicit_cases); i++) {
		const __typeof__(explicit_cases[0]) *c = &explicit_cases[i];
		struct ro_canary can = RO_CANARY_INIT;
		struct strbuf got = SB_INIT, err = SB_INIT;
		int rc = ro_canary_from_steps(c->steps, c->n, &can, &err);
		is_int(rc, c->rc, c->name);
		canary_text(&can, &got);
		is_str(rc ? err.buf : got.buf, c->want, c->name);
		if (!rc) {
			struct ro_estimate e;
			ro_canary_estimate(&can, 60 * SEC, 2, 300 * SEC, &e);
			is_int(e.promote_ns, c->promote_s * SEC, "  minimum time to promotion");
			is_int(e.manual, c->manual, "  waits for a person");
			is_int(e.weight_steps, c->weight_steps, "  weight steps");
			is_int(e.rollback_ns, 120 * SEC, "  rollback: 60 s x threshold 2");
		}
		ro_canary_release(&can);
		sb_release(&got);
		sb_release(&err);
	}
	/* Saturation instead of overflow. */
	struct ro_step big[] = { PAUSE(0), PAUSE(0) };
	big[0].pause_ns = big[1].pause_ns = INT64_MAX - 1;
	struct ro_canary can = RO_CANARY_INIT;
	ro_canary_from_steps(big, 2, &can, NULL);
	struct ro_estimate e;
	ro_canary_estimate(&can, INT64_MAX / 2, 3, 0, &e);
	ok(e.promote_ns == INT64_MAX && e.rollback_ns == INT64_MAX, "estimates saturate");
	ro_canary_release(&can);
	is_str(ro_step_kind_name(RO_STEP_PAUSE_PROMOTE), "pausePromote", "step kind name");
	is_str(ro_step_kind_name((enum ro_step_kind)42), "unknown", "unknown step kind name");
}

static const struct {
	int replicas, weight;
	int canary, stable;
	double effective;
	const char *err;
} weight_cases[] = {
	{ 10, 0, 0, 10, 0.0, NULL },
	{ 10, 100, 10, 0, 100.0, NULL },
	{ 10, 20, 2, 8, 20.0, NULL },
	{ 10, 15, 2, 9, 100.0 * 2 / 11, NULL }, /* both round up: one extra */
	{ 4, 1, 1, 4, 20.0, NULL },		 /* 1 % still runs a canary */
	{ 1, 50, 1, 1, 50.0, NULL },
	{ 3, 50, 2, 2, 50.0, NULL },
	{ 5, 99, 5, 1, 100.0 * 5 / 6, NULL },
	{ 0, 50, 0, 0, 0.0, NULL },
	{ -1, 10, 0, 0, 0.0, "replicas must not be negative, got -1" },
	{ 10, 101, 0, 0, 0.0, "weight must be 0 to 100, got 101" },
	{ 10, -1, 0, 0, 0.0, "weight must be 0 to 100, got -1" },
};

static void test_replica_weights(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(weight_cases); i++) {
		const __typeof__(weight_cases[0]) *c = &weight_cases[i];
		struct ro_weights w = { -1, -1, -1.0 };
		struct strbuf err = SB_INIT;
		char name[64];
		snprintf(name, sizeof(name), "%d %% of %d replicas", c->weight, c->replicas);
		int rc = ro_replica_weights(c->replicas, c->weight, &w, &err);
		if (c->err) {
			is_int(rc, -1, name);
			is_str(err.buf, c->err, name);
		} else {
			is_int(rc, 0, name);
			ok(w.canary == c->canary && w.stable == c->stable,
			   "%s: %d canary + %d stable (got %d + %d)", name, c->canary, c->stable,
			   w.canary, w.stable);
			is_double(w.effective, c->effective, 1e-9, name);
		}
		sb_release(&err);
	}
	/* Capacity never drops below the replicas, and exceeds them by at most one. */
	int bad = 0;
	for (int r = 0; r <= 50; r++)
		for (int wt = 0; wt <= 100; wt++) {
			struct ro_weights w;
			ro_replica_weights(r, wt, &w, NULL);
			int total = w.canary + w.stable;
			if (total < r || total > r + 1 || (wt > 0 && r > 0 && w.canary < 1) ||
			    (wt == 0 && w.canary) || (wt == 100 && w.stable))
				bad++;
		}
	is_int(bad, 0, "replicas <= canary + stable <= replicas + 1 for every weight");
}

static const struct {
	int pct, ncanary, nstable, max;
	int canary_w, stable_w;
} split_cases[] = {
	{ 20, 1, 6, 256, 3, 2 },     /* 120 : 80 -> 3 : 2, 3 / (3 + 12) = 20 % */
	{ 50, 2, 2, 256, 1, 1 },
	{ 10, 1, 9, 256, 1, 1 },     /* one instance in ten is 10 % */
	{ 1, 1, 1, 256, 1, 99 },
	{ 5, 1, 1, 100, 1, 19 },     /* 5 : 95 by gcd 5 */
	{ 33, 1, 2, 256, 66, 67 },   /* 66 / (66 + 134) = 33 % exactly */
	{ 33, 1, 2, 10, 10, 10 },    /* 66 : 67 scaled: 9.85 -> 10, 33.3 % */
	{ 1, 1, 1, 10, 1, 10 },      /* 1 : 99 scaled: 0.1 held at 1 */
	{ 1, 1, 1000, 256, 256, 25 },/* 1000 : 99 scaled: 25.3 -> 25, 1.01 % */
	{ 99, 1000, 1, 256, 25, 256 },
	{ 1, 1000, 1, 256, 1, 256 }, /* beyond 1 : 256: the canary at 1 */
	{ 25, 3, 4, 256, 4, 9 },     /* 100 : 225 */
	{ 25, 3, 4, 5, 2, 5 },       /* 4 : 9 scaled: 2.2 -> 2, 5 */
	{ 10, 1, 3, 2, 1, 2 },       /* 3 : 9 -> 1 : 3 scaled: 0.67 -> 1, 2 */
	{ 50, 3, 1, 1, 1, 1 },       /* max 1: both sides 1 */
	{ 0, 2, 5, 256, 0, 1 },      /* pct 0: no canary traffic */
	{ 100, 2, 5, 256, 1, 0 },    /* pct 100: no stable traffic */
	{ 30, 0, 5, 256, 0, 1 },     /* no canary instances */
	{ 30, 4, 0, 256, 1, 0 },     /* no stable instances */
	{ 0, 4, 0, 256, 0, 0 },      /* pct 0 and no stable: nobody */
	{ 100, 0, 4, 256, 0, 0 },
	{ 30, 0, 0, 256, 0, 0 },
	{ -5, 1, 1, 256, 0, 1 },     /* clamped to 0 */
	{ 120, 1, 1, 256, 1, 0 },    /* clamped to 100 */
	{ 40, 1, 1, 0, 1, 1 },       /* max 0 counts as 1 */
	{ 40, -3, 2, 256, 0, 1 },    /* negative counts as 0 */
};

static long gcd(long a, long b)
{
	return b ? gcd(b, a % b) : a;
}

/* The canary share, in %, that weights c and s give. */
static double share(int nc, int ns, int c, int s)
{
	double t = (double)nc * c + (double)ns * s;
	return t > 0 ? 100.0 * nc * c / t : 0.0;
}

static void test_split_weights(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(split_cases); i++) {
		const __typeof__(split_cases[0]) *c = &split_cases[i];
		int cw = -1, sw = -1;
		ro_split_weights(c->pct, c->ncanary, c->nstable, c->max, &cw, &sw);
		ok(cw == c->canary_w && sw == c->stable_w,
		   "split %d %% on %d canary + %d stable, max %d: %d and %d (got %d and %d)",
		   c->pct, c->ncanary, c->nstable, c->max, c->canary_w, c->stable_w, cw, sw);
	}
	/* Every case of a grid: in range, exact without scaling, the documented bound. */
	int bad = 0, exact_bad = 0, checked = 0;
	static const int maxes[] = { 1, 2, 10, 100, 256 };
	for (size_t m = 0; m < ARRAY_SIZE(maxes); m++)
		for (int nc = 0; nc <= 12; nc++)
			for (int ns = 0; ns <= 12; ns++)
				for (int pct = 0; pct <= 100; pct++) {
					int max = maxes[m], cw, sw;
					ro_split_weights(pct, nc, ns, max, &cw, &sw);
					checked++;
					if (cw < 0 || sw < 0 || cw > max || sw > max ||
					    (cw > 0) != (nc > 0 && pct > 0) ||
					    (sw > 0) != (ns > 0 && pct < 100)) {
						bad++;
						continue;
					}
					if (!nc || !ns || !cw || !sw)
						continue;
					double got = share(nc, ns, cw, sw);
					long c0 = (long)pct * ns, s0 = (long)(100 - pct) * nc;
					long g = gcd(c0, s0);
					c0 /= g;
					s0 /= g;
					int w = cw < sw ? cw : sw;
					bool scaled = (c0 > s0 ? c0 : s0) > max;
					/* Beyond 1 : max the small side is held at 1. */
					bool held = (c0 < s0 ? (double)c0 * max / s0 : (double)s0 * max / c0) < 0.5;
					if (!scaled && fabs(got - pct) > 1e-9)
						exact_bad++;
					else if (scaled && !held && fabs(got - pct) > 12.5 / (w - 0.5) + 1e-9)
						bad++;
				}
	is_int(exact_bad, 0, "split: exact when no scaling was needed");
	ok(bad == 0, "split: %d cases in range, with the share error within 12.5 / (w - 0.5) points",
	   checked);
}

int main(void)
{
	test_resolve();
	test_plans();
	test_plan_invariants();
	test_canary_generated();
	test_canary_explicit();
	test_replica_weights();
	test_split_weights();
	return tap_done();
}
