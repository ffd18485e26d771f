/*
 * serve.c: `shopd serve`, one shop instance in the foreground: the HTTP
 * server, the health and admin endpoints, the fault switches, and the
 * span, log and traceresponse of every business request (see server.h).
 *
 * Tracing: a valid incoming traceparent makes the request's server span
 * its child; an absent or invalid one starts a new trace (W3C: never
 * guess). The answer carries `traceresponse: 00-TRACE-SPAN-FLAGS` naming
 * the server span, so a caller can find its trace. /health and the
 * admin endpoints are not traced: probes every second would bury the
 * traces that matter. The deep health check (GET /health?deep=1) is a
 * health check too: its calls to the dependencies' /health write no
 * spans and send no traceparent, and an incoming traceparent is ignored.
 *
 * The span of a request is written before its answer is sent, so once a
 * client has the answer every span of the request is on disk. A delay
 * from the latency fault is known in advance and counted in the span's
 * duration; a hung request's span is written when its connection ends.
 *
 * An instance is one of the topology's (--instance ID) or a standalone
 * one (--service SVC --port PORT [--id ID]), which a deploy tool starts
 * beside the topology's: it takes its dependencies, check and store
 * from SVC's entry but is not listed there, so nothing calls it unless
 * a proxy sends it traffic. Every answer carries `Shop-Version: V` and
 * /health reports "version" (--version, default v1), so a test can tell
 * which revision served a request; --fault sets fault switches from the
 * first request on, exactly as POST /admin/fault would.
 */
#include "common.h"

#include "config.h"
#include "downstream.h"
#include "instance.h"
#include "opt.h"
#include "roles.h"
#include "server.h"
#include "shopd.h"
#include "sig.h"
#include "store.h"
#include "timefmt.h"
#include "units.h"

struct shop_hung {
	char *peer;
	struct tc span;
	bool has_parent;
	uint8_t parent_id[8];
	int64_t start_ns, start_mono_ns;
	char *method, *path;
};

/* ---- answers ------------------------------------------------------------ */

/* Add "Content-Type: application/json" unless the answer has a type. */
static void json_type(struct httpd_response *resp)
{
	const char *h = resp->headers.buf;
	for (;;) {
		if (!strncasecmp(h, "Content-Type:", 13))
			return;
		h = strstr(h, "\r\n");
		if (!h || !h[2])
			break;
		h += 2;
	}
	httpd_response_header(resp, "Content-Type", "application/json");
}

void shop_reply(struct shop_req *r, int status, const char *json)
{
	struct httpd_response *resp = r->resp;
	resp->status = status;
	sb_reset(&resp->body);
	sb_addstr(&resp->body, json);
	if (!resp->body.len || resp->body.buf[resp->body.len - 1] != '\n')
		sb_addch(&resp->body, '\n');
	json_type(resp);
}

void shop_req_error(struct shop_req *r, const char *message)
{
	sb_reset(&r->error);
	sb_addstr(&r->error, message);
}

void shop_reply_error(struct shop_req *r, int status, const char *message)
{
	struct strbuf sb = SB_INIT;
	struct jw w;
	jw_init(&w, &sb);
	jw_obj_begin(&w);
	jw_kv_str(&w, "error", message);
	jw_obj_end(&w);
	shop_reply(r, status, sb.buf);
	sb_release(&sb);
	shop_req_error(r, message);
}

void shop_req_field(struct shop_req *r, const char *key, const char *value)
{
	if (r->nfields >= SHOP_REQ_MAX_FIELDS)
		die("too many log fields in one request");
	r->field_keys[r->nfields] = key;
	r->field_vals[r->nfields++] = xstrdup(value);
}

/* Answer a request outside a business context (health, admin). */
static void plain_json(struct httpd_response *resp, int status, struct strbuf *json)
{
	resp->status = status;
	sb_reset(&resp->body);
	sb_add(&resp->body, json->buf, json->len);
	sb_addch(&resp->body, '\n');
	json_type(resp);
}

