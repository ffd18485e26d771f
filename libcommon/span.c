/*
 * span.c: the span model and its three formats (see span.h).
 *
 * The read path is built for speed: a value is parsed by cJSON once and
 * the spans handed to the callback borrow their strings and attribute
 * values from that tree, so a native span line costs no allocation
 * beyond cJSON's own (attributes live in a stack array unless a span
 * has more than STACK_ATTRS of them). Only OTLP values that must change
 * shape (an intValue string, an arrayValue, a kvlistValue) get new cJSON
 * nodes, which are freed after the callback. The callback therefore keeps
 * a span only through span_copy, which makes an owning deep copy.
 *
 * Mapping between the formats (what each writer does with each field):
 *   instance      OTLP resource attribute service.instance.id; Zipkin tag
 *                 service.instance.id
 *   peer_service  OTLP span attribute peer.service; Zipkin
 *                 remoteEndpoint.serviceName
 *   status        OTLP status; Zipkin tag otel.status_code "OK" for ok,
 *                 tag error (the message, or "") for error
 *   shared        Zipkin only (OTLP has no such flag; it is not written)
 * OTLP resource attributes other than the two above, scopes, events and
 * links are ignored when read. Zipkin annotations, ipv4/ipv6/port and
 * debug are ignored. Zipkin tags are strings, so other attribute values
 * are written as their JSON text; Zipkin times are microseconds, so
 * nanoseconds below that are lost, and kind unspecified comes back as
 * internal (Zipkin's "local span").
 */
#include "common.h"
#include <math.h>

#include "jsonl.h"
#include "record.h"
#include "span.h"
#include "timefmt.h"
#include "tracectx.h"

/* The shared "" that span_init gives service and name; never freed. */
static char span_empty[1];

#define STACK_ATTRS 32
/* Times are kept below this (the year 2261) so that every computed end
 * and every write and re-read stays inside int64_t. */
#define MAX_NS 9200000000000000000LL
#define MAX_NS_DOUBLE 9.2e18
#define TWO_53 9007199254740992.0

static char *unconst(const char *s)
{
	return (char *)(uintptr_t)s;
}

void span_init(struct span *s)
{
	memset(s, 0, sizeof(*s));
	s->service = span_empty;
	s->name = span_empty;
}

static void free_str(char *p)
{
	if (p != span_empty)
		free(p);
}

void span_release(struct span *s)
{
	free_str(s->service);
	free_str(s->name);
	free(s->instance);
	free(s->status_message);
	free(s->peer_service);
	for (size_t i = 0; i < s->nattrs; i++) {
		free(s->attrs[i].key);
		cJSON_Delete(s->attrs[i].value);
	}
	free(s->attrs);
	span_init(s);
}

static char *dup_or_null(const char *p)
{
	return p ? xstrdup(p) : NULL;
}

void span_copy(struct span *dst, const struct span *src)
{
	*dst = *src;
	dst->service = xstrdup(src->service ? src->service : "");
	dst->name = xstrdup(src->name ? src->name : "");
	dst->instance = dup_or_null(src->instance);
	dst->status_message = dup_or_null(src->status_message);
	dst->peer_service = dup_or_null(src->peer_service);
	dst->attrs = NULL;
	if (src->nattrs) {
		dst->attrs = xcalloc(src->nattrs, sizeof(*dst->attrs));
		for (size_t i = 0; i < src->nattrs; i++) {
			dst->attrs[i].key = xstrdup(src->attrs[i].key);
			dst->attrs[i].value = cJSON_Duplicate(src->attrs[i].value, true);
			if (!dst->attrs[i].value)
				die("out of memory copying attribute '%s'", src->attrs[i].key);
		}
	}
}

double span_duration_ms(const struct span *s)
{
	return (double)(s->end_ns - s->start_ns) / 1e6;
}

const cJSON *span_attr_get(const struct span *s, const char *key)
{
	for (size_t i = 0; i < s->nattrs; i++)
		if (!strcmp(s->attrs[i].key, key))
			return s->attrs[i].value;
	return NULL;
}

bool span_is_error(const struct span *s)
{
	if (s->status == SPAN_ERROR)
		return true;
	const cJSON *e = span_attr_get(s, "error");
	if (!e || cJSON_IsFalse(e) || cJSON_IsNull(e))
		return false;
	if (cJSON_IsString(e) && !strcmp(e->valuestring, "false"))
		return false;
	return true;
}

static const char *const kind_names[] = { "unspecified", "internal", "server",
					  "client", "producer", "consumer" };

const char *span_kind_name(enum span_kind k)
{
	return (unsigned)k < ARRAY_SIZE(kind_names) ? kind_names[k] : "unspecified";
}

const char *span_status_name(enum span_status s)
{
	switch (s) {
	case SPAN_OK: return "ok";
	case SPAN_ERROR: return "error";
	default: return "unset";
	}
}

/* ---- ids and numbers ---- */

/* Hex digit values (either case), -1 for anything else; built once. */
static int8_t hex_table[256];

static void hex_table_init(void)
{
	memset(hex_table, -1, sizeof(hex_table));
	for (int i = 0; i < 10; i++)
		hex_table['0' + i] = (int8_t)i;
	for (int i = 0; i < 6; i++)
		hex_table['a' + i] = hex_table['A' + i] = (int8_t)(10 + i);
}

/*
 * Parse hex into n bytes (n <= 16). allow_short: 16 digits for a 16-byte
 * field, left-padded. Returns 0, -1 bad form, -2 all zero; out is only
 * written on success.
 */
static int hex_id(const char *hex, uint8_t *out, size_t n, bool allow_short)
{
	uint8_t tmp[16] = { 0 };
	if (!hex || n == 0 || n > sizeof(tmp))
		return -1;
	size_t len = strlen(hex), off;
	if (len == 2 * n)
		off = 0;
	else if (allow_short && n == 16 && len == 16)
		off = 8;
	else
		return -1;
	if (hex_table['g'] == 0) /* still zero-filled: not built yet */
		hex_table_init();
	uint8_t any = 0;
	int bad = 0;
	const unsigned char *h = (const unsigned char *)hex;
	for (size_t i = 0; i < len / 2; i++) {
		int hi = hex_table[h[2 * i]], lo = hex_table[h[2 * i + 1]];
		bad |= hi | lo; /* negative if either is not a digit */
		tmp[off + i] = (uint8_t)((hi & 15) << 4 | (lo & 15));
		any |= tmp[off + i];
	}
	if (bad < 0)
		return -1;
	if (!any)
		return -2;
	memcpy(out, tmp, n);
	return 0;
}

int span_hex_id(const char *hex, uint8_t *out, size_t n)
{
	return hex_id(hex, out, n, true) == 0 ? 0 : -1;
}

