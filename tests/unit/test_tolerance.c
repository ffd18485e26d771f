/*
 * test_tolerance.c: unit tests for tolerance.c: a table of tolerances
 * and the exact validation errors (or none), and a table of tolerance,
 * output, verdict and the exact why line, over process, http, health
 * and bare outputs, including the cases peers get wrong (a two-element
 * list is never a range; a missing target is an answer, not a crash).
 */
#include "common.h"

#include "config.h"
#include "strbuf.h"
#include "tap.h"
#include "tolerance.h"

static const struct {
	const char *tol;
	const char *errors; /* the cfg error lines, "" for none */
} valid[] = {
	{ "true", "" },
	{ "false", "" },
	{ "\"ok\"", "" },
	{ "200", "" },
	{ "[200, 201]", "" },
	{ "[\"a\", 1, null, {\"x\": 1}]", "" },
	{ "[]", "t.json: /tolerance: an empty list matches nothing\n" },
	{ "null",
	  "t.json: /tolerance: must be true, false, a string, a number, a list or an object, got "
	  "null\n" },
	{ "{}", "t.json: /tolerance: missing required key 'type'\n" },
	{ "{\"type\": 5}", "t.json: /tolerance/type: must be a string, got number 5\n" },
	{ "{\"type\": \"probe\", \"name\": \"x\", \"provider\": {}}",
	  "t.json: /tolerance/type: probe tolerances run python and are not supported; use a "
	  "range, regex or jsonpath tolerance\n" },
	{ "{\"type\": \"rnage\", \"range\": [1, 2]}",
	  "t.json: /tolerance/type: must be one of 'range', 'regex', 'jsonpath', got 'rnage'; did "
	  "you mean 'range'?\n" },
	/* range */
	{ "{\"type\": \"range\", \"range\": [200, 299]}", "" },
	{ "{\"type\": \"range\", \"range\": [-1.5, -1.5], \"target\": \"/a/0\"}", "" },
	{ "{\"type\": \"range\", \"range\": [1, 2, 3]}",
	  "t.json: /tolerance/range: must be [low, high], got 3 elements\n" },
	{ "{\"type\": \"range\", \"range\": [1]}",
	  "t.json: /tolerance/range: must be [low, high], got 1 element\n" },
	{ "{\"type\": \"range\", \"range\": [5, 3]}",
	  "t.json: /tolerance/range: low 5 is above high 3\n" },
	{ "{\"type\": \"range\", \"range\": [\"a\", true]}",
	  "t.json: /tolerance/range/0: must be a number, got string 'a'\n"
	  "t.json: /tolerance/range/1: must be a number, got true\n" },
	{ "{\"type\": \"range\"}", "t.json: /tolerance: missing required key 'range'\n" },
	{ "{\"type\": \"range\", \"range\": \"200-299\"}",
	  "t.json: /tolerance/range: must be an array, got string '200-299'\n" },
	{ "{\"type\": \"range\", \"range\": [1, 2], \"traget\": \"x\"}",
	  "t.json: /tolerance/traget: unknown key 'traget'; did you mean 'target'?\n" },
	{ "{\"type\": \"range\", \"range\": [1, 2], \"target\": \"\"}",
	  "t.json: /tolerance/target: must not be empty\n" },
	{ "{\"type\": \"range\", \"range\": [1, 2], \"target\": \"/a~2\"}",
	  "t.json: /tolerance/target: invalid JSON pointer '/a~2': '~' must be followed by 0 or "
	  "1\n" },
	{ "{\"type\": \"range\", \"range\": [1, 2], \"target\": 5}",
	  "t.json: /tolerance/target: must be a string, got number 5\n" },
	/* regex */
	{ "{\"type\": \"regex\", \"pattern\": \"^ok$\", \"target\": \"stderr\"}", "" },
	{ "{\"type\": \"regex\", \"pattern\": \"(a{100}){100}\"}", "" },
	{ "{\"type\": \"regex\", \"pattern\": \"(ab\"}",
	  "t.json: /tolerance/pattern: invalid regular expression '(ab': Unmatched ( or \\(\n" },
	{ "{\"type\": \"regex\", \"pattern\": \"a{2,1}\"}",
	  "t.json: /tolerance/pattern: invalid regular expression 'a{2,1}': Invalid content of "
	  "\\{\\}\n" },
	{ "{\"type\": \"regex\", \"pattern\": \"((a{100}){100}){100}\"}",
	  "t.json: /tolerance/pattern: regular expression too large: its repetition counts "
	  "multiply beyond 10000\n" },
	{ "{\"type\": \"regex\", \"pattern\": \"[{]{99999}\"}",
	  "t.json: /tolerance/pattern: regular expression too large: its repetition counts "
	  "multiply beyond 10000\n" },
	{ "{\"type\": \"regex\", \"pattern\": \"^a+b+(c+d)+$\"}", "" },
	{ "{\"type\": \"regex\", \"pattern\": \"a++++++++++++++++++++++++++++++\"}",
	  "t.json: /tolerance/pattern: regular expression too large: its repetition counts "
	  "multiply beyond 10000\n" },
	{ "{\"type\": \"regex\", \"pattern\": \"((((((((((((((a+)+)+)+)+)+)+)+)+)+)+)+)+)+)+\"}",
	  "t.json: /tolerance/pattern: regular expression too large: its repetition counts "
	  "multiply beyond 10000\n" },
	{ "{\"type\": \"regex\"}", "t.json: /tolerance: missing required key 'pattern'\n" },
	{ "{\"type\": \"regex\", \"pattern\": \"x\", \"path\": \"$\"}",
	  "t.json: /tolerance/path: unknown key 'path'\n" },
	/* jsonpath */
	{ "{\"type\": \"jsonpath\", \"path\": \"$.items[*]\"}", "" },
	{ "{\"type\": \"jsonpath\", \"path\": \"$.a\", \"expect\": [1, 2], \"count\": 0, "
	  "\"target\": \"stdout\"}",
	  "" },
	{ "{\"type\": \"jsonpath\", \"path\": \"$.a[\"}",
	  "t.json: /tolerance/path: invalid JSONPath '$.a[': column 5: expected an index, a name "
	  "in quotes, '*', a slice or a filter, found the end of the path\n" },
	{ "{\"type\": \"jsonpath\", \"path\": \"items\"}",
	  "t.json: /tolerance/path: invalid JSONPath 'items': column 1: a JSONPath starts with "
	  "'$'\n" },
	{ "{\"type\": \"jsonpath\", \"path\": \"$\", \"count\": -1}",
	  "t.json: /tolerance/count: must be 0..2147483647, got -1\n" },
	{ "{\"type\": \"jsonpath\", \"path\": \"$\", \"count\": 1.5}",
	  "t.json: /tolerance/count: must be an integer, got number 1.5\n" },
	{ "{\"type\": \"jsonpath\", \"path\": \"$\", \"expect\": []}",
	  "t.json: /tolerance/expect: an empty list matches nothing\n" },
	{ "{\"type\": \"jsonpath\"}", "t.json: /tolerance: missing required key 'path'\n" },
	{ "{\"type\": \"jsonpath\", \"path\": \"$\", \"expected\": 1}",
	  "t.json: /tolerance/expected: unknown key 'expected'; did you mean 'expect'?\n" },
};

