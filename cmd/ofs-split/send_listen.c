/*
 * send_listen.c: `ofs-split send --listen`, shadow traffic as a reverse
 * proxy. Clients talk to it as to the service (libcommon/httpd.c serves
 * them); each request is answered from the primary, and then copied to
 * the candidate (and secondary) in the background, through the same
 * queues, breaker and comparison as requests read from a file, so each
 * one ends as a split.compare record, flushed at once.
 *
 * As in ofs-replay record (the recording proxy this follows), the
 * primary is asked synchronously, one request at a time, while other
 * connections wait in the server's poll loop; the copies run on the
 * libcurl multi client between client requests, so a slow or dead
 * candidate never delays a client: the client has its answer before its
 * copy is even sent. It suits staging and test traffic; at production
 * load, mirror with the proxy you have (nginx mirror, Envoy) and feed
 * its log through a pipe instead. Latencies measured here may carry up
 * to a couple of milliseconds of the proxy's own turn-taking.
 */
#include "common.h"

#include "httpd.h"
#include "rnd.h"
#include "send.h"
#include "sig.h"
#include "timefmt.h"
#include "units.h"

/* Bodies larger than this from the primary are refused (502), not cut. */
#define LISTEN_MAX_BODY (16 * 1024 * 1024)

struct proxy {
	struct send *s;
	char run_id[9]; /* random prefix of the ids of this run */
	uint64_t seq;
};

static void answer_error(struct httpd_response *resp, int status, const char *why)
{
	resp->status = status;
	sb_reset(&resp->headers);
	httpd_response_header(resp, "Content-Type", "text/plain");
	sb_reset(&resp->body);
	sb_addf(&resp->body, "ofs-split: primary: %s\n", why);
}

/* The client's request as a request record, read as send reads records. */
static struct sreq *take_request(struct proxy *px, const struct httpd_request *req,
				 struct strbuf *err)
{
	cJSON *rec = cJSON_CreateObject();
	cJSON *headers = cJSON_CreateObject();
	if (!rec || !headers)
		die("out of memory");
	struct strbuf path = SB_INIT;
	if (req->target[0] == '/')
		sb_addstr(&path, req->target);
	else /* absolute-form, from a client that takes us for a proxy */
		sb_addf(&path, "%s%s%s", *req->path ? req->path : "/", *req->query ? "?" : "",
			req->query);
	if (!cJSON_AddStringToObject(rec, "method", req->method) ||
	    !cJSON_AddStringToObject(rec, "path", path.buf))
		die("out of memory");
	sb_release(&path);
	for (size_t i = 0; i < req->nheaders; i++) {
		cJSON *v = cJSON_CreateString(req->headers[i].value);
		if (!v)
			die("out of memory");
		cJSON_AddItemToObject(headers, req->headers[i].name, v);
	}
	cJSON_AddItemToObject(rec, "headers", headers);
	struct sreq *x = xcalloc(1, sizeof(*x));
	if (reqrec_parse(&x->rq, rec, "", err) < 0) {
		cJSON_Delete(rec);
		free(x);
		return NULL;
	}
	sb_add(&x->rq.body, req->body.buf, req->body.len);
	x->rq.has_body = req->body.len > 0;
	x->rec = rec;
	x->id = xasprintf("%s-%" PRIu64, px->run_id, ++px->seq);
	struct strbuf ep = SB_INIT;
	noise_endpoint(&ep, x->rq.method, x->rq.path);
	x->endpoint = sb_detach(&ep, NULL);
	x->write = reqrec_is_write(x->rq.method);
	for (int side = 0; side < SIDES; side++) {
		x->leg[side].x = x;
		x->leg[side].side = side;
		http_response_init(&x->leg[side].resp);
	}
	sreq_headers(x);
	return x;
}

