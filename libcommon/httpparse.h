/*
 * httpparse.h: an incremental, allocation-bounded HTTP/1.1 request parser.
 *
 * The server in httpd.c reads whatever the network hands it and feeds it
 * here; the parser says whether it needs more bytes, has a complete
 * request (and how many of the fed bytes it took, so the rest is the next
 * pipelined request), or found an error together with the HTTP status to
 * answer. It does no I/O, so unit tests and the fuzz target drive it with
 * plain buffers, and the result never depends on how the bytes were cut.
 *
 * It shares the httpd_ prefix with the server because struct
 * httpd_request is what the server's handlers receive; http_ belongs to
 * the libcurl client in http.h.
 *
 * Accepted: request line "METHOD SP target SP HTTP/1.x" with an
 * origin-form target ("/path?query"), an absolute-form one
 * ("http://host/path?query", path "/" when empty) or "*" for OPTIONS;
 * header fields; a body framed by Content-Length or by the chunked
 * transfer coding (chunk extensions ignored, trailer fields checked and
 * dropped). Lines end in CRLF or a bare LF; empty lines before the request
 * line are skipped (RFC 9112 section 2.2). A missing Host field is
 * accepted, so `printf 'GET / HTTP/1.1\r\n\r\n' | nc` works at 3 a.m.
 *
 * Rejected with the status to answer:
 *   400  malformed request line or field, obs-fold, bare CR, bad field
 *        name, bad or conflicting Content-Length, Content-Length together
 *        with Transfer-Encoding, Transfer-Encoding in HTTP/1.0, repeated
 *        Host, bad chunk framing
 *   413  body (declared or decoded) larger than max_body
 *   414  request line longer than max_header_bytes
 *   431  more than max_headers fields, or a header (or trailer) section
 *        longer than max_header_bytes
 *   501  a transfer coding other than chunked
 *   505  an HTTP version other than 1.0 and 1.1
 */
#ifndef OFS_HTTPPARSE_H
#define OFS_HTTPPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

#define HTTPD_DEFAULT_MAX_HEADERS 64
#define HTTPD_DEFAULT_MAX_HEADER_BYTES (16 * 1024)
#define HTTPD_DEFAULT_MAX_BODY (1024 * 1024)

/* Limits of one request; a zero field takes the default above. */
struct httpd_limits {
	size_t max_headers;      /* header fields (and, separately, trailer fields) */
	size_t max_header_bytes; /* request line + header section, line ends included */
	size_t max_body;         /* body bytes after chunked decoding */
};

struct httpd_header {
	const char *name;  /* as sent (case kept), NUL-terminated */
	const char *value; /* leading and trailing blanks removed */
};

/*
 * One parsed request. The strings point into the parser and stay valid
 * until httpd_parser_reset or httpd_parser_release; before the request is
 * complete they are "" (never NULL). The body may be taken with sb_detach.
 */
struct httpd_request {
	const char *method;   /* "GET", case-sensitive as sent */
	const char *target;   /* the request-target exactly as sent */
	const char *path;     /* path part of target, still percent-encoded */
	const char *query;    /* after the first '?', still encoded; "" if none */
	int version;          /* 10 for HTTP/1.0, 11 for HTTP/1.1 */
	struct httpd_header *headers;
	size_t nheaders;
	struct strbuf body;   /* decoded body bytes */
	bool keep_alive;      /* 1.1 unless "Connection: close"; 1.0 only with keep-alive */
	bool chunked;         /* the body came with Transfer-Encoding: chunked */
	bool expect_continue; /* "Expect: 100-continue" was sent */
	const char *peer;     /* set by httpd.c: client "addr:port"; NULL otherwise */
};

enum httpd_parse_result {
	HTTPD_PARSE_ERROR = -1, /* see status and error; the parser stays failed */
	HTTPD_PARSE_MORE = 0,   /* every byte was taken; feed more */
	HTTPD_PARSE_DONE = 1    /* req is complete; *used bytes were taken */
};

struct httpd_parser {
	struct httpd_request req;
	/* Read-only for callers: */
	int status;        /* after HTTPD_PARSE_ERROR: the status to answer */
	const char *error; /* after HTTPD_PARSE_ERROR: short static reason */
	bool started;      /* at least one byte of this request was taken */
	bool head_done;    /* the header section is complete (body may follow) */

	/* Private state: */
	struct httpd_limits lim;
	int state;
	struct strbuf line;  /* the line being collected */
	struct strbuf store; /* NUL-separated strings of the head */
	size_t *offs;        /* offsets into store: 4 request-line strings, then name/value pairs */
	size_t offs_alloc;
	size_t headers_alloc;
	size_t nfields;      /* header fields stored */
	bool have_reqline;
	size_t head_bytes;
	size_t trailer_bytes;
	size_t ntrailers;
	size_t chunk_line;
	uint64_t remaining;  /* of the Content-Length body or the current chunk */
	uint64_t content_length;
	bool has_cl;
	bool te_seen;
	unsigned te_chunked;
	unsigned te_other;
	bool conn_close;
	bool conn_keep_alive;
	unsigned nhost;
};

/* httpd_parser_init: ready p for a first request; lim may be NULL (defaults). */
void httpd_parser_init(struct httpd_parser *p, const struct httpd_limits *lim);

/*
 * httpd_parser_feed: take up to len bytes of the request stream.
 * Returns HTTPD_PARSE_MORE when all len bytes were taken and the request
 * is still incomplete; HTTPD_PARSE_DONE when the request ended inside
 * the data, with *used the bytes taken (the rest belongs to the next
 * request: call httpd_parser_reset, then feed it); HTTPD_PARSE_ERROR
 * with p->status and p->error set. After DONE or ERROR, further feeds
 * take nothing and return the same result until reset. used may be NULL.
 * Memory grows only within the limits.
 */
int httpd_parser_feed(struct httpd_parser *p, const void *data, size_t len, size_t *used);

/* httpd_parser_reset: forget the request (invalidating its strings), keep the limits. */
void httpd_parser_reset(struct httpd_parser *p);

/* httpd_parser_release: free everything p holds; init it again to reuse. */
void httpd_parser_release(struct httpd_parser *p);

/*
 * httpd_header_get: the value of the first field called name (compared
 * case-insensitively), or NULL. Points into req.
 */
const char *httpd_header_get(const struct httpd_request *req, const char *name);

/*
 * httpd_percent_decode: append the percent-decoding of s[0..len) to out.
 * With plus_space, '+' becomes ' ' (form encoding, for query strings).
 * Returns 0, or -1 for a truncated or non-hex escape or one that decodes
 * to a NUL byte; out then holds the part decoded before the fault.
 */
int httpd_percent_decode(struct strbuf *out, const char *s, size_t len, bool plus_space);

/*
 * httpd_query_get: find the first parameter whose decoded name is name in
 * query ("a=1&b=x%20y", as in req->query) and replace out's content with
 * its decoded value ("" for "b" or "b="). Returns 1 if found, 0 if not
 * (out untouched), -1 if the value's encoding is malformed. Names that do
 * not decode are skipped.
 */
int httpd_query_get(const char *query, const char *name, struct strbuf *out);

#endif
