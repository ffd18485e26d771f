/*
 * test_jsondiff.c: unit tests for jsondiff.c, data-driven: two JSON
 * texts, ignore prefixes, and the differences expected as
 * "kind pointer" lines in order.
 */
#include "common.h"

#include "jsondiff.h"
#include "tap.h"

static void collect(const char *pointer, enum jd_kind kind, const cJSON *a, const cJSON *b,
		    void *user)
{
	struct strbuf *sb = user;
	sb_addf(sb, "%s %s", jd_kind_name(kind), pointer);
	if (kind == JD_EXTRA)
		ok(!a && b, "extra %s: only the replayed side is given", pointer);
	else if (kind == JD_MISSING)
		ok(a && !b, "missing %s: only the recorded side is given", pointer);
	else
		ok(a && b, "%s %s: both sides are given", jd_kind_name(kind), pointer);
	sb_addch(sb, ';');
}

static const struct {
	const char *a, *b, *ignore, *want;
	size_t ignored;
} cases[] = {
	{ "{}", "{}", NULL, "", 0 },
	{ "{\"a\":1}", "{\"a\":1.0}", NULL, "", 0 },
	{ "{\"a\":1}", "{\"a\":2}", NULL, "changed /a;", 0 },
	{ "{\"a\":1}", "{\"a\":\"1\"}", NULL, "type /a;", 0 },
	{ "{\"a\":true}", "{\"a\":false}", NULL, "changed /a;", 0 },
	{ "{\"a\":null}", "{\"a\":false}", NULL, "type /a;", 0 },
	{ "{\"a\":1,\"b\":2}", "{\"b\":2,\"a\":1}", NULL, "", 0 },
	{ "{\"a\":1,\"b\":2}", "{\"a\":1}", NULL, "missing /b;", 0 },
	{ "{\"a\":1}", "{\"a\":1,\"c\":[1]}", NULL, "extra /c;", 0 },
	{ "{\"a\":{\"x\":1}}", "{\"a\":[1]}", NULL, "type /a;", 0 },
	{ "[1,2,3]", "[1,5]", NULL, "changed /1;missing /2;", 0 },
	{ "[1]", "[1,{\"k\":2}]", NULL, "extra /1;", 0 },
	{ "{\"l\":[{\"id\":1,\"n\":\"a\"},{\"id\":2,\"n\":\"b\"}]}",
	  "{\"l\":[{\"id\":1,\"n\":\"a\"},{\"id\":2,\"n\":\"c\"}]}", NULL, "changed /l/1/n;", 0 },
	/* Pointer escaping: ~ is ~0, / is ~1. */
	{ "{\"a/b\":1,\"m~n\":1}", "{\"a/b\":2,\"m~n\":2}", NULL, "changed /a~1b;changed /m~0n;", 0 },
	{ "{\"\":1}", "{\"\":2}", NULL, "changed /;", 0 },
	/* Ignore prefixes: the field and what is below, not a longer name. */
	{ "{\"ts\":1,\"tsx\":1}", "{\"ts\":2,\"tsx\":2}", "/ts", "changed /tsx;", 1 },
	{ "{\"m\":{\"a\":1,\"b\":1}}", "{\"m\":{\"a\":2,\"b\":2}}", "/m", "", 1 },
	{ "{\"m\":{\"a\":1,\"b\":1}}", "{\"m\":{\"a\":2,\"b\":2}}", "/m/a", "changed /m/b;", 1 },
	{ "{\"a\":1}", "{\"a\":1}", "/a", "", 0 },
	{ "{\"a\":1}", "{}", "/a", "", 1 },
	{ "{\"a\":1}", "{\"b\":1}", "", "", 1 },
	{ "\"x\"", "\"y\"", NULL, "changed ;", 0 },
	{ "\"x\"", "\"x\"", NULL, "", 0 },
	{ "1e300", "1e300", NULL, "", 0 },
};

int main(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cJSON *a = cJSON_Parse(cases[i].a), *b = cJSON_Parse(cases[i].b);
		ok(a && b, "case %zu parses", i);
		struct strbuf got = SB_INIT;
		const char *ign[1] = { cases[i].ignore };
		struct jd_result r = jd_diff(a, b, "", ign, cases[i].ignore ? 1 : 0, collect, &got);
		char name[256];
		snprintf(name, sizeof(name), "%s vs %s (ignore %s)", cases[i].a, cases[i].b,
			 cases[i].ignore ? cases[i].ignore : "-");
		is_str(got.buf, cases[i].want, name);
		is_int((long long)r.ignored, (long long)cases[i].ignored, "ignored count");
		sb_release(&got);
		cJSON_Delete(a);
		cJSON_Delete(b);
	}

	/* A base pointer prefixes every pointer; a NULL side is missing/extra. */
	cJSON *a = cJSON_Parse("{\"x\":1}");
	struct strbuf got = SB_INIT;
	jd_diff(a, NULL, "/body", NULL, 0, collect, &got);
	is_str(got.buf, "missing /body;", "a NULL replayed side is missing at the base");
	sb_reset(&got);
	jd_diff(NULL, a, "/body", NULL, 0, collect, &got);
	is_str(got.buf, "extra /body;", "a NULL recorded side is extra at the base");
	sb_reset(&got);
	cJSON *b = cJSON_Parse("{\"x\":2}");
	struct jd_result r = jd_diff(a, b, "/body", NULL, 0, NULL, NULL);
	is_int((long long)r.reported, 1, "without a callback differences are counted");
	cJSON_Delete(a);
	cJSON_Delete(b);

	/* Duplicate keys: the first counts. */
	a = cJSON_Parse("{\"k\":1,\"k\":2}");
	b = cJSON_Parse("{\"k\":1}");
	r = jd_diff(a, b, "", NULL, 0, NULL, NULL);
	is_int((long long)r.reported, 0, "of duplicate keys the first is compared");
	cJSON_Delete(a);
	cJSON_Delete(b);

	jd_pointer_add(&got, "a~/b");
	is_str(got.buf, "/a~0~1b", "jd_pointer_add escapes ~ then /");
	const char *pre[] = { "/body/ts", "/headers" };
	ok(jd_ignored("/body/ts", pre, 2), "a prefix ignores itself");
	ok(jd_ignored("/body/ts/0", pre, 2), "a prefix ignores below it");
	ok(!jd_ignored("/body/tsx", pre, 2), "a prefix does not ignore a longer name");
	ok(jd_ignored("/headers/etag", pre, 2), "any of the prefixes");
	is_str(jd_type_name(NULL), "invalid", "type name of NULL");
	sb_release(&got);

	/* Deep nesting is compared without unbounded recursion. */
	struct strbuf deep = SB_INIT, deep2 = SB_INIT;
	for (int i = 0; i < 900; i++) {
		sb_addch(&deep, '[');
		sb_addch(&deep2, '[');
	}
	sb_addch(&deep, '1');
	sb_addch(&deep2, '2');
	for (int i = 0; i < 900; i++) {
		sb_addch(&deep, ']');
		sb_addch(&deep2, ']');
	}
	a = cJSON_ParseWithLength(deep.buf, deep.len);
	b = cJSON_ParseWithLength(deep2.buf, deep2.len);
	if (a && b) {
		r = jd_diff(a, b, "", NULL, 0, NULL, NULL);
		is_int((long long)r.reported, 1, "900 levels deep: one difference");
	} else {
		ok(1, "cJSON refuses 900 levels (its nesting limit)");
	}
	cJSON_Delete(a);
	cJSON_Delete(b);
	sb_release(&deep);
	sb_release(&deep2);
	return tap_done();
}
