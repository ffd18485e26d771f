/*
 * test_timefmt.c: unit tests for timefmt.c: civil dates across the whole
 * 0000-9999 range, the record "ts" format, RFC 3339 parsing (valid and
 * invalid forms, offsets, leap years and seconds, int64 limits) and the
 * clocks.
 */
#include "common.h"

#include "rnd.h"
#include "tap.h"
#include "timefmt.h"

static const struct {
	int64_t ns;
	const char *want;
} format_cases[] = {
	{ 0, "1970-01-01T00:00:00.000000Z" },
	{ 1, "1970-01-01T00:00:00.000000Z" },
	{ 999999999, "1970-01-01T00:00:00.999999Z" },
	{ -1, "1969-12-31T23:59:59.999999Z" },
	{ -1000, "1969-12-31T23:59:59.999999Z" },
	{ -1001, "1969-12-31T23:59:59.999998Z" },
	{ -1000000000, "1969-12-31T23:59:59.000000Z" },
	{ 1795314660123456789, "2026-11-22T02:31:00.123456Z" },
	{ 1709251199999999999, "2024-02-29T23:59:59.999999Z" },
	{ 951782400000000000, "2000-02-29T00:00:00.000000Z" },
	{ -2203891200000000000, "1900-03-01T00:00:00.000000Z" },
	{ -315619199999999000, "1960-01-01T00:00:00.000001Z" },
	{ 978307199000000000, "2000-12-31T23:59:59.000000Z" },
	{ INT64_MAX, "2262-04-11T23:47:16.854775Z" },
	{ INT64_MIN, "1677-09-21T00:12:43.145224Z" },
};

static const struct {
	const char *in;
	int64_t want;
} parse_ok[] = {
	{ "1970-01-01T00:00:00Z", 0 },
	{ "2026-11-22T02:31:00.123456Z", 1795314660123456000 },
	{ "2026-11-22t02:31:00.123456z", 1795314660123456000 },
	{ "2026-11-22 02:31:00.123456Z", 1795314660123456000 },
	{ "2026-11-22T02:31:00.123456789Z", 1795314660123456789 },
	{ "2026-11-22T02:31:00.123456789999Z", 1795314660123456789 },
	{ "2026-11-22T02:31:00.1Z", 1795314660100000000 },
	{ "2026-11-22T04:31:00+02:00", 1795314660000000000 },
	{ "2026-11-21T21:01:00-05:30", 1795314660000000000 },
	{ "2026-11-22T02:31:00-00:00", 1795314660000000000 },
	{ "2026-11-23T02:30:00+23:59", 1795314660000000000 },
	{ "2024-02-29T12:00:00Z", 1709208000000000000 },
	{ "2000-02-29T00:00:00Z", 951782400000000000 },
	{ "1900-03-01T00:00:00Z", -2203891200000000000 },
	{ "1969-12-31T23:59:59.999999999Z", -1 },
	{ "1969-12-31T23:59:59Z", -1000000000 },
	{ "2016-12-31T23:59:60Z", 1483228799999999999 },
	{ "2016-12-31T23:59:60.5Z", 1483228799999999999 },
	{ "2262-04-11T23:47:16.854775807Z", INT64_MAX },
	{ "1677-09-21T00:12:43.145224192Z", INT64_MIN },
	{ "1677-09-21T01:12:43.145224192+01:00", INT64_MIN },
};

