/*
 * vscan.c: validate a JSON Lines record and locate key values in one
 * pass, with no allocation (see vscan.h for why).
 *
 * A recursive-descent walk over the bytes. Each call carries a bit mask
 * of the pointers whose path the current value lies on; an object member
 * or array element keeps the bits whose next reference token it matches,
 * and a value reached at the full length of a pointer is recorded. The
 * first occurrence of a member wins, as in cJSON's lookup, at every
 * level: a pointer never walks into a repeated member.
 */
#include "common.h"

#include "vscan.h"

struct scan {
	const char *s, *p, *end;
	const struct vptr *ptrs;
	size_t nptrs;
	struct vspan *spans;
	char *why;
	size_t whyn;
	struct strbuf name; /* an unescaped member name, when one has escapes */
};

int vptr_parse(struct vptr *p, const char *text, struct strbuf *err)
{
	memset(p, 0, sizeof(*p));
	if (*text && *text != '/') {
		if (err)
			sb_addf(err, "invalid JSON pointer '%s': must start with '/'", text);
		return -1;
	}
	p->text = xstrdup(text);
	const char *q = text;
	while (*q == '/') {
		q++;
		struct strbuf seg = SB_INIT;
		while (*q && *q != '/') {
			if (*q == '~') {
				if (q[1] == '0')
					sb_addch(&seg, '~');
				else if (q[1] == '1')
					sb_addch(&seg, '/');
				else {
					if (err)
						sb_addf(err, "invalid JSON pointer '%s': '~' must be followed by 0 or 1", text);
					sb_release(&seg);
					vptr_free(p);
					return -1;
				}
				q += 2;
			} else {
				sb_addch(&seg, *q++);
			}
		}
		p->segs = xreallocarray(p->segs, p->n + 1, sizeof(*p->segs));
		p->lens = xreallocarray(p->lens, p->n + 1, sizeof(*p->lens));
		p->lens[p->n] = seg.len;
		p->segs[p->n++] = sb_detach(&seg, NULL);
	}
	return 0;
}

bool vptr_index(const struct vptr *p, size_t i, size_t *idx)
{
	const char *seg = p->segs[i];
	size_t len = p->lens[i];
	if (!len || len > 9 || (len > 1 && seg[0] == '0'))
		return false;
	size_t v = 0;
	for (size_t k = 0; k < len; k++) {
		if (seg[k] < '0' || seg[k] > '9')
			return false;
		v = v * 10 + (size_t)(seg[k] - '0');
	}
	*idx = v;
	return true;
}

void vptr_free(struct vptr *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->segs[i]);
	free(p->segs);
	free(p->lens);
	free(p->text);
	memset(p, 0, sizeof(*p));
}

static int fail_at(struct scan *sc, const char *at)
{
	size_t col = (size_t)(at - sc->s) + 1;
	if (at >= sc->end) {
		snprintf(sc->why, sc->whyn, "invalid JSON: unexpected end of line at column %zu", col);
		return -1;
	}
	unsigned char c = (unsigned char)*at;
	if (c >= 0x20 && c < 0x7f)
		snprintf(sc->why, sc->whyn, "invalid JSON at column %zu near '%c'", col, c);
	else
		snprintf(sc->why, sc->whyn, "invalid JSON at column %zu near byte 0x%02x", col, c);
	return -1;
}

