/*
 * hpa.c: the Kubernetes Horizontal Pod Autoscaler's algorithm, step by
 * step, keeping every intermediate value for the scale.decision record.
 *
 * Users trust a scaler they can check, so this follows the HPA
 * controller (pkg/controller/podautoscaler: replica_calculator.go and
 * horizontal.go) rule for rule rather than approximating it:
 *
 *   1. per metric: ratio = value / target; within the tolerance of its
 *      direction (ratio > 1 uses scaleUp's) the proposal is the current
 *      count, else ceil(ratio x ready pods). Missing pods (ready, no
 *      value) count at max(100, target) percent (averageValue: at the
 *      target) on a scale-down and at 0 on a scale-up; pods not ready
 *      count at 0 on a scale-up only; after filling in, the ratio is
 *      computed again and the count holds if the direction reverses, the
 *      new ratio is within tolerance, or the new count moves against it;
 *   2. the maximum over the metrics (and the forecast); when a metric has
 *      no value and the others would scale down, or none has a value,
 *      the count holds;
 *   3. stabilization: up takes the minimum of the recommendations within
 *      scaleUp's window (this one included), down the maximum within
 *      scaleDown's window, then the current count is brought within
 *      those bounds;
 *   4. the behaviour limits: for each policy rule the replicas at the
 *      start of its period (current - added + removed by scale events
 *      strictly after now - periodSeconds), plus Pods or times Percent
 *      (ceil up, truncated down), the rules combined by selectPolicy;
 *   5. clamp to [max(min, 1), max], then to what the budget pays for.
 *
 * The history (recommendations and scale events) is the controller's
 * memory; decide.c keeps it between runs.
 */
#include "common.h"
#include <math.h>

#include "scale.h"
#include "units.h"

/* ---- history ------------------------------------------------------------ */

void sc_history_init(struct sc_history *h)
{
	memset(h, 0, sizeof(*h));
}

void sc_history_release(struct sc_history *h)
{
	free(h->recs);
	free(h->events);
	sc_history_init(h);
}

void sc_history_prune(struct sc_history *h, int64_t now, int64_t keep)
{
	int64_t cutoff = now - keep;
	size_t j = 0;
	for (size_t i = 0; i < h->nrecs; i++)
		if (h->recs[i].ts > cutoff)
			h->recs[j++] = h->recs[i];
	h->nrecs = j;
	j = 0;
	for (size_t i = 0; i < h->nevents; i++)
		if (h->events[i].ts > cutoff)
			h->events[j++] = h->events[i];
	h->nevents = j;
}

void sc_history_scaled(struct sc_history *h, int64_t ts, int from, int to)
{
	if (from == to)
		return;
	ALLOC_GROW(h->events, h->nevents + 1, h->aevents);
	h->events[h->nevents].ts = ts;
	h->events[h->nevents].delta = to - from;
	h->nevents++;
}

static void history_add(struct sc_history *h, int64_t ts, int replicas)
{
	ALLOC_GROW(h->recs, h->nrecs + 1, h->arecs);
	h->recs[h->nrecs].ts = ts;
	h->recs[h->nrecs].replicas = replicas;
	h->nrecs++;
}

void sc_history_seed(struct sc_history *h, int64_t now, int current)
{
	history_add(h, now, current);
}

/* ---- decisions ---------------------------------------------------------- */

void sc_decision_init(struct sc_decision *d)
{
	memset(d, 0, sizeof(*d));
	sb_init(&d->reason, 0);
	d->forecast_proposal = -1;
	d->limit = -1;
	d->cost_per_hour = -1;
}

void sc_decision_release(struct sc_decision *d)
{
	free(d->metrics);
	sb_release(&d->reason);
	sc_decision_init(d);
}

/* ---- step 1: one metric ------------------------------------------------- */

static bool within(const struct sc_policy *p, double ratio)
{
	return ratio >= 1 - p->down.tolerance && ratio <= 1 + p->up.tolerance;
}

static int ceil_replicas(double x)
{
	double c = ceil(x);
	if (c >= INT32_MAX)
		return INT32_MAX;
	return c <= 0 ? 0 : (int)c;
}

