/*
 * test_units.c: unit tests for units.c: durations and sizes (accepted
 * forms, exact error messages, canonical formatting, format-parse round
 * trips over random values) and checked integer and double parsing.
 */
#include "common.h"

#include "rnd.h"
#include "strbuf.h"
#include "tap.h"
#include "units.h"

#define S_NS 1000000000LL

static const struct {
	const char *in;
	int64_t want;
} dur_ok[] = {
	{ "0", 0 },
	{ "0s", 0 },
	{ "0ns", 0 },
	{ "10ns", 10 },
	{ "100us", 100000 },
	{ "100\xc2\xb5s", 100000 },
	{ "100\xce\xbcs", 100000 },
	{ "250ms", 250000000 },
	{ "0.5ms", 500000 },
	{ "5s", 5 * S_NS },
	{ "007s", 7 * S_NS },
	{ "1.5s", 1500000000 },
	{ "1.123456789123s", 1123456789 },
	{ "1.0000000001s", S_NS },
	{ "1.9ns", 1 },
	{ "2m", 120 * S_NS },
	{ "0.25h", 900 * S_NS },
	{ "1h30m", 5400 * S_NS },
	{ "1h30m15s500ms", 5415500000000 },
	{ "1d", 86400 * S_NS },
	{ "1d2h3m4s5ms6us7ns", 93784005006007 },
	{ "1w", 604800 * S_NS },
	{ "2w3d", 17 * 86400 * S_NS },
	{ "1.5w", 907200 * S_NS },
	{ "15250w", 15250LL * 604800 * S_NS },
	{ "9223372036854775807ns", INT64_MAX },
	{ "106751d23h47m16s854ms775us807ns", INT64_MAX },
};

static const struct {
	const char *in;
	const char *msg;
} dur_bad[] = {
	{ "", "invalid duration '': empty" },
	{ "5", "invalid duration '5': missing unit after '5' (use ns, us, ms, s, m, h, d or w)" },
	{ "1.5", "invalid duration '1.5': missing unit after '1.5' (use ns, us, ms, s, m, h, d or w)" },
	{ "1h30", "invalid duration '1h30': missing unit after '30' (use ns, us, ms, s, m, h, d or w)" },
	{ "5x", "invalid duration '5x': unknown unit 'x'" },
	{ "5S", "invalid duration '5S': unknown unit 'S'" },
	{ "1e3s", "invalid duration '1e3s': unknown unit 'e'" },
	{ "1h30m!!", "invalid duration '1h30m!!': unknown unit 'm!!'" },
	{ "5sec", "invalid duration '5sec': unknown unit 'sec'" },
	{ "-5s", "invalid duration '-5s': must not be negative" },
	{ "+5s", "invalid duration '+5s': expected a number" },
	{ "s", "invalid duration 's': expected a number" },
	{ ".5s", "invalid duration '.5s': expected a number" },
	{ "1.s", "invalid duration '1.s': expected digits after '.'" },
	{ "1h 30m", "invalid duration '1h 30m': blanks are not allowed" },
	{ " 5s", "invalid duration ' 5s': blanks are not allowed" },
	{ "5s\t", "invalid duration '5s\t': blanks are not allowed" },
	{ "30m1h", "invalid duration '30m1h': unit 'h' after 'm': use each unit once, largest first" },
	{ "1s1s", "invalid duration '1s1s': unit 's' after 's': use each unit once, largest first" },
	{ "1us1\xc2\xb5s",
	  "invalid duration '1us1\xc2\xb5s': unit '\xc2\xb5s' after 'us': use each unit once, "
	  "largest first" },
	{ "9223372036854775808ns", "invalid duration '9223372036854775808ns': out of range "
				   "(the largest is 106751d23h47m16s854ms775us807ns)" },
	{ "106751d23h47m16s854ms775us808ns",
	  "invalid duration '106751d23h47m16s854ms775us808ns': out of range "
	  "(the largest is 106751d23h47m16s854ms775us807ns)" },
	{ "15251w", "invalid duration '15251w': out of range "
		    "(the largest is 106751d23h47m16s854ms775us807ns)" },
	{ "99999999999999999999999h", "invalid duration '99999999999999999999999h': out of range "
				      "(the largest is 106751d23h47m16s854ms775us807ns)" },
};

