/*
 * exchange.h: the replay.exchange record, shared by every ofs-replay
 * command that captures traffic (record, import) and those that read
 * captures back (play).
 *
 * One record is one HTTP exchange:
 *
 *   {"type":"replay.exchange","ts":"<request start>","id":"<id>",
 *    "source":"record|goreplay|har|nginx",
 *    "request":{"method":"POST","path":"/orders?x=1",
 *               "headers":{"content-type":"application/json"},"body":"..."},
 *    "response":{"status":201,"headers":{...},"body":"..."},
 *    "replayed":{...same shape as response...},
 *    "latency_ms":3.2}
 *
 * Header names are lower-cased and repeated headers are joined with ", "
 * (in first-seen order). A body that is valid UTF-8 without NUL bytes is
 * written as text in "body", any other as base64 in "body_base64"; an
 * empty body is left out. "response" is absent when no response is known,
 * "replayed" when there was no replayed response, "latency_ms" when the
 * latency is unknown. A response known only by its size (nginx logs) has
 * "bytes" and no headers or body. "error" says why a recording proxy got
 * no response from its upstream.
 *
 * Ownership: a struct exchange owns every string and buffer it holds
 * (xch_release frees them); "source" points to a static string.
 */
#ifndef OFS_REPLAY_EXCHANGE_H
#define OFS_REPLAY_EXCHANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "strbuf.h"

struct xch_header {
	char *name;  /* lower case */
	char *value;
};

struct xch_headers {
	struct xch_header *v;
	size_t n, alloc;
};

/* A request, response or replayed response. */
struct xch_msg {
	bool present;              /* responses only: false when none is known */
	int status;                /* responses: the HTTP status */
	int64_t bytes;             /* responses: body size when only that is known, else -1 */
	struct xch_headers headers;
	struct strbuf body;        /* raw bytes (may hold NULs) */
};

struct exchange {
	int64_t ts_ns;        /* request start, epoch ns */
	char *id;
	const char *source;   /* static: "record", "goreplay", "har", "nginx" */
	char *method;
	char *path;           /* origin-form: path and query */
	struct xch_msg req;
	struct xch_msg resp;
	struct xch_msg replayed;
	double latency_ms;    /* < 0: unknown */
	char *error;          /* NULL, or why no response came */
};

/* xch_init: an empty exchange (nothing allocated). */
void xch_init(struct exchange *x);
/* xch_release: free everything x owns and make it empty again. */
void xch_release(struct exchange *x);

/*
 * xch_header_add: append a header (copies name lower-cased and value;
 * lengths in bytes, so neither needs a NUL).
 */
void xch_header_add(struct xch_headers *h, const char *name, size_t nlen, const char *value,
		    size_t vlen);
/* xch_header_get: the first value of name (any case), or NULL; owned by h. */
const char *xch_header_get(const struct xch_headers *h, const char *name);
/* xch_header_del: remove every header called name (any case); returns how many. */
size_t xch_header_del(struct xch_headers *h, const char *name);
/* xch_headers_release: free the list and leave it empty. */
void xch_headers_release(struct xch_headers *h);

/*
 * xch_write: append x as one JSON object (no newline) to sb, in the shape
 * above, with rec_begin_at (so trace fields come along when TRACEPARENT
 * is set).
 */
void xch_write(const struct exchange *x, struct strbuf *sb);

/*
 * xch_from_json: fill x (initialised by the caller; released first) from
 * a parsed replay.exchange record. Returns 0, or -1 with the reason
 * appended to err ("/request/method: missing"), x then partly filled
 * (release it anyway). Unknown fields are ignored; "ts" must be RFC 3339;
 * "id" and "source" may be absent (id "" and source "record" then).
 */
int xch_from_json(const cJSON *rec, struct exchange *x, struct strbuf *err);

/* xch_utf8_ok: true if s[0..len) is valid UTF-8 (RFC 3629) without NUL bytes. */
bool xch_utf8_ok(const char *s, size_t len);
/*
 * xch_origin_form: append to out the origin-form (path and query) of a
 * request target: "/p?q" as is, "http://h/p?q" as "/p?q", "http://h" as
 * "/", anything else as is. If host is not NULL, the authority of an
 * absolute target is appended to it.
 */
void xch_origin_form(struct strbuf *out, const char *target, struct strbuf *host);

#endif
