/*
 * downstream.c: calls from one shop service to another, with round
 * robin, one retry on connection failure, client spans and trace
 * propagation (see downstream.h).
 */
#include "common.h"

#include <cJSON.h>
#include <curl/curl.h>

#include "downstream.h"
#include "http.h"
#include "timefmt.h"

void shop_call_init(struct shop_call *c, const char *service, const char *method, const char *path)
{
	memset(c, 0, sizeof(*c));
	c->service = service;
	c->method = method;
	c->path = path;
	sb_init(&c->answer, 0);
	sb_init(&c->reason, 0);
}

void shop_call_release(struct shop_call *c)
{
	sb_release(&c->answer);
	sb_release(&c->reason);
	free(c->content_type);
	c->content_type = NULL;
}

/* The "error" member of a JSON error body, else a short piece of the body. */
static void add_body_reason(struct strbuf *sb, const struct strbuf *body)
{
	cJSON *doc = cJSON_ParseWithLength(body->buf, body->len);
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(doc, "error");
	if (cJSON_IsString(e)) {
		sb_addf(sb, ": %s", e->valuestring);
	} else if (body->len) {
		size_t n = body->len;
		while (n && (body->buf[n - 1] == '\n' || body->buf[n - 1] == '\r'))
			n--;
		sb_addf(sb, ": %.*s", (int)(n < 200 ? n : 200), body->buf);
	}
	cJSON_Delete(doc);
}

static bool connect_failed(const struct http_response *resp)
{
	return resp->curl_code == CURLE_COULDNT_CONNECT ||
	       (resp->curl_code == CURLE_OPERATION_TIMEDOUT && strstr(resp->error, "connecting"));
}

/* One attempt on one instance; returns whether it failed to connect. */
static bool attempt(struct shop_req *r, struct shop_call *c, const struct shop_instance *in,
		    struct strbuf *failures)
{
	struct shop_server *srv = r->srv;
	struct tc span;
	tc_new_child(&r->span, &span);

	char tp[TC_TRACEPARENT_BUFSZ];
	struct strbuf h_tp = SB_INIT, h_ts = SB_INIT, h_key = SB_INIT, url = SB_INIT;
	const char *headers[8];
	size_t nh = 0;
	sb_addf(&h_tp, "traceparent: %s", tc_format_traceparent(&span, tp));
	headers[nh++] = h_tp.buf;
	if (span.tracestate && *span.tracestate) {
		sb_addf(&h_ts, "tracestate: %s", span.tracestate);
		headers[nh++] = h_ts.buf;
	}
	if (c->idem_key) {
		sb_addf(&h_key, "Idempotency-Key: %s", c->idem_key);
		headers[nh++] = h_key.buf;
	}
	if (c->body)
		headers[nh++] = "Content-Type: application/json";
	headers[nh++] = "Accept: application/json";
	headers[nh++] = "Expect:";
	headers[nh] = NULL;
	shop_instance_url(in, &url);
	sb_addstr(&url, c->path);

	struct http_request req;
	http_request_init(&req);
	req.method = c->method;
	req.url = url.buf;
	req.headers = headers;
	req.body = c->body;
	req.body_len = c->body_len;
	req.connect_timeout_ms = SHOP_CONNECT_TIMEOUT_MS;
	req.timeout_ms = SHOP_CALL_TIMEOUT_MS;
	req.retry.max_attempts = 1;

	struct http_response resp;
	int64_t start_ns = ts_now_ns(), t0 = mono_ns();
	http_do(&req, &resp);
	double ms = (double)(mono_ns() - t0) / 1e6;

	c->instance = in->id;
	c->status = resp.status;
	sb_reset(&c->answer);
	sb_add(&c->answer, resp.body.buf, resp.body.len);
	free(c->content_type);
	const char *ct = http_response_header(&resp, "Content-Type");
	c->content_type = ct ? xstrdup(ct) : NULL;

	struct strbuf why = SB_INIT;
	if (resp.status == 0) {
		sb_addstr(&why, resp.error);
	} else if (resp.status >= 400) {
		sb_addf(&why, "answered %ld", resp.status);
		add_body_reason(&why, &resp.body);
	}
	char name[128];
	snprintf(name, sizeof(name), "%s %s", c->method, c->path);
	struct shop_span s = {
		.ctx = &span,
		.parent_id = r->span.span_id,
		.name = name,
		.kind = "client",
		.start_ns = start_ns,
		.duration_ms = ms,
		.method = c->method,
		.path = c->path,
		.http_status = (int)resp.status,
		.peer_service = c->service,
		.peer_instance = in->id,
		.error = why.len ? why.buf : NULL,
	};
	shop_tel_span(&srv->tel, &s);
	if (why.len) {
		struct strbuf msg = SB_INIT;
		sb_addf(&msg, "call to %s failed: %s", in->id, why.buf);
		struct jw *w = shop_tel_log_begin(&srv->tel, "error", &span, msg.buf);
		jw_kv_str(w, "peer_service", c->service);
		jw_kv_str(w, "peer_instance", in->id);
		jw_kv_str(w, "http_method", c->method);
		jw_kv_str(w, "http_path", c->path);
		if (resp.status)
			jw_kv_int(w, "http_status", resp.status);
		jw_kv_str(w, "error", why.buf);
		shop_tel_log_end(&srv->tel);
		sb_release(&msg);
	}

	bool refused = connect_failed(&resp);
	if (resp.status == 0)
		sb_addf(failures, "%s%s: %s", failures->len ? "; " : "", in->id, why.buf);
	sb_reset(&c->reason);
	if (resp.status >= 400)
		sb_addf(&c->reason, "%s %s", in->id, why.buf);

	sb_release(&why);
	http_response_release(&resp);
	sb_release(&h_tp);
	sb_release(&h_ts);
	sb_release(&h_key);
	sb_release(&url);
	tc_free(&span);
	return refused;
}

int shop_call_do(struct shop_req *r, struct shop_call *c)
{
	struct shop_server *srv = r->srv;
	struct shop_service *svc = shop_topo_service(&srv->topo, c->service);
	c->status = 0;
	sb_reset(&c->reason);
	if (!svc || svc->ninstances == 0) {
		sb_addf(&c->reason, "no instances of '%s' in the topology", c->service);
		return -1;
	}
	size_t n = svc->ninstances;
	size_t first = srv->rr[svc->index]++ % n;
	size_t tries = n > 1 ? 2 : 1;
	struct strbuf failures = SB_INIT;
	for (size_t i = 0; i < tries; i++) {
		if (!attempt(r, c, &svc->instances[(first + i) % n], &failures))
			break;
	}
	if (c->status == 0) {
		sb_reset(&c->reason);
		sb_addf(&c->reason, "no answer: %s", failures.buf);
	}
	sb_release(&failures);
	return c->status ? 0 : -1;
}
