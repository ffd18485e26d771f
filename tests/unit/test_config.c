/*
 * test_config.c: unit tests for config.c: syntax errors with exact line
 * and column, JSON pointer escaping and lookup, the typed getters, error
 * accumulation across a whole spec, "did you mean" hints, and loading
 * from files and standard input (temp files under mkdtemp, removed).
 */
#include "common.h"
#include <fcntl.h>
#include <math.h>
#include <sys/stat.h>

#include "config.h"
#include "proc.h"
#include "strbuf.h"
#include "tap.h"

/* ---- syntax errors ---------------------------------------------------- */

static const struct {
	const char *name, *text, *want;
} syntax_cases[] = {
	{ "missing comma at the end of line 3",
	  "{\n  \"service\": \"orders\",\n  \"port\": 8080\n  \"replicas\": 3\n}\n",
	  "t.json:3:15: invalid JSON: expected ',' or '}' after this value, found character '\"' at 4:3" },
	{ "missing comma inside line 3",
	  "{\n  \"service\": \"orders\",\n  \"port\": 8080 \"replicas\": 3\n}\n",
	  "t.json:3:16: invalid JSON: unexpected character '\"', expected ',' or '}'" },
	{ "truncated file",
	  "{\n  \"service\": \"orders\",\n  \"checks\": [\n    {\"path\": \"/health\"",
	  "t.json:4:23: invalid JSON: unexpected end of input, expected ',' or '}'" },
	{ "truncated after a comma", "{\"a\": [1, 2,\n",
	  "t.json:2:1: invalid JSON: unexpected end of input, expected a value" },
	{ "truncated string", "{\"a\": \"abc", "t.json:1:7: invalid JSON: unterminated string" },
	{ "truncated literal", "[tr", "t.json:1:4: invalid JSON: unexpected end of input" },
	{ "trailing garbage", "{\"a\": 1}\n}\n", "t.json:2:1: invalid JSON: trailing garbage after the value" },
	{ "two documents", "{} {}", "t.json:1:4: invalid JSON: trailing garbage after the value" },
	{ "trailing comma in an object", "{\"a\": 1,\n}",
	  "t.json:1:8: invalid JSON: trailing comma before '}'" },
	{ "trailing comma in an array", "[1, 2, ]", "t.json:1:6: invalid JSON: trailing comma before ']'" },
	{ "unquoted key", "{service: 1}",
	  "t.json:1:2: invalid JSON: unexpected character 's', expected a string key" },
	{ "single quotes", "{'a': 1}",
	  "t.json:1:2: invalid JSON: unexpected character ''', expected a string key (strings take "
	  "double quotes)" },
	{ "comment", "{\n  // the port\n  \"port\": 1\n}",
	  "t.json:2:3: invalid JSON: unexpected character '/', expected a string key (comments are "
	  "not allowed in JSON)" },
	{ "missing colon", "{\"a\" 1}",
	  "t.json:1:6: invalid JSON: unexpected character '1', expected ':' after the key" },
	{ "bad literal", "{\"a\": True}", "t.json:1:7: invalid JSON: invalid literal 'True'" },
	{ "leading zero", "[007]", "t.json:1:2: invalid JSON: invalid number: leading zero" },
	{ "bare minus", "[-]", "t.json:1:3: invalid JSON: invalid number: expected a digit after '-'" },
	{ "dot without digits", "[1.]", "t.json:1:4: invalid JSON: invalid number: expected a digit after '.'" },
	{ "empty exponent", "[1e+]", "t.json:1:5: invalid JSON: invalid number: expected a digit in the exponent" },
	{ "huge number", "[1e400]", "t.json:1:2: invalid JSON: number out of range" },
	{ "bad escape", "[\"a\\qb\"]", "t.json:1:4: invalid JSON: invalid escape '\\q' in a string" },
	{ "short unicode escape", "[\"\\u12\"]",
	  "t.json:1:3: invalid JSON: invalid \\u escape, expected 4 hex digits" },
	{ "lone surrogate", "[\"\\udc00\"]", "t.json:1:3: invalid JSON: invalid \\u escape: unpaired surrogate" },
	{ "raw tab in a string", "[\"a\tb\"]",
	  "t.json:1:4: invalid JSON: unescaped control character 0x09 in a string" },
	{ "raw newline in a string", "{\"a\": \"line\nbreak\"}",
	  "t.json:1:7: invalid JSON: unterminated string" },
	{ "invalid UTF-8", "[\"ok\xc3\x28\"]", "t.json:1:5: invalid JSON: invalid UTF-8 in a string" },
	{ "columns count characters", "{\"名前\": x}",
	  "t.json:1:8: invalid JSON: invalid literal 'x'" },
	{ "a byte order mark is not a column", "\xef\xbb\xbf{\"a\": ?}",
	  "t.json:1:7: invalid JSON: unexpected character '?', expected a value" },
	{ "CRLF line ends", "{\r\n\"a\": 1,\r\n\"b\": }\r\n",
	  "t.json:3:6: invalid JSON: unexpected character '}', expected a value" },
	{ "control byte outside strings", "[1,\x01]",
	  "t.json:1:4: invalid JSON: unexpected byte 0x01, expected a value" },
	{ "unicode outside strings", "[1, é]",
	  "t.json:1:5: invalid JSON: unexpected character 'é', expected a value" },
	{ "empty file", "", "t.json:1:1: invalid JSON: empty input" },
	{ "blank file", " \n\t\n", "t.json:1:1: invalid JSON: empty input" },
};