static void plain_error(struct httpd_response *resp, int status, const char *message)
{
	struct strbuf sb = SB_INIT;
	struct jw w;
	jw_init(&w, &sb);
	jw_obj_begin(&w);
	jw_kv_str(&w, "error", message);
	jw_obj_end(&w);
	plain_json(resp, status, &sb);
	sb_release(&sb);
}

/* ---- /health ------------------------------------------------------------ */

static int fault_delay(const struct shop_server *srv)
{
	return srv->fault.latency_ms;
}

/* What one dependency's health check got. */
struct dep_health {
	long status;	    /* 0: no answer */
	int64_t latency_us; /* the whole call, retry included */
	struct strbuf why;  /* empty when healthy */
};

/*
 * Call GET /health of each of srv's dependencies in turn, through the
 * ordinary downstream path (routes, round robin, the retry, timeouts),
 * and write the answer to w: "status", "service", "instance", an "error"
 * naming each failed dependency, and "dependencies". Returns the status
 * to answer: 200 when every dependency answered 2xx, else 503.
 */
static int check_dependencies(struct shop_server *srv, struct httpd_request *http,
			      struct httpd_response *resp, struct jw *w)
{
	const struct shop_service *self = srv->service;
	struct dep_health *dh = xcalloc(self->ndeps, sizeof(*dh));
	struct shop_req r;
	memset(&r, 0, sizeof(r));
	r.srv = srv;
	r.http = http;
	r.resp = resp;
	struct strbuf error = SB_INIT;
	for (size_t i = 0; i < self->ndeps; i++) {
		struct shop_call c;
		shop_call_init(&c, self->depends_on[i], "GET", "/health");
		c.untraced = true;
		sb_init(&dh[i].why, 0);
		int64_t t0 = mono_ns();
		shop_call_do(&r, &c);
		dh[i].latency_us = (mono_ns() - t0 + 500) / 1000;
		dh[i].status = c.status;
		if (c.status < 200 || c.status > 299) {
			sb_addstr(&dh[i].why, c.reason.buf);
			sb_addf(&error, "%s%s failed: %s", error.len ? "; " : "",
				self->depends_on[i], c.reason.buf);
		}
		shop_call_release(&c);
	}
	jw_obj_begin(w);
	jw_kv_str(w, "status", error.len ? "fail" : "ok");
	jw_kv_str(w, "service", self->name);
	jw_kv_str(w, "instance", srv->instance->id);
	jw_kv_str(w, "version", srv->version);
	if (error.len)
		jw_kv_str(w, "error", error.buf);
	jw_key(w, "dependencies");
	jw_obj_begin(w);
	for (size_t i = 0; i < self->ndeps; i++) {
		jw_key(w, self->depends_on[i]);
		jw_obj_begin(w);
		jw_key(w, "status");
		if (dh[i].status)
			jw_int(w, dh[i].status);
		else
			jw_null(w);
		jw_kv_double(w, "latency_ms", (double)dh[i].latency_us / 1000.0);
		if (dh[i].why.len)
			jw_kv_str(w, "reason", dh[i].why.buf);
		jw_obj_end(w);
		sb_release(&dh[i].why);
	}
	jw_obj_end(w);
	jw_obj_end(w);
	int status = error.len ? 503 : 200;
	sb_release(&error);
	free(dh);
	return status;
}

/* Whether the query asks for the deep check; -1 after answering 400. */
static int want_deep(struct httpd_request *http, struct httpd_response *resp)
{
	struct strbuf v = SB_INIT;
	int got = httpd_query_get(http->query, "deep", &v);
	int deep = 0;
	if (got < 0) {
		plain_error(resp, 400, "malformed query string");
		deep = -1;
	} else if (got > 0) {
		if (!strcmp(v.buf, "1") || !strcmp(v.buf, "true")) {
			deep = 1;
		} else if (strcmp(v.buf, "0") && strcmp(v.buf, "false")) {
			struct strbuf msg = SB_INIT;
			sb_addf(&msg, "deep must be 0 or 1, got '%s'", v.buf);
			plain_error(resp, 400, msg.buf);
			sb_release(&msg);
			deep = -1;
		}
	}
	sb_release(&v);
	return deep;
}