static const struct {
	int64_t ns;
	const char *want;
} dur_fmt[] = {
	{ 0, "0s" },
	{ 1, "1ns" },
	{ 1000, "1us" },
	{ 250000000, "250ms" },
	{ 1500000000, "1s500ms" },
	{ 5 * S_NS, "5s" },
	{ 120 * S_NS, "2m" },
	{ 5400 * S_NS, "1h30m" },
	{ 86400 * S_NS, "1d" },
	{ 93600 * S_NS, "1d2h" },
	{ 604800 * S_NS, "7d" },
	{ 93784005006007, "1d2h3m4s5ms6us7ns" },
	{ INT64_MAX, "106751d23h47m16s854ms775us807ns" },
	{ -1500000000, "-1s500ms" },
	{ INT64_MIN, "-106751d23h47m16s854ms775us808ns" },
};

static const struct {
	const char *in;
	uint64_t want;
} size_ok[] = {
	{ "0", 0 },
	{ "512", 512 },
	{ "512B", 512 },
	{ "512b", 512 },
	{ "64k", 65536 },
	{ "64K", 65536 },
	{ "64kB", 65536 },
	{ "64KB", 65536 },
	{ "64KiB", 65536 },
	{ "64kib", 65536 },
	{ "2KiB", 2048 },
	{ "0.5k", 512 },
	{ "0.001k", 1 },
	{ "1.1k", 1126 },
	{ "10M", 10485760 },
	{ "10MB", 10485760 },
	{ "1.5M", 1572864 },
	{ "1G", 1073741824 },
	{ "1T", 1099511627776 },
	{ "1P", 1125899906842624 },
	{ "1E", 1152921504606846976 },
	{ "15E", 17293822569102704640ULL },
	{ "15.999999999999999999E", 18446744073709551614ULL },
	{ "18446744073709551615", UINT64_MAX },
};

#define SIZE_UNITS "(use k, M, G, T, P or E)"
static const struct {
	const char *in;
	const char *msg;
} size_bad[] = {
	{ "", "invalid size '': empty" },
	{ "-1", "invalid size '-1': must not be negative" },
	{ "k", "invalid size 'k': expected a number" },
	{ "1.", "invalid size '1.': expected digits after '.'" },
	{ "1 k", "invalid size '1 k': blanks are not allowed" },
	{ "1x", "invalid size '1x': unknown unit 'x' " SIZE_UNITS },
	{ "1kx", "invalid size '1kx': unknown unit 'kx' " SIZE_UNITS },
	{ "1ki", "invalid size '1ki': unknown unit 'ki' " SIZE_UNITS },
	{ "1iB", "invalid size '1iB': unknown unit 'iB' " SIZE_UNITS },
	{ "1BB", "invalid size '1BB': unknown unit 'BB' " SIZE_UNITS },
	{ "1KiBs", "invalid size '1KiBs': unknown unit 'KiBs' " SIZE_UNITS },
	{ "1e3", "invalid size '1e3': unknown unit 'e3' " SIZE_UNITS },
	{ "16E", "invalid size '16E': out of range (the largest is 18446744073709551615)" },
	{ "18446744073709551616",
	  "invalid size '18446744073709551616': out of range (the largest is 18446744073709551615)" },
};

static const struct {
	uint64_t bytes;
	const char *want;
} size_fmt[] = {
	{ 0, "0" },
	{ 1000, "1000" },
	{ 1023, "1023" },
	{ 1024, "1k" },
	{ 1280, "1.25k" },
	{ 1536, "1.5k" },
	{ 1792, "1.75k" },
	{ 1152, "1152" },
	{ 65536, "64k" },
	{ 1048575, "1048575" },
	{ 1049600, "1025k" },
	{ 1572864, "1.5M" },
	{ 10485760, "10M" },
	{ 805306368, "768M" },
	{ 1073741824, "1G" },
	{ 1152921504606846976, "1E" },
	{ 9223372036854775808ULL, "8E" },
	{ 17293822569102704640ULL, "15E" },
	{ UINT64_MAX, "18446744073709551615" },
};

