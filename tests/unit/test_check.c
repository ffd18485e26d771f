/*
 * test_check.c: unit tests for check.c, the health-check engine.
 *
 * The test binds its servers on 127.0.0.1 (ports chosen by the kernel)
 * and serves them from forked children that die with it:
 *   - an httpd.h server: /ok 200 "ok", /status/N answers N, /429, /json
 *     {"status":"degraded","n":5}, /slow?ms=N answers after N ms,
 *     /flaky/NAME 503 on its first request and 200 "ok" after, /hold
 *     200 after 20 ms counting how many are held at once, /maxconc that
 *     count's maximum (then reset), /hits/NAME how often /flaky/NAME came;
 *   - plain TCP listeners: "pong" answers "+PONG\r\n" to "PING\r\n", "err"
 *     greets with "-ERR unknown\r\n" and stays silent, "close" writes
 *     "+PO" and closes.
 * A port nobody listens on gives "connection refused", and a listener
 * with a full accept queue (backlog 0, one connection parked in it) never
 * answers a SYN, which gives connect timeouts without leaving loopback.
 *
 * Every status rule is one row of a table, run together in one run (so
 * the whole table costs its slowest row, a 300 ms timeout); then retries,
 * a mixed run of 380 checks under a cap of 64, jitter, adding from the
 * callback, a real Nagios plugin if installed, and SIGTERM mid-run.
 */
#include "common.h"
#include <arpa/inet.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "check.h"
#include "httpd.h"
#include "sig.h"
#include "tap.h"
#include "timefmt.h"

static char tmpdir[] = "/tmp/ofs-test-check-XXXXXX";
static int http_port, pong_port, err_port, close_port, refused_port, blackhole_port;
static int blackhole_fd = -1, blackhole_filler = -1;
static pid_t http_pid = -1, tcp_pid = -1;

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- the http server (in its child) ---------------------------------------- */

#define MAX_KEYS 64

static struct httpd *g_srv;
static char *flaky_keys[MAX_KEYS];
static int flaky_hits[MAX_KEYS];
static int hold_cur, hold_max;

static int *flaky_counter(const char *key)
{
	for (int i = 0; i < MAX_KEYS; i++) {
		if (!flaky_keys[i]) {
			flaky_keys[i] = xstrdup(key);
			return &flaky_hits[i];
		}
		if (!strcmp(flaky_keys[i], key))
			return &flaky_hits[i];
	}
	return &flaky_hits[MAX_KEYS - 1];
}

static void handler(struct httpd_request *req, struct httpd_response *resp, void *user)
{
	const char *p = req->path;
	if (!strcmp(p, "/ok")) {
		sb_addstr(&resp->body, "ok");
	} else if (!strncmp(p, "/status/", 8)) {
		resp->status = (int)strtol(p + 8, NULL, 10);
		sb_addstr(&resp->body, "down");
	} else if (!strcmp(p, "/429")) {
		resp->status = 429;
	} else if (!strcmp(p, "/json")) {
		httpd_response_header(resp, "Content-Type", "application/json");
		sb_addstr(&resp->body, "{\"status\":\"degraded\",\"n\":5}");
	} else if (!strcmp(p, "/slow")) {
		resp->delay_ms = (int)strtol(req->query + (strncmp(req->query, "ms=", 3) ? 0 : 3),
					     NULL, 10);
		sb_addstr(&resp->body, "ok");
	} else if (!strncmp(p, "/flaky/", 7)) {
		int *n = flaky_counter(p + 7);
		if ((*n)++ == 0)
			resp->status = 503;
		sb_addstr(&resp->body, "ok");
	} else if (!strncmp(p, "/hits/", 6)) {
		sb_addf(&resp->body, "%d", *flaky_counter(p + 6));
	} else if (!strcmp(p, "/hold")) {
		if (++hold_cur > hold_max)
			hold_max = hold_cur;
		resp->delay_ms = 20;
		sb_addstr(&resp->body, "ok");
	} else if (!strcmp(p, "/maxconc")) {
		sb_addf(&resp->body, "%d", hold_max);
		hold_max = 0;
	} else {
		resp->status = 404;
	}
}

static void access_log(const struct httpd_log_entry *e, void *user)
{
	if (!strcmp(e->path, "/hold"))
		hold_cur--;
}

/* ---- the tcp server (in its child) ------------------------------------------ */

enum tcp_role { ROLE_PONG, ROLE_ERR, ROLE_CLOSE };

struct tconn {
	int fd;
	enum tcp_role role;
	struct strbuf in;
};

static int listen_on(int backlog, int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof(sa);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, backlog) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		die_errno("cannot listen on 127.0.0.1");
	*port = ntohs(sa.sin_port);
	return fd;
}

static void send_all(int fd, const char *s)
{
	size_t len = strlen(s);
	while (len) {
		ssize_t n = send(fd, s, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		s += n;
		len -= (size_t)n;
	}
}

static void tcp_serve(const int *lfd)
{
	struct tconn conns[512];
	memset(conns, 0, sizeof(conns));
	size_t nconns = 0;
	struct pollfd pfds[3 + 512];
	for (;;) {
		size_t n = 0;
		for (int i = 0; i < 3; i++)
			pfds[n++] = (struct pollfd){ .fd = lfd[i], .events = POLLIN };
		for (size_t i = 0; i < nconns; i++)
			pfds[n++] = (struct pollfd){ .fd = conns[i].fd, .events = POLLIN };
		if (poll(pfds, n, -1) < 0)
			continue;
		for (size_t i = nconns; i-- > 0;) {
			if (!pfds[3 + i].revents)
				continue;
			struct tconn *c = &conns[i];
			char buf[512];
			ssize_t got = read(c->fd, buf, sizeof(buf));
			if (got > 0) {
				sb_add(&c->in, buf, (size_t)got);
				if (c->role == ROLE_PONG && strstr(c->in.buf, "PING\r\n")) {
					send_all(c->fd, "+PONG\r\n");
					sb_reset(&c->in);
				}
				continue;
			}
			close(c->fd);
			sb_release(&c->in);
			conns[i] = conns[--nconns];
		}
		for (int i = 0; i < 3; i++) {
			if (!pfds[i].revents)
				continue;
			int fd = accept4(lfd[i], NULL, NULL, SOCK_CLOEXEC);
			if (fd < 0)
				continue;
			if (i == ROLE_ERR)
				send_all(fd, "-ERR unknown\r\n");
			if (i == ROLE_CLOSE) {
				send_all(fd, "+PO");
				close(fd);
				continue;
			}
			if (nconns == ARRAY_SIZE(conns)) {
				close(fd);
				continue;
			}
			conns[nconns].fd = fd;
			conns[nconns].role = (enum tcp_role)i;
			sb_init(&conns[nconns].in, 0);
			nconns++;
		}
	}
}

/* ---- starting and stopping the servers ---------------------------------- */

static void start_servers(void)
{
	struct httpd_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.handler = handler;
	cfg.log = access_log;
	struct strbuf err = SB_INIT;
	struct httpd *srv = httpd_new(&cfg, &err);
	if (!srv)
		die("httpd_new: %s", err.buf);
	sb_release(&err);
	http_port = httpd_port(srv);
	fflush(stdout);
	http_pid = fork();
	if (http_pid < 0)
		die_errno("fork");
	if (http_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		g_srv = srv;
		httpd_run(srv);
		_exit(1);
	}
	httpd_free(srv);

	int lfd[3];
	lfd[ROLE_PONG] = listen_on(64, &pong_port);
	lfd[ROLE_ERR] = listen_on(64, &err_port);
	lfd[ROLE_CLOSE] = listen_on(64, &close_port);
	tcp_pid = fork();
	if (tcp_pid < 0)
		die_errno("fork");
	if (tcp_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		tcp_serve(lfd);
		_exit(1);
	}
	for (int i = 0; i < 3; i++)
		close(lfd[i]);

	/* A port with no listener: bound, then closed. */
	close(listen_on(1, &refused_port));

	/* A full accept queue: the next SYNs are dropped. */
	blackhole_fd = listen_on(0, &blackhole_port);
	blackhole_filler = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)blackhole_port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	connect(blackhole_filler, (struct sockaddr *)&sa, sizeof(sa));
	struct pollfd p = { .fd = blackhole_filler, .events = POLLOUT };
	poll(&p, 1, 1000);
}

