/*
 * test_jschema.c: unit tests for jschema.c, the JSON Schema subset: what
 * the loader accepts and refuses (with the pointer of the keyword), each
 * validation keyword's verdict and message on a table of instances,
 * code-point lengths, pointer escaping, $ref resolution and the guard
 * against $ref cycles.
 */
#include "common.h"

#include "config.h"
#include "jschema.h"
#include "strbuf.h"
#include "tap.h"

static struct jschema *load(const char *text, struct strbuf *err)
{
	sb_reset(err);
	return jschema_load("s.json", text, strlen(text), err);
}

/* ---- the loader ------------------------------------------------------- */

static const struct {
	const char *schema, *err;
} refused[] = {
	{ "{\"format\":\"email\"}", "s.json: /format: unsupported keyword 'format'\n" },
	{ "{\"properties\":{\"a/b\":{\"oneOf\":[]}}}",
	  "s.json: /properties/a~1b/oneOf: unsupported keyword 'oneOf'\n" },
	{ "{\"type\":[\"string\",\"string\"]}", "s.json: /type: type 'string' is listed twice\n" },
	{ "{\"type\":\"text\"}", "s.json: /type: unknown type 'text'\n" },
	{ "{\"items\":[{}]}", "s.json: /items: the array form of 'items' is not supported\n" },
	{ "{\"maxLength\":1.5}", "s.json: /maxLength: must be a non-negative integer\n" },
	{ "{\"enum\":[]}", "s.json: /enum: must be a non-empty array\n" },
	{ "{\"pattern\":\"a+++\"}",
	  "s.json: /pattern: unsupported regular expression: a quantifier right after another at offset 2\n" },
	{ "{\"pattern\":\"(ab)*{2}\"}",
	  "s.json: /pattern: unsupported regular expression: a quantifier right after another at offset 5\n" },
	{ "{\"pattern\":\"x{1,300}\"}",
	  "s.json: /pattern: unsupported regular expression: a repeat count over 255 at offset 1\n" },
	{ "{\"$ref\":\"other.json#/x\"}",
	  "s.json: /$ref: cannot resolve 'other.json#/x' (only \"#\", \"#/definitions/NAME\" and "
	  "\"#/$defs/NAME\" are supported)\n" },
	{ "{\"$defs\":{\"a\":{\"default\":{\"type\":[1]}}},\"$ref\":\"#/$defs/a/default\"}",
	  "s.json: /$ref: cannot resolve '#/$defs/a/default' (only \"#\", \"#/definitions/NAME\" "
	  "and \"#/$defs/NAME\" are supported)\n" },
	{ "3", "s.json: (root): a schema must be an object or a boolean\n" },
	{ "{\"a\":1,\n\"b\":}", NULL /* checked by its prefix */ },
};

static void test_loader(void)
{
	struct strbuf err = SB_INIT;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		struct jschema *s = load(refused[i].schema, &err);
		ok(!s, "refused: case %zu", i);
		if (i == sizeof(refused) / sizeof(refused[0]) - 1)
			ok(!strncmp(err.buf, "s.json:2:5: invalid JSON: ", 26) &&
				   err.buf[err.len - 1] == '\n',
			   "syntax error with line and column");
		else
			is_str(err.buf, refused[i].err, refused[i].schema);
		jschema_free(s);
	}
	struct jschema *s = load("{\"title\":\"t\",\"description\":\"d\",\"default\":1,"
				 "\"$schema\":\"x\",\"$id\":\"y\",\"examples\":[],\"$comment\":\"c\"}",
				 &err);
	ok(s && !err.len, "annotations are accepted");
	jschema_free(s);
	s = load("true", &err);
	ok(s != NULL, "true is a schema");
	jschema_free(s);
	sb_release(&err);
}

/* ---- validation ----------------------------------------------------------- */

static void collect(const struct jschema_error *e, void *user)
{
	struct strbuf *sb = user;
	sb_addf(sb, "%s|%s|%s|%s\n", e->instance, e->schema, e->keyword, e->message);
}

