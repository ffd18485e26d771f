/*
 * timefmt.c: clocks and RFC 3339 timestamps (see timefmt.h).
 *
 * The civil-date conversions count days in 400-year eras of 146097 days,
 * with years starting on March 1 so that the leap day falls at the end;
 * that makes both directions branch-free and exact, with floor division
 * for dates before 1970. ts_format keeps the last second it formatted,
 * because a stream of records mostly shares the same second and only the
 * six fraction digits change.
 */
#include "common.h"

#include "timefmt.h"

#define NS_PER_SEC 1000000000LL

static int64_t clock_ns(clockid_t id)
{
	struct timespec t;
	if (clock_gettime(id, &t) < 0)
		die_errno("cannot read the clock");
	return (int64_t)t.tv_sec * NS_PER_SEC + t.tv_nsec;
}

int64_t ts_now_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

int64_t mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

int64_t mono_ms(void)
{
	return mono_ns() / 1000000;
}

/* Floor division and its non-negative remainder. */
static int64_t floor_div(int64_t a, int64_t b, int64_t *rem)
{
	int64_t q = a / b, r = a % b;
	if (r < 0) {
		q--;
		r += b;
	}
	if (rem)
		*rem = r;
	return q;
}

int64_t ts_days_from_civil(int64_t y, int m, int d)
{
	if (m <= 2)
		y--;
	int64_t yoe;
	int64_t era = floor_div(y, 400, &yoe);                 /* yoe 0..399 */
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; /* 0..146096 */
	return era * 146097 + doe - 719468;
}

void ts_civil_from_days(int64_t days, int64_t *y, int *m, int *d)
{
	int64_t doe;
	int64_t era = floor_div(days + 719468, 146097, &doe);
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = era * 400 + yoe + (*m <= 2);
}

int ts_valid_date(int64_t y, int m, int d)
{
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (m < 1 || m > 12 || d < 1)
		return 0;
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return d <= mdays[m - 1] + (m == 2 && leap);
}

static void put2(char *p, int v)
{
	p[0] = (char)('0' + v / 10);
	p[1] = (char)('0' + v % 10);
}

/* The formatted "YYYY-MM-DDTHH:MM:SS" of one second, reused until it changes. */
static int64_t cache_sec;
static int cache_valid;
static char cache_text[19];

static void fill_cache(int64_t sec)
{
	int64_t sod;
	int64_t days = floor_div(sec, 86400, &sod);
	int64_t y;
	int m, d;
	ts_civil_from_days(days, &y, &m, &d);
	/* int64_t nanoseconds keep y within 1677..2262, so four digits. */
	put2(cache_text, (int)(y / 100));
	put2(cache_text + 2, (int)(y % 100));
	cache_text[4] = '-';
	put2(cache_text + 5, m);
	cache_text[7] = '-';
	put2(cache_text + 8, d);
	cache_text[10] = 'T';
	put2(cache_text + 11, (int)(sod / 3600));
	cache_text[13] = ':';
	put2(cache_text + 14, (int)(sod / 60 % 60));
	cache_text[16] = ':';
	put2(cache_text + 17, (int)(sod % 60));
	cache_sec = sec;
	cache_valid = 1;
}

char *ts_format(int64_t epoch_ns, char out[TS_BUFSZ])
{
	int64_t sub;
	int64_t sec = floor_div(epoch_ns, NS_PER_SEC, &sub);
	if (!cache_valid || sec != cache_sec)
		fill_cache(sec);
	memcpy(out, cache_text, sizeof(cache_text));
	out[19] = '.';
	int us = (int)(sub / 1000);
	for (int i = 25; i >= 20; i--) {
		out[i] = (char)('0' + us % 10);
		us /= 10;
	}
	out[26] = 'Z';
	out[27] = '\0';
	return out;
}

char *ts_format_now(char out[TS_BUFSZ])
{
	return ts_format(ts_now_ns(), out);
}

/* Read exactly n decimal digits at s; -1 if any is not a digit. */
static int digits(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int ts_parse(const char *s, size_t len, int64_t *epoch_ns)
{
	if (len < 20)
		return -1;
	if (s[4] != '-' || s[7] != '-' || s[13] != ':' || s[16] != ':')
		return -1;
	if (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
		return -1;
	int y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
	int h = digits(s + 11, 2), mi = digits(s + 14, 2), sec = digits(s + 17, 2);
	if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || sec < 0)
		return -1;
	if (!ts_valid_date(y, mo, d) || h > 23 || mi > 59 || sec > 60)
		return -1;

	size_t i = 19;
	int64_t frac = 0;
	if (s[i] == '.') {
		size_t start = ++i;
		int64_t scale = 100000000;
		while (i < len && s[i] >= '0' && s[i] <= '9') {
			frac += (s[i] - '0') * scale;
			scale /= 10;
			i++;
		}
		if (i == start)
			return -1;
	}
	if (i >= len)
		return -1;

	int64_t offset = 0;
	if (s[i] == 'Z' || s[i] == 'z') {
		i++;
	} else if (s[i] == '+' || s[i] == '-') {
		if (len - i < 6 || s[i + 3] != ':')
			return -1;
		int oh = digits(s + i + 1, 2), om = digits(s + i + 4, 2);
		if (oh < 0 || om < 0 || oh > 23 || om > 59)
			return -1;
		offset = (oh * 60 + om) * 60;
		if (s[i] == '-')
			offset = -offset;
		i += 6;
	} else {
		return -1;
	}
	if (i != len)
		return -1;

	if (sec == 60) {
		sec = 59;
		frac = NS_PER_SEC - 1;
	}
	/* Years 0000-9999 keep t within +-3.2e11 s: no overflow here. */
	int64_t t = ts_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset;
	/*
	 * t * 1e9 + frac, checked. For negative t go through t + 1 so that a
	 * time just above INT64_MIN ns does not overflow on the way.
	 */
	int64_t ns;
	if (t < 0) {
		if (__builtin_mul_overflow(t + 1, NS_PER_SEC, &ns) ||
		    __builtin_add_overflow(ns, frac - NS_PER_SEC, &ns))
			return -1;
	} else {
		if (__builtin_mul_overflow(t, NS_PER_SEC, &ns) ||
		    __builtin_add_overflow(ns, frac, &ns))
			return -1;
	}
	*epoch_ns = ns;
	return 0;
}