static void test_syntax(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(syntax_cases); i++) {
		struct cfg c;
		struct strbuf err = SB_INIT;
		const char *t = syntax_cases[i].text;
		int r = cfg_parse_string("t.json", t, strlen(t), &c, &err);
		ok(r == -1 && c.root == NULL, "syntax: %s fails", syntax_cases[i].name);
		is_str(err.buf, syntax_cases[i].want, syntax_cases[i].name);
		cfg_free(&c);
		sb_release(&err);
	}

	/* Nesting: 1000 levels parse, 1001 do not. */
	struct strbuf deep = SB_INIT;
	for (int i = 0; i < 1000; i++)
		sb_addch(&deep, '[');
	for (int i = 0; i < 1000; i++)
		sb_addch(&deep, ']');
	struct cfg c;
	struct strbuf err = SB_INIT;
	is_int(cfg_parse_string("t.json", deep.buf, deep.len, &c, &err), 0, "1000 levels of nesting parse");
	cfg_free(&c);
	sb_reset(&deep);
	for (int i = 0; i < 1001; i++)
		sb_addch(&deep, '[');
	is_int(cfg_parse_string("t.json", deep.buf, deep.len, &c, &err), -1, "1001 levels do not");
	is_str(err.buf, "t.json:1:1001: invalid JSON: nesting deeper than 1000 levels",
	       "and the error names the level");
	cfg_free(&c);
	sb_release(&deep);

	/* A number cJSON would cut short is refused up front. */
	sb_reset(&err);
	const char *longnum = "[1234567890123456789012345678901234567890123456789012345678901234]";
	is_int(cfg_parse_string("t.json", longnum, strlen(longnum), &c, &err), -1, "a 64-digit number");
	is_str(err.buf, "t.json:1:2: invalid JSON: number too long (more than 63 characters)",
	       "is refused with a reason");
	cfg_free(&c);

	/* Valid documents, including edge cases cJSON and RFC 8259 accept. */
	static const char *const valid[] = {
		"{}", "[]", "0", "-0.5e-3", "\"\\ud83d\\ude00 \\u00e9 \\/\"", "\xef\xbb\xbf{\"a\": null}",
		" {\"a\" : [ true , false , null , { } , [ ] ] } \n", "\"é☕\"", "1E+2",
	};
	for (size_t i = 0; i < ARRAY_SIZE(valid); i++) {
		sb_reset(&err);
		int r = cfg_parse_string("v.json", valid[i], strlen(valid[i]), &c, &err);
		ok(r == 0 && c.root && err.len == 0, "valid document %zu parses", i);
		cfg_free(&c);
	}

	/* The length is respected: text after len is not read. */
	sb_reset(&err);
	is_int(cfg_parse_string("v.json", "{\"a\": 1}garbage", 8, &c, &err), 0, "only len bytes are parsed");
	cfg_free(&c);
	/* An embedded NUL byte is an error, not an end. */
	is_int(cfg_parse_string("v.json", "{}\0{}", 5, &c, &err), -1, "a NUL byte is not an end");
	is_str(err.buf, "v.json:1:3: invalid JSON: trailing garbage after the value", "it is reported");
	cfg_free(&c);
	sb_release(&err);
}

/* ---- pointers --------------------------------------------------------- */

