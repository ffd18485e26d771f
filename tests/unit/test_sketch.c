/*
 * test_sketch.c: unit tests for sketch.c. Quantiles of seeded uniform,
 * exponential and lognormal data are checked against the exact values of
 * the sorted data, using the rank rule of sketch.h (ceil(q * n)).
 */
#include "common.h"
#include <math.h>

#include "rnd.h"
#include "sketch.h"
#include "tap.h"

#define N 100000

static const double qs[] = { 0.5, 0.9, 0.95, 0.99, 0.999, 1.0 };

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double exact_quantile(const double *sorted, size_t n, double q)
{
	return sorted[sketch_rank(q, n) - 1];
}

static double rel_err(double got, double want)
{
	if (want == 0)
		return got == 0 ? 0 : INFINITY;
	return fabs(got - want) / fabs(want);
}

/* A standard normal draw (Box-Muller); 1 - rnd_unit() is in (0, 1]. */
static double normal(void)
{
	double u = 1 - rnd_unit(), v = rnd_unit();
	return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

static double gen_uniform(void)
{
	return 1000 * rnd_unit();
}

static double gen_exponential(void)
{
	return -log(1 - rnd_unit());
}

static double gen_lognormal(void)
{
	return exp(1 + 1.5 * normal());
}

static double gen_normal(void)
{
	return 100 * normal();
}

static const struct {
	const char *name;
	double (*gen)(void);
} dists[] = {
	{ "uniform", gen_uniform },
	{ "exponential", gen_exponential },
	{ "lognormal", gen_lognormal },
	{ "normal (negative and positive)", gen_normal },
};

static void test_distributions(void)
{
	static double vals[N];
	for (size_t d = 0; d < ARRAY_SIZE(dists); d++) {
		rnd_seed(1000 + d);
		struct sketch *s = sketch_new(0.01);
		double sum = 0;
		for (size_t i = 0; i < N; i++) {
			vals[i] = dists[d].gen();
			sum += vals[i];
			sketch_add(s, vals[i]);
		}
		qsort(vals, N, sizeof(vals[0]), cmp_double);
		for (size_t i = 0; i < ARRAY_SIZE(qs); i++) {
			double want = exact_quantile(vals, N, qs[i]);
			double got = sketch_quantile(s, qs[i]);
			ok(rel_err(got, want) <= 0.01, "%s p%g: %.6g vs exact %.6g (error %.4f%%)",
			   dists[d].name, qs[i] * 100, got, want, 100 * rel_err(got, want));
		}
		/* Every permille, not only the usual percentiles. */
		double worst = 0;
		for (int pm = 0; pm <= 1000; pm++) {
			double e = rel_err(sketch_quantile(s, pm / 1000.0),
					   exact_quantile(vals, N, pm / 1000.0));
			if (e > worst)
				worst = e;
		}
		ok(worst <= 0.01, "%s: every permille within 1%% (worst %.4f%%)", dists[d].name,
		   100 * worst);
		is_int((long long)sketch_count(s), N, "count is exact");
		ok(sketch_sum(s) == sum, "sum is exact");
		ok(sketch_min(s) == vals[0] && sketch_max(s) == vals[N - 1], "min and max are exact");
		ok(sketch_quantile(s, 0) == vals[0] && sketch_quantile(s, 1) == vals[N - 1],
		   "p0 and p100 are the exact min and max");
		ok(sketch_buckets(s) <= SKETCH_DEFAULT_BUCKETS, "%s: %d buckets in use", dists[d].name,
		   sketch_buckets(s));
		sketch_free(s);
	}
}

static void test_rank(void)
{
	static const struct {
		double q;
		uint64_t n, want;
	} cases[] = {
		{ 0.5, 10, 5 },     { 0.9, 10, 9 },        { 0.95, 10, 10 },     { 0, 10, 1 },
		{ 1, 10, 10 },      { 0.01, 10, 1 },       { 0.5, 1, 1 },        { 0.34, 3, 2 },
		{ 0.999, 100000, 99900 }, { 0.99, 1000, 990 }, { 0.07, 100, 7 },   { 0.5, 0, 0 },
		{ -1, 10, 1 },      { 2, 10, 10 },         { 0.5, 11, 6 },       { 0.29, 100, 29 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char name[64];
		snprintf(name, sizeof(name), "rank of q=%g among %" PRIu64, cases[i].q, cases[i].n);
		is_int((long long)sketch_rank(cases[i].q, cases[i].n), (long long)cases[i].want, name);
	}
}

static void test_merge(void)
{
	struct sketch *a = sketch_new(0.01), *b = sketch_new(0.01), *all = sketch_new(0.01);
	rnd_seed(7);
	for (int i = 0; i < 50000; i++) {
		double x = i % 3 == 0 ? -gen_lognormal() : gen_exponential() * (i % 5);
		sketch_add(i % 2 ? a : b, x);
		sketch_add(all, x);
	}
	is_int(sketch_merge(a, b), 0, "merge of equal alphas succeeds");
	int same = 1;
	for (int pm = 0; pm <= 1000; pm++)
		if (sketch_quantile(a, pm / 1000.0) != sketch_quantile(all, pm / 1000.0))
			same = 0;
	ok(same, "merged quantiles equal the quantiles of one sketch of the union");
	is_int((long long)sketch_count(a), 50000, "merged count");
	ok(sketch_min(a) == sketch_min(all) && sketch_max(a) == sketch_max(all), "merged min and max");
	is_double(sketch_sum(a), sketch_sum(all), 1e-9 * fabs(sketch_sum(all)), "merged sum");
	is_int(sketch_buckets(a), sketch_buckets(all), "merged bucket count");
	is_int((long long)sketch_count(b), 25000, "the source is unchanged");

	struct sketch *other = sketch_new(0.02), *empty = sketch_new(0.01);
	sketch_add(other, 5);
	is_int(sketch_merge(a, other), -1, "merge of different alphas fails");
	is_int((long long)sketch_count(a), 50000, "a failed merge changes nothing");
	is_int(sketch_merge(a, empty), 0, "merging an empty sketch succeeds");
	is_int(sketch_merge(empty, b), 0, "merging into an empty sketch succeeds");
	ok(sketch_quantile(empty, 0.5) == sketch_quantile(b, 0.5) &&
		   sketch_min(empty) == sketch_min(b) && sketch_max(empty) == sketch_max(b),
	   "a merge into an empty sketch copies it");
	sketch_free(a);
	sketch_free(b);
	sketch_free(all);
	sketch_free(other);
	sketch_free(empty);
}

/* Small data sets with exact expectations. */
static void test_small(void)
{
	struct sketch *s = sketch_new(0);
	is_double(sketch_alpha(s), 0.01, 0, "alpha 0 selects the default 0.01");
	ok(isnan(sketch_quantile(s, 0.5)), "an empty sketch has no quantile");
	ok(isnan(sketch_min(s)) && isnan(sketch_max(s)) && isnan(sketch_mean(s)),
	   "an empty sketch has no min, max or mean");
	is_int((long long)sketch_count(s), 0, "an empty sketch counts 0");

	sketch_add(s, 42);
	for (size_t i = 0; i < ARRAY_SIZE(qs); i++)
		is_double(sketch_quantile(s, qs[i]), 42, 0, "a single value is every quantile");
	is_double(sketch_quantile(s, 0), 42, 0, "a single value is p0");
	is_double(sketch_mean(s), 42, 0, "mean of a single value");

	/* -5 -1 0 0 0 2 10: ranks by ceil(q * 7). */
	sketch_reset(s);
	static const double vals[] = { 0, 10, -1, 0, 2, -5, 0 };
	for (size_t i = 0; i < ARRAY_SIZE(vals); i++)
		sketch_add(s, vals[i]);
	static const struct {
		double q, want;
	} cases[] = {
		{ 0, -5 }, { 0.1, -5 }, { 0.2, -1 }, { 0.3, 0 }, { 0.4, 0 },  { 0.5, 0 },
		{ 0.6, 0 }, { 0.8, 2 },  { 0.9, 10 }, { 1, 10 },  { -3, -5 }, { 7, 10 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char name[64];
		snprintf(name, sizeof(name), "zero and negatives: q=%g is %g within 1%%", cases[i].q,
			 cases[i].want);
		double got = sketch_quantile(s, cases[i].q);
		ok(cases[i].want == 0 ? got == 0 : rel_err(got, cases[i].want) <= 0.01, "%s (got %.17g)",
		   name, got);
	}
	is_double(sketch_sum(s), 6, 0, "sum with negatives");
	is_double(sketch_mean(s), 6.0 / 7, 1e-15, "mean with negatives");
	is_int(sketch_buckets(s), 5, "buckets: -5, -1, zero, 2, 10");
	ok(sketch_add(s, 1e-320) == 0 && sketch_quantile(s, 0.5) == 0,
	   "a subnormal value counts as zero");

	ok(sketch_add(s, NAN) == -1 && sketch_add(s, INFINITY) == -1 && sketch_add(s, -INFINITY) == -1,
	   "NaN and infinities are refused");
	is_int((long long)sketch_count(s), 8, "refused values are not counted");
	ok(isnan(sketch_quantile(s, NAN)), "a NaN quantile is NaN");

	sketch_reset(s);
	is_int((long long)sketch_count(s), 0, "reset empties the sketch");
	ok(sketch_add_n(s, 3.5, 0) == 0 && sketch_count(s) == 0, "add_n of 0 does nothing");
	sketch_add_n(s, 3.5, 1000);
	sketch_add_n(s, 700, 10);
	is_int((long long)sketch_count(s), 1010, "add_n counts n times");
	is_double(sketch_sum(s), 3500 + 7000, 0, "add_n adds x * n to the sum");
	ok(rel_err(sketch_quantile(s, 0.99), 3.5) <= 0.01, "p99 of 1000 x 3.5 and 10 x 700 is 3.5");
	ok(rel_err(sketch_quantile(s, 0.991), 700) <= 0.01, "p99.1 reaches the 700s");
	sketch_free(s);

	ok(sketch_new(0.6) == NULL && sketch_new(-0.1) == NULL && sketch_new(NAN) == NULL &&
		   sketch_new(0.00001) == NULL,
	   "alpha outside [0.0001, 0.5] is refused");
	ok(sketch_new_bounded(0.01, 1) == NULL, "fewer than 2 buckets is refused");
}

/* With a bucket limit, low values collapse and high quantiles keep 1%. */
static void test_collapse(void)
{
	struct sketch *s = sketch_new_bounded(0.01, 100), *n = sketch_new_bounded(0.01, 100);
	static double vals[3000];
	for (int i = 0; i < 3000; i++) {
		vals[i] = pow(1.005, i); /* 1 .. 3.2e6: about 750 buckets wide */
		sketch_add(s, vals[i]);
		sketch_add(n, -vals[i]);
	}
	ok(sketch_buckets(s) <= 100 && sketch_buckets(n) <= 100, "at most 100 buckets (%d, %d)",
	   sketch_buckets(s), sketch_buckets(n));
	static const double high[] = { 0.95, 0.99, 0.999 };
	for (size_t i = 0; i < ARRAY_SIZE(high); i++) {
		double want = vals[sketch_rank(high[i], 3000) - 1];
		double got = sketch_quantile(s, high[i]);
		ok(rel_err(got, want) <= 0.01, "collapsed: p%g still within 1%% (%.6g vs %.6g)",
		   high[i] * 100, got, want);
		/* Negated data: the highest values are those nearest zero. */
		double nwant = -vals[3000 - sketch_rank(high[i], 3000)];
		double ngot = sketch_quantile(n, high[i]);
		ok(rel_err(ngot, nwant) <= 0.01, "collapsed negatives: p%g within 1%% (%.6g vs %.6g)",
		   high[i] * 100, ngot, nwant);
	}
	double low = sketch_quantile(s, 0.1);
	ok(rel_err(low, vals[299]) > 0.01, "a low quantile in the collapsed buckets lost accuracy");
	is_double(sketch_quantile(s, 0), 1, 0, "the min stays exact");
	is_double(sketch_quantile(n, 0), -vals[2999], 0, "the negative min stays exact");

	/* A merge into a bounded sketch respects the bound. */
	struct sketch *wide = sketch_new(0.01), *into = sketch_new_bounded(0.01, 50);
	for (int i = 0; i < 3000; i++)
		sketch_add(wide, vals[i]);
	sketch_merge(into, wide);
	ok(sketch_buckets(into) <= 50, "merge into a 50-bucket sketch keeps 50 (%d)",
	   sketch_buckets(into));
	double want = vals[sketch_rank(0.99, 3000) - 1];
	ok(rel_err(sketch_quantile(into, 0.99), want) <= 0.01, "and p99 within 1%% after the merge");
	sketch_free(s);
	sketch_free(n);
	sketch_free(wide);
	sketch_free(into);
}

int main(void)
{
	test_rank();
	test_distributions();
	test_merge();
	test_small();
	test_collapse();
	return tap_done();
}
