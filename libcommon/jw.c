/*
 * jw.c: streaming JSON writer (see jw.h for the escaping and number
 * rules). Strings are scanned with a byte-class table and copied in runs,
 * so plain ASCII costs one table lookup per byte; numbers avoid printf
 * whenever an exact integer form exists. This is what keeps record output
 * several times faster than building a cJSON tree and printing it.
 */
#include "common.h"
#include <float.h>
#include <math.h>

#include "jw.h"

/* Byte classes: 0 copy as is, 1 needs a backslash escape, 2 starts or
 * continues a multi-byte sequence that must be validated. */
static const unsigned char byte_class[256] = {
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
};

static const char hexdig[] = "0123456789abcdef";

/*
 * Length of the well-formed UTF-8 sequence starting at p (at most n bytes
 * available), or 0 if the lead byte does not start one (Unicode table 3-7).
 */
static size_t utf8_seq_len(const unsigned char *p, size_t n)
{
	unsigned char c = p[0];
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (n < len)
		return 0;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return len;
}

void jw_escape(struct strbuf *sb, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *end = p + len;
	/* Worst case per input byte is 6 output bytes (\u00XX); reserve for
	 * the common case and grow when an escape needs more. */
	sb_grow(sb, len + 2);
	sb->buf[sb->len++] = '"';
	while (p < end) {
		const unsigned char *run = p;
		while (p < end && byte_class[*p] == 0)
			p++;
		if (p > run) {
			size_t n = (size_t)(p - run);
			sb_grow(sb, n + 1);
			memcpy(sb->buf + sb->len, run, n);
			sb->len += n;
		}
		if (p == end)
			break;
		sb_grow(sb, 7);
		char *o = sb->buf + sb->len;
		unsigned char c = *p;
		if (byte_class[c] == 1) {
			o[0] = '\\';
			switch (c) {
			case '"': o[1] = '"'; sb->len += 2; break;
			case '\\': o[1] = '\\'; sb->len += 2; break;
			case '\b': o[1] = 'b'; sb->len += 2; break;
			case '\f': o[1] = 'f'; sb->len += 2; break;
			case '\n': o[1] = 'n'; sb->len += 2; break;
			case '\r': o[1] = 'r'; sb->len += 2; break;
			case '\t': o[1] = 't'; sb->len += 2; break;
			default:
				o[1] = 'u';
				o[2] = '0';
				o[3] = '0';
				o[4] = hexdig[c >> 4];
				o[5] = hexdig[c & 15];
				sb->len += 6;
			}
			p++;
			continue;
		}
		size_t n = utf8_seq_len(p, (size_t)(end - p));
		if (n) {
			memcpy(o, p, n);
			sb->len += n;
			p += n;
		} else {
			memcpy(o, "\xef\xbf\xbd", 3); /* U+FFFD */
			sb->len += 3;
			p++;
		}
	}
	sb_grow(sb, 1);
	sb->buf[sb->len++] = '"';
	sb->buf[sb->len] = '\0';
}

static const char digit_pairs[201] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

static size_t format_u64(uint64_t v, char *buf)
{
	char tmp[24];
	char *p = tmp + sizeof(tmp);
	while (v >= 100) {
		unsigned i = (unsigned)(v % 100) * 2;
		v /= 100;
		*--p = digit_pairs[i + 1];
		*--p = digit_pairs[i];
	}
	if (v >= 10) {
		unsigned i = (unsigned)v * 2;
		*--p = digit_pairs[i + 1];
		*--p = digit_pairs[i];
	} else
		*--p = (char)('0' + v);
	size_t n = (size_t)(tmp + sizeof(tmp) - p);
	memcpy(buf, p, n);
	buf[n] = '\0';
	return n;
}

size_t jw_format_int(int64_t v, char *buf)
{
	if (v < 0) {
		buf[0] = '-';
		return 1 + format_u64((uint64_t)0 - (uint64_t)v, buf + 1);
	}
	return format_u64((uint64_t)v, buf);
}

