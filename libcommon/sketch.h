/*
 * sketch.h: mergeable streaming quantiles with bounded relative error.
 *
 * Latency percentiles over millions of spans or probe results cannot keep
 * every value, and averaging per-window percentiles is wrong. A sketch
 * keeps counts in logarithmic buckets instead: with relative accuracy
 * alpha, gamma = (1 + alpha) / (1 - alpha), a positive value x goes to
 * bucket k = ceil(log_gamma(x)), which covers (gamma^(k-1), gamma^k], and
 * a quantile is answered with the bucket's centre 2 gamma^k / (gamma + 1),
 * which is within alpha of every value in the bucket. Negative values use
 * a second set of buckets over |x|; zero (and any |x| below DBL_MIN, the
 * smallest normal double) is counted apart. Two sketches with the same
 * alpha merge exactly: the merge equals the sketch of all the values.
 *
 * Memory is bounded: each sign keeps at most max_buckets buckets (2048 by
 * default, which covers a range of 10^17 at alpha = 0.01). When a new
 * value would need more, the lowest buckets (values nearest zero for the
 * positive side, the most negative values for the negative side) are
 * collapsed into one: quantiles that fall in the collapsed buckets lose
 * their accuracy guarantee, higher quantiles keep it. Latency data cares
 * for the high quantiles, which is why the low end gives way.
 *
 * count, sum, min and max are exact (sum is a double sum).
 *
 * Rank rule: the q-quantile of n values is the value of rank
 * sketch_rank(q, n) = ceil(q * n) in ascending order (1-based, at least
 * 1), so p50 of 1..10 is 5 and p0 is the minimum.
 */
#ifndef OFS_SKETCH_H
#define OFS_SKETCH_H

#include <stdint.h>

#define SKETCH_DEFAULT_ALPHA 0.01
#define SKETCH_DEFAULT_BUCKETS 2048
#define SKETCH_MIN_ALPHA 0.0001
#define SKETCH_MAX_ALPHA 0.5

struct sketch;

/* sketch_new: an empty sketch with relative accuracy alpha (0 selects
 * SKETCH_DEFAULT_ALPHA) and SKETCH_DEFAULT_BUCKETS buckets per sign.
 * Returns NULL if alpha is outside [SKETCH_MIN_ALPHA, SKETCH_MAX_ALPHA]
 * (or NaN). The caller frees it with sketch_free. */
struct sketch *sketch_new(double alpha);

/* sketch_new_bounded: as sketch_new with at most max_buckets (>= 2)
 * buckets per sign; NULL on a bad alpha or max_buckets. */
struct sketch *sketch_new_bounded(double alpha, int max_buckets);

void sketch_free(struct sketch *s);

/* sketch_add: count x once. NaN and infinities cannot be placed in a
 * bucket: they are not counted and the call returns -1; otherwise 0. */
int sketch_add(struct sketch *s, double x);

/* sketch_add_n: count x n times (n == 0 does nothing); -1 as sketch_add. */
int sketch_add_n(struct sketch *s, double x, uint64_t n);

/* sketch_rank: the 1-based rank used for the q-quantile of n values:
 * ceil(q * n) clamped to 1..n, where a product within 1e-9 of an integer
 * counts as that integer (so 0.999 * 100000 is 99900, not 99901). q is
 * clamped to [0, 1]. Returns 0 when n is 0. */
uint64_t sketch_rank(double q, uint64_t n);

/* sketch_quantile: an estimate of the q-quantile (q clamped to [0, 1])
 * within alpha relative error of the value of rank sketch_rank(q, n),
 * clamped to [min, max]; the rank 1 and rank n answers are the exact min
 * and max. NaN when the sketch is empty or q is NaN. */
double sketch_quantile(const struct sketch *s, double q);

/* sketch_merge: add all of src to dst. Both must have the same alpha;
 * otherwise nothing changes and -1 is returned. dst keeps its own bucket
 * limit. src is unchanged. */
int sketch_merge(struct sketch *dst, const struct sketch *src);

/* Exact summaries. min, max and mean are NaN for an empty sketch. */
uint64_t sketch_count(const struct sketch *s);
double sketch_sum(const struct sketch *s);
double sketch_min(const struct sketch *s);
double sketch_max(const struct sketch *s);
double sketch_mean(const struct sketch *s);
double sketch_alpha(const struct sketch *s);

/* sketch_buckets: the number of non-empty buckets (zero counts as one),
 * a measure of the memory in use. */
int sketch_buckets(const struct sketch *s);

/* sketch_reset: forget all values, keeping alpha and the bucket limit. */
void sketch_reset(struct sketch *s);

#endif
