/*
 * def.c: loading and validating saga definitions (def.h).
 *
 * A saga moves money and stock, so a definition is checked whole before
 * a single step runs: unknown keys (with a did-you-mean), types and
 * ranges, unique step names, at most one pivot, a compensation on no
 * pivot or wait step, wait steps outside parallel groups, `${out:STEP}`
 * naming only steps of earlier stages, and no `${...}` in a shell string
 * (data reaches a shell only through the environment). Every problem
 * is recorded with its JSON pointer and all are reported together.
 * Risks that are legal but unwise (a compensatable step without a
 * compensation, a non-retriable step after the pivot) are lint's
 * business (lint.c), not errors.
 */
#include "common.h"
#include <ctype.h>
#include <math.h>

#include "def.h"
#include "proc.h"
#include "subst.h"

const char *const saga_kind_names[] = { "compensatable", "pivot", "retriable", NULL };

static const char *const top_keys[] = { "name", "version", "description", "data", "steps",
					NULL };
static const char *const step_keys[] = { "name",	 "kind",    "service", "idempotent",
					 "action",	 "compensation", "wait", "retry",
					 "timeout",	 "description", NULL };
static const char *const group_keys[] = { "parallel", "description", NULL };
static const char *const call_keys[] = { "url",	    "method", "headers", "body",
					 "command", "timeout", "retry",   NULL };
static const char *const retry_keys[] = { "attempts", "interval", "backoff", "max_interval",
					  "jitter", "non_retryable", NULL };
static const char *const wait_keys[] = { "signal", "timeout", "on_timeout", NULL };
static const char *const on_timeout_names[] = { "compensate", "continue", NULL };
static const char *const method_names[] = { "GET", "POST", "PUT", "PATCH", "DELETE", NULL };

#define DEFAULT_TIMEOUT_NS (10 * INT64_C(1000000000))
#define MAX_ATTEMPTS 1000000
/* A call is bounded: a day at most (waits of days are wait steps). */
#define MAX_CALL_TIMEOUT_NS (INT64_C(86400) * 1000000000)
#define NAME_MAX_LEN 128

/* The statuses that end an HTTP step at once unless the definition says
 * otherwise: client errors, except those that say "try again" (408,
 * 425, 429) and 409, which idempotency stores answer while a request
 * with the same key is still in progress. */
static void default_non_retryable(struct saga_retry *r)
{
	r->non_retryable = xcalloc(100, sizeof(int));
	r->n_non_retryable = 0;
	for (int s = 400; s <= 499; s++)
		if (s != 408 && s != 409 && s != 425 && s != 429)
			r->non_retryable[r->n_non_retryable++] = s;
}

static void retry_defaults(struct saga_retry *r, int attempts)
{
	memset(r, 0, sizeof(*r));
	r->attempts = attempts;
	r->interval_ns = INT64_C(1000000000);
	r->backoff = 2;
	r->max_interval_ns = 100 * r->interval_ns;
	r->jitter = true;
}

static void load_retry(struct cfg *cfg, const cJSON *obj, const char *ptr, struct saga_retry *r)
{
	cJSON *o = NULL;
	if (cfg_get_object(cfg, obj, ptr, "retry", false, &o) != 1)
		return;
	const char *rp = cfg_ptr_key(cfg, ptr, "retry");
	cfg_check_keys(cfg, o, rp, retry_keys);
	int64_t attempts = r->attempts;
	if (cfg_get_int(cfg, o, rp, "attempts", false, 0, MAX_ATTEMPTS, &attempts) == 1)
		r->attempts = (int)attempts;
	bool max_given = cJSON_HasObjectItem(o, "max_interval");
	if (cfg_get_duration(cfg, o, rp, "interval", false, &r->interval_ns) == 1 && !max_given)
		r->max_interval_ns = 100 * r->interval_ns;
	cfg_get_number(cfg, o, rp, "backoff", false, 1, 1000, &r->backoff);
	cfg_get_duration(cfg, o, rp, "max_interval", false, &r->max_interval_ns);
	cfg_get_bool(cfg, o, rp, "jitter", false, &r->jitter);
	cJSON *list = NULL;
	if (cfg_get_array(cfg, o, rp, "non_retryable", false, &list) == 1) {
		const char *lp = cfg_ptr_key(cfg, rp, "non_retryable");
		int n = cJSON_GetArraySize(list);
		free(r->non_retryable);
		r->non_retryable = xcalloc((size_t)n + 1, sizeof(int));
		r->n_non_retryable = 0;
		r->explicit_non_retryable = true;
		for (int i = 0; i < n; i++) {
			int64_t v;
			if (cfg_get_int(cfg, cJSON_GetArrayItem(list, i), cfg_ptr_index(cfg, lp, (size_t)i),
					NULL, true, 1, 599, &v) == 1)
				r->non_retryable[r->n_non_retryable++] = (int)v;
		}
	}
	if (r->max_interval_ns < r->interval_ns)
		cfg_error(cfg, cfg_ptr_key(cfg, rp, "max_interval"),
			  "must not be shorter than the interval");
}

