/*
 * rollout.h: planning rolling updates and canary releases.
 *
 * ofs-deploy has to decide, before it touches anything, how many new
 * instances to start and old ones to stop at each step of a rolling
 * update, which weights a canary goes through, how long that takes at
 * the least, and how a weight maps onto instance counts when no proxy
 * can split traffic. Those decisions are the contract a user reviews in
 * --dry-run, so they live here as pure computation on the caller's
 * numbers: no I/O, no clocks (durations are nanoseconds the caller
 * passes in), table-tested.
 *
 * The rules, written out (ofs-deploy(1) repeats them):
 *
 * maxSurge and maxUnavailable (Kubernetes' ResolveFenceposts): a count
 * is taken as is; a percentage of the replicas rounds maxSurge UP
 * (ceil(p * replicas / 100)) and maxUnavailable DOWN
 * (floor(p * replicas / 100)). Both given as 0 (0 or 0 %) is an error.
 * If both RESOLVE to 0 (only possible through rounding, e.g. 0 and 10 %
 * of 5), maxUnavailable becomes 1: an update must be able to move, and
 * Kubernetes prefers losing one instance of capacity to relying on room
 * for an extra one (a quota may forbid it). maxUnavailable above 100 % is an error; maxSurge
 * above 100 % is allowed (200 % starts everything new beside the old).
 * Counts are not clamped to the replicas (as in Kubernetes); the plan
 * treats an allowance above the replicas as "all of them".
 *
 * Rolling plan: a batch first stops (drains) old instances, then starts
 * new ones and waits until they are ready; only ready instances count
 * as available. With R replicas, surge S and unavailable U, each batch
 * from the state (old, new) stops min(old, old + new - (R - U)) old
 * instances and then starts min(R - new, R + S - (old - stop + new))
 * new ones, so at every moment available >= R - U (floored at 0) and
 * total <= R + S. It repeats until old is 0 and new is R.
 *
 * Canary weights without a traffic router: canary instances =
 * ceil(w * R / 100), stable instances = ceil((100 - w) * R / 100). Any
 * weight above 0 gets at least one canary instance (a 1 % step does run
 * the new version) and the stable set never shrinks below its share,
 * so serving capacity stays at R or more; the price is one extra
 * instance when both sides round up (R = 10, w = 15: 2 + 9).
 */
#ifndef OFS_ROLLOUT_H
#define OFS_ROLLOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

/* A maxSurge or maxUnavailable as written: a count, or a percentage. */
struct ro_amount {
	int value;
	bool percent;
};

/*
 * ro_resolve_surge_unavailable: resolve both allowances against
 * replicas into *surge and *unavailable with the rounding above.
 * Returns 0, or -1 after appending one lowercase message to err (may be
 * NULL) for a negative replica count or value, maxUnavailable above
 * 100 %, or both given as 0; the outputs are then untouched.
 */
int ro_resolve_surge_unavailable(int replicas, struct ro_amount surge,
				 struct ro_amount unavailable, int *surge_out,
				 int *unavailable_out, struct strbuf *err);

/* One batch of a rolling update: stop, then start, then wait ready. */
struct ro_batch {
	int stop;	    /* old instances drained and stopped first */
	int start;	    /* new instances then started */
	int old_after;	    /* old instances left after the batch */
	int new_after;	    /* new instances (all ready) after the batch */
	int min_available;  /* fewest available during the batch */
	int max_total;	    /* most instances running during the batch */
};

/* A rolling plan; initialise with RO_PLAN_INIT, free with ro_plan_release. */
struct ro_plan {
	struct ro_batch *batch;
	size_t n;
	int replicas, surge, unavailable;
};
#define RO_PLAN_INIT { NULL, 0, 0, 0, 0 }

/*
 * ro_rolling_plan: fill plan (whatever it held is freed) with the
 * batches taking replicas old instances to replicas new ones under the
 * resolved surge and unavailable counts (from
 * ro_resolve_surge_unavailable). 0 replicas give an empty plan.
 * Returns 0, or -1 with a message in err (may be NULL) when a value is
 * negative or both are 0 (the plan could never move); plan is then
 * empty. The batch array is allocated (dies on out-of-memory).
 */
int ro_rolling_plan(int replicas, int surge, int unavailable, struct ro_plan *plan,
		    struct strbuf *err);
void ro_plan_release(struct ro_plan *plan);

/* Canary steps (Argo Rollouts' vocabulary). */
enum ro_step_kind {
	RO_STEP_WEIGHT,	       /* route weight % of traffic to the canary */
	RO_STEP_PAUSE,	       /* wait pause_ns */
	RO_STEP_PAUSE_PROMOTE, /* wait until someone runs `promote` */
	RO_STEP_ANALYSIS,      /* run analysis number `analysis`; blocks */
	RO_STEP_PROMOTE,       /* full promotion: 100 % on the new version */
};

struct ro_step {
	enum ro_step_kind kind;
	int weight;	  /* RO_STEP_WEIGHT: 0..100 */
	int64_t pause_ns; /* RO_STEP_PAUSE: >= 0 */
	size_t analysis;  /* RO_STEP_ANALYSIS: the caller's index */
};

/* ro_step_kind_name: "setWeight", "pause", "pausePromote", "analysis",
 * "promote" (static strings). */
const char *ro_step_kind_name(enum ro_step_kind k);

