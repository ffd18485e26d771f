/*
 * test_span.c: unit tests for span.c: the interop fixtures (OTLP and
 * Zipkin files written by other projects), the native records the
 * example shop writes, rejection reasons, the three writers and round
 * trips between the formats.
 */
#include "common.h"
#include <fcntl.h>

#include "jsonl.h"
#include "span.h"
#include "tap.h"

struct coll {
	struct span *v;
	size_t n, alloc;
};

static void collect(struct span *s, void *ctx)
{
	struct coll *c = ctx;
	ALLOC_GROW(c->v, c->n + 1, c->alloc);
	span_copy(&c->v[c->n++], s);
}

static void coll_free(struct coll *c)
{
	for (size_t i = 0; i < c->n; i++)
		span_release(&c->v[i]);
	free(c->v);
	memset(c, 0, sizeof(*c));
}

/* Parse JSON text and pass it to span_parse_value; err gets the reason. */
static int parse_text(const char *text, struct coll *c, struct strbuf *err, enum span_format *fmt)
{
	cJSON *v = cJSON_Parse(text);
	if (!v) {
		sb_addstr(err, "test input is not JSON");
		return -2;
	}
	int n = span_parse_value(v, "test", 1, collect, c, fmt, err);
	cJSON_Delete(v);
	return n;
}

static char fixture_dir[PATH_MAX];

static const char *fixture(const char *name)
{
	static char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%s", fixture_dir, name);
	return path;
}

static char *hex(const uint8_t *p, size_t n)
{
	static char buf[4][33];
	static int k;
	char *out = buf[k++ % 4];
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", p[i]);
	return out;
}

static char *json_text(const cJSON *v)
{
	static char buf[256];
	char *t = v ? cJSON_PrintUnformatted(v) : NULL;
	snprintf(buf, sizeof(buf), "%s", t ? t : "(none)");
	cJSON_free(t);
	return buf;
}

static char *write_one(int fmt, const struct span *s)
{
	struct strbuf sb = SB_INIT;
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
		die("writer left values open");
	return sb_detach(&sb, NULL);
}

/* An attribute value as Zipkin carries it: its text. */
static char *as_text(const cJSON *v)
{
	if (cJSON_IsString(v))
		return xstrdup(v->valuestring);
	char *t = cJSON_PrintUnformatted(v);
	char *r = xstrdup(t);
	cJSON_free(t);
	return r;
}

/* The first difference between two spans, or "" (stringly: Zipkin tags). */
static const char *span_diff(const struct span *a, const struct span *b, bool stringly)
{
	static char why[160];
	if (memcmp(a->trace_id, b->trace_id, 16))
		return "trace_id";
	if (memcmp(a->span_id, b->span_id, 8))
		return "span_id";
	if (a->has_parent != b->has_parent || (a->has_parent && memcmp(a->parent_id, b->parent_id, 8)))
		return "parent";
	if (strcmp(a->service, b->service))
		return "service";
	if ((a->instance == NULL) != (b->instance == NULL) ||
	    (a->instance && strcmp(a->instance, b->instance)))
		return "instance";
	if (strcmp(a->name, b->name))
		return "name";
	if (a->kind != b->kind)
		return "kind";
	if (a->start_ns != b->start_ns)
		return "start_ns";
	if (a->end_ns != b->end_ns)
		return "end_ns";
	if (a->status != b->status)
		return "status";
	if ((a->status_message == NULL) != (b->status_message == NULL) ||
	    (a->status_message && strcmp(a->status_message, b->status_message)))
		return "status_message";
	if ((a->peer_service == NULL) != (b->peer_service == NULL) ||
	    (a->peer_service && strcmp(a->peer_service, b->peer_service)))
		return "peer_service";
	if (a->nattrs != b->nattrs)
		return "nattrs";
	for (size_t i = 0; i < a->nattrs; i++) {
		if (strcmp(a->attrs[i].key, b->attrs[i].key)) {
			snprintf(why, sizeof(why), "attr key %zu", i);
			return why;
		}
		bool same;
		if (stringly) {
			char *x = as_text(a->attrs[i].value), *y = as_text(b->attrs[i].value);
			same = !strcmp(x, y) && cJSON_IsString(b->attrs[i].value);
			free(x);
			free(y);
		} else {
			same = cJSON_Compare(a->attrs[i].value, b->attrs[i].value, true);
		}
		if (!same) {
			snprintf(why, sizeof(why), "attr '%s'", a->attrs[i].key);
			return why;
		}
	}
	return "";
}