static void test_pointers(void)
{
	static const struct {
		const char *key, *want;
	} esc[] = {
		{ "plain", "/plain" }, { "a/b", "/a~1b" }, { "m~n", "/m~0n" }, { "~1", "/~01" },
		{ "/~", "/~1~0" },     { "", "/" },        { "x y", "/x y" },  { "é", "/é" },
	};
	struct cfg c;
	cfg_init(&c, "p.json");
	for (size_t i = 0; i < ARRAY_SIZE(esc); i++) {
		char name[64];
		snprintf(name, sizeof(name), "pointer of key '%s'", esc[i].key);
		is_str(cfg_ptr_key(&c, "", esc[i].key), esc[i].want, name);
	}
	is_str(cfg_ptr_key(&c, NULL, "a"), "/a", "a NULL parent is the root");
	is_str(cfg_ptr_key(&c, "/strategy/steps", "2"), "/strategy/steps/2", "a key under a parent");
	is_str(cfg_ptr_index(&c, "/strategy/steps", 2), "/strategy/steps/2", "an index under a parent");
	is_str(cfg_ptr_index(&c, NULL, 0), "/0", "an index under the root");
	cfg_free(&c);

	const char *doc = "{\"a/b\": {\"m~n\": [10, 20, {\"\": 5}]}, \"~1\": 1, \"\": 2}";
	struct strbuf err = SB_INIT;
	if (cfg_parse_string("p.json", doc, strlen(doc), &c, &err) < 0)
		diag("%s", err.buf);
	static const struct {
		const char *ptr;
		const char *want; /* printed value, or NULL for no node */
	} res[] = {
		{ "/a~1b/m~0n/1", "20" }, { "/a~1b/m~0n/2/", "5" }, { "/~01", "1" },
		{ "/", "2" },             { "/a~1b/m~0n/01", NULL }, { "/a~1b/m~0n/-", NULL },
		{ "/a~1b/m~0n/3", NULL }, { "/a~1b/m~0n/x", NULL },  { "/~2", NULL },
		{ "a~1b", NULL },         { "/missing", NULL },      { "/~01/deeper", NULL },
		{ "/a~1b/m~0n/99999999999999999999", NULL },
	};
	for (size_t i = 0; i < ARRAY_SIZE(res); i++) {
		cJSON *n = cfg_resolve(c.root, res[i].ptr);
		char name[80];
		snprintf(name, sizeof(name), "resolve '%s'", res[i].ptr);
		if (!res[i].want) {
			ok(n == NULL, "%s finds nothing", name);
		} else {
			char *text = n ? cJSON_PrintUnformatted(n) : NULL;
			is_str(text, res[i].want, name);
			free(text);
		}
	}
	ok(cfg_resolve(c.root, "") == c.root, "the empty pointer is the root");
	ok(cfg_resolve(NULL, "/a") == NULL, "resolve under NULL is NULL");
	cfg_free(&c);
	sb_release(&err);
}

/* ---- getters ---------------------------------------------------------- */

