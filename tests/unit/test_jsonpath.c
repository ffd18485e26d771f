/*
 * test_jsonpath.c: unit tests for jsonpath.c: a table of documents,
 * paths and the matches expected (as one compact JSON array, in order),
 * a table of paths that must not compile with their exact messages and
 * columns, and the evaluation limits.
 */
#include "common.h"

#include "jsonpath.h"
#include "strbuf.h"
#include "tap.h"

static const char shop[] =
	"{\"shop\":{\"items\":["
	"{\"name\":\"pen\",\"price\":2,\"tags\":[\"office\"],\"stock\":10},"
	"{\"name\":\"ink\",\"price\":12.5,\"stock\":0},"
	"{\"name\":\"pad\",\"price\":4,\"tags\":[\"office\",\"paper\"],\"stock\":3,\"color\":null}],"
	"\"owner\":{\"name\":\"ada\",\"active\":true}},"
	"\"count\":3,\"a.b\":1,\"it's\":2,\"\":\"empty\"}";

static const char nums[] = "[0,1,2,3,4,5]";

static const struct {
	const char *doc;
	const char *path;
	const char *want; /* the matches as a compact JSON array */
} cases[] = {
	/* names and indexes */
	{ nums, "$", "[[0,1,2,3,4,5]]" },
	{ shop, "$.count", "[3]" },
	{ shop, "$.shop.items[0].name", "[\"pen\"]" },
	{ shop, "$['shop']['items'][1]['name']", "[\"ink\"]" },
	{ shop, "$[\"shop\"].owner[\"name\"]", "[\"ada\"]" },
	{ shop, "$.shop.items[-1].name", "[\"pad\"]" },
	{ shop, "$.shop.items[-3].name", "[\"pen\"]" },
	{ shop, "$.shop.items[-4]", "[]" },
	{ shop, "$.shop.items[3]", "[]" },
	{ shop, "$['a.b']", "[1]" },
	{ shop, "$[\"it's\"]", "[2]" },
	{ shop, "$['it\\'s']", "[2]" },
	{ shop, "$['']", "[\"empty\"]" },
	{ shop, "$.nothing", "[]" },
	{ shop, "$.count.x", "[]" },
	{ shop, "$.count[0]", "[]" },
	{ shop, "$.count[*]", "[]" },
	{ shop, "$.shop[0]", "[]" },
	{ shop, "$.shop.items.name", "[]" },
	{ "{\"content-type\":\"json\",\"2xx\":5}", "$.content-type", "[\"json\"]" },
	{ "{\"content-type\":\"json\",\"2xx\":5}", "$.2xx", "[5]" },
	{ "{\"\xc3\xbcn\xc3\xaf\":1}", "$.\xc3\xbcn\xc3\xaf", "[1]" },
	{ "{\"\xc3\xbcn\xc3\xaf\":1}", "$['\\u00fcn\\u00ef']", "[1]" },
	{ "{\"\xf0\x9f\x98\x80\":1}", "$['\\ud83d\\ude00']", "[1]" },
	{ "{\"a\\\"b\":1,\"a/b\":2,\"t\\tb\":3}", "$[\"a\\\"b\",'a\\/b','t\\tb']", "[1,2,3]" },
	{ "{\"a\":1,\"a\":2}", "$.a", "[1]" },
	/* wildcards */
	{ shop, "$.shop.items[*].name", "[\"pen\",\"ink\",\"pad\"]" },
	{ shop, "$.shop.items.*.price", "[2,12.5,4]" },
	{ shop, "$.shop.owner.*", "[\"ada\",true]" },
	{ shop, "$.shop.owner[*]", "[\"ada\",true]" },
	{ "[]", "$[*]", "[]" },
	{ "{}", "$.*", "[]" },
	/* recursive descent */
	{ shop, "$..name", "[\"pen\",\"ink\",\"pad\",\"ada\"]" },
	{ shop, "$..tags[0]", "[\"office\",\"office\"]" },
	{ shop, "$..tags[-1]", "[\"office\",\"paper\"]" },
	{ shop, "$.shop..active", "[true]" },
	{ "{\"a\":{\"b\":1},\"c\":[2,{\"d\":3}]}", "$..*", "[{\"b\":1},[2,{\"d\":3}],1,2,{\"d\":3},3]" },
	{ "{\"a\":{\"a\":{\"a\":1}}}", "$..a", "[{\"a\":{\"a\":1}},{\"a\":1},1]" },
	{ "[[1,2],[3]]", "$..[0]", "[[1,2],1,3]" },
	{ "[1,[2]]", "$..[?(@ > 1)]", "[2]" },
	/* unions */
	{ shop, "$.shop.items[0,2].name", "[\"pen\",\"pad\"]" },
	{ shop, "$.shop.items[2, 0].name", "[\"pad\",\"pen\"]" },
	{ shop, "$.shop.items[0,0].name", "[\"pen\",\"pen\"]" },
	{ shop, "$.shop.owner['name','active']", "[\"ada\",true]" },
	{ nums, "$[0,-1,9]", "[0,5]" },
	{ nums, "$[ 1 , 1:3 ]", "[1,1,2]" },
	/* slices */
	{ nums, "$[1:3]", "[1,2]" },
	{ nums, "$[:2]", "[0,1]" },
	{ nums, "$[4:]", "[4,5]" },
	{ nums, "$[-2:]", "[4,5]" },
	{ nums, "$[:]", "[0,1,2,3,4,5]" },
	{ nums, "$[::2]", "[0,2,4]" },
	{ nums, "$[1::2]", "[1,3,5]" },
	{ nums, "$[::-1]", "[5,4,3,2,1,0]" },
	{ nums, "$[4:1:-2]", "[4,2]" },
	{ nums, "$[-1:-3:-1]", "[5,4]" },
	{ nums, "$[10:]", "[]" },
	{ nums, "$[:-10]", "[]" },
	{ nums, "$[-10:2]", "[0,1]" },
	{ nums, "$[3:1]", "[]" },
	{ nums, "$[10:0:-3]", "[5,2]" },
	{ shop, "$.shop[0:1]", "[]" },
	/* filters */
	{ shop, "$.shop.items[?(@.stock > 0)].name", "[\"pen\",\"pad\"]" },
	{ shop, "$.shop.items[?(@.stock == 0)].name", "[\"ink\"]" },
	{ shop, "$.shop.items[?(@.price >= 4)].name", "[\"ink\",\"pad\"]" },
	{ shop, "$.shop.items[?(@.price < 4)].name", "[\"pen\"]" },
	{ shop, "$.shop.items[?(@.price <= 4)].name", "[\"pen\",\"pad\"]" },
	{ shop, "$.shop.items[?(@.name != 'ink')].name", "[\"pen\",\"pad\"]" },
	{ shop, "$.shop.items[?(@.name == \"ink\")].price", "[12.5]" },
	{ shop, "$.shop.items[?(@.tags)].name", "[\"pen\",\"pad\"]" },
	{ shop, "$.shop.items[?(!@.tags)].name", "[\"ink\"]" },
	{ shop, "$.shop.items[?(@.color)].name", "[\"pad\"]" },
	{ shop, "$.shop.items[?(@.color == null)].name", "[\"pad\"]" },
	{ shop, "$.shop.items[?(@.tags[1] == 'paper')].name", "[\"pad\"]" },
	{ shop, "$.shop.items[?(@['tags'][-1] == 'office')].name", "[\"pen\"]" },
	{ shop, "$.shop.items[?(@.stock > 0 && @.price > 3)].name", "[\"pad\"]" },
	{ shop, "$.shop.items[?(@.stock == 0 || @.price == 2)].name", "[\"pen\",\"ink\"]" },
	{ shop, "$.shop.items[?(@.price > 3 && (@.stock == 0 || @.stock == 3))].name",
	  "[\"ink\",\"pad\"]" },
	{ shop, "$.shop.items[?(@.stock == 10 || @.stock == 0 && @.price > 100)].name",
	  "[\"pen\"]" },
	{ shop, "$.shop.items[?(!(@.stock > 0))].name", "[\"ink\"]" },
	{ shop, "$.shop.items[?(3 < @.price)].name", "[\"ink\",\"pad\"]" },
	{ shop, "$.shop.items[?('pen' == @.name)].stock", "[10]" },
	{ shop, "$.shop.items[?@.stock > 5].name", "[\"pen\"]" },
	{ shop, "$.shop.items[?(@.name < 'o')].name", "[\"ink\"]" },
	{ shop, "$.shop.items[?(@.name > 1)]", "[]" },
	{ shop, "$.shop.items[?(@.price == '2')]", "[]" },
	{ shop, "$.shop.items[?(@.missing != 1)]", "[]" },
	{ shop, "$.shop.items[?(@.missing == null)]", "[]" },
	{ shop, "$.shop.owner[?(@ == true)]", "[true]" },
	{ shop, "$.shop.owner[?(@ == 'ada')]", "[\"ada\"]" },
	{ shop, "$.shop.items[?(@.stock>0)][?(@ == 'paper')]", "[]" },
	{ shop, "$.shop.items[?(@.stock>0)].tags[?(@ == 'paper')]", "[\"paper\"]" },
	{ "[1,2,3]", "$[?(@ == 2.0)]", "[2]" },
	{ "[1,2,3]", "$[?(@ > 1e0)]", "[2,3]" },
	{ "[1,2,3]", "$[?(@ >= -1.5E+0)]", "[1,2,3]" },
	{ "[true,false,null,0,\"\"]", "$[?(@ == false)]", "[false]" },
	{ "[true,false,null,0,\"\"]", "$[?(@ != null)]", "[true,false,0,\"\"]" },
	{ "[{\"a\":[1,2]},{\"a\":1}]", "$[?(@.a == 1)]", "[{\"a\":1}]" },
	{ "[{\"a\":{\"b\":1}}]", "$[?(@.a.b)]", "[{\"a\":{\"b\":1}}]" },
	{ "[[5,6],[7]]", "$[?(@[1])]", "[[5,6]]" },
	{ "[[5,6],[7]]", "$[?(@[-1] == 7)]", "[[7]]" },
	{ "[{\"x\":\"b\"},{\"x\":\"a\"}]", "$[?(@.x >= 'b')].x", "[\"b\"]" },
	{ " [1] ", "$[ ?( @ == 1 ) ]", "[1]" },
};

