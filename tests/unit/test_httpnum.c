/*
 * test_httpnum.c: unit tests for httpnum.c: numbers out of HTTP JSON
 * answers, against an httpd.h server forked on 127.0.0.1 that serves a
 * canned body per path (Prometheus answers, "NaN", empty results, bad
 * JSON, error statuses, a slow answer). Each case states the result
 * (value, no data, or the exact error); hn_text and hn_node are also
 * tested on their own, without HTTP.
 */
#include "common.h"
#include <math.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "httpd.h"
#include "httpnum.h"
#include "jsonpath.h"
#include "tap.h"

#define PROM(v) "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[" \
		"{\"metric\":{\"job\":\"cart\"},\"value\":[1795255200," v "]}]}}"

static const struct {
	const char *path;
	int status;
	int delay_ms;
	const char *body;
} pages[] = {
	{ "/prom", 200, 0, PROM("\"0.05\"") },
	{ "/prom-nan", 200, 0, PROM("\"NaN\"") },
	{ "/prom-empty", 200, 0, "{\"status\":\"success\",\"data\":{\"result\":[]}}" },
	{ "/number", 200, 0, "42.5\n" },
	{ "/blank", 200, 0, " \r\n" },
	{ "/text", 200, 0, "hello" },
	{ "/word", 200, 0, "{\"v\":\"high\"}" },
	{ "/bool", 200, 0, "{\"v\":true}" },
	{ "/null", 200, 0, "{\"v\":null}" },
	{ "/huge", 200, 0, "{\"v\":1e999}" },
	{ "/down", 503, 0, "unavailable" },
	{ "/slow", 200, 2000, "1" },
};

static void handler(struct httpd_request *req, struct httpd_response *resp, void *user)
{
	(void)user;
	for (size_t i = 0; i < ARRAY_SIZE(pages); i++) {
		if (strcmp(req->path, pages[i].path))
			continue;
		resp->status = pages[i].status;
		resp->delay_ms = pages[i].delay_ms;
		httpd_response_header(resp, "Content-Type", "application/json");
		sb_addstr(&resp->body, pages[i].body);
		return;
	}
	resp->status = 404;
}

static struct httpd *g_srv;

static void on_term(int sig)
{
	(void)sig;
	httpd_stop(g_srv);
}

static pid_t spawn_server(int *port)
{
	struct httpd_config cfg;
	struct strbuf err = SB_INIT;
	memset(&cfg, 0, sizeof(cfg));
	cfg.handler = handler;
	struct httpd *srv = httpd_new(&cfg, &err);
	if (!srv) {
		diag("httpd_new: %s", err.buf);
		sb_release(&err);
		return -1;
	}
	sb_release(&err);
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
		exit(r == 0 ? 0 : 1);
	}
	httpd_free(srv);
	return pid;
}

static void stop_server(pid_t pid)
{
	int st;
	kill(pid, SIGTERM);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
}

/* Expected: rc 1 with value, 0, or -1 with err ("URL" stands for the url). */
static const struct {
	const char *path;
	const char *jsonpath;
	long timeout_ms;
	int rc;
	double value;
	const char *err;
} cases[] = {
	{ "/prom", "$.data.result[0].value[1]", 0, 1, 0.05, NULL },
	{ "/prom", "$.data.result[0].value[0]", 0, 1, 1795255200, NULL },
	{ "/prom-nan", "$.data.result[0].value[1]", 0, 0, 0, NULL },
	{ "/prom-empty", "$.data.result[0].value[1]", 0, 0, 0, NULL },
	{ "/prom-empty", "$.data.result", 0, 0, 0, NULL },
	{ "/number", NULL, 0, 1, 42.5, NULL },
	{ "/blank", NULL, 0, 0, 0, NULL },
	{ "/blank", "$.v", 0, 0, 0, NULL },
	{ "/null", "$.v", 0, 0, 0, NULL },
	{ "/text", "$.v", 0, -1, 0, "the response from 'URL' is not JSON" },
	{ "/word", "$.v", 0, -1, 0,
	  "the value at '$.v' in the response from 'URL' is \"high\", not a number" },
	{ "/bool", "$.v", 0, -1, 0,
	  "the value at '$.v' in the response from 'URL' is a boolean, not a number" },
	{ "/prom", "$.data", 0, -1, 0,
	  "the value at '$.data' in the response from 'URL' is an object, not a number" },
	{ "/prom", NULL, 0, -1, 0, "the response from 'URL' is an object, not a number" },
	{ "/huge", "$.v", 0, -1, 0, "the response from 'URL' is not a finite number" },
	{ "/down", NULL, 0, -1, 0, "http 503 from 'URL'" },
	{ "/missing", NULL, 0, -1, 0, "http 404 from 'URL'" },
};

