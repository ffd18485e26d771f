/*
 * fuzz_traceparent.c: libFuzzer target for the W3C Trace Context parsers
 * of tracectx.c.
 *
 * The input is tried as a traceparent: a successful parse must write
 * back the same 55 lowercase characters (as version 00, with the flag
 * bits the recommendation does not define cleared). It is also tried as
 * a tracestate, and, split at its first newline, as a key and value for
 * tc_tracestate_put; every tracestate put builds must itself be valid
 * and start with the member put. A broken promise aborts.
 */
#include "common.h"

#include "tracectx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_put(const char *old, const char *key, const char *value)
{
	char *got = tc_tracestate_put(old, key, value);
	if (!got)
		return;
	size_t klen = strlen(key), vlen = strlen(value);
	if (!tc_tracestate_valid(got) || strncmp(got, key, klen) || got[klen] != '=' ||
	    strncmp(got + klen + 1, value, vlen) || (got[klen + 1 + vlen] && got[klen + 1 + vlen] != ','))
		abort();
	/* Putting the same member again changes nothing. */
	char *again = tc_tracestate_put(got, key, value);
	if (!again || strcmp(again, got))
		abort();
	free(again);
	free(got);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = xmalloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';

	struct tc c = { .tracestate = NULL };
	if (tc_parse_traceparent(s, &c) == 0) {
		char out[TC_TRACEPARENT_BUFSZ], want[TC_TRACEPARENT_BUFSZ];
		static const char hex[] = "0123456789abcdef";
		uint8_t flags = c.flags & TC_FLAGS_KNOWN;
		memcpy(want, s, TC_TRACEPARENT_LEN);
		want[0] = want[1] = '0';
		want[53] = hex[flags >> 4];
		want[54] = hex[flags & 15];
		want[TC_TRACEPARENT_LEN] = '\0';
		tc_format_traceparent(&c, out);
		if (memcmp(out, want, TC_TRACEPARENT_BUFSZ))
			abort();
		if (s[0] == '0' && s[1] == '0' && (c.flags & ~TC_FLAGS_KNOWN) == 0 && strcmp(out, s))
			abort();
	}

	(void)tc_tracestate_valid(s);
	check_put(s, "ofs", "1");

	char *nl = strchr(s, '\n');
	if (nl) {
		*nl = '\0';
		check_put("a=1,b=2", s, nl + 1);
	}
	free(s);
	return 0;
}
