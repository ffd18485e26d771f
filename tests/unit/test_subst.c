/*
 * test_subst.c: unit tests for subst.c: a table of values substituted
 * against a configuration and activity outputs (the copy expected, or
 * the exact reasons), a table of load-time checks with the exact error
 * lines, and the promises around them (the input is not changed, keys
 * are not substituted).
 */
#include "common.h"

#include "config.h"
#include "strbuf.h"
#include "subst.h"
#include "tap.h"

static const char config[] =
	"{\"host\":\"db.local\",\"port\":5432,\"ratio\":0.25,\"on\":true,\"none\":null,"
	"\"list\":[1,\"a\"],\"obj\":{\"k\":\"v\"},\"empty\":\"\",\"a/b\":\"slash\"}";
static const char outputs[] =
	"{\"kill\":{\"pid\":4242,\"instance\":\"payments-1\",\"signal\":\"KILL\"},"
	"\"probe\":{\"status\":0,\"stdout\":\"ok\\n\",\"body\":{\"items\":[{\"id\":7}]}},"
	"\"raw\":\"plain text\",\"odd\":{\"a/b\":1,\"m~n\":2}}";

static const struct {
	const char *in;
	const char *want; /* compact JSON, or NULL when err is expected */
	const char *err;
} apply[] = {
	{ "\"plain\"", "\"plain\"", NULL },
	{ "\"${host}\"", "\"db.local\"", NULL },
	{ "\"${port}\"", "5432", NULL },
	{ "\"${ratio}\"", "0.25", NULL },
	{ "\"${on}\"", "true", NULL },
	{ "\"${none}\"", "null", NULL },
	{ "\"${list}\"", "[1,\"a\"]", NULL },
	{ "\"${obj}\"", "{\"k\":\"v\"}", NULL },
	{ "\"${empty}\"", "\"\"", NULL },
	{ "\"${a/b}\"", "\"slash\"", NULL },
	{ "\"postgres://${host}:${port}/x\"", "\"postgres://db.local:5432/x\"", NULL },
	{ "\"r=${ratio} on=${on} none=${none}\"", "\"r=0.25 on=true none=null\"", NULL },
	{ "\"l=${list} o=${obj}\"", "\"l=[1,\\\"a\\\"] o={\\\"k\\\":\\\"v\\\"}\"", NULL },
	{ "\"${host}${host}\"", "\"db.localdb.local\"", NULL },
	{ "\" ${port}\"", "\" 5432\"", NULL },
	{ "\"$${host}\"", "\"${host}\"", NULL },
	{ "\"$$${host}\"", "\"$${host}\"", NULL },
	{ "\"a $${b} ${host}\"", "\"a ${b} db.local\"", NULL },
	{ "\"$ and $$ and $host and {host}\"", "\"$ and $$ and $host and {host}\"", NULL },
	{ "\"100$\"", "\"100$\"", NULL },
	{ "\"${out:kill/pid}\"", "4242", NULL },
	{ "\"${out:kill}\"", "{\"pid\":4242,\"instance\":\"payments-1\",\"signal\":\"KILL\"}", NULL },
	{ "\"${out:raw}\"", "\"plain text\"", NULL },
	{ "\"kill -${out:kill/signal} ${out:kill/pid}\"", "\"kill -KILL 4242\"", NULL },
	{ "\"${out:probe/body/items/0/id}\"", "7", NULL },
	{ "\"${out:probe/stdout}\"", "\"ok\\n\"", NULL },
	{ "\"${out:odd/a~1b}-${out:odd/m~0n}\"", "\"1-2\"", NULL },
	{ "{\"${host}\":\"${host}\",\"n\":[\"${port}\",1,false,null,{\"x\":\"${on}\"}]}",
	  "{\"${host}\":\"db.local\",\"n\":[5432,1,false,null,{\"x\":true}]}", NULL },
	{ "42", "42", NULL },
	{ "[]", "[]", NULL },
	/* failures */
	{ "\"${nope}\"", NULL, "'${nope}': no configuration value 'nope'" },
	{ "\"x${nope}y\"", NULL, "'${nope}': no configuration value 'nope'" },
	{ "\"${out:later/pid}\"", NULL, "'${out:later/pid}': activity 'later' has not run" },
	{ "\"${out:kill/uid}\"", NULL,
	  "'${out:kill/uid}': no value at '/uid' in the output of 'kill'" },
	{ "\"${out:kill/pid/x}\"", NULL,
	  "'${out:kill/pid/x}': no value at '/pid/x' in the output of 'kill'" },
	{ "\"${out:/pid}\"", NULL, "'${out:/pid}': no activity name" },
	{ "\"${out:}\"", NULL, "'${out:}': no activity name" },
	{ "\"${}\"", NULL, "'${}': empty name" },
	{ "\"http://${host\"", NULL, "unterminated '${' in 'http://${host'" },
	{ "[\"${a}\",{\"k\":\"${out:b/c}\"}]", NULL,
	  "'${a}': no configuration value 'a'; '${out:b/c}': activity 'b' has not run" },
};