static void stop_child(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

static void stop_servers(void)
{
	stop_child(http_pid);
	stop_child(tcp_pid);
	close(blackhole_filler);
	close(blackhole_fd);
}

/* GET a short body from the test server (for its counters). */
static char *fetch(const char *path)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)http_port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	struct strbuf in = SB_INIT;
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		char *req = xasprintf("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path);
		send_all(fd, req);
		free(req);
		sb_read_fd(&in, fd);
	}
	if (fd >= 0)
		close(fd);
	const char *body = strstr(in.buf, "\r\n\r\n");
	char *out = xstrdup(body ? body + 4 : "");
	sb_release(&in);
	return out;
}

/* ---- building specs -------------------------------------------------------- */

enum port_id { P_HTTP = 1, P_PONG, P_ERR, P_CLOSE, P_REFUSED, P_BLACKHOLE };

static int port_of(enum port_id p)
{
	switch (p) {
	case P_HTTP:
		return http_port;
	case P_PONG:
		return pong_port;
	case P_ERR:
		return err_port;
	case P_CLOSE:
		return close_port;
	case P_REFUSED:
		return refused_port;
	case P_BLACKHOLE:
		return blackhole_port;
	}
	return 0;
}

static char **strv(const char *const *v)
{
	if (!v)
		return NULL;
	size_t n = 0;
	while (v[n])
		n++;
	char **out = xcalloc(n + 1, sizeof(*out));
	for (size_t i = 0; i < n; i++)
		out[i] = xstrdup(v[i]);
	return out;
}

static const struct check_status_range only_200_or_5xx[] = { { 200, 200 }, { 500, 599 } };
static const struct check_status_range two_ranges[] = { { 200, 204 }, { 300, 300 } };

/* One row: a check and what it must come to. */
struct tcase {
	const char *name;
	enum check_kind kind;
	enum port_id port;
	const char *path;           /* http: path and query on port */
	const char *body_contains, *body_regex, *json_pointer, *json_value;
	enum check_json_op json_op;
	const struct check_status_range *status;
	size_t nstatus;
	int64_t warn, crit, timeout;
	int retries;
	const char *send, *expect;
	const char *shell;
	const char *const *argv, *const *env;
	const char *file;           /* heartbeat: name in tmpdir */
	bool jsonl;
	int64_t ttl;
	bool raw;                   /* leave the regexes for the runner to compile */
	/* expected */
	enum check_status want;
	const char *reason;         /* exact, or an fnmatch pattern if it holds * ? or [ */
	int attempts;               /* 0: 1 */
	int http_status;
	int exit_code;              /* exec only */
	const char *output;         /* exec only */
};

static void build(struct check_spec *s, const struct tcase *c)
{
	check_spec_init(s);
	s->kind = c->kind;
	if (c->timeout)
		s->timeout_ms = c->timeout;
	s->warn_ms = c->warn;
	s->crit_ms = c->crit;
	s->retries = c->retries;
	if (c->kind == CHECK_HTTP)
		s->url = xasprintf("http://127.0.0.1:%d%s", port_of(c->port), c->path);
	if (c->kind == CHECK_TCP) {
		s->host = xstrdup("127.0.0.1");
		s->port = port_of(c->port);
	}
	s->body_contains = c->body_contains ? xstrdup(c->body_contains) : NULL;
	s->body_regex = c->body_regex ? xstrdup(c->body_regex) : NULL;
	s->json_pointer = c->json_pointer ? xstrdup(c->json_pointer) : NULL;
	s->json_value = c->json_value ? xstrdup(c->json_value) : NULL;
	s->json_op = c->json_op;
	if (c->status) {
		s->status_ok = xmemdup(c->status, c->nstatus * sizeof(*c->status));
		s->nstatus_ok = c->nstatus;
	}
	s->send = c->send ? xstrdup(c->send) : NULL;
	s->expect = c->expect ? xstrdup(c->expect) : NULL;
	s->shell = c->shell ? xstrdup(c->shell) : NULL;
	s->argv = strv(c->argv);
	s->env = strv(c->env);
	if (c->file)
		s->file = xasprintf("%s/%s", tmpdir, c->file);
	s->file_jsonl = c->jsonl;
	if (c->ttl)
		s->ttl_ms = c->ttl;
}

/* What came back for one check. */
struct got {
	int calls;
	enum check_status status;
	char *reason, *output;
	int attempts, http_status, exit_code;
	double latency_ms, connect_ms;
	int64_t start_ns, age_ms;
};

static void record(void *user, const struct check_spec *spec, const struct check_result *res,
		   void *ctx)
{
	struct got *g = user;
	int *total = ctx;
	if (total)
		(*total)++;
	g->calls++;
	g->status = res->status;
	free(g->reason);
	free(g->output);
	g->reason = xstrdup(res->reason.buf);
	g->output = xstrdup(res->output.buf);
	g->attempts = res->attempts;
	g->http_status = res->http_status;
	g->exit_code = res->exit_code;
	g->latency_ms = res->latency_ms;
	g->connect_ms = res->connect_ms;
	g->start_ns = res->start_ns;
	g->age_ms = res->age_ms;
}

static void got_release(struct got *g)
{
	free(g->reason);
	free(g->output);
	memset(g, 0, sizeof(*g));
}

static void expect_reason(const char *name, const char *got, const char *want)
{
	if (strpbrk(want, "*?[")) {
		if (!ok(fnmatch(want, got, FNM_NOESCAPE) == 0, "%s: reason", name))
			diag("got '%s', want pattern '%s'", got, want);
	} else {
		char label[256];
		snprintf(label, sizeof(label), "%s: reason", name);
		is_str(got, want, label);
	}
}

/* ---- heartbeat files -------------------------------------------------------- */

static char *tmp_path(const char *name)
{
	return xasprintf("%s/%s", tmpdir, name);
}

