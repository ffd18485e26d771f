/*
 * provider.c: running one activity's provider and shaping its output.
 *
 * Outputs follow the Chaos Toolkit so its tolerances work unchanged: a
 * process gives {"status","stdout","stderr"}, an http call
 * {"status","headers","body"} (the body parsed when it is JSON). ofs's
 * own providers give a fault's description (fault.c), a health
 * judgement (health_probe.c) or the time slept. Everything waits in a
 * poll that also watches the signal pipe, so SIGTERM stops a long
 * process or a slow HTTP call at once, and a child never outlives the
 * run: its process group is killed when the run is interrupted.
 */
#include "common.h"
#include <poll.h>

#include "chaos.h"
#include "http.h"
#include "proc.h"
#include "run.h"
#include "sig.h"
#include "timefmt.h"
#include "units.h"

#define PROCESS_TIMEOUT_DEFAULT_MS (300 * 1000)
#define HTTP_TIMEOUT_DEFAULT_MS (30 * 1000)

void act_result_init(struct act_result *r)
{
	r->output = NULL;
	r->failed = false;
	sb_init(&r->error, 0);
}

void act_result_release(struct act_result *r)
{
	cJSON_Delete(r->output);
	sb_release(&r->error);
	act_result_init(r);
}

static void fail(struct act_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct act_result *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sb_reset(&r->error);
	sb_vaddf(&r->error, fmt, ap);
	va_end(ap);
	r->failed = true;
}

/* A provider's timeout: seconds (number), a duration string, or CTK's
 * [connect, read] pair (their sum). def_ms when absent or unreadable. */
int64_t prov_timeout_ms(const cJSON *prov, int64_t def_ms)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(prov, "timeout");
	if (cJSON_IsNumber(t) && t->valuedouble > 0)
		return (int64_t)(t->valuedouble * 1000.0 + 0.5);
	if (cJSON_IsString(t)) {
		int64_t ns;
		if (dur_parse(t->valuestring, &ns, NULL) == 0 && ns > 0)
			return ns / 1000000 ? ns / 1000000 : 1;
	}
	if (cJSON_IsArray(t)) {
		double sum = 0;
		const cJSON *x;
		cJSON_ArrayForEach(x, t) if (cJSON_IsNumber(x)) sum += x->valuedouble;
		if (sum > 0)
			return (int64_t)(sum * 1000.0 + 0.5);
	}
	return def_ms;
}

/* ---- process ----------------------------------------------------------- */

static void argv_push(char ***argv, size_t *n, size_t *alloc, char *s)
{
	if (*n + 2 > *alloc) {
		*alloc = *alloc ? *alloc * 2 : 8;
		*argv = xrealloc(*argv, *alloc * sizeof(**argv));
	}
	(*argv)[(*n)++] = s;
	(*argv)[*n] = NULL;
}

static char *scalar_text(const cJSON *x)
{
	if (cJSON_IsString(x))
		return xstrdup(x->valuestring);
	char *s = cJSON_PrintUnformatted(x);
	char *copy = xstrdup(s ? s : "");
	cJSON_free(s);
	return copy;
}

