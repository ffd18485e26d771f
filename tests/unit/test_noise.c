/*
 * test_noise.c: unit tests for noise.c: the reporting rule on a table of
 * counts, the endpoint normaliser on a table of paths, and the counters
 * with their per-signature verdicts.
 */
#include "common.h"

#include "noise.h"
#include "tap.h"

static const struct {
	uint64_t raw, noise, total;
	bool want;
} rules[] = {
	{ 0, 0, 100, false },     /* nothing differed */
	{ 10, 0, 100, true },     /* only the target differs */
	{ 10, 10, 100, false },   /* as often as between legacy runs: noise */
	{ 10, 12, 100, false },   /* raw must exceed noise */
	{ 12, 10, 100, false },   /* 2/22 = 9 % relative: not enough */
	{ 15, 10, 100, false },   /* 5/25 = 20 %: must exceed 20 % */
	{ 16, 10, 100, true },    /* 6/26 = 23 % */
	{ 1, 0, 3333, true },     /* 1/3333 = 0.030003 % > 0.03 % */
	{ 1, 0, 3334, false },    /* 1/3334 = 0.029994 % */
	{ 5, 0, 0, false },       /* no exchanges: nothing to say */
};

static const struct {
	const char *method, *path, *want;
} endpoints[] = {
	{ "GET", "/orders/123", "GET /orders/{id}" },
	{ "GET", "/orders/123/items/7?x=1", "GET /orders/{id}/items/{id}" },
	{ "POST", "/orders?x=1", "POST /orders" },
	{ "GET", "/u/550e8400-e29b-41d4-a716-446655440000", "GET /u/{id}" },
	{ "GET", "/u/550E8400-E29B-41D4-A716-446655440000/x", "GET /u/{id}/x" },
	{ "GET", "/blob/0123456789abcdef0123", "GET /blob/{id}" },
	{ "GET", "/blob/0123456789abcde", "GET /blob/0123456789abcde" },
	{ "GET", "/catalog/book", "GET /catalog/book" },
	{ "GET", "/v2/x", "GET /v2/x" },
	{ "GET", "/", "GET /" },
	{ "GET", "", "GET /" },
	{ "GET", "?q=1", "GET /" },
	{ "GET", "/a//b/", "GET /a//b/" },
	{ "GET", "/a#frag", "GET /a" },
	{ "DELETE", "/x/42", "DELETE /x/{id}" },
};

int main(void)
{
	struct noise_rule rule = NOISE_RULE_DEFAULT;
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		char name[128];
		snprintf(name, sizeof(name), "raw %llu noise %llu total %llu: %s",
			 (unsigned long long)rules[i].raw, (unsigned long long)rules[i].noise,
			 (unsigned long long)rules[i].total, rules[i].want ? "report" : "noise");
		ok(noise_reportable(&rule, rules[i].raw, rules[i].noise, rules[i].total) ==
			   rules[i].want,
		   "%s", name);
	}
	struct noise_rule loose = { 0.5, 0.0 };
	ok(!noise_reportable(&loose, 16, 10, 100), "a stricter relative threshold");

	for (size_t i = 0; i < sizeof(endpoints) / sizeof(endpoints[0]); i++) {
		struct strbuf sb = SB_INIT;
		noise_endpoint(&sb, endpoints[i].method, endpoints[i].path);
		is_str(sb.buf, endpoints[i].want, endpoints[i].path);
		sb_release(&sb);
	}

	/* 10 exchanges of one endpoint: /ts differs on every target and
	 * secondary answer (noise), /price on the target alone in 4 of them. */
	struct noise *n = noise_new(true);
	cJSON *a = cJSON_CreateNumber(1), *b = cJSON_CreateString("1");
	for (int i = 0; i < 10; i++) {
		struct noise_obs o;
		char id[16];
		snprintf(id, sizeof(id), "x%d", i);
		noise_begin(&o, n, "GET /items/{id}", id, "GET", "/items/1");
		noise_raw(&o, "/body/ts", JD_CHANGED, a, b);
		noise_raw(&o, "/body/ts", JD_CHANGED, a, b); /* a repeat counts once */
		if (i % 3 == 0)
			noise_raw(&o, "/body/price", JD_TYPE, a, b);
		noise_noise(&o, "/body/ts");
		noise_end(&o);
	}
	struct noise_obs o;
	noise_begin(&o, n, "GET /other", "y", "GET", "/other");
	noise_end(&o);
	noise_decide(n, &rule);
	is_int((long long)n->neps, 2, "two endpoints");
	struct noise_ep *ep = n->eps[0];
	is_str(ep->name, "GET /items/{id}", "endpoints in order of appearance");
	is_int((long long)ep->total, 10, "exchanges counted");
	is_int((long long)ep->nfields, 2, "two fields");
	is_str(ep->fields[0].pointer, "/body/ts", "first field");
	is_int((long long)ep->fields[0].raw, 10, "ts raw");
	is_int((long long)ep->fields[0].noise, 10, "ts noise");
	ok(!ep->fields[0].reported, "ts is noise");
	is_int((long long)ep->fields[1].raw, 4, "price raw");
	ok(ep->fields[1].reported, "price is reported");
	is_int((long long)ep->matched, 6, "exchanges with only noise match");
	is_int((long long)ep->mismatched, 4, "exchanges with price mismatch");
	is_int((long long)ep->nsigs, 2, "two signatures");
	is_str(ep->sigs[0]->id, "x0", "the first exchange of a signature is its example");
	is_int((long long)ep->sigs[0]->count, 4, "signature count");
	is_int((long long)ep->sigs[0]->ndiffs, 2, "example diffs");
	is_str(ep->sigs[0]->diffs[1].a, "1", "recorded value as JSON text");
	is_str(ep->sigs[0]->diffs[1].b, "\"1\"", "replayed value as JSON text");
	is_int((long long)n->eps[1]->matched, 1, "an exchange without differences matches");
	struct noise_rule all = { 0, 0 };
	noise_decide(n, &all);
	ok(!ep->fields[0].reported, "raw not above noise is never reported");

	/* Long values are cut into a string. */
	struct strbuf big = SB_INIT;
	for (int i = 0; i < 3000; i++)
		sb_addch(&big, 'x');
	cJSON *s = cJSON_CreateString(big.buf);
	char *t = noise_value_text(s);
	ok(t[0] == '"' && strlen(t) < 1100, "a long value is cut");
	free(t);
	ok(noise_value_text(NULL) == NULL, "NULL has no text");
	cJSON_Delete(s);
	sb_release(&big);

	/* Signatures past the cap are counted together as mismatched. */
	struct noise *m = noise_new(false);
	for (int i = 0; i < NOISE_MAX_SIGNATURES + 10; i++) {
		char ptr[32];
		snprintf(ptr, sizeof(ptr), "/f%d", i);
		noise_begin(&o, m, "GET /", NULL, "GET", "/");
		noise_raw(&o, ptr, JD_CHANGED, NULL, NULL);
		noise_end(&o);
	}
	noise_decide(m, &all);
	is_int((long long)m->eps[0]->nsigs, NOISE_MAX_SIGNATURES + 1, "signatures are capped");
	is_int((long long)m->eps[0]->mismatched, NOISE_MAX_SIGNATURES + 10,
	       "every exchange is still counted");
	noise_free(m);
	cJSON_Delete(a);
	cJSON_Delete(b);
	noise_free(n);
	return tap_done();
}
