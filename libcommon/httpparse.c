/*
 * httpparse.c: the incremental HTTP/1.1 request parser (see httpparse.h).
 *
 * Bytes arrive from the network in arbitrary pieces, so the parser is a
 * state machine that can stop after any byte and resume on the next call.
 * Lines of the head (and chunk-size and trailer lines) are collected in
 * p->line and judged once complete; every limit is checked against the
 * position in the stream, not against the size of a piece, so the result
 * never depends on how the stream was cut (the fuzz target checks this).
 * Body bytes go straight into req.body. Strictness is deliberate: the
 * framing ambiguities request smuggling lives on (obs-fold, bare CR,
 * conflicting Content-Length, Content-Length beside Transfer-Encoding)
 * are errors, never guesses.
 */
#include "common.h"

#include "httpparse.h"

enum {
	ST_START,      /* empty lines, then the request line */
	ST_HEADERS,
	ST_BODY,       /* Content-Length body */
	ST_CHUNK_SIZE,
	ST_CHUNK_DATA,
	ST_CHUNK_CR,   /* the line end after chunk data */
	ST_CHUNK_LF,
	ST_TRAILERS,
	ST_DONE,
	ST_ERROR
};

/* Slots in p->offs. */
enum { OFF_METHOD, OFF_TARGET, OFF_PATH, OFF_QUERY, OFF_FIELDS };

#define CHUNK_LINE_MAX 1024
#define KEEP_BUFFER 8192 /* larger buffers are freed on reset */
#define PREALLOC_MAX (64 * 1024)

static bool is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool word_eq(const char *s, size_t n, const char *word)
{
	return strlen(word) == n && strncasecmp(s, word, n) == 0;
}

static void fail(struct httpd_parser *p, int status, const char *why)
{
	p->state = ST_ERROR;
	p->status = status;
	p->error = why;
}

static void set_empty(struct httpd_request *r)
{
	r->method = r->target = r->path = r->query = "";
	r->nheaders = 0;
}

void httpd_parser_init(struct httpd_parser *p, const struct httpd_limits *lim)
{
	memset(p, 0, sizeof(*p));
	if (lim)
		p->lim = *lim;
	if (!p->lim.max_headers)
		p->lim.max_headers = HTTPD_DEFAULT_MAX_HEADERS;
	if (!p->lim.max_header_bytes)
		p->lim.max_header_bytes = HTTPD_DEFAULT_MAX_HEADER_BYTES;
	if (!p->lim.max_body)
		p->lim.max_body = HTTPD_DEFAULT_MAX_BODY;
	sb_init(&p->line, 0);
	sb_init(&p->store, 0);
	sb_init(&p->req.body, 0);
	set_empty(&p->req);
	p->state = ST_START;
}

static void shrink(struct strbuf *sb)
{
	if (sb->alloc > KEEP_BUFFER)
		sb_release(sb);
	else
		sb_reset(sb);
}

void httpd_parser_reset(struct httpd_parser *p)
{
	struct httpd_parser keep = *p;
	memset(p, 0, sizeof(*p));
	p->lim = keep.lim;
	p->line = keep.line;
	p->store = keep.store;
	p->offs = keep.offs;
	p->offs_alloc = keep.offs_alloc;
	p->req.headers = keep.req.headers;
	p->headers_alloc = keep.headers_alloc;
	p->req.body = keep.req.body;
	shrink(&p->line);
	shrink(&p->store);
	shrink(&p->req.body);
	set_empty(&p->req);
	p->state = ST_START;
}

void httpd_parser_release(struct httpd_parser *p)
{
	sb_release(&p->line);
	sb_release(&p->store);
	sb_release(&p->req.body);
	free(p->offs);
	free(p->req.headers);
	memset(p, 0, sizeof(*p));
	sb_init(&p->line, 0);
	sb_init(&p->store, 0);
	sb_init(&p->req.body, 0);
	set_empty(&p->req);
}

static void store(struct httpd_parser *p, size_t slot, const char *s, size_t n)
{
	ALLOC_GROW(p->offs, slot + 1, p->offs_alloc);
	p->offs[slot] = p->store.len;
	sb_add(&p->store, s, n);
	sb_addch(&p->store, '\0');
}