static const double pow10_tab[] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6 };

/*
 * Fixed-point fast path for values like 12.25 or 0.001: find the least k
 * (1..6) such that m = round(v * 10^k) gives back v as m / 10^k. Both m
 * (below 2^53) and 10^k are exact doubles, so the division is correctly
 * rounded: it yields exactly the double strtod reads from the decimal
 * text, and the least k is the shortest text. Limited to 1e-4 <= |v| so
 * the result is what %g would choose (fixed, not exponent, notation).
 */
static size_t format_fixed(double v, char *buf)
{
	double a = fabs(v);
	if (a < 1e-4 || a >= 1e9)
		return 0;
	for (int k = 1; k <= 6; k++) {
		double m = nearbyint(a * pow10_tab[k]);
		if (m / pow10_tab[k] != a)
			continue;
		uint64_t um = (uint64_t)m;
		uint64_t scale = (uint64_t)pow10_tab[k];
		char *o = buf;
		if (v < 0)
			*o++ = '-';
		o += format_u64(um / scale, o);
		*o++ = '.';
		uint64_t frac = um % scale;
		for (int d = k - 1; d >= 0; d--) {
			o[d] = (char)('0' + frac % 10);
			frac /= 10;
		}
		o += k;
		*o = '\0';
		return (size_t)(o - buf);
	}
	return 0;
}

size_t jw_format_double(double v, char *buf)
{
	if (!isfinite(v))
		return 0;
	if (fabs(v) < 9007199254740992.0 && v == trunc(v))
		return jw_format_int((int64_t)v, buf);
	size_t fixed = format_fixed(v, buf);
	if (fixed)
		return fixed;
	/* A normal double is identified by 15 significant digits, so the
	 * shortest form has 15 or more digits only when nothing shorter reads
	 * back, and %.15g already drops trailing zeros. Subnormals have less
	 * precision and may need fewer digits: search them from one. */
	int prec = fabs(v) < DBL_MIN ? 1 : 15;
	for (; prec <= 17; prec++) {
		int n = snprintf(buf, 32, "%.*g", prec, v);
		if (prec == 17 || strtod(buf, NULL) == v)
			return (size_t)n;
	}
	return 0; /* not reached */
}

static void misuse(const char *what)
{
	fprintf(stderr, "%s: jw: %s\n", ofs_progname, what);
	abort();
}

/* Put the separator a value needs at the current depth. */
static inline void before_value(struct jw *w)
{
	int d = w->depth;
	if (w->in_obj[d]) {
		if (!w->after_key)
			misuse("value written where an object key is due");
		w->after_key = false;
	} else if (d > 0) {
		if (!w->first[d])
			sb_addch(w->sb, ',');
		w->first[d] = false;
	}
}

void jw_init(struct jw *w, struct strbuf *sb)
{
	memset(w, 0, sizeof(*w));
	w->sb = sb;
}

bool jw_done(const struct jw *w)
{
	return w->depth == 0 && !w->after_key;
}

static void open_nested(struct jw *w, char c, bool obj)
{
	before_value(w);
	if (w->depth >= JW_MAX_DEPTH)
		misuse("nesting too deep");
	sb_addch(w->sb, c);
	w->depth++;
	w->in_obj[w->depth] = obj;
	w->first[w->depth] = true;
}

static void close_nested(struct jw *w, char c, bool obj)
{
	if (w->depth == 0 || w->in_obj[w->depth] != obj || w->after_key)
		misuse("unbalanced end of object or array");
	sb_addch(w->sb, c);
	w->depth--;
}

void jw_obj_begin(struct jw *w) { open_nested(w, '{', true); }
void jw_obj_end(struct jw *w) { close_nested(w, '}', true); }
void jw_arr_begin(struct jw *w) { open_nested(w, '[', false); }
void jw_arr_end(struct jw *w) { close_nested(w, ']', false); }