static void test_fixtures(void)
{
	struct coll c = { 0 };
	size_t bad0 = jsonl_total_bad();

	is_int(span_read_file(fixture("otlp/trace.json"), false, collect, &c), 1,
	       "otlp/trace.json: one span, read as one document");
	if (c.n == 1) {
		struct span *s = &c.v[0];
		is_str(hex(s->trace_id, 16), "5b8efff798038103d269b633813fc60c", "uppercase trace id read");
		is_str(hex(s->span_id, 8), "eee19b7ec3c1b174", "span id");
		ok(s->has_parent, "has a parent");
		is_str(hex(s->parent_id, 8), "eee19b7ec3c1b173", "parent id");
		is_str(s->service, "my.service", "service from resource service.name");
		ok(s->instance == NULL, "no instance");
		is_str(s->name, "I'm a server span", "name");
		is_int(s->kind, SPAN_SERVER, "kind 2 is server");
		is_int(s->start_ns, 1544712660000000000LL, "start from a nanosecond string");
		is_int(s->end_ns, 1544712661000000000LL, "end");
		is_double(span_duration_ms(s), 1000.0, 0, "duration 1000 ms");
		is_int(s->status, SPAN_UNSET, "no status is unset");
		is_int((long long)s->nattrs, 1, "scope attribute not taken, span attribute is");
		is_str(json_text(span_attr_get(s, "my.span.attr")), "\"some value\"", "span attribute");
		is_int((long long)s->line, 1, "line of the document");
		ok(s->source && strstr(s->source, "otlp/trace.json"), "source is the file name");
	}
	coll_free(&c);
	is_int((long long)(jsonl_total_bad() - bad0), 0, "no bad lines in trace.json");

	is_int(span_read_file(fixture("otlp/logs.json"), false, collect, &c), 0,
	       "otlp/logs.json holds no spans");
	is_int((long long)(jsonl_total_bad() - bad0), 1, "logs.json counted as one bad record");
	is_int(span_read_file(fixture("otlp/events.json"), false, collect, &c), 0,
	       "otlp/events.json holds no spans");
	is_int((long long)(jsonl_total_bad() - bad0), 2, "events.json counted as one bad record");
	is_int(span_read_file(fixture("otlp/logs.json"), true, collect, &c), -1,
	       "strict: logs.json is an error");
	is_int((long long)c.n, 0, "nothing collected from log files");

	is_int(span_read_file(fixture("zipkin/skew.json"), false, collect, &c), 4,
	       "zipkin/skew.json: four spans");
	if (c.n == 4) {
		is_str(hex(c.v[0].trace_id, 16), "00000000000000001e223ff1f80f1c69",
		       "64-bit trace id left-padded");
		is_int(c.v[0].kind, SPAN_INTERNAL, "no kind is a local (internal) span");
		is_str(c.v[0].service, "serviceb", "localEndpoint.serviceName");
		is_int(c.v[0].start_ns, 1470150004008762000LL, "microseconds to nanoseconds");
		is_int(c.v[0].end_ns - c.v[0].start_ns, 65000000LL, "duration 65000 us");
		is_str(c.v[0].name, "async", "name");
		ok(c.v[1].shared && !c.v[3].shared, "shared only on the server half");
		is_int(c.v[1].kind, SPAN_SERVER, "SERVER");
		is_int(c.v[3].kind, SPAN_CLIENT, "CLIENT");
		ok(!c.v[2].has_parent, "the root has no parent");
		is_str(hex(c.v[1].span_id, 8), hex(c.v[3].span_id, 8), "client and server share an id");
		ok(c.v[0].peer_service == NULL, "no remote endpoint");
		is_int((long long)c.v[2].nattrs, 0, "no tags");
	}
	coll_free(&c);

	is_int(span_read_file(fixture("zipkin/simple-db-p6.json"), false, collect, &c), 5,
	       "zipkin/simple-db-p6.json: five spans");
	if (c.n == 5) {
		int to_db = 0;
		for (size_t i = 0; i < c.n; i++)
			to_db += c.v[i].peer_service && !strcmp(c.v[i].peer_service, "app_db");
		is_int(to_db, 4, "four client spans to app_db");
		is_str(c.v[0].service, "bootifulmeters", "service");
		is_str(json_text(span_attr_get(&c.v[2], "sql.query")),
		       "\"call next value for hibernate_sequence\"", "tag as attribute");
		ok(c.v[3].peer_service == NULL, "remoteEndpoint without serviceName gives no peer");
		is_int((long long)c.v[3].nattrs, 6, "six tags on the server span");
		is_str(json_text(span_attr_get(&c.v[3], "http.path")), "\"/book\"", "http.path tag");
		is_int(c.v[3].end_ns - c.v[3].start_ns, 252016000LL, "server duration");
		is_int((long long)c.v[3].line, 1, "document spans carry its first line");
	}
	coll_free(&c);
	is_int((long long)(jsonl_total_bad() - bad0), 3, "only the three log files were bad");
}

static const char shop_line[] =
	"{\"type\":\"span\",\"ts\":\"2026-11-22T02:31:00.123456Z\","
	"\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"span_id\":\"00f067aa0ba902b7\","
	"\"parent_span_id\":\"a1b2c3d4e5f60718\",\"service\":\"orders\",\"instance\":\"orders-1\","
	"\"name\":\"POST /orders\",\"kind\":\"server\",\"start_ns\":\"1795314660123456789\","
	"\"duration_ms\":12.5,\"status\":\"error\",\"http_method\":\"POST\",\"http_path\":\"/orders\","
	"\"http_status\":502,\"peer_service\":\"payments\",\"peer_instance\":\"payments-2\","
	"\"error\":\"payments: 502\"}";