/* Outputs of the kinds of provider. */
#define P0 "{\"status\": 0, \"stdout\": \"ok\\n\", \"stderr\": \"\"}"
#define P1 "{\"status\": 1, \"stdout\": \"fail\\n\", \"stderr\": \"boom\"}"
#define H200                                                                     \
	"{\"status\": 200, \"headers\": {\"Content-Type\": \"application/json\"}, " \
	"\"body\": {\"items\": [{\"id\": 1, \"state\": \"up\"}, {\"id\": 2, \"state\": \"up\"}]}}"
#define H503 "{\"status\": 503, \"headers\": {}, \"body\": \"down\"}"
#define HSTR "{\"status\": 200, \"headers\": {}, \"body\": \"{\\\"a\\\": [1, 2]}\"}"
#define HBAD "{\"status\": 200, \"body\": \"not json\"}"
#define HEALTH                                                                \
	"{\"state\": \"degraded\", \"services\": {\"orders\": {\"state\": \"degraded\", " \
	"\"healthy\": 1, \"instances\": 2}, \"payments\": {\"state\": \"healthy\"}}}"

static const struct {
	const char *tol;
	const char *output;
	int held;
	const char *why;
} cases[] = {
	/* numbers: the status when there is one, else the output */
	{ "0", P0, 1, "status 0, want 0" },
	{ "0", P1, 0, "status 1, want 0" },
	{ "200", H503, 0, "status 503, want 200" },
	{ "200", "200", 1, "output 200, want 200" },
	{ "200", "\"200\"", 0, "output \"200\", want 200" },
	{ "1", "{\"count\": 1}", 0, "output {\"count\":1}, want 1" },
	/* lists: membership, never a range */
	{ "[200, 201]", H503, 0, "status 503, want one of [200, 201]" },
	{ "[200, 204]", "{\"status\": 201, \"body\": \"\"}", 0,
	  "status 201, want one of [200, 204]" },
	{ "[200, 204]", "{\"status\": 204, \"body\": \"\"}", 1,
	  "status 204, want one of [200, 204]" },
	{ "[1, 5]", "3", 0, "output 3, want one of [1, 5]" },
	{ "[\"a\", \"b\"]", "\"b\"", 1, "output \"b\", want one of [\"a\", \"b\"]" },
	{ "[0, 1]", "1", 1, "output 1, want one of [0, 1]" },
	{ "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]", "0", 0,
	  "output 0, want one of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, ...]" },
	/* strings: stdout, body, state, else the output */
	{ "\"ok\"", P0, 1, "stdout \"ok\\n\", want \"ok\"" },
	{ "\"ok\"", P1, 0, "stdout \"fail\\n\", want \"ok\"" },
	{ "\"ok\"", "\"ok\\r\\n\"", 1, "output \"ok\\r\\n\", want \"ok\"" },
	{ "\"ok\"", "\"ok\\n\\n\"", 0, "output \"ok\\n\\n\", want \"ok\"" },
	{ "\"ok\\n\"", "\"ok\\n\"", 1, "output \"ok\\n\", want \"ok\\n\"" },
	{ "\"down\"", H503, 1, "body \"down\", want \"down\"" },
	{ "\"healthy\"", HEALTH, 0, "state \"degraded\", want \"healthy\"" },
	{ "\"degraded\"", HEALTH, 1, "state \"degraded\", want \"degraded\"" },
	{ "\"x\"", "{\"status\": 0}", 0, "output {\"status\":0}, want \"x\"" },
	{ "\"x\"", "{\"stdout\": 5}", 0, "stdout 5, want \"x\"" },
	{ "\"x\"",
	  "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"", 0,
	  "output \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\", want \"x\"" },
	{ "\"x\"", "\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		   "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		   "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		   "-\xc3\xa9\"",
	  0,
	  "output \"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	  "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	  "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	  "...\", want \"x\"" },
	/* booleans */
	{ "true", P0, 1, "status 0, want 0" },
	{ "true", P1, 0, "status 1, want 0" },
	{ "false", P1, 1, "status 1, want non-zero" },
	{ "false", P0, 0, "status 0, want non-zero" },
	{ "true", H200, 1, "status 200, want 2xx" },
	{ "true", H503, 0, "status 503, want 2xx" },
	{ "false", H503, 1, "status 503, want not 2xx" },
	{ "false", H200, 0, "status 200, want not 2xx" },
	{ "true", "{\"status\": 0}", 1, "status 0, want 0" },
	{ "true", "true", 1, "output true, want true" },
	{ "false", "true", 0, "output true, want false" },
	{ "false", "false", 1, "output false, want false" },
	{ "true", HEALTH, 0, "no 'status' in the output" },
	{ "true", "5", 0, "output 5, want true" },
	{ "true", "{\"status\": \"0\", \"stdout\": \"\"}", 0, "status \"0\", want 0" },
	/* range */
	{ "{\"type\": \"range\", \"range\": [200, 299]}", H200, 1, "status 200, want 200..299" },
	{ "{\"type\": \"range\", \"range\": [200, 299]}", H503, 0, "status 503, want 200..299" },
	{ "{\"type\": \"range\", \"range\": [0.5, 1.5]}", "1", 1, "output 1, want 0.5..1.5" },
	{ "{\"type\": \"range\", \"range\": [0.5, 1.5]}", "1.5", 1, "output 1.5, want 0.5..1.5" },
	{ "{\"type\": \"range\", \"range\": [0.5, 1.5]}", "1.6", 0, "output 1.6, want 0.5..1.5" },
	{ "{\"type\": \"range\", \"range\": [1, 1], \"target\": \"/body/items/1/id\"}", H200, 0,
	  "/body/items/1/id 2, want 1..1" },
	{ "{\"type\": \"range\", \"range\": [0, 10], \"target\": \"healthy\"}",
	  "{\"healthy\": 2}", 1, "healthy 2, want 0..10" },
	{ "{\"type\": \"range\", \"range\": [0, 10], \"target\": \"latency\"}", H200, 0,
	  "no 'latency' in the output" },
	{ "{\"type\": \"range\", \"range\": [0, 10], \"target\": \"/body/x\"}", H200, 0,
	  "no '/body/x' in the output" },
	{ "{\"type\": \"range\", \"range\": [0, 1], \"target\": \"stdout\"}", P0, 0,
	  "stdout \"ok\\n\", want 0..1" },
	{ "{\"type\": \"range\", \"range\": [0, 5]}", "[1]", 0, "output [1], want 0..5" },
	{ "{\"type\": \"range\", \"range\": [0, 5], \"target\": \"x\"}", "3", 0,
	  "no 'x' in the output" },
	/* regex */
	{ "{\"type\": \"regex\", \"pattern\": \"^ok$\"}", P0, 1, "stdout matches '^ok$'" },
	{ "{\"type\": \"regex\", \"pattern\": \"^ok$\"}", P1, 0, "stdout does not match '^ok$'" },
	{ "{\"type\": \"regex\", \"pattern\": \"^fail$\"}", "\"ok\\nfail\\n\"", 1,
	  "output matches '^fail$'" },
	{ "{\"type\": \"regex\", \"pattern\": \"\\\"state\\\":\\\"up\\\"\"}", H200, 1,
	  "body matches '\"state\":\"up\"'" },
	{ "{\"type\": \"regex\", \"pattern\": \"boom\", \"target\": \"stderr\"}", P1, 1,
	  "stderr matches 'boom'" },
	{ "{\"type\": \"regex\", \"pattern\": \"json$\", \"target\": \"/headers/Content-Type\"}",
	  H200, 1, "/headers/Content-Type matches 'json$'" },
	{ "{\"type\": \"regex\", \"pattern\": \"^(healthy|degraded)$\"}", HEALTH, 1,
	  "state matches '^(healthy|degraded)$'" },
	{ "{\"type\": \"regex\", \"pattern\": \"^5\"}", "503", 1, "output matches '^5'" },
	{ "{\"type\": \"regex\", \"pattern\": \"^5\", \"target\": \"status\"}", H200, 0,
	  "status does not match '^5'" },
	{ "{\"type\": \"regex\", \"pattern\": \"x\", \"target\": \"nope\"}", P0, 0,
	  "no 'nope' in the output" },
	{ "{\"type\": \"regex\", \"pattern\": \"(\"}", P0, 0,
	  "invalid regular expression '(': Unmatched ( or \\(" },
	/* jsonpath */
	{ "{\"type\": \"jsonpath\", \"path\": \"$.items[*]\"}", H200, 1,
	  "$.items[*] matched 2 values" },
	{ "{\"type\": \"jsonpath\", \"path\": \"$.items[0]\"}", H200, 1,
	  "$.items[0] matched 1 value" },
	{ "{\"type\": \"jsonpath\", \"path\": \"$.nope\"}", H200, 0, "$.nope matched nothing" },
	{ "{\"type\": \"jsonpath\", \"path\": \"$.items[*]\", \"count\": 2}", H200, 1,
	  "$.items[*] count 2, want 2" },
	{ "{\"type\": \"jsonpath\", \"path\": \"$.items[*]\", \"count\": 3}", H200, 0,
	  "$.items[*] count 2, want 3" },
	{ "{\"type\": \"jsonpath\", \"path\": \"$.nope\", \"count\": 0}", H200, 1,
	  "$.nope count 0, want 0" },
	{ "{\"type\": \"jsonpath\", \"path\": \"$.items[*].state\", \"expect\": \"up\"}", H200, 1,
	  "$.items[*].state matched 2 values, want \"up\"" },
	{ "{\"type\": \"jsonpath\", \"path\": \"$.items[*].state\", \"expect\": \"down\"}", H200, 0,
	  "$.items[*].state value \"up\", want \"down\"" },
	{ "{\"type\": \"jsonpath\", \"path\": \"$.items[*].id\", \"expect\": 1}", H200, 0,
	  "$.items[*].id value 2, want 1" },
	{ "{\"type\": \"jsonpath\", \"path\": \"$.items[*].state\", \"expect\": [\"up\", "
	  "\"down\"]}",
	  H200, 1, "$.items[*].state matched 2 values, want one of [\"up\", \"down\"]" },
	{ "{\"type\": \"jsonpath\", \"path\": \"$.nope\", \"expect\": \"up\"}", H200, 0,
	  "$.nope matched nothing, want \"up\"" },
	{ "{\"type\": \"jsonpath\", \"path\": \"$.items[*].state\", \"expect\": \"up\", \"count\": "
	  "1}",
	  H200, 0, "$.items[*].state count 2 equal to \"up\", want 1" },
	{ "{\"type\": \"jsonpath\", \"path\": \"$.items[*].state\", \"expect\": [\"x\", \"up\"], "
	  "\"count\": 2}",
	  H200, 1, "$.items[*].state count 2 in [\"x\", \"up\"], want 2" },
	{ "{\"type\": \"jsonpath\", \"path\": \"$.items[*]\", \"expect\": {\"id\": 1, \"state\": "
	  "\"up\"}, \"count\": 1}",
	  H200, 1, "$.items[*] count 1 equal to {\"id\":1,\"state\":\"up\"}, want 1" },
	{ "{\"type\": \"jsonpath\", \"path\": \"$.a[1]\", \"expect\": 2}", HSTR, 1,
	  "$.a[1] matched 1 value, want 2" },
	{ "{\"type\": \"jsonpath\", \"path\": \"$\"}", HBAD, 0, "body is not JSON" },
	{ "{\"type\": \"jsonpath\", \"path\": \"$.services[?(@.state != 'healthy')]\", \"count\": "
	  "0}",
	  HEALTH, 0, "$.services[?(@.state != 'healthy')] count 1, want 0" },
	{ "{\"type\": \"jsonpath\", \"path\": \"$.n\", \"target\": \"stdout\"}", P0, 0,
	  "stdout is not JSON" },
	{ "{\"type\": \"jsonpath\", \"path\": \"$.n\", \"expect\": 3, \"target\": \"stdout\"}",
	  "{\"status\": 0, \"stdout\": \"{\\\"n\\\": 3}\\n\"}", 1, "$.n matched 1 value, want 3" },
	{ "{\"type\": \"jsonpath\", \"path\": \"$.n\"}", "{\"n\": 1}", 1, "$.n matched 1 value" },
	{ "{\"type\": \"jsonpath\", \"path\": \"$\", \"expect\": \"text\"}", "\"text\"", 1,
	  "$ matched 1 value, want \"text\"" },
	{ "{\"type\": \"jsonpath\", \"path\": \"$.x\", \"target\": \"x\"}", H200, 0,
	  "no 'x' in the output" },
	{ "{\"type\": \"jsonpath\", \"path\": \"$..*..*..*\"}",
	  "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
	  "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
	  0, "$..*..*..*: more than 100000 matches" },
	/* one line, whatever the file holds */
	{ "{\"type\": \"regex\", \"pattern\": \"a\\nb\"}", "\"x\"", 0, "output does not match 'a\\nb'" },
	{ "{\"type\": \"range\", \"range\": [0, 1], \"target\": \"a\\tb\\u0001\"}", "{}", 0,
	  "no 'a\\tb\\x01' in the output" },
	/* what was never validated still gets an answer */
	{ "{\"type\": \"range\"}", H200, 0, "invalid range tolerance" },
	{ "{\"type\": \"range\", \"range\": [1, \"2\"]}", H200, 0, "invalid range tolerance" },
	{ "{\"type\": \"regex\"}", H200, 0, "invalid regex tolerance" },
	{ "{\"type\": \"jsonpath\", \"count\": 1}", H200, 0, "invalid jsonpath tolerance" },
	{ "{\"type\": \"jsonpath\", \"path\": \"x\"}", H200, 0,
	  "invalid JSONPath 'x': column 1: a JSONPath starts with '$'" },
	{ "{\"type\": \"zzz\"}", H200, 0, "invalid tolerance" },
	{ "{\"range\": [1, 2]}", H200, 0, "invalid tolerance" },
	{ "[]", H200, 0, "invalid tolerance" },
	{ "null", H200, 0, "invalid tolerance" },
};

