/*
 * play_exchange.c: reading one replay.exchange record for play (play.h).
 *
 * The record's shape is fixed (ofs-replay(1)): the request is read by
 * reqrec.h (request.method and request.path required, bodies as "body"
 * text or "body_base64" bytes, exactly as ofs-split send reads them),
 * "response" may be missing (nothing to compare: the exchange is only
 * replayed) or hold only a status (nginx logs: only the status is
 * compared). Unknown fields, GoReplay's "replayed" object among them, are
 * ignored.
 */
#include "common.h"

#include "alloc.h"
#include "noise.h"
#include "play.h"
#include "reqrec.h"
#include "timefmt.h"

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
	struct reqrec rr;
	if (reqrec_parse(&rr, req, "/request", err) < 0)
		return -1;
	const cJSON *ts = cJSON_GetObjectItemCaseSensitive(rec, "ts");
	if (ts) {
		if (!cJSON_IsString(ts) ||
		    ts_parse(ts->valuestring, strlen(ts->valuestring), &x->ts_ns) < 0) {
			reqrec_release(&rr);
			sb_addstr(err, "/ts: not an RFC 3339 time");
			return -1;
		}
		x->has_ts = true;
	}
	/* The request's parts move into x. */
	x->method = rr.method;
	x->path = rr.path;
	x->req_headers = rr.headers;
	x->req_body = rr.body;
	sb_init(&x->resp_body, 0);
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
		if (reqrec_headers(resp, "/response", &x->resp_headers, err) < 0 ||
		    (got = reqrec_body(resp, "/response", &x->resp_body, err)) < 0)
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
	struct strbuf ep = SB_INIT;
	noise_endpoint(&ep, x->method, x->path);
	x->endpoint = sb_detach(&ep, NULL);
	x->rec = rec;
	return 0;
fail:
	free((char *)x->method);
	x->method = NULL;
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
