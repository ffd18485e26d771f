/*
 * telemetry.h: the span and log records a shop instance writes.
 *
 * Every instance of the shop appends to the same two files,
 * DIR/spans.jsonl and DIR/logs.jsonl, with the record shapes of ofs.7
 * ("Spans and logs"), so ofs-trace can read them as they are. Each
 * record is written with one write(2) on a descriptor opened O_APPEND,
 * which keeps lines from different processes whole and unmixed.
 */
#ifndef SHOP_TELEMETRY_H
#define SHOP_TELEMETRY_H

#include <stdbool.h>
#include <stdint.h>

#include "jw.h"
#include "strbuf.h"
#include "tracectx.h"

struct shop_tel {
	int span_fd, log_fd;
	const char *service, *instance; /* borrowed; must outlive the struct */
	struct strbuf sb;
	struct jw w;
	bool failed; /* a write failed (reported once) */
};

/*
 * shop_tel_open: open (creating, mode 0600) DIR/spans.jsonl and
 * DIR/logs.jsonl for appending. service and instance are borrowed.
 * Returns 0, or -1 with a message in err.
 */
int shop_tel_open(struct shop_tel *t, const char *dir, const char *service, const char *instance,
		  struct strbuf *err);
/* shop_tel_close: close the files and free the buffer. */
void shop_tel_close(struct shop_tel *t);

/* One finished span. */
struct shop_span {
	const struct tc *ctx;	  /* trace_id and this span's span_id */
	const uint8_t *parent_id; /* 8 bytes, or NULL for a root */
	const char *name;	  /* "POST /orders" */
	const char *kind;	  /* "server" or "client" */
	int64_t start_ns;	  /* epoch ns; also the record's ts */
	double duration_ms;
	const char *method, *path; /* HTTP request */
	int http_status;	   /* 0: no response */
	const char *peer_service;  /* client spans: the service called */
	const char *peer_instance; /* client spans: the instance tried */
	const char *peer_address;  /* client spans of a routed call: the route's HOST:PORT */
	const char *error;	   /* NULL: status ok; else status error and this text */
};

/* shop_tel_span: write s as a "span" record. */
void shop_tel_span(struct shop_tel *t, const struct shop_span *s);

/*
 * shop_tel_log_begin: start a "log" record with level, service,
 * instance and msg, in the span ctx (NULL: no trace fields). Add further
 * fields with jw_kv_* on the returned writer, then call shop_tel_log_end.
 */
struct jw *shop_tel_log_begin(struct shop_tel *t, const char *level, const struct tc *ctx,
			      const char *msg);
/* shop_tel_log_end: close the record and append it to the log file. */
void shop_tel_log_end(struct shop_tel *t);

#endif