static void test_validate(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(valid); i++) {
		cJSON *tol = cJSON_Parse(valid[i].tol);
		struct cfg cfg;
		cfg_init(&cfg, "t.json");
		int n = tol_validate(&cfg, tol, "/tolerance");
		is_str(cfg.errors.buf, valid[i].errors, valid[i].tol);
		is_int(n, cfg.nerrors, "returns the number recorded");
		cfg_free(&cfg);
		cJSON_Delete(tol);
	}
}

static void test_check(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		cJSON *tol = cJSON_Parse(cases[i].tol), *out = cJSON_Parse(cases[i].output);
		struct strbuf why = SB_INIT;
		if (!tol || !out)
			diag("bad test JSON in case %zu", i);
		int held = tol_check(tol, out, &why);
		char name[200];
		snprintf(name, sizeof(name), "%.80s on %.80s", cases[i].tol, cases[i].output);
		is_int(held, cases[i].held, name);
		is_str(why.buf, cases[i].why, name);
		sb_release(&why);
		cJSON_Delete(tol);
		cJSON_Delete(out);
	}
	/* No output at all: the provider failed. */
	cJSON *tol = cJSON_CreateNumber(0);
	struct strbuf why = SB_INIT;
	is_int(tol_check(tol, NULL, &why), 0, "no output is not held");
	is_str(why.buf, "no output", "and says so");
	cJSON_Delete(tol);
	/* why is appended to. */
	sb_reset(&why);
	sb_addstr(&why, "probe p: ");
	tol = cJSON_CreateTrue();
	cJSON *out = cJSON_CreateTrue();
	tol_check(tol, out, &why);
	is_str(why.buf, "probe p: output true, want true", "why is appended to");
	cJSON_Delete(tol);
	cJSON_Delete(out);
	sb_release(&why);
}

int main(void)
{
	test_validate();
	test_check();
	return tap_done();
}
