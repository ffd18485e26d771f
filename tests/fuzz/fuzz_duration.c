/*
 * fuzz_duration.c: libFuzzer target for the checked parsers of units.c.
 *
 * The input, as a C string, goes through dur_parse, size_parse,
 * num_parse_int and num_parse_double. Every failure must explain itself
 * in err and every success must hold: a parsed duration or size is
 * formatted and parsed again and must come back unchanged, an integer
 * must be within its bounds and a double finite. A broken promise aborts.
 */
#include "common.h"
#include <math.h>

#include "strbuf.h"
#include "units.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A parser's verdict and its err text must agree. */
static void check_err(int r, struct strbuf *err)
{
	if ((r == 0) != (err->len == 0))
		abort();
	sb_reset(err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = xmalloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	struct strbuf err = SB_INIT;

	int64_t ns, ns_back;
	int r = dur_parse(s, &ns, &err);
	check_err(r, &err);
	if (r == 0) {
		char buf[DUR_BUFSZ];
		if (ns < 0)
			abort();
		dur_format(ns, buf, sizeof(buf));
		if (dur_parse(buf, &ns_back, NULL) != 0 || ns_back != ns)
			abort();
	}

	uint64_t bytes, bytes_back;
	r = size_parse(s, &bytes, &err);
	check_err(r, &err);
	if (r == 0) {
		char buf[SIZE_BUFSZ];
		size_format(bytes, buf, sizeof(buf));
		if (size_parse(buf, &bytes_back, NULL) != 0 || bytes_back != bytes)
			abort();
	}

	long long ll;
	r = num_parse_int(s, -1000, 1000, &ll, &err);
	check_err(r, &err);
	if (r == 0 && (ll < -1000 || ll > 1000))
		abort();

	double d;
	r = num_parse_double(s, &d, &err);
	check_err(r, &err);
	if (r == 0 && !isfinite(d))
		abort();

	sb_release(&err);
	free(s);
	return 0;
}
