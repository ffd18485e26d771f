/*
 * test_jget.c: unit tests for jget.c, data-driven: each member of one
 * object read as a string, a number and an integer, with the default
 * where the member is absent or of another type; non-objects have no
 * members; integers are truncated toward zero and out-of-range numbers
 * give the default.
 */
#include "common.h"

#include "jget.h"
#include "tap.h"

static const struct {
	const char *key;
	const char *str;   /* jget_str, or NULL */
	double num;        /* jget_num with default -1 */
	long long integer; /* jget_int with default -7 */
} cases[] = {
	{ "s", "text", -1, -7 },
	{ "empty", "", -1, -7 },
	{ "n", NULL, 42.75, 42 },
	{ "neg", NULL, -3.9, -3 },
	{ "zero", NULL, 0, 0 },
	{ "big", NULL, 1e300, -7 },
	{ "edge", NULL, 9223372036854775808.0, -7 },
	{ "null", NULL, -1, -7 },
	{ "t", NULL, -1, -7 },
	{ "o", NULL, -1, -7 },
	{ "a", NULL, -1, -7 },
	{ "missing", NULL, -1, -7 },
	{ "S", NULL, -1, -7 }, /* keys are case-sensitive */
};

int main(void)
{
	cJSON *o = cJSON_Parse("{\"s\":\"text\",\"empty\":\"\",\"n\":42.75,\"neg\":-3.9,\"zero\":0,"
			       "\"big\":1e300,\"edge\":9223372036854775808,\"null\":null,"
			       "\"t\":true,\"o\":{\"s\":\"x\"},\"a\":[1]}");
	ok(o != NULL, "the test object parses");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *k = cases[i].key;
		const char *s = jget_str(o, k);
		if (cases[i].str)
			is_str(s, cases[i].str, k);
		else
			ok(s == NULL, "%s: no string", k);
		is_double(jget_num(o, k, -1), cases[i].num, 0, k);
		is_int(jget_int(o, k, -7), cases[i].integer, k);
	}
	cJSON *arr = cJSON_Parse("[{\"s\":\"x\"}]");
	ok(jget_str(arr, "s") == NULL, "an array has no members");
	ok(jget_str(NULL, "s") == NULL, "NULL has no members");
	is_double(jget_num(NULL, "n", 5), 5, 0, "NULL: the default number");
	is_int(jget_int(arr, "n", 9), 9, "an array: the default integer");
	cJSON_Delete(arr);
	cJSON_Delete(o);
	return tap_done();
}