static void write_file(const char *name, const char *text)
{
	char *p = tmp_path(name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		die_errno("cannot write '%s'", p);
	close(fd);
	free(p);
}

static void set_mtime_ago(const char *name, int seconds)
{
	char *p = tmp_path(name);
	struct timespec ts[2];
	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec -= seconds;
	ts[1] = ts[0];
	if (utimensat(AT_FDCWD, p, ts, 0) < 0)
		die_errno("cannot touch '%s'", p);
	free(p);
}

/* The ts of seconds ago, and a record line carrying it. */
static char *ts_ago(int seconds_ago, char ts[TS_BUFSZ])
{
	return ts_format(ts_now_ns() - (int64_t)seconds_ago * 1000000000, ts);
}

static char *beat_line(int seconds_ago, const char *extra)
{
	char ts[TS_BUFSZ];
	return xasprintf("{\"type\":\"beat\",\"ts\":\"%s\"%s}", ts_ago(seconds_ago, ts), extra);
}

static void make_heartbeat_files(void)
{
	write_file("fresh", "");
	write_file("old", "");
	set_mtime_ago("old", 93);
	write_file("old_ms", "");
	set_mtime_ago("old_ms", 2);

	char *a = beat_line(300, ""), *b = beat_line(5, ""), *c = beat_line(93, "");
	char *text = xasprintf("%s\n%s\n\n", a, b); /* trailing blank line skipped */
	write_file("beats.jsonl", text);
	free(text);
	text = xasprintf("%s\n%s\n", b, c);
	write_file("stale.jsonl", text);
	free(text);
	text = xasprintf("%s\n{\"type\":\"beat\"}\n", b);
	write_file("nots.jsonl", text);
	free(text);
	text = xasprintf("%s\n{\"type\":\"beat\",\"ts\":\"yesterday\"}\n", b);
	write_file("badts.jsonl", text);
	free(text);
	text = xasprintf("%s\n{\"type\":\"be", b); /* a record still being written */
	write_file("torn.jsonl", text);
	free(text);
	text = xasprintf("%s\nnot json at all\n", b);
	write_file("garbage.jsonl", text);
	free(text);
	write_file("empty.jsonl", "");

	/* A 4 MB file whose fresh record is last: only its tail may be read. */
	char *p = tmp_path("big.jsonl");
	FILE *f = fopen(p, "w");
	if (!f)
		die_errno("cannot write '%s'", p);
	for (int i = 0; i < 40000; i++)
		fprintf(f, "%s\n", a);
	/* A last line longer than the first read window. */
	fprintf(f, "{\"pad\":\"");
	for (int i = 0; i < 10000; i++)
		fputs("xxxxxxxxxx", f);
	char ts[TS_BUFSZ];
	fprintf(f, "\",\"ts\":\"%s\"}\n", ts_ago(5, ts));
	fclose(f);
	free(p);
	free(a);
	free(b);
	free(c);
}

/* ---- the table ---------------------------------------------------------- */

static const char *const missing_argv[] = { "/nonexistent/check_thing", NULL };
static const char *const env_argv[] = { "/bin/sh", "-c", "echo \"$GREETING\"; exit 1", NULL };
static const char *const env_vars[] = { "GREETING=hi there; $(exit 3)", NULL };

static const struct tcase table[] = {
	/* http: statuses */
	{ .name = "http ok", .kind = CHECK_HTTP, .port = P_HTTP, .path = "/ok", .want = CHECK_OK,
	  .reason = "", .http_status = 200 },
	{ .name = "http 503", .kind = CHECK_HTTP, .port = P_HTTP, .path = "/status/503",
	  .want = CHECK_CRITICAL, .reason = "status 503, want 200-399", .http_status = 503 },
	{ .name = "http 404 against two ranges", .kind = CHECK_HTTP, .port = P_HTTP,
	  .path = "/status/404", .status = two_ranges, .nstatus = 2, .want = CHECK_CRITICAL,
	  .reason = "status 404, want 200-204, 300", .http_status = 404 },
	{ .name = "http 503 accepted by 500-599", .kind = CHECK_HTTP, .port = P_HTTP,
	  .path = "/status/503", .status = only_200_or_5xx, .nstatus = 2, .want = CHECK_OK,
	  .reason = "", .http_status = 503 },
	{ .name = "http 302 in the default range", .kind = CHECK_HTTP, .port = P_HTTP,
	  .path = "/status/302", .want = CHECK_OK, .reason = "", .http_status = 302 },
	{ .name = "http 429", .kind = CHECK_HTTP, .port = P_HTTP, .path = "/429",
	  .want = CHECK_WARNING, .reason = "status 429 (too many requests)", .http_status = 429 },
	/* http: transport */
	{ .name = "http refused", .kind = CHECK_HTTP, .port = P_REFUSED, .path = "/ok",
	  .want = CHECK_CRITICAL, .reason = "connection refused" },
	{ .name = "http connect timeout", .kind = CHECK_HTTP, .port = P_BLACKHOLE, .path = "/ok",
	  .timeout = 300, .want = CHECK_CRITICAL, .reason = "timed out after 300 ms connecting" },
	{ .name = "http response timeout", .kind = CHECK_HTTP, .port = P_HTTP,
	  .path = "/slow?ms=3000", .timeout = 300, .want = CHECK_CRITICAL,
	  .reason = "timed out after 300 ms waiting for the response" },
	/* http: body */
	{ .name = "body contains", .kind = CHECK_HTTP, .port = P_HTTP, .path = "/ok",
	  .body_contains = "ok", .want = CHECK_OK, .reason = "", .http_status = 200 },
	{ .name = "body lacks", .kind = CHECK_HTTP, .port = P_HTTP, .path = "/ok",
	  .body_contains = "healthy", .want = CHECK_CRITICAL, .reason = "body lacks 'healthy'",
	  .http_status = 200 },
	{ .name = "body regex", .kind = CHECK_HTTP, .port = P_HTTP, .path = "/ok",
	  .body_regex = "^o+k$", .want = CHECK_OK, .reason = "" },
	{ .name = "body regex fails", .kind = CHECK_HTTP, .port = P_HTTP, .path = "/ok",
	  .body_regex = "^fine", .raw = true, .want = CHECK_CRITICAL, .reason = "body does not match '^fine'" },
	{ .name = "invalid regex", .kind = CHECK_HTTP, .port = P_HTTP, .path = "/ok",
	  .body_regex = "(", .raw = true, .retries = 3, .want = CHECK_UNKNOWN,
	  .reason = "invalid body_regex '(': *" },
	/* http: json */
	{ .name = "json equals fails", .kind = CHECK_HTTP, .port = P_HTTP, .path = "/json",
	  .json_pointer = "/status", .json_op = CHECK_JSON_EQUALS, .json_value = "ok",
	  .want = CHECK_CRITICAL, .reason = "/status is \"degraded\", want \"ok\"" },
	{ .name = "json equals", .kind = CHECK_HTTP, .port = P_HTTP, .path = "/json",
	  .json_pointer = "/status", .json_op = CHECK_JSON_EQUALS, .json_value = "degraded",
	  .want = CHECK_OK, .reason = "" },
	{ .name = "json not_equals fails", .kind = CHECK_HTTP, .port = P_HTTP, .path = "/json",
	  .json_pointer = "/status", .json_op = CHECK_JSON_NOT_EQUALS, .json_value = "degraded",
	  .want = CHECK_CRITICAL,
	  .reason = "/status is \"degraded\", want anything but \"degraded\"" },
	{ .name = "json equals number", .kind = CHECK_HTTP, .port = P_HTTP, .path = "/json",
	  .json_pointer = "/n", .json_op = CHECK_JSON_EQUALS, .json_value = "5.0",
	  .want = CHECK_OK, .reason = "" },
	{ .name = "json lt fails", .kind = CHECK_HTTP, .port = P_HTTP, .path = "/json",
	  .json_pointer = "/n", .json_op = CHECK_JSON_LT, .json_value = "3",
	  .want = CHECK_CRITICAL, .reason = "/n is 5, want < 3" },
	{ .name = "json le", .kind = CHECK_HTTP, .port = P_HTTP, .path = "/json",
	  .json_pointer = "/n", .json_op = CHECK_JSON_LE, .json_value = "5", .want = CHECK_OK,
	  .reason = "" },
	{ .name = "json gt compares numbers, not text", .kind = CHECK_HTTP, .port = P_HTTP,
	  .path = "/json", .json_pointer = "/n", .json_op = CHECK_JSON_GT, .json_value = "10",
	  .want = CHECK_CRITICAL, .reason = "/n is 5, want > 10" },
	{ .name = "json lt on text", .kind = CHECK_HTTP, .port = P_HTTP, .path = "/json",
	  .json_pointer = "/status", .json_op = CHECK_JSON_LT, .json_value = "ok",
	  .want = CHECK_OK, .reason = "" },
	{ .name = "json ge fails", .kind = CHECK_HTTP, .port = P_HTTP, .path = "/json",
	  .json_pointer = "/n", .json_op = CHECK_JSON_GE, .json_value = "6",
	  .want = CHECK_CRITICAL, .reason = "/n is 5, want >= 6" },
	{ .name = "json exists", .kind = CHECK_HTTP, .port = P_HTTP, .path = "/json",
	  .json_pointer = "/status", .json_op = CHECK_JSON_EXISTS, .want = CHECK_OK,
	  .reason = "" },
	{ .name = "json missing", .kind = CHECK_HTTP, .port = P_HTTP, .path = "/json",
	  .json_pointer = "/health/db", .json_op = CHECK_JSON_EXISTS, .want = CHECK_CRITICAL,
	  .reason = "/health/db is missing" },
	{ .name = "json not JSON", .kind = CHECK_HTTP, .port = P_HTTP, .path = "/ok",
	  .json_pointer = "/status", .json_op = CHECK_JSON_EQUALS, .json_value = "ok",
	  .want = CHECK_CRITICAL, .reason = "body is not JSON" },
	/* http: latency */
	{ .name = "latency warning", .kind = CHECK_HTTP, .port = P_HTTP, .path = "/slow?ms=150",
	  .warn = 50, .crit = 1000, .want = CHECK_WARNING,
	  .reason = "latency [1-9][0-9][0-9]* ms over warning threshold 50 ms" },
	{ .name = "latency critical", .kind = CHECK_HTTP, .port = P_HTTP, .path = "/slow?ms=150",
	  .warn = 50, .crit = 100, .want = CHECK_CRITICAL,
	  .reason = "latency [1-9][0-9][0-9]* ms over critical threshold 100 ms" },
	{ .name = "latency under thresholds", .kind = CHECK_HTTP, .port = P_HTTP, .path = "/ok",
	  .warn = 1000, .crit = 2000, .want = CHECK_OK, .reason = "" },
	/* http: retries */
	{ .name = "retry succeeds", .kind = CHECK_HTTP, .port = P_HTTP, .path = "/flaky/a",
	  .retries = 2, .want = CHECK_OK, .reason = "", .attempts = 2, .http_status = 200 },
	{ .name = "retries exhausted", .kind = CHECK_HTTP, .port = P_HTTP, .path = "/status/503",
	  .retries = 2, .want = CHECK_CRITICAL, .reason = "status 503, want 200-399",
	  .attempts = 3 },
	{ .name = "warning not retried", .kind = CHECK_HTTP, .port = P_HTTP, .path = "/429",
	  .retries = 2, .want = CHECK_WARNING, .reason = "status 429 (too many requests)",
	  .attempts = 1 },
	{ .name = "no retry without retries", .kind = CHECK_HTTP, .port = P_HTTP,
	  .path = "/flaky/b", .want = CHECK_CRITICAL, .reason = "status 503, want 200-399",
	  .attempts = 1 },
	/* tcp */
	{ .name = "tcp connect", .kind = CHECK_TCP, .port = P_PONG, .want = CHECK_OK,
	  .reason = "" },
	{ .name = "tcp ping pong", .kind = CHECK_TCP, .port = P_PONG, .send = "PING\r\n",
	  .expect = "^\\+PONG", .want = CHECK_OK, .reason = "" },
	{ .name = "tcp refused", .kind = CHECK_TCP, .port = P_REFUSED, .want = CHECK_CRITICAL,
	  .reason = "connection refused" },
	{ .name = "tcp refused retried", .kind = CHECK_TCP, .port = P_REFUSED, .retries = 1,
	  .want = CHECK_CRITICAL, .reason = "connection refused", .attempts = 2 },
	{ .name = "tcp connect timeout", .kind = CHECK_TCP, .port = P_BLACKHOLE, .timeout = 300,
	  .want = CHECK_CRITICAL, .reason = "timed out after 300 ms connecting" },
	{ .name = "tcp wrong reply", .kind = CHECK_TCP, .port = P_ERR, .send = "PING\r\n",
	  .expect = "^\\+PONG", .raw = true, .timeout = 300, .want = CHECK_CRITICAL,
	  .reason = "reply did not match '^\\+PONG' within 300 ms (got '-ERR unknown\\r\\n')" },
	{ .name = "tcp closed early", .kind = CHECK_TCP, .port = P_CLOSE, .expect = "^\\+PONG",
	  .want = CHECK_CRITICAL,
	  .reason = "connection closed before the reply matched '^\\+PONG' (got '+PO')" },
	{ .name = "tcp banner", .kind = CHECK_TCP, .port = P_ERR, .expect = "^-ERR",
	  .want = CHECK_OK, .reason = "" },
	/* exec */
	{ .name = "exec ok", .kind = CHECK_EXEC, .shell = "echo 'OK - fine | t=1s;;;0'; exit 0",
	  .want = CHECK_OK, .reason = "", .exit_code = 0, .output = "OK - fine | t=1s;;;0" },
	{ .name = "exec warning", .kind = CHECK_EXEC, .shell = "echo 'WARN - slow'; exit 1",
	  .want = CHECK_WARNING, .reason = "WARN - slow", .exit_code = 1,
	  .output = "WARN - slow" },
	{ .name = "exec critical keeps perfdata", .kind = CHECK_EXEC,
	  .shell = "printf 'DISK CRITICAL - / 91%% used|/=91%%;80;90\\nlong text\\n'; exit 2",
	  .want = CHECK_CRITICAL, .reason = "DISK CRITICAL - / 91% used|/=91%;80;90",
	  .exit_code = 2, .output = "DISK CRITICAL - / 91% used|/=91%;80;90" },
	{ .name = "exec unknown", .kind = CHECK_EXEC, .shell = "echo 'UNKNOWN - no idea'; exit 3",
	  .want = CHECK_UNKNOWN, .reason = "UNKNOWN - no idea", .exit_code = 3,
	  .output = "UNKNOWN - no idea" },
	{ .name = "exec silent failure", .kind = CHECK_EXEC, .shell = "exit 2",
	  .want = CHECK_CRITICAL, .reason = "exit 2 with no output", .exit_code = 2,
	  .output = "" },
	{ .name = "exec stderr only", .kind = CHECK_EXEC, .shell = "echo oops >&2; exit 2",
	  .want = CHECK_CRITICAL, .reason = "exit 2: oops", .exit_code = 2, .output = "" },
	{ .name = "exec odd exit", .kind = CHECK_EXEC, .shell = "echo weird; exit 7",
	  .want = CHECK_UNKNOWN, .reason = "exit 7: weird", .exit_code = 7, .output = "weird" },
	{ .name = "exec signal", .kind = CHECK_EXEC, .shell = "kill -9 $$", .want = CHECK_UNKNOWN,
	  .reason = "killed by signal 9", .exit_code = -1, .output = "" },
	{ .name = "exec timeout", .kind = CHECK_EXEC, .shell = "echo started; sleep 5",
	  .timeout = 300, .want = CHECK_CRITICAL, .reason = "timed out after 300 ms",
	  .exit_code = -1, .output = "started" },
	{ .name = "exec cannot run", .kind = CHECK_EXEC, .argv = missing_argv,
	  .want = CHECK_UNKNOWN,
	  .reason = "cannot run '/nonexistent/check_thing': No such file or directory",
	  .exit_code = -1, .output = "" },
	{ .name = "exec argv with env", .kind = CHECK_EXEC, .argv = env_argv, .env = env_vars,
	  .want = CHECK_WARNING, .reason = "hi there; $(exit 3)", .exit_code = 1,
	  .output = "hi there; $(exit 3)" },
	{ .name = "exec latency", .kind = CHECK_EXEC, .shell = "sleep 0.15; echo OK", .warn = 50,
	  .want = CHECK_WARNING, .reason = "latency [1-9][0-9][0-9]* ms over warning threshold 50 ms",
	  .exit_code = 0, .output = "OK" },
	/* heartbeat */
	{ .name = "heartbeat fresh", .kind = CHECK_HEARTBEAT, .file = "fresh", .ttl = 60000,
	  .want = CHECK_OK, .reason = "" },
	{ .name = "heartbeat old", .kind = CHECK_HEARTBEAT, .file = "old", .ttl = 60000,
	  .want = CHECK_CRITICAL, .reason = "heartbeat 93 s old, ttl 60 s" },
	{ .name = "heartbeat old, ms ttl", .kind = CHECK_HEARTBEAT, .file = "old_ms", .ttl = 1500,
	  .want = CHECK_CRITICAL, .reason = "heartbeat 2[0-9][0-9][0-9] ms old, ttl 1500 ms" },
	{ .name = "heartbeat missing", .kind = CHECK_HEARTBEAT, .file = "nope", .ttl = 60000,
	  .want = CHECK_CRITICAL, .reason = "no heartbeat: '/tmp/ofs-test-check-*/nope' does not exist" },
	{ .name = "jsonl fresh", .kind = CHECK_HEARTBEAT, .file = "beats.jsonl", .jsonl = true,
	  .ttl = 60000, .want = CHECK_OK, .reason = "" },
	{ .name = "jsonl fresh, short ttl", .kind = CHECK_HEARTBEAT, .file = "beats.jsonl",
	  .jsonl = true, .ttl = 3000, .want = CHECK_CRITICAL,
	  .reason = "heartbeat 5 s old, ttl 3 s" },
	{ .name = "jsonl stale", .kind = CHECK_HEARTBEAT, .file = "stale.jsonl", .jsonl = true,
	  .ttl = 60000, .want = CHECK_CRITICAL, .reason = "heartbeat 93 s old, ttl 60 s" },
	{ .name = "jsonl no ts", .kind = CHECK_HEARTBEAT, .file = "nots.jsonl", .jsonl = true,
	  .ttl = 60000, .want = CHECK_UNKNOWN,
	  .reason = "last line of '/tmp/ofs-test-check-*/nots.jsonl' has no \"ts\"" },
	{ .name = "jsonl bad ts", .kind = CHECK_HEARTBEAT, .file = "badts.jsonl", .jsonl = true,
	  .ttl = 60000, .want = CHECK_UNKNOWN,
	  .reason = "last line of '/tmp/ofs-test-check-*/badts.jsonl' has an invalid \"ts\" \"yesterday\"" },
	{ .name = "jsonl not json", .kind = CHECK_HEARTBEAT, .file = "garbage.jsonl",
	  .jsonl = true, .ttl = 60000, .want = CHECK_UNKNOWN,
	  .reason = "last line of '/tmp/ofs-test-check-*/garbage.jsonl' is not JSON" },
	{ .name = "jsonl torn last line", .kind = CHECK_HEARTBEAT, .file = "torn.jsonl",
	  .jsonl = true, .ttl = 60000, .want = CHECK_OK, .reason = "" },
	{ .name = "jsonl empty", .kind = CHECK_HEARTBEAT, .file = "empty.jsonl", .jsonl = true,
	  .ttl = 60000, .want = CHECK_UNKNOWN,
	  .reason = "no record in '/tmp/ofs-test-check-*/empty.jsonl'" },
	{ .name = "jsonl missing", .kind = CHECK_HEARTBEAT, .file = "nope.jsonl", .jsonl = true,
	  .ttl = 60000, .want = CHECK_CRITICAL,
	  .reason = "no heartbeat: '/tmp/ofs-test-check-*/nope.jsonl' does not exist" },
	{ .name = "jsonl big file, long last line", .kind = CHECK_HEARTBEAT, .file = "big.jsonl",
	  .jsonl = true, .ttl = 60000, .want = CHECK_OK, .reason = "" },
};

static void test_table(void)
{
	size_t n = ARRAY_SIZE(table);
	struct check_spec *specs = xcalloc(n, sizeof(*specs));
	struct got *got = xcalloc(n, sizeof(*got));
	struct check_runner *r = check_runner_new(64, 16, 0);
	for (size_t i = 0; i < n; i++) {
		build(&specs[i], &table[i]);
		if (!table[i].raw) {
			struct strbuf err = SB_INIT;
			if (check_spec_compile(&specs[i], &err) < 0)
				diag("%s: %s", table[i].name, err.buf);
			sb_release(&err);
		}
		check_runner_add(r, &specs[i], &got[i]);
	}
	int total = 0;
	int64_t t0 = mono_ms();
	is_int(check_runner_run(r, record, &total), 0, "table: run returns 0");
	diag("table of %zu checks ran in %" PRId64 " ms", n, mono_ms() - t0);
	is_int(total, (long long)n, "table: one callback per check");
	for (size_t i = 0; i < n; i++) {
		const struct tcase *c = &table[i];
		struct got *g = &got[i];
		char label[256];
		snprintf(label, sizeof(label), "%s: called once", c->name);
		is_int(g->calls, 1, label);
		snprintf(label, sizeof(label), "%s: status %s", c->name, check_status_name(c->want));
		is_str(check_status_name(g->status), check_status_name(c->want), label);
		expect_reason(c->name, g->reason ? g->reason : "", c->reason);
		snprintf(label, sizeof(label), "%s: attempts", c->name);
		is_int(g->attempts, c->attempts ? c->attempts : 1, label);
		if (c->http_status) {
			snprintf(label, sizeof(label), "%s: http status", c->name);
			is_int(g->http_status, c->http_status, label);
		}
		if (c->kind == CHECK_EXEC) {
			snprintf(label, sizeof(label), "%s: exit code", c->name);
			is_int(g->exit_code, c->exit_code, label);
			snprintf(label, sizeof(label), "%s: output", c->name);
			is_str(g->output, c->output, label);
		} else {
			snprintf(label, sizeof(label), "%s: no exit code, no output", c->name);
			ok(g->exit_code == -1 && !strcmp(g->output, ""), "%s", label);
		}
		if (c->kind == CHECK_HEARTBEAT && c->want == CHECK_OK) {
			snprintf(label, sizeof(label), "%s: age known", c->name);
			ok(g->age_ms >= 0 && g->age_ms < c->ttl, "%s", label);
		}
	}
	/* Spot checks of the numbers. */
	ok(got[0].latency_ms > 0 && got[0].latency_ms < 2000, "http latency measured (%.2f ms)",
	   got[0].latency_ms);
	ok(got[0].start_ns > 0 && got[0].start_ns <= ts_now_ns(), "start_ns is wall time");
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(table[i].name, "tcp ping pong"))
			ok(got[i].connect_ms > 0 && got[i].connect_ms <= got[i].latency_ms,
			   "tcp connect_ms within latency");
	}
	char *hits = fetch("/hits/a");
	is_str(hits, "2", "the flaky endpoint saw exactly 2 requests");
	free(hits);

	check_runner_free(r);
	for (size_t i = 0; i < n; i++) {
		check_spec_release(&specs[i]);
		got_release(&got[i]);
	}
	free(specs);
	free(got);
}

