/*
 * measure.h: the metric providers (provider.c) as the analysis loop
 * (measure.c) sees them. Private to those two files.
 *
 * A provider is made once per analysis run and metric, so that it can
 * keep what one measurement needs from the one before: the haproxy
 * counters of the last look (rates are differences between two looks),
 * the compiled jsonPath.
 */
#ifndef OFS_DEPLOY_MEASURE_H
#define OFS_DEPLOY_MEASURE_H

#include <stdbool.h>

#include "deploy.h"
#include "strbuf.h"

struct dp_prov;

/*
 * dp_prov_new: the provider of metric m for one run of its analysis.
 * For a haproxy errorRate or requestRate it takes the baseline look
 * now (a failure is kept and reported by the first measurement). m and
 * d must outlive it. Never fails (dies on out-of-memory).
 */
struct dp_prov *dp_prov_new(struct dp_deploy *d, const struct dp_metric *m);

/*
 * dp_prov_measure: take one measurement. Returns 1 with the value in
 * *v, 0 when it was taken but there is no value (no traffic, an empty
 * query result, empty output), or -1 with one line in err (reset
 * first) when it could not be taken.
 */
int dp_prov_measure(struct dp_prov *p, double *v, struct strbuf *err);

/*
 * dp_prov_is_delta: whether m's value is a difference between two
 * looks (haproxy errorRate and requestRate), so that its first
 * measurement is due one interval after the baseline at the earliest.
 */
bool dp_prov_is_delta(const struct dp_metric *m);

/* dp_prov_free: free p (NULL is fine). */
void dp_prov_free(struct dp_prov *p);

#endif