/* A time from a decimal string or a JSON number: 0 to MAX_NS. */
static int get_uint63(const cJSON *v, int64_t *out)
{
	if (cJSON_IsString(v)) {
		const char *p = v->valuestring;
		if (*p < '0' || *p > '9')
			return -1;
		errno = 0;
		char *end;
		unsigned long long u = strtoull(p, &end, 10);
		if (errno || *end || u > (unsigned long long)MAX_NS)
			return -1;
		*out = (int64_t)u;
		return 0;
	}
	if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;
		if (!isfinite(d) || d < 0 || d >= MAX_NS_DOUBLE)
			return -1;
		*out = (int64_t)d;
		return 0;
	}
	return -1;
}

/* ---- the parse context ---- */

struct pc {
	span_fn *fn;
	void *ctx;
	struct strbuf *err;
	int good, dropped;
	struct span s;
	struct span_attr *attrs; /* stack or heap */
	size_t alloc;
	bool heap;
	cJSON **owned;
	size_t nowned, owned_alloc;
	char reason[256];
	struct span_attr stack[STACK_ATTRS];
};

static void pc_begin(struct pc *pc)
{
	struct span *s = &pc->s;
	const char *source = s->source;
	size_t line = s->line;
	memset(s, 0, sizeof(*s));
	s->service = span_empty;
	s->name = span_empty;
	s->source = source;
	s->line = line;
	s->attrs = pc->attrs;
}

static void pc_free_owned(struct pc *pc)
{
	for (size_t i = 0; i < pc->nowned; i++)
		cJSON_Delete(pc->owned[i]);
	pc->nowned = 0;
}

static void pc_own(struct pc *pc, cJSON *v)
{
	ALLOC_GROW(pc->owned, pc->nowned + 1, pc->owned_alloc);
	pc->owned[pc->nowned++] = v;
}

static void pc_attr(struct pc *pc, const char *key, const cJSON *value)
{
	struct span *s = &pc->s;
	if (s->nattrs == pc->alloc) {
		size_t n = pc->alloc * 2;
		if (pc->heap) {
			pc->attrs = xreallocarray(pc->attrs, n, sizeof(*pc->attrs));
		} else {
			struct span_attr *a = xreallocarray(NULL, n, sizeof(*a));
			memcpy(a, pc->attrs, s->nattrs * sizeof(*a));
			pc->attrs = a;
			pc->heap = true;
		}
		pc->alloc = n;
		s->attrs = pc->attrs;
	}
	s->attrs[s->nattrs].key = unconst(key);
	s->attrs[s->nattrs].value = (cJSON *)(uintptr_t)value;
	s->nattrs++;
}

static int fail(struct pc *pc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct pc *pc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(pc->reason, sizeof(pc->reason), fmt, ap);
	va_end(ap);
	return -1;
}

/* The span in pc->s is complete: hand it on, then drop what it owned. */
static void pc_emit(struct pc *pc)
{
	if (pc->s.end_ns < pc->s.start_ns)
		pc->s.end_ns = pc->s.start_ns;
	pc->fn(&pc->s, pc->ctx);
	pc->good++;
	pc_free_owned(pc);
}

/* A span of a batch was bad: note why (the first reason is kept). */
static void pc_drop(struct pc *pc, const char *where)
{
	pc_free_owned(pc);
	if (pc->dropped++ == 0 && pc->err)
		sb_addf(pc->err, "%s: %s", where, pc->reason);
}

/* Attribute values nested deeper than this are refused on input so that
 * every writer can nest them inside its own structure. */
#define ATTR_MAX_DEPTH 16

static int depth_of(const cJSON *v)
{
	int d = 0;
	for (const cJSON *c = v->child; c; c = c->next) {
		int cd = depth_of(c);
		if (cd > d)
			d = cd;
	}
	return (cJSON_IsArray(v) || cJSON_IsObject(v)) ? d + 1 : d;
}

/* ---- native ---- */

static int parse_kind_name(const char *k, enum span_kind *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(kind_names); i++)
		if (!strcasecmp(k, kind_names[i])) {
			*out = (enum span_kind)i;
			return 0;
		}
	return -1;
}

