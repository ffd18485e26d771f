/*
 * test_httpd.c: tests for httpd.c over real sockets on 127.0.0.1.
 *
 * Servers bound to port 0 run httpd_run in forked children while this
 * process is the client, using plain sockets and poll() deadlines so a
 * failure shows up as a failed test rather than a hang. A last part runs
 * httpd_run_once in this process with a child as the client. Children
 * die with us (PR_SET_PDEATHSIG), are stopped with SIGTERM at the end
 * (which also tests the async-signal-safe httpd_stop) and reaped.
 */
#include "common.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "httpd.h"
#include "strbuf.h"
#include "tap.h"

#define WAIT_MS 3000 /* the longest any single read may take */

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

/* ---- the server side (runs in the children) ----------------------------- */

static struct httpd *g_srv;
static struct strbuf g_log = SB_INIT;
static int g_hangs_ended;

static void on_term(int sig)
{
	(void)sig;
	httpd_stop(g_srv);
}

static void log_entry(const struct httpd_log_entry *e, void *user)
{
	(void)user;
	if (e->status == 0 && e->aborted)
		g_hangs_ended++;
	sb_addf(&g_log, "%s %s %d %zu %zu%s\n", e->method, e->path, e->status, e->bytes_in,
		e->bytes_out, e->aborted ? " aborted" : "");
}

static void shop_handler(struct httpd_request *req, struct httpd_response *resp, void *user)
{
	const char *p = req->path;
	struct strbuf v = SB_INIT;
	(void)user;
	if (strcmp(p, "/echo") == 0) {
		httpd_response_header(resp, "Content-Type", "application/octet-stream");
		httpd_response_header(resp, "X-Chunked", req->chunked ? "yes" : "no");
		sb_add(&resp->body, req->body.buf, req->body.len);
	} else if (strcmp(p, "/delay") == 0) {
		if (httpd_query_get(req->query, "ms", &v) == 1)
			resp->delay_ms = (int)strtol(v.buf, NULL, 10);
		sb_addstr(&resp->body, "delayed\n");
	} else if (strcmp(p, "/hang") == 0) {
		resp->hang = true;
	} else if (strcmp(p, "/close") == 0) {
		resp->close = true;
		sb_addstr(&resp->body, "bye\n");
	} else if (strcmp(p, "/q") == 0) {
		int r = httpd_query_get(req->query, "name", &v);
		if (r == 1)
			sb_addf(&resp->body, "name=%s\n", v.buf);
		else
			resp->status = r == 0 ? 404 : 400;
	} else if (strcmp(p, "/log") == 0) {
		sb_add(&resp->body, g_log.buf, g_log.len);
		sb_reset(&g_log);
	} else if (strcmp(p, "/stats") == 0) {
		sb_addf(&resp->body, "hangs_ended=%d conns=%zu\n", g_hangs_ended,
			httpd_nconns(g_srv));
	} else if (strcmp(p, "/nocontent") == 0) {
		resp->status = 204;
		sb_addstr(&resp->body, "never sent");
	} else if (strcmp(p, "/headers") == 0) {
		int rejected = 0;
		rejected += httpd_response_header(resp, "Content-Length", "5") < 0;
		rejected += httpd_response_header(resp, "connection", "close") < 0;
		rejected += httpd_response_header(resp, "Bad Name", "x") < 0;
		rejected += httpd_response_header(resp, "X-Split", "a\r\nInjected: 1") < 0;
		rejected += httpd_response_header(resp, "", "x") < 0;
		httpd_response_header(resp, "X-Ok", "yes\tand tab");
		sb_addf(&resp->body, "rejected=%d\n", rejected);
	} else if (strcmp(p, "/badstatus") == 0) {
		resp->status = 42;
	} else if (strcmp(p, "/stop") == 0) {
		httpd_stop(g_srv);
		sb_addstr(&resp->body, "stopping\n");
	} else {
		if (strncmp(p, "/missing", 8) == 0)
			resp->status = 404;
		sb_addf(&resp->body, "%s %s\n", req->method, p);
	}
	sb_release(&v);
}

