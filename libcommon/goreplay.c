/*
 * goreplay.c: parsing one GoReplay record (format in goreplay.h). Pure
 * and allocation-bounded by its input: no I/O, so the fuzz target
 * tests/fuzz/fuzz_replay_goreplay.c drives it with arbitrary bytes.
 */
#include "common.h"
#include <ctype.h>

#include "goreplay.h"

bool gor_is_separator(const char *line, size_t len)
{
	if (len && line[len - 1] == '\r')
		len--;
	return len == GOR_SEPARATOR_LEN && !memcmp(line, GOR_SEPARATOR, GOR_SEPARATOR_LEN);
}

void gor_record_release(struct gor_record *r)
{
	free(r->method);
	free(r->target);
	for (size_t i = 0; i < r->nheaders; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	free(r->headers);
	sb_release(&r->body);
	memset(r, 0, sizeof(*r));
	sb_init(&r->body, 0);
	r->latency_ns = -1;
}

/* A cursor over the record, line by line. */
struct cur {
	const char *p, *end;
	size_t line; /* of the next line to take */
};

/* The next line (without "\n" or "\r\n"); false at the end. */
static bool next_line(struct cur *c, const char **s, size_t *n)
{
	if (c->p >= c->end)
		return false;
	const char *nl = memchr(c->p, '\n', (size_t)(c->end - c->p));
	const char *e = nl ? nl : c->end;
	*s = c->p;
	*n = (size_t)(e - c->p);
	if (*n && (*s)[*n - 1] == '\r')
		(*n)--;
	c->p = nl ? nl + 1 : c->end;
	c->line++;
	return true;
}

static bool parse_int64(const char *s, size_t n, bool neg_ok, int64_t *out)
{
	bool neg = false;
	if (n && s[0] == '-' && neg_ok) {
		neg = true;
		s++;
		n--;
	}
	if (!n || n > 19)
		return false;
	int64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		if (v > (INT64_MAX - (s[i] - '0')) / 10)
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = neg ? -v : v;
	return true;
}

static int parse_meta(const char *s, size_t n, struct gor_record *r, struct strbuf *err)
{
	const char *f[5];
	size_t fl[5];
	size_t nf = 0;
	for (size_t i = 0; i < n;) {
		while (i < n && s[i] == ' ')
			i++;
		if (i >= n)
			break;
		size_t j = i;
		while (j < n && s[j] != ' ')
			j++;
		if (nf == 5)
			break;
		f[nf] = s + i;
		fl[nf++] = j - i;
		i = j;
	}
	if (nf < 3 || nf > 4 || fl[0] != 1 || f[0][0] < '1' || f[0][0] > '3') {
		sb_addstr(err, "bad header line: expected TYPE ID TIMESTAMP [LATENCY] with TYPE 1, 2 or 3");
		return -1;
	}
	r->type = f[0][0] - '0';
	if (!fl[1] || fl[1] > GOR_MAX_ID) {
		sb_addf(err, "bad id: expected 1 to %d hex digits", GOR_MAX_ID);
		return -1;
	}
	for (size_t i = 0; i < fl[1]; i++) {
		if (!isxdigit((unsigned char)f[1][i])) {
			sb_addstr(err, "bad id: expected hex digits");
			return -1;
		}
		r->id[i] = (char)tolower((unsigned char)f[1][i]);
	}
	r->id[fl[1]] = '\0';
	if (!parse_int64(f[2], fl[2], false, &r->ts_ns)) {
		sb_addstr(err, "bad timestamp: expected epoch nanoseconds");
		return -1;
	}
	if (nf == 4) {
		if (!parse_int64(f[3], fl[3], true, &r->latency_ns)) {
			sb_addstr(err, "bad latency: expected nanoseconds");
			return -1;
		}
		if (r->latency_ns < 0)
			r->latency_ns = -1;
	}
	return 0;
}

static int parse_start(const char *s, size_t n, struct gor_record *r, struct strbuf *err)
{
	if (r->type == GOR_REQUEST) {
		const char *sp1 = memchr(s, ' ', n);
		const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(s + n - sp1 - 1)) : NULL;
		if (!sp1 || !sp2 || sp1 == s || sp2 == sp1 + 1 || (size_t)(s + n - sp2 - 1) < 5 ||
		    memcmp(sp2 + 1, "HTTP/", 5)) {
			sb_addstr(err, "bad request line: expected METHOD TARGET HTTP/x.y");
			return -1;
		}
		for (const char *p = s; p < sp1; p++)
			if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_') {
				sb_addstr(err, "bad request line: bad method");
				return -1;
			}
		r->method = xstrndup(s, (size_t)(sp1 - s));
		r->target = xstrndup(sp1 + 1, (size_t)(sp2 - sp1 - 1));
		if (memchr(r->target, '\0', (size_t)(sp2 - sp1 - 1)) || strchr(r->target, ' ')) {
			sb_addstr(err, "bad request line: bad target");
			return -1;
		}
		return 0;
	}
	if (n < 12 || memcmp(s, "HTTP/", 5) || !memchr(s, ' ', n)) {
		sb_addstr(err, "bad status line: expected HTTP/x.y STATUS REASON");
		return -1;
	}
	const char *sp = memchr(s, ' ', n);
	size_t rest = (size_t)(s + n - sp - 1);
	if (rest < 3 || !isdigit((unsigned char)sp[1]) || !isdigit((unsigned char)sp[2]) ||
	    !isdigit((unsigned char)sp[3]) || (rest > 3 && sp[4] != ' ') || sp[1] == '0') {
		sb_addstr(err, "bad status line: expected a three-digit status");
		return -1;
	}
	r->status = (sp[1] - '0') * 100 + (sp[2] - '0') * 10 + (sp[3] - '0');
	return 0;
}