/* Point the request's strings into the store (which no longer moves). */
static void fixup(struct httpd_parser *p)
{
	struct httpd_request *r = &p->req;
	set_empty(r);
	if (!p->have_reqline)
		return;
	r->method = p->store.buf + p->offs[OFF_METHOD];
	r->target = p->store.buf + p->offs[OFF_TARGET];
	r->path = p->store.buf + p->offs[OFF_PATH];
	r->query = p->store.buf + p->offs[OFF_QUERY];
	ALLOC_GROW(r->headers, p->nfields, p->headers_alloc);
	for (size_t i = 0; i < p->nfields; i++) {
		r->headers[i].name = p->store.buf + p->offs[OFF_FIELDS + 2 * i];
		r->headers[i].value = p->store.buf + p->offs[OFF_FIELDS + 2 * i + 1];
	}
	r->nheaders = p->nfields;
}

/*
 * Collect a line into p->line. Returns true once it is complete (its LF,
 * and a CR before that, removed); false when the data ran out or the
 * line broke a rule (p->state is then ST_ERROR). The bytes are charged
 * to *count, which may not exceed max.
 */
static bool take_line(struct httpd_parser *p, const char *s, size_t len, size_t *i,
		      size_t *count, size_t max, int status, const char *why)
{
	const char *start = s + *i;
	size_t avail = len - *i;
	const char *lf = memchr(start, '\n', avail);
	size_t n = lf ? (size_t)(lf - start) + 1 : avail;
	if (n > max - *count) {
		fail(p, status, why);
		return false;
	}
	*count += n;
	*i += n;
	sb_add(&p->line, start, n);
	if (!lf)
		return false;
	sb_setlen(&p->line, p->line.len - 1);
	if (p->line.len && p->line.buf[p->line.len - 1] == '\r')
		sb_setlen(&p->line, p->line.len - 1);
	if (memchr(p->line.buf, '\r', p->line.len)) {
		fail(p, 400, "bare CR in request");
		return false;
	}
	return true;
}

/* Split the request-target into path and query; false if it is not a form we serve. */
static bool split_target(struct httpd_parser *p, const char *t, size_t n, const char *method)
{
	const char *path = t, *end = t + n;
	if (n == 1 && t[0] == '*') {
		if (strcmp(method, "OPTIONS") != 0)
			return false;
		store(p, OFF_PATH, "*", 1);
		store(p, OFF_QUERY, "", 0);
		return true;
	}
	if (t[0] != '/') {
		size_t skip;
		if (n > 7 && strncasecmp(t, "http://", 7) == 0)
			skip = 7;
		else if (n > 8 && strncasecmp(t, "https://", 8) == 0)
			skip = 8;
		else
			return false;
		path = t + skip;
		while (path < end && *path != '/' && *path != '?')
			path++;
		if (path == t + skip)
			return false; /* no authority */
	}
	const char *q = memchr(path, '?', (size_t)(end - path));
	const char *pend = q ? q : end;
	if (pend == path)
		store(p, OFF_PATH, "/", 1);
	else
		store(p, OFF_PATH, path, (size_t)(pend - path));
	if (q)
		store(p, OFF_QUERY, q + 1, (size_t)(end - q - 1));
	else
		store(p, OFF_QUERY, "", 0);
	return true;
}

static void request_line(struct httpd_parser *p)
{
	const char *l = p->line.buf;
	size_t n = p->line.len, m = 0;
	if (n == 0)
		return; /* an empty line before the request is ignored */
	while (m < n && is_tchar((unsigned char)l[m]))
		m++;
	if (m == 0 || m >= n || l[m] != ' ') {
		fail(p, 400, "invalid request line");
		return;
	}
	size_t t0 = m + 1, t = t0;
	while (t < n && l[t] != ' ') {
		unsigned char c = (unsigned char)l[t];
		if (c <= 0x20 || c == 0x7f || c == '#') {
			fail(p, 400, "invalid request target");
			return;
		}
		t++;
	}
	if (t == t0 || t >= n) {
		fail(p, 400, "invalid request line");
		return;
	}
	const char *v = l + t + 1;
	size_t vlen = n - t - 1;
	if (vlen != 8 || memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9' || v[6] != '.' ||
	    v[7] < '0' || v[7] > '9') {
		fail(p, 400, "invalid http version");
		return;
	}
	if (v[5] != '1' || (v[7] != '0' && v[7] != '1')) {
		fail(p, 505, "http version not supported");
		return;
	}
	p->req.version = v[7] == '1' ? 11 : 10;
	store(p, OFF_METHOD, l, m);
	store(p, OFF_TARGET, l + t0, t - t0);
	if (!split_target(p, l + t0, t - t0, p->store.buf + p->offs[OFF_METHOD])) {
		fail(p, 400, "invalid request target");
		return;
	}
	p->have_reqline = true;
	p->state = ST_HEADERS;
}

