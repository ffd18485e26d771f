/*
 * sketch.c: logarithmic-bucket quantile sketch (see sketch.h).
 *
 * Each sign has a dense store: an array of counts for a contiguous range
 * of bucket indexes, reallocated with some slack when a value falls
 * outside it and never wider than the bucket limit plus that slack. A
 * quantile walks the buckets in value order (negative store from its
 * highest index down, the zero count, then the positive store upwards)
 * until the running count reaches the rank.
 */
#include "common.h"
#include <float.h>
#include <math.h>

#include "sketch.h"

struct store {
	uint64_t *bins; /* bins[i] counts bucket off + i */
	int32_t off, cap;
	int32_t lo, hi; /* the non-empty range, valid when total > 0 */
	uint64_t total;
};

struct sketch {
	double alpha, gamma, ln_gamma;
	int max_buckets;
	struct store pos, neg; /* neg indexes |x| */
	uint64_t zero, count;
	double sum, min, max;
};

struct sketch *sketch_new_bounded(double alpha, int max_buckets)
{
	if (alpha == 0)
		alpha = SKETCH_DEFAULT_ALPHA;
	if (!(alpha >= SKETCH_MIN_ALPHA && alpha <= SKETCH_MAX_ALPHA) || max_buckets < 2)
		return NULL;
	struct sketch *s = xcalloc(1, sizeof(*s));
	s->alpha = alpha;
	s->gamma = (1 + alpha) / (1 - alpha);
	s->ln_gamma = log(s->gamma);
	s->max_buckets = max_buckets;
	sketch_reset(s);
	return s;
}

struct sketch *sketch_new(double alpha)
{
	return sketch_new_bounded(alpha, SKETCH_DEFAULT_BUCKETS);
}

void sketch_free(struct sketch *s)
{
	if (!s)
		return;
	free(s->pos.bins);
	free(s->neg.bins);
	free(s);
}

void sketch_reset(struct sketch *s)
{
	free(s->pos.bins);
	free(s->neg.bins);
	memset(&s->pos, 0, sizeof(s->pos));
	memset(&s->neg, 0, sizeof(s->neg));
	s->zero = s->count = 0;
	s->sum = 0;
	s->min = INFINITY;
	s->max = -INFINITY;
}

/* Make st->bins cover [nlo, nhi], keeping the counts of the old
 * non-empty range that lie inside it (the caller has folded away any
 * outside it). */
static void store_cover(struct store *st, int32_t nlo, int32_t nhi, int maxb)
{
	if (st->bins && nlo >= st->off && (int64_t)nhi < (int64_t)st->off + st->cap)
		return;
	int32_t width = nhi - nlo + 1;
	int32_t slack = width / 2 + 16;
	if (slack > maxb / 4 + 16)
		slack = maxb / 4 + 16;
	int32_t cap = width + slack;
	uint64_t *bins = xcalloc((size_t)cap, sizeof(*bins));
	/* Leave room on both sides: values tend to arrive around the
	 * middle of the range already seen. */
	int32_t off = nlo - slack / 2;
	if (st->total) {
		int32_t a = st->lo > nlo ? st->lo : nlo;
		int32_t b = st->hi < nhi ? st->hi : nhi;
		for (int32_t k = a; k <= b; k++)
			bins[k - off] = st->bins[k - st->off];
	}
	free(st->bins);
	st->bins = bins;
	st->off = off;
	st->cap = cap;
}

/* Count bucket k n times. collapse_high says which end gives way when
 * the range would exceed maxb buckets: the positive store folds its
 * lowest indexes (values nearest zero), the negative store its highest
 * (the most negative values), so in both cases the lowest values do. */
static void store_add(struct store *st, int32_t k, uint64_t n, int maxb, bool collapse_high)
{
	if (!st->total) {
		store_cover(st, k, k, maxb);
		st->lo = st->hi = k;
		st->bins[k - st->off] += n;
		st->total += n;
		return;
	}
	int32_t lo = st->lo < k ? st->lo : k;
	int32_t hi = st->hi > k ? st->hi : k;
	uint64_t folded = 0;
	int32_t edge = 0;
	if ((int64_t)hi - lo + 1 > maxb) {
		if (!collapse_high) {
			edge = hi - maxb + 1;
			for (int32_t j = st->lo; j <= st->hi && j < edge; j++) {
				folded += st->bins[j - st->off];
				st->bins[j - st->off] = 0;
			}
			if (k < edge)
				k = edge;
			lo = edge;
			if (st->lo < edge)
				st->lo = edge > st->hi ? st->hi : edge;
		} else {
			edge = lo + maxb - 1;
			for (int32_t j = st->hi; j >= st->lo && j > edge; j--) {
				folded += st->bins[j - st->off];
				st->bins[j - st->off] = 0;
			}
			if (k > edge)
				k = edge;
			hi = edge;
			if (st->hi > edge)
				st->hi = edge < st->lo ? st->lo : edge;
		}
	}
	store_cover(st, lo, hi, maxb);
	st->lo = lo;
	st->hi = hi;
	if (folded)
		st->bins[edge - st->off] += folded;
	st->bins[k - st->off] += n;
	st->total += n;
}

