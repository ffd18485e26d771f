/*
 * httpnum.c: a number out of an HTTP JSON answer (see httpnum.h). It is
 * shared by ofs-deploy's http metric provider (and its command provider,
 * which reads a hook's output the same way) and ofs-scale's polled
 * sources, so that both read Prometheus answers, "NaN" and empty results
 * by the same rules and report failures in the same words.
 */
#include "common.h"

#include <math.h>

#include "http.h"
#include "httpnum.h"
#include "units.h"

bool hn_blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return false;
	return true;
}

int hn_node(const cJSON *n, const char *where, double *v, struct strbuf *err)
{
	if (cJSON_IsNumber(n)) {
		*v = n->valuedouble;
		return 1;
	}
	if (cJSON_IsNull(n) || ((cJSON_IsArray(n) || cJSON_IsObject(n)) && !n->child))
		return 0;
	if (cJSON_IsString(n)) {
		const char *s = n->valuestring;
		if (!strcasecmp(s, "nan"))
			return 0; /* Prometheus: 0/0, no traffic */
		if (num_parse_double(s, v, NULL) == 0)
			return 1;
		sb_addf(err, "%s is \"%.40s\", not a number", where, s);
		return -1;
	}
	sb_addf(err, "%s is %s, not a number", where,
		cJSON_IsArray(n) ? "an array" : cJSON_IsObject(n) ? "an object" : "a boolean");
	return -1;
}

/* The first match of jp in doc as a measurement. */
static int match_value(const cJSON *doc, const struct jp *jp, const char *path,
		       const char *what, double *v, struct strbuf *err)
{
	struct jp_matches m = { 0 };
	struct strbuf where = SB_INIT;
	int rc;

	sb_addf(&where, "the value at '%s' in %s", path ? path : "$", what);
	if (jp_eval(jp, doc, &m, err) < 0)
		rc = -1;
	else
		rc = m.n ? hn_node(m.v[0], where.buf, v, err) : 0;
	sb_release(&where);
	jp_matches_release(&m);
	return rc;
}

int hn_text(const char *text, size_t len, const struct jp *jp, const char *path,
	    const char *what, double *v, struct strbuf *err)
{
	if (hn_blank(text, len))
		return 0;
	cJSON *doc = strlen(text) == len ? cJSON_ParseWithOpts(text, NULL, 1) : NULL;
	if (!doc) {
		sb_addf(err, "%s is not JSON", what);
		return -1;
	}
	int rc = jp ? match_value(doc, jp, path, what, v, err) : hn_node(doc, what, v, err);
	cJSON_Delete(doc);
	if (rc == 1 && !isfinite(*v)) {
		sb_addf(err, "%s is not a finite number", what);
		rc = -1;
	}
	return rc;
}

int hn_fetch(const char *url, long timeout_ms, struct strbuf *body, struct strbuf *err)
{
	struct http_request req = HTTP_REQUEST_INIT;
	struct http_response resp;
	static const char *const headers[] = { "Accept: application/json", NULL };
	int rc = -1;

	req.url = url;
	req.headers = headers;
	if (timeout_ms > 0)
		req.timeout_ms = timeout_ms;
	if (req.connect_timeout_ms > req.timeout_ms)
		req.connect_timeout_ms = req.timeout_ms;
	http_response_init(&resp);
	if (http_do(&req, &resp) < 0) {
		sb_addf(err, "cannot get '%s': %s", url, resp.error);
	} else if (resp.status < 200 || resp.status > 299) {
		sb_addf(err, "http %ld from '%s'", resp.status, url);
	} else if (resp.truncated) {
		sb_addf(err, "the response from '%s' is over %d bytes", url, HTTP_DEFAULT_MAX_BODY);
	} else {
		sb_add(body, resp.body.buf, resp.body.len);
		rc = 0;
	}
	http_response_release(&resp);
	return rc;
}

int hn_get(const char *url, const struct jp *jp, const char *path, long timeout_ms, double *v,
	   struct strbuf *err)
{
	struct strbuf body = SB_INIT, what = SB_INIT;
	int rc = -1;

	if (hn_fetch(url, timeout_ms, &body, err) == 0) {
		sb_addf(&what, "the response from '%s'", url);
		rc = hn_text(body.buf, body.len, jp, path, what.buf, v, err);
	}
	sb_release(&what);
	sb_release(&body);
	return rc;
}
