/*
 * record.c: `ofs-replay record`, a recording reverse proxy. Clients talk
 * to it as to the service (libcommon/httpd.c serves them); it forwards
 * each request to the upstream (libcommon/http.c, libcurl) with the
 * upstream's Host, hands the response back unchanged but for the
 * hop-by-hop fields, and writes the
 * exchange as a replay.exchange record (masked first), flushed at once so
 * `record | ...` flows live.
 *
 * One request is forwarded at a time: the handler waits for the upstream
 * while other connections stay queued in the server's poll loop. That
 * keeps the recorded order the order the upstream saw, and suits a
 * capture tool run beside a test or a staging service; it is not meant to
 * carry production load (GoReplay or nginx logs are, and import reads
 * them). The listening address goes to stderr as its first line,
 * "ofs-replay: listening on HOST:PORT", so callers can use port 0.
 * SIGINT or SIGTERM: stop accepting, finish the output (a .gz file is
 * complete) and exit 128+N.
 */
#include "common.h"

#include "capture.h"
#include "cmds.h"
#include "http.h"
#include "httpd.h"
#include "opt.h"
#include "rnd.h"
#include "sig.h"
#include "timefmt.h"
#include "units.h"

enum { RO_LISTEN = 256, RO_UPSTREAM, RO_MASK, RO_MASK_SALT, RO_MAX_BODY, RO_TIMEOUT };

const struct opt record_opts[] = {
	{ RO_LISTEN, 0, "listen", "addr", "listen on host:port (port 0 picks a free one)", NULL,
	  OPT_REQUIRED },
	{ RO_MASK, 0, "mask", "rule",
	  "mask personal data: header:NAME, hash-header:NAME, json:SEL, hash-json:SEL (repeatable)",
	  NULL, 0 },
	{ RO_MASK_SALT, 0, "mask-salt", "salt", "salt for hashed values (default $OFS_REPLAY_SALT)",
	  NULL, 0 },
	{ RO_MAX_BODY, 0, "max-body", "size", "largest request or response body (default 10M)",
	  NULL, 0 },
	{ 'o', 'o', "output", "file", "write the records to file (.gz: gzip)", "@file", 0 },
	{ RO_TIMEOUT, 0, "timeout", "duration", "upstream timeout per request (default 30s)", NULL,
	  0 },
	{ RO_UPSTREAM, 0, "upstream", "url", "forward every request to this base URL", NULL, OPT_REQUIRED },
	{ 0 },
};

struct recorder {
	struct cap_ctx cap;
	const char *upstream; /* without a trailing '/' */
	size_t max_body;
	long timeout_ms;
	char run_id[9];       /* random prefix of the ids of this run */
	uint64_t seq;
};

static void add_line(char ***v, size_t *n, size_t *alloc, char *s)
{
	ALLOC_GROW(*v, *n + 1, *alloc);
	(*v)[(*n)++] = s;
}

static void answer_error(struct httpd_response *resp, int status, const char *why)
{
	resp->status = status;
	httpd_response_header(resp, "Content-Type", "text/plain");
	sb_reset(&resp->body);
	sb_addf(&resp->body, "ofs-replay: upstream: %s\n", why);
}