static int parse_native(struct pc *pc, const cJSON *v)
{
	struct span *s = &pc->s;
	const cJSON *trace = NULL, *id = NULL, *ts = NULL, *start = NULL, *dur = NULL;
	const cJSON *name = NULL, *status = NULL, *error = NULL;
	pc_begin(pc);
	for (const cJSON *c = v->child; c; c = c->next) {
		const char *k = c->string;
		bool known = true;
		switch (k[0]) {
		case 'a':
			if (!strcmp(k, "attributes") && cJSON_IsObject(c)) {
				for (const cJSON *a = c->child; a; a = a->next) {
					if (depth_of(a) > ATTR_MAX_DEPTH)
						return fail(pc, "attribute '%s' is nested too deeply", a->string);
					pc_attr(pc, a->string, a);
				}
			} else {
				known = false;
			}
			break;
		case 'd': if (!strcmp(k, "duration_ms")) dur = c; else known = false; break;
		case 'e': if (!strcmp(k, "error")) error = c; else known = false; break;
		case 'i':
			if (!strcmp(k, "instance")) {
				if (cJSON_IsString(c))
					s->instance = c->valuestring;
				else if (!cJSON_IsNull(c))
					return fail(pc, "instance must be a string");
			} else {
				known = false;
			}
			break;
		case 'k':
			if (!strcmp(k, "kind")) {
				if (!cJSON_IsString(c) || parse_kind_name(c->valuestring, &s->kind) < 0)
					return fail(pc, "kind must be server, client, producer, consumer or internal");
			} else {
				known = false;
			}
			break;
		case 'n': if (!strcmp(k, "name")) name = c; else known = false; break;
		case 'p':
			if (!strcmp(k, "parent_span_id")) {
				if (cJSON_IsNull(c) || (cJSON_IsString(c) && !c->valuestring[0]))
					break;
				if (!cJSON_IsString(c) || hex_id(c->valuestring, s->parent_id, 8, false) < 0)
					return fail(pc, "parent_span_id must be 16 hex digits, not all zero");
				s->has_parent = true;
			} else if (!strcmp(k, "peer_service")) {
				if (cJSON_IsString(c))
					s->peer_service = c->valuestring;
				else if (!cJSON_IsNull(c))
					return fail(pc, "peer_service must be a string");
			} else {
				known = false;
			}
			break;
		case 's':
			if (!strcmp(k, "span_id"))
				id = c;
			else if (!strcmp(k, "service")) {
				if (!cJSON_IsString(c))
					return fail(pc, "service must be a string");
				s->service = c->valuestring;
			} else if (!strcmp(k, "start_ns"))
				start = c;
			else if (!strcmp(k, "status"))
				status = c;
			else if (!strcmp(k, "shared") && cJSON_IsBool(c))
				s->shared = cJSON_IsTrue(c);
			else
				known = false;
			break;
		case 't':
			if (!strcmp(k, "trace_id"))
				trace = c;
			else if (!strcmp(k, "ts"))
				ts = c;
			else if (strcmp(k, "type"))
				known = false;
			break;
		default: known = false;
		}
		if (!known) {
			if (depth_of(c) > ATTR_MAX_DEPTH)
				return fail(pc, "attribute '%s' is nested too deeply", k);
			pc_attr(pc, k, c);
		}
	}
	if (!trace)
		return fail(pc, "missing field 'trace_id'");
	int r = cJSON_IsString(trace) ? hex_id(trace->valuestring, s->trace_id, 16, false) : -1;
	if (r == -2)
		return fail(pc, "trace_id must not be all zero");
	if (r < 0)
		return fail(pc, "trace_id must be 32 hex digits");
	if (!id)
		return fail(pc, "missing field 'span_id'");
	r = cJSON_IsString(id) ? hex_id(id->valuestring, s->span_id, 8, false) : -1;
	if (r == -2)
		return fail(pc, "span_id must not be all zero");
	if (r < 0)
		return fail(pc, "span_id must be 16 hex digits");
	if (!name)
		return fail(pc, "missing field 'name'");
	if (!cJSON_IsString(name))
		return fail(pc, "name must be a string");
	s->name = name->valuestring;
	if (start) {
		if (get_uint63(start, &s->start_ns) < 0)
			return fail(pc, "start_ns must be epoch nanoseconds as a decimal string");
	} else if (ts) {
		if (!cJSON_IsString(ts) ||
		    ts_parse(ts->valuestring, strlen(ts->valuestring), &s->start_ns) < 0 ||
		    s->start_ns < 0 || s->start_ns > MAX_NS)
			return fail(pc, "ts must be an RFC 3339 time");
	} else {
		return fail(pc, "missing field 'start_ns'");
	}
	s->end_ns = s->start_ns;
	if (dur) {
		double d = cJSON_IsNumber(dur) ? dur->valuedouble : -1;
		if (!(d >= 0) || d * 1e6 > (double)(MAX_NS - s->start_ns))
			return fail(pc, "duration_ms must be a non-negative number");
		s->end_ns = s->start_ns + llround(d * 1e6);
		if (s->end_ns > MAX_NS)
			s->end_ns = MAX_NS;
	}
	if (error) {
		if (cJSON_IsString(error)) {
			if (error->valuestring[0])
				s->status_message = error->valuestring;
			s->status = SPAN_ERROR;
		} else if (cJSON_IsTrue(error)) {
			s->status = SPAN_ERROR;
		} else if (!cJSON_IsFalse(error) && !cJSON_IsNull(error)) {
			return fail(pc, "error must be a string");
		}
	}
	if (status) {
		const char *st = cJSON_IsString(status) ? status->valuestring : "";
		if (!strcasecmp(st, "ok"))
			s->status = SPAN_OK;
		else if (!strcasecmp(st, "error"))
			s->status = SPAN_ERROR;
		else if (!strcasecmp(st, "unset"))
			s->status = SPAN_UNSET;
		else
			return fail(pc, "status must be ok, error or unset");
	}
	return 0;
}

/* ---- OTLP ---- */

static cJSON *anyvalue_new(const cJSON *av);

/* An owned copy of av's value (AnyValue to plain JSON); NULL on failure. */
static cJSON *anyvalue_list(const cJSON *list, bool kv)
{
	cJSON *out = kv ? cJSON_CreateObject() : cJSON_CreateArray();
	const cJSON *values = cJSON_GetObjectItemCaseSensitive(list, "values");
	for (const cJSON *c = values ? values->child : NULL; c; c = c->next) {
		if (kv) {
			const cJSON *key = cJSON_GetObjectItemCaseSensitive(c, "key");
			if (!cJSON_IsString(key))
				continue;
			cJSON_AddItemToObject(out, key->valuestring,
					      anyvalue_new(cJSON_GetObjectItemCaseSensitive(c, "value")));
		} else {
			cJSON_AddItemToArray(out, anyvalue_new(c));
		}
	}
	return out;
}

/*
 * The plain JSON for one AnyValue. *borrowed is set when the result is
 * a node of av itself (a string, bool or number kept as is).
 */
static cJSON *anyvalue(const cJSON *av, bool *borrowed)
{
	*borrowed = false;
	const cJSON *c = cJSON_IsObject(av) ? av->child : NULL;
	for (; c; c = c->next) {
		const char *k = c->string;
		if (!strcmp(k, "stringValue") || !strcmp(k, "boolValue") || !strcmp(k, "bytesValue")) {
			break;
		} else if (!strcmp(k, "intValue")) {
			if (cJSON_IsString(c)) {
				const char *p = c->valuestring;
				errno = 0;
				char *end;
				long long v = strtoll(p, &end, 10);
				if (!errno && *p && !*end && v >= -(1LL << 53) && v <= (1LL << 53))
					return cJSON_CreateNumber((double)v);
			}
			break;
		} else if (!strcmp(k, "doubleValue")) {
			if (cJSON_IsString(c)) {
				char *end;
				double d = strtod(c->valuestring, &end);
				if (c->valuestring[0] && !*end && isfinite(d))
					return cJSON_CreateNumber(d);
			}
			break;
		} else if (!strcmp(k, "arrayValue")) {
			return anyvalue_list(c, false);
		} else if (!strcmp(k, "kvlistValue")) {
			return anyvalue_list(c, true);
		}
	}
	if (!c)
		return cJSON_CreateNull();
	*borrowed = true;
	return (cJSON *)(uintptr_t)c;
}

static cJSON *anyvalue_new(const cJSON *av)
{
	bool borrowed;
	cJSON *v = anyvalue(av, &borrowed);
	if (borrowed)
		v = cJSON_Duplicate(v, true);
	if (!v)
		die("out of memory converting an OTLP value");
	return v;
}

static int otlp_enum(const cJSON *v, const char *prefix, const char *const *names, int n)
{
	if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;
		return d >= 0 && d < n && d == (int)d ? (int)d : -1;
	}
	if (cJSON_IsString(v)) {
		size_t pl = strlen(prefix);
		if (strncmp(v->valuestring, prefix, pl))
			return -1;
		for (int i = 0; i < n; i++)
			if (!strcasecmp(v->valuestring + pl, names[i]))
				return i;
	}
	return -1;
}

static const char *const otlp_status_names[] = { "UNSET", "OK", "ERROR" };