static void health(struct shop_server *srv, struct httpd_request *http, struct httpd_response *resp)
{
	if (strcmp(http->method, "GET") && strcmp(http->method, "HEAD")) {
		plain_error(resp, 405, "method not allowed");
		httpd_response_header(resp, "Allow", "GET, HEAD");
		return;
	}
	int deep = want_deep(http, resp);
	if (deep < 0)
		return;
	if (srv->fault.hang) {
		resp->hang = true;
		return;
	}
	struct strbuf sb = SB_INIT;
	struct jw w;
	jw_init(&w, &sb);
	int status;
	if (deep && !srv->fault.health_fail && srv->service->ndeps) {
		status = check_dependencies(srv, http, resp, &w);
	} else {
		jw_obj_begin(&w);
		jw_kv_str(&w, "status", srv->fault.health_fail ? "fail" : "ok");
		jw_kv_str(&w, "service", srv->service->name);
		jw_kv_str(&w, "instance", srv->instance->id);
		jw_kv_str(&w, "version", srv->version);
		jw_obj_end(&w);
		status = srv->fault.health_fail ? 503 : 200;
	}
	plain_json(resp, status, &sb);
	sb_release(&sb);
	resp->delay_ms = fault_delay(srv);
	httpd_response_header(resp, "Cache-Control", "no-store");
}

/* ---- admin endpoints ------------------------------------------------------ */

static void show_fault(struct shop_server *srv, struct httpd_response *resp)
{
	struct strbuf sb = SB_INIT;
	struct jw w;
	jw_init(&w, &sb);
	shop_fault_write(&srv->fault, &w);
	plain_json(resp, 200, &sb);
	sb_release(&sb);
}

static void log_fault_change(struct shop_server *srv, const char *msg)
{
	struct jw *w = shop_tel_log_begin(&srv->tel, "warn", NULL, msg);
	jw_key(w, "fault");
	shop_fault_write(&srv->fault, w);
	shop_tel_log_end(&srv->tel);
}

static void admin_fault(struct shop_server *srv, struct httpd_request *http,
			struct httpd_response *resp)
{
	if (!strcmp(http->method, "GET")) {
		show_fault(srv, resp);
	} else if (!strcmp(http->method, "DELETE")) {
		shop_fault_clear(&srv->fault);
		log_fault_change(srv, "fault switches cleared");
		show_fault(srv, resp);
	} else if (!strcmp(http->method, "POST")) {
		struct strbuf err = SB_INIT;
		if (shop_fault_apply(&srv->fault, http->body.buf, http->body.len, &err) < 0) {
			plain_error(resp, 400, err.buf);
		} else {
			log_fault_change(srv, "fault switches set");
			show_fault(srv, resp);
			if (srv->fault.exit_code >= 0 && !srv->exit_peer) {
				srv->exit_code = srv->fault.exit_code;
				srv->exit_peer = xstrdup(http->peer ? http->peer : "");
				resp->close = true;
			}
		}
		sb_release(&err);
	} else {
		plain_error(resp, 405, "method not allowed");
		httpd_response_header(resp, "Allow", "GET, POST, DELETE");
	}
}

static void show_routes(struct shop_server *srv, struct httpd_response *resp)
{
	struct strbuf sb = SB_INIT;
	struct jw w;
	jw_init(&w, &sb);
	shop_routes_write(&srv->routes, &w);
	plain_json(resp, 200, &sb);
	sb_release(&sb);
}

static void log_route_change(struct shop_server *srv, const char *msg)
{
	struct jw *w = shop_tel_log_begin(&srv->tel, "warn", NULL, msg);
	jw_key(w, "routes");
	shop_routes_write(&srv->routes, w);
	shop_tel_log_end(&srv->tel);
}

