/*
 * units.h: checked parsing and formatting of durations, sizes and numbers.
 *
 * Every option and spec field that takes "250ms", "1h30m", "64k" or a
 * bounded integer goes through here, so all tools accept the same forms
 * and reject mistakes with the same words. Parsers read the whole string
 * (no leading or trailing blanks, no trailing junk) and, on failure,
 * append one lowercase message to err that quotes the input and says
 * what is wrong: invalid duration '5x': unknown unit 'x'. The caller
 * prefixes the option or JSON pointer. err may be NULL to skip the text.
 * Nothing here allocates except through err.
 */
#ifndef OFS_UNITS_H
#define OFS_UNITS_H

#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

/* Room for any dur_format result ("-106751d23h47m16s854ms775us808ns"). */
#define DUR_BUFSZ 40
/* Room for any size_format result (20 digits of UINT64_MAX). */
#define SIZE_BUFSZ 32

/*
 * dur_parse: read a duration into nanoseconds. The form is one or more
 * NUMBER UNIT pairs with units in strictly descending order, each once:
 * "250ms", "5s", "1h30m", "1d", "1h30m15s500ms". NUMBER is digits with an
 * optional '.' and more digits ("1.5s", "0.25h"); a fraction finer than
 * a nanosecond is dropped (floored). Units: ns, us (or µs), ms, s, m, h,
 * d (24 h), w (7 d); case matters. A bare "0" is zero. Rejected, with a
 * message: empty string, signs, a number without a unit ("5"), unknown
 * units, units out of order or repeated ("30m1h", "1s1s"), blanks, and
 * totals beyond INT64_MAX ns (about 292 years). Returns 0 or -1; *ns is
 * only written on success.
 */
int dur_parse(const char *s, int64_t *ns, struct strbuf *err);

/*
 * dur_format: the canonical text of ns into buf (n bytes, always
 * NUL-terminated when n > 0, truncated if short; DUR_BUFSZ always fits),
 * and returns buf. Canonical rule: each non-zero component from days
 * down to nanoseconds, largest first, with no fractions and no weeks:
 * 90 min is "1h30m", 1.5 s is "1s500ms", 26 h is "1d2h", 7 d is "7d";
 * zero is "0s". dur_parse reads every result back to the same value.
 * Negative values are written with a leading '-' for display only
 * (dur_parse rejects signs).
 */
char *dur_format(int64_t ns, char *buf, size_t n);

/*
 * size_parse: read a byte count. NUMBER (digits, optional '.' digits)
 * then an optional binary unit k, M, G, T, P, E (powers of 1024; letters
 * in any case) which may be followed by "B" or "iB", or a lone "B":
 * "512", "512B", "64k", "64KiB", "10MB", "1.5M", "1G". A result that is
 * not a whole number of bytes is floored ("1.1k" is 1126). Rejected with
 * a message like dur_parse: empty, signs, unknown units, junk, values
 * beyond UINT64_MAX. Returns 0 or -1; *bytes only written on success.
 */
int size_parse(const char *s, uint64_t *bytes, struct strbuf *err);

/*
 * size_format: text for bytes into buf (n bytes, as dur_format), returns
 * buf. Rule: the largest unit (E, P, T, G, M, k) in which the value is
 * at least 1 and exact with at most two decimals, written without
 * trailing zeros: 65536 is "64k", 1572864 is "1.5M", 1073741824 is "1G";
 * if no unit fits, plain bytes ("1000", "0"). size_parse reads every
 * result back to the same value.
 */
char *size_format(uint64_t bytes, char *buf, size_t n);

/*
 * num_parse_int: read a base-10 integer (optional sign, digits, nothing
 * else) and check min <= value <= max. Messages: invalid integer '12x',
 * must be 0..100, got 120. Returns 0 or -1; *out only written on success.
 */
int num_parse_int(const char *s, long long min, long long max, long long *out,
		  struct strbuf *err);

/*
 * num_parse_double: read a finite decimal number (optional sign, digits,
 * optional fraction and exponent: "-1.5", "2e3", ".5"). No hex, inf or
 * nan, no blanks or junk; overflow is an error, underflow gives the
 * nearest representable value. Returns 0 or -1; *out only written on
 * success.
 */
int num_parse_double(const char *s, double *out, struct strbuf *err);

#endif