/* ---- specs, names, results ------------------------------------------------ */

static void test_spec_basics(void)
{
	struct check_spec s;
	check_spec_init(&s);
	is_int(s.kind, CHECK_HTTP, "init: kind http");
	is_int(s.timeout_ms, 2000, "init: timeout 2 s");
	is_int(s.retries, 0, "init: no retries");
	is_int(s.warn_ms + s.crit_ms, 0, "init: no thresholds");
	ok(!s.method && !s.status_ok && !s.url, "init: GET, 200-399, no url");

	s.url = xstrdup("http://127.0.0.1:1/x");
	s.method = xstrdup("HEAD");
	const char *h[] = { "X-A: 1", "X-B: 2", NULL };
	s.headers = strv(h);
	s.body_regex = xstrdup("^ok");
	s.expect = xstrdup("PONG$");
	s.status_ok = xmemdup(two_ranges, sizeof(two_ranges));
	s.nstatus_ok = 2;
	const char *e[] = { "A=1", NULL };
	s.env = strv(e);
	struct strbuf err = SB_INIT;
	is_int(check_spec_compile(&s, &err), 0, "compile: both regexes");
	ok(s.body_re_ready && s.expect_re_ready, "compile: both ready");
	is_int(check_spec_compile(&s, &err), 0, "compile again: no leak, still fine");

	struct check_spec c;
	check_spec_copy(&c, &s);
	ok(c.url != s.url && !strcmp(c.url, s.url), "copy: url deep");
	ok(c.headers != s.headers && !strcmp(c.headers[1], "X-B: 2") && !c.headers[2],
	   "copy: headers deep");
	ok(c.status_ok != s.status_ok && c.nstatus_ok == 2 && c.status_ok[1].lo == 300,
	   "copy: status ranges deep");
	ok(c.body_re_ready && c.expect_re_ready, "copy: regexes compiled anew");
	ok(regexec(&c.body_re, "ok then", 0, NULL, 0) == 0 &&
	   regexec(&c.body_re, "not ok", 0, NULL, 0) != 0, "copy: copied regex works");
	ok(regexec(&c.expect_re, "+PONG\nmore", 0, NULL, 0) == 0, "regex: $ matches at a line end");
	check_spec_release(&s);
	ok(!strcmp(c.env[0], "A=1"), "copy survives the original's release");
	check_spec_release(&c);
	check_spec_release(&c); /* released twice: still fine */
	is_int(c.timeout_ms, 2000, "release leaves an initialised spec");

	check_spec_init(&s);
	s.body_regex = xstrdup("a(b");
	sb_reset(&err);
	is_int(check_spec_compile(&s, &err), -1, "compile: bad body_regex fails");
	ok(!strncmp(err.buf, "invalid body_regex 'a(b': ", 26), "compile: the reason names it (%s)",
	   err.buf);
	ok(!s.body_re_ready, "compile: nothing left compiled");
	check_spec_release(&s);
	check_spec_init(&s);
	s.expect = xstrdup("[z-a]");
	sb_reset(&err);
	is_int(check_spec_compile(&s, &err), -1, "compile: bad expect fails");
	ok(!strncmp(err.buf, "invalid expect '[z-a]': ", 24), "compile: expect named (%s)",
	   err.buf);
	check_spec_release(&s);
	sb_release(&err);

	static const struct {
		enum check_kind k;
		const char *name;
	} kinds[] = { { CHECK_HTTP, "http" }, { CHECK_TCP, "tcp" }, { CHECK_EXEC, "exec" },
		      { CHECK_HEARTBEAT, "heartbeat" } };
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		is_str(check_kind_name(kinds[i].k), kinds[i].name, kinds[i].name);
	static const struct {
		enum check_status s;
		const char *name;
	} sts[] = { { CHECK_OK, "ok" }, { CHECK_WARNING, "warning" }, { CHECK_CRITICAL, "critical" },
		    { CHECK_UNKNOWN, "unknown" } };
	for (size_t i = 0; i < ARRAY_SIZE(sts); i++)
		is_str(check_status_name(sts[i].s), sts[i].name, sts[i].name);

	struct check_result res;
	check_result_init(&res);
	ok(res.status == CHECK_UNKNOWN && res.exit_code == -1 && res.attempts == 0 &&
	   res.reason.len == 0 && res.age_ms == -1, "result init");
	sb_addstr(&res.reason, "x");
	check_result_release(&res);
	ok(res.reason.len == 0 && res.exit_code == -1, "result release empties it");
}