static void test_native(void)
{
	struct coll c = { 0 };
	struct strbuf err = SB_INIT;
	enum span_format fmt = SPAN_FMT_OTLP;
	is_int(parse_text(shop_line, &c, &err, &fmt), 1, "a shop span line");
	is_str(err.buf, "", "no error");
	is_int(fmt, SPAN_FMT_NATIVE, "detected as native");
	if (c.n == 1) {
		struct span *s = &c.v[0];
		is_str(hex(s->trace_id, 16), "4bf92f3577b34da6a3ce929d0e0e4736", "trace_id");
		is_str(hex(s->span_id, 8), "00f067aa0ba902b7", "span_id");
		is_str(hex(s->parent_id, 8), "a1b2c3d4e5f60718", "parent_span_id");
		is_str(s->service, "orders", "service");
		is_str(s->instance, "orders-1", "instance");
		is_str(s->name, "POST /orders", "name");
		is_int(s->kind, SPAN_SERVER, "kind");
		is_int(s->start_ns, 1795314660123456789LL, "start_ns wins over ts");
		is_int(s->end_ns, 1795314660135956789LL, "end from duration_ms");
		is_int(s->status, SPAN_ERROR, "status");
		is_str(s->status_message, "payments: 502", "error string is the status message");
		is_str(s->peer_service, "payments", "peer_service");
		is_int((long long)s->nattrs, 4, "http_method, http_path, http_status, peer_instance");
		is_str(json_text(span_attr_get(s, "http_status")), "502", "number attribute kept");
		is_str(s->attrs[3].key, "peer_instance", "attributes in input order");
		ok(span_is_error(s), "span_is_error");
		is_str(span_kind_name(s->kind), "server", "span_kind_name");
		is_str(span_status_name(s->status), "error", "span_status_name");

		char *out = write_one(SPAN_FMT_NATIVE, s);
		is_str(out,
		       "{\"type\":\"span\",\"ts\":\"2026-11-22T02:31:00.123456Z\","
		       "\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"span_id\":\"00f067aa0ba902b7\","
		       "\"parent_span_id\":\"a1b2c3d4e5f60718\",\"service\":\"orders\",\"instance\":\"orders-1\","
		       "\"name\":\"POST /orders\",\"kind\":\"server\",\"start_ns\":\"1795314660123456789\","
		       "\"duration_ms\":12.5,\"status\":\"error\",\"error\":\"payments: 502\","
		       "\"peer_service\":\"payments\",\"http_method\":\"POST\","
		       "\"http_path\":\"/orders\",\"http_status\":502,\"peer_instance\":\"payments-2\"}",
		       "native writer output: the shop's own shape, attributes beside the fields");
		free(out);
	}
	coll_free(&c);

	/* ts alone gives the start; no duration means zero; kind absent */
	sb_reset(&err);
	is_int(parse_text("{\"type\":\"span\",\"ts\":\"2026-11-22T02:31:00.5Z\","
			  "\"trace_id\":\"4BF92F3577B34DA6A3CE929D0E0E4736\",\"span_id\":\"00F067AA0BA902B7\","
			  "\"name\":\"x\",\"attributes\":{\"a\":[1,{\"b\":true}]},\"status\":\"OK\"}",
			  &c, &err, NULL),
	       1, "a minimal native span");
	if (c.n == 1) {
		is_int(c.v[0].start_ns, 1795314660500000000LL, "start from ts");
		is_int(c.v[0].end_ns, c.v[0].start_ns, "no duration is zero");
		is_str(c.v[0].service, "", "service defaults to empty");
		is_int(c.v[0].kind, SPAN_UNSPECIFIED, "kind defaults to unspecified");
		ok(!c.v[0].has_parent, "root");
		is_int(c.v[0].status, SPAN_OK, "status OK in any case");
		is_str(json_text(span_attr_get(&c.v[0], "a")), "[1,{\"b\":true}]",
		       "attributes object members are attributes");
	}
	coll_free(&c);
	sb_release(&err);
}

struct bad_case {
	const char *in;
	int ret;
	const char *err;
};

#define NAT_HEAD "{\"type\":\"span\",\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\","
#define NAT_IDS NAT_HEAD "\"span_id\":\"00f067aa0ba902b7\",\"name\":\"n\","
#define OTLP_SPAN(tid, sid, s, e) \
	"{\"traceId\":\"" tid "\",\"spanId\":\"" sid "\",\"startTimeUnixNano\":" s \
	",\"endTimeUnixNano\":" e "}"
#define ZK(tid, id) "{\"traceId\":\"" tid "\",\"id\":\"" id "\",\"timestamp\":1}"

