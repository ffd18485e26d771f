/*
 * fuzz_scale_policy.c: libFuzzer target for ofs-scale's policy loader
 * (cmd/ofs-scale/policy.c, linked in by the Makefile).
 *
 * A policy is outside input that decides replica counts, so its loader
 * must never crash, leak or accept half a policy. A rejected input must
 * leave a default policy behind and explain itself in lines that each
 * name the file; an accepted one must keep the loader's promises: bounds
 * in order, at least one metric with a positive target, behaviour rules
 * with positive values and periods, indexes that point into their
 * arrays. Nothing is written anywhere; everything is freed.
 */
#include "common.h"

#include "fuzz_check.h"
#include "scale.h"
#include "strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_direction(const struct sc_direction *d)
{
	if (d->tolerance < 0 || d->tolerance > 1 || d->window < 0 || !d->nrules)
		abort();
	for (size_t i = 0; i < d->nrules; i++)
		if (d->rules[i].value < 1 || d->rules[i].period < SC_NS_PER_S)
			abort();
}

static void check_policy(const struct sc_policy *p)
{
	if (!p->service || !*p->service || !p->file)
		abort();
	if (p->min_replicas < 0 || p->max_replicas < 1 || p->max_replicas < p->min_replicas)
		abort();
	if (p->period <= 0 || !p->nmetrics)
		abort();
	for (size_t i = 0; i < p->nmetrics; i++)
		if (!p->metrics[i].name || !(p->metrics[i].target > 0) ||
		    !(p->metrics[i].capacity > 0) ||
		    sc_policy_metric(p, p->metrics[i].name) != (int)i)
			abort();
	check_direction(&p->up);
	check_direction(&p->down);
	if (p->predictive && (p->predict_metric < 0 || (size_t)p->predict_metric >= p->nmetrics ||
			      p->metrics[p->predict_metric].type == SC_VALUE))
		abort();
	if (p->instance >= 0 && (size_t)p->instance >= p->ncatalogue)
		abort();
	if (p->budget_per_hour > 0 && p->instance < 0)
		abort();
	if (p->hook_argv && p->hook_shell)
		abort();
	struct strbuf sb = SB_INIT;
	sc_rule_text(&p->up.rules[0], &sb);
	sb_release(&sb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sc_policy p;
	struct strbuf err = SB_INIT;
	if (sc_policy_parse("fuzz.json", (const char *)data, size, &p, &err) == 0) {
		if (err.len)
			abort();
		check_policy(&p);
		const struct sc_policy *v[] = { &p };
		(void)sc_policy_for(v, 1, "cart");
	} else {
		fuzz_check_lines(&err, "fuzz.json");
		if (p.nmetrics || p.root)
			abort();
	}
	sc_policy_free(&p);
	sb_release(&err);
	return 0;
}
