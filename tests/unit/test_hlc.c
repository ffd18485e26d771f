/*
 * test_hlc.c: unit tests for hlc.c: both stamp forms, the total order of
 * stamps (l, then c, then node), malformed stamps and their reasons, and
 * vector clock comparison (equal, before, after, concurrent, missing
 * nodes counting 0) including its symmetry.
 */
#include "common.h"

#include "hlc.h"
#include "strbuf.h"
#include "tap.h"

static int parse(const char *json, struct hlc *h, struct strbuf *err)
{
	cJSON *v = cJSON_Parse(json);
	int r = hlc_parse(v, h, err);
	cJSON_Delete(v);
	return r;
}

static int cmp(const char *a, const char *b)
{
	struct hlc x, y;
	if (parse(a, &x, NULL) || parse(b, &y, NULL))
		return 99;
	return hlc_cmp(&x, &y);
}

static enum vc_order vcc(const char *a, const char *b)
{
	cJSON *x = cJSON_Parse(a), *y = cJSON_Parse(b);
	enum vc_order o = vc_compare(x, y);
	cJSON_Delete(x);
	cJSON_Delete(y);
	return o;
}

int main(void)
{
	struct hlc h;
	struct strbuf sb = SB_INIT;

	ok(parse("{\"l\":1700000000000,\"c\":2,\"node\":\"a\"}", &h, NULL) == 0, "object form");
	is_int(h.l, 1700000000000LL, "l");
	is_int(h.c, 2, "c");
	is_str(h.node, "a", "node");
	ok(parse("\"12.3.node.with.dots\"", &h, NULL) == 0, "string form");
	is_int(h.l, 12, "string l");
	is_int(h.c, 3, "string c");
	is_str(h.node, "node.with.dots", "string node keeps dots");
	hlc_format(&sb, &h);
	is_str(sb.buf, "12.3.node.with.dots", "format");
	ok(parse("{\"l\":5,\"node\":\"b\"}", &h, NULL) == 0 && h.c == 0, "c defaults to 0");

	static const struct {
		const char *json, *why;
	} bad[] = {
		{ "{\"l\":-1,\"c\":0,\"node\":\"a\"}", "hlc: 'l' must be a whole number >= 0" },
		{ "{\"l\":1.5,\"c\":0,\"node\":\"a\"}", "hlc: 'l' must be a whole number >= 0" },
		{ "{\"l\":1,\"c\":\"0\",\"node\":\"a\"}", "hlc: 'c' must be a whole number >= 0" },
		{ "{\"l\":1,\"c\":0}", "hlc: 'node' must be a string" },
		{ "{\"l\":1,\"c\":0,\"node\":\"\"}", "hlc: node must be 1..128 bytes" },
		{ "\"1.2\"", "hlc: expected \"L.C.NODE\" (L and C decimal), got \"1.2\"" },
		{ "\"x.2.a\"", "hlc: expected \"L.C.NODE\" (L and C decimal), got \"x.2.a\"" },
		{ "\"1.2.\"", "hlc: node must be 1..128 bytes" },
		{ "7", "hlc: must be an object {\"l\",\"c\",\"node\"} or a string \"L.C.NODE\"" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sb_reset(&sb);
		ok(parse(bad[i].json, &h, &sb) == -1, "rejects %s", bad[i].json);
		is_str(sb.buf, bad[i].why, "reason");
	}

	is_int(cmp("\"1.0.a\"", "\"2.0.a\""), -1, "l orders first");
	is_int(cmp("\"2.0.a\"", "\"1.9.z\""), 1, "l beats c and node");
	is_int(cmp("\"1.1.a\"", "\"1.0.z\""), 1, "c before node");
	is_int(cmp("\"1.1.a\"", "\"1.1.b\""), -1, "node breaks ties");
	is_int(cmp("\"1.1.b\"", "{\"l\":1,\"c\":1,\"node\":\"b\"}"), 0, "forms compare equal");

	is_int(vcc("{\"a\":1,\"b\":2}", "{\"b\":2,\"a\":1}"), VC_EQUAL, "equal in any key order");
	is_int(vcc("{\"a\":1}", "{\"a\":1,\"b\":1}"), VC_BEFORE, "missing node counts 0");
	is_int(vcc("{\"a\":2,\"b\":1}", "{\"a\":1}"), VC_AFTER, "after");
	is_int(vcc("{\"a\":2}", "{\"b\":1}"), VC_CONCURRENT, "disjoint nodes are concurrent");
	is_int(vcc("{\"a\":2,\"b\":0}", "{\"a\":1,\"b\":1}"), VC_CONCURRENT, "crossing counters");
	is_int(vcc("{\"a\":1,\"b\":1}", "{\"a\":2,\"b\":0}"), VC_CONCURRENT, "symmetric");
	is_int(vcc("{}", "{\"a\":0}"), VC_EQUAL, "zero equals absent");
	is_str(vc_order_name(VC_CONCURRENT), "concurrent", "names");

	cJSON *v = cJSON_Parse("{\"a\":1,\"a\":2}");
	sb_reset(&sb);
	ok(vc_valid(v, &sb) == -1, "duplicate node rejected");
	is_str(sb.buf, "vc: duplicate node 'a'", "duplicate reason");
	cJSON_Delete(v);
	v = cJSON_Parse("{\"a\":-1}");
	sb_reset(&sb);
	ok(vc_valid(v, &sb) == -1, "negative counter rejected");
	is_str(sb.buf, "vc: 'a' must be a whole number >= 0", "negative reason");
	cJSON_Delete(v);
	v = cJSON_Parse("[1]");
	ok(vc_valid(v, NULL) == -1, "array rejected");
	cJSON_Delete(v);

	sb_release(&sb);
	return tap_done();
}