/*
 * Check a header or trailer line: name, colon, value. Sets the name
 * length and the value's bounds (blanks trimmed); false after fail().
 */
static bool check_field(struct httpd_parser *p, const char *l, size_t n, size_t *nlen,
			size_t *v0, size_t *v1)
{
	if (is_blank(l[0])) {
		fail(p, 400, "obsolete line folding in header");
		return false;
	}
	size_t k = 0;
	while (k < n && is_tchar((unsigned char)l[k]))
		k++;
	if (k == 0 || k >= n || l[k] != ':') {
		fail(p, 400, "invalid header field name");
		return false;
	}
	size_t a = k + 1, b = n;
	while (a < b && is_blank(l[a]))
		a++;
	while (b > a && is_blank(l[b - 1]))
		b--;
	for (size_t j = a; j < b; j++) {
		unsigned char c = (unsigned char)l[j];
		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			fail(p, 400, "invalid header field value");
			return false;
		}
	}
	*nlen = k;
	*v0 = a;
	*v1 = b;
	return true;
}

/* The next comma-separated element of [*pos, end), blanks trimmed; empty ones skipped. */
static bool next_elem(const char **pos, const char *end, const char **elem, size_t *elen)
{
	const char *s = *pos;
	while (s < end && (is_blank(*s) || *s == ','))
		s++;
	if (s >= end)
		return false;
	const char *e = s;
	while (e < end && *e != ',')
		e++;
	const char *t = e;
	while (t > s && is_blank(t[-1]))
		t--;
	*elem = s;
	*elen = (size_t)(t - s);
	*pos = e;
	return true;
}

/* Content-Length: one or more equal decimal numbers separated by commas; huge ones saturate. */
static int parse_content_length(const char *v, size_t n, uint64_t *out)
{
	size_t i = 0;
	bool first = true;
	for (;;) {
		while (i < n && is_blank(v[i]))
			i++;
		size_t d0 = i;
		uint64_t x = 0;
		while (i < n && v[i] >= '0' && v[i] <= '9') {
			unsigned dig = (unsigned)(v[i] - '0');
			x = x > (UINT64_MAX - dig) / 10 ? UINT64_MAX : x * 10 + dig;
			i++;
		}
		if (i == d0)
			return -1;
		if (!first && x != *out)
			return -2;
		*out = x;
		first = false;
		while (i < n && is_blank(v[i]))
			i++;
		if (i == n)
			return 0;
		if (v[i] != ',')
			return -1;
		i++;
	}
}

static void end_head(struct httpd_parser *p);

/* Room to reserve for a declared body: bounded, so a promise costs little memory. */
static size_t prealloc(uint64_t declared)
{
	return declared < PREALLOC_MAX ? (size_t)declared : PREALLOC_MAX;
}

