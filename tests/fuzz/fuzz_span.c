/*
 * fuzz_span.c: libFuzzer target for the span readers and writers. The
 * input is parsed as one JSON value and given to span_parse_value; every
 * span it yields is written by all three writers, and each output must
 * parse again to exactly one span with the same ids and kind (and, for
 * native and OTLP, the same start, end, status and kind): a writer may never emit
 * something its own reader refuses.
 */
#include "common.h"

#include "span.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct check {
	const struct span *orig;
	int seen;
	bool exact;
};

static void check_back(struct span *s, void *ctx)
{
	struct check *c = ctx;
	const struct span *o = c->orig;
	c->seen++;
	if (memcmp(s->trace_id, o->trace_id, 16) || memcmp(s->span_id, o->span_id, 8) ||
	    s->has_parent != o->has_parent ||
	    (o->has_parent && memcmp(s->parent_id, o->parent_id, 8)))
		abort();
	if (c->exact && (s->start_ns != o->start_ns || s->status != o->status || s->kind != o->kind))
		abort();
	/* native durations are double milliseconds: exact up to 2^50 ns */
	if (c->exact && o->end_ns - o->start_ns < (1LL << 50) && s->end_ns != o->end_ns)
		abort();
}

static void reparse(const struct span *s, int fmt)
{
	struct strbuf sb = SB_INIT, err = SB_INIT;
	struct jw w;
	jw_init(&w, &sb);
	const struct span *arr[1] = { s };
	if (fmt == SPAN_FMT_NATIVE)
		span_write_native(&w, s);
	else if (fmt == SPAN_FMT_OTLP)
		span_write_otlp(&w, arr, 1);
	else
		span_write_zipkin(&w, arr, 1);
	if (!jw_done(&w))
		abort();
	cJSON *v = cJSON_ParseWithLength(sb.buf, sb.len);
	if (!v)
		abort();
	struct check c = { s, 0, fmt != SPAN_FMT_ZIPKIN };
	enum span_format got;
	int n = span_parse_value(v, "back", 1, check_back, &c, &got, &err);
	if (n != 1 || c.seen != 1 || err.len || got != (enum span_format)fmt)
		abort();
	cJSON_Delete(v);
	sb_release(&sb);
	sb_release(&err);
}

static void each(struct span *s, void *ctx)
{
	int *count = ctx;
	(*count)++;
	if (s->end_ns < s->start_ns || !s->service || !s->name)
		abort();
	struct span copy;
	span_copy(&copy, s);
	reparse(&copy, SPAN_FMT_NATIVE);
	reparse(&copy, SPAN_FMT_OTLP);
	reparse(&copy, SPAN_FMT_ZIPKIN);
	span_release(&copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *v = cJSON_ParseWithLength((const char *)data, size);
	if (!v)
		return 0;
	struct strbuf err = SB_INIT;
	int count = 0;
	int n = span_parse_value(v, "fuzz", 1, each, &count, NULL, &err);
	if (n != (n < 0 ? -1 : count) || (n < 0 && !err.len))
		abort();
	cJSON_Delete(v);
	sb_release(&err);
	return 0;
}
