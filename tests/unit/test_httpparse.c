/*
 * test_httpparse.c: unit tests for httpparse.c, the incremental request
 * parser. A table of raw requests and expected outcomes is run three
 * ways (whole, cut in two, byte by byte), which must agree; then
 * pipelining, flags, limits, header lookup and the decoding helpers.
 */
#include "common.h"

#include "httpparse.h"
#include "strbuf.h"
#include "tap.h"

/* One request's outcome as text, so the ways of feeding compare as strings. */
struct outcome {
	int result;  /* HTTPD_PARSE_* */
	int status;  /* error status, 0 otherwise */
	size_t used; /* bytes taken in total */
	struct strbuf desc;
};

static void describe(const struct httpd_parser *p, int result, struct strbuf *sb)
{
	const struct httpd_request *r = &p->req;
	sb_reset(sb);
	if (result == HTTPD_PARSE_ERROR) {
		sb_addf(sb, "%d %s", p->status, p->error);
		return;
	}
	if (result == HTTPD_PARSE_MORE) {
		sb_addstr(sb, "more");
		return;
	}
	sb_addf(sb, "%s path=%s query=%s v=%d ka=%d chunked=%d headers=", r->method, r->path,
		r->query, r->version, r->keep_alive, r->chunked);
	for (size_t i = 0; i < r->nheaders; i++)
		sb_addf(sb, "%s%s:%s", i ? "|" : "", r->headers[i].name, r->headers[i].value);
	sb_addstr(sb, " body=");
	sb_add(sb, r->body.buf, r->body.len);
}

/* Feed raw[0..len) in pieces of step bytes until the first request ends. */
static void run(const char *raw, size_t len, size_t step, const struct httpd_limits *lim,
		struct outcome *o)
{
	struct httpd_parser p;
	httpd_parser_init(&p, lim);
	size_t pos = 0;
	int r = HTTPD_PARSE_MORE;
	while (pos < len) {
		size_t n = len - pos < step ? len - pos : step, used = 0;
		r = httpd_parser_feed(&p, raw + pos, n, &used);
		pos += used;
		if (r != HTTPD_PARSE_MORE)
			break;
		if (used != n) {
			r = 99; /* MORE must take everything */
			break;
		}
	}
	o->result = r;
	o->status = r == HTTPD_PARSE_ERROR ? p.status : 0;
	o->used = pos;
	describe(&p, r, &o->desc);
	httpd_parser_release(&p);
}

struct pcase {
	const char *raw;
	size_t len;     /* 0: strlen(raw) */
	int status;     /* 0: complete, -1: incomplete, else the error status */
	const char *want; /* describe() of the outcome */
	int used;       /* bytes taken when complete; -1: all */
};

