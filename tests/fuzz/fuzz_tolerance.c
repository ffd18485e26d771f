/*
 * fuzz_tolerance.c: libFuzzer target for tolerance.c and subst.c.
 *
 * The input is JSON: an array [TOLERANCE, OUTPUT, CONFIG, OUTPUTS] (or
 * any other value, taken as a tolerance judged against a fixed process
 * output). tol_validate must record one well-formed line per error and
 * count them; tol_check must answer 0 or 1 with one non-empty line, and
 * a tolerance that validated must never be judged "invalid". subst_apply
 * must return a copy exactly when it gives no reason; subst_check must
 * count what it records, and when it finds nothing wrong with the names
 * (the outputs' names as the activities run before), subst_apply can
 * only fail on a pointer that the output lacks. A broken promise aborts.
 * Regex tolerances with back-references are skipped: matching them can
 * take exponential time by design of POSIX regexec, which is the
 * author's choice in a file, not an input's.
 */
#include "common.h"

#include "config.h"
#include "strbuf.h"
#include "subst.h"
#include "tolerance.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fixed[] = "{\"status\":0,\"stdout\":\"ok\\n\",\"stderr\":\"\"}";

static void check_lines(const struct cfg *c)
{
	int lines = 0;
	for (const char *p = c->errors.buf; *p; lines++) {
		if (strncmp(p, "fuzz.json: ", 11) != 0)
			abort();
		const char *nl = strchr(p, '\n');
		if (!nl)
			abort();
		p = nl + 1;
	}
	if (lines != c->nerrors)
		abort();
}

static bool has_backref(const cJSON *tol)
{
	const cJSON *p = cJSON_IsObject(tol) ? cJSON_GetObjectItemCaseSensitive(tol, "pattern") : NULL;
	if (!cJSON_IsString(p))
		return false;
	for (const char *s = p->valuestring; *s; s++)
		if (s[0] == '\\' && s[1] >= '1' && s[1] <= '9')
			return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *in = cJSON_ParseWithLength((const char *)data, size);
	if (!in)
		return 0;
	cJSON *fallback = cJSON_Parse(fixed);
	bool arr = cJSON_IsArray(in);
	const cJSON *tol = arr ? cJSON_GetArrayItem(in, 0) : in;
	const cJSON *out = arr ? cJSON_GetArrayItem(in, 1) : fallback;
	const cJSON *config = arr ? cJSON_GetArrayItem(in, 2) : NULL;
	const cJSON *outputs = arr ? cJSON_GetArrayItem(in, 3) : NULL;

	if (tol && !has_backref(tol)) {
		struct cfg c;
		cfg_init(&c, "fuzz.json");
		int n = tol_validate(&c, tol, "/t");
		if (n != c.nerrors)
			abort();
		check_lines(&c);
		cfg_free(&c);
		struct strbuf why = SB_INIT;
		int held = tol_check(tol, out, &why);
		if ((held != 0 && held != 1) || !why.len || memchr(why.buf, '\n', why.len) ||
		    strlen(why.buf) != why.len)
			abort();
		if (n == 0 && out && strncmp(why.buf, "invalid ", 8) == 0)
			abort();
		sb_release(&why);
	}

	if (tol) {
		const char **known = xcalloc((size_t)cJSON_GetArraySize(outputs) + 1, sizeof(*known));
		size_t nk = 0;
		if (cJSON_IsObject(outputs))
			for (const cJSON *k = outputs->child; k; k = k->next)
				known[nk++] = k->string;
		struct cfg c;
		cfg_init(&c, "fuzz.json");
		int n = subst_check(&c, tol, "/t", config, known);
		if (n != c.nerrors)
			abort();
		check_lines(&c);
		struct strbuf err = SB_INIT;
		cJSON *copy = subst_apply(tol, config, outputs, &err);
		if ((copy != NULL) == (err.len != 0))
			abort();
		/* Names all known (config an object, so checked): only a
		 * pointer can be missing. Duplicate keys make lookups see the
		 * first member only; both sides agree on that. */
		if (!copy && n == 0 && cJSON_IsObject(config) && !strstr(err.buf, "no value at"))
			abort();
		cJSON_Delete(copy);
		sb_release(&err);
		cfg_free(&c);
		free(known);
	}
	cJSON_Delete(fallback);
	cJSON_Delete(in);
	return 0;
}