/* Record `${` in a shell script: data must reach it through the environment. */
static void no_templates_in_shell(struct cfg *cfg, const char *ptr, const char *shell)
{
	if (subst_has(shell))
		cfg_error(cfg, ptr,
			  "'${...}' is not filled in in a shell command: read OFS_SAGA_DATA or "
			  "OFS_SAGA_OUTPUTS from the environment, or use an argv array");
}

static void load_call(struct cfg *cfg, const cJSON *step, const char *sptr, const char *key,
		      int default_attempts, struct saga_call *c)
{
	memset(c, 0, sizeof(*c));
	retry_defaults(&c->retry, default_attempts);
	c->timeout_ns = DEFAULT_TIMEOUT_NS;
	c->method = "POST";
	cJSON *o = NULL;
	if (cfg_get_object(cfg, step, sptr, key, true, &o) != 1)
		return;
	const char *ptr = cfg_ptr_key(cfg, sptr, key);
	c->json = o;
	c->ptr = ptr;
	cfg_check_keys(cfg, o, ptr, call_keys);
	bool has_url = cJSON_HasObjectItem(o, "url"), has_cmd = cJSON_HasObjectItem(o, "command");
	if (has_url == has_cmd) {
		cfg_error(cfg, ptr, "needs exactly one of 'url' (an HTTP call) and 'command'");
	} else if (has_url) {
		if (cfg_get_text(cfg, o, ptr, "url", true, &c->url) == 1 && !subst_has(c->url) &&
		    strncmp(c->url, "http://", 7) && strncmp(c->url, "https://", 8))
			cfg_error(cfg, cfg_ptr_key(cfg, ptr, "url"),
				  "must start with http:// or https://, got '%s'", c->url);
		int m = 1;
		if (cfg_get_enum(cfg, o, ptr, "method", false, method_names, &m) == 1)
			c->method = method_names[m];
		cJSON *h = NULL;
		if (cfg_get_object(cfg, o, ptr, "headers", false, &h) == 1) {
			const char *hp = cfg_ptr_key(cfg, ptr, "headers");
			const cJSON *it;
			cJSON_ArrayForEach(it, h) {
				const char *v;
				if (cfg_get_string(cfg, h, hp, it->string, true, &v) != 1)
					continue;
				if (!*it->string || strpbrk(it->string, ":\r\n \t") ||
				    strpbrk(v, "\r\n"))
					cfg_error(cfg, cfg_ptr_key(cfg, hp, it->string),
						  "not a valid header name or value");
			}
			c->headers = h;
		}
		c->body = cJSON_GetObjectItemCaseSensitive(o, "body");
	} else {
		const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(o, "command");
		char **argv = NULL, *shell = NULL;
		if (cfg_get_command(cfg, o, ptr, "command", true, &argv, &shell) == 1) {
			if (shell) {
				no_templates_in_shell(cfg, cfg_ptr_key(cfg, ptr, "command"), shell);
				c->shell = cmd->valuestring;
			} else {
				c->argv = cmd;
			}
		}
		proc_argv_free(argv);
		free(shell);
		static const char *const http_only[] = { "method", "headers", "body", NULL };
		for (size_t k = 0; http_only[k]; k++)
			if (cJSON_HasObjectItem(o, http_only[k]))
				cfg_error(cfg, cfg_ptr_key(cfg, ptr, http_only[k]),
					  "'%s' belongs to an HTTP call, not a command", http_only[k]);
	}
	if (cfg_get_duration(cfg, o, ptr, "timeout", false, &c->timeout_ns) == 1 &&
	    (c->timeout_ns < INT64_C(1000000) || c->timeout_ns > MAX_CALL_TIMEOUT_NS))
		cfg_error(cfg, cfg_ptr_key(cfg, ptr, "timeout"), "must be 1ms..24h");
	load_retry(cfg, o, ptr, &c->retry);
	if (!strcmp(key, "compensation")) {
		if (c->retry.explicit_non_retryable)
			cfg_error(cfg, cfg_ptr_key(cfg, cfg_ptr_key(cfg, ptr, "retry"), "non_retryable"),
				  "a compensation is retried until it succeeds: no status ends it");
	} else if (!c->retry.explicit_non_retryable && c->url) {
		default_non_retryable(&c->retry);
	}
}