/* The metric of a whole service (a "value" target): HPA's object metric. */
static void eval_value(const struct sc_policy *p, const struct sc_observation *o, int current,
		       int ready, struct sc_metric_eval *e)
{
	e->value = o->sum;
	e->ratio = e->value / e->metric->target;
	e->within_tolerance = within(p, e->ratio);
	if (e->within_tolerance) {
		e->proposal = current;
		e->note = "within tolerance";
	} else {
		e->proposal = ceil_replicas(e->ratio * ready);
	}
}

/* A per-pod metric (averageUtilization or averageValue): HPA's
 * GetResourceReplicas and calcPlainMetricReplicas. */
static void eval_pods(const struct sc_policy *p, const struct sc_observation *o, int current,
		      struct sc_metric_eval *e)
{
	const struct sc_metric *m = e->metric;
	e->value = o->sum / o->reporting;
	e->ratio = e->value / m->target;
	e->within_tolerance = within(p, e->ratio);
	bool up_with_unready = o->unready > 0 && e->ratio > 1;
	if (!up_with_unready && o->missing == 0) {
		if (e->within_tolerance) {
			e->proposal = current;
			e->note = "within tolerance";
		} else {
			e->proposal = ceil_replicas(e->ratio * o->reporting);
		}
		return;
	}
	/* Fill in the pods that did not report, then compute again. */
	double sum = o->sum;
	int count = o->reporting;
	e->recomputed = true;
	e->fill_missing = 0;
	if (o->missing > 0 && e->ratio != 1) {
		if (e->ratio < 1)
			e->fill_missing = m->type == SC_UTILIZATION ? fmax(100, m->target) : m->target;
		sum += e->fill_missing * o->missing;
		count += o->missing;
	}
	if (up_with_unready)
		count += o->unready;
	double nratio = sum / count / m->target;
	e->adjusted_ratio = nratio;
	if (within(p, nratio)) {
		e->proposal = current;
		e->note = "within tolerance once missing or unready pods were counted";
		return;
	}
	if ((e->ratio < 1 && nratio > 1) || (e->ratio > 1 && nratio < 1)) {
		e->proposal = current;
		e->note = "the direction reversed once missing or unready pods were counted";
		return;
	}
	int n = ceil_replicas(nratio * count);
	if ((nratio < 1 && n > current) || (nratio > 1 && n < current)) {
		e->proposal = current;
		e->note = "the pod count moved against the ratio";
		return;
	}
	e->proposal = n;
}

static void eval_metric(const struct sc_policy *p, const struct sc_observation *o, int current,
			int ready, struct sc_metric_eval *e)
{
	e->tolerance = p->up.tolerance;
	e->proposal = -1;
	if (!o->present || o->reporting <= 0) {
		e->valid = false;
		return;
	}
	e->valid = true;
	if (e->metric->type == SC_VALUE)
		eval_value(p, o, current, ready, e);
	else
		eval_pods(p, o, current, e);
	e->tolerance = e->ratio > 1 ? p->up.tolerance : p->down.tolerance;
}

static void explain_metric(struct strbuf *r, const struct sc_metric_eval *e)
{
	if (!e->valid) {
		sb_addf(r, "%s has no value this period. ", e->metric->name);
		return;
	}
	sb_addf(r, "%s at %g against a target of %g is a ratio of %.4g", e->metric->name, e->value,
		e->metric->target, e->ratio);
	if (e->recomputed)
		sb_addf(r, " (%.4g with missing pods counted at %g and unready pods at 0)",
			e->adjusted_ratio, e->fill_missing);
	if (e->note)
		sb_addf(r, ": %s, %d replicas. ", e->note, e->proposal);
	else
		sb_addf(r, ", outside the tolerance %g: %d replicas. ", e->tolerance, e->proposal);
}

/* ---- step 3: stabilization ---------------------------------------------- */

static int stabilize(const struct sc_policy *p, struct sc_history *h, int current, int rec,
		     int64_t now, struct sc_decision *d)
{
	int up = rec, down = rec;
	int64_t upcut = now - p->up.window, downcut = now - p->down.window;
	for (size_t i = 0; i < h->nrecs; i++) {
		if (h->recs[i].ts > upcut && h->recs[i].replicas < up)
			up = h->recs[i].replicas;
		if (h->recs[i].ts > downcut && h->recs[i].replicas > down)
			down = h->recs[i].replicas;
	}
	int v = current;
	if (v < up)
		v = up;
	if (v > down)
		v = down;
	history_add(h, now, rec);
	d->window_dir = rec >= current ? "up" : "down";
	d->window = rec >= current ? p->up.window : p->down.window;
	return v;
}

