/*
 * fuzz_timestamp.c: libFuzzer target for ts_parse of timefmt.c.
 *
 * The raw input is parsed with its exact length (no NUL), so reading a
 * byte too far is caught by AddressSanitizer. A parsed time formatted as
 * a record "ts" must be 27 characters and parse back to the same time
 * floored to the microsecond. A broken promise aborts.
 */
#include "common.h"

#include "timefmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int64_t ns, back;
	if (ts_parse((const char *)data, size, &ns) < 0)
		return 0;
	char buf[TS_BUFSZ];
	ts_format(ns, buf);
	if (strlen(buf) != TS_BUFSZ - 1)
		abort();
	int64_t rem = ns % 1000;
	if (rem < 0)
		rem += 1000;
	if (ns < INT64_MIN + rem)
		return 0; /* floors below the int64 range: not representable */
	if (ts_parse(buf, strlen(buf), &back) < 0 || back != ns - rem)
		abort();
	return 0;
}