void jw_keyn(struct jw *w, const char *key, size_t len)
{
	int d = w->depth;
	if (!w->in_obj[d] || w->after_key)
		misuse("key written outside an object or twice");
	if (!w->first[d])
		sb_addch(w->sb, ',');
	w->first[d] = false;
	jw_escape(w->sb, key, len);
	sb_addch(w->sb, ':');
	w->after_key = true;
}

void jw_key(struct jw *w, const char *key)
{
	jw_keyn(w, key, strlen(key));
}

void jw_strn(struct jw *w, const char *s, size_t len)
{
	before_value(w);
	jw_escape(w->sb, s, len);
}

void jw_str(struct jw *w, const char *s)
{
	if (!s) {
		jw_null(w);
		return;
	}
	jw_strn(w, s, strlen(s));
}

void jw_int(struct jw *w, int64_t v)
{
	before_value(w);
	sb_grow(w->sb, 24);
	w->sb->len += jw_format_int(v, w->sb->buf + w->sb->len);
}

void jw_uint(struct jw *w, uint64_t v)
{
	before_value(w);
	sb_grow(w->sb, 24);
	w->sb->len += format_u64(v, w->sb->buf + w->sb->len);
}

void jw_int_str(struct jw *w, int64_t v)
{
	before_value(w);
	sb_grow(w->sb, 26);
	char *o = w->sb->buf + w->sb->len;
	o[0] = '"';
	size_t n = jw_format_int(v, o + 1);
	o[n + 1] = '"';
	o[n + 2] = '\0';
	w->sb->len += n + 2;
}

void jw_double(struct jw *w, double v)
{
	before_value(w);
	sb_grow(w->sb, 40);
	size_t n = jw_format_double(v, w->sb->buf + w->sb->len);
	if (!n) {
		sb_addstr(w->sb, "null");
		return;
	}
	w->sb->len += n;
}

void jw_bool(struct jw *w, bool v)
{
	before_value(w);
	if (v)
		sb_add(w->sb, "true", 4);
	else
		sb_add(w->sb, "false", 5);
}

void jw_null(struct jw *w)
{
	before_value(w);
	sb_add(w->sb, "null", 4);
}

void jw_raw(struct jw *w, const char *json, size_t len)
{
	before_value(w);
	sb_add(w->sb, json, len);
}

void jw_cjson(struct jw *w, const cJSON *item)
{
	if (!item) {
		jw_null(w);
		return;
	}
	switch (item->type & 0xff) {
	case cJSON_False: jw_bool(w, false); break;
	case cJSON_True: jw_bool(w, true); break;
	case cJSON_NULL: jw_null(w); break;
	case cJSON_Number: jw_double(w, item->valuedouble); break;
	case cJSON_String: jw_str(w, item->valuestring ? item->valuestring : ""); break;
	case cJSON_Raw:
		if (item->valuestring)
			jw_raw(w, item->valuestring, strlen(item->valuestring));
		else
			jw_null(w);
		break;
	case cJSON_Array:
		jw_arr_begin(w);
		for (const cJSON *c = item->child; c; c = c->next)
			jw_cjson(w, c);
		jw_arr_end(w);
		break;
	case cJSON_Object:
		jw_obj_begin(w);
		for (const cJSON *c = item->child; c; c = c->next) {
			jw_key(w, c->string ? c->string : "");
			jw_cjson(w, c);
		}
		jw_obj_end(w);
		break;
	default:
		jw_null(w);
	}
}

void jw_kv_str(struct jw *w, const char *key, const char *s)
{
	jw_key(w, key);
	jw_str(w, s);
}

void jw_kv_int(struct jw *w, const char *key, int64_t v)
{
	jw_key(w, key);
	jw_int(w, v);
}

void jw_kv_double(struct jw *w, const char *key, double v)
{
	jw_key(w, key);
	jw_double(w, v);
}

void jw_kv_bool(struct jw *w, const char *key, bool v)
{
	jw_key(w, key);
	jw_bool(w, v);
}