static const struct {
	const char *path;
	const char *err;
} bad[] = {
	{ "", "column 1: a JSONPath starts with '$'" },
	{ "a.b", "column 1: a JSONPath starts with '$'" },
	{ "$.", "column 3: expected a name or '*' after '.', found the end of the path" },
	{ "$..", "column 4: expected a name, '*' or '[' after '..', found the end of the path" },
	{ "$...a", "column 4: expected a name, '*' or '[' after '..', found '.'" },
	{ "$.a[",
	  "column 5: expected an index, a name in quotes, '*', a slice or a filter, found the end "
	  "of the path" },
	{ "$.a[]", "column 5: expected an index, a name in quotes, '*', a slice or a filter, "
		   "found ']'" },
	{ "$.a[1", "column 6: expected ',' or ']', found the end of the path" },
	{ "$.a[1]x", "column 7: expected '.' or '[', found 'x'" },
	{ "$.a b", "column 4: expected '.' or '[', found ' '" },
	{ "$a", "column 2: expected '.' or '[', found 'a'" },
	{ "$['abc", "column 3: unterminated string" },
	{ "$['a\x01']", "column 5: control character 0x01 in a string" },
	{ "$['\\x']", "column 4: invalid escape in a string" },
	{ "$['\\u12']", "column 4: invalid \\u escape, expected 4 hex digits" },
	{ "$['\\ud800']", "column 4: invalid \\u escape: unpaired surrogate" },
	{ "$['\\udc00']", "column 4: invalid \\u escape: unpaired surrogate" },
	{ "$['\\u0000']", "column 4: \\u0000 is not allowed in a string" },
	{ "$[-]", "column 4: expected a digit, found ']'" },
	{ "$[1:2:0]", "column 7: a slice step must not be 0" },
	{ "$[::0]", "column 5: a slice step must not be 0" },
	{ "$[99999999999999999999]", "column 3: index out of range" },
	{ "$[1 2]", "column 5: expected ',' or ']', found '2'" },
	{ "$[?(@.a = 1)]", "column 9: use '==' to compare" },
	{ "$[?(@.a == )]",
	  "column 12: expected a number, a string, true, false or null, found ')'" },
	{ "$[?(@.a == tru)]",
	  "column 12: expected a number, a string, true, false or null, found 't'" },
	{ "$[?(@.a == 1.)]", "column 14: expected a digit after '.', found ')'" },
	{ "$[?(@.a == 1e)]", "column 14: expected a digit in the exponent, found ')'" },
	{ "$[?(@.a == 1]", "column 13: expected ')', found ']'" },
	{ "$[?(@.a == 1)", "column 14: expected ',' or ']', found the end of the path" },
	{ "$[?(1)]", "column 6: expected a comparison operator, found ')'" },
	{ "$[?(1 == 2)]", "column 10: expected '@', found '2'" },
	{ "$[?(x)]", "column 5: expected '@', a value, '!' or '(', found 'x'" },
	{ "$[?()]", "column 5: expected '@', a value, '!' or '(', found ')'" },
	{ "$[?(@.)]", "column 7: expected a name after '.', found ')'" },
	{ "$[?(@..a)]", "column 7: expected a name after '.', found '.'" },
	{ "$[?(@[*])]", "column 7: expected an index or a name in quotes, found '*'" },
	{ "$[?(@[0)]", "column 8: expected ']', found ')'" },
	{ "$[?(@.a && )]", "column 12: expected '@', a value, '!' or '(', found ')'" },
	{ "$.\xc3\xbcn\xc3\xaf[x]",
	  "column 7: expected an index, a name in quotes, '*', a slice or a filter, found 'x'" },
	{ "$.a[\x80]", "column 5: expected an index, a name in quotes, '*', a slice or a filter, "
		       "found byte 0x80" },
};