/* ---- concurrency ---------------------------------------------------------- */

static void test_mixed_load(void)
{
	enum { NHTTP = 300, NTCP = 50, NEXEC = 30, N = NHTTP + NTCP + NEXEC };
	struct check_spec *specs = xcalloc(N, sizeof(*specs));
	struct got *got = xcalloc(N, sizeof(*got));
	enum check_status *want = xcalloc(N, sizeof(*want));
	struct check_runner *r = check_runner_new(64, 8, 0);
	free(fetch("/maxconc")); /* reset the server's count */
	for (int i = 0; i < N; i++) {
		struct check_spec *s = &specs[i];
		check_spec_init(s);
		if (i < NHTTP) {
			bool bad = i % 10 == 3;
			s->url = xasprintf("http://127.0.0.1:%d%s", http_port, bad ? "/status/500" : "/hold");
			s->body_contains = bad ? NULL : xstrdup("ok");
			want[i] = bad ? CHECK_CRITICAL : CHECK_OK;
		} else if (i < NHTTP + NTCP) {
			bool bad = i % 7 == 0;
			s->kind = CHECK_TCP;
			s->host = xstrdup("127.0.0.1");
			s->port = bad ? refused_port : pong_port;
			s->send = xstrdup("PING\r\n");
			s->expect = xstrdup("^\\+PONG");
			want[i] = bad ? CHECK_CRITICAL : CHECK_OK;
		} else {
			int code = i % 4;
			s->kind = CHECK_EXEC;
			s->shell = xasprintf("sleep 0.02; echo 'check %d'; exit %d", i, code);
			want[i] = (enum check_status)code;
		}
		struct strbuf err = SB_INIT;
		check_spec_compile(s, &err);
		sb_release(&err);
		check_runner_add(r, s, &got[i]);
	}
	int total = 0;
	int64_t t0 = mono_ms();
	is_int(check_runner_run(r, record, &total), 0, "mixed: run returns 0");
	diag("mixed run of %d checks (cap 64) in %" PRId64 " ms", N, mono_ms() - t0);
	is_int(total, N, "mixed: one callback per check");
	int wrong = 0, calls = 0;
	for (int i = 0; i < N; i++) {
		calls += got[i].calls == 1;
		bool right = got[i].status == want[i];
		if (i >= NHTTP + NTCP) {
			char out[32];
			snprintf(out, sizeof(out), "check %d", i);
			right = right && !strcmp(got[i].output, out) && got[i].exit_code == i % 4;
		}
		if (!right && wrong++ < 5)
			diag("check %d: %s '%s'", i, check_status_name(got[i].status), got[i].reason);
	}
	is_int(calls, N, "mixed: every check reported exactly once");
	is_int(wrong, 0, "mixed: every status (and exec output) right");
	char *max = fetch("/maxconc");
	long m = strtol(max, NULL, 10);
	ok(m > 8 && m <= 64, "mixed: http requests held at once %ld, within the cap of 64", m);
	free(max);

	/* The runner keeps working for a second round. */
	for (int i = 0; i < N; i += 50)
		check_runner_add(r, &specs[i], &got[i]);
	total = 0;
	is_int(check_runner_run(r, record, &total), 0, "second round on the same runner");
	is_int(total, (N + 49) / 50, "second round: its checks only");

	check_runner_free(r);
	for (int i = 0; i < N; i++) {
		check_spec_release(&specs[i]);
		got_release(&got[i]);
	}
	free(specs);
	free(got);
	free(want);
}