/* Bind here (so the port is known), serve in a child. Returns its pid or -1. */
static pid_t spawn_server(struct httpd_config *cfg, int *port)
{
	struct strbuf err = SB_INIT;
	struct httpd *srv = httpd_new(cfg, &err);
	if (!srv) {
		diag("httpd_new: %s", err.buf);
		sb_release(&err);
		return -1;
	}
	*port = httpd_port(srv);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		g_srv = srv;
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_term;
		sigaction(SIGTERM, &sa, NULL);
		int r = httpd_run(srv);
		httpd_free(srv);
		sb_release(&g_log);
		sb_release(&err);
		exit(r == 0 ? 0 : 1); /* exit, not _exit: LeakSanitizer checks the server */
	}
	httpd_free(srv); /* our copy of the listening socket */
	sb_release(&err);
	return pid;
}

/* SIGTERM the child and reap it; its exit status, or -1. */
static int stop_child(pid_t pid)
{
	int st;
	kill(pid, SIGTERM);
	for (int i = 0; i < 300; i++) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		sleep_ms(10);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

/* ---- the client side ----------------------------------------------------- */

struct client {
	int fd;
	struct strbuf in;
};

struct reply {
	int status;
	struct strbuf head; /* status line and fields, CRLFs kept */
	struct strbuf body;
	size_t raw;         /* bytes the response took on the wire */
};

static int connect_to(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void client_open(struct client *c, int port)
{
	c->fd = connect_to(port);
	sb_init(&c->in, 0);
	if (c->fd < 0)
		diag("cannot connect to port %d: %s", port, strerror(errno));
}

static void client_close(struct client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	sb_release(&c->in);
}

static bool send_bytes(struct client *c, const char *s, size_t n)
{
	while (n) {
		ssize_t w = send(c->fd, s, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		s += w;
		n -= (size_t)w;
	}
	return true;
}

static bool send_str(struct client *c, const char *s)
{
	return send_bytes(c, s, strlen(s));
}

/* Read what arrives within timeout_ms: >0 bytes read, 0 end of stream, -1 timeout or error. */
static int fill(struct client *c, int timeout_ms)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	int r = poll(&pfd, 1, timeout_ms < 0 ? 0 : timeout_ms);
	if (r <= 0)
		return -1;
	sb_grow(&c->in, 65536);
	ssize_t n = recv(c->fd, c->in.buf + c->in.len, c->in.alloc - c->in.len - 1, 0);
	if (n < 0)
		return -1;
	sb_setlen(&c->in, c->in.len + (size_t)n);
	return (int)n;
}

static void reply_init(struct reply *r)
{
	r->status = -1;
	sb_init(&r->head, 0);
	sb_init(&r->body, 0);
	r->raw = 0;
}

static void reply_release(struct reply *r)
{
	sb_release(&r->head);
	sb_release(&r->body);
}

static bool has_field(const struct reply *r, const char *line)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "\r\n%s\r\n", line);
	return strstr(r->head.buf, buf) != NULL;
}

/* Read one response; head_only for a HEAD request. 0 on success, -1 otherwise. */
static int read_reply(struct client *c, struct reply *r, bool head_only)
{
	int64_t deadline = now_ms() + WAIT_MS;
	sb_reset(&r->head);
	sb_reset(&r->body);
	r->status = -1;
	for (;;) {
		const char *end = memmem(c->in.buf, c->in.len, "\r\n\r\n", 4);
		if (end) {
			size_t hl = (size_t)(end - c->in.buf) + 4, cl = 0;
			if (c->in.len < 12 || memcmp(c->in.buf, "HTTP/1.1 ", 9) != 0)
				return -1;
			r->status = (int)strtol(c->in.buf + 9, NULL, 10);
			sb_add(&r->head, c->in.buf, hl);
			const char *f = strcasestr(r->head.buf, "\r\nContent-Length: ");
			if (f && !head_only)
				cl = (size_t)strtoul(f + 18, NULL, 10);
			while (c->in.len < hl + cl)
				if (fill(c, (int)(deadline - now_ms())) <= 0)
					return -1;
			sb_add(&r->body, c->in.buf + hl, cl);
			r->raw = hl + cl;
			memmove(c->in.buf, c->in.buf + hl + cl, c->in.len - hl - cl);
			sb_setlen(&c->in, c->in.len - hl - cl);
			return 0;
		}
		if (fill(c, (int)(deadline - now_ms())) <= 0)
			return -1;
	}
}