static const struct bad_case bad_cases[] = {
	{ "42", -1, "not a span record" },
	{ "{\"type\":\"log\",\"msg\":\"hi\"}", -1, "not a span record (type 'log')" },
	{ "{\"a\":1}", -1, "not a span record" },
	{ "{\"resourceLogs\":[]}", -1, "not a span record (OTLP logs)" },
	{ "{\"type\":\"span\"}", -1, "missing field 'trace_id'" },
	{ "{\"type\":\"span\",\"trace_id\":\"00000000000000000000000000000000\"}", -1,
	  "trace_id must not be all zero" },
	{ "{\"type\":\"span\",\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e473\"}", -1,
	  "trace_id must be 32 hex digits" },
	{ "{\"type\":\"span\",\"trace_id\":\"4bf92f3577b34da6\"}", -1,
	  "trace_id must be 32 hex digits" },
	{ NAT_HEAD "\"span_id\":\"00f067aa0ba902bg\"}", -1, "span_id must be 16 hex digits" },
	{ NAT_HEAD "\"span_id\":\"0000000000000000\"}", -1, "span_id must not be all zero" },
	{ NAT_HEAD "\"span_id\":\"00f067aa0ba902b7\"}", -1, "missing field 'name'" },
	{ NAT_IDS "\"start_ns\":\"1\",\"parent_span_id\":\"0000000000000000\"}", -1,
	  "parent_span_id must be 16 hex digits, not all zero" },
	{ NAT_IDS "\"duration_ms\":1}", -1, "missing field 'start_ns'" },
	{ NAT_IDS "\"start_ns\":\"-5\"}", -1, "start_ns must be epoch nanoseconds as a decimal string" },
	{ NAT_IDS "\"start_ns\":\"99999999999999999999\"}", -1,
	  "start_ns must be epoch nanoseconds as a decimal string" },
	{ NAT_IDS "\"ts\":\"yesterday\"}", -1, "ts must be an RFC 3339 time" },
	{ NAT_IDS "\"start_ns\":\"1\",\"duration_ms\":-1}", -1, "duration_ms must be a non-negative number" },
	{ NAT_IDS "\"start_ns\":\"1\",\"duration_ms\":\"5\"}", -1, "duration_ms must be a non-negative number" },
	{ NAT_IDS "\"start_ns\":\"1\",\"kind\":\"sideways\"}", -1,
	  "kind must be server, client, producer, consumer or internal" },
	{ NAT_IDS "\"start_ns\":\"1\",\"status\":\"meh\"}", -1, "status must be ok, error or unset" },
	{ NAT_IDS "\"start_ns\":\"1\",\"service\":7}", -1, "service must be a string" },
	{ NAT_IDS "\"start_ns\":1}", 1, "" },
	{ "{\"resourceSpans\":7}", -1, "resourceSpans must be an array" },
	{ "{\"resourceSpans\":[]}", 0, "" },
	{ "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[" OTLP_SPAN(
		  "5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174", "1", "2") "," OTLP_SPAN(
		  "00000000000000000000000000000000", "eee19b7ec3c1b174", "1", "2") "]}]}]}",
	  1, "resourceSpans[0].scopeSpans[0].spans[1]: traceId must not be all zero" },
	{ "{\"resourceSpans\":[{},{\"scopeSpans\":[{},{\"spans\":[" OTLP_SPAN(
		  "5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b17", "1", "2") "]}]}]}",
	  0, "resourceSpans[1].scopeSpans[1].spans[0]: spanId must be 16 hex digits" },
	{ "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[" OTLP_SPAN(
		  "5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174", "\"5\"", "\"4\"") "]}]}]}",
	  0, "resourceSpans[0].scopeSpans[0].spans[0]: endTimeUnixNano is before startTimeUnixNano" },
	{ "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[" OTLP_SPAN(
		  "5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174", "\"x\"", "\"4\"") "]}]}]}",
	  0, "resourceSpans[0].scopeSpans[0].spans[0]: startTimeUnixNano must be nanoseconds as a decimal string or number" },
	{ "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"5b8efff798038103d269b633813fc60c\","
	  "\"spanId\":\"eee19b7ec3c1b174\",\"startTimeUnixNano\":1,\"endTimeUnixNano\":1,\"kind\":9}]}]}]}",
	  0, "resourceSpans[0].scopeSpans[0].spans[0]: kind must be 0 to 5" },
	{ "[]", 0, "" },
	{ "[" ZK("1e223ff1f80f1c69", "43210ae0c10d1234") "," ZK("1e223ff1f80f1c69", "43210ae0c10d1235")
	  "," ZK("1e223ff1f80f1c6", "43210ae0c10d1236") "]",
	  2, "[2]: traceId must be 16 or 32 hex digits" },
	{ "[1," ZK("1e223ff1f80f1c69", "0000000000000000") ",{}]", 0,
	  "[0]: not a Zipkin span object (3 spans dropped)" },
	{ "[{\"traceId\":\"1e223ff1f80f1c69\",\"id\":\"43210ae0c10d1234\"}]", 0,
	  "[0]: missing field 'timestamp'" },
	{ "[{\"traceId\":\"1e223ff1f80f1c69\",\"id\":\"43210ae0c10d1234\",\"timestamp\":1,\"kind\":\"LOCAL\"}]",
	  0, "[0]: kind must be CLIENT, SERVER, PRODUCER or CONSUMER" },
};

static void test_bad(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(bad_cases); i++) {
		struct coll c = { 0 };
		struct strbuf err = SB_INIT;
		int n = parse_text(bad_cases[i].in, &c, &err, NULL);
		char name[80];
		snprintf(name, sizeof(name), "bad case %zu: result", i);
		is_int(n, bad_cases[i].ret, name);
		snprintf(name, sizeof(name), "bad case %zu: reason", i);
		is_str(err.buf, bad_cases[i].err, name);
		is_int((long long)c.n, n > 0 ? n : 0, "spans passed on match the count");
		coll_free(&c);
		sb_release(&err);
	}
}