static void admin_route(struct shop_server *srv, struct httpd_request *http,
			struct httpd_response *resp)
{
	struct strbuf err = SB_INIT, service = SB_INIT, msg = SB_INIT;
	if (!strcmp(http->method, "GET")) {
		show_routes(srv, resp);
	} else if (!strcmp(http->method, "DELETE")) {
		int got = httpd_query_get(http->query, "service", &service);
		if (got < 0) {
			plain_error(resp, 400, "malformed query string");
		} else if (shop_routes_clear(&srv->routes, got ? service.buf : NULL, &err) < 0) {
			plain_error(resp, 400, err.buf);
		} else {
			if (got)
				sb_addf(&msg, "route of %s cleared", service.buf);
			log_route_change(srv, got ? msg.buf : "routes cleared");
			show_routes(srv, resp);
		}
	} else if (!strcmp(http->method, "POST")) {
		if (shop_routes_apply(&srv->routes, http->body.buf, http->body.len, &err) < 0) {
			plain_error(resp, 400, err.buf);
		} else {
			log_route_change(srv, "routes set");
			show_routes(srv, resp);
		}
	} else {
		plain_error(resp, 405, "method not allowed");
		httpd_response_header(resp, "Allow", "GET, POST, DELETE");
	}
	sb_release(&err);
	sb_release(&service);
	sb_release(&msg);
}

/* One key's counters: {"key","count","applied","route"}. */
static void write_idem(struct jw *w, const struct shop_store_entry *e)
{
	jw_obj_begin(w);
	jw_kv_str(w, "key", e->key);
	jw_kv_int(w, "count", e->count);
	jw_kv_int(w, "applied", e->applied);
	jw_key(w, "route");
	jw_str(w, e->route); /* NULL: null */
	jw_obj_end(w);
}

/* GET /admin/idempotency?key=K: one key; without key, every key of the
 * service's store, sorted. */
static void admin_idempotency(struct shop_server *srv, struct httpd_request *http,
			      struct httpd_response *resp)
{
	if (strcmp(http->method, "GET")) {
		plain_error(resp, 405, "method not allowed");
		httpd_response_header(resp, "Allow", "GET");
		return;
	}
	struct strbuf key = SB_INIT, err = SB_INIT, sb = SB_INIT;
	struct jw w;
	jw_init(&w, &sb);
	int got = httpd_query_get(http->query, "key", &key);
	if (got < 0 || (got > 0 && !shop_idem_key_valid(key.buf))) {
		plain_error(resp, 400,
			    got < 0 ? "malformed query string"
				    : "give the key as ?key=K (1 to 255 visible ASCII "
				      "characters)");
	} else if (got > 0) {
		struct shop_store_entry e;
		if (shop_store_read(srv->store, key.buf, &e, &err) < 0) {
			plain_error(resp, 500, err.buf);
		} else {
			write_idem(&w, &e);
			plain_json(resp, 200, &sb);
		}
		shop_store_unlock(&e);
	} else {
		struct shop_store_entry *v;
		size_t n;
		if (shop_store_list(srv->store, &v, &n, &err) < 0) {
			plain_error(resp, 500, err.buf);
		} else {
			jw_obj_begin(&w);
			jw_key(&w, "keys");
			jw_arr_begin(&w);
			for (size_t i = 0; i < n; i++)
				write_idem(&w, &v[i]);
			jw_arr_end(&w);
			jw_obj_end(&w);
			plain_json(resp, 200, &sb);
			shop_store_list_free(v, n);
		}
	}
	sb_release(&key);
	sb_release(&err);
	sb_release(&sb);
}

static void admin(struct shop_server *srv, struct httpd_request *http, struct httpd_response *resp)
{
	if (!strcmp(http->path, "/admin/fault"))
		admin_fault(srv, http, resp);
	else if (!strcmp(http->path, "/admin/route"))
		admin_route(srv, http, resp);
	else if (!strcmp(http->path, "/admin/idempotency"))
		admin_idempotency(srv, http, resp);
	else
		plain_error(resp, 404, "no such admin endpoint");
}

/* ---- business requests ------------------------------------------------- */