/* ---- the caps, seen from the results ---------------------------------------- */

static int cmp_event(const void *a, const void *b)
{
	const int64_t *x = a, *y = b;
	if (x[0] != y[0])
		return x[0] < y[0] ? -1 : 1;
	return (int)(x[1] - y[1]); /* at the same instant, ends (-1) before starts (+1) */
}

/*
 * The most results whose [start, start + latency - 2 ms] overlap. Each
 * lies within the time its check held a slot (the 2 ms absorb exec
 * durations counted in whole milliseconds), so this is a lower bound of
 * the checks really in flight at once, and can never exceed a working cap.
 */
static int max_overlap(const struct got *g, size_t n)
{
	int64_t (*ev)[2] = xcalloc(2 * n, sizeof(*ev));
	for (size_t i = 0; i < n; i++) {
		ev[2 * i][0] = g[i].start_ns;
		ev[2 * i][1] = 1;
		ev[2 * i + 1][0] = g[i].start_ns + (int64_t)(g[i].latency_ms * 1e6) - 2000000;
		ev[2 * i + 1][1] = -1;
	}
	qsort(ev, 2 * n, sizeof(*ev), cmp_event);
	int cur = 0, max = 0;
	for (size_t i = 0; i < 2 * n; i++) {
		cur += (int)ev[i][1];
		if (cur > max)
			max = cur;
	}
	free(ev);
	return max;
}