static bool valid_name(const char *s)
{
	size_t n = strlen(s);
	if (!n || n > NAME_MAX_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
			return false;
	return true;
}

static void load_step(struct saga_def *d, const cJSON *o, const char *ptr, size_t stage,
		      bool in_group)
{
	struct cfg *cfg = &d->cfg;
	struct saga_step *s = &d->steps[d->nsteps++];
	memset(s, 0, sizeof(*s));
	s->ptr = ptr;
	s->stage = stage;
	s->idempotent = true;
	s->name = "";
	if (!cJSON_IsObject(o)) {
		cfg_error(cfg, ptr, "must be an object, got %s", cfg_type_name(o));
		return;
	}
	cfg_check_keys(cfg, o, ptr, step_keys);
	const char *desc;
	cfg_get_string(cfg, o, ptr, "description", false, &desc);
	if (cfg_get_text(cfg, o, ptr, "name", true, &s->name) == 1 && !valid_name(s->name))
		cfg_error(cfg, cfg_ptr_key(cfg, ptr, "name"),
			  "'%s': a step name is 1..%d letters, digits, '_', '.' and '-'", s->name,
			  NAME_MAX_LEN);
	int kind = KIND_COMPENSATABLE;
	cfg_get_enum(cfg, o, ptr, "kind", false, saga_kind_names, &kind);
	s->kind = (enum saga_kind)kind;
	cfg_get_text(cfg, o, ptr, "service", false, &s->service);
	cfg_get_bool(cfg, o, ptr, "idempotent", false, &s->idempotent);
	s->is_wait = cJSON_HasObjectItem(o, "wait");
	if (s->is_wait) {
		const char *wp = cfg_ptr_key(cfg, ptr, "wait");
		cJSON *w = NULL;
		if (cfg_get_object(cfg, o, ptr, "wait", true, &w) == 1) {
			cfg_check_keys(cfg, w, wp, wait_keys);
			if (cfg_get_text(cfg, w, wp, "signal", true, &s->signal) == 1 &&
			    !valid_name(s->signal))
				cfg_error(cfg, cfg_ptr_key(cfg, wp, "signal"),
					  "'%s': a signal name is 1..%d letters, digits, '_', '.' "
					  "and '-'",
					  s->signal, NAME_MAX_LEN);
			if (cfg_get_duration(cfg, w, wp, "timeout", false, &s->wait_timeout_ns) == 1 &&
			    s->wait_timeout_ns < INT64_C(1000000))
				cfg_error(cfg, cfg_ptr_key(cfg, wp, "timeout"),
					  "must be at least 1ms (leave it out for no deadline)");
			int on = 0;
			if (cfg_get_enum(cfg, w, wp, "on_timeout", false, on_timeout_names, &on) == 1)
				s->timeout_continues = on == 1;
		}
		if (cJSON_HasObjectItem(o, "action"))
			cfg_error(cfg, cfg_ptr_key(cfg, ptr, "action"),
				  "a wait step has no action (it waits for its signal)");
		if (cJSON_HasObjectItem(o, "compensation"))
			cfg_error(cfg, cfg_ptr_key(cfg, ptr, "compensation"),
				  "a wait step has no compensation");
		if (in_group)
			cfg_error(cfg, ptr, "a wait step cannot be part of a parallel group");
		if (cJSON_HasObjectItem(o, "retry"))
			cfg_error(cfg, cfg_ptr_key(cfg, ptr, "retry"),
				  "a wait step makes no call to retry");
		if (cJSON_HasObjectItem(o, "timeout"))
			cfg_error(cfg, cfg_ptr_key(cfg, ptr, "timeout"),
				  "a wait step's deadline is /wait/timeout");
		if (s->kind == KIND_PIVOT)
			cfg_error(cfg, cfg_ptr_key(cfg, ptr, "kind"), "a wait step cannot be the pivot");
		return;
	}
	/* Forward recovery retries until success unless told otherwise. */
	load_call(cfg, o, ptr, "action", s->kind == KIND_RETRIABLE ? 0 : 3, &s->action);
	/* The step's own retry and timeout are the action's. */
	load_retry(cfg, o, ptr, &s->action.retry);
	int64_t t;
	if (cfg_get_duration(cfg, o, ptr, "timeout", false, &t) == 1) {
		if (t < INT64_C(1000000) || t > MAX_CALL_TIMEOUT_NS)
			cfg_error(cfg, cfg_ptr_key(cfg, ptr, "timeout"), "must be 1ms..24h");
		else
			s->action.timeout_ns = t;
	}
	if (cJSON_HasObjectItem(o, "compensation")) {
		s->has_compensation = true;
		load_call(cfg, o, ptr, "compensation", 10, &s->compensation);
		if (s->kind == KIND_PIVOT)
			cfg_error(cfg, cfg_ptr_key(cfg, ptr, "compensation"),
				  "the pivot has no compensation: once it succeeds the saga only "
				  "goes forward");
	}
}

/* Steps (flattened) and groups in the definition, to size the arrays. */
static size_t count_steps(const cJSON *steps)
{
	size_t n = 0;
	const cJSON *s;
	cJSON_ArrayForEach(s, steps) {
		const cJSON *par = cJSON_GetObjectItemCaseSensitive(s, "parallel");
		n += cJSON_IsArray(par) ? (size_t)cJSON_GetArraySize(par) : 1;
	}
	return n;
}

/* `${out:STEP}` may only name steps of earlier stages. */
static void check_templates(struct saga_def *d)
{
	struct cfg *cfg = &d->cfg;
	const char **known = xcalloc(d->nsteps + 1, sizeof(*known));
	size_t nknown = 0;
	for (size_t st = 0; st < d->nstages; st++) {
		for (size_t i = d->stage_first[st]; i < d->stage_first[st + 1]; i++) {
			const struct saga_step *s = &d->steps[i];
			if (s->is_wait)
				continue;
			/* A compensation may run when its step failed or its
			 * outcome is unknown, so it cannot count on the step's
			 * own output: it names what to undo from the data. */
			if (s->action.json && !s->action.shell)
				subst_check(cfg, s->action.json, s->action.ptr, NULL, known);
			if (s->has_compensation && s->compensation.json && !s->compensation.shell)
				subst_check(cfg, s->compensation.json, s->compensation.ptr, NULL,
					    known);
		}
		for (size_t i = d->stage_first[st]; i < d->stage_first[st + 1]; i++)
			known[nknown++] = d->steps[i].name;
	}
	free(known);
}

static void validate(struct saga_def *d)
{
	struct cfg *cfg = &d->cfg;
	cJSON *root = cfg_root_object(cfg);
	d->pivot = -1;
	d->version = 1;
	if (!root)
		return;
	cfg_check_keys(cfg, root, "", top_keys);
	if (cfg_get_text(cfg, root, "", "name", true, &d->name) == 1 && !valid_name(d->name))
		cfg_error(cfg, "/name", "'%s': a saga name is 1..%d letters, digits, '_', '.' and '-'",
			  d->name, NAME_MAX_LEN);
	cfg_get_int(cfg, root, "", "version", false, 1, INT64_C(1000000000), &d->version);
	cfg_get_string(cfg, root, "", "description", false, &d->description);
	cJSON *data = NULL;
	if (cfg_get_object(cfg, root, "", "data", false, &data) == 1)
		d->data = data;
	cJSON *steps = NULL;
	if (cfg_get_array(cfg, root, "", "steps", true, &steps) != 1)
		return;
	if (cJSON_GetArraySize(steps) == 0) {
		cfg_error(cfg, "/steps", "must hold at least one step");
		return;
	}
	size_t total = count_steps(steps);
	d->steps = xcalloc(total ? total : 1, sizeof(*d->steps));
	d->stage_first = xcalloc((size_t)cJSON_GetArraySize(steps) + 1, sizeof(size_t));
	int i = 0;
	const cJSON *s;
	cJSON_ArrayForEach(s, steps) {
		const char *ptr = cfg_ptr_index(cfg, "/steps", (size_t)i++);
		d->stage_first[d->nstages] = d->nsteps;
		const cJSON *par = cJSON_GetObjectItemCaseSensitive(s, "parallel");
		if (cJSON_IsObject(s) && par) {
			cfg_check_keys(cfg, s, ptr, group_keys);
			const char *desc;
			cfg_get_string(cfg, s, ptr, "description", false, &desc);
			const char *pp = cfg_ptr_key(cfg, ptr, "parallel");
			if (!cJSON_IsArray(par) || cJSON_GetArraySize(par) < 2) {
				cfg_error(cfg, pp, "must be an array of at least two steps");
			} else {
				int j = 0;
				const cJSON *m;
				cJSON_ArrayForEach(m, par)
					load_step(d, m, cfg_ptr_index(cfg, pp, (size_t)j++), d->nstages,
						  true);
			}
		} else {
			load_step(d, s, ptr, d->nstages, false);
		}
		d->nstages++;
	}
	d->stage_first[d->nstages] = d->nsteps;
	for (size_t a = 0; a < d->nsteps; a++) {
		for (size_t b = 0; b < a; b++)
			if (*d->steps[a].name && !strcmp(d->steps[a].name, d->steps[b].name)) {
				cfg_error(cfg, cfg_ptr_key(cfg, d->steps[a].ptr, "name"),
					  "duplicate step name '%s' (also %s)", d->steps[a].name,
					  d->steps[b].ptr);
				break;
			}
		if (d->steps[a].kind != KIND_PIVOT)
			continue;
		if (d->pivot >= 0)
			cfg_error(cfg, cfg_ptr_key(cfg, d->steps[a].ptr, "kind"),
				  "a saga has at most one pivot; '%s' is one already",
				  d->steps[d->pivot].name);
		else
			d->pivot = (ssize_t)a;
	}
	if (d->pivot >= 0) {
		size_t ps = d->steps[d->pivot].stage;
		if (d->stage_first[ps + 1] - d->stage_first[ps] > 1)
			cfg_error(cfg, d->steps[d->pivot].ptr,
				  "the pivot cannot be part of a parallel group");
	}
	for (size_t a = 0; a < d->nsteps; a++) {
		const struct saga_step *st = &d->steps[a];
		if (st->is_wait && !st->timeout_continues && d->pivot >= 0 &&
		    st->stage > d->steps[d->pivot].stage && st->wait_timeout_ns > 0)
			cfg_error(cfg, cfg_ptr_key(cfg, st->ptr, "wait"),
				  "after the pivot a deadline can only continue: set \"on_timeout\": "
				  "\"continue\"");
	}
	check_templates(d);
}

int def_load(const char *path, struct saga_def *d)
{
	memset(d, 0, sizeof(*d));
	struct strbuf err = SB_INIT;
	if (cfg_load(path, &d->cfg, &err) < 0) {
		error("%s", err.buf);
		sb_release(&err);
		d->pivot = -1;
		return -1;
	}
	sb_release(&err);
	d->file = d->cfg.file;
	validate(d);
	if (d->cfg.nerrors) {
		cfg_report(&d->cfg);
		return -1;
	}
	return 0;
}

int def_from_json(const cJSON *root, const char *name, struct saga_def *d, struct strbuf *err)
{
	memset(d, 0, sizeof(*d));
	cfg_init(&d->cfg, name);
	d->cfg.root = cJSON_Duplicate(root, true);
	if (!d->cfg.root)
		die("out of memory");
	d->file = d->cfg.file;
	validate(d);
	if (d->cfg.nerrors) {
		sb_addstr(err, d->cfg.errors.buf);
		return -1;
	}
	return 0;
}

static void free_call(struct saga_call *c)
{
	free(c->retry.non_retryable);
}

void def_free(struct saga_def *d)
{
	for (size_t i = 0; i < d->nsteps; i++) {
		free_call(&d->steps[i].action);
		free_call(&d->steps[i].compensation);
	}
	free(d->steps);
	free(d->stage_first);
	cfg_free(&d->cfg);
	memset(d, 0, sizeof(*d));
	d->pivot = -1;
}

ssize_t def_find(const struct saga_def *d, const char *name)
{
	for (size_t i = 0; i < d->nsteps; i++)
		if (!strcmp(d->steps[i].name, name))
			return (ssize_t)i;
	return -1;
}

size_t def_pivot_stage(const struct saga_def *d)
{
	return d->pivot >= 0 ? d->steps[d->pivot].stage : d->nstages;
}
