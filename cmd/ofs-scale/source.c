/*
 * source.c: samples polled from the policy's HTTP sources (decide
 * --poll), so ofs-scale can run as a controller beside Prometheus
 * instead of reading sample records.
 *
 * Each metric with a "source" is one GET of its URL and the number at
 * its JSONPath (httpnum.h: Prometheus' string values, "NaN" and an empty
 * result are "no data"), made into a sample record exactly like those
 * decide reads, so that polled and piped samples go through one path.
 * replicasSource and readySource fill in the replica counts. A source
 * that cannot be read is reported naming the policy file, the metric and
 * the URL, counted, and left out; "no data" is not a failure, the metric
 * simply has no value this period.
 */
#include "common.h"

#include "httpnum.h"
#include "jsonpath.h"
#include "scale.h"
#include "timefmt.h"

#define NS_PER_MS 1000000LL
#define DEFAULT_TIMEOUT_NS (5000 * NS_PER_MS)

static long timeout_ms(int64_t ns)
{
	if (ns <= 0)
		ns = DEFAULT_TIMEOUT_NS;
	int64_t ms = (ns + NS_PER_MS - 1) / NS_PER_MS;
	return ms > INT_MAX ? INT_MAX : (long)ms;
}

/*
 * Read src: 1 with *v, 0 for no data, -1 after reporting the failure
 * (what names the source: "metric 'cpu'", "replicasSource").
 */
static int poll_source(const struct sc_policy *p, const struct sc_source *src,
		       const char *what, double *v)
{
	struct strbuf err = SB_INIT;
	struct jp *jp = NULL;
	int rc;

	if (src->path && !(jp = jp_compile(src->path, &err, NULL))) {
		error("%s: %s: invalid JSONPath '%s': %s", p->file, what, src->path, err.buf);
		sb_release(&err);
		return -1;
	}
	rc = hn_get(src->url, jp, src->path, timeout_ms(src->timeout), v, &err);
	if (rc < 0)
		error("%s: %s: %s", p->file, what, err.buf);
	jp_free(jp);
	sb_release(&err);
	return rc;
}

/* A replica count from src: >= 0, or -1 when there is none (failures counted). */
static int poll_count(const struct sc_policy *p, const struct sc_source *src, const char *what,
		      int *failed)
{
	double v;
	if (!src)
		return -1;
	int rc = poll_source(p, src, what, &v);
	if (rc < 0) {
		(*failed)++;
		return -1;
	}
	if (rc == 0)
		return -1;
	if (v < 0 || v > INT_MAX || v != (double)(long long)v) {
		error("%s: %s: the value %g from '%s' is not a replica count", p->file, what, v,
		      src->url);
		(*failed)++;
		return -1;
	}
	return (int)v;
}

cJSON *sc_poll_samples(const struct sc_policy *p, int64_t now, int *failed)
{
	cJSON *out = cJSON_CreateArray();
	char ts[TS_BUFSZ];
	struct strbuf what = SB_INIT;

	*failed = 0;
	ts_format(now, ts);
	int replicas = poll_count(p, p->replicas_source, "replicasSource", failed);
	int ready = poll_count(p, p->ready_source, "readySource", failed);
	for (size_t i = 0; i < p->nmetrics; i++) {
		const struct sc_metric *m = &p->metrics[i];
		double v;
		if (!m->source)
			continue;
		sb_reset(&what);
		sb_addf(&what, "metric '%s'", m->name);
		int rc = poll_source(p, m->source, what.buf, &v);
		if (rc < 0)
			(*failed)++;
		if (rc != 1)
			continue;
		cJSON *s = cJSON_CreateObject();
		cJSON_AddStringToObject(s, "type", "scale.sample");
		cJSON_AddStringToObject(s, "service", p->service);
		cJSON_AddStringToObject(s, "ts", ts);
		cJSON_AddStringToObject(s, "metric", m->name);
		cJSON_AddNumberToObject(s, "value", v);
		if (replicas >= 0)
			cJSON_AddNumberToObject(s, "replicas", replicas);
		if (ready >= 0)
			cJSON_AddNumberToObject(s, "ready_replicas", ready);
		cJSON_AddItemToArray(out, s);
	}
	sb_release(&what);
	return out;
}