static void test_getters(void)
{
	const char *doc = "{\"s\": \"x\", \"n\": 5.5, \"i\": 7, \"b\": true, \"z\": null, \"o\": {},"
			  " \"a\": [1], \"d\": \"1m30s\", \"dn\": 0.25, \"big\": 1e300, \"neg\": -3,"
			  " \"long\": \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\","
			  " \"mode\": \"canry\", \"a\\nb\": 1}";
	struct cfg c;
	struct strbuf err = SB_INIT;
	is_int(cfg_parse_string("g.json", doc, strlen(doc), &c, &err), 0, "the getter document parses");
	cJSON *root = cfg_root_object(&c);
	ok(root != NULL, "its top level is an object");

	const char *s = "unset";
	double d = -1;
	int64_t i = -1, ns = -1;
	bool b = false;
	cJSON *node = NULL;
	int e = -1;
	static const char *const modes[] = { "rolling", "bluegreen", "canary", NULL };

	is_int(cfg_get_string(&c, root, "", "s", true, &s), 1, "get_string of a string");
	is_str(s, "x", "and its value");
	is_int(cfg_get_string(&c, root, "", "missing", false, &s), 0, "an optional absent key is 0");
	is_str(s, "x", "and leaves the output alone");
	is_int(cfg_get_string(&c, root, "", "missing", true, &s), -1, "a required absent key is -1");
	is_int(cfg_get_string(&c, root, "", "n", true, &s), -1, "a number is not a string");
	is_int(cfg_get_string(&c, root, "", "long", true, &s), 1, "a long string");
	is_int(cfg_get_int(&c, root, "", "long", true, 0, 1, &i), -1, "a long string is not an int");
	is_int(cfg_get_int(&c, root, "", "i", true, 0, 10, &i), 1, "get_int in range");
	is_int(i, 7, "and its value");
	is_int(cfg_get_int(&c, root, "", "n", true, 0, 10, &i), -1, "5.5 is not an integer");
	is_int(cfg_get_int(&c, root, "", "i", true, 8, 10, &i), -1, "7 is not in 8..10");
	is_int(cfg_get_int(&c, root, "", "i", true, 8, INT64_MAX, &i), -1, "7 is not at least 8");
	is_int(cfg_get_int(&c, root, "", "i", true, INT64_MIN, 6, &i), -1, "7 is not at most 6");
	is_int(cfg_get_int(&c, root, "", "big", true, INT64_MIN, INT64_MAX, &i), -1,
	       "1e300 does not fit in 64 bits");
	is_int(cfg_get_number(&c, root, "", "n", true, 0, 10, &d), 1, "get_number in range");
	is_double(d, 5.5, 0, "and its value");
	is_int(cfg_get_number(&c, root, "", "n", true, 0, 5, &d), -1, "5.5 is not in 0..5");
	is_int(cfg_get_number(&c, root, "", "n", true, 6, INFINITY, &d), -1, "5.5 is not at least 6");
	is_int(cfg_get_number(&c, root, "", "s", true, 0, 5, &d), -1, "a string is not a number");
	is_int(cfg_get_bool(&c, root, "", "b", true, &b), 1, "get_bool");
	ok(b, "and its value");
	is_int(cfg_get_bool(&c, root, "", "z", true, &b), -1, "null is not a boolean");
	is_int(cfg_get_duration(&c, root, "", "d", true, &ns), 1, "a duration string");
	is_int(ns, 90000000000LL, "1m30s is 90 s");
	is_int(cfg_get_duration(&c, root, "", "dn", true, &ns), 1, "a duration in seconds");
	is_int(ns, 250000000LL, "0.25 is 250 ms");
	is_int(cfg_get_duration(&c, root, "", "neg", true, &ns), -1, "a negative duration");
	is_int(cfg_get_duration(&c, root, "", "b", true, &ns), -1, "a boolean is not a duration");
	is_int(cfg_get_duration(&c, root, "", "big", true, &ns), -1, "1e300 seconds is too long");
	is_int(cfg_get_duration(&c, root, "", "s", true, &ns), -1, "'x' is not a duration");
	is_int(cfg_get_object(&c, root, "", "o", true, &node), 1, "get_object");
	ok(cJSON_IsObject(node), "and the node");
	is_int(cfg_get_object(&c, root, "", "a", true, &node), -1, "an array is not an object");
	is_int(cfg_get_array(&c, root, "", "a", true, &node), 1, "get_array");
	is_int(cfg_get_int(&c, node->child, "/a/0", NULL, true, 0, 0, &i), -1,
	       "with key NULL a getter checks the node itself");
	is_int(cfg_get_enum(&c, root, "", "mode", true, modes, &e), -1, "an unknown enum value");
	is_int(cfg_get_enum(&c, root, "", "s", true, modes, &e), -1, "a far enum value");
	is_int(cfg_get_string(&c, NULL, "/nothing", "x", true, &s), 0, "a NULL parent gives 0");
	is_int(cfg_get_string(&c, node, "/a", "x", true, &s), 0, "a non-object parent gives 0");
	static const char *const allowed[] = { "s", "n", "i", "b", "z", "o", "a", "d", "dn", "big",
					       "neg", "long", "mode", NULL };
	is_int(cfg_check_keys(&c, root, "", allowed), 1, "one unknown key");

	is_str(c.errors.buf,
	       "g.json: missing required key 'missing'\n"
	       "g.json: /n: must be a string, got number 5.5\n"
	       "g.json: /long: must be an integer, got string 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...'\n"
	       "g.json: /n: must be an integer, got number 5.5\n"
	       "g.json: /i: must be 8..10, got 7\n"
	       "g.json: /i: must be at least 8, got 7\n"
	       "g.json: /i: must be at most 6, got 7\n"
	       "g.json: /big: must fit in 64 bits, got 1e+300\n"
	       "g.json: /n: must be 0..5, got 5.5\n"
	       "g.json: /n: must be at least 6, got 5.5\n"
	       "g.json: /s: must be a number, got string 'x'\n"
	       "g.json: /z: must be true or false, got null\n"
	       "g.json: /neg: must not be negative, got -3\n"
	       "g.json: /b: must be a duration (like \"250ms\") or a number of seconds, got true\n"
	       "g.json: /big: must be at most 9223372036 seconds, got 1e+300\n"
	       "g.json: /s: invalid duration 'x': expected a number\n"
	       "g.json: /a: must be an object, got array\n"
	       "g.json: /a/0: must be 0..0, got 1\n"
	       "g.json: /mode: must be one of 'rolling', 'bluegreen', 'canary', got 'canry'; did you "
	       "mean 'canary'?\n"
	       "g.json: /s: must be one of 'rolling', 'bluegreen', 'canary', got 'x'\n"
	       "g.json: /a\\nb: unknown key 'a\\nb'\n",
	       "every getter error, in order, with pointers, one per line");
	is_int(c.nerrors, 21, "21 errors counted");
	cfg_free(&c);

	/* The top level must be an object. */
	is_int(cfg_parse_string("arr.json", "[1]", 3, &c, &err), 0, "an array document parses");
	ok(cfg_root_object(&c) == NULL, "but is not an object");
	is_str(c.errors.buf, "arr.json: the top level must be an object, got array\n",
	       "and that is recorded without a pointer");
	cfg_free(&c);
	sb_release(&err);
}

