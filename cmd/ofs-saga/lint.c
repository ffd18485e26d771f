/*
 * lint.c: `ofs-saga lint DEFINITION...`, the consistency risks of saga
 * definitions that are legal but unwise, one saga.lint record each.
 *
 * def.c rejects what cannot run; lint finds what runs and then hurts:
 * a step before the pivot that nothing undoes, a step after it that may
 * give up, a call that is not safe to repeat but is retried, the same
 * call made twice, steps behind a wait that can never end, a service
 * changed on both sides of the point of no return, retriable steps in a
 * saga without a pivot. Each risk class has a stable id (the "risk"
 * field) that scripts and CI can match on, and a sentence saying what
 * goes wrong and what to do. Records come file by file, in the order of
 * the steps they point at (the risk classes in the order below for one
 * step), so the output is deterministic.
 *
 * Exit status: 0 no risk, 1 some risk found, 2 when a definition was
 * invalid (its errors printed, the other files still linted).
 */
#include "common.h"

#include "cmds.h"
#include "def.h"
#include "opt.h"
#include "record.h"

enum lint_risk {
	LR_MISSING_COMPENSATION,
	LR_NOT_RETRIABLE_AFTER_PIVOT,
	LR_RETRY_NOT_IDEMPOTENT,
	LR_DUPLICATE_STEP,
	LR_UNREACHABLE_STEP,
	LR_SERVICE_ACROSS_PIVOT,
	LR_NO_PIVOT,
};

static const char *const lint_risk_ids[] = {
	[LR_MISSING_COMPENSATION] = "missing-compensation",
	[LR_NOT_RETRIABLE_AFTER_PIVOT] = "not-retriable-after-pivot",
	[LR_RETRY_NOT_IDEMPOTENT] = "retry-not-idempotent",
	[LR_DUPLICATE_STEP] = "duplicate-step",
	[LR_UNREACHABLE_STEP] = "unreachable-step",
	[LR_SERVICE_ACROSS_PIVOT] = "service-across-pivot",
	[LR_NO_PIVOT] = "no-pivot",
};

struct lint_finding {
	size_t step; /* the step pointed at */
	enum lint_risk risk;
	char *message;
};

struct lint {
	const struct saga_def *d;
	struct lint_finding *f;
	size_t n, alloc;
};

__attribute__((format(printf, 4, 5))) static void
lint_add(struct lint *l, size_t step, enum lint_risk risk, const char *fmt, ...)
{
	struct strbuf sb = SB_INIT;
	va_list ap;
	va_start(ap, fmt);
	sb_vaddf(&sb, fmt, ap);
	va_end(ap);
	ALLOC_GROW(l->f, l->n + 1, l->alloc);
	l->f[l->n].step = step;
	l->f[l->n].risk = risk;
	l->f[l->n].message = sb_detach(&sb, NULL);
	l->n++;
}

static int lint_cmp(const void *a, const void *b)
{
	const struct lint_finding *x = a, *y = b;
	if (x->step != y->step)
		return x->step < y->step ? -1 : 1;
	return (int)x->risk - (int)y->risk;
}

/* ---- the risk classes ------------------------------------------------- */

/* missing-compensation: a compensatable step before the pivot (anywhere
 * when there is none) that nothing undoes. */
static void lint_compensations(struct lint *l)
{
	const struct saga_def *d = l->d;
	size_t ps = def_pivot_stage(d);
	for (size_t i = 0; i < d->nsteps; i++) {
		const struct saga_step *s = &d->steps[i];
		if (s->is_wait || s->kind != KIND_COMPENSATABLE || s->has_compensation ||
		    s->stage >= ps)
			continue;
		if (d->pivot >= 0)
			lint_add(l, i, LR_MISSING_COMPENSATION,
				 "'%s' runs before the pivot '%s' but has no compensation: if the "
				 "saga fails, what it did is never undone",
				 s->name, d->steps[d->pivot].name);
		else
			lint_add(l, i, LR_MISSING_COMPENSATION,
				 "'%s' has no compensation and the saga has no pivot: if a later "
				 "step fails, what it did is never undone",
				 s->name);
	}
}

