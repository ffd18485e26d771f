/*
 * test_http.c: unit tests for http.c, against a tiny HTTP/1.1 server that
 * the test forks for itself on 127.0.0.1 (port chosen by bind, sent back
 * through a pipe). The server forks once per connection and serves
 * keep-alive requests with canned behaviour per path:
 *   /ok          200 "hello\n" (text/plain)
 *   /echo        200: "METHOD PATH\n", "ua: User-Agent\n", every X-* request
 *                header as received, an empty line, then the request body
 *   /big         200 with a 2 MiB body, byte i being 'a' + i % 26
 *   /slow        200 after 2 s
 *   /status/503  503 and 200 alternately (a counter shared by all forks)
 *   /429         429 with Retry-After: 1 and 200 alternately
 *   /close       reads the request, closes without answering
 *   /redirect    302 to /ok
 *   /conn        200: how many requests this connection has served
 *   /hold        200 after 20 ms, tracking how many are held at once
 *   /maxconc     200: the most /hold requests held at once (then reset)
 *   /headers     200 with 100 X-H-N headers
 *   anything else 404
 * Shared counters live in a MAP_SHARED page. The server ends when its
 * lifeline pipe closes (at the end of the test, or if the test dies): it
 * then terminates its connection handlers and waits for them, and the
 * test reaps it, so no process is left behind.
 */
#include "common.h"
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "http.h"
#include "rnd.h"
#include "tap.h"

#define BIG_SIZE (2 * 1024 * 1024)

struct shared {
	int n503, n429, cur, max;
};

static struct shared *sh;
static pid_t server_pid = -1;
static int server_port;
static int lifeline = -1;
static char url_buf[256];

/* ---- the server ---------------------------------------------------------- */

static int wait_status(pid_t pid)
{
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}


static void write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(0);
		p += n;
		len -= (size_t)n;
	}
}

static void respond(int fd, int status, const char *reason, const char *extra,
		    const char *body, size_t len)
{
	struct strbuf head = SB_INIT;
	sb_addf(&head, "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n%s\r\n",
		status, reason, len, extra);
	write_all(fd, head.buf, head.len);
	write_all(fd, body, len);
	sb_release(&head);
}

static void respond_str(int fd, int status, const char *reason, const char *extra,
			const char *body)
{
	respond(fd, status, reason, extra, body, strlen(body));
}

/* Read more of the connection into sb; exit the process on EOF or idling. */
static void fill(int fd, struct strbuf *sb)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	if (poll(&p, 1, 5000) <= 0)
		_exit(0);
	sb_grow(sb, 65536);
	ssize_t n = read(fd, sb->buf + sb->len, 65536);
	if (n <= 0)
		_exit(0);
	sb_setlen(sb, sb->len + (size_t)n);
}

static void hold(void)
{
	int cur = __atomic_add_fetch(&sh->cur, 1, __ATOMIC_SEQ_CST);
	int max = __atomic_load_n(&sh->max, __ATOMIC_SEQ_CST);
	while (cur > max &&
	       !__atomic_compare_exchange_n(&sh->max, &max, cur, false, __ATOMIC_SEQ_CST,
					    __ATOMIC_SEQ_CST))
		;
	usleep(20000);
	__atomic_sub_fetch(&sh->cur, 1, __ATOMIC_SEQ_CST);
}