static void header_line(struct httpd_parser *p)
{
	const char *l = p->line.buf;
	size_t n = p->line.len, nlen, v0, v1;
	if (n == 0) {
		end_head(p);
		return;
	}
	if (!check_field(p, l, n, &nlen, &v0, &v1))
		return;
	if (p->nfields >= p->lim.max_headers) {
		fail(p, 431, "too many header fields");
		return;
	}
	const char *v = l + v0;
	size_t vlen = v1 - v0;
	if (word_eq(l, nlen, "content-length")) {
		uint64_t x = 0;
		int r = parse_content_length(v, vlen, &x);
		if (r == -1) {
			fail(p, 400, "invalid content-length");
			return;
		}
		if (r == -2 || (p->has_cl && x != p->content_length)) {
			fail(p, 400, "conflicting content-length values");
			return;
		}
		p->has_cl = true;
		p->content_length = x;
	} else if (word_eq(l, nlen, "transfer-encoding")) {
		const char *pos = v, *e;
		size_t elen;
		p->te_seen = true;
		while (next_elem(&pos, v + vlen, &e, &elen)) {
			if (word_eq(e, elen, "chunked"))
				p->te_chunked++;
			else
				p->te_other++;
		}
	} else if (word_eq(l, nlen, "connection")) {
		const char *pos = v, *e;
		size_t elen;
		while (next_elem(&pos, v + vlen, &e, &elen)) {
			if (word_eq(e, elen, "close"))
				p->conn_close = true;
			else if (word_eq(e, elen, "keep-alive"))
				p->conn_keep_alive = true;
		}
	} else if (word_eq(l, nlen, "expect")) {
		if (word_eq(v, vlen, "100-continue"))
			p->req.expect_continue = true;
	} else if (word_eq(l, nlen, "host")) {
		if (++p->nhost > 1) {
			fail(p, 400, "multiple host header fields");
			return;
		}
	}
	size_t slot = OFF_FIELDS + 2 * p->nfields;
	store(p, slot, l, nlen);
	store(p, slot + 1, v, vlen);
	p->nfields++;
}

static void end_head(struct httpd_parser *p)
{
	struct httpd_request *r = &p->req;
	if (p->te_seen) {
		if (p->has_cl) {
			fail(p, 400, "content-length with transfer-encoding");
			return;
		}
		if (r->version == 10) {
			fail(p, 400, "transfer-encoding in http/1.0 request");
			return;
		}
		if (p->te_other) {
			fail(p, 501, "unsupported transfer-encoding");
			return;
		}
		if (p->te_chunked != 1) {
			fail(p, 400, "invalid transfer-encoding");
			return;
		}
		r->chunked = true;
		p->state = ST_CHUNK_SIZE;
	} else if (p->has_cl && p->content_length > 0) {
		if (p->content_length > p->lim.max_body) {
			fail(p, 413, "request body too large");
			return;
		}
		sb_grow(&r->body, prealloc(p->content_length));
		p->remaining = p->content_length;
		p->state = ST_BODY;
	} else {
		p->state = ST_DONE;
	}
	if (r->version == 11)
		r->keep_alive = !p->conn_close;
	else
		r->keep_alive = p->conn_keep_alive && !p->conn_close;
	p->head_done = true;
	fixup(p);
}

static void chunk_size_line(struct httpd_parser *p)
{
	const char *l = p->line.buf;
	size_t n = p->line.len, k = 0;
	uint64_t x = 0;
	bool huge = false;
	int d;
	while (k < n && (d = hexval(l[k])) >= 0) {
		if (x > (UINT64_MAX >> 4))
			huge = true;
		else
			x = x << 4 | (uint64_t)d;
		k++;
	}
	if (k == 0) {
		fail(p, 400, "invalid chunk size");
		return;
	}
	while (k < n && is_blank(l[k]))
		k++;
	if (k < n && l[k] != ';') {
		fail(p, 400, "invalid chunk size");
		return;
	}
	for (; k < n; k++) {
		unsigned char c = (unsigned char)l[k];
		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			fail(p, 400, "invalid chunk extension");
			return;
		}
	}
	if (huge || x > p->lim.max_body - p->req.body.len) {
		fail(p, 413, "request body too large");
		return;
	}
	if (x == 0) {
		p->state = ST_TRAILERS;
	} else {
		sb_grow(&p->req.body, prealloc(x));
		p->remaining = x;
		p->state = ST_CHUNK_DATA;
	}
}

static void trailer_line(struct httpd_parser *p)
{
	size_t nlen, v0, v1;
	if (p->line.len == 0) {
		p->state = ST_DONE;
		return;
	}
	if (!check_field(p, p->line.buf, p->line.len, &nlen, &v0, &v1))
		return;
	if (++p->ntrailers > p->lim.max_headers)
		fail(p, 431, "too many trailer fields");
}