static const struct {
	const char *node;
	const char *known; /* space-separated activity names */
	const char *errors;
} check[] = {
	{ "{\"url\":\"http://${host}:${port}\",\"args\":[\"${out:kill/pid}\"]}", "kill", "" },
	{ "{\"url\":\"http://${hots}\"}", "",
	  "t.json: /p/url: '${hots}': no configuration value 'hots'; did you mean 'host'?\n" },
	{ "{\"a\":[1,{\"b\":\"${nothing_like_it}\"}]}", "",
	  "t.json: /p/a/1/b: '${nothing_like_it}': no configuration value 'nothing_like_it'\n" },
	{ "[\"${out:kil/pid}\"]", "kill probe",
	  "t.json: /p/0: '${out:kil/pid}': no activity 'kil' runs before this one; did you mean "
	  "'kill'?\n" },
	{ "[\"${out:later/x}\"]", "kill",
	  "t.json: /p/0: '${out:later/x}': no activity 'later' runs before this one\n" },
	{ "{\"a/b\":\"${}\",\"m~n\":\"x${\"}", "",
	  "t.json: /p/a~1b: '${}': empty name\n"
	  "t.json: /p/m~0n: unterminated '${' in 'x${'\n" },
	{ "\"${out:/x} ${host} $${nope}\"", "", "t.json: /p: '${out:/x}': no activity name\n" },
	{ "{\"${keys_are_not_checked}\":1}", "", "" },
	{ "\"${a} ${b}\"", "",
	  "t.json: /p: '${a}': no configuration value 'a'\n"
	  "t.json: /p: '${b}': no configuration value 'b'\n" },
};

static void test_apply(void)
{
	cJSON *conf = cJSON_Parse(config), *outs = cJSON_Parse(outputs);
	for (size_t i = 0; i < ARRAY_SIZE(apply); i++) {
		cJSON *in = cJSON_Parse(apply[i].in);
		char *before = cJSON_PrintUnformatted(in);
		struct strbuf err = SB_INIT;
		cJSON *out = subst_apply(in, conf, outs, &err);
		if (apply[i].want) {
			char *got = out ? cJSON_PrintUnformatted(out) : NULL;
			is_str(got ? got : err.buf, apply[i].want, apply[i].in);
			cJSON_free(got);
		} else {
			ok(out == NULL, "%s: nothing returned", apply[i].in);
			is_str(err.buf, apply[i].err, apply[i].in);
		}
		char *after = cJSON_PrintUnformatted(in);
		is_str(after, before, "the input is unchanged");
		cJSON_free(before);
		cJSON_free(after);
		cJSON_Delete(out);
		cJSON_Delete(in);
		sb_release(&err);
	}
	/* NULL configuration and outputs: nothing is known. */
	cJSON *in = cJSON_CreateString("${x} ${out:y}");
	struct strbuf err = SB_INIT;
	ok(subst_apply(in, NULL, NULL, &err) == NULL, "NULL config: unknown");
	is_str(err.buf, "'${x}': no configuration value 'x'; '${out:y}': activity 'y' has not run",
	       "NULL config and outputs");
	cJSON *plain = cJSON_CreateString("no references");
	cJSON *copy = subst_apply(plain, NULL, NULL, NULL);
	ok(copy && copy != plain && strcmp(copy->valuestring, "no references") == 0,
	   "a plain string is copied");
	cJSON_Delete(copy);
	cJSON_Delete(plain);
	cJSON_Delete(in);
	sb_release(&err);
	cJSON_Delete(conf);
	cJSON_Delete(outs);
}

static void test_check(void)
{
	cJSON *conf = cJSON_Parse(config);
	for (size_t i = 0; i < ARRAY_SIZE(check); i++) {
		const char *known[8] = { NULL };
		char *names = xstrdup(check[i].known), *save = NULL;
		size_t n = 0;
		for (char *w = strtok_r(names, " ", &save); w && n < 7; w = strtok_r(NULL, " ", &save))
			known[n++] = w;
		cJSON *node = cJSON_Parse(check[i].node);
		struct cfg cfg;
		cfg_init(&cfg, "t.json");
		int r = subst_check(&cfg, node, "/p", conf, known);
		is_str(cfg.errors.buf, check[i].errors, check[i].node);
		is_int(r, cfg.nerrors, "returns the number recorded");
		cfg_free(&cfg);
		cJSON_Delete(node);
		free(names);
	}
	/* config NULL skips names; known NULL knows nothing. */
	cJSON *node = cJSON_CreateString("${whatever} ${out:a}");
	struct cfg cfg;
	cfg_init(&cfg, "t.json");
	is_int(subst_check(&cfg, node, "", NULL, NULL), 1, "config NULL, known NULL");
	is_str(cfg.errors.buf, "t.json: '${out:a}': no activity 'a' runs before this one\n",
	       "only the activity is reported");
	cfg_free(&cfg);
	cJSON_Delete(node);
	cJSON_Delete(conf);
}

/* subst_words: the two names in every message, then back to the defaults. */
static void test_words(void)
{
	subst_words("data value", "step");
	cJSON *node = cJSON_CreateString("${nope} ${out:b/x}");
	cJSON *conf = cJSON_CreateObject();
	struct cfg cfg;
	cfg_init(&cfg, "t.json");
	subst_check(&cfg, node, "", conf, NULL);
	is_str(cfg.errors.buf,
	       "t.json: '${nope}': no data value 'nope'\n"
	       "t.json: '${out:b/x}': no step 'b' runs before this one\n",
	       "subst_check speaks of data values and steps");
	struct strbuf err = SB_INIT;
	ok(!subst_apply(node, conf, NULL, &err), "subst_apply fails");
	is_str(err.buf, "'${nope}': no data value 'nope'; '${out:b/x}': step 'b' has not run",
	       "subst_apply too");
	subst_words("configuration value", "activity");
	sb_release(&err);
	cfg_free(&cfg);
	cJSON_Delete(node);
	cJSON_Delete(conf);
}

static void test_has(void)
{
	ok(subst_has("${a}"), "subst_has: ${a}");
	ok(subst_has("x ${"), "subst_has: unterminated counts");
	ok(!subst_has("$${a}"), "subst_has: $${ does not");
	ok(!subst_has("$ {a} $a"), "subst_has: plain dollars do not");
	ok(!subst_has(""), "subst_has: empty");
}

int main(void)
{
	test_apply();
	test_check();
	test_words();
	test_has();
	return tap_done();
}