/* The matches of path over doc as a compact JSON array, or "error: ...". */
static char *run(const char *doc, const char *path)
{
	cJSON *d = cJSON_Parse(doc);
	struct strbuf err = SB_INIT;
	struct jp *jp = jp_compile(path, &err, NULL);
	struct jp_matches m = { NULL, 0, 0 };
	char *out;
	if (!d) {
		out = xstrdup("error: bad test document");
	} else if (!jp) {
		out = xasprintf("error: %s", err.buf);
	} else if (jp_eval(jp, d, &m, &err) < 0) {
		out = xasprintf("error: %s", err.buf);
	} else {
		cJSON *arr = cJSON_CreateArray();
		for (size_t i = 0; i < m.n; i++)
			cJSON_AddItemToArray(arr, cJSON_Duplicate(m.v[i], true));
		char *s = cJSON_PrintUnformatted(arr);
		out = xstrdup(s);
		cJSON_free(s);
		cJSON_Delete(arr);
	}
	jp_matches_release(&m);
	jp_free(jp);
	sb_release(&err);
	cJSON_Delete(d);
	return out;
}

static void test_cases(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *got = run(cases[i].doc, cases[i].path);
		is_str(got, cases[i].want, cases[i].path);
		free(got);
	}
}

static void test_bad(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct strbuf err = SB_INIT;
		size_t col = 0;
		struct jp *jp = jp_compile(bad[i].path, &err, &col);
		ok(jp == NULL, "'%s' does not compile", bad[i].path);
		is_str(err.buf, bad[i].err, bad[i].path);
		/* The column reported is the one in the message. */
		char want[32];
		snprintf(want, sizeof(want), "column %zu: ", col);
		ok(strncmp(err.buf, want, strlen(want)) == 0, "'%s': column %zu", bad[i].path, col);
		jp_free(jp);
		sb_release(&err);
	}
}