/* Copy body bytes (Content-Length body or chunk data); true when the part is complete. */
static bool take_body(struct httpd_parser *p, const char *s, size_t len, size_t *i)
{
	size_t k = len - *i;
	if (k > p->remaining)
		k = (size_t)p->remaining;
	sb_add(&p->req.body, s + *i, k);
	*i += k;
	p->remaining -= k;
	return p->remaining == 0;
}

int httpd_parser_feed(struct httpd_parser *p, const void *data, size_t len, size_t *used)
{
	const char *s = data;
	size_t i = 0;
	while (i < len && p->state != ST_DONE && p->state != ST_ERROR) {
		switch (p->state) {
		case ST_START:
			p->started = true;
			if (take_line(p, s, len, &i, &p->head_bytes, p->lim.max_header_bytes, 414,
				      "request line too long")) {
				request_line(p);
				sb_reset(&p->line);
			}
			break;
		case ST_HEADERS:
			if (take_line(p, s, len, &i, &p->head_bytes, p->lim.max_header_bytes, 431,
				      "header section too large")) {
				header_line(p);
				sb_reset(&p->line);
			}
			break;
		case ST_BODY:
			if (take_body(p, s, len, &i))
				p->state = ST_DONE;
			break;
		case ST_CHUNK_SIZE:
			if (take_line(p, s, len, &i, &p->chunk_line, CHUNK_LINE_MAX, 400,
				      "chunk size line too long")) {
				p->chunk_line = 0;
				chunk_size_line(p);
				sb_reset(&p->line);
			}
			break;
		case ST_CHUNK_DATA:
			if (take_body(p, s, len, &i))
				p->state = ST_CHUNK_CR;
			break;
		case ST_CHUNK_CR:
			if (s[i] == '\r')
				p->state = ST_CHUNK_LF;
			else if (s[i] == '\n')
				p->state = ST_CHUNK_SIZE;
			else
				fail(p, 400, "missing line end after chunk data");
			i++;
			break;
		case ST_CHUNK_LF:
			if (s[i] == '\n')
				p->state = ST_CHUNK_SIZE;
			else
				fail(p, 400, "bare CR in request");
			i++;
			break;
		case ST_TRAILERS:
			if (take_line(p, s, len, &i, &p->trailer_bytes, p->lim.max_header_bytes, 431,
				      "trailer section too large")) {
				trailer_line(p);
				sb_reset(&p->line);
			}
			break;
		default:
			break;
		}
	}
	if (p->state == ST_DONE || p->state == ST_ERROR)
		fixup(p);
	if (used)
		*used = i;
	if (p->state == ST_DONE)
		return HTTPD_PARSE_DONE;
	if (p->state == ST_ERROR)
		return HTTPD_PARSE_ERROR;
	return HTTPD_PARSE_MORE;
}

const char *httpd_header_get(const struct httpd_request *req, const char *name)
{
	for (size_t i = 0; i < req->nheaders; i++)
		if (strcasecmp(req->headers[i].name, name) == 0)
			return req->headers[i].value;
	return NULL;
}

int httpd_percent_decode(struct strbuf *out, const char *s, size_t len, bool plus_space)
{
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '%') {
			if (len - i < 3)
				return -1;
			int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return -1;
			c = (char)(hi << 4 | lo);
			i += 2;
		} else if (c == '+' && plus_space) {
			c = ' ';
		}
		sb_addch(out, c);
	}
	return 0;
}

int httpd_query_get(const char *query, const char *name, struct strbuf *out)
{
	struct strbuf key = SB_INIT;
	const char *s = query;
	int found = 0;
	for (;;) {
		const char *amp = strchr(s, '&');
		size_t n = amp ? (size_t)(amp - s) : strlen(s);
		const char *eq = memchr(s, '=', n);
		size_t klen = eq ? (size_t)(eq - s) : n;
		sb_reset(&key);
		if (n && httpd_percent_decode(&key, s, klen, true) == 0 && strcmp(key.buf, name) == 0) {
			sb_reset(out);
			const char *v = eq ? eq + 1 : s + n;
			found = httpd_percent_decode(out, v, (size_t)(s + n - v), true) == 0 ? 1 : -1;
			break;
		}
		if (!amp)
			break;
		s = amp + 1;
	}
	sb_release(&key);
	return found;
}