/* Wait for the server to close: 1 closed with nothing more sent, 0 still open, -1 other. */
static int wait_closed(struct client *c, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	size_t before = c->in.len;
	for (;;) {
		int n = fill(c, (int)(deadline - now_ms()));
		if (n == 0)
			return c->in.len == before ? 1 : -1;
		if (n < 0)
			return now_ms() >= deadline ? 0 : -1;
	}
}

/* One request on a new connection; the reply in *r. */
static int exchange(int port, const char *req, struct reply *r)
{
	struct client c;
	client_open(&c, port);
	int ret = c.fd >= 0 && send_str(&c, req) ? read_reply(&c, r, false) : -1;
	client_close(&c);
	return ret;
}

/* ---- tests against the main server --------------------------------------- */

static void test_keep_alive(int port)
{
	struct client c;
	struct reply r;
	client_open(&c, port);
	reply_init(&r);
	for (int i = 1; i <= 3; i++) {
		char req[100], want[32], name[64];
		snprintf(req, sizeof(req), "GET /ka/%d HTTP/1.1\r\nHost: shop\r\n\r\n", i);
		snprintf(want, sizeof(want), "GET /ka/%d\n", i);
		snprintf(name, sizeof(name), "keep-alive: request %d on one connection", i);
		ok(send_str(&c, req) && read_reply(&c, &r, false) == 0 && r.status == 200, "%s", name);
		is_str(r.body.buf, want, "  ... its body");
		ok(has_field(&r, "Content-Length: 10") && !strstr(r.head.buf, "Connection:"),
		   "  ... Content-Length given, no Connection field");
	}
	is_int(wait_closed(&c, 100), 0, "the connection stays open");
	reply_release(&r);
	client_close(&c);
}

static void test_pipelining(int port)
{
	struct client c;
	struct reply r;
	client_open(&c, port);
	reply_init(&r);
	ok(send_str(&c, "GET /p/1 HTTP/1.1\r\nHost: a\r\n\r\n"
			"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
			"GET /missing/3 HTTP/1.1\r\nHost: a\r\n\r\n"),
	   "three pipelined requests sent in one write");
	static const struct {
		int status;
		const char *body;
	} want[] = { { 200, "GET /p/1\n" }, { 200, "abc" }, { 404, "GET /missing/3\n" } };
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		ok(read_reply(&c, &r, false) == 0 && r.status == want[i].status,
		   "pipelined response %zu has status %d", i + 1, want[i].status);
		is_str(r.body.buf, want[i].body, "  ... and its own body");
	}
	reply_release(&r);
	client_close(&c);
}

static void test_chunked_echo(int port)
{
	struct client c;
	struct reply r;
	client_open(&c, port);
	reply_init(&r);
	static const char *const parts[] = {
		"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
		"5\r\nhel", "lo\r\n", "6;note=x\r\n world\r\n", "0\r\nX-Checksum: 1\r\n", "\r\n",
	};
	bool sent = true;
	for (size_t i = 0; i < ARRAY_SIZE(parts); i++) {
		sent = sent && send_str(&c, parts[i]);
		sleep_ms(5); /* separate segments: the server parses piecemeal */
	}
	ok(sent && read_reply(&c, &r, false) == 0 && r.status == 200, "chunked POST answered");
	is_str(r.body.buf, "hello world", "  ... the decoded body echoed");
	ok(has_field(&r, "X-Chunked: yes") && has_field(&r, "Content-Length: 11"),
	   "  ... the handler saw a chunked request; the answer has a Content-Length");
	ok(send_str(&c, "GET /after HTTP/1.1\r\nHost: a\r\n\r\n") && read_reply(&c, &r, false) == 0,
	   "  ... the connection is reusable after the trailers");
	is_str(r.body.buf, "GET /after\n", "  ... next request answered");
	reply_release(&r);
	client_close(&c);
}