static int otlp_attrs(struct pc *pc, const cJSON *attrs, bool peer)
{
	if (!attrs || cJSON_IsNull(attrs))
		return 0;
	if (!cJSON_IsArray(attrs))
		return fail(pc, "attributes must be an array");
	int i = 0;
	for (const cJSON *a = attrs->child; a; a = a->next, i++) {
		const cJSON *key = cJSON_GetObjectItemCaseSensitive(a, "key");
		if (!cJSON_IsString(key))
			return fail(pc, "attributes[%d]: key must be a string", i);
		const cJSON *av = cJSON_GetObjectItemCaseSensitive(a, "value");
		bool borrowed;
		cJSON *v = anyvalue(av, &borrowed);
		if (!v)
			die("out of memory converting an OTLP value");
		if (!borrowed)
			pc_own(pc, v);
		if (depth_of(v) > ATTR_MAX_DEPTH)
			return fail(pc, "attributes[%d]: value nested too deeply", i);
		if (peer && !strcmp(key->valuestring, "peer.service") && cJSON_IsString(v)) {
			pc->s.peer_service = v->valuestring;
			continue;
		}
		pc_attr(pc, key->valuestring, v);
	}
	return 0;
}

static int otlp_id(struct pc *pc, const cJSON *v, const char *field, uint8_t *out, size_t n)
{
	if (!v)
		return fail(pc, "missing field '%s'", field);
	int r = cJSON_IsString(v) ? hex_id(v->valuestring, out, n, false) : -1;
	if (r == -2)
		return fail(pc, "%s must not be all zero", field);
	if (r < 0)
		return fail(pc, "%s must be %zu hex digits", field, 2 * n);
	return 0;
}

static int parse_otlp_span(struct pc *pc, const cJSON *v, const char *service, const char *instance)
{
	struct span *s = &pc->s;
	const cJSON *trace = NULL, *id = NULL, *parent = NULL, *start = NULL, *end = NULL;
	const cJSON *attrs = NULL, *status = NULL;
	pc_begin(pc);
	s->service = unconst(service);
	s->instance = unconst(instance);
	if (!cJSON_IsObject(v))
		return fail(pc, "not a span object");
	for (const cJSON *c = v->child; c; c = c->next) {
		const char *k = c->string;
		if (!strcmp(k, "traceId"))
			trace = c;
		else if (!strcmp(k, "spanId"))
			id = c;
		else if (!strcmp(k, "parentSpanId"))
			parent = c;
		else if (!strcmp(k, "name")) {
			if (!cJSON_IsString(c))
				return fail(pc, "name must be a string");
			s->name = c->valuestring;
		} else if (!strcmp(k, "kind")) {
			int kd = otlp_enum(c, "SPAN_KIND_", kind_names, (int)ARRAY_SIZE(kind_names));
			if (kd < 0)
				return fail(pc, "kind must be 0 to 5");
			s->kind = (enum span_kind)kd;
		} else if (!strcmp(k, "startTimeUnixNano"))
			start = c;
		else if (!strcmp(k, "endTimeUnixNano"))
			end = c;
		else if (!strcmp(k, "attributes"))
			attrs = c;
		else if (!strcmp(k, "status"))
			status = c;
	}
	if (otlp_id(pc, trace, "traceId", s->trace_id, 16) < 0 ||
	    otlp_id(pc, id, "spanId", s->span_id, 8) < 0)
		return -1;
	if (parent && !(cJSON_IsString(parent) && !parent->valuestring[0]) && !cJSON_IsNull(parent)) {
		if (otlp_id(pc, parent, "parentSpanId", s->parent_id, 8) < 0)
			return -1;
		s->has_parent = true;
	}
	if (!start)
		return fail(pc, "missing field 'startTimeUnixNano'");
	if (get_uint63(start, &s->start_ns) < 0)
		return fail(pc, "startTimeUnixNano must be nanoseconds as a decimal string or number");
	if (!end)
		return fail(pc, "missing field 'endTimeUnixNano'");
	if (get_uint63(end, &s->end_ns) < 0)
		return fail(pc, "endTimeUnixNano must be nanoseconds as a decimal string or number");
	if (s->end_ns < s->start_ns)
		return fail(pc, "endTimeUnixNano is before startTimeUnixNano");
	if (status && cJSON_IsObject(status)) {
		const cJSON *code = cJSON_GetObjectItemCaseSensitive(status, "code");
		if (code) {
			int st = otlp_enum(code, "STATUS_CODE_", otlp_status_names, 3);
			if (st < 0)
				return fail(pc, "status.code must be 0, 1 or 2");
			s->status = (enum span_status)st;
		}
		const cJSON *msg = cJSON_GetObjectItemCaseSensitive(status, "message");
		if (cJSON_IsString(msg) && msg->valuestring[0])
			s->status_message = msg->valuestring;
	}
	return otlp_attrs(pc, attrs, true);
}

/* service.name and service.instance.id of a resource (stringValue only). */
static void otlp_resource(const cJSON *rs, const char **service, const char **instance)
{
	*service = "";
	*instance = NULL;
	const cJSON *res = cJSON_GetObjectItemCaseSensitive(rs, "resource");
	const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(res, "attributes");
	if (!cJSON_IsArray(attrs))
		return;
	for (const cJSON *a = attrs->child; a; a = a->next) {
		const cJSON *key = cJSON_GetObjectItemCaseSensitive(a, "key");
		const cJSON *val = cJSON_GetObjectItemCaseSensitive(a, "value");
		const cJSON *sv = cJSON_GetObjectItemCaseSensitive(val, "stringValue");
		if (!cJSON_IsString(key) || !cJSON_IsString(sv))
			continue;
		if (!strcmp(key->valuestring, "service.name"))
			*service = sv->valuestring;
		else if (!strcmp(key->valuestring, "service.instance.id"))
			*instance = sv->valuestring;
	}
}

static int parse_otlp(struct pc *pc, const cJSON *v)
{
	const cJSON *rss = cJSON_GetObjectItemCaseSensitive(v, "resourceSpans");
	if (cJSON_IsNull(rss))
		return 0;
	if (!cJSON_IsArray(rss))
		return fail(pc, "resourceSpans must be an array");
	int i = 0;
	for (const cJSON *rs = rss->child; rs; rs = rs->next, i++) {
		const char *service, *instance;
		otlp_resource(rs, &service, &instance);
		const cJSON *sss = cJSON_GetObjectItemCaseSensitive(rs, "scopeSpans");
		if (!sss)
			sss = cJSON_GetObjectItemCaseSensitive(rs, "instrumentationLibrarySpans");
		int j = 0;
		for (const cJSON *ss = cJSON_IsArray(sss) ? sss->child : NULL; ss; ss = ss->next, j++) {
			const cJSON *spans = cJSON_GetObjectItemCaseSensitive(ss, "spans");
			int k = 0;
			for (const cJSON *sp = cJSON_IsArray(spans) ? spans->child : NULL; sp;
			     sp = sp->next, k++) {
				if (parse_otlp_span(pc, sp, service, instance) == 0) {
					pc_emit(pc);
				} else {
					char where[96];
					snprintf(where, sizeof(where),
						 "resourceSpans[%d].scopeSpans[%d].spans[%d]", i, j, k);
					pc_drop(pc, where);
				}
			}
		}
	}
	return 0;
}