static void handle(struct httpd_request *req, struct httpd_response *resp, void *user)
{
	struct recorder *rc = user;
	struct exchange x;
	xch_init(&x);
	x.ts_ns = ts_now_ns();
	x.source = "record";
	x.id = xasprintf("%s-%" PRIu64, rc->run_id, ++rc->seq);
	x.method = xstrdup(req->method);
	struct strbuf path = SB_INIT;
	xch_origin_form(&path, req->target, NULL);
	x.path = sb_detach(&path, NULL);

	/* The request as forwarded: hop-by-hop fields dropped, and libcurl's
	 * own defaults suppressed where the client did not send them. */
	const char *conn = httpd_header_get(req, "connection");
	char **lines = NULL;
	size_t n = 0, alloc = 0;
	for (size_t i = 0; i < req->nheaders; i++) {
		const struct httpd_header *h = &req->headers[i];
		if (cap_hop_by_hop(h->name, conn) || !strcasecmp(h->name, "expect"))
			continue;
		xch_header_add(&x.req.headers, h->name, strlen(h->name), h->value, strlen(h->value));
		/* libcurl sends the body's own length, and the upstream's
		 * host (as a reverse proxy does: virtual hosts and TLS need
		 * it); the record keeps what the client sent. */
		if (!strcasecmp(h->name, "content-length") || !strcasecmp(h->name, "host"))
			continue;
		add_line(&lines, &n, &alloc,
			 *h->value ? xasprintf("%s: %s", h->name, h->value) : xasprintf("%s;", h->name));
	}
	static const char *const defaults[] = { "Accept", "User-Agent", "Content-Type" };
	for (size_t i = 0; i < ARRAY_SIZE(defaults); i++)
		if (!httpd_header_get(req, defaults[i]))
			add_line(&lines, &n, &alloc, xasprintf("%s:", defaults[i]));
	add_line(&lines, &n, &alloc, NULL);
	sb_add(&x.req.body, req->body.buf, req->body.len);

	char *url = xasprintf("%s%s", rc->upstream, x.path);
	struct http_request hr = HTTP_REQUEST_INIT;
	struct http_response hs;
	hr.method = req->method;
	hr.url = url;
	hr.headers = (const char *const *)lines;
	hr.body = req->body.len ? req->body.buf : NULL;
	hr.body_len = req->body.len;
	hr.max_body = rc->max_body;
	hr.timeout_ms = rc->timeout_ms;
	if (strcmp(req->method, "GET") && strcmp(req->method, "HEAD") && !hr.body)
		hr.body = ""; /* a POST without a body still is a POST */
	http_response_init(&hs);
	int64_t t0 = mono_ns();
	int got = http_do(&hr, &hs);
	x.latency_ms = (double)(mono_ns() - t0) / 1e6;

	if (got < 0) {
		x.error = xstrdup(hs.error);
		answer_error(resp, 502, hs.error);
	} else if (hs.truncated) {
		x.error = xasprintf("response body larger than %zu bytes", rc->max_body);
		answer_error(resp, 502, x.error);
	} else {
		const char *uconn = http_response_header(&hs, "connection");
		x.resp.present = true;
		x.resp.status = (int)hs.status;
		resp->status = (int)hs.status;
		for (size_t i = 0; i < hs.nheaders; i++) {
			const struct http_header *h = &hs.headers[i];
			if (cap_hop_by_hop(h->name, uconn))
				continue;
			xch_header_add(&x.resp.headers, h->name, strlen(h->name), h->value,
				       strlen(h->value));
			/* The server writes Content-Length and Date itself. */
			httpd_response_header(resp, h->name, h->value);
		}
		sb_add(&x.resp.body, hs.body.buf, hs.body.len);
		sb_add(&resp->body, hs.body.buf, hs.body.len);
	}
	cap_emit(&rc->cap, &x);

	http_response_release(&hs);
	free(url);
	for (size_t i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
	xch_release(&x);
}

/* "host:port", "[v6]:port" or ":port" (127.0.0.1); dies with status 2. */
static void parse_listen(const char *s, char **host, int *port)
{
	const char *colon = strrchr(s, ':');
	if (!colon)
		die_usage("--listen '%s': expected host:port", s);
	char *end;
	errno = 0;
	long p = strtol(colon + 1, &end, 10);
	if (!colon[1] || *end || errno || p < 0 || p > 65535)
		die_usage("--listen '%s': bad port", s);
	const char *h = s;
	size_t hl = (size_t)(colon - s);
	if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	*host = hl ? xstrndup(h, hl) : xstrdup("127.0.0.1");
	*port = (int)p;
}

int cmd_record(int argc, char **argv)
{
	struct opt_parser p;
	struct recorder rc = { 0 };
	const char *listen = NULL, *upstream = NULL, *output = NULL, *salt = NULL;
	struct strbuf err = SB_INIT;
	int o;
	rc.max_body = 10 * 1024 * 1024;
	rc.timeout_ms = 30000;
	sb_init(&rc.cap.rec, 0);
	opt_begin(&p, argc, argv);
	while ((o = opt_next(&p)) != OPT_DONE) {
		switch (o) {
		case RO_LISTEN:
			listen = p.arg;
			break;
		case RO_UPSTREAM:
			upstream = p.arg;
			break;
		case 'o':
			output = p.arg;
			break;
		case RO_MASK:
			cap_mask_rule(&rc.cap, p.arg);
			break;
		case RO_MASK_SALT:
			salt = p.arg;
			break;
		case RO_MAX_BODY: {
			uint64_t v;
			if (size_parse(p.arg, &v, &err) || v == 0 || v > (1u << 30))
				opt_usage_error(&p, "--max-body '%s': expected a size 1..1G%s%s",
						p.arg, err.len ? ": " : "", err.buf);
			rc.max_body = (size_t)v;
			break;
		}
		case RO_TIMEOUT: {
			int64_t ns;
			if (dur_parse(p.arg, &ns, &err) || ns < 1000000)
				opt_usage_error(&p, "--timeout '%s': expected a duration of 1ms or more%s%s",
						p.arg, err.len ? ": " : "", err.buf);
			rc.timeout_ms = (long)(ns / 1000000);
			break;
		}
		}
	}
	char **ops;
	if (opt_operands(&p, &ops))
		opt_usage_error(&p, "unexpected operand '%s'", ops[0]);
	if (!listen)
		opt_usage_error(&p, "--listen is required");
	if (!upstream)
		opt_usage_error(&p, "--upstream is required");
	if (strncmp(upstream, "http://", 7) && strncmp(upstream, "https://", 8))
		opt_usage_error(&p, "--upstream '%s': expected an http:// or https:// URL", upstream);
	char *up = xstrdup(upstream);
	size_t ul = strlen(up);
	while (ul > 8 && up[ul - 1] == '/')
		up[--ul] = '\0';
	rc.upstream = up;
	snprintf(rc.run_id, sizeof(rc.run_id), "%08" PRIx32, (uint32_t)rnd_u64());
	cap_mask_salt(&rc.cap, salt);

	char *host;
	int port;
	parse_listen(listen, &host, &port);
	struct httpd_config cfg = { 0 };
	cfg.bind_addr = host;
	cfg.port = port;
	cfg.limits.max_body = rc.max_body;
	cfg.handler = handle;
	cfg.user = &rc;
	sig_setup();
	struct httpd *srv = httpd_new(&cfg, &err);
	if (!srv)
		die("%s", err.buf);
	rc.cap.out = output ? out_open(output) : out_stdout();
	out_set_line_flush(rc.cap.out, true);
	fprintf(stderr, "%s: listening on %s%s%s:%d\n", ofs_progname, strchr(host, ':') ? "[" : "",
		host, strchr(host, ':') ? "]" : "", httpd_port(srv));
	fflush(stderr);

	while (!sig_pending()) {
		if (httpd_run_once(srv, 200) < 0 && errno != EINTR)
			die_errno("poll failed");
	}
	httpd_free(srv);
	if (output)
		out_close(rc.cap.out);
	else
		out_flush(rc.cap.out);
	free(host);
	free(up);
	sb_release(&err);
	sb_release(&rc.cap.rec);
	mask_release(&rc.cap.mask);
	opt_end(&p);
	return sig_exit_status();
}
