/*
 * rollout.c: rolling-update batches, canary step lists, their minimum
 * duration, weights approximated by instance counts and per-instance
 * weights for a proxy's split (rules in rollout.h).
 *
 * Percentages are resolved in 64-bit integers, never floating point,
 * so 25 % of 10 is exactly 2.5 before rounding and the result does not
 * depend on the compiler. Every loop over a plan is bounded: each batch
 * moves at least one instance.
 */
#include "common.h"

#include "rollout.h"

static void errf(struct strbuf *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void errf(struct strbuf *err, const char *fmt, ...)
{
	if (!err)
		return;
	va_list ap;
	va_start(ap, fmt);
	sb_vaddf(err, fmt, ap);
	va_end(ap);
}

static int64_t scaled(int value, int replicas, bool round_up)
{
	int64_t n = (int64_t)value * replicas;
	return round_up ? (n + 99) / 100 : n / 100;
}

static int clamp_int(int64_t v)
{
	return v > INT_MAX ? INT_MAX : (int)v;
}

int ro_resolve_surge_unavailable(int replicas, struct ro_amount surge,
				 struct ro_amount unavailable, int *surge_out,
				 int *unavailable_out, struct strbuf *err)
{
	if (replicas < 0) {
		errf(err, "replicas must not be negative, got %d", replicas);
		return -1;
	}
	if (surge.value < 0) {
		errf(err, "maxSurge must not be negative, got %d%s", surge.value,
		     surge.percent ? "%" : "");
		return -1;
	}
	if (unavailable.value < 0) {
		errf(err, "maxUnavailable must not be negative, got %d%s", unavailable.value,
		     unavailable.percent ? "%" : "");
		return -1;
	}
	if (unavailable.percent && unavailable.value > 100) {
		errf(err, "maxUnavailable must not be above 100%%, got %d%%", unavailable.value);
		return -1;
	}
	if (surge.value == 0 && unavailable.value == 0) {
		errf(err, "maxSurge and maxUnavailable must not both be 0");
		return -1;
	}
	int64_t s = surge.percent ? scaled(surge.value, replicas, true) : surge.value;
	int64_t u = unavailable.percent ? scaled(unavailable.value, replicas, false)
					: unavailable.value;
	if (s == 0 && u == 0)
		u = 1;
	*surge_out = clamp_int(s);
	*unavailable_out = clamp_int(u);
	return 0;
}

void ro_plan_release(struct ro_plan *plan)
{
	free(plan->batch);
	plan->batch = NULL;
	plan->n = 0;
	plan->replicas = plan->surge = plan->unavailable = 0;
}

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

int ro_rolling_plan(int replicas, int surge, int unavailable, struct ro_plan *plan,
		    struct strbuf *err)
{
	ro_plan_release(plan);
	if (replicas < 0 || surge < 0 || unavailable < 0) {
		errf(err, "replicas, surge and unavailable must not be negative, got %d, %d, %d",
		     replicas, surge, unavailable);
		return -1;
	}
	if (surge == 0 && unavailable == 0) {
		errf(err, "surge and unavailable must not both be 0");
		return -1;
	}
	plan->replicas = replicas;
	plan->surge = surge;
	plan->unavailable = unavailable;
	/* 64-bit: replicas + surge may not fit an int. */
	int64_t r = replicas, max_total = (int64_t)replicas + surge;
	int64_t min_avail = unavailable >= replicas ? 0 : r - unavailable;
	int64_t old = r, new = 0;
	size_t alloc = 0;
	while (old > 0 || new < r) {
		int64_t stop = min64(old, old + new - min_avail);
		int64_t during = old - stop + new;
		int64_t start = min64(r - new, max_total - during);
		/* Cannot happen when surge + unavailable > 0; keeps the loop finite. */
		if (stop <= 0 && start <= 0)
			break;
		if (stop < 0)
			stop = 0;
		if (start < 0)
			start = 0;
		if (plan->n == alloc) {
			alloc = alloc ? 2 * alloc : 8;
			plan->batch = xrealloc(plan->batch, alloc * sizeof(*plan->batch));
		}
		struct ro_batch *b = &plan->batch[plan->n++];
		b->stop = (int)stop;
		b->start = (int)start;
		b->min_available = (int)(old - stop + new);
		b->max_total = clamp_int(old + new > during + start ? old + new : during + start);
		old -= stop;
		new += start;
		b->old_after = (int)old;
		b->new_after = (int)new;
	}
	return 0;
}

static const char *const kind_names[] = {
	[RO_STEP_WEIGHT] = "setWeight",
	[RO_STEP_PAUSE] = "pause",
	[RO_STEP_PAUSE_PROMOTE] = "pausePromote",
	[RO_STEP_ANALYSIS] = "analysis",
	[RO_STEP_PROMOTE] = "promote",
};

const char *ro_step_kind_name(enum ro_step_kind k)
{
	return (unsigned)k < ARRAY_SIZE(kind_names) ? kind_names[k] : "unknown";
}

void ro_canary_release(struct ro_canary *c)
{
	free(c->step);
	c->step = NULL;
	c->n = 0;
}

static void push(struct ro_canary *c, size_t *alloc, struct ro_step s)
{
	if (c->n == *alloc) {
		*alloc = *alloc ? 2 * *alloc : 8;
		c->step = xrealloc(c->step, *alloc * sizeof(*c->step));
	}
	c->step[c->n++] = s;
}

static void push_weight_pause(struct ro_canary *c, size_t *alloc, int weight, int64_t interval_ns)
{
	push(c, alloc, (struct ro_step){ .kind = RO_STEP_WEIGHT, .weight = weight });
	push(c, alloc, (struct ro_step){ .kind = RO_STEP_PAUSE, .pause_ns = interval_ns });
}

int ro_canary_from_steps(const struct ro_step *steps, size_t n, struct ro_canary *c,
			 struct strbuf *err)
{
	ro_canary_release(c);
	for (size_t i = 0; i < n; i++) {
		const struct ro_step *s = &steps[i];
		switch (s->kind) {
		case RO_STEP_WEIGHT:
			if (s->weight < 0 || s->weight > 100) {
				errf(err, "step %zu: weight must be 0 to 100, got %d", i + 1,
				     s->weight);
				return -1;
			}
			break;
		case RO_STEP_PAUSE:
			if (s->pause_ns < 0) {
				errf(err, "step %zu: pause must not be negative", i + 1);
				return -1;
			}
			break;
		case RO_STEP_PAUSE_PROMOTE:
		case RO_STEP_ANALYSIS:
			break;
		case RO_STEP_PROMOTE:
			if (i + 1 < n) {
				errf(err, "step %zu: promote must be the last step", i + 1);
				return -1;
			}
			break;
		default:
			errf(err, "step %zu: unknown step kind %d", i + 1, (int)s->kind);
			return -1;
		}
	}
	size_t alloc = 0;
	for (size_t i = 0; i < n; i++)
		push(c, &alloc, steps[i]);
	if (!n || steps[n - 1].kind != RO_STEP_PROMOTE)
		push(c, &alloc, (struct ro_step){ .kind = RO_STEP_PROMOTE });
	return 0;
}

int ro_canary_from_step_weight(int step_weight, int max_weight, int64_t interval_ns,
			       struct ro_canary *c, struct strbuf *err)
{
	ro_canary_release(c);
	if (step_weight < 1 || step_weight > max_weight || max_weight > 100) {
		errf(err, "stepWeight %d and maxWeight %d must satisfy 1 <= stepWeight <= "
			  "maxWeight <= 100",
		     step_weight, max_weight);
		return -1;
	}
	if (interval_ns <= 0) {
		errf(err, "interval must be above 0");
		return -1;
	}
	size_t alloc = 0;
	int w = step_weight;
	for (; w < max_weight; w += step_weight)
		push_weight_pause(c, &alloc, w, interval_ns);
	push_weight_pause(c, &alloc, max_weight, interval_ns);
	push(c, &alloc, (struct ro_step){ .kind = RO_STEP_PROMOTE });
	return 0;
}

int ro_canary_from_step_weights(const int *weights, size_t n, int64_t interval_ns,
				struct ro_canary *c, struct strbuf *err)
{
	ro_canary_release(c);
	if (!n) {
		errf(err, "stepWeights must not be empty");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (weights[i] < 1 || weights[i] > 100) {
			errf(err, "stepWeights[%zu]: weight must be 1 to 100, got %d", i,
			     weights[i]);
			return -1;
		}
		if (i && weights[i] <= weights[i - 1]) {
			errf(err, "stepWeights[%zu]: %d does not increase on %d", i, weights[i],
			     weights[i - 1]);
			return -1;
		}
	}
	if (interval_ns <= 0) {
		errf(err, "interval must be above 0");
		return -1;
	}
	size_t alloc = 0;
	for (size_t i = 0; i < n; i++)
		push_weight_pause(c, &alloc, weights[i], interval_ns);
	push(c, &alloc, (struct ro_step){ .kind = RO_STEP_PROMOTE });
	return 0;
}

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

void ro_canary_estimate(const struct ro_canary *c, int64_t interval_ns, int threshold,
			int64_t analysis_ns, struct ro_estimate *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < c->n; i++) {
		const struct ro_step *s = &c->step[i];
		switch (s->kind) {
		case RO_STEP_WEIGHT:
			out->weight_steps++;
			break;
		case RO_STEP_PAUSE:
			if (s->pause_ns > 0)
				out->promote_ns = add_sat(out->promote_ns, s->pause_ns);
			break;
		case RO_STEP_PAUSE_PROMOTE:
			out->manual = true;
			break;
		case RO_STEP_ANALYSIS:
			if (analysis_ns > 0)
				out->promote_ns = add_sat(out->promote_ns, analysis_ns);
			break;
		case RO_STEP_PROMOTE:
			break;
		}
	}
	out->rollback_ns = mul_sat(interval_ns, threshold < 1 ? 1 : threshold);
}