/* ---- Zipkin ---- */

static int zipkin_us(const cJSON *v, int64_t *ns)
{
	int64_t us;
	if (get_uint63(v, &us) < 0 || us > MAX_NS / 1000)
		return -1;
	*ns = us * 1000;
	return 0;
}

static const char *endpoint_service(const cJSON *ep)
{
	const cJSON *sn = cJSON_GetObjectItemCaseSensitive(ep, "serviceName");
	return cJSON_IsString(sn) ? sn->valuestring : NULL;
}

static int parse_zipkin_span(struct pc *pc, const cJSON *v)
{
	struct span *s = &pc->s;
	const cJSON *trace = NULL, *id = NULL, *parent = NULL, *ts = NULL, *dur = NULL, *tags = NULL;
	pc_begin(pc);
	s->kind = SPAN_INTERNAL;
	if (!cJSON_IsObject(v))
		return fail(pc, "not a Zipkin span object");
	for (const cJSON *c = v->child; c; c = c->next) {
		const char *k = c->string;
		if (!strcmp(k, "traceId"))
			trace = c;
		else if (!strcmp(k, "id"))
			id = c;
		else if (!strcmp(k, "parentId"))
			parent = c;
		else if (!strcmp(k, "name")) {
			if (cJSON_IsString(c))
				s->name = c->valuestring;
		} else if (!strcmp(k, "kind")) {
			const char *kd = cJSON_IsString(c) ? c->valuestring : "";
			if (parse_kind_name(kd, &s->kind) < 0 || s->kind < SPAN_SERVER)
				return fail(pc, "kind must be CLIENT, SERVER, PRODUCER or CONSUMER");
		} else if (!strcmp(k, "timestamp"))
			ts = c;
		else if (!strcmp(k, "duration"))
			dur = c;
		else if (!strcmp(k, "localEndpoint")) {
			const char *sn = endpoint_service(c);
			if (sn)
				s->service = unconst(sn);
		} else if (!strcmp(k, "remoteEndpoint")) {
			s->peer_service = unconst(endpoint_service(c));
		} else if (!strcmp(k, "tags"))
			tags = c;
		else if (!strcmp(k, "shared"))
			s->shared = cJSON_IsTrue(c);
	}
	if (!trace)
		return fail(pc, "missing field 'traceId'");
	int r = cJSON_IsString(trace) ? hex_id(trace->valuestring, s->trace_id, 16, true) : -1;
	if (r == -2)
		return fail(pc, "traceId must not be all zero");
	if (r < 0)
		return fail(pc, "traceId must be 16 or 32 hex digits");
	if (!id)
		return fail(pc, "missing field 'id'");
	r = cJSON_IsString(id) ? hex_id(id->valuestring, s->span_id, 8, false) : -1;
	if (r == -2)
		return fail(pc, "id must not be all zero");
	if (r < 0)
		return fail(pc, "id must be 16 hex digits");
	if (parent && !cJSON_IsNull(parent) && !(cJSON_IsString(parent) && !parent->valuestring[0])) {
		r = cJSON_IsString(parent) ? hex_id(parent->valuestring, s->parent_id, 8, false) : -1;
		if (r < 0)
			return fail(pc, "parentId must be 16 hex digits, not all zero");
		s->has_parent = true;
	}
	if (!ts)
		return fail(pc, "missing field 'timestamp'");
	if (zipkin_us(ts, &s->start_ns) < 0)
		return fail(pc, "timestamp must be epoch microseconds");
	s->end_ns = s->start_ns;
	if (dur) {
		int64_t d;
		if (zipkin_us(dur, &d) < 0 || d > MAX_NS - s->start_ns)
			return fail(pc, "duration must be microseconds");
		s->end_ns = s->start_ns + d;
	}
	if (tags && !cJSON_IsObject(tags))
		return fail(pc, "tags must be an object");
	bool err_tag = false;
	for (const cJSON *t = tags ? tags->child : NULL; t; t = t->next) {
		const char *k = t->string;
		if (!strcmp(k, "error")) {
			err_tag = true;
			s->status = SPAN_ERROR;
			if (cJSON_IsString(t) && t->valuestring[0])
				s->status_message = t->valuestring;
			continue;
		}
		if (cJSON_IsString(t)) {
			if (!strcmp(k, "otel.status_code")) {
				int st = otlp_enum(t, "", otlp_status_names, 3);
				if (st >= 0) {
					if (!err_tag)
						s->status = (enum span_status)st;
					continue;
				}
			} else if (!strcmp(k, "service.instance.id")) {
				s->instance = t->valuestring;
				continue;
			}
		}
		if (depth_of(t) > ATTR_MAX_DEPTH)
			return fail(pc, "tag '%s' is nested too deeply", k);
		pc_attr(pc, k, t);
	}
	return 0;
}

static int parse_zipkin(struct pc *pc, const cJSON *v)
{
	int i = 0;
	for (const cJSON *c = v->child; c; c = c->next, i++) {
		if (parse_zipkin_span(pc, c) == 0) {
			pc_emit(pc);
		} else {
			char where[32];
			snprintf(where, sizeof(where), "[%d]", i);
			pc_drop(pc, where);
		}
	}
	return 0;
}

int span_parse_value(const cJSON *v, const char *source, size_t line, span_fn *fn, void *ctx,
		     enum span_format *fmt_out, struct strbuf *err)
{
	struct pc pc;
	pc.fn = fn;
	pc.ctx = ctx;
	pc.err = err;
	pc.good = pc.dropped = 0;
	pc.attrs = pc.stack;
	pc.alloc = STACK_ATTRS;
	pc.heap = false;
	pc.owned = NULL;
	pc.nowned = pc.owned_alloc = 0;
	pc.reason[0] = '\0';
	memset(&pc.s, 0, sizeof(pc.s));
	pc.s.source = source;
	pc.s.line = line;

