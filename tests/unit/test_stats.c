/*
 * test_stats.c: unit tests for stats.c (Welford summaries and EWMA) with
 * exact expected numbers worked out by hand.
 */
#include "common.h"
#include <math.h>

#include "stats.h"
#include "tap.h"

static void test_welford(void)
{
	struct stats s;
	stats_init(&s);
	is_int((long long)stats_count(&s), 0, "an empty summary counts 0");
	ok(isnan(stats_mean(&s)) && isnan(stats_min(&s)) && isnan(stats_max(&s)),
	   "an empty summary has no mean, min or max");
	ok(isnan(stats_variance(&s)) && isnan(stats_variance_pop(&s)), "nor a variance");

	/* 2 4 4 4 5 5 7 9: mean 5, squared deviations sum to 32. */
	static const double v[] = { 2, 4, 4, 4, 5, 5, 7, 9 };
	for (size_t i = 0; i < ARRAY_SIZE(v); i++)
		stats_add(&s, v[i]);
	is_int((long long)stats_count(&s), 8, "count");
	is_double(stats_sum(&s), 40, 0, "sum");
	is_double(stats_mean(&s), 5, 0, "mean");
	is_double(stats_min(&s), 2, 0, "min");
	is_double(stats_max(&s), 9, 0, "max");
	is_double(stats_variance_pop(&s), 4, 1e-15, "population variance 32/8");
	is_double(stats_variance(&s), 32.0 / 7, 1e-15, "sample variance 32/7");
	is_double(stats_stddev(&s), sqrt(32.0 / 7), 1e-15, "standard deviation");
	is_int(stats_add(&s, NAN), -1, "NaN is refused");
	is_int((long long)stats_count(&s), 8, "and not counted");

	struct stats one;
	stats_init(&one);
	stats_add(&one, -3.5);
	is_double(stats_mean(&one), -3.5, 0, "mean of one value");
	is_double(stats_variance_pop(&one), 0, 0, "population variance of one value is 0");
	ok(isnan(stats_variance(&one)), "sample variance of one value is NaN");

	/* Large offset, small spread: 1e9 + {4, 7, 13, 16}. The naive sum
	 * of squares loses every digit here; Welford keeps them. */
	struct stats big;
	stats_init(&big);
	static const double d[] = { 4, 7, 13, 16 };
	for (size_t i = 0; i < ARRAY_SIZE(d); i++)
		stats_add(&big, 1e9 + d[i]);
	is_double(stats_mean(&big), 1e9 + 10, 0, "mean with a large offset");
	is_double(stats_variance(&big), 30, 1e-6, "sample variance with a large offset is 30");

	/* Merging halves equals one pass over everything. */
	struct stats a, b, all;
	stats_init(&a);
	stats_init(&b);
	stats_init(&all);
	for (int i = 1; i <= 1000; i++) {
		double x = (i * 37) % 101 - 50.25;
		stats_add(i <= 300 ? &a : &b, x);
		stats_add(&all, x);
	}
	stats_merge(&a, &b);
	is_int((long long)stats_count(&a), 1000, "merged count");
	is_double(stats_mean(&a), stats_mean(&all), 1e-12, "merged mean");
	is_double(stats_variance(&a), stats_variance(&all), 1e-9, "merged variance");
	ok(stats_min(&a) == stats_min(&all) && stats_max(&a) == stats_max(&all), "merged min and max");

	struct stats empty;
	stats_init(&empty);
	stats_merge(&empty, &s);
	is_double(stats_variance(&empty), 32.0 / 7, 1e-15, "merge into an empty summary copies");
	stats_init(&empty);
	stats_merge(&s, &empty);
	is_int((long long)stats_count(&s), 8, "merging an empty summary changes nothing");
}

