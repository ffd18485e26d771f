/*
 * har.c: HAR 1.2 into replay.exchange records (fields read: see har.h).
 * HAR is one JSON document, so it is read whole and parsed with cJSON;
 * entries are converted and written one by one.
 */
#include "common.h"

#include "base64.h"
#include "har.h"
#include "jget.h"
#include "sig.h"
#include "timefmt.h"

/* A HAR text into body: decoded when enc is "base64", else as is; -1 if
 * the base64 is bad. */
static int add_text(struct strbuf *body, const char *text, const char *enc)
{
	if (enc && !strcmp(enc, "base64"))
		return b64_decode(body, text, strlen(text));
	sb_addstr(body, text);
	return 0;
}

static int headers_of(const cJSON *msg, const char *where, struct xch_headers *h, bool resp,
		      struct strbuf *err)
{
	const cJSON *hs = cJSON_GetObjectItemCaseSensitive(msg, "headers");
	if (!hs)
		return 0;
	if (!cJSON_IsArray(hs)) {
		sb_addf(err, "/%s/headers: must be an array", where);
		return -1;
	}
	int i = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, hs) {
		const char *n = jget_str(it, "name"), *v = jget_str(it, "value");
		if (!n || !v || !*n) {
			sb_addf(err, "/%s/headers/%d: must have string name and value", where, i);
			return -1;
		}
		i++;
		if (n[0] == ':')
			continue;
		if (resp && (!strcasecmp(n, "content-encoding") || !strcasecmp(n, "content-length")))
			continue;
		xch_header_add(h, n, strlen(n), v, strlen(v));
	}
	return 0;
}

int har_convert_entry(const cJSON *e, size_t index, struct exchange *x, struct strbuf *err)
{
	x->source = "har";
	x->id = xasprintf("har-%zu", index);
	if (!cJSON_IsObject(e)) {
		sb_addstr(err, ": must be an object");
		return -1;
	}
	const char *ts = jget_str(e, "startedDateTime");
	if (!ts || ts_parse(ts, strlen(ts), &x->ts_ns)) {
		sb_addstr(err, "/startedDateTime: must be an ISO 8601 date-time");
		return -1;
	}
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(e, "time");
	if (cJSON_IsNumber(t) && t->valuedouble >= 0)
		x->latency_ms = t->valuedouble;
	const cJSON *rq = cJSON_GetObjectItemCaseSensitive(e, "request");
	if (!cJSON_IsObject(rq)) {
		sb_addstr(err, "/request: must be an object");
		return -1;
	}
	const char *m = jget_str(rq, "method"), *url = jget_str(rq, "url");
	if (!m || !*m) {
		sb_addstr(err, "/request/method: must be a non-empty string");
		return -1;
	}
	if (!url || (strncasecmp(url, "http://", 7) && strncasecmp(url, "https://", 8) &&
		     url[0] != '/')) {
		sb_addstr(err, "/request/url: must be an http or https URL");
		return -1;
	}
	x->method = xstrdup(m);
	struct strbuf path = SB_INIT, host = SB_INIT;
	xch_origin_form(&path, url, &host);
	x->path = sb_detach(&path, NULL);
	if (headers_of(rq, "request", &x->req.headers, false, err)) {
		sb_release(&host);
		return -1;
	}
	if (host.len && !xch_header_get(&x->req.headers, "host"))
		xch_header_add(&x->req.headers, "host", 4, host.buf, host.len);
	sb_release(&host);
	const cJSON *pd = cJSON_GetObjectItemCaseSensitive(rq, "postData");
	if (pd) {
		const char *text = jget_str(pd, "text");
		const char *enc = jget_str(pd, "encoding");
		if (text && add_text(&x->req.body, text, enc)) {
			sb_addstr(err, "/request/postData/text: bad base64");
			return -1;
		}
	}
	const cJSON *rs = cJSON_GetObjectItemCaseSensitive(e, "response");
	if (!rs)
		return 0;
	if (!cJSON_IsObject(rs)) {
		sb_addstr(err, "/response: must be an object");
		return -1;
	}
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(rs, "status");
	if (!cJSON_IsNumber(st) || st->valuedouble < 0 || st->valuedouble > 999) {
		sb_addstr(err, "/response/status: must be a number 0..999");
		return -1;
	}
	if (st->valuedouble == 0)
		return 0; /* the browser got no response */
	x->resp.present = true;
	x->resp.status = (int)st->valuedouble;
	if (headers_of(rs, "response", &x->resp.headers, true, err))
		return -1;
	const cJSON *ct = cJSON_GetObjectItemCaseSensitive(rs, "content");
	const char *text = ct ? jget_str(ct, "text") : NULL;
	const char *enc = ct ? jget_str(ct, "encoding") : NULL;
	if (text && add_text(&x->resp.body, text, enc)) {
		sb_addstr(err, "/response/content/text: bad base64");
		return -1;
	}
	return 0;
}

/* The line of a position in text, for a syntax error. */
static size_t line_at(const char *text, const char *pos)
{
	size_t line = 1;
	for (const char *p = text; p < pos; p++)
		line += *p == '\n';
	return line;
}

int har_import(struct cap_ctx *c, struct cin *in)
{
	struct strbuf doc = SB_INIT;
	const char *line;
	size_t len;
	int r;
	while ((r = cin_line(in, &line, &len)) > 0)
		sb_add(&doc, line, len);
	if (r < 0) {
		error("cannot read '%s': %s", cin_name(in), cin_error(in));
		sb_release(&doc);
		return -1;
	}
	if (sig_pending()) {
		sb_release(&doc);
		return 1;
	}
	size_t blank = 0;
	while (blank < doc.len && strchr(" \t\r\n", doc.buf[blank]))
		blank++;
	if (blank == doc.len) {
		sb_release(&doc);
		return 0; /* empty input: nothing to import */
	}
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(doc.buf, doc.len, &end, false);
	if (!root) {
		size_t at = end ? line_at(doc.buf, end) : 1;
		sb_release(&doc);
		return cap_reject(c, cin_name(in), at, "not a HAR file: invalid JSON") ? 1 : 0;
	}
	sb_release(&doc);
	const cJSON *log = cJSON_GetObjectItemCaseSensitive(root, "log");
	const cJSON *entries = cJSON_GetObjectItemCaseSensitive(log, "entries");
	int rc = 0;
	if (!cJSON_IsArray(entries)) {
		rc = cap_reject(c, cin_name(in), 0, "/log/entries: missing, not a HAR file") ? 1 : 0;
		cJSON_Delete(root);
		return rc;
	}
	size_t i = 0;
	const cJSON *e;
	struct strbuf err = SB_INIT;
	cJSON_ArrayForEach(e, entries) {
		struct exchange x;
		xch_init(&x);
		sb_reset(&err);
		if (har_convert_entry(e, i, &x, &err) == 0) {
			cap_emit(c, &x);
		} else if (cap_reject(c, cin_name(in), 0, "/log/entries/%zu%s", i, err.buf)) {
			xch_release(&x);
			rc = 1;
			break;
		}
		xch_release(&x);
		i++;
	}
	sb_release(&err);
	cJSON_Delete(root);
	return rc;
}