static void test_depth(void)
{
	struct strbuf path = SB_INIT, err = SB_INIT;
	sb_addstr(&path, "$[?");
	for (int i = 0; i < JP_MAX_DEPTH; i++)
		sb_addch(&path, '(');
	sb_addstr(&path, "@.a");
	for (int i = 0; i < JP_MAX_DEPTH; i++)
		sb_addch(&path, ')');
	sb_addch(&path, ']');
	struct jp *jp = jp_compile(path.buf, &err, NULL);
	ok(jp != NULL, "%d parentheses deep compiles", JP_MAX_DEPTH);
	jp_free(jp);

	sb_reset(&path);
	sb_addstr(&path, "$[?");
	for (int i = 0; i <= JP_MAX_DEPTH; i++)
		sb_addch(&path, '(');
	jp = jp_compile(path.buf, &err, NULL);
	ok(jp == NULL, "one more does not");
	is_str(err.buf, "column 36: filter nested deeper than 32 levels", "depth message");
	jp_free(jp);

	sb_reset(&path);
	sb_reset(&err);
	sb_addstr(&path, "$[?");
	for (int i = 0; i < 1000; i++)
		sb_addch(&path, '!');
	sb_addstr(&path, "@]");
	jp = jp_compile(path.buf, &err, NULL);
	ok(jp == NULL, "a thousand '!' are refused, not recursed into");
	jp_free(jp);
	sb_release(&path);
	sb_release(&err);
}