static void test_ewma_alpha(void)
{
	struct ewma e;
	is_int(ewma_init(&e, 0.5), 0, "alpha 0.5 accepted");
	ok(isnan(ewma_value(&e)), "no value before the first sample");
	static const struct {
		double x, want;
	} steps[] = {
		{ 10, 10 },  /* the first sample becomes the value */
		{ 20, 15 },  /* 0.5 * 20 + 0.5 * 10 */
		{ 0, 7.5 },  /* 0.5 * 0 + 0.5 * 15 */
		{ 7.5, 7.5 },
		{ -1, 3.25 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(steps); i++) {
		char name[64];
		ewma_update(&e, steps[i].x);
		snprintf(name, sizeof(name), "alpha 0.5: after %g the value is %g", steps[i].x,
			 steps[i].want);
		is_double(ewma_value(&e), steps[i].want, 0, name);
	}
	ewma_update(&e, NAN);
	is_double(ewma_value(&e), 3.25, 0, "NaN is ignored");
	is_int((long long)ewma_count(&e), 5, "five samples counted");

	ewma_init(&e, 0.1);
	ewma_update(&e, 100);
	ewma_update(&e, 0);
	is_double(ewma_value(&e), 90, 1e-12, "alpha 0.1: 100 then 0 gives 90");
	ewma_update_at(&e, 0, 123456);
	is_double(ewma_value(&e), 81, 1e-12, "in alpha mode the timestamp is ignored");

	is_int(ewma_init_halflife(&e, 1), 0, "half-life of one sample accepted");
	is_double(e.alpha, 0.5, 0, "a half-life of 1 sample is alpha 0.5");
	is_int(ewma_init_halflife(&e, 2), 0, "half-life of two samples accepted");
	is_double(e.alpha, 1 - sqrt(0.5), 1e-15, "a half-life of 2 samples is alpha 1 - 2^-0.5");
	ewma_update(&e, 0);
	ewma_update(&e, 1);
	ewma_update(&e, 1);
	is_double(ewma_value(&e), 0.5, 1e-15,
		  "after two samples of 1 the weight of the old value has halved");

	ok(ewma_init(&e, 0) == -1 && ewma_init(&e, 1.5) == -1 && ewma_init(&e, NAN) == -1,
	   "alpha outside (0, 1] is refused");
	ewma_update(&e, 5);
	ok(isnan(ewma_value(&e)), "a refused ewma takes no samples");
	ok(ewma_init_halflife(&e, 0) == -1 && ewma_init_halflife(&e, INFINITY) == -1,
	   "a half-life of 0 or infinity is refused");
	ok(ewma_init(&e, 1) == 0, "alpha 1 accepted");
	ewma_update(&e, 3);
	ewma_update(&e, 8);
	is_double(ewma_value(&e), 8, 0, "alpha 1 keeps the latest sample");
}

static void test_ewma_time(void)
{
	struct ewma e;
	is_int(ewma_init_time(&e, 1000), 0, "a half-life of 1000 ms accepted");
	/* value = sum(x_i * 2^(-(t - t_i)/1000)) / sum(2^(-(t - t_i)/1000)) */
	static const struct {
		double x;
		int64_t t;
		double want;
	} steps[] = {
		{ 10, 5000, 10 },              /* first sample */
		{ 20, 6000, 25 / 1.5 },        /* (10 * 0.5 + 20) / 1.5 */
		{ 30, 6000, 22 },              /* same instant: (5 + 20 + 30) / 2.5 */
		{ 0, 8000, 13.75 / 1.625 },    /* (55 * 0.25 + 0) / (2.5 * 0.25 + 1) */
		{ 8, 7000, (13.75 + 8) / 2.625 }, /* earlier timestamp: taken as 8000 */
	};
	for (size_t i = 0; i < ARRAY_SIZE(steps); i++) {
		char name[80];
		ewma_update_at(&e, steps[i].x, steps[i].t);
		snprintf(name, sizeof(name), "half-life 1 s: %g at %" PRId64 " ms gives %.6g", steps[i].x,
			 steps[i].t, steps[i].want);
		is_double(ewma_value(&e), steps[i].want, 1e-12, name);
	}
	ewma_update(&e, 8);
	is_double(ewma_value(&e), (13.75 + 16) / 3.625, 1e-12,
		  "ewma_update in time mode counts at the latest instant");

	/* After a gap of 100 half-lives the old samples weigh nothing. */
	ewma_update_at(&e, 42, 8000 + 100000);
	is_double(ewma_value(&e), 42, 1e-12, "a long gap forgets the past");

	/* Regular spacing of one half-life converges to alpha 0.5. */
	ewma_init_time(&e, 250);
	for (int i = 0; i < 60; i++)
		ewma_update_at(&e, 100, (int64_t)i * 250);
	ewma_update_at(&e, 0, 60 * 250);
	is_double(ewma_value(&e), 50, 1e-9, "steady spacing of one half-life halves like alpha 0.5");

	ok(ewma_init_time(&e, 0) == -1 && ewma_init_time(&e, -5) == -1, "a half-life <= 0 is refused");
	ewma_init_time(&e, 1);
	ewma_update_at(&e, 1, INT64_MIN);
	ewma_update_at(&e, 3, INT64_MAX);
	is_double(ewma_value(&e), 3, 0, "extreme timestamps do not overflow");
}

int main(void)
{
	test_welford();
	test_ewma_alpha();
	test_ewma_time();
	return tap_done();
}