static void serve_connection(int fd)
{
	struct strbuf in = SB_INIT, out = SB_INIT;
	fill(fd, &in);
	if (in.buf[0] < 'A' || in.buf[0] > 'Z') {
		/* Not HTTP (a TLS hello, say): refuse like a plain server would. */
		static const char bad[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
		write_all(fd, bad, sizeof(bad) - 1);
		_exit(0);
	}
	for (int nreq = 1;; nreq++) {
		char *end;
		while (!(end = memmem(in.buf, in.len, "\r\n\r\n", 4)))
			fill(fd, &in);
		size_t head_len = (size_t)(end - in.buf) + 4;
		char method[16] = "", path[256] = "";
		if (sscanf(in.buf, "%15s %255s", method, path) != 2)
			_exit(0);

		/* Headers: Content-Length, User-Agent and the X-* ones. */
		size_t clen = 0;
		struct strbuf echo = SB_INIT;
		const char *ua = "";
		char *line = (char *)memchr(in.buf, '\n', head_len) + 1;
		while (line < in.buf + head_len - 2) {
			char *eol = memchr(line, '\r', (size_t)(in.buf + head_len - line));
			*eol = '\0';
			if (!strncasecmp(line, "content-length:", 15))
				clen = strtoul(line + 15, NULL, 10);
			else if (!strncasecmp(line, "user-agent:", 11))
				ua = line + 12;
			else if (!strncasecmp(line, "x-", 2))
				sb_addf(&echo, "%s\n", line);
			line = eol + 2;
		}
		while (in.len < head_len + clen)
			fill(fd, &in);
		const char *body = in.buf + head_len;

		sb_reset(&out);
		if (!strcmp(path, "/ok")) {
			respond_str(fd, 200, "OK", "", "hello\n");
		} else if (!strcmp(path, "/echo")) {
			sb_addf(&out, "%s %s\nua: %s\n%s\n", method, path, ua, echo.buf);
			sb_add(&out, body, clen);
			respond(fd, 200, "OK", "", out.buf, out.len);
		} else if (!strcmp(path, "/big")) {
			for (int i = 0; i < BIG_SIZE; i++)
				sb_addch(&out, 'a' + i % 26);
			respond(fd, 200, "OK", "", out.buf, out.len);
		} else if (!strcmp(path, "/slow")) {
			sleep(2);
			respond_str(fd, 200, "OK", "", "slow\n");
		} else if (!strcmp(path, "/status/503")) {
			if (__atomic_fetch_add(&sh->n503, 1, __ATOMIC_SEQ_CST) % 2 == 0)
				respond_str(fd, 503, "Service Unavailable", "", "busy\n");
			else
				respond_str(fd, 200, "OK", "", "recovered\n");
		} else if (!strcmp(path, "/429")) {
			if (__atomic_fetch_add(&sh->n429, 1, __ATOMIC_SEQ_CST) % 2 == 0)
				respond_str(fd, 429, "Too Many Requests", "Retry-After: 1\r\n", "slow down\n");
			else
				respond_str(fd, 200, "OK", "", "thanks\n");
		} else if (!strcmp(path, "/close")) {
			close(fd);
			_exit(0);
		} else if (!strcmp(path, "/redirect")) {
			respond_str(fd, 302, "Found", "Location: /ok\r\n", "moved\n");
		} else if (!strcmp(path, "/conn")) {
			sb_addf(&out, "%d", nreq);
			respond(fd, 200, "OK", "", out.buf, out.len);
		} else if (!strcmp(path, "/hold")) {
			hold();
			respond_str(fd, 200, "OK", "", "held\n");
		} else if (!strcmp(path, "/maxconc")) {
			sb_addf(&out, "%d", __atomic_exchange_n(&sh->max, 0, __ATOMIC_SEQ_CST));
			respond(fd, 200, "OK", "", out.buf, out.len);
		} else if (!strcmp(path, "/headers")) {
			for (int i = 0; i < 100; i++)
				sb_addf(&out, "X-H-%d: v%d\r\n", i, i);
			respond_str(fd, 200, "OK", out.buf, "many\n");
		} else {
			respond_str(fd, 404, "Not Found", "", "not found\n");
		}
		sb_release(&echo);
		/* Keep what the client sent beyond this request. */
		size_t used = head_len + clen;
		memmove(in.buf, in.buf + used, in.len - used);
		sb_setlen(&in, in.len - used);
	}
}

static void server_main(int port_fd, int life_fd)
{
	setpgid(0, 0);
	signal(SIGCHLD, SIG_IGN); /* connection handlers are reaped by the kernel */
	signal(SIGPIPE, SIG_IGN);
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = { .sin_family = AF_INET };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t alen = sizeof(a);
	if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 256) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&a, &alen) < 0)
		_exit(1);
	int port = ntohs(a.sin_port);
	write_all(port_fd, &port, sizeof(port));
	close(port_fd);
	for (;;) {
		struct pollfd p[2] = { { .fd = lfd, .events = POLLIN },
				       { .fd = life_fd, .events = POLLIN } };
		if (poll(p, 2, -1) < 0)
			continue;
		if (p[1].revents) {
			/* The test is done (or gone): end every handler, then go. */
			signal(SIGTERM, SIG_IGN);
			kill(0, SIGTERM);
			while (wait(NULL) > 0 || errno == EINTR)
				;
			_exit(0);
		}
		if (!(p[0].revents & POLLIN))
			continue;
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		pid_t pid = fork();
		if (pid == 0) {
			close(lfd);
			close(life_fd);
			serve_connection(fd);
		}
		close(fd);
	}
}

static void server_start(void)
{
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		die_errno("mmap");
	int port_pipe[2], life_pipe[2];
	if (pipe2(port_pipe, O_CLOEXEC) < 0 || pipe2(life_pipe, O_CLOEXEC) < 0)
		die_errno("pipe");
	server_pid = fork();
	if (server_pid < 0)
		die_errno("fork");
	if (server_pid == 0) {
		close(port_pipe[0]);
		close(life_pipe[1]);
		server_main(port_pipe[1], life_pipe[0]);
		_exit(0);
	}
	setpgid(server_pid, server_pid);
	close(port_pipe[1]);
	close(life_pipe[0]);
	lifeline = life_pipe[1];
	if (read(port_pipe[0], &server_port, sizeof(server_port)) != sizeof(server_port))
		die("test server did not start");
	close(port_pipe[0]);
}

