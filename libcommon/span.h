/*
 * span.h: the one in-memory span every part of ofs-trace works on, and
 * its readers and writers for the three formats spans arrive in:
 *
 *   native  ofs records {"type":"span",...} as documented in ofs.7
 *           (the example shop writes them)
 *   otlp    OpenTelemetry OTLP/JSON TracesData objects: a whole file, or
 *           one object per line (the collector's file exporter)
 *   zipkin  Zipkin v2 JSON arrays (microseconds; a client and a server
 *           span may share one id, "shared": true on the server side)
 *
 * Readers turn any of them into struct span; writers write struct span in
 * any of them. Ids are kept as raw bytes (a Zipkin 64-bit trace id is
 * left-padded with zeros to 16 bytes); times are epoch nanoseconds.
 */
#ifndef OFS_SPAN_H
#define OFS_SPAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "jw.h"
#include "strbuf.h"

enum span_kind { SPAN_UNSPECIFIED = 0, SPAN_INTERNAL = 1, SPAN_SERVER = 2, SPAN_CLIENT = 3,
		 SPAN_PRODUCER = 4, SPAN_CONSUMER = 5 };
enum span_status { SPAN_UNSET = 0, SPAN_OK = 1, SPAN_ERROR = 2 };
enum span_format { SPAN_FMT_NATIVE, SPAN_FMT_OTLP, SPAN_FMT_ZIPKIN };

/* One attribute; values keep their JSON form (string, number, bool, array). */
struct span_attr {
	char *key;
	cJSON *value; /* owned */
};

struct span {
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint8_t parent_id[8];
	bool has_parent;
	bool shared;             /* Zipkin: server half of a shared client/server id */
	char *service;           /* never NULL ("" when unknown) */
	char *instance;          /* may be NULL */
	char *name;              /* operation; never NULL */
	enum span_kind kind;
	int64_t start_ns;
	int64_t end_ns;          /* >= start_ns */
	enum span_status status;
	char *status_message;    /* may be NULL */
	char *peer_service;      /* remote service (Zipkin remoteEndpoint, native peer_service); may be NULL */
	struct span_attr *attrs; /* other attributes, in input order */
	size_t nattrs;
	const char *source;      /* file name the span came from (not owned) */
	size_t line;             /* line (or first line of the object) it came from */
};

/*
 * span_init: an empty span: zero ids and times, service and name pointing
 * at a shared "" that span_release knows not to free (replace them with
 * xstrdup'd strings, never free them yourself).
 * span_release: free everything the span owns (strings, attrs and their
 * values) and leave it as span_init does.
 */
void span_init(struct span *s);
void span_release(struct span *s);
/* span_copy: deep copy into dst (initialised by this call). */
void span_copy(struct span *dst, const struct span *src);
double span_duration_ms(const struct span *s);
/* span_attr_get: the attribute's value or NULL. */
const cJSON *span_attr_get(const struct span *s, const char *key);
/* span_is_error: status error, or an "error" attribute (Zipkin tags.error). */
bool span_is_error(const struct span *s);
const char *span_kind_name(enum span_kind k);     /* "server", "client", ... "internal"/"unspecified" */
const char *span_status_name(enum span_status s); /* "ok", "error", "unset" */

/*
 * span_parse_value: turn one parsed JSON value (a line of JSONL, or a
 * whole file) into spans, detecting the format: an object with type
 * "span" is native, an object with "resourceSpans" is OTLP, an array of
 * objects with "traceId" and "id" is Zipkin. Each span found is passed
 * to fn (which may keep it only by span_copy: the span is released after
 * the call). Returns the number of spans, or -1 with a reason in err
 * ("not a span record", "resourceSpans[0].scopeSpans[1].spans[3]: traceId
 * must be 32 hex digits") — a bad span inside a batch rejects only that
 * span: the others are passed on, and err says which was dropped.
 * fmt_out (may be NULL) gets the detected format.
 *
 * Details (span.c has the full field mapping): err is appended to, so
 * pass it empty; a batch (OTLP or Zipkin) returns the count of good
 * spans, which may be 0, and leaves err non-empty when any span was
 * dropped ("[2]: id must be 16 hex digits (3 spans dropped)" names the
 * first). The span given to fn borrows its strings and values from v:
 * fn must not free or keep them. Times are accepted from 0 to 9.2e18 ns
 * (the year 2261); attribute values nested deeper than 16 levels are
 * refused, so every writer can always express what a reader accepted.
 */
typedef void span_fn(struct span *s, void *ctx);
int span_parse_value(const cJSON *v, const char *source, size_t line, span_fn *fn, void *ctx,
		     enum span_format *fmt_out, struct strbuf *err);

/*
 * span_read_file: read spans from path ("-" stdin; gzip transparent),
 * line by line (native, OTLP file-exporter JSONL, one Zipkin array per
 * line) or, when the first non-blank byte starts a value that spans
 * several lines (a pretty-printed OTLP or Zipkin file), as one document.
 * Bad lines or spans are reported "FILE:LINE: reason", counted through
 * jsonl's totals (so jsonl_exit_status applies) and skipped; with strict
 * the first ends reading (-1). Returns spans read, or -1.
 */
long span_read_file(const char *path, bool strict, span_fn *fn, void *ctx);

/*
 * Writers: one span as one record / object (the caller adds the line end).
 * span_write_native: the ofs.7 span record: type, ts (the start), trace_id,
 * span_id, parent_span_id, service, instance, name, kind, start_ns (a
 * string), duration_ms, status, error (the status message), peer_service,
 * shared (only when true) and the other attributes in an "attributes"
 * object (the reader takes unknown top-level fields such as the shop's
 * http_method as attributes too).
 */
void span_write_native(struct jw *w, const struct span *s);
/* span_write_otlp: a whole TracesData object holding spans[0..n), one
 * resourceSpans per (service, instance) in order of first appearance;
 * lowercase ids, nanoseconds as strings, peer_service as the attribute
 * peer.service. The shared flag has no OTLP form and is not written. */
void span_write_otlp(struct jw *w, const struct span *const *spans, size_t n);
/* span_write_zipkin: a Zipkin v2 JSON array holding spans[0..n):
 * microseconds, lowercase ids (a trace id whose high half is zero as 16
 * digits), attributes as string tags, instance as tag service.instance.id,
 * status ok as tag otel.status_code "OK", error as tag error (the message). */
void span_write_zipkin(struct jw *w, const struct span *const *spans, size_t n);

/* span_hex_id: parse 2n hex digits (any case) into n bytes; a shorter
 * Zipkin id (16 digits for a 16-byte field) is left-padded with zeros.
 * Returns 0, or -1 if not hex, the wrong length or all zero. */
int span_hex_id(const char *hex, uint8_t *out, size_t n);

#endif
