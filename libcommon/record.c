/*
 * record.c: common record fields and the line discipline (see record.h).
 * The trace ids are formatted once per process, so adding them costs a
 * memcpy per record.
 */
#include "common.h"

#include "record.h"
#include "timefmt.h"

static bool trace_loaded;
static struct tc trace;
static bool have_trace;
static char trace_hex[33], span_hex[17];

const struct tc *rec_trace(void)
{
	if (!trace_loaded) {
		trace_loaded = true;
		int r = tc_from_env(&trace);
		if (r < 0)
			warn("ignoring invalid TRACEPARENT '%s'", getenv("TRACEPARENT"));
		if (r > 0) {
			have_trace = true;
			tc_hex(trace.trace_id, sizeof(trace.trace_id), trace_hex);
			tc_hex(trace.span_id, sizeof(trace.span_id), span_hex);
		}
	}
	return have_trace ? &trace : NULL;
}

static void begin_common(struct jw *w, const char *type, int64_t ts_ns)
{
	char ts[TS_BUFSZ];
	jw_obj_begin(w);
	jw_kv_str(w, "type", type);
	jw_key(w, "ts");
	jw_strn(w, ts_format(ts_ns, ts), TS_BUFSZ - 1);
}

void rec_begin_at(struct jw *w, const char *type, int64_t ts_ns)
{
	begin_common(w, type, ts_ns);
	if (rec_trace()) {
		jw_key(w, "trace_id");
		jw_strn(w, trace_hex, 32);
		jw_key(w, "span_id");
		jw_strn(w, span_hex, 16);
	}
}

void rec_begin_ctx(struct jw *w, const char *type, int64_t ts_ns, const struct tc *ctx)
{
	begin_common(w, type, ts_ns);
	if (ctx) {
		char hex[33];
		jw_key(w, "trace_id");
		jw_strn(w, tc_hex(ctx->trace_id, sizeof(ctx->trace_id), hex), 32);
		jw_key(w, "span_id");
		jw_strn(w, tc_hex(ctx->span_id, sizeof(ctx->span_id), hex), 16);
	}
}

void rec_begin(struct jw *w, const char *type)
{
	rec_begin_at(w, type, ts_now_ns());
}

void rec_end(struct jw *w, struct out *o)
{
	jw_obj_end(w);
	if (!jw_done(w))
		die("record closed with open objects or arrays");
	out_record(o, w->sb);
}