static const char *const parse_bad[] = {
	"",
	"2026-11-22",
	"2026-11-22T02:31:00",
	"2026-11-22T02:31:00.123",
	"2026-13-01T00:00:00Z",
	"2026-00-10T00:00:00Z",
	"2026-01-00T00:00:00Z",
	"2026-01-32T00:00:00Z",
	"2026-02-29T00:00:00Z",
	"1900-02-29T00:00:00Z",
	"2024-02-30T00:00:00Z",
	"2026-04-31T00:00:00Z",
	"2026-11-22T24:00:00Z",
	"2026-11-22T23:60:00Z",
	"2026-11-22T23:59:61Z",
	"2026-11-22T02:31:00.Z",
	"2026-11-22T02:31:00.12a4Z",
	"2026-11-22T02:31:00+2:00",
	"2026-11-22T02:31:00+02:60",
	"2026-11-22T02:31:00+24:00",
	"2026-11-22T02:31:00+0200",
	"2026-11-22T02:31:00+02:00:00",
	"2026-11-22T02:31:00ZZ",
	"2026-11-22T02:31:00Z ",
	" 2026-11-22T02:31:00Z",
	"2026-11-22X02:31:00Z",
	"2026/11/22T02:31:00Z",
	"26-11-22T02:31:00Z",
	"2026-1-22T02:31:00Z",
	"2026-11-22T2:31:00Z",
	"+2026-11-22T02:31:00Z",
	"2026-11-22T02:31:00,5Z",
	"2262-04-11T23:47:16.854775808Z",
	"1677-09-21T00:12:43.145224191Z",
	"9999-12-31T23:59:59Z",
	"0000-01-01T00:00:00Z",
};

static const struct {
	int64_t y;
	int m, d;
	int64_t days;
} civil_cases[] = {
	{ 1970, 1, 1, 0 },
	{ 1969, 12, 31, -1 },
	{ 2000, 2, 29, 11016 },
	{ 2000, 3, 1, 11017 },
	{ 2024, 2, 29, 19782 },
	{ 1900, 3, 1, -25508 },
	{ 1600, 2, 29, -135081 },
	{ 1, 1, 1, -719162 },
	{ 0, 1, 1, -719528 },
	{ 9999, 12, 31, 2932896 },
};

static void test_civil(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(civil_cases); i++) {
		char name[80];
		int64_t y;
		int m, d;
		snprintf(name, sizeof(name), "days_from_civil %04" PRId64 "-%02d-%02d",
			 civil_cases[i].y, civil_cases[i].m, civil_cases[i].d);
		is_int(ts_days_from_civil(civil_cases[i].y, civil_cases[i].m, civil_cases[i].d),
		       civil_cases[i].days, name);
		ts_civil_from_days(civil_cases[i].days, &y, &m, &d);
		ok(y == civil_cases[i].y && m == civil_cases[i].m && d == civil_cases[i].d,
		   "civil_from_days %" PRId64 " gives %04" PRId64 "-%02d-%02d", civil_cases[i].days,
		   y, m, d);
	}

	/* Walk every day of 0000-01-01 .. 9999-12-31 through the valid dates. */
	int64_t want = ts_days_from_civil(0, 1, 1), bad = 0;
	for (int64_t y = 0; y <= 9999; y++) {
		for (int m = 1; m <= 12; m++) {
			for (int d = 1; d <= 31; d++) {
				if (!ts_valid_date(y, m, d))
					continue;
				int64_t yy;
				int mm, dd;
				ts_civil_from_days(want, &yy, &mm, &dd);
				if (ts_days_from_civil(y, m, d) != want || yy != y || mm != m || dd != d)
					bad++;
				want++;
			}
		}
	}
	is_int(bad, 0, "every date 0000-9999 maps to consecutive days and back");
	is_int(want, 2932897, "the walk ends the day after 9999-12-31");

	ok(ts_valid_date(2024, 2, 29) && ts_valid_date(2000, 2, 29) && ts_valid_date(1600, 2, 29),
	   "leap days of years divisible by 4 and by 400 exist");
	ok(!ts_valid_date(2023, 2, 29) && !ts_valid_date(1900, 2, 29) && !ts_valid_date(2100, 2, 29),
	   "no leap day in common years or centuries not divisible by 400");
	ok(!ts_valid_date(2026, 4, 31) && !ts_valid_date(2026, 13, 1) && !ts_valid_date(2026, 0, 1) &&
		   !ts_valid_date(2026, 1, 0),
	   "april 31, month 13, month 0 and day 0 do not exist");
}