static const struct pcase cases[] = {
	/* complete requests */
	{ "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 0, 0,
	  "GET path=/ query= v=11 ka=1 chunked=0 headers=Host:a body=", -1 },
	{ "GET /search?q=a%20b&x=1 HTTP/1.1\r\nHost: shop\r\nAccept: */*\r\n\r\n", 0, 0,
	  "GET path=/search query=q=a%20b&x=1 v=11 ka=1 chunked=0 headers=Host:shop|Accept:*/* body=",
	  -1 },
	{ "GET /x?a?b HTTP/1.1\r\n\r\n", 0, 0,
	  "GET path=/x query=a?b v=11 ka=1 chunked=0 headers= body=", -1 },
	{ "GET /old HTTP/1.0\r\n\r\n", 0, 0,
	  "GET path=/old query= v=10 ka=0 chunked=0 headers= body=", -1 },
	{ "GET /old HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", 0, 0,
	  "GET path=/old query= v=10 ka=1 chunked=0 headers=Connection:Keep-Alive body=", -1 },
	{ "GET /c HTTP/1.1\r\nConnection: close\r\n\r\n", 0, 0,
	  "GET path=/c query= v=11 ka=0 chunked=0 headers=Connection:close body=", -1 },
	{ "GET /c HTTP/1.1\r\nconnection: keep-alive, CLOSE\r\n\r\n", 0, 0,
	  "GET path=/c query= v=11 ka=0 chunked=0 headers=connection:keep-alive, CLOSE body=", -1 },
	{ "POST /orders HTTP/1.1\r\nHost: s\r\nContent-Length: 11\r\n\r\nhello world", 0, 0,
	  "POST path=/orders query= v=11 ka=1 chunked=0 headers=Host:s|Content-Length:11 body=hello world",
	  -1 },
	{ "POST /z HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 0, 0,
	  "POST path=/z query= v=11 ka=1 chunked=0 headers=Content-Length:0 body=", -1 },
	{ "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	  "5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: 42\r\nX-More: 1\r\n\r\n", 0, 0,
	  "POST path=/c query= v=11 ka=1 chunked=1 headers=Transfer-Encoding:chunked body=hello world",
	  -1 },
	{ "POST /c HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\nA \r\n0123456789\r\n00\r\n\r\n", 0,
	  0, "POST path=/c query= v=11 ka=1 chunked=1 headers=Transfer-Encoding:Chunked body=0123456789",
	  -1 },
	{ "POST /c HTTP/1.1\nTransfer-Encoding: chunked\n\n3\nabc\n0\n\n", 0, 0,
	  "POST path=/c query= v=11 ka=1 chunked=1 headers=Transfer-Encoding:chunked body=abc", -1 },
	{ "GET /lf HTTP/1.1\nHost: a\n\n", 0, 0,
	  "GET path=/lf query= v=11 ka=1 chunked=0 headers=Host:a body=", -1 },
	{ "\r\n\r\nGET /after-blank HTTP/1.1\r\n\r\n", 0, 0,
	  "GET path=/after-blank query= v=11 ka=1 chunked=0 headers= body=", -1 },
	{ "GET http://example.com/p?q=1 HTTP/1.1\r\n\r\n", 0, 0,
	  "GET path=/p query=q=1 v=11 ka=1 chunked=0 headers= body=", -1 },
	{ "GET HTTP://example.com HTTP/1.1\r\n\r\n", 0, 0,
	  "GET path=/ query= v=11 ka=1 chunked=0 headers= body=", -1 },
	{ "GET https://example.com?x HTTP/1.1\r\n\r\n", 0, 0,
	  "GET path=/ query=x v=11 ka=1 chunked=0 headers= body=", -1 },
	{ "OPTIONS * HTTP/1.1\r\n\r\n", 0, 0,
	  "OPTIONS path=* query= v=11 ka=1 chunked=0 headers= body=", -1 },
	{ "GET /caf\xc3\xa9 HTTP/1.1\r\n\r\n", 0, 0,
	  "GET path=/caf\xc3\xa9 query= v=11 ka=1 chunked=0 headers= body=", -1 },
	{ "GET / HTTP/1.1\r\nX-A:   spaced  value \t\r\nX-Empty:\r\nX-Tab:\tv\r\n\r\n", 0, 0,
	  "GET path=/ query= v=11 ka=1 chunked=0 headers=X-A:spaced  value|X-Empty:|X-Tab:v body=", -1 },
	{ "PUT /d HTTP/1.1\r\nContent-Length: 3\r\ncontent-length: 3\r\n\r\nabc", 0, 0,
	  "PUT path=/d query= v=11 ka=1 chunked=0 headers=Content-Length:3|content-length:3 body=abc", -1 },
	{ "PUT /d HTTP/1.1\r\nContent-Length: 3, 003\r\n\r\nabc", 0, 0,
	  "PUT path=/d query= v=11 ka=1 chunked=0 headers=Content-Length:3, 003 body=abc", -1 },
	{ "GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n", 0, 0,
	  "GET path=/1 query= v=11 ka=1 chunked=0 headers= body=", 19 },
	{ "POST /p HTTP/1.1\r\nContent-Length: 2\r\n\r\nokGET /next HTTP/1.1\r\n\r\n", 0, 0,
	  "POST path=/p query= v=11 ka=1 chunked=0 headers=Content-Length:2 body=ok", 41 },
	{ "HEAD /h HTTP/1.1\r\nExpect: 100-continue\r\n\r\n", 0, 0,
	  "HEAD path=/h query= v=11 ka=1 chunked=0 headers=Expect:100-continue body=", -1 },
	/* incomplete */
	{ "", 0, -1, "more", 0 },
	{ "GET / HTTP/1.1\r\nHost: a\r\n", 0, -1, "more", 0 },
	{ "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nabc", 0, -1, "more", 0 },
	{ "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n", 0, -1, "more", 0 },
	/* request line */
	{ "GET / HTTP/1.1 \r\n\r\n", 0, 400, "400 invalid http version", 0 },
	{ "GET  / HTTP/1.1\r\n\r\n", 0, 400, "400 invalid request line", 0 },
	{ "GET /\r\n\r\n", 0, 400, "400 invalid request line", 0 },
	{ " GET / HTTP/1.1\r\n\r\n", 0, 400, "400 invalid request line", 0 },
	{ "G@T / HTTP/1.1\r\n\r\n", 0, 400, "400 invalid request line", 0 },
	{ "GET / http/1.1\r\n\r\n", 0, 400, "400 invalid http version", 0 },
	{ "GET / HTTP/1.10\r\n\r\n", 0, 400, "400 invalid http version", 0 },
	{ "GET / HTTP/2.0\r\n\r\n", 0, 505, "505 http version not supported", 0 },
	{ "GET / HTTP/1.2\r\n\r\n", 0, 505, "505 http version not supported", 0 },
	{ "GET / HTTP/0.9\r\n\r\n", 0, 505, "505 http version not supported", 0 },
	{ "GET foo HTTP/1.1\r\n\r\n", 0, 400, "400 invalid request target", 0 },
	{ "GET * HTTP/1.1\r\n\r\n", 0, 400, "400 invalid request target", 0 },
	{ "CONNECT shop:443 HTTP/1.1\r\n\r\n", 0, 400, "400 invalid request target", 0 },
	{ "GET http:///p HTTP/1.1\r\n\r\n", 0, 400, "400 invalid request target", 0 },
	{ "GET /a#frag HTTP/1.1\r\n\r\n", 0, 400, "400 invalid request target", 0 },
	{ "GET /a\tb HTTP/1.1\r\n\r\n", 0, 400, "400 invalid request target", 0 },
	{ "GET /a\x7f HTTP/1.1\r\n\r\n", 0, 400, "400 invalid request target", 0 },
	{ "GET / HTTP/1.1\r\r\n\r\n", 0, 400, "400 bare CR in request", 0 },
	{ "GET /\r HTTP/1.1\r\n\r\n", 0, 400, "400 bare CR in request", 0 },
	/* header fields */
	{ "GET / HTTP/1.1\r\nX-A: 1\r\n continued\r\n\r\n", 0, 400,
	  "400 obsolete line folding in header", 0 },
	{ "GET / HTTP/1.1\r\n\tX-A: 1\r\n\r\n", 0, 400, "400 obsolete line folding in header", 0 },
	{ "GET / HTTP/1.1\r\nX-A: a\rb\r\n\r\n", 0, 400, "400 bare CR in request", 0 },
	{ "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 0, 400, "400 invalid header field name", 0 },
	{ "GET / HTTP/1.1\r\n: a\r\n\r\n", 0, 400, "400 invalid header field name", 0 },
	{ "GET / HTTP/1.1\r\nX(a): 1\r\n\r\n", 0, 400, "400 invalid header field name", 0 },
	{ "GET / HTTP/1.1\r\nNoColon\r\n\r\n", 0, 400, "400 invalid header field name", 0 },
	{ "GET / HTTP/1.1\r\nX-A: a\0b\r\n\r\n", 28, 400, "400 invalid header field value", 0 },
	{ "GET / HTTP/1.1\r\nX-A: a\x01\r\n\r\n", 0, 400, "400 invalid header field value", 0 },
	{ "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 0, 400, "400 multiple host header fields",
	  0 },
	/* framing */
	{ "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 0, 400,
	  "400 conflicting content-length values", 0 },
	{ "POST / HTTP/1.1\r\nContent-Length: 3, 4\r\n\r\nabcd", 0, 400,
	  "400 conflicting content-length values", 0 },
	{ "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 0, 400, "400 invalid content-length", 0 },
	{ "POST / HTTP/1.1\r\nContent-Length: 1e3\r\n\r\n", 0, 400, "400 invalid content-length", 0 },
	{ "POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", 0, 400, "400 invalid content-length", 0 },
	{ "POST / HTTP/1.1\r\nContent-Length: 3,\r\n\r\n", 0, 400, "400 invalid content-length", 0 },
	{ "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 0, 400,
	  "400 content-length with transfer-encoding", 0 },
	{ "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 0, 400,
	  "400 content-length with transfer-encoding", 0 },
	{ "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 0, 501,
	  "501 unsupported transfer-encoding", 0 },
	{ "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 0, 501,
	  "501 unsupported transfer-encoding", 0 },
	{ "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 0,
	  400, "400 invalid transfer-encoding", 0 },
	{ "POST / HTTP/1.1\r\nTransfer-Encoding: \r\n\r\n", 0, 400, "400 invalid transfer-encoding",
	  0 },
	{ "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 0, 400,
	  "400 transfer-encoding in http/1.0 request", 0 },
	{ "POST / HTTP/1.1\r\nContent-Length: 1048577\r\n\r\n", 0, 413,
	  "413 request body too large", 0 },
	{ "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999999\r\n\r\n", 0, 413,
	  "413 request body too large", 0 },
	{ "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n100001\r\n", 0, 413,
	  "413 request body too large", 0 },
	{ "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffffff\r\n", 0, 413,
	  "413 request body too large", 0 },
	{ "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 0, 400,
	  "400 invalid chunk size", 0 },
	{ "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", 0, 400,
	  "400 invalid chunk size", 0 },
	{ "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3x\r\n", 0, 400,
	  "400 invalid chunk size", 0 },
	{ "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;a\x01\r\n", 0, 400,
	  "400 invalid chunk extension", 0 },
	{ "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX\r\n", 0, 400,
	  "400 missing line end after chunk data", 0 },
	{ "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\rX", 0, 400,
	  "400 bare CR in request", 0 },
	{ "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nbad trailer\r\n\r\n", 0, 400,
	  "400 invalid header field name", 0 },
};

static void test_table(void)
{
	struct outcome whole = { 0, 0, 0, SB_INIT }, cut = { 0, 0, 0, SB_INIT },
		       bytes = { 0, 0, 0, SB_INIT };
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct pcase *c = &cases[i];
		size_t len = c->len ? c->len : strlen(c->raw);
		run(c->raw, len, len ? len : 1, NULL, &whole);
		run(c->raw, len, len / 2 ? len / 2 : 1, NULL, &cut);
		run(c->raw, len, 1, NULL, &bytes);
		char name[120];
		snprintf(name, sizeof(name), "case %zu: %.60s", i, c->raw);
		for (char *s = name; *s; s++)
			if (*s == '\r' || *s == '\n')
				*s = '.';
		is_str(whole.desc.buf, c->want, name);
		if (c->status == 0)
			is_int((long long)whole.used, c->used < 0 ? (long long)len : c->used,
			       "  ... bytes taken");
		else if (c->status > 0)
			is_int(whole.status, c->status, "  ... error status");
		else
			is_int(whole.result, HTTPD_PARSE_MORE, "  ... needs more");
		ok(whole.result == cut.result && whole.used == cut.used &&
			   strcmp(whole.desc.buf, cut.desc.buf) == 0,
		   "  ... cut in two gives the same");
		ok(whole.result == bytes.result && whole.used == bytes.used &&
			   strcmp(whole.desc.buf, bytes.desc.buf) == 0,
		   "  ... byte by byte gives the same");
	}
	sb_release(&whole.desc);
	sb_release(&cut.desc);
	sb_release(&bytes.desc);
}

/* Requests built in code: limits on count and size. */
static void test_limits(void)
{
	struct outcome o = { 0, 0, 0, SB_INIT };
	struct strbuf raw = SB_INIT;

	sb_addstr(&raw, "GET / HTTP/1.1\r\n");
	for (int i = 0; i < 64; i++)
		sb_addf(&raw, "X-H%d: v\r\n", i);
	sb_addstr(&raw, "\r\n");
	run(raw.buf, raw.len, raw.len, NULL, &o);
	is_int(o.result, HTTPD_PARSE_DONE, "64 header fields are accepted");
	sb_setlen(&raw, raw.len - 2);
	sb_addstr(&raw, "X-H64: v\r\n\r\n");
	run(raw.buf, raw.len, raw.len, NULL, &o);
	is_str(o.desc.buf, "431 too many header fields", "the 65th header field is 431");

	sb_reset(&raw);
	sb_addstr(&raw, "GET / HTTP/1.1\r\nX-Big: ");
	while (raw.len < 20000)
		sb_addch(&raw, 'a');
	sb_addstr(&raw, "\r\n\r\n");
	run(raw.buf, raw.len, raw.len, NULL, &o);
	is_str(o.desc.buf, "431 header section too large", "a 20 KB header is 431");
	run(raw.buf, raw.len, 7, NULL, &o);
	is_str(o.desc.buf, "431 header section too large", "  ... also when fed in pieces");

	sb_reset(&raw);
	sb_addstr(&raw, "GET /");
	while (raw.len < 17000)
		sb_addch(&raw, 'p');
	run(raw.buf, raw.len, raw.len, NULL, &o);
	is_str(o.desc.buf, "414 request line too long", "a 17 KB request line is 414");

	/* Exact boundaries with small limits. */
	struct httpd_limits lim = { 2, 40, 10 };
	const char *head40 = "GET /abcdefgh HTTP/1.1\r\nA: 1\r\nB: 123\r\n\r\n";
	is_int((long long)strlen(head40), 40, "(the head below is 40 bytes)");
	run(head40, 40, 40, &lim, &o);
	is_int(o.result, HTTPD_PARSE_DONE, "a head of exactly max_header_bytes is accepted");
	const char *head41 = "GET /abcdefgh HTTP/1.1\r\nA: 1\r\nB: 1234\r\n\r\n";
	run(head41, 41, 41, &lim, &o);
	is_str(o.desc.buf, "431 header section too large", "one byte more is 431");
	const char *three = "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
	run(three, strlen(three), strlen(three), &lim, &o);
	is_str(o.desc.buf, "431 too many header fields", "max_headers 2 refuses a third field");
	lim.max_header_bytes = 0; /* the default */
	const char *b10 = "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789";
	run(b10, strlen(b10), 4, &lim, &o);
	is_int(o.result, HTTPD_PARSE_DONE, "a body of exactly max_body is accepted");
	const char *b11 = "POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n0123456789x";
	run(b11, strlen(b11), strlen(b11), &lim, &o);
	is_str(o.desc.buf, "413 request body too large", "one byte more is 413");
	const char *ch = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n4\r\nghij\r\n0\r\n\r\n";
	run(ch, strlen(ch), 3, &lim, &o);
	is_int(o.result, HTTPD_PARSE_DONE, "chunks adding up to max_body are accepted");
	ch = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n5\r\nghijk\r\n0\r\n\r\n";
	run(ch, strlen(ch), strlen(ch), &lim, &o);
	is_str(o.desc.buf, "413 request body too large", "chunks adding up to more are 413");
	ch = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
	run(ch, strlen(ch), strlen(ch), &lim, &o);
	is_str(o.desc.buf, "431 too many trailer fields", "trailer fields are counted");

	sb_reset(&raw);
	sb_addstr(&raw, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1;");
	while (raw.len < 2000)
		sb_addch(&raw, 'e');
	run(raw.buf, raw.len, raw.len, NULL, &o);
	is_str(o.desc.buf, "400 chunk size line too long", "chunk extensions are bounded");

	sb_release(&raw);
	sb_release(&o.desc);
}

/* Several requests in one stream, fed whole and byte by byte. */
static void test_pipelining(void)
{
	const char *stream =
		"GET /first HTTP/1.1\r\nHost: a\r\n\r\n"
		"POST /second HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody"
		"\r\n" /* a stray line end after a body, as some clients send */
		"POST /third HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n"
		"GET /fourth HTTP/1.1\r\n";
	static const char *const want[] = {
		"GET path=/first query= v=11 ka=1 chunked=0 headers=Host:a body=",
		"POST path=/second query= v=11 ka=1 chunked=0 headers=Content-Length:4 body=body",
		"POST path=/third query= v=11 ka=1 chunked=1 headers=Transfer-Encoding:chunked body=hi",
	};
	size_t len = strlen(stream);
	struct strbuf d = SB_INIT;
	for (int bytewise = 0; bytewise < 2; bytewise++) {
		struct httpd_parser p;
		httpd_parser_init(&p, NULL);
		size_t pos = 0, got = 0;
		int r = HTTPD_PARSE_MORE;
		while (pos < len) {
			size_t n = bytewise ? 1 : len - pos, used = 0;
			r = httpd_parser_feed(&p, stream + pos, n, &used);
			pos += used;
			if (r == HTTPD_PARSE_DONE) {
				describe(&p, r, &d);
				if (got < ARRAY_SIZE(want))
					is_str(d.buf, want[got], bytewise ? "  ... byte by byte" : "pipelined request in order");
				got++;
				httpd_parser_reset(&p);
			} else if (r == HTTPD_PARSE_ERROR) {
				break;
			}
		}
		is_int((long long)got, 3, "three complete requests");
		ok(r == HTTPD_PARSE_MORE && p.started && !p.head_done,
		   "the fourth is started and waits for more");
		httpd_parser_release(&p);
	}
	sb_release(&d);
}

static void test_state(void)
{
	struct httpd_parser p;
	size_t used = 99;
	httpd_parser_init(&p, NULL);
	ok(!p.started && !p.head_done, "a new parser has seen nothing");
	is_str(p.req.method, "", "fields are empty strings before the request is complete");
	const char *head = "PUT /up HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n";
	is_int(httpd_parser_feed(&p, head, strlen(head), &used), HTTPD_PARSE_MORE,
	       "a head alone needs more");
	is_int((long long)used, (long long)strlen(head), "  ... and took all of it");
	ok(p.head_done && p.req.expect_continue, "head_done and expect_continue are set");
	is_str(httpd_header_get(&p.req, "content-length"), "3", "headers readable once the head is done");
	is_int(httpd_parser_feed(&p, "abcdef", 6, &used), HTTPD_PARSE_DONE, "the body completes it");
	is_int((long long)used, 3, "  ... taking only the body");
	is_int(httpd_parser_feed(&p, "def", 3, &used), HTTPD_PARSE_DONE, "feeding again without reset");
	is_int((long long)used, 0, "  ... takes nothing");
	is_str(httpd_header_get(&p.req, "EXPECT"), "100-continue", "lookup ignores case");
	ok(httpd_header_get(&p.req, "Host") == NULL, "a missing header is NULL");

	size_t blen;
	char *body = sb_detach(&p.req.body, &blen);
	is_mem(body, blen, "abc", 3, "the body can be taken");
	free(body);
	httpd_parser_reset(&p);
	ok(!p.started && !p.head_done && p.req.body.len == 0, "reset forgets the request");
	is_int(httpd_parser_feed(&p, "GET /again HTTP/1.0\r\n\r\n", 23, &used), HTTPD_PARSE_DONE,
	       "the parser is reusable after reset");
	is_str(p.req.path, "/again", "  ... with the new request's path");

	httpd_parser_reset(&p);
	is_int(httpd_parser_feed(&p, "BAD\r\n", 5, &used), HTTPD_PARSE_ERROR, "an error");
	is_int(httpd_parser_feed(&p, "GET / HTTP/1.1\r\n\r\n", 18, &used), HTTPD_PARSE_ERROR,
	       "  ... sticks until reset");
	is_int(p.status, 400, "  ... keeping its status");
	httpd_parser_release(&p);

	/* Duplicate headers: lookup returns the first. */
	httpd_parser_init(&p, NULL);
	const char *dup = "GET / HTTP/1.1\r\nAccept: a\r\nACCEPT: b\r\n\r\n";
	httpd_parser_feed(&p, dup, strlen(dup), NULL);
	is_str(httpd_header_get(&p.req, "accept"), "a", "the first of repeated fields is returned");
	is_int((long long)p.req.nheaders, 2, "  ... both are kept");
	httpd_parser_release(&p);
}

static void test_decode(void)
{
	static const struct {
		const char *in;
		bool plus;
		int ret;
		const char *out;
	} dec[] = {
		{ "plain", false, 0, "plain" },
		{ "a%20b%2Fc", false, 0, "a b/c" },
		{ "%e2%82%ac", false, 0, "\xe2\x82\xac" },
		{ "a+b", false, 0, "a+b" },
		{ "a+b", true, 0, "a b" },
		{ "%2B", true, 0, "+" },
		{ "50%", false, -1, "50" },
		{ "%4", false, -1, "" },
		{ "x%zz", false, -1, "x" },
		{ "%00", false, -1, "" },
		{ "", false, 0, "" },
	};
	struct strbuf sb = SB_INIT;
	for (size_t i = 0; i < ARRAY_SIZE(dec); i++) {
		sb_reset(&sb);
		int r = httpd_percent_decode(&sb, dec[i].in, strlen(dec[i].in), dec[i].plus);
		char name[80];
		snprintf(name, sizeof(name), "decode '%s'%s", dec[i].in, dec[i].plus ? " (form)" : "");
		ok(r == dec[i].ret && strcmp(sb.buf, dec[i].out) == 0, "%s", name);
	}

	static const struct {
		const char *query, *name;
		int ret;
		const char *value;
	} q[] = {
		{ "a=1&b=2", "b", 1, "2" },
		{ "a=1&b=2", "c", 0, "untouched" },
		{ "name=J%C3%BCrgen+M", "name", 1, "J\xc3\xbcrgen M" },
		{ "flag&x=1", "flag", 1, "" },
		{ "flag=&x=1", "flag", 1, "" },
		{ "x=1&x=2", "x", 1, "1" },
		{ "my+key=v", "my key", 1, "v" },
		{ "%zz=1&k=2", "k", 1, "2" },
		{ "k=%zz", "k", -1, "" },
		{ "&&k=3&", "k", 1, "3" },
		{ "", "k", 0, "untouched" },
		{ "a=b=c", "a", 1, "b=c" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(q); i++) {
		sb_reset(&sb);
		sb_addstr(&sb, "untouched");
		int r = httpd_query_get(q[i].query, q[i].name, &sb);
		char name[80];
		snprintf(name, sizeof(name), "query '%s' [%s]", q[i].query, q[i].name);
		ok(r == q[i].ret && strcmp(sb.buf, q[i].value) == 0, "%s", name);
		if (r != q[i].ret || strcmp(sb.buf, q[i].value) != 0)
			diag("got %d '%s'", r, sb.buf);
	}
	sb_release(&sb);
}

int main(void)
{
	test_table();
	test_limits();
	test_pipelining();
	test_state();
	test_decode();
	return tap_done();
}