static void server_stop(void)
{
	close(lifeline);
	wait_status(server_pid);
	munmap(sh, sizeof(*sh));
}

static const char *url(const char *path)
{
	snprintf(url_buf, sizeof(url_buf), "http://127.0.0.1:%d%s", server_port, path);
	return url_buf;
}

/* A port nothing listens on: bound by us, then closed. */
static int dead_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t alen = sizeof(a);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &alen) < 0)
		die_errno("bind");
	close(fd);
	return ntohs(a.sin_port);
}

/* A listener that never accepts; with backlog 0 and its queue filled by
 * fillers, further connects get no answer at all. */
static int silent_listener(int backlog, int *port, int *fillers, int nfillers)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t alen = sizeof(a);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, backlog) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &alen) < 0)
		die_errno("listen");
	*port = ntohs(a.sin_port);
	for (int i = 0; i < nfillers; i++) {
		fillers[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (connect(fillers[i], (struct sockaddr *)&a, sizeof(a)) < 0 && errno != EINPROGRESS)
			die_errno("connect");
	}
	if (nfillers)
		usleep(20000); /* let the handshakes land in the queue */
	return fd;
}

/* ---- pure functions ------------------------------------------------------ */

static void test_retryable(void)
{
	static const struct {
		int code;
		long status;
		bool want;
	} cases[] = {
		{ 0, 200, false }, { 0, 301, false }, { 0, 400, false }, { 0, 404, false },
		{ 0, 408, false }, { 0, 429, true }, { 0, 500, false }, { 0, 501, false },
		{ 0, 502, true }, { 0, 503, true }, { 0, 504, true },
		{ 7, 0, true },     /* couldn't connect */
		{ 6, 0, true },     /* couldn't resolve */
		{ 28, 0, true },    /* timed out */
		{ 28, 200, true },  /* timed out reading the body */
		{ 52, 0, true },    /* got nothing */
		{ 55, 0, true },    /* send error */
		{ 56, 0, true },    /* receive error */
		{ 18, 200, true },  /* partial body */
		{ 18, 404, false }, /* never another 4xx */
		{ 60, 0, false },   /* TLS verification */
		{ 35, 0, false },   /* TLS handshake */
		{ 3, 0, false },    /* malformed URL */
		{ 1, 0, false },    /* unsupported protocol */
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		ok(http_retryable(cases[i].code, cases[i].status) == cases[i].want,
		   "retryable(curl %d, status %ld) is %s", cases[i].code, cases[i].status,
		   cases[i].want ? "yes" : "no");
}

static void test_backoff(void)
{
	rnd_seed(42);
	struct http_retry r = { 10, 100, 5000 };
	static const long ceiling[] = { 100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000 };
	for (int n = 0; n < (int)ARRAY_SIZE(ceiling); n++) {
		long lo = LONG_MAX, hi = -1;
		for (int i = 0; i < 2000; i++) {
			long w = http_backoff_ms(&r, n);
			lo = w < lo ? w : lo;
			hi = w > hi ? w : hi;
		}
		ok(lo >= 0 && hi <= ceiling[n] && lo < ceiling[n] / 10 && hi > ceiling[n] * 9 / 10,
		   "retry %d waits are spread over [0, %ld] (saw %ld..%ld)", n, ceiling[n], lo, hi);
	}
	struct http_retry huge = { 10, 1000, 60000 };
	long w = http_backoff_ms(&huge, 1000);
	ok(w >= 0 && w <= 60000, "a huge retry number cannot overflow past the cap");
	struct http_retry zero = { 10, 0, 5000 };
	is_int(http_backoff_ms(&zero, 3), 0, "base 0 means no wait");
}

static void test_validation(void)
{
	struct http_client *c = http_client_new(2);
	static const char *const crlf[] = { "X-A: 1", "X-B: 2\r\nX-Evil: 1", NULL };
	static const char *const nocolon[] = { "X-A 1", NULL };
	static const char *const badname[] = { "X A: 1", NULL };
	struct {
		const char *url, *method;
		const char *const *headers;
		long timeout;
		int attempts;
		const char *err;
	} cases[] = {
		{ NULL, NULL, NULL, 1000, 1, "missing url" },
		{ "http://x/a b", NULL, NULL, 1000, 1,
		  "invalid url 'http://x/a b': contains a space or control character" },
		{ "http://x/\n", NULL, NULL, 1000, 1,
		  "invalid url 'http://x/\\x0a': contains a space or control character" },
		{ "http://x/", "GE T", NULL, 1000, 1, "invalid method 'GE T'" },
		{ "http://x/", "GET\r\n", NULL, 1000, 1, "invalid method 'GET\\x0d\\x0a'" },
		{ "http://x/", NULL, crlf, 1000, 1, "invalid header #2: contains CR or LF" },
		{ "http://x/", NULL, nocolon, 1000, 1, "invalid header 'X-A 1': expected 'Name: value'" },
		{ "http://x/", NULL, badname, 1000, 1, "invalid header 'X A: 1': expected 'Name: value'" },
		{ "http://x/", NULL, NULL, 0, 1, "timeout must be positive, got 0 ms" },
		{ "http://x/", NULL, NULL, 1000, 0, "retry attempts must be 1..100, got 0" },
		{ "http://x/", NULL, NULL, 1000, 101, "retry attempts must be 1..100, got 101" },
	};
	struct http_request neg = HTTP_REQUEST_INIT;
	neg.url = "http://x/";
	neg.retry.cap_ms = -1;
	struct strbuf e = SB_INIT;
	is_int(http_add(c, &neg, &e), -1, "a negative retry cap is refused");
	is_str(e.buf, "retry base and cap must be 0..3600000 ms, got 100 and -1 ms", "  with the reason");
	sb_release(&e);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct http_request req = HTTP_REQUEST_INIT;
		req.url = cases[i].url;
		req.method = cases[i].method;
		req.headers = cases[i].headers;
		req.timeout_ms = cases[i].timeout;
		req.retry.max_attempts = cases[i].attempts;
		struct strbuf err = SB_INIT;
		is_int(http_add(c, &req, &err), -1, "an invalid request is refused");
		is_str(err.buf, cases[i].err, "  with the reason");
		sb_release(&err);
	}
	is_int(http_pending(c), 0, "nothing was queued");
	http_client_free(c);

	struct http_request req;
	http_request_init(&req);
	ok(req.connect_timeout_ms == 2000 && req.timeout_ms == 10000 &&
		   req.max_body == 1024 * 1024 && !req.follow_redirects && !req.tls_insecure &&
		   req.retry.max_attempts == 1 && req.retry.base_ms == 100 && req.retry.cap_ms == 5000,
	   "http_request_init sets the documented defaults");
	struct http_response resp;
	req.connect_timeout_ms = -5;
	req.url = "http://127.0.0.1/";
	is_int(http_do(&req, &resp), -1, "http_do refuses an invalid request");
	is_str(resp.error, "connect timeout must be positive, got -5 ms", "  and says why");
	is_int(resp.attempts, 0, "  without any attempt");
	http_response_release(&resp);
}