static void skip_ws(struct scan *sc)
{
	while (sc->p < sc->end && (*sc->p == ' ' || *sc->p == '\t' || *sc->p == '\n' || *sc->p == '\r'))
		sc->p++;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The length of the well-formed UTF-8 sequence at p (of at most n bytes), 0 if bad. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	unsigned c = p[0];
	size_t len;
	unsigned min, cp;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, cp = c & 0x1f, min = 0x80;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, cp = c & 0x0f, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, cp = c & 0x07, min = 0x10000;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static unsigned hex4(const char *p);

/* A string at sc->p; *has_esc tells whether it holds escapes. */
static int scan_string(struct scan *sc, bool *has_esc)
{
	const char *p = sc->p + 1, *end = sc->end;
	*has_esc = false;
	for (;;) {
		/* The common run of plain ASCII. */
		while (p < end && (unsigned char)*p >= 0x20 && *p != '"' && *p != '\\' &&
		       (unsigned char)*p < 0x80)
			p++;
		if (p >= end)
			return fail_at(sc, end);
		unsigned char c = (unsigned char)*p;
		if (c == '"') {
			sc->p = p + 1;
			return 0;
		}
		if (c == '\\') {
			*has_esc = true;
			if (p + 1 >= end)
				return fail_at(sc, end);
			char e = p[1];
			if (e == 'u') {
				for (int i = 2; i < 6; i++)
					if (p + i >= end || hexval((unsigned char)p[i]) < 0)
						return fail_at(sc, p + i < end ? p + i : end);
				unsigned cp = hex4(p + 2);
				/* UTF-16 surrogates come in pairs, high then low. */
				if (cp >= 0xdc00 && cp <= 0xdfff)
					return fail_at(sc, p);
				if (cp >= 0xd800 && cp <= 0xdbff) {
					if (p + 12 > end || p[6] != '\\' || p[7] != 'u')
						return fail_at(sc, p);
					for (int i = 8; i < 12; i++)
						if (hexval((unsigned char)p[i]) < 0)
							return fail_at(sc, p + i);
					unsigned lo = hex4(p + 8);
					if (lo < 0xdc00 || lo > 0xdfff)
						return fail_at(sc, p);
					p += 6;
				}
				p += 6;
			} else if (strchr("\"\\/bfnrt", e) && e) {
				p += 2;
			} else {
				return fail_at(sc, p + 1);
			}
			continue;
		}
		if (c < 0x20)
			return fail_at(sc, p);
		size_t n = utf8_len((const unsigned char *)p, (size_t)(end - p));
		if (!n) {
			snprintf(sc->why, sc->whyn, "invalid UTF-8 at column %zu", (size_t)(p - sc->s) + 1);
			return -1;
		}
		p += n;
	}
}

static int scan_number(struct scan *sc)
{
	const char *p = sc->p, *end = sc->end;
	if (p < end && *p == '-')
		p++;
	if (p >= end)
		return fail_at(sc, p);
	if (*p == '0') {
		p++;
	} else if (*p >= '1' && *p <= '9') {
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	} else {
		return fail_at(sc, p);
	}
	if (p < end && *p == '.') {
		p++;
		if (p >= end || *p < '0' || *p > '9')
			return fail_at(sc, p);
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (p >= end || *p < '0' || *p > '9')
			return fail_at(sc, p);
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	sc->p = p;
	return 0;
}

static int scan_literal(struct scan *sc, const char *word)
{
	size_t n = strlen(word);
	for (size_t i = 0; i < n; i++)
		if (sc->p + i >= sc->end || sc->p[i] != word[i])
			return fail_at(sc, sc->p + i);
	sc->p += n;
	return 0;
}

/* Does token i of p name array element idx? */
static bool seg_is_index(const struct vptr *p, size_t i, size_t idx)
{
	size_t v;
	return vptr_index(p, i, &v) && v == idx;
}

/* After '{' or '[' (at sc->p): true if the container is empty (then
 * consumed up to close). */
static bool open_empty(struct scan *sc, char close)
{
	sc->p++;
	skip_ws(sc);
	if (sc->p < sc->end && *sc->p == close) {
		sc->p++;
		return true;
	}
	return false;
}

/* After a member or element: 1 at ',' (more follow), 0 at close (the end
 * of the container), -1 at anything else; the separator is consumed. */
static int next_or_close(struct scan *sc, char close)
{
	skip_ws(sc);
	if (sc->p < sc->end && *sc->p == ',') {
		sc->p++;
		return 1;
	}
	if (sc->p < sc->end && *sc->p == close) {
		sc->p++;
		return 0;
	}
	return fail_at(sc, sc->p);
}

static int scan_value(struct scan *sc, unsigned mask, size_t depth);

static void record_spans(struct scan *sc, unsigned mask, size_t depth, const char *start,
			 char kind)
{
	for (size_t i = 0; i < sc->nptrs; i++)
		if ((mask & (1u << i)) && sc->ptrs[i].n == depth && !sc->spans[i].p) {
			sc->spans[i].p = start;
			sc->spans[i].len = (size_t)(sc->p - start);
			sc->spans[i].kind = kind;
		}
}

static int scan_object(struct scan *sc, unsigned mask, size_t depth)
{
	if (open_empty(sc, '}'))
		return 0;
	/* Pointers already led into an earlier member of this object: a
	 * repeated name leads nowhere, whatever the first one held. */
	unsigned taken = 0;
	for (;;) {
		skip_ws(sc);
		if (sc->p >= sc->end || *sc->p != '"')
			return fail_at(sc, sc->p);
		const char *name = sc->p;
		bool esc;
		if (scan_string(sc, &esc) < 0)
			return -1;
		unsigned child = 0;
		if (mask) {
			const char *nm = name + 1;
			size_t nlen = (size_t)(sc->p - name) - 2;
			if (esc) {
				sb_reset(&sc->name);
				vscan_unescape(name, (size_t)(sc->p - name), &sc->name);
				nm = sc->name.buf;
				nlen = sc->name.len;
			}
			for (size_t i = 0; i < sc->nptrs; i++)
				if ((mask & (1u << i)) && sc->ptrs[i].n > depth &&
				    sc->ptrs[i].lens[depth] == nlen &&
				    memcmp(sc->ptrs[i].segs[depth], nm, nlen) == 0)
					child |= 1u << i;
			child &= ~taken;
			taken |= child;
		}
		skip_ws(sc);
		if (sc->p >= sc->end || *sc->p != ':')
			return fail_at(sc, sc->p);
		sc->p++;
		skip_ws(sc);
		if (scan_value(sc, child, depth + 1) < 0)
			return -1;
		int more = next_or_close(sc, '}');
		if (more <= 0)
			return more;
	}
}

static int scan_array(struct scan *sc, unsigned mask, size_t depth)
{
	if (open_empty(sc, ']'))
		return 0;
	for (size_t idx = 0;; idx++) {
		skip_ws(sc);
		unsigned child = 0;
		for (size_t i = 0; mask && i < sc->nptrs; i++)
			if ((mask & (1u << i)) && sc->ptrs[i].n > depth &&
			    seg_is_index(&sc->ptrs[i], depth, idx))
				child |= 1u << i;
		if (scan_value(sc, child, depth + 1) < 0)
			return -1;
		int more = next_or_close(sc, ']');
		if (more <= 0)
			return more;
	}
}

static int scan_value(struct scan *sc, unsigned mask, size_t depth)
{
	if (depth > VSCAN_MAX_DEPTH) {
		snprintf(sc->why, sc->whyn, "nesting deeper than %d", VSCAN_MAX_DEPTH);
		return -1;
	}
	if (sc->p >= sc->end)
		return fail_at(sc, sc->p);
	const char *start = sc->p;
	char kind;
	int rc;
	bool esc;
	switch (*sc->p) {
	case '{':
		kind = 'o';
		rc = scan_object(sc, mask, depth);
		break;
	case '[':
		kind = 'a';
		rc = scan_array(sc, mask, depth);
		break;
	case '"':
		kind = 's';
		rc = scan_string(sc, &esc);
		break;
	case 't':
		kind = 't';
		rc = scan_literal(sc, "true");
		break;
	case 'f':
		kind = 'f';
		rc = scan_literal(sc, "false");
		break;
	case 'n':
		kind = 'z';
		rc = scan_literal(sc, "null");
		break;
	default:
		kind = 'n';
		rc = scan_number(sc);
		break;
	}
	if (rc < 0)
		return -1;
	if (mask)
		record_spans(sc, mask, depth, start, kind);
	return 0;
}

int vscan_line(const char *s, size_t len, const struct vptr *ptrs, size_t nptrs,
	       struct vspan *spans, char *why, size_t whyn)
{
	struct scan sc = { s, s, s + len, ptrs, nptrs, spans, why, whyn, SB_INIT };
	unsigned mask = nptrs >= 32 ? ~0u : (1u << nptrs) - 1;
	for (size_t i = 0; i < nptrs; i++)
		spans[i].p = NULL;
	skip_ws(&sc);
	int rc;
	if (sc.p < sc.end && *sc.p != '{' && *sc.p != '"' && *sc.p != '[' && *sc.p != 't' &&
	    *sc.p != 'f' && *sc.p != 'n' && *sc.p != '-' && !(*sc.p >= '0' && *sc.p <= '9')) {
		rc = fail_at(&sc, sc.p);
	} else if (sc.p < sc.end && *sc.p != '{') {
		/* A valid value that is not an object is reported as such. */
		rc = scan_value(&sc, 0, 0);
		if (rc == 0) {
			skip_ws(&sc);
			if (sc.p < sc.end) {
				snprintf(why, whyn, "trailing data after the JSON value at column %zu",
					 (size_t)(sc.p - s) + 1);
			} else {
				snprintf(why, whyn, "not a JSON object");
			}
			rc = -1;
		}
	} else {
		rc = scan_value(&sc, mask, 0);
		if (rc == 0) {
			skip_ws(&sc);
			if (sc.p < sc.end) {
				snprintf(why, whyn, "trailing data after the JSON value at column %zu",
					 (size_t)(sc.p - s) + 1);
				rc = -1;
			}
		}
	}
	sb_release(&sc.name);
	return rc;
}

static void add_utf8(struct strbuf *out, unsigned cp)
{
	if (cp < 0x80) {
		sb_addch(out, (int)cp);
	} else if (cp < 0x800) {
		sb_addch(out, (int)(0xc0 | (cp >> 6)));
		sb_addch(out, (int)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		sb_addch(out, (int)(0xe0 | (cp >> 12)));
		sb_addch(out, (int)(0x80 | ((cp >> 6) & 0x3f)));
		sb_addch(out, (int)(0x80 | (cp & 0x3f)));
	} else {
		sb_addch(out, (int)(0xf0 | (cp >> 18)));
		sb_addch(out, (int)(0x80 | ((cp >> 12) & 0x3f)));
		sb_addch(out, (int)(0x80 | ((cp >> 6) & 0x3f)));
		sb_addch(out, (int)(0x80 | (cp & 0x3f)));
	}
}

static unsigned hex4(const char *p)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++)
		v = (v << 4) | (unsigned)hexval((unsigned char)p[i]);
	return v;
}

void vscan_unescape(const char *s, size_t len, struct strbuf *out)
{
	const char *p = s + 1, *end = s + len - 1;
	while (p < end) {
		if (*p != '\\') {
			sb_addch(out, *p++);
			continue;
		}
		char e = p[1];
		p += 2;
		switch (e) {
		case 'b': sb_addch(out, '\b'); break;
		case 'f': sb_addch(out, '\f'); break;
		case 'n': sb_addch(out, '\n'); break;
		case 'r': sb_addch(out, '\r'); break;
		case 't': sb_addch(out, '\t'); break;
		case 'u': {
			unsigned cp = hex4(p);
			p += 4;
			if (cp >= 0xd800 && cp <= 0xdbff && p + 6 <= end && p[0] == '\\' && p[1] == 'u') {
				unsigned lo = hex4(p + 2);
				if (lo >= 0xdc00 && lo <= 0xdfff) {
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
					p += 6;
				}
			}
			if (cp >= 0xd800 && cp <= 0xdfff)
				cp = 0xfffd; /* a lone surrogate: not reached, scan_string rejects it */
			add_utf8(out, cp);
			break;
		}
		default: sb_addch(out, e); break;
		}
	}
}
