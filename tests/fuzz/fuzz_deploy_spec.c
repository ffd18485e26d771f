/*
 * fuzz_deploy_spec.c: libFuzzer target for ofs-deploy's spec loader
 * (cmd/ofs-deploy/spec.c and cond.c, linked in by the Makefile).
 *
 * A spec is outside input that ofs-deploy acts on, so its loader must
 * never crash, leak or accept half a spec. A rejected input must leave
 * the spec empty and explain itself in lines that each name the file; an
 * accepted one must keep the loader's promises: a service, a version and
 * 1..1000 replicas, a canary step list ending in a promote whose analysis
 * steps point into the analysis list, and conditions that evaluate. The
 * conditions are also fed to dp_cond_parse directly, one per line of the
 * input. Nothing is written anywhere; everything is freed.
 */
#include "common.h"

#include "deploy.h"
#include "fuzz_check.h"
#include "strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_spec(const struct dp_spec *s)
{
	if (!s->service || !*s->service || !s->version || !*s->version)
		abort();
	if (s->replicas < 1 || s->replicas > 1000)
		abort();
	if (s->strategy.kind == DP_CANARY) {
		const struct ro_canary *c = &s->strategy.canary;
		if (!c->n || c->step[c->n - 1].kind != RO_STEP_PROMOTE)
			abort();
		for (size_t i = 0; i < c->n; i++)
			if (c->step[i].kind == RO_STEP_ANALYSIS && c->step[i].analysis >= s->nanalysis)
				abort();
	}
	for (size_t i = 0; i < s->nanalysis; i++)
		for (size_t j = 0; j < s->analysis[i].nmetric; j++) {
			const struct dp_metric *m = &s->analysis[i].metric[j];
			(void)dp_cond_eval(&m->success, 0.5);
			(void)dp_cond_eval(&m->failure, -1e300);
		}
}

static void fuzz_conditions(const uint8_t *data, size_t size)
{
	struct strbuf text = SB_INIT, err = SB_INIT;
	sb_add(&text, data, size > 4096 ? 4096 : size);
	for (char *line = text.buf, *nl; line && *line; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		struct dp_cond c;
		memset(&c, 0, sizeof(c));
		sb_reset(&err);
		if (dp_cond_parse(line, &c, &err) == 0) {
			(void)dp_cond_eval(&c, 1.0);
			dp_cond_release(&c);
		} else if (!err.len || c.text || c.n) {
			abort();
		}
	}
	sb_release(&text);
	sb_release(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dp_spec spec;
	struct strbuf err = SB_INIT;
	memset(&spec, 0, sizeof(spec));
	if (dp_spec_parse("fuzz.json", (const char *)data, size, &spec, &err) == 0) {
		if (err.len)
			abort();
		check_spec(&spec);
		dp_spec_release(&spec);
	} else {
		fuzz_check_lines(&err, "fuzz.json");
		if (spec.service || spec.nanalysis)
			abort();
	}
	sb_release(&err);
	fuzz_conditions(data, size);
	return 0;
}