/* ---- transfers ----------------------------------------------------------- */

static void test_get(void)
{
	struct http_request req = HTTP_REQUEST_INIT;
	struct http_response resp;
	req.url = url("/ok");
	is_int(http_do(&req, &resp), 0, "GET /ok succeeds");
	is_int(resp.status, 200, "  status 200");
	is_int(resp.curl_code, 0, "  curl code 0");
	is_str(resp.error, "", "  no error");
	is_str(resp.body.buf, "hello\n", "  body");
	is_int((long long)resp.body_total, 6, "  body_total");
	ok(!resp.truncated, "  not truncated");
	is_str(http_response_header(&resp, "content-type"), "text/plain",
	       "  Content-Type captured (name matched case-insensitively)");
	is_str(http_response_header(&resp, "Content-Length"), "6", "  Content-Length captured");
	ok(http_response_header(&resp, "Retry-After") == NULL, "  absent header is NULL");
	is_int(resp.attempts, 1, "  one attempt");
	is_str(resp.remote_ip, "127.0.0.1", "  remote ip");
	is_int(resp.remote_port, server_port, "  remote port");

	ok(resp.dns_ms >= 0 && resp.connect_ms >= 0 && resp.tls_ms == 0 &&
		   resp.first_byte_ms >= 0 && resp.transfer_ms >= 0,
	   "  every phase is present and not negative, no TLS on http");
	ok(resp.total_ms > 0 && resp.total_ms >= resp.first_byte_ms &&
		   resp.total_ms >= resp.connect_ms && resp.total_ms >= resp.dns_ms,
	   "  total covers each phase (total %.3f, ttfb %.3f)", resp.total_ms,
	   resp.first_byte_ms);
	is_double(resp.dns_ms + resp.connect_ms + resp.tls_ms + resp.first_byte_ms +
			  resp.transfer_ms,
		  resp.total_ms, 0.002, "  the phases add up to total");
	ok(resp.elapsed_ms >= resp.total_ms, "  elapsed covers the attempt");
	http_response_release(&resp);

	req.url = url("/nothing-here");
	req.retry.max_attempts = 3;
	req.retry.base_ms = 1;
	is_int(http_do(&req, &resp), 0, "a 404 is a response");
	is_int(resp.status, 404, "  status 404");
	is_int(resp.attempts, 1, "  never retried, though 3 attempts were allowed");
	http_response_release(&resp);
}