static void req_trace(struct shop_req *r)
{
	const char *tp = httpd_header_get(r->http, "traceparent");
	struct tc parent;
	memset(&parent, 0, sizeof(parent));
	if (tp && tc_parse_traceparent(tp, &parent) == 0) {
		const char *ts = httpd_header_get(r->http, "tracestate");
		if (ts && *ts && tc_tracestate_valid(ts))
			parent.tracestate = xstrdup(ts);
		r->has_parent = true;
		memcpy(r->parent_id, parent.span_id, sizeof(r->parent_id));
		tc_new_child(&parent, &r->span);
		tc_free(&parent);
	} else {
		tc_new_root(&r->span);
	}
}

static void write_request_log(struct shop_req *r, double ms)
{
	struct shop_server *srv = r->srv;
	int status = r->resp->hang ? 0 : r->resp->status;
	const char *level = status >= 500 ? "error" : status >= 400 || !status ? "warn" : "info";
	struct strbuf msg = SB_INIT;
	if (r->msg.len)
		sb_addstr(&msg, r->msg.buf);
	else if (r->error.len)
		sb_addf(&msg, "%s %s answered %d: %s", r->http->method, r->http->path, status,
			r->error.buf);
	else
		sb_addf(&msg, "%s %s answered %d", r->http->method, r->http->path, status);
	struct jw *w = shop_tel_log_begin(&srv->tel, level, &r->span, msg.buf);
	jw_kv_str(w, "http_method", r->http->method);
	jw_kv_str(w, "http_path", r->http->path);
	if (status)
		jw_kv_int(w, "http_status", status);
	jw_kv_double(w, "duration_ms", ms);
	if (r->idem_key)
		jw_kv_str(w, "idempotency_key", r->idem_key);
	for (int i = 0; i < r->nfields; i++)
		jw_kv_str(w, r->field_keys[i], r->field_vals[i]);
	if (r->error.len)
		jw_kv_str(w, "error", r->error.buf);
	shop_tel_log_end(&srv->tel);
	sb_release(&msg);
}

static void server_span(struct shop_server *srv, const struct tc *span, const uint8_t *parent,
			int64_t start_ns, double ms, const char *method, const char *path,
			int status, const char *error)
{
	char name[160];
	snprintf(name, sizeof(name), "%s %s", method, path);
	struct shop_span s = {
		.ctx = span,
		.parent_id = parent,
		.name = name,
		.kind = "server",
		.start_ns = start_ns,
		.duration_ms = ms,
		.method = method,
		.path = path,
		.http_status = status,
		.error = error,
	};
	shop_tel_span(&srv->tel, &s);
}

/* Remember a hung request; its span is written when the connection ends. */
static void hang_request(struct shop_req *r)
{
	struct shop_server *srv = r->srv;
	r->resp->hang = true;
	ALLOC_GROW(srv->hung, srv->nhung + 1, srv->ahung);
	struct shop_hung *h = &srv->hung[srv->nhung++];
	memset(h, 0, sizeof(*h));
	h->peer = xstrdup(r->http->peer ? r->http->peer : "");
	h->span = r->span;
	r->span.tracestate = NULL; /* moved into h */
	h->has_parent = r->has_parent;
	memcpy(h->parent_id, r->parent_id, sizeof(h->parent_id));
	h->start_ns = r->start_ns;
	h->start_mono_ns = r->start_mono_ns;
	h->method = xstrdup(r->http->method);
	h->path = xstrdup(r->http->path);
	sb_addstr(&r->msg, "hanging: the hang fault is on");
}

static void end_hung(struct shop_server *srv, size_t i, const char *why)
{
	struct shop_hung *h = &srv->hung[i];
	struct strbuf err = SB_INIT;
	sb_addf(&err, "no answer: the hang fault is on; %s", why);
	double ms = (double)(mono_ns() - h->start_mono_ns) / 1e6;
	server_span(srv, &h->span, h->has_parent ? h->parent_id : NULL, h->start_ns, ms, h->method,
		    h->path, 0, err.buf);
	sb_release(&err);
	free(h->peer);
	free(h->method);
	free(h->path);
	tc_free(&h->span);
	srv->hung[i] = srv->hung[--srv->nhung];
}