/* Send req, expect status and body, then the server closing the connection. */
static void expect_error(int port, const char *req, size_t extra_body, int status,
			 const char *body, const char *what)
{
	struct client c;
	struct reply r;
	client_open(&c, port);
	reply_init(&r);
	bool sent = send_str(&c, req);
	if (extra_body) {
		/* The client keeps sending; the server must still be heard. */
		char *junk = xmalloc(extra_body);
		memset(junk, 'x', extra_body);
		sent = sent && send_bytes(&c, junk, extra_body);
		free(junk);
	}
	ok(sent && read_reply(&c, &r, false) == 0 && r.status == status, "%s: status %d", what,
	   status);
	is_str(r.body.buf, body, "  ... short text body");
	ok(has_field(&r, "Connection: close"), "  ... says Connection: close");
	is_int(wait_closed(&c, WAIT_MS), 1, "  ... and closes");
	reply_release(&r);
	client_close(&c);
}

static void test_errors(int port)
{
	expect_error(port, "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 2000000\r\n\r\n", 0,
		     413, "request body too large\n", "oversized Content-Length");
	expect_error(port, "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 2000000\r\n\r\n",
		     300000, 413, "request body too large\n",
		     "oversized body that keeps coming");
	expect_error(port,
		     "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n200000\r\n",
		     0, 413, "request body too large\n", "oversized chunk");

	struct strbuf big = SB_INIT;
	sb_addstr(&big, "GET / HTTP/1.1\r\nHost: a\r\nX-Huge: ");
	while (big.len < 20000)
		sb_addch(&big, 'h');
	sb_addstr(&big, "\r\n\r\n");
	expect_error(port, big.buf, 0, 431, "header section too large\n", "20 KB of headers");
	sb_release(&big);

	expect_error(port, "HELLO\r\n\r\n", 0, 400, "invalid request line\n", "garbage");
	expect_error(port, "GET / HTTP/2.0\r\n\r\n", 0, 505, "http version not supported\n",
		     "HTTP/2.0 request line");
	expect_error(port, "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 0, 501,
		     "unsupported transfer-encoding\n", "gzip transfer coding");
	expect_error(port, "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", 0, 400, "bare CR in request\n",
		     "bare CR");
	expect_error(port, "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 0,
		     400, "conflicting content-length values\n", "conflicting Content-Length");
}

static void test_delay(int port)
{
	struct client a, b;
	struct reply ra, rb;
	client_open(&a, port);
	client_open(&b, port);
	reply_init(&ra);
	reply_init(&rb);
	int64_t t0 = now_ms();
	ok(send_str(&a, "GET /delay?ms=400 HTTP/1.1\r\nHost: a\r\n\r\n"), "delayed request sent");
	ok(send_str(&b, "GET /fast HTTP/1.1\r\nHost: a\r\n\r\n") && read_reply(&b, &rb, false) == 0,
	   "another connection is answered meanwhile");
	is_str(rb.body.buf, "GET /fast\n", "  ... with its own body");
	struct pollfd pfd = { .fd = a.fd, .events = POLLIN };
	int64_t tb = now_ms() - t0;
	ok(tb < 400 && poll(&pfd, 1, 0) == 0, "  ... before the delayed answer (%lld ms)",
	   (long long)tb);
	ok(read_reply(&a, &ra, false) == 0 && ra.status == 200, "the delayed answer arrives");
	int64_t ta = now_ms() - t0;
	ok(ta >= 395, "  ... after the delay (%lld ms)", (long long)ta);
	is_str(ra.body.buf, "delayed\n", "  ... with its body");
	ok(send_str(&a, "GET /again HTTP/1.1\r\nHost: a\r\n\r\n") && read_reply(&a, &ra, false) == 0,
	   "the delayed connection is kept alive");
	reply_release(&ra);
	reply_release(&rb);
	client_close(&a);
	client_close(&b);
}