static void test_echo(void)
{
	static const char *const hdrs[] = { "X-Test: yes", "X-Other: 2", NULL };
	static const char post_body[] = "a=1&b=2\0end";
	struct http_request req = HTTP_REQUEST_INIT;
	struct http_response resp;
	char want[512];

	req.url = url("/echo");
	req.headers = hdrs;
	req.body = post_body;
	req.body_len = sizeof(post_body) - 1;
	is_int(http_do(&req, &resp), 0, "POST /echo with a body");
	int n = snprintf(want, sizeof(want),
			 "POST /echo\nua: %s\nX-Test: yes\nX-Other: 2\n\na=1&b=2", HTTP_USER_AGENT);
	memcpy(want + n, "\0end", 4);
	is_mem(resp.body.buf, resp.body.len, want, (size_t)n + 4,
	       "  method, user agent, headers and binary body echoed");
	http_response_release(&resp);

	req.method = "PUT";
	req.body = "{}";
	req.body_len = 2;
	req.headers = NULL;
	http_do(&req, &resp);
	snprintf(want, sizeof(want), "PUT /echo\nua: %s\n\n{}", HTTP_USER_AGENT);
	is_str(resp.body.buf, want, "PUT with a body");
	http_response_release(&resp);

	static const char *const ua[] = { "User-Agent: probe/1", "X-Trace: t1", NULL };
	req.method = "DELETE";
	req.body = NULL;
	req.body_len = 0;
	req.headers = ua;
	http_do(&req, &resp);
	is_str(resp.body.buf, "DELETE /echo\nua: probe/1\nX-Trace: t1\n\n",
	       "DELETE without a body; a User-Agent header overrides the default");
	http_response_release(&resp);

	req.method = "POST";
	req.headers = NULL;
	http_do(&req, &resp);
	snprintf(want, sizeof(want), "POST /echo\nua: %s\n\n", HTTP_USER_AGENT);
	is_str(resp.body.buf, want, "POST without a body");
	http_response_release(&resp);

	req.method = "HEAD";
	http_do(&req, &resp);
	ok(resp.status == 200 && resp.body.len == 0 && resp.body_total == 0,
	   "HEAD gets the status and no body");
	http_response_release(&resp);
}

static bool is_pattern(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != 'a' + (char)(i % 26))
			return false;
	return true;
}

static void test_big(void)
{
	struct http_request req = HTTP_REQUEST_INIT;
	struct http_response resp;
	req.url = url("/big");
	req.max_body = 1000;
	is_int(http_do(&req, &resp), 0, "GET /big with max_body 1000");
	is_int((long long)resp.body.len, 1000, "  keeps 1000 bytes");
	is_int((long long)resp.body_total, BIG_SIZE, "  counts all 2 MiB");
	ok(resp.truncated, "  truncated");
	ok(is_pattern(resp.body.buf, resp.body.len), "  the kept bytes are the first ones");
	http_response_release(&resp);

	http_request_init(&req);
	req.url = url("/big");
	http_do(&req, &resp);
	is_int((long long)resp.body.len, 1024 * 1024, "the default keeps 1 MiB");
	ok(resp.truncated && resp.body_total == BIG_SIZE, "  and counts the rest");
	http_response_release(&resp);

	req.max_body = 4 * 1024 * 1024;
	http_do(&req, &resp);
	ok(resp.body.len == BIG_SIZE && !resp.truncated && is_pattern(resp.body.buf, resp.body.len),
	   "a large enough max_body keeps the whole body intact");
	http_response_release(&resp);
}