/* not-retriable-after-pivot: past the pivot the saga only goes forward. */
static void lint_after_pivot(struct lint *l)
{
	const struct saga_def *d = l->d;
	if (d->pivot < 0)
		return;
	size_t ps = def_pivot_stage(d);
	for (size_t i = 0; i < d->nsteps; i++) {
		const struct saga_step *s = &d->steps[i];
		if (s->is_wait || s->stage <= ps || s->kind == KIND_RETRIABLE)
			continue;
		lint_add(l, i, LR_NOT_RETRIABLE_AFTER_PIVOT,
			 "'%s' comes after the pivot '%s' but is %s, not retriable: past the pivot "
			 "nothing is undone, so a step that gives up leaves the saga stuck; make it "
			 "\"kind\": \"retriable\"",
			 s->name, d->steps[d->pivot].name, saga_kind_names[s->kind]);
	}
}

/* retry-not-idempotent: a retry after an unknown outcome does it twice. */
static void lint_idempotent(struct lint *l)
{
	const struct saga_def *d = l->d;
	for (size_t i = 0; i < d->nsteps; i++) {
		const struct saga_step *s = &d->steps[i];
		int n = s->action.retry.attempts;
		if (s->is_wait || s->idempotent || n == 1)
			continue;
		struct strbuf how = SB_INIT;
		if (n == 0)
			sb_addstr(&how, "is retried until it succeeds");
		else
			sb_addf(&how, "is tried up to %d times", n);
		lint_add(l, i, LR_RETRY_NOT_IDEMPOTENT,
			 "'%s' is declared not idempotent but %s: a retry after a timeout may do "
			 "it twice; set \"retry\": {\"attempts\": 1} or make it safe to repeat",
			 s->name, how.buf);
		sb_release(&how);
	}
}

static bool lint_same_call(const struct saga_call *a, const struct saga_call *b)
{
	if (a->url && b->url)
		return !strcmp(a->method, b->method) && !strcmp(a->url, b->url) &&
		       (a->body && b->body ? cJSON_Compare(a->body, b->body, true)
					   : !a->body && !b->body);
	if (a->argv && b->argv)
		return cJSON_Compare(a->argv, b->argv, true);
	if (a->shell && b->shell)
		return !strcmp(a->shell, b->shell);
	return false;
}

/* duplicate-step: the same method, URL template and body, or the same
 * command, as an earlier step (named once: the first such). */
static void lint_duplicates(struct lint *l)
{
	const struct saga_def *d = l->d;
	for (size_t i = 0; i < d->nsteps; i++) {
		const struct saga_step *s = &d->steps[i];
		if (s->is_wait)
			continue;
		for (size_t j = 0; j < i; j++) {
			const struct saga_step *e = &d->steps[j];
			if (e->is_wait || !lint_same_call(&s->action, &e->action))
				continue;
			lint_add(l, i, LR_DUPLICATE_STEP,
				 "'%s' %s as '%s' (%s), so the saga does the same thing twice; "
				 "remove one or make them differ",
				 s->name,
				 s->action.url ? "makes the same call (method, URL and body)"
					       : "runs the same command",
				 e->name, e->ptr);
			break;
		}
	}
}

/* unreachable-step: behind a wait step without a deadline whose signal
 * an earlier wait step consumed, the saga stays parked for good. */
static void lint_unreachable(struct lint *l)
{
	const struct saga_def *d = l->d;
	for (size_t i = 0; i < d->nsteps; i++) {
		const struct saga_step *w = &d->steps[i];
		if (!w->is_wait || w->wait_timeout_ns > 0 || !w->signal)
			continue;
		size_t first = i;
		for (size_t j = 0; j < i; j++)
			if (d->steps[j].is_wait && d->steps[j].signal &&
			    d->steps[j].stage < w->stage && !strcmp(d->steps[j].signal, w->signal)) {
				first = j;
				break;
			}
		if (first == i)
			continue;
		for (size_t k = 0; k < d->nsteps; k++)
			if (d->steps[k].stage > w->stage)
				lint_add(l, k, LR_UNREACHABLE_STEP,
					 "'%s' can never run: '%s' (%s) waits without a deadline for "
					 "signal '%s', which '%s' consumed already, so the saga stays "
					 "parked there",
					 d->steps[k].name, w->name, w->ptr, w->signal,
					 d->steps[first].name);
		return; /* the first such wait hides everything after it */
	}
}