static void add_header(struct gor_record *r, const char *name, size_t nlen, const char *v,
		       size_t vlen, size_t *alloc)
{
	while (vlen && (*v == ' ' || *v == '\t'))
		v++, vlen--;
	while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;
	ALLOC_GROW(r->headers, r->nheaders + 1, *alloc);
	r->headers[r->nheaders].name = xstrndup(name, nlen);
	r->headers[r->nheaders].value = xstrndup(v, vlen);
	r->nheaders++;
}

static const char *header(const struct gor_record *r, const char *name)
{
	for (size_t i = 0; i < r->nheaders; i++)
		if (!strcasecmp(r->headers[i].name, name))
			return r->headers[i].value;
	return NULL;
}

static void drop_header(struct gor_record *r, const char *name)
{
	size_t j = 0;
	for (size_t i = 0; i < r->nheaders; i++) {
		if (!strcasecmp(r->headers[i].name, name)) {
			free(r->headers[i].name);
			free(r->headers[i].value);
			continue;
		}
		r->headers[j++] = r->headers[i];
	}
	r->nheaders = j;
}

/* Whether a Transfer-Encoding value names chunked (any case). */
static bool has_chunked(const char *te)
{
	for (; *te; te++)
		if (!strncasecmp(te, "chunked", 7))
			return true;
	return false;
}

/* Decode a chunked body into out; -1 on bad framing. A body cut short
 * (GoReplay may stop capturing) keeps what arrived. */
static int dechunk(const char *p, size_t n, struct strbuf *out)
{
	const char *end = p + n;
	for (;;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			return p == end ? 0 : -1;
		uint64_t size = 0;
		const char *q = p;
		int digits = 0;
		for (; q < nl && isxdigit((unsigned char)*q); q++, digits++) {
			if (digits >= 15)
				return -1;
			int c = tolower((unsigned char)*q);
			size = size * 16 + (uint64_t)(isdigit(c) ? c - '0' : c - 'a' + 10);
		}
		if (!digits || (q < nl && *q != ';' && *q != '\r' && *q != ' ' && *q != '\t'))
			return -1;
		p = nl + 1;
		if (size == 0)
			return 0; /* trailers ignored */
		size_t avail = (size_t)(end - p);
		if (size > avail) {
			sb_add(out, p, avail);
			return 0;
		}
		sb_add(out, p, (size_t)size);
		p += size;
		if (p < end && *p == '\r')
			p++;
		if (p < end && *p == '\n')
			p++;
		else if (p < end)
			return -1;
	}
}

int gor_parse(const char *data, size_t len, struct gor_record *r, struct strbuf *err,
	      size_t *err_line)
{
	memset(r, 0, sizeof(*r));
	sb_init(&r->body, 0);
	r->latency_ns = -1;
	struct cur c = { data, data + len, 1 };
	const char *s;
	size_t n, alloc = 0;
	*err_line = 1;
	if (!next_line(&c, &s, &n)) {
		sb_addstr(err, "empty record");
		return -1;
	}
	if (parse_meta(s, n, r, err))
		return -1;
	if (!next_line(&c, &s, &n)) {
		sb_addstr(err, "no HTTP message after the header line");
		return -1;
	}
	*err_line = c.line - 1;
	if (parse_start(s, n, r, err))
		return -1;
	for (;;) {
		*err_line = c.line;
		if (!next_line(&c, &s, &n))
			break; /* a head cut short: keep what came */
		if (!n)
			break;
		const char *colon = memchr(s, ':', n);
		if (!colon || colon == s) {
			sb_addstr(err, "bad header field: expected NAME: VALUE");
			return -1;
		}
		for (const char *p = s; p < colon; p++)
			if ((unsigned char)*p <= ' ' || *p == 127) {
				sb_addstr(err, "bad header field: bad name");
				return -1;
			}
		add_header(r, s, (size_t)(colon - s), colon + 1, (size_t)(s + n - colon - 1), &alloc);
	}
	const char *body = c.p;
	size_t blen = (size_t)(c.end - c.p);
	const char *te = header(r, "transfer-encoding");
	if (te && has_chunked(te)) {
		if (dechunk(body, blen, &r->body)) {
			*err_line = c.line;
			sb_addstr(err, "bad chunked body");
			return -1;
		}
		drop_header(r, "transfer-encoding");
		return 0;
	}
	const char *cl = header(r, "content-length");
	int64_t want;
	if (cl && parse_int64(cl, strlen(cl), false, &want) && (uint64_t)want < blen)
		blen = (size_t)want;
	sb_add(&r->body, body, blen);
	return 0;
}