static void test_failures(void)
{
	struct http_request req = HTTP_REQUEST_INIT;
	struct http_response resp;
	char u[128];

	req.url = url("/slow");
	req.timeout_ms = 300;
	is_int(http_do(&req, &resp), -1, "GET /slow with a 300 ms timeout fails");
	is_int(resp.curl_code, 28, "  curl code 28");
	is_int(resp.status, 0, "  no status");
	is_str(resp.error, "timed out after 300 ms waiting for the response", "  says why");
	ok(resp.elapsed_ms < 1500, "  gave up early (%.0f ms)", resp.elapsed_ms);
	ok(resp.connect_ms >= 0 && resp.first_byte_ms > 0 && resp.transfer_ms == 0,
	   "  the wait is charged to first_byte");
	http_response_release(&resp);

	/* Timeouts in each phase, against listeners that never answer. */
	int port, fillers[3];
	int lfd = silent_listener(0, &port, fillers, 3);
	http_request_init(&req);
	snprintf(u, sizeof(u), "http://127.0.0.1:%d/", port);
	req.url = u;
	req.connect_timeout_ms = 200;
	is_int(http_do(&req, &resp), -1, "connecting to a full listen queue fails");
	is_str(resp.error, "timed out after 200 ms connecting", "  timed out connecting");
	is_double(resp.dns_ms + resp.connect_ms, resp.total_ms, 0.002,
		  "  the time is charged to connect");
	ok(resp.connect_ms > 0 && resp.first_byte_ms == 0, "  and to nothing later");
	http_response_release(&resp);
	for (int i = 0; i < 3; i++)
		close(fillers[i]);
	close(lfd);

	lfd = silent_listener(8, &port, NULL, 0);
	snprintf(u, sizeof(u), "https://127.0.0.1:%d/", port);
	is_int(http_do(&req, &resp), -1, "a TLS server that never answers the hello fails");
	is_str(resp.error, "timed out after 200 ms in the TLS handshake",
	       "  timed out in the TLS handshake");
	ok(resp.tls_ms > 0 && resp.first_byte_ms == 0, "  the time is charged to tls");
	http_response_release(&resp);
	close(lfd);

	http_request_init(&req);
	snprintf(u, sizeof(u), "http://127.0.0.1:%d/", dead_port());
	req.url = u;
	is_int(http_do(&req, &resp), -1, "a closed port fails");
	is_int(resp.curl_code, 7, "  curl code 7");
	is_str(resp.error, "connection refused", "  connection refused");
	http_response_release(&resp);

	req.retry.max_attempts = 3;
	req.retry.base_ms = 1;
	http_do(&req, &resp);
	ok(resp.attempts == 3 && !strcmp(resp.error, "connection refused"),
	   "a refused connection is retried up to max_attempts");
	http_response_release(&resp);

	req.url = url("/close");
	req.retry.max_attempts = 2;
	is_int(http_do(&req, &resp), -1, "a server closing without answer fails");
	is_int(resp.curl_code, 52, "  curl code 52");
	is_str(resp.error, "server closed the connection without a response", "  says why");
	is_int(resp.attempts, 2, "  and was retried");
	http_response_release(&resp);

	http_request_init(&req);
	snprintf(u, sizeof(u), "https://127.0.0.1:%d/ok", server_port);
	req.url = u;
	is_int(http_do(&req, &resp), -1, "https to a plain http server fails");
	is_int(resp.curl_code, 35, "  curl code 35");
	ok(!strncmp(resp.error, "TLS handshake failed: ", 22), "  TLS handshake failed: (got '%s')",
	   resp.error);
	http_response_release(&resp);

	req.url = "ftp://127.0.0.1/";
	http_do(&req, &resp);
	is_str(resp.error, "unsupported protocol in 'ftp://127.0.0.1/' (only http and https)",
	       "only http and https are spoken");
	http_response_release(&resp);
}

static void test_retry_and_redirect(void)
{
	struct http_request req = HTTP_REQUEST_INIT;
	struct http_response resp;

	req.url = url("/status/503");
	req.retry = (struct http_retry){ 3, 10, 100 };
	is_int(http_do(&req, &resp), 0, "503 then 200 with retries");
	is_int(resp.status, 200, "  ends with 200");
	is_int(resp.attempts, 2, "  on attempt 2");
	is_str(resp.body.buf, "recovered\n", "  with the second body only");
	http_response_release(&resp);

	req.retry.max_attempts = 1;
	http_do(&req, &resp);
	ok(resp.status == 503 && resp.attempts == 1 && !strcmp(resp.body.buf, "busy\n"),
	   "without retries the 503 is the answer");
	http_response_release(&resp);

	http_request_init(&req);
	req.url = url("/redirect");
	http_do(&req, &resp);
	ok(resp.status == 302 && !strcmp(http_response_header(&resp, "location"), "/ok"),
	   "redirects are not followed by default");
	http_response_release(&resp);
	req.follow_redirects = true;
	http_do(&req, &resp);
	ok(resp.status == 200 && !strcmp(resp.body.buf, "hello\n") &&
		   !http_response_header(&resp, "Location"),
	   "follow_redirects reaches /ok, with the final response's headers");
	http_response_release(&resp);

	http_request_init(&req);
	req.url = url("/headers");
	http_do(&req, &resp);
	ok(resp.nheaders == HTTP_MAX_HEADERS && resp.headers_truncated,
	   "response headers are kept up to HTTP_MAX_HEADERS");
	is_str(http_response_header(&resp, "x-h-3"), "v3", "  in order");
	http_response_release(&resp);
}

/* Callbacks of the client tests: log "label:status:attempts " per request. */
struct run_log {
	struct strbuf order;
	int done, ok200;
	double elapsed_429;
};

/* A user pointer carrying the log and a label. */
struct tag {
	struct run_log *log;
	char label[16];
};

static void log_done(const struct http_request *req, struct http_response *resp, void *user)
{
	struct tag *tag = user;
	struct run_log *log = tag->log;
	const char *label = tag->label;
	sb_addf(&log->order, "%s:%ld:%d ", label, resp->status, resp->attempts);
	log->done++;
	log->ok200 += resp->status == 200;
	if (!strcmp(label, "429"))
		log->elapsed_429 = resp->elapsed_ms;
}

