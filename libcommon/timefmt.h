/*
 * timefmt.h: clocks, and the RFC 3339 timestamps of the record contract.
 *
 * Every ofs record carries "ts" in one form: UTC with exactly six
 * fraction digits, 2026-11-22T02:31:00.123456Z. ts_format writes it fast
 * enough to sit on every record's hot path, and ts_parse reads any RFC
 * 3339 timestamp an input may hold. Calendar arithmetic is done here on
 * the proleptic Gregorian calendar, so nothing depends on TZ or timegm.
 *
 * Times are int64_t nanoseconds since 1970-01-01T00:00:00Z, which covers
 * 1677-09-21T00:12:43.145224192Z to 2262-04-11T23:47:16.854775807Z.
 */
#ifndef OFS_TIMEFMT_H
#define OFS_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

/* Room for "YYYY-MM-DDTHH:MM:SS.ffffffZ" and its NUL. */
#define TS_BUFSZ 28

/* ts_now_ns: the wall clock (CLOCK_REALTIME) in epoch nanoseconds. */
int64_t ts_now_ns(void);
/* mono_ns, mono_ms: CLOCK_MONOTONIC, for timeouts and measured durations. */
int64_t mono_ns(void);
int64_t mono_ms(void);

/*
 * ts_format: write epoch_ns as "2026-11-22T02:31:00.123456Z" (always 27
 * characters plus NUL) into out and return out. Sub-microsecond digits
 * are dropped by flooring, so a time never rounds into the next second,
 * and times before 1970 come out right (1969-12-31T23:59:59.999999Z for
 * -1). The date-time part is cached per second in static storage: not
 * thread-safe (ofs tools are single-threaded by design).
 */
char *ts_format(int64_t epoch_ns, char out[TS_BUFSZ]);
/* ts_format_now: ts_format(ts_now_ns(), out). */
char *ts_format_now(char out[TS_BUFSZ]);

/*
 * ts_parse: read the len bytes at s (no NUL needed; all of them must be
 * used) as an RFC 3339 date-time and store epoch nanoseconds in
 * *epoch_ns. Returns 0, or -1 for anything malformed or out of range
 * (*epoch_ns untouched). Accepted:
 *   YYYY-MM-DD, then 'T', 't' or ' ', then HH:MM:SS;
 *   an optional '.' and one or more fraction digits (the first nine are
 *   kept, further digits are dropped);
 *   'Z', 'z', or an offset +hh:mm / -hh:mm (hh 00-23, mm 00-59).
 * Every field has its exact number of digits; dates must exist (no
 * 02-30, leap years per Gregorian rule), hour 00-23, minute 00-59.
 * Leap second rule: second 60 is accepted in any minute and read as the
 * last nanosecond of second 59 (its fraction is ignored), so order is
 * kept without a leap second table. Years 0000-9999 are read, but the
 * result must fit in int64_t nanoseconds (see above), else -1.
 */
int ts_parse(const char *s, size_t len, int64_t *epoch_ns);

/*
 * ts_days_from_civil: days since 1970-01-01 of the proleptic Gregorian
 * date y-m-d (m 1-12, d 1-31; not validated, use ts_valid_date).
 * ts_civil_from_days: the inverse. Both are exact for years within +-10^9.
 */
int64_t ts_days_from_civil(int64_t y, int m, int d);
void ts_civil_from_days(int64_t days, int64_t *y, int *m, int *d);
/* ts_valid_date: 1 if y-m-d exists in the Gregorian calendar, else 0. */
int ts_valid_date(int64_t y, int m, int d);

#endif