static void test_get(int port)
{
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char url[128], name[160];
		struct strbuf err = SB_INIT, want = SB_INIT;
		struct jp *jp = cases[i].jsonpath ? jp_compile(cases[i].jsonpath, NULL, NULL) : NULL;
		double v = -1;
		snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, cases[i].path);
		snprintf(name, sizeof(name), "get %s %s", cases[i].path,
			 cases[i].jsonpath ? cases[i].jsonpath : "(whole body)");
		int rc = hn_get(url, jp, cases[i].jsonpath, cases[i].timeout_ms, &v, &err);
		is_int(rc, cases[i].rc, name);
		if (cases[i].rc == 1)
			is_double(v, cases[i].value, 1e-12, name);
		if (cases[i].err) {
			const char *u = strstr(cases[i].err, "URL");
			sb_add(&want, cases[i].err, (size_t)(u - cases[i].err));
			sb_addstr(&want, url);
			sb_addstr(&want, u + 3);
			is_str(err.buf, want.buf, name);
		} else {
			is_str(err.buf, "", name);
		}
		jp_free(jp);
		sb_release(&err);
		sb_release(&want);
	}
}

static void test_failures(int port)
{
	char url[128];
	struct strbuf err = SB_INIT;
	double v = 0;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/slow", port);
	is_int(hn_get(url, NULL, NULL, 200, &v, &err), -1, "a slow answer times out");
	ok(strncmp(err.buf, "cannot get '", 12) == 0 && strstr(err.buf, "/slow': "),
	   "the timeout names the url: %s", err.buf);

	/* a port nobody listens on: the server's, once it is gone, is not
	 * safe to reuse; port 1 on 127.0.0.1 refuses */
	sb_reset(&err);
	is_int(hn_get("http://127.0.0.1:1/x", NULL, NULL, 1000, &v, &err), -1,
	       "a refused connection fails");
	ok(strncmp(err.buf, "cannot get 'http://127.0.0.1:1/x': ", 35) == 0, "refused: %s",
	   err.buf);
	sb_release(&err);
}

static void test_text(void)
{
	struct strbuf err = SB_INIT;
	double v = 0;
	struct jp *jp = jp_compile("$[1]", NULL, NULL);

	is_int(hn_text("[1, \"2.5e1\"]", 12, jp, "$[1]", "the output", &v, &err), 1,
	       "a string holding a number");
	is_double(v, 25, 0, "its value");
	is_int(hn_text("[1]", 3, jp, "$[1]", "the output", &v, &err), 0, "no match is no data");
	is_int(hn_text("[1, \"nan\"]", 10, jp, "$[1]", "the output", &v, &err), 0,
	       "nan in any case is no data");
	is_int(hn_text("{}", 2, NULL, NULL, "the output", &v, &err), 0, "an empty object");
	is_int(hn_text("[]", 2, NULL, NULL, "the output", &v, &err), 0, "an empty array");
	is_int(hn_text("1\0002", 3, NULL, NULL, "the output", &v, &err), -1, "a NUL byte");
	is_str(err.buf, "the output is not JSON", "named by what");
	ok(hn_blank("", 0) && hn_blank(" \t\r\n", 4) && !hn_blank(" x", 2), "hn_blank");
	jp_free(jp);
	sb_release(&err);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	alarm(60);
	test_text();
	int port = 0;
	pid_t pid = spawn_server(&port);
	if (ok(pid > 0, "server started on port %d", port)) {
		test_get(port);
		test_failures(port);
		stop_server(pid);
	}
	return tap_done();
}