/* ---- a whole spec: every problem reported at once --------------------- */

static const char spec_text[] =
	"{\n"
	"  \"service\": \"orders\",\n"
	"  \"strategy\": {\n"
	"    \"kind\": \"canry\",\n"
	"    \"steps\": [\n"
	"      {\"weight\": 10, \"pause\": \"30s\"},\n"
	"      {\"weight\": 50, \"pause\": \"5x\"},\n"
	"      {\"weight\": 120, \"pause\": 60},\n"
	"      {\"wieght\": 100}\n"
	"    ]\n"
	"  },\n"
	"  \"timeout\": -1,\n"
	"  \"replicas\": 2.5,\n"
	"  \"dry_run\": \"yes\",\n"
	"  \"health\": [],\n"
	"  \"owner/team\": 1,\n"
	"  \"service\": \"again\"\n"
	"}\n";

/* What a tool's validator looks like: check everything, stop at nothing. */
static void validate_spec(struct cfg *c)
{
	static const char *const top_keys[] = { "service", "strategy", "timeout", "replicas",
						"dry_run", "health", NULL };
	static const char *const strategy_keys[] = { "kind", "steps", NULL };
	static const char *const step_keys[] = { "weight", "pause", NULL };
	static const char *const kinds[] = { "rolling", "bluegreen", "canary", NULL };
	const char *service = NULL;
	cJSON *root = cfg_root_object(c), *strategy = NULL, *steps = NULL, *health = NULL;
	int64_t timeout = 0, replicas = 1;
	bool dry_run = false;
	int kind = 0;

	cfg_check_keys(c, root, "", top_keys);
	cfg_get_string(c, root, "", "service", true, &service);
	if (cfg_get_object(c, root, "", "strategy", true, &strategy) > 0) {
		const char *sp = cfg_ptr_key(c, "", "strategy");
		cfg_check_keys(c, strategy, sp, strategy_keys);
		cfg_get_enum(c, strategy, sp, "kind", true, kinds, &kind);
		if (cfg_get_array(c, strategy, sp, "steps", true, &steps) > 0) {
			const char *stp = cfg_ptr_key(c, sp, "steps");
			size_t idx = 0;
			for (cJSON *step = steps->child; step; step = step->next, idx++) {
				const char *p = cfg_ptr_index(c, stp, idx);
				int64_t weight, pause;
				if (cfg_get_object(c, step, p, NULL, true, &step) <= 0)
					continue;
				cfg_check_keys(c, step, p, step_keys);
				cfg_get_int(c, step, p, "weight", true, 0, 100, &weight);
				cfg_get_duration(c, step, p, "pause", false, &pause);
			}
		}
	}
	cfg_get_duration(c, root, "", "timeout", false, &timeout);
	cfg_get_int(c, root, "", "replicas", false, 1, 1000, &replicas);
	cfg_get_bool(c, root, "", "dry_run", false, &dry_run);
	cfg_get_object(c, root, "", "health", false, &health);
}

static const char spec_errors[] =
	"deploy.json: /owner~1team: unknown key 'owner/team'\n"
	"deploy.json: /service: duplicate key 'service'\n"
	"deploy.json: /strategy/kind: must be one of 'rolling', 'bluegreen', 'canary', got 'canry'; "
	"did you mean 'canary'?\n"
	"deploy.json: /strategy/steps/1/pause: invalid duration '5x': unknown unit 'x'\n"
	"deploy.json: /strategy/steps/2/weight: must be 0..100, got 120\n"
	"deploy.json: /strategy/steps/3/wieght: unknown key 'wieght'; did you mean 'weight'?\n"
	"deploy.json: /strategy/steps/3: missing required key 'weight'\n"
	"deploy.json: /timeout: must not be negative, got -1\n"
	"deploy.json: /replicas: must be an integer, got number 2.5\n"
	"deploy.json: /dry_run: must be true or false, got string 'yes'\n"
	"deploy.json: /health: must be an object, got array\n";

