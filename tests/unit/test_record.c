/*
 * test_record.c: every record starts with type and ts, and carries the
 * trace ids of a valid TRACEPARENT (and warns once about an invalid one).
 */
#include "common.h"

#include "child.h"
#include "record.h"
#include "tap.h"
#include "timefmt.h"

static int emit_two(void *arg)
{
	struct strbuf sb = SB_INIT;
	struct jw w;
	jw_init(&w, &sb);
	for (int i = 0; i < 2; i++) {
		rec_begin_at(&w, "health.check", 1795314660123456789LL);
		jw_kv_str(&w, "service", "orders");
		rec_end(&w, out_stdout());
	}
	sb_release(&sb);
	return 0;
}

static void test_fields(void)
{
	struct child_result r;
	unsetenv("TRACEPARENT");
	child_run(&r, NULL, emit_two, NULL);
	is_str(r.out.buf,
	       "{\"type\":\"health.check\",\"ts\":\"2026-11-22T02:31:00.123456Z\",\"service\":\"orders\"}\n"
	       "{\"type\":\"health.check\",\"ts\":\"2026-11-22T02:31:00.123456Z\",\"service\":\"orders\"}\n",
	       "type and ts first, then the record's fields, one per line");
	is_str(r.err.buf, "", "nothing on stderr");
	child_release(&r);

	setenv("TRACEPARENT", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", 1);
	child_run(&r, NULL, emit_two, NULL);
	ok(strstr(r.out.buf, "\"ts\":\"2026-11-22T02:31:00.123456Z\","
			     "\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\","
			     "\"span_id\":\"00f067aa0ba902b7\",\"service\"") != NULL,
	   "a valid TRACEPARENT adds trace_id and span_id");
	child_release(&r);

	setenv("TRACEPARENT", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", 1);
	child_run(&r, NULL, emit_two, NULL);
	ok(strstr(r.out.buf, "trace_id") == NULL, "an invalid TRACEPARENT adds nothing");
	is_str(r.err.buf,
	       "test_record: warning: ignoring invalid TRACEPARENT "
	       "'00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01'\n",
	       "and is warned about once");
	child_release(&r);
	unsetenv("TRACEPARENT");
}

static int emit_ctx(void *arg)
{
	struct tc ctx;
	memset(&ctx, 0, sizeof(ctx));
	for (int i = 0; i < 16; i++)
		ctx.trace_id[i] = (uint8_t)(i + 1);
	for (int i = 0; i < 8; i++)
		ctx.span_id[i] = (uint8_t)(0xa0 + i);
	struct strbuf sb = SB_INIT;
	struct jw w;
	jw_init(&w, &sb);
	rec_begin_ctx(&w, "span", 0, &ctx);
	rec_end(&w, out_stdout());
	rec_begin_ctx(&w, "log", 0, NULL);
	rec_end(&w, out_stdout());
	sb_release(&sb);
	return 0;
}

static void test_ctx(void)
{
	struct child_result r;
	child_run(&r, NULL, emit_ctx, NULL);
	is_str(r.out.buf,
	       "{\"type\":\"span\",\"ts\":\"1970-01-01T00:00:00.000000Z\","
	       "\"trace_id\":\"0102030405060708090a0b0c0d0e0f10\",\"span_id\":\"a0a1a2a3a4a5a6a7\"}\n"
	       "{\"type\":\"log\",\"ts\":\"1970-01-01T00:00:00.000000Z\"}\n",
	       "an explicit context gives the span's own ids; none gives none");
	child_release(&r);
}

static int emit_now(void *arg)
{
	struct strbuf sb = SB_INIT;
	struct jw w;
	jw_init(&w, &sb);
	rec_begin(&w, "x.y");
	rec_end(&w, out_stdout());
	sb_release(&sb);
	return 0;
}

static void test_now(void)
{
	struct child_result r;
	int64_t before = ts_now_ns();
	child_run(&r, NULL, emit_now, NULL);
	int64_t after = ts_now_ns();
	const char *ts = strstr(r.out.buf, "\"ts\":\"");
	int64_t t = 0;
	ok(ts && ts_parse(ts + 6, 27, &t) == 0, "ts is RFC 3339 with microseconds");
	ok(t >= before / 1000 * 1000 && t <= after, "and is the time of writing");
	child_release(&r);
}

int main(void)
{
	ofs_progname = "test_record";
	test_fields();
	test_ctx();
	test_now();
	return tap_done();
}