static void test_otlp_values(void)
{
	static const char in[] =
		"{\"resourceSpans\":[{\"resource\":{\"attributes\":["
		"{\"key\":\"service.name\",\"value\":{\"stringValue\":\"cart\"}},"
		"{\"key\":\"service.instance.id\",\"value\":{\"stringValue\":\"cart-7\"}},"
		"{\"key\":\"host.name\",\"value\":{\"stringValue\":\"h1\"}}]},"
		"\"scopeSpans\":[{\"spans\":[{\"traceId\":\"5B8efff798038103d269b633813FC60C\","
		"\"spanId\":\"EEE19b7ec3c1b174\",\"parentSpanId\":\"\",\"name\":\"get\",\"kind\":3,"
		"\"startTimeUnixNano\":1544712660000000000,\"endTimeUnixNano\":\"1544712660000000500\","
		"\"status\":{\"code\":2,\"message\":\"boom\"},\"events\":[{\"name\":\"e\"}],"
		"\"links\":[{\"traceId\":\"x\"}],\"attributes\":["
		"{\"key\":\"s\",\"value\":{\"stringValue\":\"str\"}},"
		"{\"key\":\"i\",\"value\":{\"intValue\":\"42\"}},"
		"{\"key\":\"in\",\"value\":{\"intValue\":-7}},"
		"{\"key\":\"big\",\"value\":{\"intValue\":\"9007199254740993\"}},"
		"{\"key\":\"d\",\"value\":{\"doubleValue\":1.5}},"
		"{\"key\":\"ds\",\"value\":{\"doubleValue\":\"2.25\"}},"
		"{\"key\":\"b\",\"value\":{\"boolValue\":true}},"
		"{\"key\":\"arr\",\"value\":{\"arrayValue\":{\"values\":[{\"intValue\":\"1\"},{\"stringValue\":\"a\"},"
		"{\"arrayValue\":{}}]}}},"
		"{\"key\":\"kv\",\"value\":{\"kvlistValue\":{\"values\":[{\"key\":\"k\",\"value\":{\"boolValue\":false}},"
		"{\"key\":\"n\",\"value\":{\"kvlistValue\":{\"values\":[{\"key\":\"x\",\"value\":{\"doubleValue\":0.5}}]}}}]}}},"
		"{\"key\":\"bytes\",\"value\":{\"bytesValue\":\"aGVsbG8=\"}},"
		"{\"key\":\"empty\",\"value\":{}},"
		"{\"key\":\"peer.service\",\"value\":{\"stringValue\":\"db\"}}"
		"]}]}]}]}";
	static const struct {
		const char *key, *json;
	} want[] = {
		{ "s", "\"str\"" }, { "i", "42" }, { "in", "-7" }, { "big", "\"9007199254740993\"" },
		{ "d", "1.5" }, { "ds", "2.25" }, { "b", "true" }, { "arr", "[1,\"a\",[]]" },
		{ "kv", "{\"k\":false,\"n\":{\"x\":0.5}}" }, { "bytes", "\"aGVsbG8=\"" }, { "empty", "null" },
	};
	struct coll c = { 0 };
	struct strbuf err = SB_INIT;
	enum span_format fmt = SPAN_FMT_NATIVE;
	is_int(parse_text(in, &c, &err, &fmt), 1, "OTLP span with every AnyValue kind");
	is_str(err.buf, "", "no error");
	is_int(fmt, SPAN_FMT_OTLP, "detected as OTLP");
	if (c.n == 1) {
		struct span *s = &c.v[0];
		is_str(hex(s->trace_id, 16), "5b8efff798038103d269b633813fc60c", "mixed-case trace id");
		ok(!s->has_parent, "empty parentSpanId is a root");
		is_str(s->service, "cart", "service.name");
		is_str(s->instance, "cart-7", "service.instance.id is the instance");
		is_int(s->kind, SPAN_CLIENT, "kind 3 is client");
		is_int(s->start_ns, 1544712660000000000LL, "start as a JSON number");
		is_int(s->end_ns, 1544712660000000500LL, "end as a string, exact");
		is_int(s->status, SPAN_ERROR, "status code 2");
		is_str(s->status_message, "boom", "status message");
		is_str(s->peer_service, "db", "peer.service attribute is peer_service");
		is_int((long long)s->nattrs, (long long)ARRAY_SIZE(want), "attribute count");
		for (size_t i = 0; i < ARRAY_SIZE(want); i++)
			is_str(json_text(span_attr_get(s, want[i].key)), want[i].json, want[i].key);
		/* and back out: the OTLP writer's AnyValues read back the same */
		char *out = write_one(SPAN_FMT_OTLP, s);
		struct coll c2 = { 0 };
		is_int(parse_text(out, &c2, &err, NULL), 1, "OTLP output re-parses");
		if (c2.n == 1)
			is_str(span_diff(s, &c2.v[0], false), "", "OTLP -> OTLP keeps everything");
		ok(strstr(out, "\"intValue\":\"42\"") && strstr(out, "\"doubleValue\":1.5") &&
			   strstr(out, "\"traceId\":\"5b8efff798038103d269b633813fc60c\"") &&
			   strstr(out, "\"startTimeUnixNano\":\"1544712660000000000\""),
		   "OTLP output: int64 as strings, lowercase ids");
		coll_free(&c2);
		free(out);
	}
	coll_free(&c);
	sb_release(&err);
}

