/*
 * call.c: making one call of a saga step (call.h): an HTTP request on
 * the engine's libcurl multi client, or a command in its process pool,
 * from the call's rendered template; and reading how it ended.
 *
 * What the call's answer means for the saga is decided here once: 2xx
 * or exit status 0 succeeded; an answer saying the call did not take
 * effect (any other status or exit status) is a definite failure; no
 * answer (a connection lost, a time limit, a command killed), 408, 409,
 * 502 and 504 leave the outcome unknown, so the engine repeats the call
 * with the same idempotency key. The output is the answer's body or the
 * command's standard output, as JSON when it is.
 */
#include "common.h"

#include "call.h"
#include "config.h"
#include "jw.h"
#include "record.h"
#include "tracectx.h"

/* Output kept of a call: enough for any JSON answer a step uses. */
#define OUTPUT_MAX (1024 * 1024)
/* The longest OFS_SAGA_DATA or OFS_SAGA_OUTPUTS put in the environment
 * (Linux refuses a variable over 128 KiB); larger ones only on stdin. */
#define ENV_VALUE_MAX 65536
/* At most this much of an error answer is quoted in the step's error. */
#define ERROR_QUOTE_MAX 200

/* The body as JSON when it is, else as a string (or null when empty). */
static cJSON *output_of(const char *buf, size_t len)
{
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	cJSON *v = NULL;
	if (len)
		v = cJSON_ParseWithLength(buf, len);
	if (!v) {
		char *s = xstrndup(buf ? buf : "", len);
		v = len ? cJSON_CreateString(s) : cJSON_CreateNull();
		free(s);
	}
	if (!v)
		die("out of memory");
	return v;
}

void call_http_outcome(const struct http_response *resp, struct call_outcome *o)
{
	memset(o, 0, sizeof(*o));
	sb_init(&o->error, 0);
	o->duration_ms = (int64_t)resp->elapsed_ms;
	if (resp->curl_code) {
		sb_addf(&o->error, "%s", resp->error);
		return;
	}
	o->code = (int)resp->status;
	o->ok = resp->status >= 200 && resp->status <= 299;
	/* 408 (the server gave up waiting), 409 (another request with the
	 * key is in progress), 502 and 504 (a gateway lost the upstream's
	 * answer) leave the outcome open. */
	o->definite = !o->ok && resp->status != 408 && resp->status != 409 &&
		      resp->status != 502 && resp->status != 504;
	if (!o->ok) {
		sb_addf(&o->error, "http %ld", resp->status);
		if (resp->body.len) {
			size_t n = resp->body.len > ERROR_QUOTE_MAX ? ERROR_QUOTE_MAX : resp->body.len;
			sb_addstr(&o->error, ": ");
			sb_add(&o->error, resp->body.buf, n);
			sb_trim_eol(&o->error);
		}
	}
	o->output = output_of(resp->body.buf, resp->body.len);
}

void call_proc_outcome(const struct proc_result *pr, struct call_outcome *o)
{
	memset(o, 0, sizeof(*o));
	sb_init(&o->error, 0);
	o->duration_ms = pr->duration_ms;
	if (pr->spawn_errno) {
		o->definite = true;
		o->not_sent = true;
		sb_addstr(&o->error, pr->error.buf);
		/* It never ran: out of processes or memory may pass, a missing
		 * program will not. */
		o->code = pr->spawn_errno == EAGAIN || pr->spawn_errno == ENOMEM ? 0 : -1;
	} else if (pr->exit_code >= 0 && !pr->timed_out) {
		o->code = pr->exit_code;
		o->ok = pr->exit_code == 0;
		o->definite = !o->ok;
		o->output = output_of(pr->out.buf, pr->out.len);
		if (!o->ok) {
			proc_describe(pr, &o->error);
			if (pr->err.len) {
				struct strbuf tail = SB_INIT;
				sb_add(&tail, pr->err.buf,
				       pr->err.len > ERROR_QUOTE_MAX ? ERROR_QUOTE_MAX : pr->err.len);
				sb_trim_eol(&tail);
				sb_addf(&o->error, ": %s", tail.buf);
				sb_release(&tail);
			}
		}
	} else {
		proc_describe(pr, &o->error); /* killed or timed out: unknown */
	}
}

static void add_env(struct proc_var *env, size_t *n, const char *name, const char *value)
{
	env[*n].name = name;
	env[*n].value = value;
	(*n)++;
}