static const struct {
	const char *in;
	long long min, max;
	long long want;
	const char *msg; /* NULL: accepted with want */
} int_cases[] = {
	{ "42", 0, 100, 42, NULL },
	{ "0", 0, 100, 0, NULL },
	{ "100", 0, 100, 100, NULL },
	{ "-5", -10, 10, -5, NULL },
	{ "+7", -10, 10, 7, NULL },
	{ "007", 0, 10, 7, NULL },
	{ "9223372036854775807", LLONG_MIN, LLONG_MAX, LLONG_MAX, NULL },
	{ "-9223372036854775808", LLONG_MIN, LLONG_MAX, LLONG_MIN, NULL },
	{ "120", 0, 100, 0, "must be 0..100, got 120" },
	{ "-1", 0, 100, 0, "must be 0..100, got -1" },
	{ "99999999999999999999", 0, 100, 0, "must be 0..100, got 99999999999999999999" },
	{ "9223372036854775808", LLONG_MIN, LLONG_MAX, 0,
	  "must be -9223372036854775808..9223372036854775807, got 9223372036854775808" },
	{ "12x", 0, 100, 0, "invalid integer '12x': unexpected 'x'" },
	{ "12 ", 0, 100, 0, "invalid integer '12 ': unexpected ' '" },
	{ "0x10", 0, 100, 0, "invalid integer '0x10': unexpected 'x10'" },
	{ "1.5", 0, 100, 0, "invalid integer '1.5': unexpected '.5'" },
	{ "", 0, 100, 0, "invalid integer '': expected digits" },
	{ " 12", 0, 100, 0, "invalid integer ' 12': expected digits" },
	{ "-", 0, 100, 0, "invalid integer '-': expected digits" },
	{ "--1", 0, 100, 0, "invalid integer '--1': expected digits" },
};

static const struct {
	const char *in;
	double want;
	const char *msg; /* NULL: accepted with want */
} double_cases[] = {
	{ "1.5", 1.5, NULL },
	{ "-2e3", -2000, NULL },
	{ "+3", 3, NULL },
	{ "0", 0, NULL },
	{ ".5", 0.5, NULL },
	{ "5.", 5, NULL },
	{ "1E2", 100, NULL },
	{ "2.5e-1", 0.25, NULL },
	{ "1e-400", 0, NULL },
	{ "", 0, "invalid number '': expected digits" },
	{ ".", 0, "invalid number '.': expected digits" },
	{ "-", 0, "invalid number '-': expected digits" },
	{ " 1", 0, "invalid number ' 1': expected digits" },
	{ "inf", 0, "invalid number 'inf': expected digits" },
	{ "nan", 0, "invalid number 'nan': expected digits" },
	{ "0x10", 0, "invalid number '0x10': unexpected 'x10'" },
	{ "1e", 0, "invalid number '1e': expected digits in the exponent" },
	{ "1e+", 0, "invalid number '1e+': expected digits in the exponent" },
	{ "1.5x", 0, "invalid number '1.5x': unexpected 'x'" },
	{ "1,5", 0, "invalid number '1,5': unexpected ',5'" },
	{ "1e999", 0, "invalid number '1e999': out of range" },
	{ "-1e999", 0, "invalid number '-1e999': out of range" },
};

static void test_dur_parse(void)
{
	struct strbuf err = SB_INIT;
	for (size_t i = 0; i < ARRAY_SIZE(dur_ok); i++) {
		int64_t got = -42;
		char name[120];
		sb_reset(&err);
		snprintf(name, sizeof(name), "dur_parse '%s'", dur_ok[i].in);
		if (ok(dur_parse(dur_ok[i].in, &got, &err) == 0 && !err.len, "%s accepted", name))
			is_int(got, dur_ok[i].want, name);
	}
	for (size_t i = 0; i < ARRAY_SIZE(dur_bad); i++) {
		int64_t got = -42;
		sb_reset(&err);
		ok(dur_parse(dur_bad[i].in, &got, &err) == -1 && got == -42,
		   "dur_parse rejects '%s'", dur_bad[i].in);
		is_str(err.buf, dur_bad[i].msg, "with its message");
	}

	sb_reset(&err);
	sb_addstr(&err, "--timeout: ");
	int64_t got;
	dur_parse("5x", &got, &err);
	is_str(err.buf, "--timeout: invalid duration '5x': unknown unit 'x'",
	       "the message is appended after the caller's prefix");
	ok(dur_parse("5x", &got, NULL) == -1, "a NULL err is allowed");
	sb_release(&err);
}

