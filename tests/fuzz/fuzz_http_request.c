/*
 * fuzz_http_request.c: libFuzzer target for httpparse.c.
 *
 * The input is a stream of pipelined requests. It is parsed twice: fed
 * whole, and fed in two pieces cut at a position derived from the input.
 * Each run writes a transcript (every complete request's fields, then the
 * final state); the parser promises the result never depends on how the
 * bytes were cut, so the transcripts must be identical, or we abort().
 * Small limits (taken from the first input byte) make the limit paths
 * reachable. The decoding helpers run on every parsed path and query.
 */
#include "common.h"

#include "httpparse.h"
#include "strbuf.h"

static void describe(const struct httpd_parser *p, size_t used, struct strbuf *t)
{
	const struct httpd_request *r = &p->req;
	sb_addf(t, "req used=%zu %s|%s|%s|%s|%d|ka=%d|ch=%d|ec=%d|", used, r->method, r->target,
		r->path, r->query, r->version, r->keep_alive, r->chunked, r->expect_continue);
	for (size_t i = 0; i < r->nheaders; i++)
		sb_addf(t, "%s:%s|", r->headers[i].name, r->headers[i].value);
	sb_addf(t, "body=%zu:", r->body.len);
	sb_add(t, r->body.buf, r->body.len);
	sb_addch(t, '\n');

	struct strbuf d = SB_INIT;
	if (httpd_percent_decode(&d, r->path, strlen(r->path), false) == 0)
		sb_addf(t, "decoded=%s\n", d.buf);
	int q = httpd_query_get(r->query, "a", &d);
	sb_addf(t, "query a=%d\n", q);
	sb_release(&d);
	const char *host = httpd_header_get(r, "host");
	sb_addf(t, "host=%s\n", host ? host : "(none)");
}

/* Parse data as a request stream; pieces end at cut and at size. */
static void transcript(const uint8_t *data, size_t size, size_t cut,
		       const struct httpd_limits *lim, struct strbuf *t)
{
	struct httpd_parser p;
	httpd_parser_init(&p, lim);
	size_t pos = 0, req_used = 0;
	int r = HTTPD_PARSE_MORE;
	while (pos < size) {
		size_t end = pos < cut ? cut : size, used = 0;
		r = httpd_parser_feed(&p, data + pos, end - pos, &used);
		if (used > end - pos)
			abort();
		pos += used;
		req_used += used;
		if (r == HTTPD_PARSE_DONE) {
			describe(&p, req_used, t);
			req_used = 0;
			httpd_parser_reset(&p);
		} else if (r == HTTPD_PARSE_ERROR) {
			if (p.status < 400 || p.status > 599 || !p.error)
				abort();
			sb_addf(t, "error %d %s\n", p.status, p.error);
			break;
		} else if (pos != end) {
			abort(); /* MORE must take the whole piece */
		}
	}
	sb_addf(t, "end result=%d started=%d head_done=%d\n", r, p.started, p.head_done);
	httpd_parser_release(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct httpd_limits small = { 4, 256, 64 }, *lim = NULL;
	if (size > 0 && (data[0] & 1))
		lim = &small;
	size_t cut = 0;
	for (size_t i = 0; i < size && i < 8; i++)
		cut = cut * 31 + data[i];
	cut = size ? cut % (size + 1) : 0;

	struct strbuf a = SB_INIT, b = SB_INIT;
	transcript(data, size, 0, lim, &a);
	transcript(data, size, cut, lim, &b);
	if (a.len != b.len || memcmp(a.buf, b.buf, a.len) != 0)
		abort();
	sb_release(&a);
	sb_release(&b);
	return 0;
}