static void test_all_at_once(void)
{
	struct cfg c;
	struct strbuf err = SB_INIT;
	is_int(cfg_parse_string("deploy.json", spec_text, strlen(spec_text), &c, &err), 0,
	       "the spec parses");
	validate_spec(&c);
	is_str(c.errors.buf, spec_errors, "every problem of the spec is reported, in order");
	is_int(c.nerrors, 11, "eleven errors");

	/* cfg_report prints them through error(), prefixed by the program. */
	char tmpl[] = "/tmp/ofs-test-config-XXXXXX";
	int fd = mkstemp(tmpl);
	ok(fd >= 0, "a temp file for stderr");
	if (fd >= 0) {
		unlink(tmpl);
		fflush(stderr);
		int saved = dup(STDERR_FILENO);
		dup2(fd, STDERR_FILENO);
		const char *prog = ofs_progname;
		ofs_progname = "ofs-deploy";
		int n = cfg_report(&c);
		ofs_progname = prog;
		dup2(saved, STDERR_FILENO);
		close(saved);
		lseek(fd, 0, SEEK_SET);
		struct strbuf got = SB_INIT, want = SB_INIT;
		sb_read_fd(&got, fd);
		close(fd);
		for (const char *p = spec_errors; *p;) {
			const char *nl = strchr(p, '\n');
			sb_addstr(&want, "ofs-deploy: ");
			sb_add(&want, p, (size_t)(nl - p + 1));
			p = nl + 1;
		}
		is_int(n, 11, "cfg_report returns the count");
		is_str(got.buf, want.buf, "cfg_report prints each error with the program prefix");
		sb_release(&got);
		sb_release(&want);
	}
	cfg_free(&c);
	cfg_free(&c);
	is_int(c.nerrors, 0, "cfg_free twice is harmless and leaves it empty");

	/* A correct spec has no errors. */
	const char *good = "{\"service\": \"orders\", \"strategy\": {\"kind\": \"canary\", \"steps\":"
			   " [{\"weight\": 5, \"pause\": \"1m\"}, {\"weight\": 100}]}, \"timeout\": 30}";
	is_int(cfg_parse_string("ok.json", good, strlen(good), &c, &err), 0, "a good spec parses");
	validate_spec(&c);
	is_int(c.nerrors, 0, "and validates without errors");
	is_str(c.errors.buf, "", "so there is nothing to report");
	cfg_free(&c);
	sb_release(&err);
}

/* ---- did you mean ----------------------------------------------------- */

static void test_suggestions(void)
{
	static const char *const allowed[] = { "timeout", "interval", "retries", "service", NULL };
	static const struct {
		const char *key, *want;
	} cases[] = {
		{ "timout", "/timout: unknown key 'timout'; did you mean 'timeout'?" },
		{ "Timeout", "/Timeout: unknown key 'Timeout'; did you mean 'timeout'?" },
		{ "intervals", "/intervals: unknown key 'intervals'; did you mean 'interval'?" },
		{ "retires", "/retires: unknown key 'retires'; did you mean 'retries'?" },
		{ "colour", "/colour: unknown key 'colour'" },
		{ "x", "/x: unknown key 'x'" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct cfg c;
		struct strbuf err = SB_INIT, want = SB_INIT;
		char *doc = xasprintf("{\"service\": \"a\", \"%s\": 1}", cases[i].key);
		cfg_parse_string("s.json", doc, strlen(doc), &c, &err);
		is_int(cfg_check_keys(&c, c.root, "", allowed), 1, "one unknown key");
		sb_addf(&want, "s.json: %s\n", cases[i].want);
		is_str(c.errors.buf, want.buf, cases[i].key);
		free(doc);
		cfg_free(&c);
		sb_release(&err);
		sb_release(&want);
	}
}

/* ---- files ------------------------------------------------------------ */

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		die_errno("cannot create '%s'", path);
	fputs(text, f);
	if (fclose(f) != 0)
		die_errno("cannot write '%s'", path);
}

