/*
 * units.c: durations, sizes and checked numbers (see units.h).
 *
 * Durations and sizes share one number reader: an integer part and the
 * fraction's digits, scaled by the unit in integer arithmetic so that
 * "1.5s" is exactly 1500000000 ns with no floating-point rounding. The
 * fraction times the unit is computed from the last digit back to the
 * first, each step dividing by ten; every intermediate value stays below
 * ten units, so nothing overflows however many digits are given, and the
 * result is exactly the floor of the true product.
 */
#include "common.h"
#include <math.h>

#include "units.h"

static void fail(struct strbuf *err, const char *what, const char *s, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Append "invalid WHAT 'S': REASON" to err. */
static void fail(struct strbuf *err, const char *what, const char *s, const char *fmt, ...)
{
	if (!err)
		return;
	va_list ap;
	sb_addf(err, "invalid %s '%s': ", what, s);
	va_start(ap, fmt);
	sb_vaddf(err, fmt, ap);
	va_end(ap);
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int lower(char c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static int has_blank(const char *s)
{
	for (; *s; s++)
		if (*s == ' ' || (*s >= '\t' && *s <= '\r'))
			return 1;
	return 0;
}

/* A number as read: integer part digits and fraction digits, not yet scaled. */
struct number {
	const char *int_start;
	size_t int_len;
	const char *frac_start;
	size_t frac_len;
};

/*
 * Read 1*DIGIT ["." 1*DIGIT] at *p. Returns 0 and advances *p, or -1 with
 * a reason in *why.
 */
static int read_number(const char **p, struct number *num, const char **why)
{
	const char *s = *p;
	if (!is_digit(*s)) {
		*why = *s == '-' ? "must not be negative" : "expected a number";
		return -1;
	}
	num->int_start = s;
	while (is_digit(*s))
		s++;
	num->int_len = (size_t)(s - num->int_start);
	num->frac_start = s;
	num->frac_len = 0;
	if (*s == '.') {
		num->frac_start = ++s;
		while (is_digit(*s))
			s++;
		num->frac_len = (size_t)(s - num->frac_start);
		if (!num->frac_len) {
			*why = "expected digits after '.'";
			return -1;
		}
	}
	*p = s;
	return 0;
}

/* num * unit, floored, into *out; -1 if it exceeds UINT64_MAX. */
static int scale_number(const struct number *num, uint64_t unit, uint64_t *out)
{
	uint64_t whole = 0;
	for (size_t i = 0; i < num->int_len; i++) {
		if (__builtin_mul_overflow(whole, 10, &whole) ||
		    __builtin_add_overflow(whole, (uint64_t)(num->int_start[i] - '0'), &whole))
			return -1;
	}
	if (__builtin_mul_overflow(whole, unit, &whole))
		return -1;
	uint64_t part = 0;
	for (size_t i = num->frac_len; i-- > 0;)
		part = ((uint64_t)(num->frac_start[i] - '0') * unit + part) / 10;
	return __builtin_add_overflow(whole, part, out) ? -1 : 0;
}

/* ---- durations -------------------------------------------------------- */

#define NS_US 1000ULL
#define NS_MS (1000 * NS_US)
#define NS_S (1000 * NS_MS)
#define NS_M (60 * NS_S)
#define NS_H (60 * NS_M)
#define NS_D (24 * NS_H)
#define NS_W (7 * NS_D)

/* Largest first: the order dur_parse demands and dur_format writes. */
static const struct dur_unit {
	const char *name;
	uint64_t ns;
} dur_units[] = {
	{ "w", NS_W },
	{ "d", NS_D },
	{ "h", NS_H },
	{ "m", NS_M },
	{ "s", NS_S },
	{ "ms", NS_MS },
	{ "us", NS_US },
	{ "\xc2\xb5s", NS_US }, /* MICRO SIGN */
	{ "\xce\xbcs", NS_US }, /* GREEK SMALL LETTER MU */
	{ "ns", 1 },
};

#define DUR_MAX_TEXT "106751d23h47m16s854ms775us807ns"

int dur_parse(const char *s, int64_t *ns, struct strbuf *err)
{
	static const char what[] = "duration";
	if (!*s) {
		fail(err, what, s, "empty");
		return -1;
	}
	if (has_blank(s)) {
		fail(err, what, s, "blanks are not allowed");
		return -1;
	}
	if (!strcmp(s, "0")) {
		*ns = 0;
		return 0;
	}

	const char *p = s;
	uint64_t total = 0;
	uint64_t prev_unit = 0; /* 0: none yet */
	const char *prev_name = NULL;
	while (*p) {
		struct number num;
		const char *why;
		if (read_number(&p, &num, &why) < 0) {
			fail(err, what, s, "%s", why);
			return -1;
		}
		const char *u = p;
		while (*p && !is_digit(*p) && *p != '.')
			p++;
		size_t ulen = (size_t)(p - u);
		if (!ulen) {
			fail(err, what, s, "missing unit after '%.*s' (use ns, us, ms, s, m, h, d or w)",
			     (int)(p - num.int_start), num.int_start);
			return -1;
		}
		const struct dur_unit *unit = NULL;
		for (size_t i = 0; i < ARRAY_SIZE(dur_units); i++) {
			if (strlen(dur_units[i].name) == ulen && !memcmp(dur_units[i].name, u, ulen)) {
				unit = &dur_units[i];
				break;
			}
		}
		if (!unit) {
			fail(err, what, s, "unknown unit '%.*s'", (int)ulen, u);
			return -1;
		}
		if (prev_unit && unit->ns >= prev_unit) {
			fail(err, what, s, "unit '%s' after '%s': use each unit once, largest first",
			     unit->name, prev_name);
			return -1;
		}
		prev_unit = unit->ns;
		prev_name = unit->name;
		uint64_t v;
		if (scale_number(&num, unit->ns, &v) < 0 || __builtin_add_overflow(total, v, &total) ||
		    total > (uint64_t)INT64_MAX) {
			fail(err, what, s, "out of range (the largest is " DUR_MAX_TEXT ")");
			return -1;
		}
	}
	*ns = (int64_t)total;
	return 0;
}

/* Append to buf at *len like snprintf would, keeping the NUL and the count. */
static void put(char *buf, size_t n, size_t *len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void put(char *buf, size_t n, size_t *len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vsnprintf(*len < n ? buf + *len : NULL, *len < n ? n - *len : 0, fmt, ap);
	va_end(ap);
	if (r > 0)
		*len += (size_t)r;
}

char *dur_format(int64_t ns, char *buf, size_t n)
{
	static const struct dur_unit parts[] = {
		{ "d", NS_D }, { "h", NS_H }, { "m", NS_M }, { "s", NS_S },
		{ "ms", NS_MS }, { "us", NS_US }, { "ns", 1 },
	};
	size_t len = 0;
	if (n)
		buf[0] = '\0';
	uint64_t v = (uint64_t)ns;
	if (ns < 0) {
		put(buf, n, &len, "-");
		v = -v;
	}
	if (!v) {
		put(buf, n, &len, "0s");
		return buf;
	}
	for (size_t i = 0; i < ARRAY_SIZE(parts); i++) {
		uint64_t q = v / parts[i].ns;
		v %= parts[i].ns;
		if (q)
			put(buf, n, &len, "%" PRIu64 "%s", q, parts[i].name);
	}
	return buf;
}

/* ---- sizes ------------------------------------------------------------ */

/* Binary units by letter; index i means 1024^(i+1). */
static const char size_letters[] = "kmgtpe";
static const char size_names[] = "kMGTPE";

int size_parse(const char *s, uint64_t *bytes, struct strbuf *err)
{
	static const char what[] = "size";
	if (!*s) {
		fail(err, what, s, "empty");
		return -1;
	}
	if (has_blank(s)) {
		fail(err, what, s, "blanks are not allowed");
		return -1;
	}
	const char *p = s;
	struct number num;
	const char *why;
	if (read_number(&p, &num, &why) < 0) {
		fail(err, what, s, "%s", why);
		return -1;
	}
	uint64_t unit = 1;
	if (*p && !(lower(p[0]) == 'b' && !p[1])) {
		const char *l = strchr(size_letters, lower(p[0]));
		const char *rest = p + 1;
		if (!l || !*l || !(!*rest || (lower(rest[0]) == 'b' && !rest[1]) ||
				   (lower(rest[0]) == 'i' && lower(rest[1]) == 'b' && !rest[2]))) {
			fail(err, what, s, "unknown unit '%s' (use k, M, G, T, P or E)", p);
			return -1;
		}
		unit = 1ULL << (10 * (l - size_letters + 1));
	}
	uint64_t v;
	if (scale_number(&num, unit, &v) < 0) {
		fail(err, what, s, "out of range (the largest is %" PRIu64 ")", UINT64_MAX);
		return -1;
	}
	*bytes = v;
	return 0;
}

char *size_format(uint64_t bytes, char *buf, size_t n)
{
	size_t len = 0;
	if (n)
		buf[0] = '\0';
	for (int i = (int)sizeof(size_names) - 2; i >= 0; i--) {
		uint64_t unit = 1ULL << (10 * (i + 1));
		uint64_t quarter = unit / 4;
		if (bytes < unit || bytes % quarter)
			continue;
		uint64_t q = bytes / unit, r = bytes % unit / quarter;
		static const char *const frac[] = { "", ".25", ".5", ".75" };
		put(buf, n, &len, "%" PRIu64 "%s%c", q, frac[r], size_names[i]);
		return buf;
	}
	put(buf, n, &len, "%" PRIu64, bytes);
	return buf;
}

/* ---- plain numbers ---------------------------------------------------- */

int num_parse_int(const char *s, long long min, long long max, long long *out,
		  struct strbuf *err)
{
	const char *d = s + (*s == '-' || *s == '+');
	if (!is_digit(*d)) {
		fail(err, "integer", s, "expected digits");
		return -1;
	}
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (*end) {
		fail(err, "integer", s, "unexpected '%s'", end);
		return -1;
	}
	if (errno == ERANGE || v < min || v > max) {
		if (err)
			sb_addf(err, "must be %lld..%lld, got %s", min, max, s);
		return -1;
	}
	*out = v;
	return 0;
}

int num_parse_double(const char *s, double *out, struct strbuf *err)
{
	/* strtod also takes blanks, hex, inf and nan: allow only a decimal. */
	const char *p = s + (*s == '-' || *s == '+');
	size_t mant = 0;
	while (is_digit(*p)) {
		p++;
		mant++;
	}
	if (*p == '.') {
		p++;
		while (is_digit(*p)) {
			p++;
			mant++;
		}
	}
	if (mant && (*p == 'e' || *p == 'E')) {
		p++;
		p += *p == '-' || *p == '+';
		if (!is_digit(*p)) {
			fail(err, "number", s, "expected digits in the exponent");
			return -1;
		}
		while (is_digit(*p))
			p++;
	}
	if (!mant) {
		fail(err, "number", s, "expected digits");
		return -1;
	}
	if (*p) {
		fail(err, "number", s, "unexpected '%s'", p);
		return -1;
	}
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end != p) {
		fail(err, "number", s, "not a decimal number");
		return -1;
	}
	if (errno == ERANGE && isinf(v)) {
		fail(err, "number", s, "out of range");
		return -1;
	}
	*out = v;
	return 0;
}