static int run_process(const cJSON *prov, struct act_result *r)
{
	const char *path = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(prov, "path"));
	const cJSON *args = cJSON_GetObjectItemCaseSensitive(prov, "arguments");
	const cJSON *env = cJSON_GetObjectItemCaseSensitive(prov, "env");
	struct proc_spec spec = { 0 };
	char **argv = NULL;
	size_t argc = 0, aargv = 0;
	struct strbuf shell = SB_INIT;
	if (!path || !*path) {
		fail(r, "process provider without a path");
		return 0;
	}
	if (cJSON_IsString(args)) {
		/* The Chaos Toolkit's string form: a command line for the shell. */
		sb_addf(&shell, "%s %s", path, args->valuestring);
		spec.shell = shell.buf;
	} else {
		argv_push(&argv, &argc, &aargv, xstrdup(path));
		const cJSON *a;
		if (cJSON_IsArray(args))
			cJSON_ArrayForEach(a, args) argv_push(&argv, &argc, &aargv, scalar_text(a));
		spec.argv = (const char *const *)argv;
	}
	size_t nenv = 0;
	struct proc_var *vars = NULL;
	if (cJSON_IsObject(env)) {
		vars = xcalloc((size_t)cJSON_GetArraySize(env) + 1, sizeof(*vars));
		const cJSON *e;
		cJSON_ArrayForEach(e, env)
		{
			vars[nenv].name = e->string;
			vars[nenv].value = cJSON_IsString(e) ? e->valuestring : NULL;
			nenv++;
		}
	}
	spec.env = vars;
	spec.nenv = nenv;
	spec.cwd = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(prov, "cwd"));
	spec.timeout_ms = (int)prov_timeout_ms(prov, PROCESS_TIMEOUT_DEFAULT_MS);

	struct proc_pool *pool = proc_pool_new(1);
	proc_pool_add(pool, &spec, NULL);
	struct proc_result res = PROC_RESULT_INIT;
	size_t maxfds = proc_pool_max_fds(pool) + 1;
	struct pollfd *fds = xcalloc(maxfds, sizeof(*fds));
	int interrupted = 0;
	for (;;) {
		if (proc_pool_next(pool, NULL, &res))
			break;
		if (sig_pending()) {
			interrupted = 1;
			break;
		}
		size_t n = proc_pool_pollfds(pool, fds, maxfds - 1);
		fds[n] = (struct pollfd){ .fd = sig_fd(), .events = POLLIN };
		int rc = poll(fds, n + 1, proc_pool_timeout(pool));
		if (rc < 0 && errno != EINTR)
			die_errno("poll");
		proc_pool_dispatch(pool, fds, n);
	}
	proc_pool_free(pool); /* kills the child's group if interrupted */
	free(fds);
	free(vars);
	for (size_t i = 0; i < argc; i++)
		free(argv[i]);
	free(argv);
	sb_release(&shell);
	if (interrupted) {
		proc_result_release(&res);
		return -1;
	}
	if (res.spawn_errno) {
		fail(r, "%s", res.error.buf);
	} else {
		r->output = cJSON_CreateObject();
		cJSON_AddNumberToObject(r->output, "status", res.exit_code);
		cJSON_AddStringToObject(r->output, "stdout", res.out.buf ? res.out.buf : "");
		cJSON_AddStringToObject(r->output, "stderr", res.err.buf ? res.err.buf : "");
		if (res.timed_out || res.signal) {
			struct strbuf why = SB_INIT;
			proc_describe(&res, &why);
			fail(r, "'%s' %s", path, why.buf);
			sb_release(&why);
		}
	}
	proc_result_release(&res);
	return 0;
}

/* ---- http -------------------------------------------------------------- */

static void url_escape(struct strbuf *sb, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("-._~", c)) {
			sb_addch(sb, c);
		} else {
			sb_addch(sb, '%');
			sb_addch(sb, hex[c >> 4]);
			sb_addch(sb, hex[c & 15]);
		}
	}
}

static cJSON *http_output(const struct http_response *resp)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "status", (double)resp->status);
	cJSON *h = cJSON_AddObjectToObject(o, "headers");
	for (size_t i = 0; i < resp->nheaders; i++)
		if (!cJSON_GetObjectItem(h, resp->headers[i].name))
			cJSON_AddStringToObject(h, resp->headers[i].name, resp->headers[i].value);
	const char *ct = http_response_header(resp, "Content-Type");
	cJSON *body = NULL;
	if (ct && strstr(ct, "json") && resp->body.len)
		body = cJSON_ParseWithLength(resp->body.buf, resp->body.len);
	if (!body)
		body = cJSON_CreateString(resp->body.buf ? resp->body.buf : "");
	cJSON_AddItemToObject(o, "body", body);
	return o;
}

struct http_wait {
	struct http_response resp;
	bool done;
};

static void http_finished(const struct http_request *req, struct http_response *resp, void *user)
{
	(void)user;
	struct http_wait *w = req->user;
	w->resp = *resp;
	http_response_init(resp);
	w->done = true;
}