static const struct {
	const char *schema, *instance, *want;
} cases[] = {
	{ "{\"type\":\"integer\"}", "1.0", "" },
	{ "{\"type\":\"integer\"}", "1.5", "|/type|type|expected integer, got number\n" },
	{ "{\"type\":[\"string\",\"null\",\"array\"]}", "true",
	  "|/type|type|expected string, null or array, got boolean\n" },
	{ "{\"minLength\":3}", "\"\xc3\xa9\xc3\xa9\"", "|/minLength|minLength|length 2 is less than minLength 3\n" },
	{ "{\"maxLength\":2}", "\"\xc3\xa9\xc3\xa9\"", "" },
	{ "{\"pattern\":\"b+\"}", "\"abbc\"", "" },
	{ "{\"pattern\":\"^b+$\"}", "\"abbc\"", "|/pattern|pattern|does not match the pattern '^b+$'\n" },
	{ "{\"pattern\":\"^b+$\"}", "7", "" },
	{ "{\"pattern\":\"^[+*]+\\\\++x{2}[]?]?$\"}", "\"+*++xx?\"", "" },
	{ "{\"enum\":[1,\"1\"]}", "\"2\"", "|/enum|enum|\"2\" is not one of the enum values\n" },
	{ "{\"enum\":[{\"a\":[1]}]}", "{\"a\":[1]}", "" },
	{ "{\"const\":null}", "false", "|/const|const|false is not the const value\n" },
	{ "{\"minimum\":1.5,\"maximum\":2}", "1", "|/minimum|minimum|1 is less than the minimum 1.5\n" },
	{ "{\"exclusiveMaximum\":2}", "2", "|/exclusiveMaximum|exclusiveMaximum|2 is not less than the exclusive maximum 2\n" },
	{ "{\"minItems\":1,\"items\":{\"type\":\"string\"}}", "[]", "|/minItems|minItems|has 0 items, fewer than minItems 1\n" },
	{ "{\"items\":{\"type\":\"string\"}}", "[\"a\",2]", "/1|/items/type|type|expected string, got integer\n" },
	{ "{\"required\":[\"a\",\"b\"],\"properties\":{\"a\":{\"type\":\"string\"}}}", "{\"a\":1}",
	  "|/required|required|missing required property 'b'\n/a|/properties/a/type|type|expected string, got integer\n" },
	{ "{\"properties\":{\"a\":{}},\"additionalProperties\":{\"type\":\"integer\"}}",
	  "{\"a\":\"x\",\"b~/\":\"y\"}",
	  "/b~0~1|/additionalProperties/type|type|expected integer, got string\n" },
	{ "{\"additionalProperties\":false}", "{\"x\":1}",
	  "/x|/additionalProperties|additionalProperties|property 'x' is not allowed\n" },
	{ "false", "1", "|||no value is allowed here\n" },
	{ "{\"definitions\":{\"p\":{\"minimum\":0}},\"properties\":{\"n\":{\"$ref\":\"#/definitions/p\"}}}",
	  "{\"n\":-1}", "/n|/definitions/p/minimum|minimum|-1 is less than the minimum 0\n" },
	{ "{\"minimum\":5}", "\"not a number\"", "" },
};

static void test_validate(void)
{
	struct strbuf err = SB_INIT, got = SB_INIT;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct jschema *s = load(cases[i].schema, &err);
		cJSON *x = cJSON_Parse(cases[i].instance);
		if (!ok(s && x, "case %zu loads", i)) {
			diag("%s", err.buf);
			jschema_free(s);
			cJSON_Delete(x);
			continue;
		}
		sb_reset(&got);
		size_t n = jschema_validate(s, x, collect, &got);
		struct strbuf name = SB_INIT;
		sb_addf(&name, "%s against %s", cases[i].instance, cases[i].schema);
		is_str(got.buf, cases[i].want, name.buf);
		size_t lines = 0;
		for (const char *p = got.buf; *p; p++)
			lines += *p == '\n';
		is_int((long long)n, (long long)lines, "the count is the number reported");
		sb_release(&name);
		jschema_free(s);
		cJSON_Delete(x);
	}
	sb_release(&err);
	sb_release(&got);
}

static void test_refs(void)
{
	struct strbuf err = SB_INIT;
	struct jschema *s = load("{\"$defs\":{\"a\":{\"$ref\":\"#/$defs/b\"},\"b\":{\"$ref\":\"#/$defs/a\"}},"
				 "\"$ref\":\"#/$defs/a\"}",
				 &err);
	ok(s != NULL, "a $ref cycle loads");
	ok(jschema_resolve(s, jschema_root(s)) == NULL, "and does not resolve");
	cJSON *x = cJSON_Parse("{}");
	ok(jschema_validate(s, x, NULL, NULL) == 1, "validating through it is one violation");
	cJSON_Delete(x);
	jschema_free(s);
	s = load("{\"definitions\":{\"a~b/c\":{\"type\":\"string\"}},\"$ref\":\"#/definitions/a~0b~1c\"}", &err);
	ok(s != NULL, "escaped $ref loads");
	const cJSON *t = s ? jschema_resolve(s, jschema_root(s)) : NULL;
	ok(t && cJSON_GetObjectItemCaseSensitive(t, "type"), "and resolves");
	jschema_free(s);
	sb_release(&err);
}

static void test_helpers(void)
{
	struct strbuf sb = SB_INIT;
	cfg_ptr_append(&sb, "a/b~c");
	is_str(sb.buf, "/a~1b~0c", "pointer escaping");
	sb_reset(&sb);
	cfg_text_add(&sb, "a\nb\x01", 4);
	is_str(sb.buf, "a\\nb\\x01", "control bytes escaped for messages");
	is_int((long long)jschema_utf8_len("a\xc3\xa9\xe2\x82\xac", 6), 3, "code points");
	sb_release(&sb);
}

int main(void)
{
	test_loader();
	test_validate();
	test_refs();
	test_helpers();
	return tap_done();
}