static void business(struct shop_server *srv, struct httpd_request *http,
		     struct httpd_response *resp)
{
	struct shop_req r;
	memset(&r, 0, sizeof(r));
	r.srv = srv;
	r.http = http;
	r.resp = resp;
	r.start_ns = ts_now_ns();
	r.start_mono_ns = mono_ns();
	sb_init(&r.error, 0);
	sb_init(&r.msg, 0);
	req_trace(&r);
	char tp[TC_TRACEPARENT_BUFSZ];
	httpd_response_header(resp, "traceresponse", tc_format_traceparent(&r.span, tp));

	const char *key = httpd_header_get(http, "Idempotency-Key");
	bool hung = false;
	if (key && !shop_idem_key_valid(key)) {
		shop_reply_error(&r, 400,
				 "the Idempotency-Key must be 1 to 255 visible ASCII characters");
	} else {
		r.idem_key = key;
		int fault_status = srv->fault.hang ? 0 : shop_fault_status(&srv->fault);
		if (srv->fault.hang) {
			hang_request(&r);
			hung = true;
		} else if (fault_status) {
			char msg[64];
			snprintf(msg, sizeof(msg), "fault injected: status %d", fault_status);
			shop_reply_error(&r, fault_status, msg);
			if (!srv->fault.status)
				log_fault_change(srv, "status fault off: its last counted answer");
		} else if (!shop_role_handle(&r)) {
			shop_reply_error(&r, 404, "no such endpoint");
		}
		if (!hung)
			resp->delay_ms = fault_delay(srv);
	}

	double ms = (double)(mono_ns() - r.start_mono_ns) / 1e6 + resp->delay_ms;
	if (!hung) {
		const char *error = NULL;
		if (resp->status >= 500)
			error = r.error.len ? r.error.buf : httpd_reason(resp->status);
		server_span(srv, &r.span, r.has_parent ? r.parent_id : NULL, r.start_ns, ms,
			    http->method, http->path, resp->status, error);
	}
	write_request_log(&r, ms);

	for (int i = 0; i < r.nfields; i++)
		free(r.field_vals[i]);
	sb_release(&r.error);
	sb_release(&r.msg);
	tc_free(&r.span);
}

/* ---- the server ----------------------------------------------------------- */

static void handle(struct httpd_request *http, struct httpd_response *resp, void *user)
{
	struct shop_server *srv = user;
	if (!strcmp(http->path, "/health"))
		health(srv, http, resp);
	else if (!strncmp(http->path, "/admin/", 7))
		admin(srv, http, resp);
	else
		business(srv, http, resp);
	httpd_response_header(resp, "Shop-Version", srv->version);
}

/* After each answer: end hung spans whose client left; trigger a pending exit. */
static void on_answer(const struct httpd_log_entry *e, void *user)
{
	struct shop_server *srv = user;
	for (size_t i = 0; i < srv->nhung; i++) {
		if (e->status == 0 && !strcmp(srv->hung[i].peer, e->peer)) {
			end_hung(srv, i, "the client went away");
			break;
		}
	}
	if (srv->exit_peer && !strcmp(srv->exit_peer, e->peer)) {
		srv->exiting = true;
		httpd_stop(srv->httpd);
	}
}

/* What `shopd serve` was asked to run. */
struct serve_args {
	const char *dir;
	const char *instance;  /* --instance, or NULL */
	const char *service;   /* --service, or NULL */
	int port;              /* --port */
	const char *id;        /* --id, or NULL */
	const char *version;   /* --version, or NULL */
	bool has_fault;        /* --fault was given: */
	struct shop_fault fault; /* its switches */
};

