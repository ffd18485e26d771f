/*
 * fuzz_saga_def.c: libFuzzer target for ofs-saga's definition loader
 * (cmd/ofs-saga/def.c, linked in by the Makefile).
 *
 * A saga definition moves money and stock, and a journal carries a copy
 * of one that is loaded again at every resume, so the loader must never
 * crash, leak or accept half a definition. The input is parsed as
 * cfg_load would (strict JSON, line and column on a syntax error), then
 * handed to def_from_json. A rejected definition must explain itself
 * in lines that each name the file; an accepted one must keep the
 * loader's promises: a valid name, at least one step, stages that tile
 * the steps in order, unique step names that def_find finds, at most one
 * pivot, alone in its stage and without a compensation, wait steps alone
 * in their stage with a signal and no call, every other step a call
 * with exactly one of url, argv and shell, timeouts of at least 1ms and
 * retry policies in range. The templates of each call are then filled
 * from the definition's own data (subst_apply), which must either give
 * a value or say why not. Last, the definition is written as the
 * journal's saga.started writes it (jw_cjson) and loaded from that
 * text again, as every resume does: it must load, with the same steps.
 * Nothing is written anywhere; everything is freed.
 */
#include "common.h"
#include <ctype.h>

#include "config.h"
#include "def.h"
#include "fuzz_check.h"
#include "jw.h"
#include "strbuf.h"
#include "subst.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NAME "fuzz.json"

static void check_name(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (!n || n > 128)
		abort();
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
			abort();
}

static void check_retry(const struct saga_retry *r)
{
	if (r->attempts < 0 || r->attempts > 1000000)
		abort();
	if (r->interval_ns < 0 || r->max_interval_ns < r->interval_ns)
		abort();
	if (!(r->backoff >= 1 && r->backoff <= 1000))
		abort();
	if (r->n_non_retryable && !r->non_retryable)
		abort();
	for (size_t i = 0; i < r->n_non_retryable; i++)
		if (r->non_retryable[i] < 1 || r->non_retryable[i] > 599)
			abort();
}

static void check_call(const struct saga_call *c)
{
	if (!c->json || !c->ptr || !cJSON_IsObject(c->json))
		abort();
	int kinds = !!c->url + !!c->argv + !!c->shell;
	if (kinds != 1)
		abort();
	if (c->url && !c->method)
		abort();
	if (c->argv && (!cJSON_IsArray(c->argv) || cJSON_GetArraySize(c->argv) < 1))
		abort();
	if (c->shell && (!*c->shell || subst_has(c->shell)))
		abort();
	if (c->timeout_ns < INT64_C(1000000))
		abort();
	check_retry(&c->retry);
}

/* Fill a call's templates from the definition's data: a value or a reason. */
static void fill(const struct saga_call *c, const cJSON *data)
{
	struct strbuf err = SB_INIT;
	cJSON *v = subst_apply(c->json, data, NULL, &err);
	if (!v && !err.len)
		abort();
	cJSON_Delete(v);
	sb_release(&err);
}

static void check_def(const struct saga_def *d)
{
	check_name(d->name);
	if (d->version < 1 || !d->nsteps || !d->nstages || d->nstages > d->nsteps)
		abort();
	if (d->data && !cJSON_IsObject(d->data))
		abort();
	if (d->stage_first[0] != 0 || d->stage_first[d->nstages] != d->nsteps)
		abort();
	size_t pivots = 0;
	for (size_t s = 0; s < d->nstages; s++) {
		size_t first = d->stage_first[s], end = d->stage_first[s + 1];
		if (end <= first)
			abort();
		for (size_t i = first; i < end; i++)
			if (d->steps[i].stage != s)
				abort();
	}
	for (size_t i = 0; i < d->nsteps; i++) {
		const struct saga_step *st = &d->steps[i];
		size_t alone = d->stage_first[st->stage + 1] - d->stage_first[st->stage] == 1;
		check_name(st->name);
		if (!st->ptr || strncmp(st->ptr, "/steps/", 7) != 0)
			abort();
		if (def_find(d, st->name) != (ssize_t)i)
			abort();
		if (st->kind == KIND_PIVOT) {
			pivots++;
			if (d->pivot != (ssize_t)i || !alone || st->has_compensation || st->is_wait)
				abort();
		}
		if (st->is_wait) {
			check_name(st->signal);
			if (!alone || st->has_compensation || st->action.json)
				abort();
			if (st->wait_timeout_ns < 0)
				abort();
			continue;
		}
		check_call(&st->action);
		fill(&st->action, d->data);
		if (st->has_compensation) {
			check_call(&st->compensation);
			fill(&st->compensation, d->data);
		}
	}
	if (pivots > 1 || (!pivots && d->pivot != -1))
		abort();
	size_t ps = def_pivot_stage(d);
	if (pivots ? ps != d->steps[d->pivot].stage : ps != d->nstages)
		abort();
	if (def_find(d, "") != -1)
		abort();
}

/* The journal's copy of d (saga.started's "spec") loads to the same steps. */
static void reload(const struct saga_def *d)
{
	struct strbuf text = SB_INIT, err = SB_INIT;
	struct jw w;
	jw_init(&w, &text);
	jw_cjson(&w, d->cfg.root);
	cJSON *copy = cJSON_ParseWithLength(text.buf, text.len);
	if (!copy)
		abort();
	struct saga_def again;
	if (def_from_json(copy, "journal", &again, &err) != 0)
		abort();
	if (again.nsteps != d->nsteps || again.nstages != d->nstages || again.pivot != d->pivot)
		abort();
	for (size_t i = 0; i < d->nsteps; i++) {
		const struct saga_step *a = &d->steps[i], *b = &again.steps[i];
		if (strcmp(a->name, b->name) || a->kind != b->kind || a->is_wait != b->is_wait ||
		    a->stage != b->stage || a->action.timeout_ns != b->action.timeout_ns ||
		    a->action.retry.attempts != b->action.retry.attempts ||
		    a->wait_timeout_ns != b->wait_timeout_ns)
			abort();
	}
	def_free(&again);
	cJSON_Delete(copy);
	sb_release(&text);
	sb_release(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfg cfg;
	struct strbuf err = SB_INIT;
	if (cfg_parse_string(NAME, (const char *)data, size, &cfg, &err) < 0) {
		if (cfg.root || strncmp(err.buf, NAME ":", strlen(NAME ":")) != 0)
			abort();
		cfg_free(&cfg);
		sb_release(&err);
		return 0;
	}
	struct saga_def d;
	if (def_from_json(cfg.root, NAME, &d, &err) == 0) {
		if (err.len)
			abort();
		/* The definition holds a copy: the parsed tree may go first. */
		cfg_free(&cfg);
		check_def(&d);
		reload(&d);
	} else {
		cfg_free(&cfg);
		fuzz_check_lines(&err, NAME ": ");
	}
	def_free(&d);
	sb_release(&err);
	return 0;
}
