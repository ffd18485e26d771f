/*
 * nginxlog.c: nginx JSON access log lines into replay.exchange records
 * (fields read: see nginxlog.h). An access log knows the request line,
 * the status, the size and the time of a response but not its headers or
 * body, so the response is written as {"status":N,"bytes":N}.
 */
#include "common.h"
#include <math.h>

#include "nginxlog.h"
#include "sig.h"
#include "timefmt.h"

/* A field as text; NULL when absent, "" or "-". Numbers are formatted. */
static const char *field(const cJSON *o, const char *key, char *buf, size_t bufsz)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (cJSON_IsString(v))
		return *v->valuestring && strcmp(v->valuestring, "-") ? v->valuestring : NULL;
	if (cJSON_IsNumber(v)) {
		snprintf(buf, bufsz, "%.17g", v->valuedouble);
		return buf;
	}
	return NULL;
}

static bool parse_num(const char *s, double *out)
{
	if (!s)
		return false;
	char *end;
	errno = 0;
	double d = strtod(s, &end);
	if (end == s || *end || errno || !isfinite(d) || d < 0)
		return false;
	*out = d;
	return true;
}

static int convert(const cJSON *o, const char *file, size_t lineno, struct exchange *x,
		   struct strbuf *err)
{
	char b1[64], b2[64];
	(void)file;
	x->source = "nginx";
	const char *m = field(o, "request_method", b1, sizeof(b1));
	const char *uri = field(o, "request_uri", b2, sizeof(b2));
	const char *rl = field(o, "request", b1, sizeof(b1));
	if (m && uri) {
		x->method = xstrdup(m);
		struct strbuf p = SB_INIT;
		xch_origin_form(&p, uri, NULL);
		x->path = sb_detach(&p, NULL);
	} else if (rl) {
		const char *sp = strchr(rl, ' ');
		if (!sp || sp == rl) {
			sb_addstr(err, "bad \"request\": expected METHOD TARGET HTTP/x.y");
			return -1;
		}
		x->method = xstrndup(rl, (size_t)(sp - rl));
		const char *t = sp + 1;
		const char *sp2 = strchr(t, ' ');
		char *target = sp2 ? xstrndup(t, (size_t)(sp2 - t)) : xstrdup(t);
		struct strbuf p = SB_INIT;
		xch_origin_form(&p, target, NULL);
		free(target);
		x->path = sb_detach(&p, NULL);
	} else {
		sb_addstr(err, "missing \"request_method\" and \"request_uri\" (or \"request\")");
		return -1;
	}
	if (x->path[0] != '/') {
		sb_addf(err, "bad request_uri '%s': expected a path", x->path);
		return -1;
	}
	double st;
	if (!parse_num(field(o, "status", b1, sizeof(b1)), &st) || st < 100 || st > 999 ||
	    st != floor(st)) {
		sb_addstr(err, "missing or bad \"status\"");
		return -1;
	}
	x->resp.present = true;
	x->resp.status = (int)st;
	double bytes = 0;
	const char *bs = field(o, "body_bytes_sent", b1, sizeof(b1));
	if (bs && !parse_num(bs, &bytes)) {
		sb_addstr(err, "bad \"body_bytes_sent\"");
		return -1;
	}
	x->resp.bytes = (int64_t)bytes;
	double rt = -1;
	const char *rts = field(o, "request_time", b1, sizeof(b1));
	if (rts && !parse_num(rts, &rt)) {
		sb_addstr(err, "bad \"request_time\"");
		return -1;
	}
	if (rt >= 0)
		x->latency_ms = rt * 1000;
	int64_t end_ns;
	const char *ti = field(o, "time_iso8601", b1, sizeof(b1));
	double msec;
	if (ti) {
		if (ts_parse(ti, strlen(ti), &end_ns)) {
			sb_addstr(err, "bad \"time_iso8601\"");
			return -1;
		}
	} else if (parse_num(field(o, "msec", b1, sizeof(b1)), &msec)) {
		end_ns = (int64_t)llround(msec * 1e3) * 1000000;
	} else {
		sb_addstr(err, "missing \"time_iso8601\" or \"msec\"");
		return -1;
	}
	x->ts_ns = end_ns - (rt > 0 ? (int64_t)llround(rt * 1e9) : 0);
	const char *id = field(o, "request_id", b1, sizeof(b1));
	x->id = id ? xstrdup(id) : xasprintf("nginx-%zu", lineno);
	const char *body = field(o, "request_body", b1, sizeof(b1));
	if (body)
		sb_addstr(&x->req.body, body);
	bool have_host = false;
	const cJSON *it;
	cJSON_ArrayForEach(it, o) {
		if (strncmp(it->string, "http_", 5) || !it->string[5])
			continue;
		const char *v = field(o, it->string, b1, sizeof(b1));
		if (!v)
			continue;
		char *name = xstrdup(it->string + 5);
		for (char *p = name; *p; p++)
			if (*p == '_')
				*p = '-';
		have_host |= !strcasecmp(name, "host");
		xch_header_add(&x->req.headers, name, strlen(name), v, strlen(v));
		free(name);
	}
	const char *host = field(o, "host", b1, sizeof(b1));
	if (host && !have_host)
		xch_header_add(&x->req.headers, "host", 4, host, strlen(host));
	return 0;
}

int nginx_import(struct cap_ctx *c, struct cin *in)
{
	const char *line;
	size_t len;
	struct strbuf err = SB_INIT;
	int rc = 0;
	for (;;) {
		if (sig_pending()) {
			rc = 1;
			break;
		}
		int r = cin_line(in, &line, &len);
		if (r < 0) {
			error("cannot read '%s': %s", cin_name(in), cin_error(in));
			rc = -1;
			break;
		}
		if (r == 0)
			break;
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			len--;
		size_t i = 0;
		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i == len)
			continue;
		size_t no = cin_lineno(in);
		cJSON *o = cJSON_ParseWithLength(line, len);
		if (!cJSON_IsObject(o)) {
			cJSON_Delete(o);
			if (cap_reject(c, cin_name(in), no, "%s",
				       o ? "not a JSON object" : "invalid JSON")) {
				rc = 1;
				break;
			}
			continue;
		}
		struct exchange x;
		xch_init(&x);
		sb_reset(&err);
		if (convert(o, cin_name(in), no, &x, &err) == 0) {
			cap_emit(c, &x);
		} else if (cap_reject(c, cin_name(in), no, "%s", err.buf)) {
			rc = 1;
		}
		xch_release(&x);
		cJSON_Delete(o);
		if (rc)
			break;
	}
	sb_release(&err);
	return rc;
}
