/*
 * demand.c: metric samples added up into demand, the one rule every
 * command that looks at load over time shares (forecast, plan, size,
 * simulate), so that they agree on what a service needed and when.
 *
 * An instant is a service's metric at one ts. Its demand is the sum of
 * the per-pod samples of that ts (a pod not ready still carried load),
 * or a service-level sample's value times its ready replicas
 * (sc_sample_demand), whichever is greater. Names are interned through
 * hash tables, so reading is linear in the input; the instants come out
 * sorted by service and metric (in the order they were first seen) and
 * by time.
 */
#include "common.h"
#include <fnmatch.h>

#include "hash.h"
#include "jsonl.h"
#include "scale.h"

/* The index of name in names (added when new); ix maps name -> index + 1. */
static size_t intern(struct ht *ix, char ***names, size_t *n, size_t *alloc, const char *name)
{
	void **ref = ht_ref(ix, name);
	if (ref)
		return (size_t)(uintptr_t)*ref - 1;
	ALLOC_GROW(*names, *n + 1, *alloc);
	(*names)[*n] = xstrdup(name);
	ht_put(ix, name, (void *)(uintptr_t)(*n + 1));
	return (*n)++;
}

static bool wanted(const struct sc_demand_filter *f, const struct sc_sample *s)
{
	if (!f)
		return true;
	if (f->service && fnmatch(f->service, s->service, 0) != 0)
		return false;
	return !f->metric || !strcmp(f->metric, s->metric);
}

static int by_instant(const void *a, const void *b)
{
	const struct sc_instant *x = a, *y = b;
	if (x->service != y->service)
		return x->service < y->service ? -1 : 1;
	if (x->metric != y->metric)
		return x->metric < y->metric ? -1 : 1;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return 0;
}

/* One instant per (service, metric, ts), by the rule above. */
static void merge_instants(struct sc_demand *d)
{
	if (!d->n)
		return;
	qsort(d->v, d->n, sizeof(*d->v), by_instant);
	size_t out = 0;
	for (size_t i = 0; i < d->n;) {
		size_t j = i;
		double pods = 0, svc = 0;
		for (; j < d->n && !by_instant(&d->v[i], &d->v[j]); j++) {
			if (d->v[j].pod)
				pods += d->v[j].demand;
			else if (d->v[j].demand > svc)
				svc = d->v[j].demand;
		}
		d->v[out] = d->v[i];
		d->v[out].demand = pods > svc ? pods : svc;
		d->v[out].pod = false;
		out++;
		i = j;
	}
	d->n = out;
}

static int read_one(struct sc_demand *d, const char *file, bool strict,
		    const struct sc_demand_filter *f)
{
	struct strbuf err = SB_INIT, why = SB_INIT;
	struct jsonl_reader *r = jsonl_open(file, strict ? JSONL_STRICT : 0, &err);
	if (!r) {
		error("%s", err.buf);
		sb_release(&err);
		return -1;
	}
	cJSON *rec;
	int rc = 0, got;
	while ((got = jsonl_next(r, &rec)) == 1) {
		struct sc_sample s;
		sb_reset(&why);
		if (sc_sample_parse(rec, &s, &why) < 0) {
			cJSON_Delete(rec);
			if (jsonl_reject(r, "%s", why.buf) < 0) {
				rc = -1;
				break;
			}
			continue;
		}
		if (wanted(f, &s)) {
			ALLOC_GROW(d->v, d->n + 1, d->a);
			struct sc_instant *in = &d->v[d->n++];
			in->service = intern(d->service_ix, &d->services, &d->nservices,
					     &d->aservices, s.service);
			in->metric = intern(d->metric_ix, &d->metrics, &d->nmetrics, &d->ametrics,
					    s.metric);
			in->ts = s.ts;
			in->demand = sc_sample_demand(&s);
			in->pod = s.pod != NULL;
		}
		cJSON_Delete(rec);
	}
	if (got < 0)
		rc = -1;
	jsonl_close(r);
	sb_release(&err);
	sb_release(&why);
	return rc;
}

int sc_demand_read(struct sc_demand *d, char **files, int nfiles, bool strict,
		   const struct sc_demand_filter *f)
{
	static char *stdin_only[] = { (char *)"-" };
	if (nfiles == 0) {
		files = stdin_only;
		nfiles = 1;
	}
	memset(d, 0, sizeof(*d));
	d->service_ix = ht_new();
	d->metric_ix = ht_new();
	int rc = 0;
	for (int i = 0; i < nfiles; i++) {
		if (read_one(d, files[i], strict, f) < 0) {
			rc = -1;
			if (strict)
				break;
		}
	}
	merge_instants(d);
	return rc;
}

size_t sc_demand_series_end(const struct sc_demand *d, size_t i)
{
	size_t j = i + 1;
	while (j < d->n && d->v[j].service == d->v[i].service && d->v[j].metric == d->v[i].metric)
		j++;
	return j;
}

void sc_demand_release(struct sc_demand *d)
{
	for (size_t i = 0; i < d->nservices; i++)
		free(d->services[i]);
	for (size_t i = 0; i < d->nmetrics; i++)
		free(d->metrics[i]);
	free(d->services);
	free(d->metrics);
	free(d->v);
	ht_free(d->service_ix, NULL);
	ht_free(d->metric_ix, NULL);
	memset(d, 0, sizeof(*d));
}
