/*
 * server.h: one running shop instance (`shopd serve`) and the request
 * context its handlers share.
 *
 * The instance is single-threaded: one httpd poll loop. Calls to other
 * services (downstream.h) are made synchronously from the handler, so
 * while an instance waits for a slow downstream it answers nobody else;
 * that is the honest behaviour of a simple service and makes the effect
 * of a latency fault visible upstream. Faulted delays and hangs, by
 * contrast, are handed to httpd (resp->delay_ms, resp->hang) and never
 * block the loop.
 */
#ifndef SHOP_SERVER_H
#define SHOP_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "fault.h"
#include "httpd.h"
#include "route.h"
#include "telemetry.h"
#include "topology.h"
#include "tracectx.h"

struct shop_hung; /* a hung request whose span is written when it ends */

struct shop_server {
	struct shop_topo topo;
	struct shop_service *service;
	struct shop_instance *instance; /* in topo, or &standalone */
	struct shop_instance standalone; /* serve --service: not in the topology */
	char *standalone_id;
	const char *version;  /* --version: in /health and the Shop-Version header */
	char *dir;   /* absolute run directory */
	char *store; /* DIR/store/SERVICE */
	struct shop_tel tel;
	struct shop_fault fault;
	struct shop_routes routes; /* POST /admin/route */
	struct httpd *httpd;
	unsigned *rr;	 /* per service index: the next instance to call */
	int exit_code;	 /* exit fault pending: the status; -1 when none */
	char *exit_peer; /* the connection whose answer triggers the exit */
	bool exiting;	 /* that answer went out: leave the loop */
	struct shop_hung *hung;
	size_t nhung, ahung;
};

#define SHOP_REQ_MAX_FIELDS 8

/* The context of one request, from arrival to the span record. */
struct shop_req {
	struct shop_server *srv;
	struct httpd_request *http;
	struct httpd_response *resp;
	struct tc span; /* this request's server span */
	bool has_parent;
	uint8_t parent_id[8]; /* the caller's span, when has_parent */
	int64_t start_ns;     /* wall clock at arrival */
	int64_t start_mono_ns;
	const char *idem_key; /* the Idempotency-Key header, or NULL */
	struct strbuf error;  /* why the request failed; empty when it did not */
	struct strbuf msg;    /* the request's log message; empty: a default */
	const char *field_keys[SHOP_REQ_MAX_FIELDS]; /* extra log fields */
	char *field_vals[SHOP_REQ_MAX_FIELDS];
	int nfields;
};

/*
 * shop_reply: answer status with the JSON text json (a complete value)
 * and the JSON content type.
 */
void shop_reply(struct shop_req *r, int status, const char *json);

/*
 * shop_reply_error: answer status with {"error": message}; message also
 * becomes the request's error (see shop_req_error).
 */
void shop_reply_error(struct shop_req *r, int status, const char *message);

/* shop_req_error: set why the request failed: the log's "error", and the
 * span's when the status is 500 or more. */
void shop_req_error(struct shop_req *r, const char *message);

/* shop_req_field: add a string field (copied) to the request's log record. */
void shop_req_field(struct shop_req *r, const char *key, const char *value);

#endif