/* ---- step 4: behaviour limits ------------------------------------------- */

static int change_in_period(const struct sc_history *h, int64_t now, int64_t period, int sign)
{
	int64_t cutoff = now - period;
	int n = 0;
	for (size_t i = 0; i < h->nevents; i++)
		if (h->events[i].ts > cutoff && (h->events[i].delta > 0) == (sign > 0))
			n += h->events[i].delta * sign;
	return n;
}

static int64_t rule_proposal(const struct sc_rule *r, int start, bool up)
{
	if (r->type == SC_RULE_PODS)
		return up ? (int64_t)start + r->value : (int64_t)start - r->value;
	if (up)
		return (int64_t)ceil((double)start * (1 + (double)r->value / 100));
	return (int64_t)((double)start * (1 - (double)r->value / 100));
}

/* The limit of direction dir from current: HPA's
 * calculateScaleUpLimitWithScalingRules and calculateScaleDownLimitWithBehaviors;
 * the rule that set it into rule. */
static int64_t rate_limit(const struct sc_direction *dir, const struct sc_history *h, int current,
			  int64_t now, bool up, char *rule, size_t rulesz)
{
	if (dir->select == SC_SELECT_DISABLED || dir->nrules == 0) {
		snprintf(rule, rulesz, "Disabled");
		return current;
	}
	/* up: Max picks the largest, Min the smallest; down the other way. */
	bool largest = (dir->select == SC_SELECT_MAX) == up;
	int64_t best = largest ? INT64_MIN : INT64_MAX;
	const struct sc_rule *which = &dir->rules[0];
	for (size_t i = 0; i < dir->nrules; i++) {
		const struct sc_rule *r = &dir->rules[i];
		int added = change_in_period(h, now, r->period, +1);
		int removed = change_in_period(h, now, r->period, -1);
		int start = current - added + removed;
		int64_t v = rule_proposal(r, start, up);
		if (largest ? v > best : v < best) {
			best = v;
			which = r;
		}
	}
	struct strbuf sb = SB_INIT;
	sc_rule_text(which, &sb);
	snprintf(rule, rulesz, "%s", sb.buf);
	sb_release(&sb);
	return best;
}

static int limit_rate(const struct sc_policy *p, const struct sc_history *h, int current,
		      int want, int64_t now, struct sc_decision *d)
{
	int lo = p->min_replicas > 1 ? p->min_replicas : 1;
	if (want > current) {
		int64_t lim = rate_limit(&p->up, h, current, now, true, d->limit_rule,
					 sizeof(d->limit_rule));
		if (lim < current)
			lim = current;
		/* At or above maxReplicas the bound decides, not the rate. */
		if (want > lim && lim < p->max_replicas) {
			d->limited = true;
			d->limit = (int)lim;
			return (int)lim;
		}
	} else if (want < current) {
		int64_t lim = rate_limit(&p->down, h, current, now, false, d->limit_rule,
					 sizeof(d->limit_rule));
		if (lim > current)
			lim = current;
		if (want < lim && lim > lo) {
			d->limited = true;
			d->limit = (int)lim;
			return (int)lim;
		}
	}
	d->limit_rule[0] = '\0';
	return want;
}

/* ---- step 5: bounds and budget ------------------------------------------ */

static int clamp(const struct sc_policy *p, int v, struct sc_decision *d)
{
	int lo = p->min_replicas > 1 ? p->min_replicas : 1;
	if (v > p->max_replicas) {
		d->clamp = "max";
		v = p->max_replicas;
	} else if (v < lo) {
		d->clamp = "min";
		v = lo;
	}
	int bmax = sc_budget_max(p);
	if (lo > bmax)
		d->budget_breach = true;
	if (v > bmax) {
		int b = bmax > lo ? bmax : lo;
		if (b < v) {
			d->clamp = "budget";
			v = b;
		}
	}
	return v;
}

/* ---- the decision ------------------------------------------------------- */