static int hangs_ended(int port)
{
	struct reply r;
	reply_init(&r);
	int n = -1;
	if (exchange(port, "GET /stats HTTP/1.1\r\nHost: a\r\n\r\n", &r) == 0)
		sscanf(r.body.buf, "hangs_ended=%d", &n);
	reply_release(&r);
	return n;
}

static void test_hang(int port)
{
	struct client h;
	struct reply r;
	reply_init(&r);
	int before = hangs_ended(port);
	client_open(&h, port);
	ok(send_str(&h, "GET /hang HTTP/1.1\r\nHost: a\r\n\r\n"), "hanging request sent");
	is_int(wait_closed(&h, 300), 0, "  ... no answer, connection kept open");
	ok(exchange(port, "GET /meanwhile HTTP/1.1\r\nHost: a\r\n\r\n", &r) == 0 && r.status == 200,
	   "  ... while other clients are served");
	is_int(hangs_ended(port), before, "  ... the server still holds it");
	client_close(&h);
	int after = -1;
	for (int i = 0; i < 100 && (after = hangs_ended(port)) == before; i++)
		sleep_ms(10);
	is_int(after, before + 1, "the server lets go once the client leaves");
	reply_release(&r);
}

static void test_close(int port)
{
	static const struct {
		const char *req, *field, *what;
		int closes;
	} cases[] = {
		{ "GET /c HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", "Connection: close",
		  "HTTP/1.1 with Connection: close", 1 },
		{ "GET /close HTTP/1.1\r\nHost: a\r\n\r\n", "Connection: close",
		  "handler sets resp->close", 1 },
		{ "GET /c HTTP/1.0\r\n\r\n", "Connection: close", "HTTP/1.0 without keep-alive", 1 },
		{ "GET /c HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", "Connection: keep-alive",
		  "HTTP/1.0 with keep-alive", 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct client c;
		struct reply r;
		client_open(&c, port);
		reply_init(&r);
		ok(send_str(&c, cases[i].req) && read_reply(&c, &r, false) == 0 && r.status == 200 &&
			   has_field(&r, cases[i].field),
		   "%s: answered with %s", cases[i].what, cases[i].field);
		is_int(wait_closed(&c, cases[i].closes ? WAIT_MS : 100), cases[i].closes,
		       cases[i].closes ? "  ... then closed" : "  ... and kept open");
		reply_release(&r);
		client_close(&c);
	}
}

static void test_concurrent(int port)
{
	enum { N = 200 };
	static struct client cs[N];
	struct reply r;
	int connected = 0, answered = 0;
	reply_init(&r);
	for (int i = 0; i < N; i++) {
		client_open(&cs[i], port);
		connected += cs[i].fd >= 0;
	}
	is_int(connected, N, "200 connections opened at once");
	for (int i = 0; i < N; i++) {
		char req[80];
		snprintf(req, sizeof(req), "GET /conc/%d HTTP/1.1\r\nHost: a\r\n\r\n", i);
		if (cs[i].fd >= 0)
			send_str(&cs[i], req);
	}
	for (int i = 0; i < N; i++) {
		char want[40];
		snprintf(want, sizeof(want), "GET /conc/%d\n", i);
		if (cs[i].fd >= 0 && read_reply(&cs[i], &r, false) == 0 && r.status == 200 &&
		    strcmp(r.body.buf, want) == 0)
			answered++;
	}
	is_int(answered, N, "  ... every one answered correctly");
	struct reply s;
	reply_init(&s);
	ok(exchange(port, "GET /stats HTTP/1.1\r\nHost: a\r\n\r\n", &s) == 0 &&
		   strstr(s.body.buf, "conns=201\n"),
	   "  ... all held open at once (keep-alive)");
	for (int i = 0; i < N; i++)
		client_close(&cs[i]);
	reply_release(&r);
	reply_release(&s);
}

static void test_misc(int port)
{
	struct client c;
	struct reply r;
	client_open(&c, port);
	reply_init(&r);

	ok(send_str(&c, "HEAD /h HTTP/1.1\r\nHost: a\r\n\r\n") && read_reply(&c, &r, true) == 0 &&
		   r.status == 200 && has_field(&r, "Content-Length: 8"),
	   "HEAD gets the Content-Length of the GET body");
	ok(send_str(&c, "GET /nocontent HTTP/1.1\r\nHost: a\r\n\r\n") &&
		   read_reply(&c, &r, false) == 0 && r.status == 204 &&
		   !strstr(r.head.buf, "Content-Length"),
	   "204 has no Content-Length");
	ok(send_str(&c, "GET /next HTTP/1.1\r\nHost: a\r\n\r\n") && read_reply(&c, &r, false) == 0,
	   "  ... and neither HEAD nor 204 sent a body");
	is_str(r.body.buf, "GET /next\n", "  ... so the next answer is intact");

	ok(send_str(&c, "PUT /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
			"Content-Length: 5\r\n\r\n") &&
		   read_reply(&c, &r, false) == 0 && r.status == 100,
	   "Expect: 100-continue gets 100 Continue");
	ok(send_str(&c, "12345") && read_reply(&c, &r, false) == 0 && r.status == 200,
	   "  ... then the final answer");
	is_str(r.body.buf, "12345", "  ... to the whole body");

	ok(send_str(&c, "GET /q?x=1&name=J%C3%BCrgen+M HTTP/1.1\r\nHost: a\r\n\r\n") &&
		   read_reply(&c, &r, false) == 0,
	   "query request answered");
	is_str(r.body.buf, "name=J\xc3\xbcrgen M\n", "  ... with the decoded parameter");

	ok(send_str(&c, "GET /headers HTTP/1.1\r\nHost: a\r\n\r\n") &&
		   read_reply(&c, &r, false) == 0,
	   "handler headers answered");
	is_str(r.body.buf, "rejected=5\n", "  ... reserved, malformed and injected fields refused");
	ok(has_field(&r, "X-Ok: yes\tand tab") && !strstr(r.head.buf, "Injected"),
	   "  ... a valid field is sent, nothing injected");

	ok(send_str(&c, "GET /badstatus HTTP/1.1\r\nHost: a\r\n\r\n") &&
		   read_reply(&c, &r, false) == 0 && r.status == 500,
	   "an invalid handler status becomes 500");
	is_str(r.body.buf, "handler set an invalid status\n", "  ... with an explanation");
	ok(strstr(r.head.buf, "\r\nDate: ") != NULL && strstr(r.head.buf, " GMT\r\n") != NULL,
	   "responses carry a Date");
	reply_release(&r);
	client_close(&c);
}

/* The access log, compared exactly against what the client saw. */
static void test_log(int port)
{
	struct client c;
	struct reply r0, r1, r2, r3;
	client_open(&c, port);
	reply_init(&r0);
	reply_init(&r1);
	reply_init(&r2);
	reply_init(&r3);
	const char *q0 = "GET /log HTTP/1.1\r\nHost: a\r\n\r\n";
	const char *q1 = "GET /logged?x=1 HTTP/1.1\r\nHost: a\r\n\r\n";
	const char *q2 = "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello";
	bool okay = send_str(&c, q0) && read_reply(&c, &r0, false) == 0 && send_str(&c, q1) &&
		    read_reply(&c, &r1, false) == 0 && send_str(&c, q2) &&
		    read_reply(&c, &r2, false) == 0 && send_str(&c, q0) &&
		    read_reply(&c, &r3, false) == 0;
	ok(okay, "access log requests answered");
	char want[300];
	snprintf(want, sizeof(want), "GET /log 200 %zu %zu\nGET /logged 200 %zu %zu\nPOST /echo 200 %zu %zu\n",
		 strlen(q0), r0.raw, strlen(q1), r1.raw, strlen(q2), r2.raw);
	is_str(r3.body.buf, want, "the log has method, path, status and exact byte counts");
	reply_release(&r0);
	reply_release(&r1);
	reply_release(&r2);
	reply_release(&r3);
	client_close(&c);
}

/* ---- a second server: small limits and short timeouts -------------------- */

static void test_tight(int port)
{
	struct client a, b, c, slow, idle;
	struct reply r;
	reply_init(&r);

	/* max_conns is 2: a third client waits in the backlog. */
	client_open(&a, port);
	client_open(&b, port);
	ok(send_str(&a, "GET /a HTTP/1.1\r\nHost: a\r\n\r\n") && read_reply(&a, &r, false) == 0 &&
		   send_str(&b, "GET /b HTTP/1.1\r\nHost: a\r\n\r\n") && read_reply(&b, &r, false) == 0,
	   "two connections served at max_conns 2");
	client_open(&c, port);
	ok(c.fd >= 0 && send_str(&c, "GET /c HTTP/1.1\r\nHost: a\r\n\r\n"),
	   "a third connects (kernel backlog) and sends");
	is_int(wait_closed(&c, 150), 0, "  ... but is not served while two are open");
	client_close(&a);
	ok(read_reply(&c, &r, false) == 0 && strcmp(r.body.buf, "GET /c\n") == 0,
	   "  ... and is served once one closes");
	client_close(&b);
	client_close(&c);

	/* Timeouts: idle 300 ms, read 500 ms. */
	client_open(&slow, port);
	int64_t t0 = now_ms();
	ok(send_str(&slow, "GET /slow HTTP/1.1\r\nHost: a\r\n"), "a request stalls half-way");
	client_open(&idle, port);
	ok(send_str(&idle, "GET /i HTTP/1.1\r\nHost: a\r\n\r\n") && read_reply(&idle, &r, false) == 0,
	   "a keep-alive request answered");
	int64_t t1 = now_ms();
	is_int(wait_closed(&idle, WAIT_MS), 1, "the idle keep-alive connection is closed");
	int64_t idle_ms = now_ms() - t1;
	ok(idle_ms >= 250, "  ... after the idle timeout (%lld ms)", (long long)idle_ms);
	ok(read_reply(&slow, &r, false) == 0 && r.status == 408, "the stalled request gets 408");
	int64_t slow_ms = now_ms() - t0;
	ok(slow_ms >= 450, "  ... after the read timeout (%lld ms)", (long long)slow_ms);
	is_int(wait_closed(&slow, WAIT_MS), 1, "  ... and is closed");
	client_close(&slow);
	client_close(&idle);

	/* Limits from the config reach the parser. */
	expect_error(port, "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 101\r\n\r\n", 0, 413,
		     "request body too large\n", "max_body 100");
	reply_release(&r);
}

/* ---- httpd_run_once in this process, a child as client ------------------- */

static int g_logged;

static void count_log(const struct httpd_log_entry *e, void *user)
{
	(void)e;
	(void)user;
	g_logged++;
}

static void test_run_once(void)
{
	struct httpd_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.handler = shop_handler;
	cfg.log = count_log;
	struct strbuf err = SB_INIT;
	struct httpd *srv = httpd_new(&cfg, &err);
	ok(srv != NULL, "an embedded server");
	if (!srv) {
		diag("%s", err.buf);
		sb_release(&err);
		return;
	}
	g_srv = srv;
	int port = httpd_port(srv);
	is_int(httpd_run_once(srv, 0), 0, "run_once with nothing to do returns 0 at once");
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		struct reply r;
		reply_init(&r);
		int bad = exchange(port, "GET /hi HTTP/1.1\r\nHost: a\r\n\r\n", &r) != 0 ||
			  strcmp(r.body.buf, "GET /hi\n") != 0;
		bad |= (exchange(port, "GET /stop HTTP/1.1\r\nHost: a\r\n\r\n", &r) != 0 ||
			strcmp(r.body.buf, "stopping\n") != 0) << 1;
		_exit(bad);
	}
	int64_t deadline = now_ms() + WAIT_MS;
	int r = 0, rounds = 0;
	while (r == 0 && now_ms() < deadline) {
		r = httpd_run_once(srv, 50);
		rounds++;
	}
	is_int(r, 1, "run_once returns 1 after the handler calls httpd_stop");
	int st = -1;
	waitpid(pid, &st, 0);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the client got both answers");
	is_int(g_logged, 2, "both requests logged");
	is_int(httpd_run_once(srv, 0), 0, "the stop request is consumed");

	/* httpd_run returns at once when stopped beforehand. */
	httpd_stop(srv);
	is_int(httpd_run(srv), 0, "httpd_run returns 0 when stopped");
	httpd_free(srv);
	g_srv = NULL;

	srv = httpd_new(&(struct httpd_config){ .handler = shop_handler, .port = port }, &err);
	ok(srv != NULL, "the port can be bound again at once (SO_REUSEADDR)");
	httpd_free(srv);
	sb_release(&err);
}