/* service-across-pivot: a service changed on both sides of the point of
 * no return; named once, at its first step after the pivot. */
static void lint_services(struct lint *l)
{
	const struct saga_def *d = l->d;
	if (d->pivot < 0)
		return;
	size_t ps = def_pivot_stage(d);
	for (size_t i = 0; i < d->nsteps; i++) {
		const struct saga_step *a = &d->steps[i];
		if (!a->service || a->stage <= ps)
			continue;
		bool named = false;
		for (size_t j = 0; j < i && !named; j++)
			named = d->steps[j].stage > ps && d->steps[j].service &&
				!strcmp(d->steps[j].service, a->service);
		if (named)
			continue;
		for (size_t j = 0; j < d->nsteps; j++) {
			const struct saga_step *b = &d->steps[j];
			if (b->stage >= ps || !b->service || strcmp(b->service, a->service))
				continue;
			lint_add(l, i, LR_SERVICE_ACROSS_PIVOT,
				 "service '%s' is touched both before the pivot (by '%s') and after "
				 "it (by '%s'): others can see its state in between and only the "
				 "first change can be undone; keep a service on one side of the pivot",
				 a->service, b->name, a->name);
			break;
		}
	}
}

/* no-pivot: retriable steps only make sense after a pivot. */
static void lint_no_pivot(struct lint *l)
{
	const struct saga_def *d = l->d;
	if (d->pivot >= 0)
		return;
	size_t first = d->nsteps, more = 0;
	for (size_t i = 0; i < d->nsteps; i++) {
		if (d->steps[i].kind != KIND_RETRIABLE)
			continue;
		if (first == d->nsteps)
			first = i;
		else
			more++;
	}
	if (first == d->nsteps)
		return;
	struct strbuf also = SB_INIT;
	if (more)
		sb_addf(&also, " (and %zu more step%s)", more, more == 1 ? "" : "s");
	lint_add(l, first, LR_NO_PIVOT,
		 "the saga has no pivot, yet '%s' is retriable%s: retriable steps belong after "
		 "the pivot, the step that decides the saga goes through; mark that step "
		 "\"kind\": \"pivot\"",
		 d->steps[first].name, also.buf);
	sb_release(&also);
}

/* ---- the command ------------------------------------------------------ */

/* lint_file: the records of one valid definition; returns how many. */
static size_t lint_file(const struct saga_def *d)
{
	struct lint l = { .d = d };
	lint_compensations(&l);
	lint_after_pivot(&l);
	lint_idempotent(&l);
	lint_duplicates(&l);
	lint_unreachable(&l);
	lint_services(&l);
	lint_no_pivot(&l);
	if (l.n)
		qsort(l.f, l.n, sizeof(*l.f), lint_cmp);
	struct strbuf sb = SB_INIT;
	struct jw w;
	for (size_t i = 0; i < l.n; i++) {
		const struct saga_step *s = &d->steps[l.f[i].step];
		jw_init(&w, &sb);
		rec_begin(&w, "saga.lint");
		jw_kv_str(&w, "file", d->file);
		jw_kv_str(&w, "saga", d->name);
		jw_kv_str(&w, "pointer", s->ptr);
		jw_kv_str(&w, "step", s->name);
		jw_kv_str(&w, "risk", lint_risk_ids[l.f[i].risk]);
		jw_kv_str(&w, "message", l.f[i].message);
		rec_end(&w, out_stdout());
		free(l.f[i].message);
	}
	sb_release(&sb);
	free(l.f);
	return l.n;
}

int cmd_lint(int argc, char **argv)
{
	struct opt_parser p;
	opt_begin(&p, argc, argv);
	while (opt_next(&p) != OPT_DONE)
		;
	char **ops;
	int nops = opt_operands(&p, &ops);
	if (nops == 0)
		opt_usage_error(&p, "missing definition");
	bool invalid = false, risky = false;
	for (int i = 0; i < nops; i++) {
		struct saga_def d;
		if (def_load(ops[i], &d) < 0)
			invalid = true;
		else if (lint_file(&d))
			risky = true;
		def_free(&d);
	}
	opt_end(&p);
	return invalid ? EXIT_USAGE : risky ? EXIT_NO : EXIT_OK;
}