/* A list of canary steps; initialise with RO_CANARY_INIT. */
struct ro_canary {
	struct ro_step *step;
	size_t n;
};
#define RO_CANARY_INIT { NULL, 0 }
void ro_canary_release(struct ro_canary *c);

/*
 * ro_canary_from_steps: copy explicit steps into c (whatever it held is
 * freed) and end them with RO_STEP_PROMOTE, as Argo promotes after the
 * last step (a promote step in the input ends the list there: steps
 * after it are refused). Returns 0, or -1 with "step N: ..." (N from 1)
 * in err (may be NULL) for a weight outside 0..100, a negative pause,
 * an unknown kind or steps after a promote; c is then empty.
 */
int ro_canary_from_steps(const struct ro_step *steps, size_t n, struct ro_canary *c,
			 struct strbuf *err);

/*
 * ro_canary_from_step_weight: Flagger's stepWeight/maxWeight. For each
 * weight step, 2 x step, ... while below max_weight, then max_weight
 * itself (so a max that is not a multiple of step ends on max, never
 * above it): a weight step followed by a pause of interval_ns (one
 * analysis interval at that weight); then promote. Requires
 * 1 <= step_weight, step_weight <= max_weight <= 100 and interval_ns > 0;
 * otherwise -1 with a message in err (may be NULL) and c empty.
 */
int ro_canary_from_step_weight(int step_weight, int max_weight, int64_t interval_ns,
			       struct ro_canary *c, struct strbuf *err);

/*
 * ro_canary_from_step_weights: Flagger's stepWeights list, e.g.
 * [1, 2, 10, 80]: each weight then a pause of interval_ns, then
 * promote. Weights must be 1..100 and strictly increasing, n >= 1,
 * interval_ns > 0; otherwise -1 with a message in err and c empty.
 */
int ro_canary_from_step_weights(const int *weights, size_t n, int64_t interval_ns,
				struct ro_canary *c, struct strbuf *err);

/* How long a canary takes at the least, and how long to roll back. */
struct ro_estimate {
	int64_t promote_ns;  /* pauses plus analysis_ns per analysis step */
	int64_t rollback_ns; /* interval x threshold */
	int weight_steps;    /* RO_STEP_WEIGHT steps */
	bool manual;	     /* a pause-until-promote waits for a person */
};

/*
 * ro_canary_estimate: Flagger's estimate generalised to any step list.
 * The minimum time to promotion is the sum of the timed pauses plus
 * analysis_ns (the caller's interval x count) for every analysis step;
 * for a stepWeight plan that is interval x number of weight steps, i.e.
 * Flagger's interval x maxWeight / stepWeight. Time to roll back is
 * interval_ns x threshold (failed checks before rollback; below 1
 * counts as 1, Flagger's minimum). manual says the minimum excludes a
 * person's wait. Sums saturate at INT64_MAX. Never fails.
 */
void ro_canary_estimate(const struct ro_canary *c, int64_t interval_ns, int threshold,
			int64_t analysis_ns, struct ro_estimate *out);

/* Replica counts standing in for a traffic weight. */
struct ro_weights {
	int canary, stable;
	double effective; /* % of instances that are canaries (0 when none) */
};

/*
 * ro_replica_weights: instance counts for weight % on the canary with
 * replicas instances in all (rule above). Returns 0, or -1 with a
 * message in err (may be NULL) for a weight outside 0..100 or negative
 * replicas.
 */
int ro_replica_weights(int replicas, int weight, struct ro_weights *out, struct strbuf *err);

/*
 * ro_split_weights: per-instance weights for a proxy that splits by
 * weight (HAProxy, nginx), putting pct % of the traffic on ncanary
 * instances and the rest on nstable, every instance of a side getting
 * the same weight. The ideal pair is canary_w = pct * nstable and
 * stable_w = (100 - pct) * ncanary, reduced by their gcd (20 %, 1
 * canary, 6 stable: 120 : 80 = 3 : 2, so 3 / (3 + 6 * 2) = 20 %). If
 * the larger then exceeds max, both are scaled by max / larger and
 * rounded to the nearest integer (halves up), the larger becoming max,
 * and a side with a share above 0 never goes below 1. pct 0 gives
 * canary 0, pct 100 gives stable 0, and a side with no instances gets
 * 0 (the other, if it has a share, then gets 1). pct is clamped to
 * 0..100, max below 1 counts as 1, negative counts as 0. Never fails.
 *
 * The share achieved, ncanary * canary_w / (ncanary * canary_w +
 * nstable * stable_w), is exact when no scaling was needed. After
 * scaling, with w the smaller of the two weights, it is off by at most
 * 12.5 / (w - 0.5) percentage points (rounding moves w by at most half a
 * unit, and the share moves at most a quarter as fast as the log of the
 * weight ratio): under 0.05 points when w is about 250, 25 points at
 * worst when w is 1. When the ideal ratio is beyond 1 : max (e.g. 1 %
 * on 1000 canaries beside 1 stable, max 256) the smaller side is held at
 * 1 and the canary share cannot go below ncanary / (ncanary + max *
 * nstable) (or above its mirror): more instances on the small side, or a
 * larger max, are then the only way closer.
 */
void ro_split_weights(int pct, int ncanary, int nstable, int max, int *canary_w, int *stable_w);

#endif
