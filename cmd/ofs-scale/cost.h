/*
 * cost.h: the cheapest mix of instance types for a demand (cost.c).
 *
 * The problem: counts n_i of catalogue types minimising sum(price_i n_i)
 * subject to sum_i(cap_ij n_i) >= demand_j for every metric j. The answer
 * is exact; among mixes of equal cost (prices compared to the
 * nano-dollar) the one with fewer instances wins, then the one with more
 * of the types listed earlier in the catalogue (its counts compared in
 * catalogue order).
 */
#ifndef OFS_SCALE_COST_H
#define OFS_SCALE_COST_H

#include <stdbool.h>
#include <stddef.h>

/* The search gives up proving a mix the best after trying this many
 * counts (a
 * catalogue of many types priced exactly alike per unit can make that
 * proof long); it then answers with the best mix found. */
#define SC_MIX_MAX_NODES 4000000L

/*
 * sc_mix_solve: the best mix for ntypes types and nmetrics metrics.
 * price[ntypes] (>= 0, an hour), cap[ntypes * nmetrics] (row i is type i;
 * >= 0, 0 where a type has no capacity for a metric), demand[nmetrics]
 * (>= 0). Fills counts[ntypes] (catalogue order) and returns 0; returns
 * 1 with the best mix found (it meets the demand) when the search hit
 * SC_MIX_MAX_NODES before proving it the cheapest; returns -1 when some
 * metric with demand > 0 is served by no type
 * (capacity 0 everywhere): *unserved (may be NULL) is then its index and
 * counts are all 0. Allocates only temporary memory; no side effects.
 */
int sc_mix_solve(size_t ntypes, size_t nmetrics, const double *price, const double *cap,
		 const double *demand, long *counts, size_t *unserved);

/*
 * sc_mix_compare: the order sc_mix_solve minimises, for two count
 * vectors a and b over the same ntypes prices: < 0 when a is the better
 * mix (cheaper; as cheap with fewer instances; then more of the earlier
 * types), > 0 when b is, 0 when they are the same.
 */
int sc_mix_compare(size_t ntypes, const double *price, const long *a, const long *b);

/* sc_mix_covers: whether counts meet every demand (within 1e-9 of it,
 * relative, so 12000 x 1.2 is met by 14400). */
bool sc_mix_covers(size_t ntypes, size_t nmetrics, const double *cap, const double *demand,
		   const long *counts);

#endif
