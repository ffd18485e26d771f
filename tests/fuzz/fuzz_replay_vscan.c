/*
 * fuzz_replay_vscan.c: libFuzzer target for the line scanner of
 * ofs-replay verify and ofs-split route (libcommon/vscan.c).
 *
 * verify decides from vscan_line alone whether a line of a migration
 * export is a record and what its key is, without ever parsing it with
 * cJSON when both sides agree byte for byte; so the scanner must accept
 * only what cJSON accepts, and find the same values cJSON's lookup
 * finds. The input's first line is a JSON pointer (the key), the rest
 * the record line. When the scanner accepts the line, cJSON must parse
 * it to an object, and the span found for the pointer must parse to the
 * value at that pointer in cJSON's tree (or both be absent); a rejected
 * line must come with a reason.
 */
#include "common.h"

#include "config.h"
#include "vscan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whether two values are the same: cJSON_Compare, or, since it finds no
 * number equal to itself once it overflows to an infinity (1e999), the
 * same compact text (cJSON writes either infinity as null). */
static bool same_value(const cJSON *a, const cJSON *b)
{
	if (cJSON_Compare(a, b, true))
		return true;
	char *ta = cJSON_PrintUnformatted(a), *tb = cJSON_PrintUnformatted(b);
	bool same = ta && tb && !strcmp(ta, tb);
	cJSON_free(ta);
	cJSON_free(tb);
	return same;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data, *nl = memchr(text, '\n', size);
	if (!nl)
		return 0;
	char *ptr = xstrndup(text, (size_t)(nl - text));
	struct vptr vp;
	if (strlen(ptr) != (size_t)(nl - text) || vptr_parse(&vp, ptr, NULL) < 0) {
		free(ptr);
		return 0;
	}
	const char *line = nl + 1;
	size_t len = size - (size_t)(line - text);
	/* A private copy, so that reading past the end is caught. */
	char *copy = xmemdup(line, len);
	struct vspan span;
	char why[160] = "";
	int rc = vscan_line(copy, len, &vp, 1, &span, why, sizeof(why));
	if (rc < 0) {
		if (!why[0])
			abort();
	} else {
		cJSON *root = cJSON_ParseWithLength(copy, len);
		if (!root || !cJSON_IsObject(root))
			abort();
		const cJSON *want = vp.n ? cfg_resolve(root, ptr) : root;
		if (!span.p != !want)
			abort();
		if (span.p) {
			cJSON *got = cJSON_ParseWithLength(span.p, span.len);
			if (!got || !same_value(got, want))
				abort();
			cJSON_Delete(got);
		}
		cJSON_Delete(root);
	}
	free(copy);
	free(ptr);
	vptr_free(&vp);
	return 0;
}