bool call_start_command(struct proc_pool *pool, const struct saga_call *sc,
			const cJSON *rendered, const struct call_ctx *ctx, struct strbuf *err)
{
	(void)err;
	const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(rendered, "command");
	char **argv = NULL;
	if (cJSON_IsArray(cmd)) {
		int n = cJSON_GetArraySize(cmd), i = 0;
		argv = xcalloc((size_t)n + 1, sizeof(*argv));
		const cJSON *a;
		cJSON_ArrayForEach(a, cmd) {
			if (cJSON_IsString(a)) {
				argv[i++] = xstrdup(a->valuestring);
				continue;
			}
			/* `${n}` of a number: the argument is its JSON text. */
			char *text = cJSON_PrintUnformatted(a);
			if (!text)
				die("out of memory");
			argv[i++] = xstrdup(text);
			cJSON_free(text);
		}
	}
	char attempt[16];
	snprintf(attempt, sizeof(attempt), "%d", ctx->attempt);
	char *data = cJSON_PrintUnformatted(ctx->data);
	char *outputs = cJSON_PrintUnformatted(ctx->outputs);
	if (!data || !outputs)
		die("out of memory");
	/* The whole context always comes on stdin; the environment holds
	 * what fits under Linux's limit on one variable. */
	struct strbuf in = SB_INIT;
	sb_addstr(&in, "{\"saga\":");
	jw_escape(&in, ctx->saga, strlen(ctx->saga));
	sb_addstr(&in, ",\"step\":");
	jw_escape(&in, ctx->step, strlen(ctx->step));
	sb_addstr(&in, ",\"key\":");
	jw_escape(&in, ctx->key, strlen(ctx->key));
	sb_addf(&in, ",\"data\":%s,\"outputs\":%s}\n", data, outputs);
	struct proc_var env[8];
	size_t nenv = 0;
	add_env(env, &nenv, "OFS_SAGA_ID", ctx->saga);
	add_env(env, &nenv, "OFS_SAGA_STEP", ctx->step);
	add_env(env, &nenv, "OFS_SAGA_CALL", ctx->compensation ? "compensation" : "action");
	add_env(env, &nenv, "OFS_SAGA_ATTEMPT", attempt);
	add_env(env, &nenv, "OFS_IDEMPOTENCY_KEY", ctx->key);
	if (strlen(data) <= ENV_VALUE_MAX)
		add_env(env, &nenv, "OFS_SAGA_DATA", data);
	if (strlen(outputs) <= ENV_VALUE_MAX)
		add_env(env, &nenv, "OFS_SAGA_OUTPUTS", outputs);
	struct proc_spec spec = { 0 };
	spec.argv = (const char *const *)argv;
	spec.shell = argv ? NULL : sc->shell;
	spec.env = env;
	spec.nenv = nenv;
	spec.stdin_data = in.buf;
	spec.stdin_len = in.len;
	spec.timeout_ms = (int)(sc->timeout_ns / 1000000);
	spec.capture_limit = OUTPUT_MAX;
	proc_pool_add(pool, &spec, ctx->user);
	proc_argv_free(argv);
	cJSON_free(data);
	cJSON_free(outputs);
	sb_release(&in);
	return true;
}

bool call_start_http(struct http_client *client, const struct saga_call *sc,
		     const cJSON *rendered, const struct call_ctx *ctx, struct strbuf *err)
{
	const cJSON *url = cJSON_GetObjectItemCaseSensitive(rendered, "url");
	if (!cJSON_IsString(url)) {
		sb_addf(err, "%s/url: a template gave %s, not a string", sc->ptr,
			cfg_type_name(url));
		return false;
	}
	const cJSON *body = cJSON_GetObjectItemCaseSensitive(rendered, "body");
	const cJSON *headers = cJSON_GetObjectItemCaseSensitive(rendered, "headers");
	char **hv = xcalloc((size_t)cJSON_GetArraySize(headers) + 5, sizeof(*hv));
	size_t nh = 0;
	hv[nh++] = xasprintf("Idempotency-Key: %s", ctx->key);
	char *text = NULL;
	if (body) {
		if (cJSON_IsString(body)) {
			text = xstrdup(body->valuestring);
		} else {
			char *json = cJSON_PrintUnformatted(body);
			if (!json)
				die("out of memory");
			text = xstrdup(json);
			cJSON_free(json);
			hv[nh++] = xstrdup("Content-Type: application/json");
		}
	}
	const struct tc *tc = rec_trace();
	if (tc) {
		/* Each call is a span of its own inside the caller's trace. */
		struct tc child;
		char tp[TC_TRACEPARENT_BUFSZ];
		tc_new_child(tc, &child);
		hv[nh++] = xasprintf("traceparent: %s", tc_format_traceparent(&child, tp));
		tc_free(&child);
	}
	const cJSON *h;
	cJSON_ArrayForEach(h, headers) {
		if (!cJSON_IsString(h)) {
			sb_addf(err, "%s/headers/%s: a template gave %s, not a string", sc->ptr,
				h->string, cfg_type_name(h));
			continue;
		}
		hv[nh++] = xasprintf("%s: %s", h->string, h->valuestring);
	}
	bool ok = !err->len;
	if (ok) {
		struct http_request req = HTTP_REQUEST_INIT;
		req.method = sc->method;
		req.url = url->valuestring;
		req.headers = (const char *const *)hv;
		req.body = text;
		req.body_len = text ? strlen(text) : 0;
		req.timeout_ms = (long)(sc->timeout_ns / 1000000);
		if (req.connect_timeout_ms > req.timeout_ms)
			req.connect_timeout_ms = req.timeout_ms;
		req.max_body = OUTPUT_MAX;
		req.user = ctx->user;
		ok = http_add(client, &req, err) == 0;
	}
	for (size_t i = 0; i < nh; i++)
		free(hv[i]);
	free(hv);
	free(text);
	return ok;
}