static void test_hex(void)
{
	static const struct {
		const char *in;
		size_t n;
		int ret;
		const char *out;
	} cases[] = {
		{ "0123456789abcdefABCDEF0123456789", 16, 0, "0123456789abcdefabcdef0123456789" },
		{ "1e223ff1f80f1c69", 16, 0, "00000000000000001e223ff1f80f1c69" },
		{ "00F067AA0BA902B7", 8, 0, "00f067aa0ba902b7" },
		{ "00000000000000000000000000000000", 16, -1, NULL },
		{ "0000000000000000", 16, -1, NULL },
		{ "0000000000000000", 8, -1, NULL },
		{ "00f067aa0ba902b", 8, -1, NULL },
		{ "00f067aa0ba902b7a", 8, -1, NULL },
		{ "00f067aa", 8, -1, NULL },
		{ "00f067aa0ba902g7", 8, -1, NULL },
		{ " 0f067aa0ba902b7", 8, -1, NULL },
		{ "", 8, -1, NULL },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		uint8_t out[16] = { 0 };
		int r = span_hex_id(cases[i].in, out, cases[i].n);
		is_int(r, cases[i].ret, cases[i].in);
		if (cases[i].out)
			is_str(hex(out, cases[i].n), cases[i].out, "hex id bytes");
	}
}

/* A span with every field set, times on whole microseconds. */
static void full_span(struct span *s, bool shared)
{
	span_init(s);
	span_hex_id("4bf92f3577b34da6a3ce929d0e0e4736", s->trace_id, 16);
	span_hex_id("00f067aa0ba902b7", s->span_id, 8);
	span_hex_id("a1b2c3d4e5f60718", s->parent_id, 8);
	s->has_parent = true;
	s->shared = shared;
	s->service = xstrdup("checkout");
	s->instance = xstrdup("checkout-3");
	s->name = xstrdup("GET /cart \"x\"\n\xc3\xa9");
	s->kind = SPAN_CONSUMER;
	s->start_ns = 1795314660123456000LL;
	s->end_ns = s->start_ns + 2500000123000LL;
	s->status = SPAN_ERROR;
	s->status_message = xstrdup("timeout");
	s->peer_service = xstrdup("queue");
	static const char *const vals[] = { "\"v\"", "3", "-2.5", "true", "[1,\"two\",{\"three\":3}]",
					    "{\"a\":{\"b\":[null]}}", "\"\"" };
	s->nattrs = ARRAY_SIZE(vals);
	s->attrs = xcalloc(s->nattrs, sizeof(*s->attrs));
	for (size_t i = 0; i < s->nattrs; i++) {
		s->attrs[i].key = xasprintf("k%zu", i);
		s->attrs[i].value = cJSON_Parse(vals[i]);
	}
}

static void round_trip(const struct span *s, int fmt, bool stringly, const char *what)
{
	char *out = write_one(fmt, s);
	struct coll c = { 0 };
	struct strbuf err = SB_INIT;
	char name[128];
	snprintf(name, sizeof(name), "%s: re-parses to one span", what);
	is_int(parse_text(out, &c, &err, NULL), 1, name);
	snprintf(name, sizeof(name), "%s: no error", what);
	is_str(err.buf, "", name);
	snprintf(name, sizeof(name), "%s: every field kept", what);
	if (c.n == 1) {
		is_str(span_diff(s, &c.v[0], stringly), "", name);
		snprintf(name, sizeof(name), "%s: shared flag", what);
		is_int(c.v[0].shared, fmt == SPAN_FMT_OTLP ? 0 : s->shared, name);
		/* and native again from what was read */
		char *nat = write_one(SPAN_FMT_NATIVE, &c.v[0]);
		struct coll c2 = { 0 };
		snprintf(name, sizeof(name), "%s -> native: re-parses", what);
		is_int(parse_text(nat, &c2, &err, NULL), 1, name);
		snprintf(name, sizeof(name), "%s -> native: every field kept", what);
		if (c2.n == 1)
			is_str(span_diff(&c.v[0], &c2.v[0], false), "", name);
		coll_free(&c2);
		free(nat);
	}
	coll_free(&c);
	sb_release(&err);
	free(out);
}