int ro_replica_weights(int replicas, int weight, struct ro_weights *out, struct strbuf *err)
{
	if (replicas < 0) {
		errf(err, "replicas must not be negative, got %d", replicas);
		return -1;
	}
	if (weight < 0 || weight > 100) {
		errf(err, "weight must be 0 to 100, got %d", weight);
		return -1;
	}
	out->canary = (int)scaled(weight, replicas, true);
	out->stable = (int)scaled(100 - weight, replicas, true);
	double total = (double)out->canary + out->stable;
	out->effective = out->canary ? 100.0 * out->canary / total : 0.0;
	return 0;
}

static int64_t gcd64(int64_t a, int64_t b)
{
	while (b) {
		int64_t t = a % b;
		a = b;
		b = t;
	}
	return a;
}

/* v * max / top rounded to the nearest (halves up), at least 1 if v > 0. */
static int scale_weight(int64_t v, int64_t top, int max)
{
	if (v <= 0)
		return 0;
	int64_t w = v <= INT64_MAX / 2 / max ? (v * max + top / 2) / top
					    : (int64_t)((double)v * max / (double)top + 0.5);
	return w < 1 ? 1 : w > max ? max : (int)w;
}

void ro_split_weights(int pct, int ncanary, int nstable, int max, int *canary_w, int *stable_w)
{
	pct = pct < 0 ? 0 : pct > 100 ? 100 : pct;
	max = max < 1 ? 1 : max;
	int64_t nc = ncanary > 0 ? ncanary : 0, ns = nstable > 0 ? nstable : 0;
	/* The sides' shares: none without instances. */
	int64_t c = nc ? pct : 0, s = ns ? 100 - pct : 0;
	/* Per-instance: share / count, put over a common denominator. */
	if (c && s) {
		c *= ns;
		s *= nc;
	}
	int64_t g = gcd64(c, s);
	if (g > 1) {
		c /= g;
		s /= g;
	}
	int64_t top = c > s ? c : s;
	if (top > max) {
		*canary_w = scale_weight(c, top, max);
		*stable_w = scale_weight(s, top, max);
	} else {
		*canary_w = (int)c;
		*stable_w = (int)s;
	}
}