static void handle(struct httpd_request *req, struct httpd_response *resp, void *user)
{
	struct proxy *px = user;
	struct send *s = px->s;
	struct strbuf err = SB_INIT;
	struct sreq *x = take_request(px, req, &err);
	if (!x) {
		resp->status = 400;
		httpd_response_header(resp, "Content-Type", "text/plain");
		sb_addf(&resp->body, "ofs-split: %s\n", err.buf);
		sb_release(&err);
		return;
	}
	struct strbuf url = SB_INIT;
	sb_add(&url, s->url[SIDE_PRIMARY], s->urllen[SIDE_PRIMARY]);
	sb_addstr(&url, x->rq.path);
	struct http_request hr = HTTP_REQUEST_INIT;
	hr.method = x->rq.method;
	hr.url = url.buf;
	hr.headers = (const char *const *)x->hdrs;
	if (x->rq.has_body || (strcmp(x->rq.method, "GET") && strcmp(x->rq.method, "HEAD"))) {
		hr.body = x->rq.body.buf;
		hr.body_len = x->rq.body.len;
	}
	hr.timeout_ms = s->timeout_ms;
	hr.connect_timeout_ms = s->timeout_ms < HTTP_DEFAULT_CONNECT_TIMEOUT_MS
					? s->timeout_ms
					: HTTP_DEFAULT_CONNECT_TIMEOUT_MS;
	hr.max_body = LISTEN_MAX_BODY;
	struct leg *p = &x->leg[SIDE_PRIMARY];
	http_do(&hr, &p->resp);
	p->st = LEG_DONE;
	if (!send_answered(p)) {
		answer_error(resp, 502, p->resp.error);
	} else if (p->resp.truncated) {
		char why[96];
		snprintf(why, sizeof(why), "answer larger than %d bytes", LISTEN_MAX_BODY);
		answer_error(resp, 502, why);
	} else {
		resp->status = (int)p->resp.status;
		for (size_t i = 0; i < p->resp.nheaders; i++) {
			const struct http_header *h = &p->resp.headers[i];
			/* The server writes Content-Length, Date and Connection. */
			if (!reqrec_hop_by_hop(h->name))
				httpd_response_header(resp, h->name, h->value);
		}
		sb_add(&resp->body, p->resp.body.buf, p->resp.body.len);
	}
	/* The client has its answer (sent as this returns): now the copies. */
	send_track(s, x);
	send_shadow_copies(s, x);
	send_release(s, x);
	sb_release(&url);
	sb_release(&err);
}

/* "host:port", "[v6]:port" or ":port" (127.0.0.1); -1 if not one. */
static int parse_addr(const char *addr, char **host, int *port)
{
	const char *colon = strrchr(addr, ':');
	long long p;
	if (!colon || num_parse_int(colon + 1, 0, 65535, &p, NULL) < 0)
		return -1;
	const char *h = addr;
	size_t hl = (size_t)(colon - addr);
	if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	*host = hl ? xstrndup(h, hl) : xstrdup("127.0.0.1");
	*port = (int)p;
	return 0;
}

int send_listen(struct send *s, const char *addr)
{
	struct proxy px = { .s = s };
	snprintf(px.run_id, sizeof(px.run_id), "%08" PRIx32, (uint32_t)rnd_u64());
	char *host;
	int port;
	if (parse_addr(addr, &host, &port) < 0)
		die_usage("send: --listen: expected host:port, got '%s'", addr);
	struct httpd_config cfg = { 0 };
	cfg.bind_addr = host;
	cfg.port = port;
	cfg.handler = handle;
	cfg.user = &px;
	struct strbuf err = SB_INIT;
	struct httpd *srv = httpd_new(&cfg, &err);
	if (!srv)
		die("send: %s", err.buf);
	out_set_line_flush(s->so.out, true);
	fprintf(stderr, "%s: send: listening on %s%s%s:%d\n", ofs_progname,
		strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "", httpd_port(srv));
	fflush(stderr);
	s->input_done = true; /* nothing to read: requests come from clients */
	while (!sig_pending()) {
		int rc;
		if (http_pending(s->client) > 0) {
			/* Copies in flight: take turns, a couple of ms each. */
			rc = httpd_run_once(srv, 2);
			http_run_for(s->client, 0, send_on_done);
		} else {
			rc = httpd_run_once(srv, 200);
		}
		if (rc < 0 && errno != EINTR)
			die_errno("send: poll failed");
	}
	httpd_free(srv);
	free(host);
	sb_release(&err);
	return sig_exit_status();
}