static void test_files(void)
{
	char dir[] = "/tmp/ofs-test-config-XXXXXX";
	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp");
		return;
	}
	char *good = xasprintf("%s/good.json", dir), *bad = xasprintf("%s/bad.json", dir);
	char *missing = xasprintf("%s/missing.json", dir);
	write_file(good, "{\"service\": \"orders\"}\n");
	write_file(bad, "{\n  \"service\": \"orders\",\n  \"port\": 80\n  \"x\": 1\n}\n");

	struct cfg c;
	struct strbuf err = SB_INIT, want = SB_INIT;
	is_int(cfg_load(good, &c, &err), 0, "cfg_load of a good file");
	is_str(c.file, good, "the cfg is named after the path");
	ok(cJSON_IsString(cfg_resolve(c.root, "/service")), "and holds the document");
	cfg_free(&c);

	is_int(cfg_load(bad, &c, &err), -1, "cfg_load of a bad file");
	sb_addf(&want, "%s:3:13: invalid JSON: expected ',' or '}' after this value, found character "
		       "'\"' at 4:3", bad);
	is_str(err.buf, want.buf, "names the file, line and column");
	cfg_free(&c);

	sb_reset(&err);
	sb_reset(&want);
	is_int(cfg_load(missing, &c, &err), -1, "cfg_load of a missing file");
	sb_addf(&want, "cannot open '%s': No such file or directory", missing);
	is_str(err.buf, want.buf, "says it cannot open it");
	cfg_free(&c);

	sb_reset(&err);
	sb_reset(&want);
	is_int(cfg_load(dir, &c, &err), -1, "cfg_load of a directory");
	sb_addf(&want, "cannot read '%s': Is a directory", dir);
	is_str(err.buf, want.buf, "says it cannot read it");
	cfg_free(&c);

	/* "-" reads standard input, named <stdin>. */
	sb_reset(&err);
	int saved = dup(STDIN_FILENO), fd = open(bad, O_RDONLY);
	dup2(fd, STDIN_FILENO);
	close(fd);
	is_int(cfg_load("-", &c, &err), -1, "cfg_load of standard input");
	is_str(err.buf,
	       "<stdin>:3:13: invalid JSON: expected ',' or '}' after this value, found character "
	       "'\"' at 4:3",
	       "names standard input <stdin>");
	is_str(c.file, "<stdin>", "and so does the cfg");
	cfg_free(&c);
	dup2(saved, STDIN_FILENO);
	close(saved);

	unlink(good);
	unlink(bad);
	ok(rmdir(dir) == 0, "the temp directory is removed");
	free(good);
	free(bad);
	free(missing);
	sb_release(&err);
	sb_release(&want);
}

/* ---- commands (hooks) ------------------------------------------------- */

static const struct {
	const char *name, *json, *key;
	bool required;
	int want_r;
	const char *want_err;  /* "" when valid */
	const char *want_argv; /* the argv joined by '|', or the shell string; NULL: none */
	bool shell;
} command_cases[] = {
	{ "an argv array", "{\"c\": [\"bin/x\", \"--port\", \"{port}\"]}", "c", false, 1,
	  "",
	  "bin/x|--port|{port}", false },
	{ "a shell string", "{\"c\": \"exec x --port \\\"$OFS_PORT\\\"\"}", "c", true, 1,
	  "",
	  "exec x --port \"$OFS_PORT\"", true },
	{ "one element", "{\"c\": [\"true\"]}", "c", true, 1,
	  "",
	  "true", false },
	{ "empty strings after the program are fine", "{\"c\": [\"echo\", \"\"]}", "c", false, 1,
	  "",
	  "echo|", false },
	{ "absent, not required", "{}", "c", false, 0,
	  "",
	  NULL, false },
	{ "absent, required", "{}", "c", true, -1,
	  "c.json: missing required key 'c'\n",
	  NULL, false },
	{ "an empty string", "{\"c\": \"\"}", "c", false, -1,
	  "c.json: /c: must not be empty\n",
	  NULL, false },
	{ "an empty array", "{\"c\": []}", "c", false, -1,
	  "c.json: /c: must not be empty\n",
	  NULL, false },
	{ "an empty program name", "{\"c\": [\"\", \"x\"]}", "c", false, -1,
	  "c.json: /c/0: the program name must not be empty\n",
	  NULL, false },
	{ "elements that are not strings", "{\"c\": [\"x\", 5, null]}", "c", false, -1,
	  "c.json: /c/1: must be a string, got number 5\n" "c.json: /c/2: must be a string, got null\n",
	  NULL, false },
	{ "a number", "{\"c\": 5}", "c", false, -1,
	  "c.json: /c: must be an argv array of strings or a shell command string, got number 5\n",
	  NULL, false },
	{ "an object", "{\"c\": {\"argv\": []}}", "c", false, -1,
	  "c.json: /c: must be an argv array of strings or a shell command string, got object\n",
	  NULL, false },
	{ "a key with / and ~ is escaped in the pointer", "{\"a/b~\": 1}", "a/b~", false, -1,
	  "c.json: /a~1b~0: must be an argv array of strings or a shell command string, got number 1\n",
	  NULL, false },
};

