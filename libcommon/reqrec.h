/*
 * reqrec.h: an HTTP request as ofs records carry it, read back so that it
 * can be sent again.
 *
 * ofs-replay's replay.exchange records hold a request under "request",
 * and ofs-split send also reads bare request records; both have the same
 * members: "method" (required, letters only), "path" (required, starting
 * with '/', no blank or control character), "headers" (an object of
 * string values, optional) and the body as "body" (text) or
 * "body_base64" (bytes), optional. ofs-replay play and ofs-split send
 * read it with reqrec_parse, so a request is valid for one exactly when
 * it is valid for the other, and rejected with the same message naming
 * the member's JSON pointer ("/request/path: missing or not starting
 * with '/'").
 */
#ifndef OFS_REQREC_H
#define OFS_REQREC_H

#include <stdbool.h>

#include <cJSON.h>

#include "strbuf.h"

struct reqrec {
	char *method;         /* owned: upper case */
	const char *path;     /* the record's string: valid while the cJSON lives */
	const cJSON *headers; /* an object whose values are all strings, or NULL;
				 part of the record */
	struct strbuf body;   /* the body, base64 decoded; empty when none */
	bool has_body;        /* "body" or "body_base64" was there */
};

/*
 * reqrec_parse: read the request members of the object o into rr (whose
 * previous contents are not freed). where is the JSON pointer of o for
 * messages: "/request" or "" for a bare record. Returns 0, or -1 with one
 * line appended to err (rr then holds nothing to free). rr points into o:
 * keep o alive while rr is used. Free with reqrec_release.
 */
int reqrec_parse(struct reqrec *rr, const cJSON *o, const char *where, struct strbuf *err);

/* reqrec_release: free what rr owns; it is then empty. */
void reqrec_release(struct reqrec *rr);

/*
 * reqrec_body: the body of o ("body" text or "body_base64" bytes) into
 * sb. Returns 1 if there was one, 0 if neither member is there (or both
 * are null), -1 with "WHERE/body: must be a string" or
 * "WHERE/body_base64: must be a base64 string" appended to err. Also for
 * responses (where "/response").
 */
int reqrec_body(const cJSON *o, const char *where, struct strbuf *sb, struct strbuf *err);

/*
 * reqrec_headers: o's "headers" object into *out (NULL when missing or
 * null). Returns 0, or -1 with "WHERE/headers: must be an object" or
 * "WHERE/headers/NAME: must be a string" appended to err.
 */
int reqrec_headers(const cJSON *o, const char *where, const cJSON **out, struct strbuf *err);

/* reqrec_is_write: whether method (upper case) changes the world: POST,
 * PUT, PATCH or DELETE (what replays and shadows leave out by default). */
bool reqrec_is_write(const char *method);

/*
 * reqrec_hop_by_hop: whether a recorded request header must not be sent
 * again as it is: the hop-by-hop fields (RFC 9110 7.6.1), Host and
 * Content-Length (the client sets them for the new connection and body)
 * and Expect. name is compared without regard to case.
 */
bool reqrec_hop_by_hop(const char *name);

#endif
