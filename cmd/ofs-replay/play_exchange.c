/*
 * play_exchange.c: reading one replay.exchange record for play (play.h).
 *
 * The record's shape is fixed (ofs-replay(1)): request.method and
 * request.path are required, bodies come as "body" (text) or
 * "body_base64" (bytes), "response" may be missing (nothing to compare:
 * the exchange is only replayed) or hold only a status (nginx logs: only
 * the status is compared). Unknown fields, GoReplay's "replayed" object
 * among them, are ignored.
 */
#include "common.h"

#include <ctype.h>

#include "alloc.h"
#include "base64.h"
#include "noise.h"
#include "play.h"
#include "timefmt.h"

/* A body: "body" text or "body_base64" bytes into sb; 1 if there was
 * one, 0 if neither, -1 (err filled) if invalid. */
static int get_body(const cJSON *o, const char *what, struct strbuf *sb, struct strbuf *err)
{
	const cJSON *b = cJSON_GetObjectItemCaseSensitive(o, "body");
	const cJSON *b64 = cJSON_GetObjectItemCaseSensitive(o, "body_base64");
	if (b && !cJSON_IsNull(b)) {
		if (!cJSON_IsString(b)) {
			sb_addf(err, "/%s/body: must be a string", what);
			return -1;
		}
		sb_addstr(sb, b->valuestring);
		return 1;
	}
	if (b64 && !cJSON_IsNull(b64)) {
		if (!cJSON_IsString(b64) ||
		    b64_decode(sb, b64->valuestring, strlen(b64->valuestring)) < 0) {
			sb_addf(err, "/%s/body_base64: must be a base64 string", what);
			return -1;
		}
		return 1;
	}
	return 0;
}

static int get_headers(const cJSON *o, const char *what, const cJSON **out, struct strbuf *err)
{
	const cJSON *h = cJSON_GetObjectItemCaseSensitive(o, "headers");
	*out = NULL;
	if (!h || cJSON_IsNull(h))
		return 0;
	if (!cJSON_IsObject(h)) {
		sb_addf(err, "/%s/headers: must be an object", what);
		return -1;
	}
	const cJSON *v;
	cJSON_ArrayForEach(v, h) {
		if (!cJSON_IsString(v)) {
			sb_addf(err, "/%s/headers/%s: must be a string", what, v->string);
			return -1;
		}
	}
	*out = h;
	return 0;
}

int play_xch_parse(struct play_xch *x, cJSON *rec, const char *where, struct strbuf *err)
{
	memset(x, 0, sizeof(*x));
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(rec, "type");
	if (!cJSON_IsString(type)) {
		sb_addstr(err, "/type: missing, want \"replay.exchange\"");
		return -1;
	}
	if (strcmp(type->valuestring, "replay.exchange")) {
		if (!strncmp(type->valuestring, "replay.", 7))
			return 1;
		sb_addf(err, "/type: not a replay.exchange record: '%s'", type->valuestring);
		return -1;
	}
	const cJSON *req = cJSON_GetObjectItemCaseSensitive(rec, "request");
	if (!cJSON_IsObject(req)) {
		sb_addstr(err, "/request: missing or not an object");
		return -1;
	}
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(req, "method");
	if (!cJSON_IsString(m) || !*m->valuestring || strlen(m->valuestring) > 32) {
		sb_addstr(err, "/request/method: missing or not a method name");
		return -1;
	}
	for (const char *p = m->valuestring; *p; p++)
		if (!isalpha((unsigned char)*p)) {
			sb_addf(err, "/request/method: invalid method '%s'", m->valuestring);
			return -1;
		}
	const cJSON *path = cJSON_GetObjectItemCaseSensitive(req, "path");
	if (!cJSON_IsString(path) || path->valuestring[0] != '/') {
		sb_addstr(err, "/request/path: missing or not starting with '/'");
		return -1;
	}
	for (const char *p = path->valuestring; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f) {
			sb_addstr(err, "/request/path: contains a blank or control character");
			return -1;
		}
	const cJSON *ts = cJSON_GetObjectItemCaseSensitive(rec, "ts");
	if (ts) {
		if (!cJSON_IsString(ts) ||
		    ts_parse(ts->valuestring, strlen(ts->valuestring), &x->ts_ns) < 0) {
			sb_addstr(err, "/ts: not an RFC 3339 time");
			return -1;
		}
		x->has_ts = true;
	}
	sb_init(&x->req_body, 0);
	sb_init(&x->resp_body, 0);
	if (get_headers(req, "request", &x->req_headers, err) < 0 ||
	    get_body(req, "request", &x->req_body, err) < 0)
		goto fail;
	const cJSON *resp = cJSON_GetObjectItemCaseSensitive(rec, "response");
	if (resp && !cJSON_IsNull(resp)) {
		if (!cJSON_IsObject(resp)) {
			sb_addstr(err, "/response: must be an object");
			goto fail;
		}
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(resp, "status");
		if (!cJSON_IsNumber(st) || st->valuedouble < 100 || st->valuedouble > 599 ||
		    st->valuedouble != (double)(long)st->valuedouble) {
			sb_addstr(err, "/response/status: missing or not an HTTP status 100..599");
			goto fail;
		}
		x->status = (long)st->valuedouble;
		x->has_resp = true;
		int got;
		if (get_headers(resp, "response", &x->resp_headers, err) < 0 ||
		    (got = get_body(resp, "response", &x->resp_body, err)) < 0)
			goto fail;
		x->status_only = got == 0;
	}
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(rec, "id");
	if (cJSON_IsString(id)) {
		x->id = xstrdup(id->valuestring);
	} else if (cJSON_IsNumber(id)) {
		char *t = cJSON_PrintUnformatted(id);
		if (!t)
			die("out of memory");
		x->id = xstrdup(t);
		cJSON_free(t);
	} else {
		x->id = xstrdup(where);
	}
	char *meth = xstrdup(m->valuestring);
	for (char *p = meth; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	x->method = meth;
	x->path = path->valuestring;
	struct strbuf ep = SB_INIT;
	noise_endpoint(&ep, x->method, x->path);
	x->endpoint = sb_detach(&ep, NULL);
	x->rec = rec;
	return 0;
fail:
	sb_release(&x->req_body);
	sb_release(&x->resp_body);
	return -1;
}

void play_xch_free(struct play_xch *x)
{
	if (!x)
		return;
	cJSON_Delete(x->rec);
	free(x->id);
	free((char *)x->method);
	free(x->sent_path);
	free(x->endpoint);
	sb_release(&x->req_body);
	sb_release(&x->resp_body);
	http_response_release(&x->resp[0]);
	http_response_release(&x->resp[1]);
	free(x);
}