static void test_command(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(command_cases); i++) {
		struct cfg c;
		struct strbuf err = SB_INIT;
		const char *json = command_cases[i].json;
		is_int(cfg_parse_string("c.json", json, strlen(json), &c, &err), 0, "parses");
		char **argv = NULL;
		char *shell = NULL;
		int r = cfg_get_command(&c, c.root, "", command_cases[i].key, command_cases[i].required,
					&argv, &shell);
		is_int(r, command_cases[i].want_r, command_cases[i].name);
		is_str(c.errors.buf, command_cases[i].want_err, command_cases[i].name);
		struct strbuf got = SB_INIT;
		for (size_t k = 0; argv && argv[k]; k++)
			sb_addf(&got, "%s%s", k ? "|" : "", argv[k]);
		if (shell)
			sb_addstr(&got, shell);
		if (command_cases[i].want_argv) {
			is_str(got.buf, command_cases[i].want_argv, command_cases[i].name);
			ok(command_cases[i].shell ? shell && !argv : argv && !shell,
			   "%s: exactly one of argv and shell", command_cases[i].name);
		} else {
			ok(!argv && !shell, "%s: nothing set", command_cases[i].name);
		}
		proc_argv_free(argv);
		free(shell);
		sb_release(&got);
		sb_release(&err);
		cfg_free(&c);
	}

	/* key NULL checks the node itself; a NULL parent is left alone. */
	struct cfg c;
	const char *json = "{\"hooks\": [[\"a\", \"b\"], \"\"]}";
	is_int(cfg_parse_string("c.json", json, strlen(json), &c, NULL), 0, "parses");
	cJSON *hooks = cJSON_GetObjectItemCaseSensitive(c.root, "hooks");
	char **argv = NULL;
	char *shell = NULL;
	is_int(cfg_get_command(&c, hooks->child, "/hooks/0", NULL, true, &argv, &shell), 1,
	       "key NULL: the node itself");
	ok(argv && strcmp(argv[1], "b") == 0 && !argv[2], "its argv");
	is_int(cfg_get_command(&c, hooks->child->next, "/hooks/1", NULL, true, &argv, &shell), -1,
	       "key NULL: an empty string");
	is_str(c.errors.buf, "c.json: /hooks/1: must not be empty\n", "named by the node's pointer");
	is_int(cfg_get_command(&c, NULL, "/x", "c", true, &argv, &shell), 0, "a NULL parent gives 0");
	proc_argv_free(argv);
	cfg_free(&c);
}

/* cfg_get_text: a string, and not an empty one. */
static void test_text(void)
{
	const char *doc = "{\"name\": \"cart\", \"empty\": \"\", \"n\": 1, \"list\": [\"\"]}";
	struct cfg c;
	const char *s = "unset";
	is_int(cfg_parse_string("t.json", doc, strlen(doc), &c, NULL), 0, "the text document parses");
	is_int(cfg_get_text(&c, c.root, "", "name", true, &s), 1, "get_text of a word");
	is_str(s, "cart", "and its value");
	is_int(cfg_get_text(&c, c.root, "", "absent", false, &s), 0, "an optional absent text is 0");
	is_str(s, "cart", "and leaves the output alone");
	is_int(cfg_get_text(&c, c.root, "", "empty", true, &s), -1, "an empty string is an error");
	is_str(s, "cart", "which leaves the output alone");
	is_int(cfg_get_text(&c, c.root, "", "n", true, &s), -1, "a number is not a text");
	is_int(cfg_get_text(&c, cJSON_GetArrayItem(cJSON_GetObjectItem(c.root, "list"), 0),
			    "/list/0", NULL, true, &s),
	       -1, "an empty array element is an error");
	is_str(c.errors.buf,
	       "t.json: /empty: must not be empty\n"
	       "t.json: /n: must be a string, got number 1\n"
	       "t.json: /list/0: must not be empty\n",
	       "each named by its pointer");
	cfg_free(&c);
}

int main(void)
{
	test_syntax();
	test_pointers();
	test_getters();
	test_all_at_once();
	test_suggestions();
	test_files();
	test_command();
	test_text();
	return tap_done();
}