	int ret;
	if (cJSON_IsArray(v)) {
		if (fmt_out)
			*fmt_out = SPAN_FMT_ZIPKIN;
		ret = parse_zipkin(&pc, v);
	} else if (cJSON_IsObject(v) &&
		   !(v->child && v->child->string && !strcmp(v->child->string, "type")) &&
		   cJSON_GetObjectItemCaseSensitive(v, "resourceSpans")) {
		/* (a record whose first key is "type", as every native one is, skips the search) */
		if (fmt_out)
			*fmt_out = SPAN_FMT_OTLP;
		ret = parse_otlp(&pc, v);
	} else if (cJSON_IsObject(v)) {
		const cJSON *type = v->child && v->child->string && !strcmp(v->child->string, "type")
					    ? v->child
					    : cJSON_GetObjectItemCaseSensitive(v, "type");
		if (fmt_out)
			*fmt_out = SPAN_FMT_NATIVE;
		if (type != v->child && cJSON_GetObjectItemCaseSensitive(v, "resourceLogs")) {
			ret = fail(&pc, "not a span record (OTLP logs)");
		} else if (!cJSON_IsString(type) || strcmp(type->valuestring, "span")) {
			ret = fail(&pc, cJSON_IsString(type) ? "not a span record (type '%s')"
							      : "not a span record%s",
				   cJSON_IsString(type) ? type->valuestring : "");
		} else {
			ret = parse_native(&pc, v);
			if (ret == 0)
				pc_emit(&pc);
		}
		pc_free_owned(&pc);
	} else {
		ret = fail(&pc, "not a span record");
	}
	if (ret < 0) {
		if (err)
			sb_addstr(err, pc.reason);
	} else if (pc.dropped > 1 && err) {
		sb_addf(err, " (%d spans dropped)", pc.dropped);
	}
	if (pc.heap)
		free(pc.attrs);
	free(pc.owned);
	return ret < 0 ? -1 : pc.good;
}

/* ---- writers ---- */

/* Levels of nesting of v (0 for a scalar); used to keep within JW_MAX_DEPTH. */
static bool fits(const struct jw *w, const cJSON *v, int extra)
{
	return w->depth + depth_of(v) * extra < JW_MAX_DEPTH - 2;
}

/* A value as text: strings as they are, others as compact JSON. */
static void write_as_text(struct jw *w, const cJSON *v)
{
	if (cJSON_IsString(v)) {
		jw_str(w, v->valuestring);
	} else if (cJSON_IsNumber(v)) {
		char buf[32];
		size_t n = jw_format_double(v->valuedouble, buf);
		jw_strn(w, n ? buf : "null", n ? n : 4);
	} else if (cJSON_IsBool(v)) {
		jw_str(w, cJSON_IsTrue(v) ? "true" : "false");
	} else if (cJSON_IsNull(v) || !v) {
		jw_str(w, "null");
	} else {
		char *t = cJSON_PrintUnformatted(v);
		if (!t)
			die("out of memory formatting an attribute");
		jw_str(w, t);
		cJSON_free(t);
	}
}

/* The fields of a native span record; attributes by these names nest. */
static bool native_field(const char *k)
{
	static const char *const fields[] = { "type", "ts", "trace_id", "span_id",
		"parent_span_id", "service", "instance", "name", "kind", "start_ns",
		"duration_ms", "status", "error", "peer_service", "shared", "attributes" };
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
		if (!strcmp(k, fields[i]))
			return true;
	return false;
}

static void write_attr(struct jw *w, const struct span_attr *a, int depth)
{
	jw_key(w, a->key);
	if (fits(w, a->value, depth))
		jw_cjson(w, a->value);
	else
		write_as_text(w, a->value);
}

void span_write_native(struct jw *w, const struct span *s)
{
	struct tc ctx;
	char hex[33];
	memset(&ctx, 0, sizeof(ctx));
	memcpy(ctx.trace_id, s->trace_id, 16);
	memcpy(ctx.span_id, s->span_id, 8);
	rec_begin_ctx(w, "span", s->start_ns, &ctx);
	if (s->has_parent) {
		jw_key(w, "parent_span_id");
		jw_strn(w, tc_hex(s->parent_id, 8, hex), 16);
	}
	jw_kv_str(w, "service", s->service ? s->service : "");
	if (s->instance)
		jw_kv_str(w, "instance", s->instance);
	jw_kv_str(w, "name", s->name ? s->name : "");
	jw_kv_str(w, "kind", span_kind_name(s->kind));
	jw_key(w, "start_ns");
	jw_int_str(w, s->start_ns);
	jw_kv_double(w, "duration_ms", span_duration_ms(s));
	jw_kv_str(w, "status", span_status_name(s->status));
	if (s->status_message)
		jw_kv_str(w, "error", s->status_message);
	if (s->peer_service)
		jw_kv_str(w, "peer_service", s->peer_service);
	if (s->shared)
		jw_kv_bool(w, "shared", true);
	/* Attributes stand beside the span's own fields, as the example shop
	 * writes them and as ofs.7 describes (so a record passed through
	 * keeps its shape); one whose name is a field of the span record goes
	 * into an "attributes" object instead. */
	bool nested = false;
	for (size_t i = 0; i < s->nattrs; i++) {
		if (native_field(s->attrs[i].key)) {
			nested = true;
			continue;
		}
		write_attr(w, &s->attrs[i], 1);
	}
	if (nested) {
		jw_key(w, "attributes");
		jw_obj_begin(w);
		for (size_t i = 0; i < s->nattrs; i++)
			if (native_field(s->attrs[i].key))
				write_attr(w, &s->attrs[i], 2);
		jw_obj_end(w);
	}
	jw_obj_end(w);
}

static void write_anyvalue(struct jw *w, const cJSON *v)
{
	jw_obj_begin(w);
	if (!v || cJSON_IsNull(v)) {
		/* an empty AnyValue */
	} else if (cJSON_IsString(v)) {
		jw_kv_str(w, "stringValue", v->valuestring);
	} else if (cJSON_IsBool(v)) {
		jw_kv_bool(w, "boolValue", cJSON_IsTrue(v));
	} else if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;
		if (d == floor(d) && fabs(d) <= TWO_53) {
			jw_key(w, "intValue");
			jw_int_str(w, (int64_t)d);
		} else {
			jw_kv_double(w, "doubleValue", d);
		}
	} else if (!fits(w, v, 3)) {
		jw_key(w, "stringValue");
		write_as_text(w, v);
	} else if (cJSON_IsArray(v)) {
		jw_key(w, "arrayValue");
		jw_obj_begin(w);
		jw_key(w, "values");
		jw_arr_begin(w);
		for (const cJSON *c = v->child; c; c = c->next)
			write_anyvalue(w, c);
		jw_arr_end(w);
		jw_obj_end(w);
	} else if (cJSON_IsObject(v)) {
		jw_key(w, "kvlistValue");
		jw_obj_begin(w);
		jw_key(w, "values");
		jw_arr_begin(w);
		for (const cJSON *c = v->child; c; c = c->next) {
			jw_obj_begin(w);
			jw_kv_str(w, "key", c->string ? c->string : "");
			jw_key(w, "value");
			write_anyvalue(w, c);
			jw_obj_end(w);
		}
		jw_arr_end(w);
		jw_obj_end(w);
	} else {
		jw_key(w, "stringValue");
		write_as_text(w, v);
	}
	jw_obj_end(w);
}

