/*
 * stats.h: running summaries of a stream of numbers.
 *
 * struct stats keeps count, mean, min, max and variance in constant space
 * with Welford's update, which stays accurate where the naive sum of
 * squares cancels catastrophically (large values with small spread, such
 * as epoch timestamps). Two summaries merge exactly (Chan's formula), so
 * per-window or per-worker summaries can be combined.
 *
 * struct ewma is an exponentially weighted moving average for smoothing
 * demand signals and health scores. It weighs samples either by position
 * (a fixed alpha, or a half-life in samples) or by time (a half-life in
 * milliseconds, for samples that arrive irregularly).
 *
 * Both are plain structs the caller owns; nothing here allocates.
 */
#ifndef OFS_STATS_H
#define OFS_STATS_H

#include <stdint.h>

struct stats {
	uint64_t n;
	double mean;
	double m2; /* sum of squared deviations from the mean */
	double min, max;
	double sum;
};

/* stats_init: an empty summary. A zeroed struct is not one (min/max). */
void stats_init(struct stats *s);

/* stats_add: count x. NaN is ignored (returns -1); otherwise 0. */
int stats_add(struct stats *s, double x);

/* stats_merge: add everything summarised in src to dst. */
void stats_merge(struct stats *dst, const struct stats *src);

/* Results. mean, min and max are NaN when empty; variances need at least
 * one (population) or two (sample) values, else NaN. */
uint64_t stats_count(const struct stats *s);
double stats_sum(const struct stats *s);
double stats_mean(const struct stats *s);
double stats_min(const struct stats *s);
double stats_max(const struct stats *s);
double stats_variance(const struct stats *s);     /* sample: m2 / (n - 1) */
double stats_variance_pop(const struct stats *s); /* population: m2 / n */
double stats_stddev(const struct stats *s);       /* sqrt of the sample variance */

/*
 * EWMA. With a weight w for the new sample, value = w * x + (1 - w) * value.
 *
 *  - ewma_init(e, alpha): w = alpha for every sample (0 < alpha <= 1).
 *  - ewma_init_halflife(e, h): w = 1 - 2^(-1/h), so a sample's weight
 *    halves after h more samples (h > 0).
 *  - ewma_init_time(e, halflife_ms): samples are timestamped with
 *    ewma_update_at; a sample's weight halves every halflife_ms. The value
 *    is the decayed average sum(x_i * d_i) / sum(d_i) with
 *    d_i = 2^(-(t - t_i) / halflife_ms): samples at the same instant
 *    count equally, and a sample after a long gap dominates as it should.
 *    A timestamp earlier than the latest is taken as the latest.
 *
 * In the first two modes the first sample becomes the value. The init
 * functions return -1 for an out-of-range parameter (the ewma is then
 * unusable), else 0. ewma_value is NaN before the first sample.
 */
struct ewma {
	int mode;
	double alpha;       /* weight per sample (positional modes) */
	double halflife_ms; /* time mode */
	double value;
	double wsum; /* time mode: decayed sum of weights */
	int64_t last_ms;
	uint64_t n;
};

int ewma_init(struct ewma *e, double alpha);
int ewma_init_halflife(struct ewma *e, double samples);
int ewma_init_time(struct ewma *e, double halflife_ms);

/* ewma_update: add a sample (positional modes; in time mode it counts as
 * arriving at the latest timestamp). NaN is ignored. */
void ewma_update(struct ewma *e, double x);

/* ewma_update_at: add a sample taken at t_ms (time mode; in the
 * positional modes t_ms is ignored). NaN is ignored. */
void ewma_update_at(struct ewma *e, double x, int64_t t_ms);

/* ewma_value: the current average; NaN before the first sample. */
double ewma_value(const struct ewma *e);

/* ewma_count: the number of samples taken. */
uint64_t ewma_count(const struct ewma *e);

#endif
