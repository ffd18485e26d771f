/*
 * fuzz_config.c: libFuzzer target for config.c.
 *
 * The input goes through cfg_parse_string. A failure must come with a
 * "fuzz.json:LINE:COL: invalid JSON: " message; a success must give a
 * tree, which is then walked whole: every object is checked against a
 * fixed key list and every member goes through each typed getter, every
 * array element through the key-less getters. Every pointer built on the
 * way must resolve back to its node (unless a duplicate key makes it
 * name another), and every recorded error must be one
 * line starting with the file name. A broken promise aborts. Lookups by
 * key and by index are linear in cJSON, so the per-member getters and
 * the pointer checks stop after a budget: a 64 KB input of one flat
 * array must not take quadratic time.
 */
#include "common.h"

#include "config.h"
#include "strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const keys[] = { "service", "timeout", "weight", "steps", "kind",
				    "enabled", "a/b", "m~n", "", NULL };
static const char *const kinds[] = { "rolling", "bluegreen", "canary", NULL };

static void check_value(struct cfg *c, const cJSON *parent, const char *ptr, const char *key)
{
	const char *s;
	double d;
	int64_t i;
	bool b;
	cJSON *node;
	int e;
	cfg_get_string(c, parent, ptr, key, false, &s);
	cfg_get_number(c, parent, ptr, key, false, 0, 100, &d);
	cfg_get_int(c, parent, ptr, key, false, -5, 5, &i);
	cfg_get_int(c, parent, ptr, key, true, INT64_MIN, INT64_MAX, &i);
	cfg_get_bool(c, parent, ptr, key, false, &b);
	cfg_get_duration(c, parent, ptr, key, false, &i);
	cfg_get_enum(c, parent, ptr, key, false, kinds, &e);
	cfg_get_object(c, parent, ptr, key, false, &node);
	cfg_get_array(c, parent, ptr, key, false, &node);
}

#define BUDGET 2000
static int budget;

/* ambiguous: the pointer passes through a key that occurs twice in its
 * object, where it names the first occurrence, not necessarily this. */
static void walk(struct cfg *c, const cJSON *node, const char *ptr, bool ambiguous)
{
	if (!ambiguous && budget > 0 && budget-- && cfg_resolve(c->root, ptr) != node)
		abort();
	if (cJSON_IsObject(node)) {
		cfg_check_keys(c, node, ptr, keys);
		for (const char *const *k = keys; *k; k++)
			check_value(c, node, ptr, *k);
		for (const cJSON *m = node->child; m; m = m->next) {
			if (budget > 0 && budget--)
				check_value(c, node, ptr, m->string);
			bool dup = ambiguous || budget <= 0 ||
				   cJSON_GetObjectItemCaseSensitive(node, m->string) != m;
			walk(c, m, cfg_ptr_key(c, ptr, m->string), dup);
		}
	} else if (cJSON_IsArray(node)) {
		size_t idx = 0;
		for (const cJSON *m = node->child; m; m = m->next, idx++) {
			const char *p = cfg_ptr_index(c, ptr, idx);
			if (budget > 0 && budget--)
				check_value(c, m, p, NULL);
			walk(c, m, p, ambiguous);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfg c;
	struct strbuf err = SB_INIT;
	int r = cfg_parse_string("fuzz.json", (const char *)data, size, &c, &err);
	if (r < 0) {
		if (c.root || strncmp(err.buf, "fuzz.json:", 10) != 0 ||
		    !strstr(err.buf, ": invalid JSON: ") || memchr(err.buf, '\n', err.len))
			abort();
	} else {
		if (!c.root || err.len)
			abort();
		cfg_root_object(&c);
		budget = BUDGET;
		walk(&c, c.root, "", false);
		/* Each error is one line naming the file. */
		int lines = 0;
		for (const char *p = c.errors.buf; *p; lines++) {
			if (strncmp(p, "fuzz.json: ", 11) != 0)
				abort();
			const char *nl = strchr(p, '\n');
			if (!nl)
				abort();
			p = nl + 1;
		}
		if (lines != c.nerrors || strlen(c.errors.buf) != c.errors.len)
			abort();
	}
	sb_release(&err);
	cfg_free(&c);
	return 0;
}