static void test_dur_format(void)
{
	char buf[DUR_BUFSZ];
	for (size_t i = 0; i < ARRAY_SIZE(dur_fmt); i++) {
		char name[80];
		snprintf(name, sizeof(name), "dur_format %" PRId64, dur_fmt[i].ns);
		is_str(dur_format(dur_fmt[i].ns, buf, sizeof(buf)), dur_fmt[i].want, name);
	}
	char small[3] = "xx";
	is_str(dur_format(5400 * S_NS, small, sizeof(small)), "1h",
	       "a short buffer is truncated and terminated");
	is_str(dur_format(5400 * S_NS, small, 0), "1h", "n == 0 writes nothing");

	int bad = 0;
	rnd_seed(42);
	for (int i = 0; i < 100000; i++) {
		int64_t v = (int64_t)((rnd_u64() >> 1) >> rnd_below(63)), back = -1;
		dur_format(v, buf, sizeof(buf));
		if (dur_parse(buf, &back, NULL) < 0 || back != v) {
			if (!bad++)
				diag("%" PRId64 " formatted as '%s' read back as %" PRId64, v, buf, back);
		}
	}
	is_int(bad, 0, "dur_format then dur_parse gives the value back (100000 draws)");
}

static void test_size(void)
{
	struct strbuf err = SB_INIT;
	char buf[SIZE_BUFSZ];
	for (size_t i = 0; i < ARRAY_SIZE(size_ok); i++) {
		uint64_t got = 42;
		char name[120];
		sb_reset(&err);
		snprintf(name, sizeof(name), "size_parse '%s'", size_ok[i].in);
		if (ok(size_parse(size_ok[i].in, &got, &err) == 0 && !err.len, "%s accepted", name))
			ok(got == size_ok[i].want, "%s is %" PRIu64 " (got %" PRIu64 ")", name,
			   size_ok[i].want, got);
	}
	for (size_t i = 0; i < ARRAY_SIZE(size_bad); i++) {
		uint64_t got = 42;
		sb_reset(&err);
		ok(size_parse(size_bad[i].in, &got, &err) == -1 && got == 42,
		   "size_parse rejects '%s'", size_bad[i].in);
		is_str(err.buf, size_bad[i].msg, "with its message");
	}
	for (size_t i = 0; i < ARRAY_SIZE(size_fmt); i++) {
		char name[80];
		snprintf(name, sizeof(name), "size_format %" PRIu64, size_fmt[i].bytes);
		is_str(size_format(size_fmt[i].bytes, buf, sizeof(buf)), size_fmt[i].want, name);
	}

	int bad = 0;
	rnd_seed(7);
	for (int i = 0; i < 100000; i++) {
		uint64_t v = rnd_u64() >> rnd_below(64), back = 0;
		if (i % 2) /* values near round multiples of the units */
			v = (v >> 20 << (10 * rnd_below(7))) + rnd_below(3);
		size_format(v, buf, sizeof(buf));
		if (size_parse(buf, &back, NULL) < 0 || back != v) {
			if (!bad++)
				diag("%" PRIu64 " formatted as '%s' read back as %" PRIu64, v, buf, back);
		}
	}
	is_int(bad, 0, "size_format then size_parse gives the value back (100000 draws)");
	sb_release(&err);
}

static void test_numbers(void)
{
	struct strbuf err = SB_INIT;
	for (size_t i = 0; i < ARRAY_SIZE(int_cases); i++) {
		long long got = 4242;
		int r;
		sb_reset(&err);
		r = num_parse_int(int_cases[i].in, int_cases[i].min, int_cases[i].max, &got, &err);
		if (!int_cases[i].msg) {
			ok(r == 0 && got == int_cases[i].want && !err.len,
			   "num_parse_int '%s' is %lld", int_cases[i].in, int_cases[i].want);
		} else {
			ok(r == -1 && got == 4242, "num_parse_int rejects '%s'", int_cases[i].in);
			is_str(err.buf, int_cases[i].msg, "with its message");
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(double_cases); i++) {
		double got = 42.5;
		int r;
		sb_reset(&err);
		r = num_parse_double(double_cases[i].in, &got, &err);
		if (!double_cases[i].msg) {
			ok(r == 0 && got == double_cases[i].want && !err.len,
			   "num_parse_double '%s' is %g", double_cases[i].in, double_cases[i].want);
		} else {
			ok(r == -1 && got == 42.5, "num_parse_double rejects '%s'", double_cases[i].in);
			is_str(err.buf, double_cases[i].msg, "with its message");
		}
	}
	sb_release(&err);
}

int main(void)
{
	test_dur_parse();
	test_dur_format();
	test_size();
	test_numbers();
	return tap_done();
}