static void test_caps(void)
{
	enum { EACH = 16, N = 3 * EACH };
	struct check_spec specs[N];
	struct got got[N];
	memset(got, 0, sizeof(got));
	struct check_runner *r = check_runner_new(8, EACH, 0);
	for (int i = 0; i < N; i++) {
		struct check_spec *s = &specs[i];
		check_spec_init(s);
		s->timeout_ms = 60;
		if (i % 3 == 0) {
			s->url = xasprintf("http://127.0.0.1:%d/slow?ms=40", http_port);
		} else if (i % 3 == 1) {
			s->kind = CHECK_TCP; /* a reply that never matches: the 60 ms timeout */
			s->host = xstrdup("127.0.0.1");
			s->port = err_port;
			s->expect = xstrdup("^never");
		} else {
			s->kind = CHECK_EXEC;
			s->shell = xstrdup("sleep 0.04");
			s->timeout_ms = 2000;
		}
		check_runner_add(r, s, &got[i]);
	}
	is_int(check_runner_run(r, record, NULL), 0, "cap: run");
	int m = max_overlap(got, N);
	ok(m >= 3 && m <= 8, "cap: at most 8 checks of any kind at once (saw %d)", m);
	check_runner_free(r);
	for (int i = 0; i < N; i++) {
		check_spec_release(&specs[i]);
		got_release(&got[i]);
	}

	/* proc_limit binds exec checks alone, below the overall cap. */
	r = check_runner_new(64, 3, 0);
	for (int i = 0; i < 9; i++) {
		check_spec_init(&specs[i]);
		specs[i].kind = CHECK_EXEC;
		specs[i].shell = xstrdup("sleep 0.04; echo OK");
		check_runner_add(r, &specs[i], &got[i]);
	}
	/* Meanwhile http checks are not held up behind the waiting execs. */
	for (int i = 9; i < 9 + EACH; i++) {
		check_spec_init(&specs[i]);
		specs[i].url = xasprintf("http://127.0.0.1:%d/ok", http_port);
		check_runner_add(r, &specs[i], &got[i]);
	}
	is_int(check_runner_run(r, record, NULL), 0, "proc_limit: run");
	m = max_overlap(got, 9);
	ok(m >= 2 && m <= 3, "proc_limit: at most 3 exec checks at once (saw %d)", m);
	int64_t last_exec_start = 0, last_http_end = 0;
	for (int i = 0; i < 9; i++)
		if (got[i].start_ns > last_exec_start)
			last_exec_start = got[i].start_ns;
	for (int i = 9; i < 9 + EACH; i++) {
		int64_t end = got[i].start_ns + (int64_t)(got[i].latency_ms * 1e6);
		if (end > last_http_end)
			last_http_end = end;
	}
	ok(last_http_end < last_exec_start, "proc_limit: http checks ran while execs waited");
	check_runner_free(r);
	for (int i = 0; i < 9 + EACH; i++) {
		check_spec_release(&specs[i]);
		got_release(&got[i]);
	}
}

/* ---- jitter, adding from the callback ---------------------------------------- */

static void test_jitter(void)
{
	enum { N = 20 };
	struct check_spec s;
	check_spec_init(&s);
	s.kind = CHECK_HEARTBEAT;
	s.file = tmp_path("fresh");
	struct got got[N];
	memset(got, 0, sizeof(got));
	struct check_runner *r = check_runner_new(64, 0, 200);
	for (int i = 0; i < N; i++)
		check_runner_add(r, &s, &got[i]);
	int64_t t0 = ts_now_ns();
	is_int(check_runner_run(r, record, NULL), 0, "jitter: run");
	int64_t lo = INT64_MAX, hi = INT64_MIN;
	for (int i = 0; i < N; i++) {
		if (got[i].start_ns < lo)
			lo = got[i].start_ns;
		if (got[i].start_ns > hi)
			hi = got[i].start_ns;
	}
	ok(lo >= t0 && hi - t0 <= 300 * 1000000LL, "jitter: starts within the window");
	ok(hi - lo >= 10 * 1000000LL, "jitter: starts spread out (%.1f ms)",
	   (double)(hi - lo) / 1e6);
	check_runner_set_jitter(r, 0);
	for (int i = 0; i < N; i++)
		got_release(&got[i]);
	check_runner_free(r);
	check_spec_release(&s);
}

struct chain {
	struct check_runner *r;
	const struct check_spec *next;
	struct got first, second;
	int added;
};