static void test_format(void)
{
	char buf[TS_BUFSZ];
	for (size_t i = 0; i < ARRAY_SIZE(format_cases); i++) {
		char name[80];
		snprintf(name, sizeof(name), "ts_format %" PRId64, format_cases[i].ns);
		is_str(ts_format(format_cases[i].ns, buf), format_cases[i].want, name);
	}

	/* The per-second cache must follow changes of second in both directions. */
	ts_format(1795314660000000000, buf);
	is_str(ts_format(1795314660000000001 + 5000, buf), "2026-11-22T02:31:00.000005Z",
	       "a cached second with a new fraction");
	is_str(ts_format(1795314661000000000, buf), "2026-11-22T02:31:01.000000Z",
	       "the next second replaces the cache");
	is_str(ts_format(1795314659999999999, buf), "2026-11-22T02:30:59.999999Z",
	       "an earlier second replaces the cache");
	is_int((long long)strlen(ts_format(-2203891200000000000, buf)), 27,
	       "a formatted time is always 27 characters");
}

static void test_parse(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(parse_ok); i++) {
		int64_t got = 42;
		char name[120];
		snprintf(name, sizeof(name), "ts_parse '%s'", parse_ok[i].in);
		int r = ts_parse(parse_ok[i].in, strlen(parse_ok[i].in), &got);
		if (ok(r == 0, "%s accepted", name))
			is_int(got, parse_ok[i].want, name);
	}
	for (size_t i = 0; i < ARRAY_SIZE(parse_bad); i++) {
		int64_t got = 42;
		int r = ts_parse(parse_bad[i], strlen(parse_bad[i]), &got);
		ok(r == -1 && got == 42, "ts_parse rejects '%s' and leaves the result", parse_bad[i]);
	}

	int64_t got = 0;
	const char *longer = "2026-11-22T02:31:00Zjunk";
	ok(ts_parse(longer, 20, &got) == 0 && got == 1795314660000000000,
	   "ts_parse reads only len bytes");
	ok(ts_parse(longer, 19, &got) == -1, "ts_parse with len cutting the zone fails");

	/* Not NUL-terminated: an exact-size heap copy lets ASan catch overreads. */
	const char *frac = "2026-11-22T02:31:00.123456789";
	char *exact = xmemdup(frac, strlen(frac));
	ok(ts_parse(exact, strlen(frac), &got) == -1, "a fraction running to the end fails cleanly");
	free(exact);
	exact = xmemdup("2026-11-22T02:31:00+02", 22);
	ok(ts_parse(exact, 22, &got) == -1, "a cut offset fails cleanly");
	free(exact);
}

static void test_round_trip(void)
{
	char buf[TS_BUFSZ];
	int bad = 0;
	rnd_seed(19701970);
	for (int i = 0; i < 100000; i++) {
		int64_t ns = (int64_t)rnd_u64();
		if (ns < INT64_MIN + 1000)
			continue; /* floors below the int64 range */
		int64_t want = ns - (ns % 1000 + 1000) % 1000, got;
		ts_format(ns, buf);
		if (ts_parse(buf, strlen(buf), &got) < 0 || got != want) {
			if (!bad++)
				diag("round trip of %" PRId64 " gave '%s'", ns, buf);
		}
	}
	is_int(bad, 0, "format then parse gives the time floored to microseconds (100000 draws)");
}

static void test_clocks(void)
{
	int64_t a = mono_ns(), b = mono_ns();
	ok(b >= a, "mono_ns does not go back");
	int64_t ms = mono_ms();
	ok(ms >= b / 1000000 && ms - b / 1000000 < 1000, "mono_ms is mono_ns in milliseconds");
	int64_t now = ts_now_ns();
	int64_t t = (int64_t)time(NULL);
	ok(now / 1000000000 >= t - 1 && now / 1000000000 <= t + 1, "ts_now_ns agrees with time()");
	char buf[TS_BUFSZ];
	int64_t back;
	ts_format_now(buf);
	ok(ts_parse(buf, strlen(buf), &back) == 0 && back >= now / 1000 * 1000 &&
		   back - now < 1000000000,
	   "ts_format_now gives the current time");
}

int main(void)
{
	test_civil();
	test_format();
	test_parse();
	test_round_trip();
	test_clocks();
	return tap_done();
}