static void write_otlp_kv_str(struct jw *w, const char *key, const char *value)
{
	jw_obj_begin(w);
	jw_kv_str(w, "key", key);
	jw_key(w, "value");
	jw_obj_begin(w);
	jw_kv_str(w, "stringValue", value);
	jw_obj_end(w);
	jw_obj_end(w);
}

static void write_otlp_span(struct jw *w, const struct span *s)
{
	char hex[33];
	jw_obj_begin(w);
	jw_key(w, "traceId");
	jw_strn(w, tc_hex(s->trace_id, 16, hex), 32);
	jw_key(w, "spanId");
	jw_strn(w, tc_hex(s->span_id, 8, hex), 16);
	if (s->has_parent) {
		jw_key(w, "parentSpanId");
		jw_strn(w, tc_hex(s->parent_id, 8, hex), 16);
	}
	jw_kv_str(w, "name", s->name ? s->name : "");
	jw_kv_int(w, "kind", (int64_t)s->kind);
	jw_key(w, "startTimeUnixNano");
	jw_int_str(w, s->start_ns);
	jw_key(w, "endTimeUnixNano");
	jw_int_str(w, s->end_ns);
	if (s->nattrs || s->peer_service) {
		jw_key(w, "attributes");
		jw_arr_begin(w);
		if (s->peer_service)
			write_otlp_kv_str(w, "peer.service", s->peer_service);
		for (size_t i = 0; i < s->nattrs; i++) {
			jw_obj_begin(w);
			jw_kv_str(w, "key", s->attrs[i].key);
			jw_key(w, "value");
			write_anyvalue(w, s->attrs[i].value);
			jw_obj_end(w);
		}
		jw_arr_end(w);
	}
	if (s->status != SPAN_UNSET || s->status_message) {
		jw_key(w, "status");
		jw_obj_begin(w);
		if (s->status != SPAN_UNSET)
			jw_kv_int(w, "code", (int64_t)s->status);
		if (s->status_message)
			jw_kv_str(w, "message", s->status_message);
		jw_obj_end(w);
	}
	jw_obj_end(w);
}

static bool str_eq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return !strcmp(a, b);
}

void span_write_otlp(struct jw *w, const struct span *const *spans, size_t n)
{
	/* group[i]: the index of the first span with spans[i]'s resource */
	size_t *group = n ? xcalloc(n, sizeof(*group)) : NULL;
	for (size_t i = 0; i < n; i++) {
		group[i] = i;
		for (size_t j = 0; j < i; j++) {
			if (group[j] == j && str_eq(spans[i]->service, spans[j]->service) &&
			    str_eq(spans[i]->instance, spans[j]->instance)) {
				group[i] = j;
				break;
			}
		}
	}
	jw_obj_begin(w);
	jw_key(w, "resourceSpans");
	jw_arr_begin(w);
	for (size_t g = 0; g < n; g++) {
		if (group[g] != g)
			continue;
		jw_obj_begin(w);
		jw_key(w, "resource");
		jw_obj_begin(w);
		jw_key(w, "attributes");
		jw_arr_begin(w);
		write_otlp_kv_str(w, "service.name", spans[g]->service ? spans[g]->service : "");
		if (spans[g]->instance)
			write_otlp_kv_str(w, "service.instance.id", spans[g]->instance);
		jw_arr_end(w);
		jw_obj_end(w);
		jw_key(w, "scopeSpans");
		jw_arr_begin(w);
		jw_obj_begin(w);
		jw_key(w, "scope");
		jw_obj_begin(w);
		jw_kv_str(w, "name", "ofs-trace");
		jw_obj_end(w);
		jw_key(w, "spans");
		jw_arr_begin(w);
		for (size_t i = g; i < n; i++)
			if (group[i] == g)
				write_otlp_span(w, spans[i]);
		jw_arr_end(w);
		jw_obj_end(w);
		jw_arr_end(w);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_obj_end(w);
	free(group);
}

static void write_zipkin_span(struct jw *w, const struct span *s)
{
	static const char *const zkind[] = { NULL, NULL, "SERVER", "CLIENT", "PRODUCER", "CONSUMER" };
	char hex[33];
	static const uint8_t zero8[8];
	jw_obj_begin(w);
	jw_key(w, "traceId");
	if (!memcmp(s->trace_id, zero8, 8))
		jw_strn(w, tc_hex(s->trace_id + 8, 8, hex), 16);
	else
		jw_strn(w, tc_hex(s->trace_id, 16, hex), 32);
	if (s->has_parent) {
		jw_key(w, "parentId");
		jw_strn(w, tc_hex(s->parent_id, 8, hex), 16);
	}
	jw_key(w, "id");
	jw_strn(w, tc_hex(s->span_id, 8, hex), 16);
	if ((unsigned)s->kind < ARRAY_SIZE(zkind) && zkind[s->kind])
		jw_kv_str(w, "kind", zkind[s->kind]);
	jw_kv_str(w, "name", s->name ? s->name : "");
	int64_t start_us = s->start_ns / 1000, end_us = s->end_ns / 1000;
	jw_kv_int(w, "timestamp", start_us);
	if (end_us > start_us)
		jw_kv_int(w, "duration", end_us - start_us);
	if (s->service && s->service[0]) {
		jw_key(w, "localEndpoint");
		jw_obj_begin(w);
		jw_kv_str(w, "serviceName", s->service);
		jw_obj_end(w);
	}
	if (s->peer_service) {
		jw_key(w, "remoteEndpoint");
		jw_obj_begin(w);
		jw_kv_str(w, "serviceName", s->peer_service);
		jw_obj_end(w);
	}
	if (s->nattrs || s->instance || s->status != SPAN_UNSET) {
		jw_key(w, "tags");
		jw_obj_begin(w);
		for (size_t i = 0; i < s->nattrs; i++) {
			const char *k = s->attrs[i].key;
			/* these keys carry fields below; an attribute would clash */
			if (!strcmp(k, "error") || !strcmp(k, "otel.status_code") ||
			    !strcmp(k, "service.instance.id"))
				continue;
			jw_key(w, k);
			write_as_text(w, s->attrs[i].value);
		}
		if (s->instance)
			jw_kv_str(w, "service.instance.id", s->instance);
		if (s->status == SPAN_OK)
			jw_kv_str(w, "otel.status_code", "OK");
		else if (s->status == SPAN_ERROR)
			jw_kv_str(w, "error", s->status_message ? s->status_message : "");
		jw_obj_end(w);
	}
	if (s->shared)
		jw_kv_bool(w, "shared", true);
	jw_obj_end(w);
}

void span_write_zipkin(struct jw *w, const struct span *const *spans, size_t n)
{
	jw_arr_begin(w);
	for (size_t i = 0; i < n; i++)
		write_zipkin_span(w, spans[i]);
	jw_arr_end(w);
}

/* ---- files ---- */

struct rf {
	struct jsonl_reader *r;
	const char *source;
	bool strict;
	span_fn *fn;
	void *ctx;
	long spans;
	struct strbuf err;
};

/* Report a bad line or span and count it; -1 when reading must stop. */
static int rf_bad(struct rf *f, size_t lineno, const char *why)
{
	error("%s:%zu: %s", f->source, lineno, why);
	return jsonl_reject(f->r, "%s", why) < 0 || f->strict ? -1 : 0;
}

static int rf_value(struct rf *f, const cJSON *v, size_t lineno)
{
	sb_reset(&f->err);
	int n = span_parse_value(v, f->source, lineno, f->fn, f->ctx, NULL, &f->err);
	if (n > 0)
		f->spans += n;
	if (n < 0 || f->err.len)
		return rf_bad(f, lineno, f->err.buf);
	return 0;
}

/* One line of JSONL: -1 when reading must stop. */
static int rf_line(struct rf *f, const char *line, size_t len, size_t lineno)
{
	const char *end = NULL;
	cJSON *v = cJSON_ParseWithLengthOpts(line, len, &end, false);
	char why[96];
	if (!v) {
		const char *at = cJSON_GetErrorPtr();
		size_t col = at && at >= line && at <= line + len ? (size_t)(at - line) : len;
		if (col >= len || jsonl_unclosed(line, len))
			snprintf(why, sizeof(why), "invalid JSON: unexpected end of line");
		else
			snprintf(why, sizeof(why), "invalid JSON at column %zu", col + 1);
		return rf_bad(f, lineno, why);
	}
	while (end < line + len && (*end == ' ' || *end == '\t'))
		end++;
	int ret;
	if (end < line + len) {
		snprintf(why, sizeof(why), "trailing data after the JSON value at column %zu",
			 (size_t)(end - line) + 1);
		ret = rf_bad(f, lineno, why);
	} else {
		ret = rf_value(f, v, lineno);
	}
	cJSON_Delete(v);
	return ret;
}

/* The document's text with, for each line, its offset and line number. */
struct doc {
	struct strbuf text;
	size_t *off, *lineno;
	size_t n, alloc, alloc2;
};

static size_t doc_line_at(const struct doc *d, size_t off)
{
	size_t lo = 0, hi = d->n; /* the last line starting at or before off */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (d->off[mid] <= off)
			lo = mid;
		else
			hi = mid;
	}
	return d->n ? d->lineno[lo] : 0;
}

