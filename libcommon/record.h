/*
 * record.h: the head and tail every ofs record shares (DESIGN.md 2).
 *
 * A record is one JSON object on one line: "type" (dotted, tool first),
 * "ts" (RFC 3339 UTC, microseconds), then, when the process runs inside a
 * trace (TRACEPARENT is set and valid), "trace_id" and "span_id" (the
 * caller's span, in which the record was made), then the record's own
 * fields. Typical use:
 *
 *	struct strbuf sb = SB_INIT;
 *	struct jw w;
 *	jw_init(&w, &sb);
 *	rec_begin(&w, "health.check");
 *	jw_kv_str(&w, "service", name);
 *	rec_end(&w, out_stdout());
 */
#ifndef OFS_RECORD_H
#define OFS_RECORD_H

#include <stdint.h>

#include "jw.h"
#include "out.h"
#include "tracectx.h"

/* rec_begin: open the object and write type, ts (now) and trace fields. */
void rec_begin(struct jw *w, const char *type);
/* rec_begin_at: the same with a given time (epoch nanoseconds). */
void rec_begin_at(struct jw *w, const char *type, int64_t ts_ns);
/*
 * rec_begin_ctx: the same with an explicit trace context instead of the
 * environment's: for records about a span of their own (the span record
 * and logs inside a request); ctx NULL writes no trace fields.
 */
void rec_begin_ctx(struct jw *w, const char *type, int64_t ts_ns, const struct tc *ctx);
/* rec_end: close the object and write it to o as one line; resets the
 * writer's buffer for the next record. */
void rec_end(struct jw *w, struct out *o);

/*
 * rec_trace: the trace this process runs in, read once from TRACEPARENT
 * and TRACESTATE; NULL if none. An invalid TRACEPARENT is warned about
 * once and ignored, as the W3C recommendation says (start afresh).
 */
const struct tc *rec_trace(void);

#endif