static void chain_done(void *user, const struct check_spec *spec, const struct check_result *res,
		       void *ctx)
{
	struct chain *c = ctx;
	record(user, spec, res, NULL);
	if (user == &c->first && !c->added++)
		check_runner_add(c->r, c->next, &c->second);
}

static void test_add_from_callback(void)
{
	struct check_spec a, b;
	check_spec_init(&a);
	a.url = xasprintf("http://127.0.0.1:%d/ok", http_port);
	check_spec_init(&b);
	b.kind = CHECK_TCP;
	b.host = xstrdup("127.0.0.1");
	b.port = refused_port;
	struct chain c;
	memset(&c, 0, sizeof(c));
	c.r = check_runner_new(4, 0, 0);
	c.next = &b;
	check_runner_add(c.r, &a, &c.first);
	is_int(check_runner_run(c.r, chain_done, &c), 0, "callback add: run");
	ok(c.first.calls == 1 && c.first.status == CHECK_OK, "callback add: first ran");
	ok(c.second.calls == 1 && !strcmp(c.second.reason, "connection refused"),
	   "callback add: the added check ran in the same run");
	got_release(&c.first);
	got_release(&c.second);
	check_runner_free(c.r);
	check_spec_release(&a);
	check_spec_release(&b);
}

/* ---- a real Nagios plugin ---------------------------------------------------- */

static void test_nagios_plugin(void)
{
	const char *plugin = "/usr/lib/nagios/plugins/check_tcp";
	if (access(plugin, X_OK) != 0) {
		ok(1, "# SKIP %s not installed (monitoring-plugins-basic)", plugin);
		return;
	}
	struct check_spec up, down;
	char port_up[16], port_down[16];
	snprintf(port_up, sizeof(port_up), "%d", pong_port);
	snprintf(port_down, sizeof(port_down), "%d", refused_port);
	const char *argv_up[] = { plugin, "-H", "127.0.0.1", "-p", port_up, NULL };
	const char *argv_down[] = { plugin, "-H", "127.0.0.1", "-p", port_down, NULL };
	check_spec_init(&up);
	up.kind = CHECK_EXEC;
	up.argv = strv(argv_up);
	check_spec_init(&down);
	down.kind = CHECK_EXEC;
	down.argv = strv(argv_down);
	struct got g_up, g_down;
	memset(&g_up, 0, sizeof(g_up));
	memset(&g_down, 0, sizeof(g_down));
	struct check_runner *r = check_runner_new(8, 4, 0);
	check_runner_add(r, &up, &g_up);
	check_runner_add(r, &down, &g_down);
	is_int(check_runner_run(r, record, NULL), 0, "nagios: run");
	is_str(check_status_name(g_up.status), "ok", "nagios check_tcp: up is ok");
	ok(!strncmp(g_up.output, "TCP OK - ", 9) && strstr(g_up.output, "|time="),
	   "nagios: output with perfdata kept (%s)", g_up.output);
	is_str(g_up.reason, "", "nagios: no reason when ok");
	is_str(check_status_name(g_down.status), "critical", "nagios check_tcp: refused is critical");
	is_int(g_down.exit_code, 2, "nagios: exit code 2");
	ok(strstr(g_down.reason, "Connection refused") != NULL, "nagios: reason is its line (%s)",
	   g_down.reason);
	check_runner_free(r);
	got_release(&g_up);
	got_release(&g_down);
	check_spec_release(&up);
	check_spec_release(&down);
}

/* ---- SIGTERM mid-run ------------------------------------------------------ */

static void test_sigterm(void)
{
	sig_setup();
	enum { N = 12 };
	struct check_spec specs[N];
	struct got got[N];
	memset(got, 0, sizeof(got));
	char *pidfile = tmp_path("exec.pid");
	struct check_runner *r = check_runner_new(64, 4, 0);
	for (int i = 0; i < N; i++) {
		struct check_spec *s = &specs[i];
		check_spec_init(s);
		s->timeout_ms = 10000;
		if (i < 4) {
			s->url = xasprintf("http://127.0.0.1:%d/slow?ms=5000", http_port);
		} else if (i < 8) {
			s->kind = CHECK_TCP;
			s->host = xstrdup("127.0.0.1");
			s->port = blackhole_port;
		} else {
			s->kind = CHECK_EXEC;
			s->shell = i == 8 ? xasprintf("echo $$ > '%s'; exec sleep 10", pidfile)
					  : xstrdup("sleep 10");
		}
		check_runner_add(r, s, &got[i]);
	}
	fflush(stdout);
	pid_t killer = fork();
	if (killer == 0) {
		sleep_ms(250);
		kill(getppid(), SIGTERM);
		_exit(0);
	}
	int total = 0;
	int64_t t0 = mono_ms();
	int rc = check_runner_run(r, record, &total);
	int64_t took = mono_ms() - t0;
	waitpid(killer, NULL, 0);
	is_int(rc, -1, "sigterm: run returns -1");
	is_int(sig_pending(), SIGTERM, "sigterm: the signal is left pending for the caller");
	ok(took >= 200 && took < 450, "sigterm: returned promptly (%" PRId64 " ms, signal at 250)",
	   took);
	is_int(total, 0, "sigterm: abandoned checks are not reported");
	struct strbuf pid = SB_INIT;
	if (sb_read_file(&pid, pidfile) == 0) {
		long p = strtol(pid.buf, NULL, 10);
		ok(p > 0 && kill((pid_t)p, 0) < 0 && errno == ESRCH, "sigterm: exec child is gone");
	} else {
		ok(0, "sigterm: the exec check wrote its pid");
	}
	sb_release(&pid);

	/* Already pending: returns at once, without starting anything. */
	check_runner_add(r, &specs[0], &got[0]);
	t0 = mono_ms();
	is_int(check_runner_run(r, record, &total), -1, "sigterm pending: -1 at once");
	ok(mono_ms() - t0 < 50 && total == 0, "sigterm pending: nothing ran");

	/* After sig_reset the same runner works again. */
	sig_reset();
	struct check_spec ok_spec;
	check_spec_init(&ok_spec);
	ok_spec.url = xasprintf("http://127.0.0.1:%d/ok", http_port);
	struct got g;
	memset(&g, 0, sizeof(g));
	check_runner_add(r, &ok_spec, &g);
	is_int(check_runner_run(r, record, NULL), 0, "after reset: run");
	is_str(check_status_name(g.status), "ok", "after reset: http works again");
	got_release(&g);
	check_spec_release(&ok_spec);

	check_runner_free(r);
	for (int i = 0; i < N; i++) {
		check_spec_release(&specs[i]);
		got_release(&got[i]);
	}
	unlink(pidfile);
	free(pidfile);
}

/* ---- main ------------------------------------------------------------------ */

static void remove_tmpdir(void)
{
	static const char *const names[] = { "fresh", "old", "old_ms", "beats.jsonl",
		"stale.jsonl", "nots.jsonl", "badts.jsonl", "torn.jsonl", "garbage.jsonl",
		"empty.jsonl", "big.jsonl" };
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		char *p = tmp_path(names[i]);
		unlink(p);
		free(p);
	}
	rmdir(tmpdir);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	if (!mkdtemp(tmpdir))
		die_errno("cannot create a temporary directory");
	start_servers();
	make_heartbeat_files();

	test_spec_basics();
	test_table();
	test_mixed_load();
	test_caps();
	test_jitter();
	test_add_from_callback();
	test_nagios_plugin();
	test_sigterm();

	stop_servers();
	remove_tmpdir();
	return tap_done();
}