/* Step 2: the recommendation over the metrics, or -1 to hold. */
static int recommend(const struct sc_policy *p, const struct sc_observation *obs, int current,
		     int ready, struct sc_decision *d)
{
	int best = -1;
	size_t invalid = 0;
	for (size_t i = 0; i < p->nmetrics; i++) {
		struct sc_metric_eval *e = &d->metrics[i];
		e->metric = &p->metrics[i];
		eval_metric(p, &obs[i], current, ready, e);
		explain_metric(&d->reason, e);
		if (!e->valid)
			invalid++;
		else if (e->proposal > best)
			best = e->proposal;
	}
	if (d->forecast_proposal >= 0 && best >= 0 && d->forecast_proposal > best) {
		best = d->forecast_proposal;
		sb_addf(&d->reason, "The forecast asks for %d replicas. ", best);
	}
	if (invalid == p->nmetrics) {
		sb_addstr(&d->reason, "No metric has a value: holding. ");
		return -1;
	}
	if (invalid > 0 && best < current) {
		sb_addstr(&d->reason,
			  "A metric has no value and the others would scale down: holding. ");
		return -1;
	}
	return best;
}

static void finish(const struct sc_policy *p, struct sc_decision *d)
{
	if (d->budget_breach)
		sb_addf(&d->reason, "minReplicas %d alone cost more than the budget of %g an hour. ",
			p->min_replicas, p->budget_per_hour);
	d->cost_per_hour = sc_cost_per_hour(p, d->desired);
	if (d->desired > d->current)
		sb_addf(&d->reason, "Scale up from %d to %d.", d->current, d->desired);
	else if (d->desired < d->current)
		sb_addf(&d->reason, "Scale down from %d to %d.", d->current, d->desired);
	else
		sb_addf(&d->reason, "Stay at %d.", d->current);
}

static void hold(const struct sc_policy *p, struct sc_decision *d)
{
	int v = d->current;
	if (d->current > 0)
		v = clamp(p, v, d);
	d->recommendation = d->current;
	d->stabilized = d->current;
	d->desired = v;
	if (d->clamp)
		sb_addf(&d->reason, "Clamped to %s %d. ", d->clamp, v);
	finish(p, d);
}

void sc_hpa_decide(const struct sc_policy *p, struct sc_history *h,
		   const struct sc_observation *obs, int current, int ready, int64_t now,
		   int forecast_proposal, struct sc_decision *d)
{
	/* Reuse the buffers of the previous decision: decide makes one per
	 * service and period. */
	struct strbuf reason = d->reason;
	struct sc_metric_eval *mev = d->metrics;
	size_t nmev = d->nmetrics;
	sb_reset(&reason);
	if (nmev < p->nmetrics || !mev) {
		free(mev);
		mev = xcalloc(p->nmetrics ? p->nmetrics : 1, sizeof(*mev));
	} else {
		memset(mev, 0, nmev * sizeof(*mev));
	}
	sc_decision_init(d);
	sb_release(&d->reason);
	d->reason = reason;
	d->metrics = mev;
	d->ts = now;
	d->current = current;
	d->ready = ready;
	d->forecast_proposal = forecast_proposal;
	d->nmetrics = p->nmetrics;

	int64_t keep = p->up.window > p->down.window ? p->up.window : p->down.window;
	for (size_t i = 0; i < p->up.nrules; i++)
		keep = p->up.rules[i].period > keep ? p->up.rules[i].period : keep;
	for (size_t i = 0; i < p->down.nrules; i++)
		keep = p->down.rules[i].period > keep ? p->down.rules[i].period : keep;
	sc_history_prune(h, now, keep);

	int rec = recommend(p, obs, current, ready, d);
	if (current == 0) {
		sb_addstr(&d->reason, "At 0 replicas the HPA holds (scale from zero is idle's). ");
		d->recommendation = d->stabilized = d->desired = 0;
		finish(p, d);
		return;
	}
	if (rec < 0) {
		hold(p, d);
		return;
	}
	d->recommendation = rec;
	sb_addf(&d->reason, "Recommendation %d. ", rec);
	d->stabilized = stabilize(p, h, current, rec, now, d);
	if (d->stabilized != rec) {
		char w[DUR_BUFSZ];
		sb_addf(&d->reason, "The %s stabilization window of %s holds it at %d. ",
			d->window_dir, dur_format(d->window, w, sizeof(w)), d->stabilized);
	}
	int v = limit_rate(p, h, current, d->stabilized, now, d);
	if (d->limited)
		sb_addf(&d->reason, "The scale%s rule %s limits it to %d. ",
			d->stabilized > current ? "Up" : "Down", d->limit_rule, d->limit);
	d->desired = clamp(p, v, d);
	if (d->clamp)
		sb_addf(&d->reason, "Clamped to %s %d. ", d->clamp, d->desired);
	finish(p, d);
}
