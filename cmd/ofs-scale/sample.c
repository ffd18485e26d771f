/*
 * sample.c: one metric sample record read into a struct sc_sample.
 *
 * Samples are what every ofs-scale command reads: a service, a time, a
 * metric and its value, with the replica counts the sample was taken at
 * when the source knows them, and, for per-pod samples, the pod and its
 * readiness. The reader is strict about types (a value that is a string
 * is a bad line, not a zero) because a misread metric would scale a
 * service for nothing; the reason names the field by its JSON pointer so
 * the FILE:LINE message says exactly what to fix. Nothing is copied: the
 * strings point into the record, which keeps the hot path free of
 * allocation.
 */
#include "common.h"
#include <math.h>

#include "config.h"
#include "scale.h"
#include "timefmt.h"

static int bad(struct strbuf *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(struct strbuf *why, const char *fmt, ...)
{
	if (why) {
		va_list ap;
		va_start(ap, fmt);
		sb_vaddf(why, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int get_text(const cJSON *rec, const char *key, bool required, const char **out,
		    struct strbuf *why)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, key);
	if (!v) {
		if (required)
			return bad(why, "missing field '%s'", key);
		return 0;
	}
	if (!cJSON_IsString(v))
		return bad(why, "/%s: must be a string, got %s", key, cfg_type_name(v));
	if (!*v->valuestring)
		return bad(why, "/%s: must not be empty", key);
	*out = v->valuestring;
	return 0;
}

static int get_count(const cJSON *rec, const char *key, int *out, struct strbuf *why)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, key);
	*out = -1;
	if (!v)
		return 0;
	if (!cJSON_IsNumber(v))
		return bad(why, "/%s: must be a number, got %s", key, cfg_type_name(v));
	double d = v->valuedouble;
	if (d != floor(d) || d < 0 || d > INT32_MAX)
		return bad(why, "/%s: must be a whole number 0..%d, got %g", key, INT32_MAX, d);
	*out = (int)d;
	return 0;
}

static int get_ts(const cJSON *rec, int64_t *ts, struct strbuf *why)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, "ts");
	if (!v)
		return bad(why, "missing field 'ts'");
	if (cJSON_IsString(v)) {
		if (ts_parse(v->valuestring, strlen(v->valuestring), ts) < 0)
			return bad(why, "/ts: invalid RFC 3339 timestamp '%.40s'", v->valuestring);
		return 0;
	}
	if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;
		if (!(d >= 0 && d < 9.2e9))
			return bad(why, "/ts: must be seconds since the epoch, got %g", d);
		*ts = llround(d * 1e9);
		return 0;
	}
	return bad(why, "/ts: must be an RFC 3339 string or seconds since the epoch, got %s",
		   cfg_type_name(v));
}

int sc_sample_parse(const cJSON *rec, struct sc_sample *s, struct strbuf *why)
{
	memset(s, 0, sizeof(*s));
	s->pod_ready = true;
	const char *type = NULL;
	if (!cJSON_IsObject(rec))
		return bad(why, "a sample must be an object");
	if (get_text(rec, "type", false, &type, why) < 0)
		return -1;
	if (type && strcmp(type, "scale.sample") != 0)
		return bad(why, "/type: must be 'scale.sample', got '%.40s'", type);
	if (get_text(rec, "service", true, &s->service, why) < 0 ||
	    get_text(rec, "metric", true, &s->metric, why) < 0 ||
	    get_text(rec, "pod", false, &s->pod, why) < 0 || get_ts(rec, &s->ts, why) < 0)
		return -1;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, "value");
	if (!v)
		return bad(why, "missing field 'value'");
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
		return bad(why, "/value: must be a number, got %s", cfg_type_name(v));
	s->value = v->valuedouble;
	if (s->value < 0)
		return bad(why, "/value: must not be negative, got %g", s->value);
	if (get_count(rec, "replicas", &s->replicas, why) < 0 ||
	    get_count(rec, "ready_replicas", &s->ready_replicas, why) < 0)
		return -1;
	if (s->replicas >= 0 && s->ready_replicas > s->replicas)
		return bad(why, "/ready_replicas: must be at most replicas (%d), got %d",
			   s->replicas, s->ready_replicas);
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(rec, "ready");
	if (r) {
		if (!cJSON_IsBool(r))
			return bad(why, "/ready: must be true or false, got %s", cfg_type_name(r));
		if (!s->pod)
			return bad(why, "/ready: only a per-pod sample (with 'pod') has it");
		s->pod_ready = cJSON_IsTrue(r);
	}
	return 0;
}

double sc_sample_demand(const struct sc_sample *s)
{
	if (s->pod)
		return s->value;
	if (s->ready_replicas >= 0)
		return s->value * s->ready_replicas;
	if (s->replicas >= 0)
		return s->value * s->replicas;
	return s->value;
}