static void test_new_errors(int busy_port)
{
	struct strbuf err = SB_INIT;
	struct httpd_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	ok(httpd_new(&cfg, &err) == NULL, "no handler: refused");
	is_str(err.buf, "no request handler given", "  ... with a message");
	sb_reset(&err);
	cfg.handler = shop_handler;
	cfg.port = 70000;
	ok(httpd_new(&cfg, &err) == NULL, "port 70000: refused");
	is_str(err.buf, "invalid port '70000': must be 0..65535", "  ... with a message");
	sb_reset(&err);
	cfg.port = busy_port;
	ok(httpd_new(&cfg, &err) == NULL, "a port in use: refused");
	char want[100];
	snprintf(want, sizeof(want), "cannot listen on '127.0.0.1:%d': Address already in use",
		 busy_port);
	is_str(err.buf, want, "  ... with a message");
	sb_release(&err);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	alarm(60); /* a last resort; the children die with us */

	ok(strcmp(httpd_reason(404), "Not Found") == 0 && strcmp(httpd_reason(799), "Unknown") == 0,
	   "reason phrases");

	struct httpd_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.handler = shop_handler;
	cfg.log = log_entry;
	int port = 0;
	pid_t pid = spawn_server(&cfg, &port);
	ok(pid > 0 && port > 0, "server started on port %d", port);

	struct httpd_config tight;
	memset(&tight, 0, sizeof(tight));
	tight.handler = shop_handler;
	tight.bind_addr = "127.0.0.1";
	tight.max_conns = 2;
	tight.idle_timeout_ms = 300;
	tight.read_timeout_ms = 500;
	tight.limits.max_body = 100;
	int tport = 0;
	pid_t tpid = spawn_server(&tight, &tport);
	ok(tpid > 0 && tport > 0, "a second server with tight limits on port %d", tport);

	if (pid > 0) {
		test_keep_alive(port);
		test_pipelining(port);
		test_chunked_echo(port);
		test_errors(port);
		test_delay(port);
		test_hang(port);
		test_close(port);
		test_misc(port);
		test_log(port);
		test_concurrent(port);
		test_new_errors(port);
	}
	if (tpid > 0)
		test_tight(tport);
	test_run_once();

	if (pid > 0)
		is_int(stop_child(pid), 0, "SIGTERM stops the server; it exits cleanly");
	if (tpid > 0)
		is_int(stop_child(tpid), 0, "  ... the second one too");
	sb_release(&g_log);
	return tap_done();
}
