/*
 * stats.c: Welford running summaries and exponentially weighted moving
 * averages (see stats.h).
 */
#include "common.h"
#include <math.h>

#include "stats.h"

void stats_init(struct stats *s)
{
	s->n = 0;
	s->mean = s->m2 = s->sum = 0;
	s->min = INFINITY;
	s->max = -INFINITY;
}

int stats_add(struct stats *s, double x)
{
	if (isnan(x))
		return -1;
	s->n++;
	double d = x - s->mean;
	s->mean += d / (double)s->n;
	s->m2 += d * (x - s->mean);
	s->sum += x;
	if (x < s->min)
		s->min = x;
	if (x > s->max)
		s->max = x;
	return 0;
}

void stats_merge(struct stats *dst, const struct stats *src)
{
	if (!src->n)
		return;
	if (!dst->n) {
		*dst = *src;
		return;
	}
	double na = (double)dst->n, nb = (double)src->n, n = na + nb;
	double d = src->mean - dst->mean;
	dst->mean += d * nb / n;
	dst->m2 += src->m2 + d * d * na * nb / n;
	dst->n += src->n;
	dst->sum += src->sum;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
}

uint64_t stats_count(const struct stats *s)
{
	return s->n;
}

double stats_sum(const struct stats *s)
{
	return s->sum;
}

double stats_mean(const struct stats *s)
{
	return s->n ? s->mean : NAN;
}

double stats_min(const struct stats *s)
{
	return s->n ? s->min : NAN;
}

double stats_max(const struct stats *s)
{
	return s->n ? s->max : NAN;
}

double stats_variance(const struct stats *s)
{
	return s->n > 1 ? s->m2 / (double)(s->n - 1) : NAN;
}

double stats_variance_pop(const struct stats *s)
{
	return s->n ? s->m2 / (double)s->n : NAN;
}

double stats_stddev(const struct stats *s)
{
	return sqrt(stats_variance(s));
}

/* ---- EWMA ------------------------------------------------------------- */

enum { EWMA_ALPHA = 1, EWMA_TIME };

static void ewma_clear(struct ewma *e, int mode)
{
	memset(e, 0, sizeof(*e));
	e->mode = mode;
	e->value = NAN;
}

int ewma_init(struct ewma *e, double alpha)
{
	ewma_clear(e, 0);
	if (!(alpha > 0 && alpha <= 1))
		return -1;
	e->mode = EWMA_ALPHA;
	e->alpha = alpha;
	return 0;
}

int ewma_init_halflife(struct ewma *e, double samples)
{
	if (!(samples > 0) || isinf(samples)) {
		ewma_clear(e, 0);
		return -1;
	}
	return ewma_init(e, 1 - exp2(-1 / samples));
}

int ewma_init_time(struct ewma *e, double halflife_ms)
{
	ewma_clear(e, 0);
	if (!(halflife_ms > 0) || isinf(halflife_ms))
		return -1;
	e->mode = EWMA_TIME;
	e->halflife_ms = halflife_ms;
	return 0;
}

void ewma_update_at(struct ewma *e, double x, int64_t t_ms)
{
	if (isnan(x) || !e->mode)
		return;
	if (!e->n++) {
		e->value = x;
		e->wsum = 1;
		e->last_ms = t_ms;
		return;
	}
	if (e->mode == EWMA_ALPHA) {
		e->value += e->alpha * (x - e->value);
		return;
	}
	double decay = 1;
	if (t_ms > e->last_ms) {
		/* The difference is computed in double: no int64 overflow. */
		decay = exp2(-((double)t_ms - (double)e->last_ms) / e->halflife_ms);
		e->last_ms = t_ms;
	}
	e->wsum = e->wsum * decay + 1;
	e->value += (x - e->value) / e->wsum;
}

void ewma_update(struct ewma *e, double x)
{
	ewma_update_at(e, x, e->last_ms);
}

double ewma_value(const struct ewma *e)
{
	return e->n ? e->value : NAN;
}

uint64_t ewma_count(const struct ewma *e)
{
	return e->n;
}