static void test_limits(void)
{
	/* 400 arrays of 400 numbers: $..* alone is 160400 matches. */
	cJSON *doc = cJSON_CreateArray();
	for (int i = 0; i < 400; i++) {
		cJSON *row = cJSON_CreateArray();
		for (int k = 0; k < 400; k++)
			cJSON_AddItemToArray(row, cJSON_CreateNumber(k));
		cJSON_AddItemToArray(doc, row);
	}
	struct strbuf err = SB_INIT;
	struct jp_matches m = { NULL, 0, 0 };
	struct jp *jp = jp_compile("$..*", NULL, NULL);
	is_int(jp_eval(jp, doc, &m, &err), -1, "too many matches is an error");
	is_str(err.buf, "more than 100000 matches", "its message");
	is_int((long long)m.n, 0, "and nothing is matched");
	jp_free(jp);

	/* Visits are capped even when nothing matches. */
	sb_reset(&err);
	jp = jp_compile("$..[?(@.x)]..[?(@.x)]", NULL, NULL);
	cJSON *deep = cJSON_CreateArray(), *cur = deep;
	for (int i = 0; i < 900; i++) {
		cJSON *next = cJSON_CreateArray();
		for (int k = 0; k < 30; k++)
			cJSON_AddItemToArray(cur, cJSON_CreateNumber(k));
		cJSON_AddItemToArray(cur, next);
		cur = next;
	}
	is_int(jp_eval(jp, deep, &m, &err), 0, "a deep document without matches is fine");
	is_int((long long)m.n, 0, "nothing matched");
	jp_free(jp);
	jp = jp_compile("$..*..*..*", NULL, NULL);
	is_int(jp_eval(jp, deep, &m, &err), -1, "but $..*..*..* over it stops");
	ok(strncmp(err.buf, "more than ", 10) == 0, "with a limit message: %s", err.buf);
	jp_free(jp);

	/* Matches are appended to what m holds. */
	jp_matches_release(&m);
	jp = jp_compile("$[0][0,1]", NULL, NULL);
	jp_eval(jp, doc, &m, NULL);
	jp_eval(jp, doc, &m, NULL);
	is_int((long long)m.n, 4, "matches append");
	ok(m.v[0] == doc->child->child, "and point into the document");
	jp_free(jp);
	jp_matches_release(&m);
	sb_release(&err);
	cJSON_Delete(doc);
	cJSON_Delete(deep);
}

int main(void)
{
	test_cases();
	test_bad();
	test_depth();
	test_limits();
	return tap_done();
}