static void test_retry_does_not_block(void)
{
	struct run_log log = { SB_INIT, 0, 0, 0 };
	struct tag tags[6];
	struct http_client *c = http_client_new(1);
	struct strbuf err = SB_INIT;
	for (int i = 0; i < 6; i++) {
		struct http_request req = HTTP_REQUEST_INIT;
		tags[i].log = &log;
		snprintf(tags[i].label, sizeof(tags[i].label), i ? "ok%d" : "429", i);
		req.url = url(i ? "/ok" : "/429");
		req.retry = (struct http_retry){ 2, 10, 5000 };
		req.user = &tags[i];
		http_add(c, &req, &err);
	}
	is_int(http_pending(c), 6, "six requests queued");
	http_run(c, log_done);
	is_str(log.order.buf, "ok1:200:1 ok2:200:1 ok3:200:1 ok4:200:1 ok5:200:1 429:200:2 ",
	       "with one slot, the others run while the 429 waits to retry");
	ok(log.elapsed_429 >= 1000, "the retry honoured Retry-After: 1 (%.0f ms)",
	   log.elapsed_429);
	is_int(http_pending(c), 0, "nothing pending");
	http_client_free(c);
	sb_release(&log.order);
	sb_release(&err);
}

static void test_concurrency(void)
{
	struct run_log log = { SB_INIT, 0, 0, 0 };
	struct tag tag = { &log, "hold" };
	struct http_client *c = http_client_new(10);
	struct strbuf err = SB_INIT;
	struct http_request req = HTTP_REQUEST_INIT;
	req.url = url("/hold");
	req.user = &tag;
	for (int i = 0; i < 100; i++)
		http_add(c, &req, &err);
	http_run(c, log_done);
	is_int(log.done, 100, "100 requests with concurrency 10 all finish");
	is_int(log.ok200, 100, "  all with 200");

	struct http_response resp;
	struct http_request q = HTTP_REQUEST_INIT;
	q.url = url("/maxconc");
	http_do(&q, &resp);
	long most = strtol(resp.body.buf, NULL, 10);
	ok(most >= 2 && most <= 10, "  at most 10 were in flight at once (server saw %ld)", most);
	http_response_release(&resp);
	http_client_free(c);
	sb_release(&log.order);
	sb_release(&err);
}

static void collect_body(const struct http_request *req, struct http_response *resp, void *user)
{
	struct strbuf *sb = user;
	sb_addf(sb, "%s,", resp->body.buf);
}

struct chain_ctx {
	struct strbuf sb;
	struct http_client *c;
};

/* Queue the same request again from the callback, once. */
static void chain(const struct http_request *req, struct http_response *resp, void *user)
{
	struct chain_ctx *ctx = user;
	sb_addf(&ctx->sb, "%s,", resp->body.buf);
	if (ctx->sb.len < 8) {
		struct strbuf err = SB_INIT;
		http_add(ctx->c, req, &err);
		sb_release(&err);
	}
}

static void test_client_reuse_and_steps(void)
{
	struct strbuf bodies = SB_INIT;
	struct http_client *c = http_client_new(1);
	struct strbuf err = SB_INIT;
	struct http_request req = HTTP_REQUEST_INIT;
	req.url = url("/conn");
	req.user = &bodies;
	http_add(c, &req, &err);
	http_add(c, &req, &err);
	http_run(c, collect_body);
	http_add(c, &req, &err);
	http_run(c, collect_body);
	is_str(bodies.buf, "1,2,3,", "one connection is reused across requests and runs");

	/* The step API: no waiting with 0, then short slices until done. */
	sb_reset(&bodies);
	req.url = url("/hold");
	http_add(c, &req, &err);
	is_int(http_run_for(c, 0, collect_body), 1, "run_for 0 returns at once with 1 pending");
	int slices = 0, left;
	while ((left = http_run_for(c, 5, collect_body)) > 0)
		slices++;
	ok(left == 0 && slices >= 1 && !strcmp(bodies.buf, "held\n,"),
	   "short run_for slices finish it (%d slices)", slices);

	/* A callback may queue more work. */
	struct chain_ctx ctx = { SB_INIT, c };
	req.url = url("/ok");
	req.user = &ctx;
	http_add(c, &req, &err);
	http_run(c, chain);
	is_str(ctx.sb.buf, "hello\n,hello\n,", "a callback can add requests to the running client");
	sb_release(&ctx.sb);

	/* Freeing with work queued, running and waiting to retry leaks nothing. */
	req.url = url("/429");
	req.retry = (struct http_retry){ 3, 1000, 1000 };
	http_add(c, &req, &err);
	req.url = url("/slow");
	http_add(c, &req, &err);
	http_run_for(c, 100, NULL);
	is_int(http_pending(c), 2, "two requests still pending");
	http_client_free(c);
	ok(1, "a client with pending work can be freed");
	sb_release(&bodies);
	sb_release(&err);
}