static void test_round_trips(void)
{
	struct span s;
	full_span(&s, true);
	round_trip(&s, SPAN_FMT_NATIVE, false, "native");
	round_trip(&s, SPAN_FMT_OTLP, false, "native -> otlp");
	round_trip(&s, SPAN_FMT_ZIPKIN, true, "native -> zipkin");

	struct span c;
	span_copy(&c, &s);
	span_release(&s);
	is_str(c.service, "checkout", "span_copy is deep (service survives the original)");
	is_str(json_text(span_attr_get(&c, "k4")), "[1,\"two\",{\"three\":3}]", "attribute copied");
	span_release(&c);
	ok(c.nattrs == 0 && !strcmp(c.service, "") && !strcmp(c.name, ""),
	   "span_release leaves an initialised span");

	/* other statuses and kinds survive every format */
	static const enum span_status sts[] = { SPAN_UNSET, SPAN_OK, SPAN_ERROR };
	static const enum span_kind kinds[] = { SPAN_INTERNAL, SPAN_SERVER, SPAN_CLIENT, SPAN_PRODUCER };
	for (size_t i = 0; i < ARRAY_SIZE(sts); i++) {
		span_init(&s);
		span_hex_id("1e223ff1f80f1c69", s.trace_id, 16);
		span_hex_id("43210ae0c10d1234", s.span_id, 8);
		s.name = xstrdup("op");
		s.kind = kinds[i];
		s.status = sts[i];
		s.start_ns = 1000;
		s.end_ns = 1000;
		round_trip(&s, SPAN_FMT_NATIVE, false, span_status_name(sts[i]));
		round_trip(&s, SPAN_FMT_OTLP, false, span_status_name(sts[i]));
		round_trip(&s, SPAN_FMT_ZIPKIN, true, span_status_name(sts[i]));
		char *z = write_one(SPAN_FMT_ZIPKIN, &s);
		ok(strstr(z, "\"traceId\":\"1e223ff1f80f1c69\"") != NULL, "64-bit trace id written as 16 digits");
		free(z);
		span_release(&s);
	}

	/* OTLP groups by resource */
	struct span a[3];
	const struct span *p[3];
	for (int i = 0; i < 3; i++) {
		full_span(&a[i], false);
		free(a[i].service);
		a[i].service = xstrdup(i == 1 ? "b" : "a");
		a[i].span_id[7] = (uint8_t)i + 1;
		p[i] = &a[i];
	}
	struct strbuf sb = SB_INIT;
	struct jw w;
	jw_init(&w, &sb);
	span_write_otlp(&w, p, 3);
	cJSON *v = cJSON_Parse(sb.buf);
	const cJSON *rs = cJSON_GetObjectItem(v, "resourceSpans");
	is_int(cJSON_GetArraySize(rs), 2, "two services, two resourceSpans");
	struct coll got = { 0 };
	struct strbuf err = SB_INIT;
	is_int(span_parse_value(v, "x", 1, collect, &got, NULL, &err), 3, "all three read back");
	if (got.n == 3) {
		is_int(got.v[1].span_id[7], 3, "grouped: the second service comes after");
		is_str(got.v[2].service, "b", "service of the second group");
	}
	coll_free(&got);
	cJSON_Delete(v);
	sb_reset(&sb);
	jw_init(&w, &sb);
	span_write_zipkin(&w, p, 3);
	v = cJSON_Parse(sb.buf);
	is_int(span_parse_value(v, "x", 1, collect, &got, NULL, &err), 3, "zipkin array of three");
	coll_free(&got);
	cJSON_Delete(v);
	sb_reset(&sb);
	jw_init(&w, &sb);
	span_write_otlp(&w, p, 0);
	is_str(sb.buf, "{\"resourceSpans\":[]}", "empty TracesData");
	for (int i = 0; i < 3; i++)
		span_release(&a[i]);
	sb_release(&sb);
	sb_release(&err);
}

static void test_big_attr(void)
{
	size_t big = 10 * 1024 * 1024;
	struct strbuf line = SB_INIT;
	sb_addstr(&line, NAT_IDS "\"kind\":\"client\",\"start_ns\":\"1795314660123456000\",\"big\":\"");
	size_t at = line.len;
	sb_grow(&line, big);
	memset(line.buf + at, 'x', big);
	sb_setlen(&line, at + big);
	sb_addstr(&line, "\"}");
	struct coll c = { 0 };
	struct strbuf err = SB_INIT;
	is_int(parse_text(line.buf, &c, &err, NULL), 1, "a 10 MB attribute");
	if (c.n == 1) {
		const cJSON *b = span_attr_get(&c.v[0], "big");
		is_int(b ? (long long)strlen(b->valuestring) : -1, (long long)big, "all of it");
		round_trip(&c.v[0], SPAN_FMT_NATIVE, false, "10 MB native");
		round_trip(&c.v[0], SPAN_FMT_OTLP, false, "10 MB otlp");
		round_trip(&c.v[0], SPAN_FMT_ZIPKIN, true, "10 MB zipkin");
	}
	coll_free(&c);
	sb_release(&err);
	sb_release(&line);
}

static char tmpdir[] = "/tmp/test_span.XXXXXX";

static const char *write_tmp(const char *name, const char *text)
{
	static char path[128];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f))
		die_errno("cannot write '%s'", path);
	return path;
}