/* srv->instance: the topology's instance, or a standalone one of a service. */
static int find_instance(struct shop_server *srv, const struct serve_args *a)
{
	if (a->instance) {
		srv->instance = shop_topo_instance(&srv->topo, a->instance);
		if (!srv->instance) {
			error("no instance '%s' in '%s/topology.json'", a->instance, srv->dir);
			return EXIT_USAGE;
		}
		return 0;
	}
	struct shop_service *svc = shop_topo_service(&srv->topo, a->service);
	if (!svc) {
		error("no service '%s' in '%s/topology.json'", a->service, srv->dir);
		return EXIT_USAGE;
	}
	srv->standalone_id = a->id ? xstrdup(a->id) : xasprintf("%s-%d", a->service, a->port);
	if (shop_topo_instance(&srv->topo, srv->standalone_id)) {
		error("instance '%s' is in '%s/topology.json': run it with --instance",
		      srv->standalone_id, srv->dir);
		return EXIT_USAGE;
	}
	srv->standalone.id = srv->standalone_id;
	srv->standalone.host = "127.0.0.1";
	srv->standalone.port = a->port;
	srv->standalone.service = svc;
	srv->instance = &srv->standalone;
	return 0;
}

static int setup(struct shop_server *srv, const struct serve_args *a)
{
	const char *dir_arg = a->dir;
	struct strbuf err = SB_INIT;
	srv->exit_code = -1;
	shop_fault_clear(&srv->fault);
	srv->tel.span_fd = srv->tel.log_fd = -1;
	srv->dir = shop_abs_dir(dir_arg);
	if (!srv->dir) {
		error_errno("cannot use the directory '%s'", dir_arg);
		return EXIT_USAGE;
	}
	if (shop_load_runtime(&srv->topo, srv->dir, &err) < 0) {
		shop_print_errors(&err);
		sb_release(&err);
		return EXIT_USAGE;
	}
	srv->version = a->version ? a->version : "v1";
	int status = find_instance(srv, a);
	if (status)
		return status;
	if (a->has_fault)
		srv->fault = a->fault;
	srv->service = srv->instance->service;
	srv->rr = xcalloc(srv->topo.nservices, sizeof(*srv->rr));
	shop_routes_init(&srv->routes, &srv->topo, srv->service);
	srv->store = shop_store_dir(srv->dir, srv->service->name, &err);
	if (!srv->store ||
	    shop_tel_open(&srv->tel, srv->dir, srv->service->name, srv->instance->id, &err) < 0) {
		error("%s", err.buf);
		sb_release(&err);
		return EXIT_SYSTEM;
	}
	struct httpd_config cfg = {
		.bind_addr = srv->instance->host,
		.port = srv->instance->port,
		.handler = handle,
		.user = srv,
		.log = on_answer,
		.log_user = srv,
	};
	srv->httpd = httpd_new(&cfg, &err);
	if (!srv->httpd) {
		error("%s", err.buf);
		sb_release(&err);
		return EXIT_SYSTEM;
	}
	sb_release(&err);
	return 0;
}

static void teardown(struct shop_server *srv)
{
	while (srv->nhung)
		end_hung(srv, srv->nhung - 1, "the instance stopped");
	httpd_free(srv->httpd);
	if (srv->tel.span_fd >= 0)
		shop_tel_close(&srv->tel);
	free(srv->hung);
	free(srv->exit_peer);
	free(srv->rr);
	shop_routes_free(&srv->routes);
	free(srv->store);
	free(srv->dir);
	free(srv->standalone_id);
	shop_topo_free(&srv->topo);
}

/* A version is sent as a header: 1 to 64 visible ASCII characters. */
static bool valid_version(const char *v)
{
	size_t n = strlen(v);
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (v[i] <= ' ' || v[i] > '~')
			return false;
	return true;
}

/* An id names files and records: 1 to 64 of [A-Za-z0-9._-], not starting with '.' or '-'. */
static bool valid_id(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > 64 || id[0] == '.' || id[0] == '-')
		return false;
	return strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

