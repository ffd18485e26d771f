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
#include "route.h"
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

/*
 * The "error" member of a JSON error body; nothing for other JSON (a
 * failing health check's {"status":"fail",...} says no more than its
 * status); a short piece of any other body.
 */
static void add_body_reason(struct strbuf *sb, const struct strbuf *body)
{
	cJSON *doc = cJSON_ParseWithLength(body->buf, body->len);
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(doc, "error");
	if (cJSON_IsString(e)) {
		sb_addf(sb, ": %s", e->valuestring);
	} else if (!doc && body->len) {
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

/* Where one attempt goes, and how it is named. */
struct target {
	const struct shop_instance *in; /* host and port */
	const char *label;		/* in messages and c->instance */
	const char *instance;		/* the span's peer_instance, or NULL */
	const char *address;		/* the span's peer_address, or NULL */
};

/* Write the client span of an attempt and, if it failed, its error log. */
static void trace_attempt(struct shop_req *r, const struct shop_call *c, const struct target *to,
			  const struct tc *span, int64_t start_ns, double ms, long status,
			  const char *why)
{
	struct shop_server *srv = r->srv;
	char name[128];
	snprintf(name, sizeof(name), "%s %s", c->method, c->path);
	struct shop_span s = {
		.ctx = span,
		.parent_id = r->span.span_id,
		.name = name,
		.kind = "client",
		.start_ns = start_ns,
		.duration_ms = ms,
		.method = c->method,
		.path = c->path,
		.http_status = (int)status,
		.peer_service = c->service,
		.peer_instance = to->instance,
		.peer_address = to->address,
		.error = *why ? why : NULL,
	};
	shop_tel_span(&srv->tel, &s);
	if (!*why)
		return;
	struct strbuf msg = SB_INIT;
	sb_addf(&msg, "call to %s failed: %s", to->label, why);
	struct jw *w = shop_tel_log_begin(&srv->tel, "error", span, msg.buf);
	jw_kv_str(w, "peer_service", c->service);
	if (to->instance)
		jw_kv_str(w, "peer_instance", to->instance);
	if (to->address)
		jw_kv_str(w, "peer_address", to->address);
	jw_kv_str(w, "http_method", c->method);
	jw_kv_str(w, "http_path", c->path);
	if (status)
		jw_kv_int(w, "http_status", status);
	jw_kv_str(w, "error", why);
	shop_tel_log_end(&srv->tel);
	sb_release(&msg);
}

/* One attempt at one target; returns whether it failed to connect. */
static bool attempt(struct shop_req *r, struct shop_call *c, const struct target *to,
		    struct strbuf *failures)
{
	struct tc span;
	memset(&span, 0, sizeof(span));
	if (!c->untraced)
		tc_new_child(&r->span, &span);

	char tp[TC_TRACEPARENT_BUFSZ];
	struct strbuf h_tp = SB_INIT, h_ts = SB_INIT, h_key = SB_INIT, url = SB_INIT;
	const char *headers[8];
	size_t nh = 0;
	if (!c->untraced) {
		sb_addf(&h_tp, "traceparent: %s", tc_format_traceparent(&span, tp));
		headers[nh++] = h_tp.buf;
	}
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
	shop_instance_url(to->in, &url);
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

	c->instance = to->label;
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
	if (!c->untraced)
		trace_attempt(r, c, to, &span, start_ns, ms, resp.status, why.buf);

	bool refused = connect_failed(&resp);
	if (resp.status == 0)
		sb_addf(failures, "%s%s: %s", failures->len ? "; " : "", to->label, why.buf);
	sb_reset(&c->reason);
	if (resp.status >= 400)
		sb_addf(&c->reason, "%s %s", to->label, why.buf);

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
	const struct shop_route *route = svc ? shop_routes_get(&srv->routes, svc) : NULL;
	if (!route && (!svc || svc->ninstances == 0)) {
		sb_addf(&c->reason, "no instances of '%s' in the topology", c->service);
		return -1;
	}
	struct strbuf failures = SB_INIT;
	if (route) {
		struct target to = { &route->target, route->label, NULL, route->addr };
		attempt(r, c, &to, &failures);
	} else {
		size_t n = svc->ninstances;
		size_t first = srv->rr[svc->index]++ % n;
		size_t tries = n > 1 ? 2 : 1;
		for (size_t i = 0; i < tries; i++) {
			const struct shop_instance *in = &svc->instances[(first + i) % n];
			struct target to = { in, in->id, in->id, NULL };
			if (!attempt(r, c, &to, &failures))
				break;
		}
	}
	if (c->status == 0) {
		sb_reset(&c->reason);
		sb_addf(&c->reason, "no answer: %s", failures.buf);
	}
	sb_release(&failures);
	return c->status ? 0 : -1;
}