/* Run span_read_file with stderr captured into msgs. */
static long read_capture(const char *path, bool strict, struct coll *c, struct strbuf *msgs)
{
	char cap[128];
	snprintf(cap, sizeof(cap), "%s/stderr", tmpdir);
	fflush(stderr);
	int saved = dup(2);
	int fd = open(cap, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (saved < 0 || fd < 0)
		die_errno("cannot capture stderr");
	dup2(fd, 2);
	close(fd);
	long n = span_read_file(path, strict, collect, c);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	sb_reset(msgs);
	if (sb_read_file(msgs, cap) < 0)
		die_errno("cannot read '%s'", cap);
	unlink(cap);
	return n;
}

static void test_read_file(void)
{
	if (!mkdtemp(tmpdir))
		die_errno("mkdtemp");
	struct coll c = { 0 };
	struct strbuf msgs = SB_INIT;
	char want[512];
	const char *mixed = write_tmp("mixed.jsonl",
		NAT_IDS "\"start_ns\":\"1\"}\n"
		"\n"
		"{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[" OTLP_SPAN("5b8efff798038103d269b633813fc60c",
			"eee19b7ec3c1b174", "1", "2") "]}]}]}\r\n"
		"[" ZK("1e223ff1f80f1c69", "43210ae0c10d1234") "," ZK("1e223ff1f80f1c69", "43210ae0c10d1235") "]\n"
		"{\"type\":\"span\",\n"
		"{\"type\":\"log\"} x\n"
		"[" ZK("1e223ff1f80f1c69", "43210ae0c10d1234") "," ZK("1e223ff1f80f1c69", "0000000000000000") "]\n"
		NAT_IDS "\"start_ns\":\"7\"}");
	size_t bad0 = jsonl_total_bad();
	is_int(read_capture(mixed, false, &c, &msgs), 6, "mixed JSONL: every good span");
	is_int((long long)(jsonl_total_bad() - bad0), 3, "three bad lines counted");
	snprintf(want, sizeof(want),
		 "%s: %s:5: invalid JSON: unexpected end of line\n"
		 "%s: %s:6: trailing data after the JSON value at column 16\n"
		 "%s: %s:7: [1]: id must not be all zero\n",
		 ofs_progname, mixed, ofs_progname, mixed, ofs_progname, mixed);
	is_str(msgs.buf, want, "FILE:LINE: reason for each bad line");
	if (c.n == 6) {
		is_int((long long)c.v[0].line, 1, "native on line 1");
		is_int((long long)c.v[1].line, 3, "OTLP on line 3 (blank line counted)");
		is_int((long long)c.v[2].line, 4, "Zipkin on line 4");
		is_int((long long)c.v[4].line, 7, "the good span of a batch with a bad one");
		is_int((long long)c.v[5].line, 8, "last line without a newline");
		is_int(c.v[5].start_ns, 7, "its start");
	}
	coll_free(&c);

	is_int(read_capture(mixed, true, &c, &msgs), -1, "strict: the first bad line ends reading");
	is_int((long long)c.n, 4, "spans before it were passed on");
	coll_free(&c);

	const char *pretty = write_tmp("pretty.json",
		"\n[\n  " ZK("1e223ff1f80f1c69", "43210ae0c10d1234") ",\n  {\"traceId\": 5,\n"
		"   \"id\": \"43210ae0c10d1235\", \"timestamp\": 3}\n]\n"
		"{\n \"resourceSpans\": []\n}\n");
	is_int(read_capture(pretty, false, &c, &msgs), 1, "pretty document: one good span");
	snprintf(want, sizeof(want), "%s: %s:2: [1]: traceId must be 16 or 32 hex digits\n",
		 ofs_progname, pretty);
	is_str(msgs.buf, want, "a bad span in a document is reported at the document's line");
	if (c.n == 1)
		is_int((long long)c.v[0].line, 2, "document spans carry the document's first line");
	coll_free(&c);

	const char *broken = write_tmp("broken.json", "{\n  \"resourceSpans\": [\n    {,\n  ]\n}\n");
	is_int(read_capture(broken, false, &c, &msgs), 0, "a broken document gives no spans");
	snprintf(want, sizeof(want), "%s: %s:3: invalid JSON (in the value starting at line 1)\n",
		 ofs_progname, broken);
	is_str(msgs.buf, want, "the syntax error is reported at its line");

	const char *torn = write_tmp("torn.jsonl", "{\"type\":\"span\",\"trace\n"
		NAT_IDS "\"start_ns\":\"1\"}\n" NAT_IDS "\"start_ns\":\"2\"}\n");
	is_int(read_capture(torn, false, &c, &msgs), 2, "a torn first line does not hide the rest");
	snprintf(want, sizeof(want), "%s: %s:1: invalid JSON: unexpected end of line\n", ofs_progname, torn);
	is_str(msgs.buf, want, "the torn line is reported");
	if (c.n == 2)
		is_int((long long)c.v[1].line, 3, "line numbers after the fallback");
	coll_free(&c);

	is_int(read_capture("/nonexistent/spans.jsonl", false, &c, &msgs), -1, "missing file");
	snprintf(want, sizeof(want),
		 "%s: cannot open '/nonexistent/spans.jsonl': No such file or directory\n", ofs_progname);
	is_str(msgs.buf, want, "missing file reason");

	const char *names[] = { "mixed.jsonl", "pretty.json", "broken.json", "torn.jsonl" };
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		char path[128];
		snprintf(path, sizeof(path), "%s/%s", tmpdir, names[i]);
		unlink(path);
	}
	rmdir(tmpdir);
	sb_release(&msgs);
}

int main(void)
{
	ofs_progname = "test_span";
	const char *top = getenv("OFS_TOP");
	if (top && *top)
		snprintf(fixture_dir, sizeof(fixture_dir), "%s/../shared/fixtures", top);
	else
		snprintf(fixture_dir, sizeof(fixture_dir), "../shared/fixtures");

	test_fixtures();
	test_native();
	test_bad();
	test_otlp_values();
	test_hex();
	test_round_trips();
	test_big_attr();
	test_read_file();
	return tap_done();
}