/* Read serve's options into *a; misuse exits 2. */
static void serve_args(int argc, char **argv, struct serve_args *a)
{
	struct opt_parser p;
	const char *port = NULL, *fault = NULL;
	memset(a, 0, sizeof(*a));
	opt_begin(&p, argc, argv);
	int c;
	while ((c = opt_next(&p)) != OPT_DONE) {
		switch (c) {
		case SHOP_OPT_DIR: a->dir = p.arg; break;
		case SHOP_OPT_INSTANCE: a->instance = p.arg; break;
		case SHOP_OPT_SERVICE: a->service = p.arg; break;
		case SHOP_OPT_PORT: port = p.arg; break;
		case SHOP_OPT_ID: a->id = p.arg; break;
		case SHOP_OPT_VERSION: a->version = p.arg; break;
		case SHOP_OPT_FAULT: fault = p.arg; break;
		}
	}
	char **ops;
	if (opt_operands(&p, &ops) > 0)
		opt_usage_error(&p, "unexpected operand '%s'", ops[0]);
	if (!a->dir)
		opt_usage_error(&p, "--dir is required");
	if (a->instance && (a->service || port || a->id))
		opt_usage_error(&p, "give --instance, or --service and --port, not both");
	if (!a->instance && !a->service)
		opt_usage_error(&p, "give --instance, or --service and --port");
	if (a->service && !port)
		opt_usage_error(&p, "--service needs --port");
	if (!a->service && (port || a->id))
		opt_usage_error(&p, "--port and --id go with --service");
	struct strbuf err = SB_INIT;
	long long n;
	if (port && num_parse_int(port, 1, 65535, &n, &err) < 0)
		opt_usage_error(&p, "--port: %s", err.buf);
	a->port = port ? (int)n : 0;
	if (a->id && !valid_id(a->id))
		opt_usage_error(&p,
				"invalid --id '%s': use 1 to 64 letters, digits, '.', '_' or '-', "
				"not starting with '.' or '-'",
				a->id);
	if (a->version && !valid_version(a->version))
		opt_usage_error(&p, "invalid --version '%s': use 1 to 64 visible ASCII characters",
				a->version);
	opt_end(&p);
	if (fault) {
		shop_fault_clear(&a->fault);
		if (shop_fault_apply(&a->fault, fault, strlen(fault), &err) < 0) {
			error("%s", err.buf);
			exit_after_output(EXIT_USAGE);
		}
		a->has_fault = true;
	}
	sb_release(&err);
}

int shop_cmd_serve(int argc, char **argv)
{
	struct serve_args a;
	serve_args(argc, argv, &a);
	struct shop_server srv;
	memset(&srv, 0, sizeof(srv));
	int status = setup(&srv, &a);
	if (status) {
		teardown(&srv);
		return status;
	}
	sig_setup();
	struct strbuf url = SB_INIT;
	struct shop_instance live = *srv.instance;
	live.port = httpd_port(srv.httpd);
	shop_instance_url(&live, &url);
	fprintf(stderr, "%s: %s (%s) listening on %s, pid %d\n", ofs_progname, srv.instance->id,
		srv.service->name, url.buf, (int)getpid());
	fflush(stderr);
	struct jw *w = shop_tel_log_begin(&srv.tel, "info", NULL, "instance started");
	jw_kv_str(w, "url", url.buf);
	jw_kv_int(w, "pid", getpid());
	jw_kv_str(w, "version", srv.version);
	shop_tel_log_end(&srv.tel);
	if (a.has_fault) {
		log_fault_change(&srv, "fault switches set");
		if (srv.fault.exit_code >= 0) { /* as after the POST's answer */
			srv.exit_code = srv.fault.exit_code;
			srv.exiting = true;
		}
	}

	while (!srv.exiting && !sig_pending()) {
		if (httpd_run_once(srv.httpd, 250) < 0 && errno != EINTR) {
			error_errno("poll failed");
			status = EXIT_SYSTEM;
			break;
		}
	}
	const char *why = "poll failed";
	if (srv.exiting) {
		status = srv.exit_code;
		why = "exit fault";
	} else if (sig_pending()) {
		status = sig_exit_status();
		why = "signal";
	}
	w = shop_tel_log_begin(&srv.tel, srv.exiting ? "warn" : "info", NULL, "instance stopped");
	jw_kv_str(w, "reason", why);
	jw_kv_int(w, "exit_status", status);
	shop_tel_log_end(&srv.tel);
	fprintf(stderr, "%s: %s stopped (%s), exit status %d\n", ofs_progname, srv.instance->id,
		why, status);
	sb_release(&url);
	teardown(&srv);
	return status;
}
