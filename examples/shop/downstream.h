/*
 * downstream.h: how a shop instance calls another service.
 *
 * The instances of the called service are taken in turn (round robin,
 * one counter per service in each calling instance). A call that cannot
 * connect is tried once more on the next instance; a call that connected
 * is never repeated, since a POST may have had its effect. Each attempt
 * has a 500 ms connect timeout and a 3 s total timeout, is a client span
 * of its own (a child of the request's server span), and carries that
 * span as `traceparent`, the request's `tracestate`, and the derived
 * Idempotency-Key, if any. A failed attempt is also logged as an error.
 *
 * A route set for the called service (route.h) replaces all of that
 * choosing: the call goes to the route's address, once, whether it
 * connects or not. Its client span and error log name the address
 * (peer_address) instead of an instance, which the caller cannot know
 * behind a proxy, and messages name it "route HOST:PORT".
 *
 * An untraced call (the deep health check's) writes no span and no log
 * and sends no trace headers: health checks are not traced (serve.c).
 */
#ifndef SHOP_DOWNSTREAM_H
#define SHOP_DOWNSTREAM_H

#include <stddef.h>

#include "server.h"
#include "strbuf.h"

#define SHOP_CONNECT_TIMEOUT_MS 500
#define SHOP_CALL_TIMEOUT_MS 3000

struct shop_call {
	/* What to send; set before shop_call_do. */
	const char *service; /* the service to call */
	const char *method, *path;
	const char *body; /* NULL: no body */
	size_t body_len;
	const char *idem_key; /* NULL: no Idempotency-Key */
	bool untraced;	      /* no span, no log, no traceparent */
	/* What came back. */
	long status;	      /* HTTP status; 0 when nothing answered */
	struct strbuf answer; /* the response body */
	char *content_type;   /* NULL if none */
	const char *instance; /* who answered or was tried last: an instance id or
				 "route HOST:PORT"; valid while the topology and
				 routes are unchanged */
	struct strbuf reason; /* when status is 0 or >= 400: why, for messages */
};

/* shop_call_init: a call of method path on service, nothing else set. */
void shop_call_init(struct shop_call *c, const char *service, const char *method, const char *path);

/*
 * shop_call_do: make the call for request r. Returns 0 when some
 * instance answered (c->status says how), -1 when none did (c->reason
 * says why: "no answer: payments-1: connection refused; payments-2:
 * connection refused", or "no answer: route 127.0.0.1:40123: connection
 * refused"). r supplies the server (topology, routes, round robin) and,
 * unless c->untraced, the span the call's span is a child of.
 */
int shop_call_do(struct shop_req *r, struct shop_call *c);

/* shop_call_release: free what the call holds. */
void shop_call_release(struct shop_call *c);

#endif