static int32_t bucket_of(const struct sketch *s, double ax)
{
	return (int32_t)ceil(log(ax) / s->ln_gamma);
}

/* The centre of bucket k: within alpha of everything in it. */
static double bucket_value(const struct sketch *s, int32_t k)
{
	return 2 * exp((double)k * s->ln_gamma) / (s->gamma + 1);
}

int sketch_add_n(struct sketch *s, double x, uint64_t n)
{
	if (!isfinite(x))
		return -1;
	if (!n)
		return 0;
	double ax = fabs(x);
	if (ax < DBL_MIN)
		s->zero += n;
	else if (x > 0)
		store_add(&s->pos, bucket_of(s, ax), n, s->max_buckets, false);
	else
		store_add(&s->neg, bucket_of(s, ax), n, s->max_buckets, true);
	s->count += n;
	s->sum += x * (double)n;
	if (x < s->min)
		s->min = x;
	if (x > s->max)
		s->max = x;
	return 0;
}

int sketch_add(struct sketch *s, double x)
{
	return sketch_add_n(s, x, 1);
}

uint64_t sketch_rank(double q, uint64_t n)
{
	if (!n)
		return 0;
	if (!(q > 0))
		return 1;
	if (q >= 1)
		return n;
	double x = q * (double)n;
	double r = nearbyint(x);
	if (fabs(x - r) > 1e-9 * (x > 1 ? x : 1))
		r = ceil(x);
	if (r < 1)
		return 1;
	if (r >= (double)n)
		return n;
	return (uint64_t)r;
}

double sketch_quantile(const struct sketch *s, double q)
{
	if (!s->count || isnan(q))
		return NAN;
	uint64_t rank = sketch_rank(q, s->count);
	if (rank == 1)
		return s->min;
	if (rank == s->count)
		return s->max;
	double v = 0;
	uint64_t seen = 0;
	const struct store *st = &s->neg;
	if (st->total) {
		for (int32_t k = st->hi; k >= st->lo; k--) {
			seen += st->bins[k - st->off];
			if (seen >= rank) {
				v = -bucket_value(s, k);
				goto found;
			}
		}
	}
	seen += s->zero;
	if (seen >= rank)
		goto found; /* v is 0 */
	st = &s->pos;
	for (int32_t k = st->lo; st->total && k <= st->hi; k++) {
		seen += st->bins[k - st->off];
		if (seen >= rank) {
			v = bucket_value(s, k);
			goto found;
		}
	}
	v = s->max; /* not reached while the counts are consistent */
found:
	if (v < s->min)
		v = s->min;
	if (v > s->max)
		v = s->max;
	return v;
}

static void merge_store(struct sketch *dst, const struct store *src, bool neg)
{
	if (!src->total)
		return;
	struct store *st = neg ? &dst->neg : &dst->pos;
	/* Add from the end that is kept, so a collapse folds the rest. */
	if (neg) {
		for (int32_t k = src->lo; k <= src->hi; k++)
			if (src->bins[k - src->off])
				store_add(st, k, src->bins[k - src->off], dst->max_buckets, true);
	} else {
		for (int32_t k = src->hi; k >= src->lo; k--)
			if (src->bins[k - src->off])
				store_add(st, k, src->bins[k - src->off], dst->max_buckets, false);
	}
}

int sketch_merge(struct sketch *dst, const struct sketch *src)
{
	if (dst->alpha != src->alpha)
		return -1;
	if (!src->count)
		return 0;
	merge_store(dst, &src->pos, false);
	merge_store(dst, &src->neg, true);
	dst->zero += src->zero;
	dst->count += src->count;
	dst->sum += src->sum;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
	return 0;
}

uint64_t sketch_count(const struct sketch *s)
{
	return s->count;
}

double sketch_sum(const struct sketch *s)
{
	return s->sum;
}

double sketch_min(const struct sketch *s)
{
	return s->count ? s->min : NAN;
}

double sketch_max(const struct sketch *s)
{
	return s->count ? s->max : NAN;
}

double sketch_mean(const struct sketch *s)
{
	return s->count ? s->sum / (double)s->count : NAN;
}

double sketch_alpha(const struct sketch *s)
{
	return s->alpha;
}

static int store_buckets(const struct store *st)
{
	int n = 0;
	for (int32_t k = st->lo; st->total && k <= st->hi; k++)
		n += st->bins[k - st->off] != 0;
	return n;
}

int sketch_buckets(const struct sketch *s)
{
	return store_buckets(&s->pos) + store_buckets(&s->neg) + (s->zero != 0);
}