/* ---- TLS, against openssl s_server when the openssl tool is there ------- */

/* Run argv with stdout to a pipe (returned in *out, or /dev/null if out
 * is NULL) and stderr to /dev/null; returns the pid. */
static pid_t spawn(char *const argv[], int *out)
{
	int p[2] = { -1, -1 };
	if (out && pipe2(p, O_CLOEXEC) < 0)
		die_errno("pipe");
	pid_t pid = fork();
	if (pid < 0)
		die_errno("fork");
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(out ? p[1] : null, 1);
		dup2(null, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (out) {
		close(p[1]);
		*out = p[0];
	}
	return pid;
}

static void test_tls(void)
{
	char dir[] = "/tmp/ofs-test-http-XXXXXX";
	if (!mkdtemp(dir))
		die_errno("mkdtemp");
	char cert[64], key[64], u[128];
	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	char *req_argv[] = { "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
			     "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
			     "-days", "1", "-subj", "/CN=127.0.0.1", "-addext",
			     "subjectAltName=IP:127.0.0.1", NULL };
	if (wait_status(spawn(req_argv, NULL)) != 0) {
		ok(1, "TLS tests # SKIP the openssl tool cannot make a certificate");
		unlink(cert);
		unlink(key);
		rmdir(dir);
		return;
	}
	int out;
	char *srv_argv[] = { "openssl", "s_server", "-accept", "127.0.0.1:0", "-cert", cert,
			     "-key", key, "-www", NULL };
	pid_t srv = spawn(srv_argv, &out);
	/* It prints a few lines, one of them "ACCEPT 127.0.0.1:PORT". */
	struct strbuf line = SB_INIT;
	struct pollfd pfd = { .fd = out, .events = POLLIN };
	int port = 0;
	char c;
	for (int lines = 0; !port && lines < 10; lines++) {
		sb_reset(&line);
		while (poll(&pfd, 1, 5000) == 1 && read(out, &c, 1) == 1 && c != '\n')
			sb_addch(&line, c);
		if (sscanf(line.buf, "ACCEPT 127.0.0.1:%d", &port) != 1)
			port = 0;
	}
	if (!ok(port > 0, "openssl s_server started")) {
		kill(srv, SIGKILL);
		goto out;
	}
	snprintf(u, sizeof(u), "https://127.0.0.1:%d/", port);

	struct http_request req = HTTP_REQUEST_INIT;
	struct http_response resp;
	req.url = u;
	req.retry = (struct http_retry){ 3, 1, 1 };
	is_int(http_do(&req, &resp), -1, "a self-signed certificate is refused by default");
	is_int(resp.curl_code, 60, "  curl code 60");
	ok(!strncmp(resp.error, "TLS certificate verify failed: ", 31),
	   "  TLS certificate verify failed: (got '%s')", resp.error);
	is_int(resp.attempts, 1, "  and never retried");
	http_response_release(&resp);

	req.tls_insecure = true;
	is_int(http_do(&req, &resp), 0, "tls_insecure accepts it");
	is_int(resp.status, 200, "  status 200");
	ok(resp.tls_ms > 0 && resp.connect_ms > 0, "  the handshake is timed apart from connect");
	is_double(resp.dns_ms + resp.connect_ms + resp.tls_ms + resp.first_byte_ms +
			  resp.transfer_ms,
		  resp.total_ms, 0.002, "  the phases add up to total");
	http_response_release(&resp);

	req.tls_insecure = false;
	req.ca_file = cert;
	is_int(http_do(&req, &resp), 0, "ca_file verifies against a private CA");
	http_response_release(&resp);

	req.ca_file = "/nonexistent/ca.pem";
	http_do(&req, &resp);
	is_str(resp.error, "cannot read CA file '/nonexistent/ca.pem'", "a missing ca_file is named");
	http_response_release(&resp);

	kill(srv, SIGKILL);
out:
	wait_status(srv);
	close(out);
	sb_release(&line);
	unlink(cert);
	unlink(key);
	rmdir(dir);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	/* The test server is local: no proxy from the environment. */
	static const char *const proxies[] = { "http_proxy", "HTTP_PROXY", "https_proxy",
					       "HTTPS_PROXY", "all_proxy", "ALL_PROXY" };
	for (size_t i = 0; i < ARRAY_SIZE(proxies); i++)
		unsetenv(proxies[i]);
	server_start();

	test_retryable();
	test_backoff();
	test_validation();
	test_get();
	test_echo();
	test_big();
	test_failures();
	test_retry_and_redirect();
	test_retry_does_not_block();
	test_concurrency();
	test_client_reuse_and_steps();
	test_tls();

	server_stop();
	return tap_done();
}