static void doc_add(struct doc *d, const char *line, size_t len, size_t lineno)
{
	ALLOC_GROW(d->off, d->n + 1, d->alloc);
	ALLOC_GROW(d->lineno, d->n + 1, d->alloc2);
	d->off[d->n] = d->text.len;
	d->lineno[d->n++] = lineno;
	sb_add(&d->text, line, len);
	sb_addch(&d->text, '\n');
}

/* Does the line at index i parse on its own as one JSON value? */
static bool doc_line_is_value(const struct doc *d, size_t i)
{
	if (i >= d->n)
		return false;
	size_t end = i + 1 < d->n ? d->off[i + 1] - 1 : d->text.len - 1;
	const char *p = d->text.buf + d->off[i], *stop = NULL;
	cJSON *v = cJSON_ParseWithLengthOpts(p, end - d->off[i], &stop, false);
	bool whole = v && stop == d->text.buf + end;
	cJSON_Delete(v);
	return whole;
}

static int rf_document(struct rf *f, struct doc *d)
{
	const char *p = d->text.buf, *end = d->text.buf + d->text.len;
	bool first = true;
	for (;;) {
		while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
			p++;
		if (p >= end)
			return 0;
		const char *stop = NULL;
		size_t lineno = doc_line_at(d, (size_t)(p - d->text.buf));
		cJSON *v = cJSON_ParseWithLengthOpts(p, (size_t)(end - p), &stop, false);
		if (!v) {
			/* read the error position before any other parse resets it */
			const char *at = cJSON_GetErrorPtr();
			if (first && doc_line_is_value(d, 1)) {
				/* a torn first line in JSON Lines, not a document */
				for (size_t i = 0; i < d->n; i++) {
					size_t le = i + 1 < d->n ? d->off[i + 1] - 1 : d->text.len - 1;
					d->text.buf[le] = '\0';
					if (rf_line(f, d->text.buf + d->off[i], le - d->off[i],
						    d->lineno[i]) < 0)
						return -1;
				}
				return 0;
			}
			char why[96];
			if (!at || at < d->text.buf || at >= end) {
				snprintf(why, sizeof(why),
					 "invalid JSON: the value starting at line %zu is incomplete", lineno);
				return rf_bad(f, d->lineno[d->n - 1], why);
			}
			snprintf(why, sizeof(why), "invalid JSON (in the value starting at line %zu)",
				 lineno);
			return rf_bad(f, doc_line_at(d, (size_t)(at - d->text.buf)), why);
		}
		first = false;
		int r = rf_value(f, v, lineno);
		cJSON_Delete(v);
		if (r < 0)
			return -1;
		p = stop;
	}
}

long span_read_file(const char *path, bool strict, span_fn *fn, void *ctx)
{
	struct strbuf err = SB_INIT;
	struct jsonl_reader *r = jsonl_open(path, JSONL_QUIET | JSONL_ANY_VALUE, &err);
	if (!r) {
		error("%s", err.buf);
		sb_release(&err);
		return -1;
	}
	struct rf f = { r, path && strcmp(path, "-") ? path : "-", strict, fn, ctx, 0, SB_INIT };
	const char *line;
	size_t len;
	int got, ret = 0;
	bool first = true;
	while ((got = jsonl_next_line(r, &line, &len)) > 0) {
		if (first && jsonl_unclosed(line, len)) {
			struct doc d = { SB_INIT, NULL, NULL, 0, 0, 0 };
			doc_add(&d, line, len, jsonl_lineno(r));
			while ((got = jsonl_next_line(r, &line, &len)) > 0)
				doc_add(&d, line, len, jsonl_lineno(r));
			if (got == 0)
				ret = rf_document(&f, &d);
			sb_release(&d.text);
			free(d.off);
			free(d.lineno);
			break;
		}
		first = false;
		if (rf_line(&f, line, len, jsonl_lineno(r)) < 0) {
			ret = -1;
			break;
		}
	}
	if (got < 0)
		ret = -1;
	jsonl_close(r);
	sb_release(&f.err);
	sb_release(&err);
	return ret < 0 ? -1 : f.spans;
}