static int run_http(const cJSON *prov, struct act_result *r)
{
	const char *url = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(prov, "url"));
	const char *method = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(prov, "method"));
	const cJSON *hdrs = cJSON_GetObjectItemCaseSensitive(prov, "headers");
	const cJSON *args = cJSON_GetObjectItemCaseSensitive(prov, "arguments");
	const cJSON *verify = cJSON_GetObjectItemCaseSensitive(prov, "verify_tls");
	const cJSON *expected = cJSON_GetObjectItemCaseSensitive(prov, "expected_status");
	if (!method)
		method = "GET";
	struct strbuf u = SB_INIT, body = SB_INIT;
	sb_addstr(&u, url ? url : "");
	bool has_ct = false;
	char **headers = xcalloc((size_t)cJSON_GetArraySize(hdrs) + 2, sizeof(*headers));
	size_t nh = 0;
	const cJSON *h;
	if (cJSON_IsObject(hdrs))
		cJSON_ArrayForEach(h, hdrs)
		{
			char *v = scalar_text(h);
			struct strbuf line = SB_INIT;
			sb_addf(&line, "%s: %s", h->string, v);
			free(v);
			if (!strcasecmp(h->string, "content-type"))
				has_ct = true;
			headers[nh++] = sb_detach(&line, NULL);
		}
	bool bodyless = !strcasecmp(method, "GET") || !strcasecmp(method, "HEAD") ||
			!strcasecmp(method, "DELETE");
	if (cJSON_IsObject(args) && bodyless) {
		/* Query parameters, as the Chaos Toolkit sends them. */
		const cJSON *a;
		char sep = strchr(u.buf, '?') ? '&' : '?';
		cJSON_ArrayForEach(a, args)
		{
			char *v = scalar_text(a);
			sb_addch(&u, sep);
			url_escape(&u, a->string);
			sb_addch(&u, '=');
			url_escape(&u, v);
			free(v);
			sep = '&';
		}
	} else if (cJSON_IsObject(args) || cJSON_IsArray(args)) {
		char *s = cJSON_PrintUnformatted(args);
		sb_addstr(&body, s ? s : "");
		cJSON_free(s);
		if (!has_ct)
			headers[nh++] = xstrdup("Content-Type: application/json");
	} else if (cJSON_IsString(args)) {
		sb_addstr(&body, args->valuestring);
	}

	struct http_request req;
	http_request_init(&req);
	req.method = method;
	req.url = u.buf;
	req.headers = (const char *const *)headers;
	if (body.len || (!bodyless && args)) {
		req.body = body.buf;
		req.body_len = body.len;
	}
	req.timeout_ms = (long)prov_timeout_ms(prov, HTTP_TIMEOUT_DEFAULT_MS);
	req.connect_timeout_ms = req.timeout_ms < 5000 ? req.timeout_ms : 5000;
	req.tls_insecure = cJSON_IsFalse(verify);
	struct http_wait w = { .done = false };
	http_response_init(&w.resp);
	req.user = &w;
	struct http_client *c = http_client_new(1);
	struct strbuf err = SB_INIT;
	int rc = 0;
	if (http_add(c, &req, &err) < 0) {
		fail(r, "%s", err.buf);
	} else {
		while (!w.done && http_run_for(c, 50, http_finished) > 0) {
			if (sig_pending()) {
				rc = -1;
				break;
			}
		}
		if (rc == 0 && !w.done)
			fail(r, "no response from '%s'", u.buf);
		else if (rc == 0 && w.resp.status == 0)
			fail(r, "%s %s: %s", method, u.buf, w.resp.error);
		else if (rc == 0) {
			r->output = http_output(&w.resp);
			if (cJSON_IsNumber(expected) && expected->valueint != (int)w.resp.status)
				fail(r, "%s %s: status %ld, expected %d", method, u.buf, w.resp.status,
				     expected->valueint);
		}
	}
	http_client_free(c);
	http_response_release(&w.resp);
	for (size_t i = 0; i < nh; i++)
		free(headers[i]);
	free(headers);
	sb_release(&u);
	sb_release(&body);
	sb_release(&err);
	return rc;
}

/* ---- sleep ------------------------------------------------------------- */

static int run_sleep(struct run *run, const cJSON *prov, struct act_result *r)
{
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(prov, "duration");
	int64_t ns = 0;
	if (cJSON_IsNumber(d))
		ns = (int64_t)(d->valuedouble * 1e9);
	else if (!cJSON_IsString(d) || dur_parse(d->valuestring, &ns, NULL) < 0) {
		fail(r, "sleep: 'duration' must be a duration");
		return 0;
	}
	int64_t t0 = mono_ns();
	if (run_wait(run, ns) < 0)
		return -1;
	r->output = cJSON_CreateObject();
	cJSON_AddNumberToObject(r->output, "slept_s", (double)(mono_ns() - t0) / 1e9);
	return 0;
}

int provider_run(struct run *run, const struct activity *a, const cJSON *prov,
		 struct act_result *r)
{
	switch (a->prov) {
	case PROV_PROCESS:
		return run_process(prov, r);
	case PROV_HTTP:
		return run_http(prov, r);
	case PROV_SLEEP:
		return run_sleep(run, prov, r);
	case PROV_HEALTH:
		return health_probe_run(run->topo, prov, r);
	case PROV_FAULT: {
		cJSON *out = NULL;
		if (fault_inject(&run->fc, prov, &out, &r->error) < 0) {
			r->failed = true;
			cJSON_Delete(out);
			return 0;
		}
		r->output = out;
		return 0;
	}
	}
	fail(r, "unknown provider");
	return 0;
}
