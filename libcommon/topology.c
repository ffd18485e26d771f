/*
 * topology.c: loading and validating topologies and targets (see
 * topology.h).
 *
 * A topology file is walked once with config.h's getters, which record
 * every problem with its JSON pointer and carry on, so one run shows all
 * the mistakes; dependencies are checked in a second pass, once every
 * service is known, and the graph names a cycle. What comes out is fully
 * resolved: each instance carries its own struct check_spec (URL built,
 * placeholders of exec argv filled in, regexes compiled), so the check
 * engine and the judge never look at JSON.
 *
 * An instance's check is its own "check" object laid over the service's,
 * key by key. A mistake in the service's check would be found once per
 * instance, so the error lines are de-duplicated before they are handed
 * back. Targets from service discovery go through the same instance code
 * with pointers relative to the record.
 */
#include "common.h"
#include <math.h>

#include "check.h"
#include "config.h"
#include "graph.h"
#include "hash.h"
#include "proc.h"
#include "suggest.h"
#include "topology.h"
#include "units.h"

#define NS_PER_MS 1000000LL
#define QUOTE_MAX 40

/* Defaults (documented in topology.h and ofs-health(1)). */
#define DEFAULT_RISE 2
#define DEFAULT_FALL 3
#define DEFAULT_PATH "/health"
#define MAX_THRESHOLD 1000 /* rise, fall, budget */
#define MAX_RETRIES 100

static const char *const top_keys[] = { "name", "services", NULL };
static const char *const svc_keys[] = { "depends_on", "quorum", "rise", "fall", "instances",
					"check", "start", "stop", "restart", "recovery", NULL };
static const char *const inst_keys[] = { "id", "host", "port", "url", "check", NULL };
/* A target's keys; the record contract's own fields are let through. */
static const char *const target_keys[] = { "service", "id", "host", "port", "url", "check",
					   "type", "ts", "trace_id", "span_id", NULL };
static const char *const recovery_keys[] = { "timeout", "backoff", "backoff_max", "budget",
					     "window", "grace", "reset", NULL };
static const char *const json_keys[] = { "pointer", "equals", "not_equals", "lt", "le",
					 "gt", "ge", "exists", NULL };
static const char *const json_ops[] = { "equals", "not_equals", "lt", "le", "gt", "ge", "exists",
					NULL };
static const enum check_json_op json_op_codes[] = {
	CHECK_JSON_EQUALS, CHECK_JSON_NOT_EQUALS, CHECK_JSON_LT, CHECK_JSON_LE,
	CHECK_JSON_GT,	   CHECK_JSON_GE,	  CHECK_JSON_EXISTS
};
/* In the order of enum check_kind. */
static const char *const kind_names[] = { "http", "tcp", "exec", "heartbeat", NULL };
static const char *const scheme_names[] = { "http", "https", NULL };
static const char *const format_names[] = { "mtime", "jsonl", NULL };

/* The keys of a check object: the common ones, then each kind's, in the
 * order of enum check_kind; kind_range says where each kind's are. */
static const char *const check_keys[] = {
	/* 0: common */
	"kind", "timeout", "warn", "crit", "retries",
	/* 5: http */
	"path", "scheme", "method", "headers", "body", "status", "body_contains", "body_regex",
	"json", "tls_insecure",
	/* 15: tcp */
	"send", "expect",
	/* 17: exec */
	"command", "env",
	/* 19: heartbeat */
	"file", "format", "ttl",
	NULL
};
static const struct {
	size_t from, to; /* check_keys[from..to) */
} kind_range[] = { { 5, 15 }, { 15, 17 }, { 17, 19 }, { 19, 22 } };
_Static_assert(ARRAY_SIZE(check_keys) == 22 + 1, "kind_range must cover check_keys");
_Static_assert(ARRAY_SIZE(json_ops) == ARRAY_SIZE(json_op_codes) + 1, "one code per op");

/* The kind a check key belongs to, or -1 for a common or unknown key. */
static int key_kind(const char *key)
{
	for (size_t k = 0; k < ARRAY_SIZE(kind_range); k++)
		for (size_t i = kind_range[k].from; i < kind_range[k].to; i++)
			if (strcmp(check_keys[i], key) == 0)
				return (int)k;
	return -1;
}

/* ---- message helpers -------------------------------------------------- */

/* 'text', cut on a character boundary after about QUOTE_MAX bytes; the
 * caller frees it. cfg_error escapes control characters. */
static char *qs(const char *s)
{
	struct strbuf sb = SB_INIT;
	size_t n = strlen(s);
	bool cut = n > QUOTE_MAX;
	if (cut) {
		n = QUOTE_MAX;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	sb_addch(&sb, '\'');
	sb_add(&sb, s, n);
	sb_addstr(&sb, cut ? "...'" : "'");
	return sb_detach(&sb, NULL);
}

/* The shortest text that reads back as d. */
static void add_number(struct strbuf *sb, double d)
{
	char buf[40];
	snprintf(buf, sizeof(buf), "%.15g", d);
	if (strtod(buf, NULL) != d)
		snprintf(buf, sizeof(buf), "%.17g", d);
	sb_addstr(sb, buf);
}

/* What a value is, for "got ...": string 'x', number 5, true, object. */
static char *got(const cJSON *v)
{
	struct strbuf sb = SB_INIT;
	if (cJSON_IsString(v)) {
		char *q = qs(v->valuestring);
		sb_addf(&sb, "string %s", q);
		free(q);
	} else if (cJSON_IsNumber(v)) {
		sb_addstr(&sb, "number ");
		add_number(&sb, v->valuedouble);
	} else if (cJSON_IsTrue(v)) {
		sb_addstr(&sb, "true");
	} else if (cJSON_IsFalse(v)) {
		sb_addstr(&sb, "false");
	} else {
		sb_addstr(&sb, cfg_type_name(v));
	}
	return sb_detach(&sb, NULL);
}

static void error_got(struct cfg *cfg, const char *ptr, const char *want, const cJSON *v)
{
	char *g = got(v);
	cfg_error(cfg, ptr, "must be %s, got %s", want, g);
	free(g);
}

/* ---- small validators ------------------------------------------------- */

static bool has_blank_or_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* A duration as whole milliseconds (rounded down). Zero is accepted only
 * when zero_ok; otherwise at least 1 ms. Returns as the cfg getters. */
static int get_ms(struct cfg *cfg, const cJSON *obj, const char *ptr, const char *key,
		  bool required, bool zero_ok, int64_t *ms)
{
	int64_t ns = 0;
	int r = cfg_get_duration(cfg, obj, ptr, key, required, &ns);
	if (r != 1)
		return r;
	if (ns == 0 && zero_ok) {
		*ms = 0;
		return 1;
	}
	if (ns < NS_PER_MS) {
		char buf[DUR_BUFSZ];
		cfg_error(cfg, cfg_ptr_key(cfg, ptr, key), "must be at least 1ms, got %s",
			  dur_format(ns, buf, sizeof(buf)));
		return -1;
	}
	*ms = ns / NS_PER_MS;
	return 1;
}

/* A small whole number in min..max into an int. */
static int get_small_int(struct cfg *cfg, const cJSON *obj, const char *ptr, const char *key,
			 int min, int max, int *out)
{
	int64_t v = 0;
	int r = cfg_get_int(cfg, obj, ptr, key, false, min, max, &v);
	if (r == 1)
		*out = (int)v;
	return r;
}

/* A string that must not be empty. */
static int get_nonempty(struct cfg *cfg, const cJSON *obj, const char *ptr, const char *key,
			bool required, const char **out)
{
	const char *s = NULL;
	int r = cfg_get_string(cfg, obj, ptr, key, required, &s);
	if (r != 1)
		return r;
	if (!*s) {
		cfg_error(cfg, key ? cfg_ptr_key(cfg, ptr, key) : ptr, "must not be empty");
		return -1;
	}
	*out = s;
	return 1;
}

/* RFC 6901: "" or "/..." with ~ only as ~0 or ~1. */
static bool valid_json_pointer(const char *p)
{
	if (*p && *p != '/')
		return false;
	for (; *p; p++)
		if (*p == '~' && p[1] != '0' && p[1] != '1')
			return false;
	return true;
}

/* An RFC 9110 token (header name). */
static bool valid_token(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      (c && strchr("!#$%&'*+-.^_`|~", c))))
			return false;
	}
	return true;
}

static bool valid_env_name(const char *s)
{
	if (!*s || (*s >= '0' && *s <= '9'))
		return false;
	for (; *s; s++) {
		char c = *s;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_'))
			return false;
	}
	return true;
}

/* A host name or address as given in "host": no blanks, no URL syntax. */
static bool valid_host(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c <= 0x20 || c == 0x7f || strchr("/[]@?#\\\"'<>", c))
			return false;
	}
	return true;
}

/* The keys that occur twice in a free-form object (headers, env,
 * services), each reported once. */
static void check_duplicates(struct cfg *cfg, const cJSON *obj, const char *ptr,
			     const char *what)
{
	struct ht *seen = ht_new();
	for (const cJSON *c = obj->child; c; c = c->next) {
		const char *k = c->string ? c->string : "";
		if (ht_has(seen, k)) {
			char *q = qs(k);
			cfg_error(cfg, cfg_ptr_key(cfg, ptr, k), "duplicate %s %s", what, q);
			free(q);
		}
		ht_put(seen, k, NULL);
	}
	ht_free(seen, NULL);
}

/*
 * url_check: an http:// or https:// URL with a host (and maybe a port and
 * user info). On success *host gets the host (allocated, IPv6 brackets
 * removed) and *port the port (80 or 443 when absent). On failure the
 * reason goes to why.
 */
static int url_check(const char *url, char **host, int *port, struct strbuf *why)
{
	bool https = false;
	size_t skip;
	char *q = qs(url);
	if (strncasecmp(url, "http://", 7) == 0) {
		skip = 7;
	} else if (strncasecmp(url, "https://", 8) == 0) {
		skip = 8;
		https = true;
	} else {
		sb_addf(why, "must be an http:// or https:// URL, got %s", q);
		goto fail;
	}
	if (has_blank_or_control(url)) {
		sb_addf(why, "must not contain spaces or control characters, got %s", q);
		goto fail;
	}
	const char *a = url + skip;
	size_t alen = strcspn(a, "/?#");
	for (size_t i = alen; i > 0; i--) {
		if (a[i - 1] == '@') {
			a += i;
			alen -= i;
			break;
		}
	}
	const char *h = a, *p = NULL;
	size_t hlen, plen = 0;
	if (alen && *a == '[') {
		const char *close = memchr(a, ']', alen);
		if (!close)
			goto bad_host;
		h = a + 1;
		hlen = (size_t)(close - h);
		const char *rest = close + 1;
		if (rest < a + alen) {
			if (*rest != ':')
				goto bad_host;
			p = rest + 1;
			plen = (size_t)(a + alen - p);
		}
		/* Hex digits, colons and dots, then maybe a %zone. */
		bool zone = false;
		for (size_t i = 0; i < hlen; i++) {
			unsigned char c = (unsigned char)h[i];
			zone |= c == '%';
			bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
				   (c >= 'A' && c <= 'F');
			bool word = (c >= 'g' && c <= 'z') || (c >= 'G' && c <= 'Z') ||
				    (c && strchr("-_~", c));
			if (!(hex || c == ':' || c == '.' || c == '%' || (zone && word)))
				goto bad_host;
		}
		if (!hlen)
			goto no_host;
	} else {
		const char *colon = memchr(a, ':', alen);
		hlen = colon ? (size_t)(colon - a) : alen;
		if (colon) {
			p = colon + 1;
			plen = (size_t)(a + alen - p);
		}
		if (!hlen)
			goto no_host;
		for (size_t i = 0; i < hlen; i++) {
			unsigned char c = (unsigned char)h[i];
			if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
			      (c >= 'A' && c <= 'Z') || c >= 0x80 || strchr("-._~%", c)))
				goto bad_host;
		}
	}
	int pv = https ? 443 : 80;
	if (p) {
		pv = 0;
		if (plen == 0 || plen > 5)
			goto bad_port;
		for (size_t i = 0; i < plen; i++) {
			if (p[i] < '0' || p[i] > '9')
				goto bad_port;
			pv = pv * 10 + (p[i] - '0');
		}
		if (pv < 1 || pv > 65535)
			goto bad_port;
	}
	*host = xstrndup(h, hlen);
	*port = pv;
	free(q);
	return 0;
no_host:
	sb_addf(why, "URL %s has no host", q);
	goto fail;
bad_host:
	sb_addf(why, "URL %s has an invalid host", q);
	goto fail;
bad_port:
	sb_addf(why, "URL %s has an invalid port (must be 1..65535)", q);
fail:
	free(q);
	return -1;
}

/* ---- commands and hooks ----------------------------------------------- */

static void argv_free(char **argv)
{
	if (!argv)
		return;
	for (char **a = argv; *a; a++)
		free(*a);
	free(argv);
}

/* ---- checks ----------------------------------------------------------- */

/* What a check needs to know about its instance. */
struct inst_info {
	const char *service, *id;
	const char *host;    /* "" if unknown */
	int port;            /* 0 if unknown */
	const char *url;     /* the instance's own URL, or NULL */
	const char *ptr;     /* the instance's pointer */
	bool has_host, has_port, has_url; /* the keys were given (valid or not) */
};

/* A check definition in two layers: [0] the instance's, [1] the
 * service's. base_applies: the service's kind-specific keys apply. */
struct layers {
	const cJSON *obj[2];
	const char *ptr[2];
	bool base_applies;
};

/* Find key: the layer's object and pointer, or false if neither has it. */
static bool pick(const struct layers *l, const char *key, const cJSON **obj, const char **ptr)
{
	bool common = key_kind(key) < 0;
	for (int i = 0; i < 2; i++) {
		if (!l->obj[i] || (i == 1 && !common && !l->base_applies))
			continue;
		if (cJSON_GetObjectItemCaseSensitive(l->obj[i], key)) {
			*obj = l->obj[i];
			*ptr = l->ptr[i];
			return true;
		}
	}
	return false;
}

/* Unknown keys, duplicates, and keys of another kind in one layer. */
static void check_layer_keys(struct cfg *cfg, const cJSON *obj, const char *ptr, int kind)
{
	cfg_check_keys(cfg, obj, ptr, check_keys);
	if (kind < 0)
		return;
	for (const cJSON *c = obj->child; c; c = c->next) {
		int k = key_kind(c->string);
		if (k >= 0 && k != kind)
			cfg_error(cfg, cfg_ptr_key(cfg, ptr, c->string),
				  "'%s' applies to %s checks, not %s", c->string, kind_names[k],
				  kind_names[kind]);
	}
}

/* One entry of "status": 200, "200", "200-299" or "2xx". */
static int parse_status(struct cfg *cfg, const cJSON *e, const char *eptr,
			struct check_status_range *out)
{
	static const char *const want =
		"a status (200), a range (\"200-299\") or a class (\"2xx\")";
	if (cJSON_IsNumber(e)) {
		int64_t v = 0;
		if (cfg_get_int(cfg, e, eptr, NULL, true, 100, 599, &v) != 1)
			return -1;
		out->lo = out->hi = (int)v;
		return 0;
	}
	if (!cJSON_IsString(e)) {
		error_got(cfg, eptr, want, e);
		return -1;
	}
	const char *s = e->valuestring;
	int lo = 0, hi = 0;
	if (strlen(s) == 3 && s[0] >= '1' && s[0] <= '5' && s[1] == 'x' && s[2] == 'x') {
		lo = (s[0] - '0') * 100;
		hi = lo + 99;
	} else {
		const char *p = s;
		int *cur = &lo;
		for (int part = 0; part < 2; part++) {
			int digits = 0;
			while (*p >= '0' && *p <= '9' && digits < 5) {
				*cur = *cur * 10 + (*p++ - '0');
				digits++;
			}
			if (!digits || (*p >= '0' && *p <= '9')) {
				error_got(cfg, eptr, want, e);
				return -1;
			}
			if (part == 0 && *p == '-') {
				p++;
				cur = &hi;
				continue;
			}
			if (part == 0)
				hi = lo;
			break;
		}
		if (*p) {
			error_got(cfg, eptr, want, e);
			return -1;
		}
		char *q = qs(s);
		if (lo < 100 || hi > 599 || hi < 100 || lo > 599) {
			cfg_error(cfg, eptr, "must be within 100..599, got %s", q);
			free(q);
			return -1;
		}
		if (lo > hi) {
			cfg_error(cfg, eptr, "must run from low to high, got %s", q);
			free(q);
			return -1;
		}
		free(q);
	}
	out->lo = lo;
	out->hi = hi;
	return 0;
}

static void get_status(struct cfg *cfg, const cJSON *obj, const char *ptr,
		       struct check_spec *spec)
{
	cJSON *arr = NULL;
	if (cfg_get_array(cfg, obj, ptr, "status", false, &arr) != 1)
		return;
	const char *aptr = cfg_ptr_key(cfg, ptr, "status");
	size_t n = (size_t)cJSON_GetArraySize(arr), i = 0;
	if (!n) {
		cfg_error(cfg, aptr, "must list at least one status");
		return;
	}
	struct check_status_range *r = xcalloc(n, sizeof(*r));
	bool bad = false;
	const cJSON *e;
	cJSON_ArrayForEach (e, arr) {
		if (parse_status(cfg, e, cfg_ptr_index(cfg, aptr, i), &r[i]) < 0)
			bad = true;
		i++;
	}
	if (bad) {
		free(r);
		return;
	}
	spec->status_ok = r;
	spec->nstatus_ok = n;
}

static void get_headers(struct cfg *cfg, const cJSON *obj, const char *ptr,
			struct check_spec *spec)
{
	cJSON *h = NULL;
	if (cfg_get_object(cfg, obj, ptr, "headers", false, &h) != 1)
		return;
	const char *hptr = cfg_ptr_key(cfg, ptr, "headers");
	check_duplicates(cfg, h, hptr, "header");
	size_t n = (size_t)cJSON_GetArraySize(h), k = 0;
	if (!n)
		return;
	char **list = xcalloc(n + 1, sizeof(*list));
	bool bad = false;
	for (const cJSON *c = h->child; c; c = c->next) {
		const char *name = c->string ? c->string : "";
		const char *v = NULL;
		if (!valid_token(name)) {
			char *q = qs(name);
			cfg_error(cfg, cfg_ptr_key(cfg, hptr, name), "invalid header name %s", q);
			free(q);
			bad = true;
			continue;
		}
		if (cfg_get_string(cfg, h, hptr, name, true, &v) != 1) {
			bad = true;
			continue;
		}
		if (strpbrk(v, "\r\n")) {
			cfg_error(cfg, cfg_ptr_key(cfg, hptr, name),
				  "must not contain a line break");
			bad = true;
			continue;
		}
		list[k++] = xasprintf("%s: %s", name, v);
	}
	if (bad) {
		argv_free(list);
		return;
	}
	spec->headers = list;
}

static void get_json_condition(struct cfg *cfg, const cJSON *obj, const char *ptr,
			       struct check_spec *spec)
{
	cJSON *j = NULL;
	if (cfg_get_object(cfg, obj, ptr, "json", false, &j) != 1)
		return;
	const char *jptr = cfg_ptr_key(cfg, ptr, "json");
	cfg_check_keys(cfg, j, jptr, json_keys);
	const char *pointer = NULL;
	bool bad = cfg_get_string(cfg, j, jptr, "pointer", true, &pointer) != 1;
	if (!bad && !valid_json_pointer(pointer)) {
		char *q = qs(pointer);
		cfg_error(cfg, cfg_ptr_key(cfg, jptr, "pointer"),
			  "must be a JSON pointer like \"/status\" (~ only as ~0 or ~1), "
			  "got %s", q);
		free(q);
		bad = true;
	}
	int op = -1;
	for (int i = 0; json_ops[i]; i++) {
		if (!cJSON_GetObjectItemCaseSensitive(j, json_ops[i]))
			continue;
		if (op >= 0) {
			cfg_error(cfg, jptr, "has both '%s' and '%s': give one condition",
				  json_ops[op], json_ops[i]);
			return;
		}
		op = i;
	}
	if (op < 0) {
		cfg_error(cfg, jptr,
			  "needs a condition: one of 'equals', 'not_equals', 'lt', 'le', 'gt', "
			  "'ge' or 'exists'");
		return;
	}
	const char *key = json_ops[op];
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
	const char *vptr = cfg_ptr_key(cfg, jptr, key);
	struct strbuf text = SB_INIT;
	enum check_json_op code = json_op_codes[op];
	if (code == CHECK_JSON_EXISTS) {
		if (!cJSON_IsTrue(v)) {
			error_got(cfg, vptr, "true (the field must be present)", v);
			bad = true;
		}
	} else if (code == CHECK_JSON_EQUALS || code == CHECK_JSON_NOT_EQUALS) {
		if (cJSON_IsString(v))
			sb_addstr(&text, v->valuestring);
		else if (cJSON_IsNumber(v))
			add_number(&text, v->valuedouble);
		else if (cJSON_IsBool(v))
			sb_addstr(&text, cJSON_IsTrue(v) ? "true" : "false");
		else if (cJSON_IsNull(v))
			sb_addstr(&text, "null");
		else {
			error_got(cfg, vptr, "a string, number, true, false or null", v);
			bad = true;
		}
	} else {
		double d = 0;
		if (cfg_get_number(cfg, j, jptr, key, true, -INFINITY, INFINITY, &d) == 1)
			add_number(&text, d);
		else
			bad = true;
	}
	if (bad) {
		sb_release(&text);
		return;
	}
	spec->json_pointer = xstrdup(pointer);
	spec->json_op = code;
	spec->json_value = code == CHECK_JSON_EXISTS ? NULL : sb_detach(&text, NULL);
	sb_release(&text);
}

/* The most copies of atoms a pattern may expand to. */
#define REGEX_MAX_SIZE 100000.0
#define REGEX_MAX_DEPTH 64

/*
 * regex_size: an upper estimate of the size a POSIX ERE compiles to:
 * an atom counts 1, a group the sum of its parts, an interval {m,n}
 * multiplies what it follows by n (by m when open-ended), and a '+'
 * doubles it (glibc copies X+ into XX*, so a+++++... grows as 2^n). Regex engines
 * expand intervals by copying, so nested counts multiply: glibc takes
 * seconds and gigabytes before it refuses (((a{100}){100}){100}){100}.
 * Deeper nesting than REGEX_MAX_DEPTH counts as too large.
 */
static double regex_size(const char *p)
{
	double stack[REGEX_MAX_DEPTH];
	size_t depth = 0;
	double sum = 0, last = 0;
	while (*p) {
		char c = *p;
		if (c == '\\' && p[1]) {
			p += 2;
			sum += 1;
			last = 1;
		} else if (c == '[') {
			p++;
			if (*p == '^')
				p++;
			if (*p == ']')
				p++;
			while (*p && *p != ']') {
				if (*p == '[' && p[1] && strchr(":.=", p[1])) {
					char d = p[1];
					p += 2;
					while (*p && !(p[0] == d && p[1] == ']'))
						p++;
					if (*p)
						p += 2;
				} else {
					p++;
				}
			}
			if (*p)
				p++;
			sum += 1;
			last = 1;
		} else if (c == '(') {
			if (depth == REGEX_MAX_DEPTH)
				return INFINITY;
			stack[depth++] = sum;
			sum = 0;
			last = 0;
			p++;
		} else if (c == ')') {
			double group = sum;
			sum = (depth ? stack[--depth] : 0) + group;
			last = group;
			p++;
		} else if (c == '{') {
			/* {m}, {m,}, {m,n} or {,n}: the largest count that matters. */
			double m = 0, n = -1;
			p++;
			while (*p >= '0' && *p <= '9' && m < 1e6)
				m = m * 10 + (*p++ - '0');
			if (*p == ',') {
				p++;
				if (*p >= '0' && *p <= '9') {
					n = 0;
					while (*p >= '0' && *p <= '9' && n < 1e6)
						n = n * 10 + (*p++ - '0');
				}
			}
			double k = n >= 0 ? n : m;
			if (k > 1) {
				sum += last * (k - 1);
				last *= k;
			}
			while (*p && *p != '}')
				p++;
			if (*p)
				p++;
		} else if (c == '+') {
			/* glibc compiles X+ as XX*: one more copy of X. */
			sum += last;
			last *= 2;
			p++;
		} else {
			if (!strchr("*?|^$", c)) {
				sum += 1;
				last = 1;
			} else if (c == '|') {
				last = 0;
			}
			p++;
		}
		if (sum > REGEX_MAX_SIZE)
			return sum;
	}
	while (depth)
		sum += stack[--depth];
	return sum;
}

/* Compile one pattern alone through check_spec_compile, to know which
 * key a bad one came from. */
static void check_regex(struct cfg *cfg, const char *ptr, const char *pattern, bool body)
{
	struct check_spec tmp;
	struct strbuf e = SB_INIT;
	if (regex_size(pattern) > REGEX_MAX_SIZE) {
		cfg_error(cfg, ptr,
			  "regular expression too large: its repetition counts multiply "
			  "beyond %.0f", REGEX_MAX_SIZE);
		return;
	}
	check_spec_init(&tmp);
	if (body)
		tmp.body_regex = xstrdup(pattern);
	else
		tmp.expect = xstrdup(pattern);
	if (check_spec_compile(&tmp, &e) < 0)
		cfg_error(cfg, ptr, "%s", e.len ? e.buf : "invalid regular expression");
	check_spec_release(&tmp);
	sb_release(&e);
}

/* A string key (maybe required to be non-empty) copied into *dst. */
static void take_string(struct cfg *cfg, const struct layers *l, const char *key, bool nonempty,
			char **dst)
{
	const cJSON *obj;
	const char *ptr, *s = NULL;
	if (!pick(l, key, &obj, &ptr))
		return;
	int r = nonempty ? get_nonempty(cfg, obj, ptr, key, false, &s)
			 : cfg_get_string(cfg, obj, ptr, key, false, &s);
	if (r == 1)
		*dst = xstrdup(s);
}

static void resolve_http(struct cfg *cfg, const struct layers *l, const struct inst_info *in,
			 struct check_spec *spec)
{
	const cJSON *obj;
	const char *ptr;
	const char *path = DEFAULT_PATH;
	int scheme = 0;
	if (pick(l, "path", &obj, &ptr) &&
	    cfg_get_string(cfg, obj, ptr, "path", false, &path) == 1) {
		char *q = qs(path);
		if (path[0] != '/')
			cfg_error(cfg, cfg_ptr_key(cfg, ptr, "path"), "must start with '/', got %s",
				  q);
		else if (has_blank_or_control(path))
			cfg_error(cfg, cfg_ptr_key(cfg, ptr, "path"),
				  "must not contain spaces or control characters, got %s", q);
		free(q);
	}
	if (pick(l, "scheme", &obj, &ptr))
		cfg_get_enum(cfg, obj, ptr, "scheme", false, scheme_names, &scheme);
	if (pick(l, "method", &obj, &ptr)) {
		const char *m = NULL;
		if (cfg_get_string(cfg, obj, ptr, "method", false, &m) == 1) {
			bool upper = *m != '\0';
			for (const char *c = m; *c; c++)
				upper &= *c >= 'A' && *c <= 'Z';
			if (upper) {
				spec->method = xstrdup(m);
			} else {
				char *q = qs(m);
				cfg_error(cfg, cfg_ptr_key(cfg, ptr, "method"),
					  "must be an HTTP method in capitals, like GET or HEAD, "
					  "got %s", q);
				free(q);
			}
		}
	}
	if (pick(l, "headers", &obj, &ptr))
		get_headers(cfg, obj, ptr, spec);
	take_string(cfg, l, "body", false, &spec->body);
	if (pick(l, "status", &obj, &ptr))
		get_status(cfg, obj, ptr, spec);
	take_string(cfg, l, "body_contains", true, &spec->body_contains);
	if (pick(l, "body_regex", &obj, &ptr)) {
		take_string(cfg, l, "body_regex", false, &spec->body_regex);
		if (spec->body_regex)
			check_regex(cfg, cfg_ptr_key(cfg, ptr, "body_regex"), spec->body_regex,
				    true);
	}
	if (pick(l, "json", &obj, &ptr))
		get_json_condition(cfg, obj, ptr, spec);
	if (pick(l, "tls_insecure", &obj, &ptr))
		cfg_get_bool(cfg, obj, ptr, "tls_insecure", false, &spec->tls_insecure);

	if (!in)
		return;
	if (in->url) {
		spec->url = xstrdup(in->url);
	} else if (in->has_host && in->has_port) {
		if (*in->host && in->port) {
			const char *open = strchr(in->host, ':') ? "[" : "";
			const char *close = *open ? "]" : "";
			spec->url = xasprintf("%s://%s%s%s:%d%s", scheme_names[scheme], open,
					      in->host, close, in->port, path);
		}
	} else if (!in->has_url) {
		if (!in->has_host && !in->has_port)
			cfg_error(cfg, in->ptr,
				  "an http check needs \"url\", or \"host\" and \"port\"");
		else
			cfg_error(cfg, in->ptr,
				  "missing required key '%s' for an http check without \"url\"",
				  in->has_host ? "port" : "host");
	}
}

static void resolve_tcp(struct cfg *cfg, const struct layers *l, const struct inst_info *in,
			struct check_spec *spec)
{
	const cJSON *obj;
	const char *ptr;
	take_string(cfg, l, "send", true, &spec->send);
	if (pick(l, "expect", &obj, &ptr)) {
		take_string(cfg, l, "expect", false, &spec->expect);
		if (spec->expect)
			check_regex(cfg, cfg_ptr_key(cfg, ptr, "expect"), spec->expect, false);
	}
	if (!in)
		return;
	if (!in->has_host && !in->has_url)
		cfg_error(cfg, in->ptr, "missing required key 'host' for a tcp check");
	if (!in->has_port && !in->has_url)
		cfg_error(cfg, in->ptr, "missing required key 'port' for a tcp check");
}

/* The placeholders of an exec check or heartbeat file. */
static size_t fill_vars(const struct inst_info *in, struct proc_var *vars, char *portbuf,
			size_t portlen)
{
	if (in->port)
		snprintf(portbuf, portlen, "%d", in->port);
	else
		portbuf[0] = '\0';
	vars[0] = (struct proc_var){ "service", in->service };
	vars[1] = (struct proc_var){ "instance", in->id };
	vars[2] = (struct proc_var){ "host", in->host };
	vars[3] = (struct proc_var){ "port", portbuf };
	return TOPO_NVARS;
}

static void resolve_exec(struct cfg *cfg, const struct layers *l, const struct inst_info *in,
			 const char *kind_ptr, struct check_spec *spec)
{
	const cJSON *obj;
	const char *ptr;
	char **tmpl = NULL;
	char *shell = NULL;
	/* Required of every instance, not of the service's check alone:
	 * the instances may each give their own. */
	if (pick(l, "command", &obj, &ptr))
		cfg_get_command(cfg, obj, ptr, "command", true, &tmpl, &shell);
	else if (in)
		cfg_error(cfg, kind_ptr, "missing required key 'command' for an exec check");
	cJSON *env = NULL;
	if (pick(l, "env", &obj, &ptr) && cfg_get_object(cfg, obj, ptr, "env", false, &env) == 1) {
		const char *eptr = cfg_ptr_key(cfg, ptr, "env");
		check_duplicates(cfg, env, eptr, "variable");
		for (const cJSON *c = env->child; c; c = c->next) {
			const char *name = c->string ? c->string : "";
			const char *v = NULL;
			if (!valid_env_name(name)) {
				char *q = qs(name);
				cfg_error(cfg, cfg_ptr_key(cfg, eptr, name),
					  "invalid environment variable name %s", q);
				free(q);
			} else {
				cfg_get_string(cfg, env, eptr, name, true, &v);
			}
		}
	}
	struct proc_var vars[TOPO_NVARS];
	char portbuf[TOPO_PORTBUF];
	if (in) {
		fill_vars(in, vars, portbuf, sizeof(portbuf));
		if (tmpl)
			spec->argv = proc_expand_argv((const char *const *)tmpl, vars, TOPO_NVARS);
		spec->shell = shell;
		shell = NULL;
		size_t n = 4 + (env ? (size_t)cJSON_GetArraySize(env) : 0), k = 0;
		char **list = xcalloc(n + 1, sizeof(*list));
		list[k++] = xasprintf("OFS_SERVICE=%s", in->service);
		list[k++] = xasprintf("OFS_INSTANCE=%s", in->id);
		if (*in->host)
			list[k++] = xasprintf("OFS_HOST=%s", in->host);
		if (in->port)
			list[k++] = xasprintf("OFS_PORT=%d", in->port);
		for (const cJSON *c = env ? env->child : NULL; c; c = c->next)
			if (c->string && cJSON_IsString(c) && valid_env_name(c->string))
				list[k++] = xasprintf("%s=%s", c->string, c->valuestring);
		spec->env = list;
	}
	argv_free(tmpl);
	free(shell);
}

static void resolve_heartbeat(struct cfg *cfg, const struct layers *l,
			      const struct inst_info *in, const char *kind_ptr,
			      struct check_spec *spec)
{
	const cJSON *obj;
	const char *ptr;
	const char *file = NULL;
	/* As for exec: required of every instance. */
	if (pick(l, "file", &obj, &ptr))
		get_nonempty(cfg, obj, ptr, "file", true, &file);
	else if (in)
		cfg_error(cfg, kind_ptr, "missing required key 'file' for a heartbeat check");
	if (pick(l, "ttl", &obj, &ptr))
		get_ms(cfg, obj, ptr, "ttl", true, false, &spec->ttl_ms);
	else if (in)
		cfg_error(cfg, kind_ptr, "missing required key 'ttl' for a heartbeat check");
	int format = 0;
	if (pick(l, "format", &obj, &ptr))
		cfg_get_enum(cfg, obj, ptr, "format", false, format_names, &format);
	spec->file_jsonl = format == 1;
	if (file && in) {
		struct proc_var vars[TOPO_NVARS];
		char portbuf[TOPO_PORTBUF];
		fill_vars(in, vars, portbuf, sizeof(portbuf));
		const char *one[] = { file, NULL };
		char **x = proc_expand_argv(one, vars, TOPO_NVARS);
		spec->file = x[0];
		free(x);
	}
}

/*
 * resolve_check: fill spec (initialised by the caller) from the
 * service's check base (at base_ptr, may be NULL) overlaid by the
 * instance's over (at over_ptr, may be NULL), for instance in (NULL: only
 * validate the definition). Errors go to cfg.
 */
static void resolve_check(struct cfg *cfg, const struct inst_info *in, const cJSON *base,
			  const char *base_ptr, const cJSON *over, const char *over_ptr,
			  struct check_spec *spec)
{
	int nerrors = cfg->nerrors;
	int base_kind = 0, kind = 0;
	bool kind_ok = true;
	const char *kind_ptr = base ? base_ptr : over_ptr;
	if (base && cfg_get_enum(cfg, base, base_ptr, "kind", false, kind_names, &base_kind) < 0)
		kind_ok = false;
	kind = base_kind;
	if (over && cJSON_GetObjectItemCaseSensitive(over, "kind")) {
		kind_ptr = over_ptr;
		if (cfg_get_enum(cfg, over, over_ptr, "kind", false, kind_names, &kind) < 0)
			kind_ok = false;
	}
	if (base)
		check_layer_keys(cfg, base, base_ptr, kind_ok ? base_kind : -1);
	if (over)
		check_layer_keys(cfg, over, over_ptr, kind_ok ? kind : -1);
	if (!kind_ok)
		return;

	struct layers l = { { over, base }, { over_ptr, base_ptr }, kind == base_kind };
	const cJSON *obj;
	const char *ptr;
	spec->kind = (enum check_kind)kind;
	if (in) {
		spec->host = xstrdup(in->host);
		spec->port = in->port;
	}
	if (pick(&l, "timeout", &obj, &ptr))
		get_ms(cfg, obj, ptr, "timeout", false, false, &spec->timeout_ms);
	const char *warn_ptr = NULL;
	if (pick(&l, "warn", &obj, &ptr) &&
	    get_ms(cfg, obj, ptr, "warn", false, true, &spec->warn_ms) == 1)
		warn_ptr = cfg_ptr_key(cfg, ptr, "warn");
	if (pick(&l, "crit", &obj, &ptr))
		get_ms(cfg, obj, ptr, "crit", false, true, &spec->crit_ms);
	if (warn_ptr && spec->warn_ms && spec->crit_ms && spec->warn_ms > spec->crit_ms) {
		char w[DUR_BUFSZ], c[DUR_BUFSZ];
		cfg_error(cfg, warn_ptr, "must not be above crit (%s), got %s",
			  dur_format(spec->crit_ms * NS_PER_MS, c, sizeof(c)),
			  dur_format(spec->warn_ms * NS_PER_MS, w, sizeof(w)));
	}
	if (pick(&l, "retries", &obj, &ptr))
		get_small_int(cfg, obj, ptr, "retries", 0, MAX_RETRIES, &spec->retries);

	switch (spec->kind) {
	case CHECK_HTTP:
		resolve_http(cfg, &l, in, spec);
		break;
	case CHECK_TCP:
		resolve_tcp(cfg, &l, in, spec);
		break;
	case CHECK_EXEC:
		resolve_exec(cfg, &l, in, kind_ptr, spec);
		break;
	case CHECK_HEARTBEAT:
		resolve_heartbeat(cfg, &l, in, kind_ptr, spec);
		break;
	}
	if (in && cfg->nerrors == nerrors) {
		struct strbuf e = SB_INIT;
		if (check_spec_compile(spec, &e) < 0)
			cfg_error(cfg, kind_ptr ? kind_ptr : in->ptr, "%s", e.buf);
		sb_release(&e);
	}
}

/* ---- instances -------------------------------------------------------- */

/* An instance's own keys, read and checked. Owns host and id copies. */
struct inst_src {
	struct inst_info info;
	char *id, *host;
	bool id_given;
};

static void inst_src_release(struct inst_src *s)
{
	free(s->id);
	free(s->host);
}

/* read_instance: id, host, port and url of obj (at ptr). The id is
 * derived from the url or host:port when not given. */
static void read_instance(struct cfg *cfg, const cJSON *obj, const char *ptr,
			  const char *service, struct inst_src *s)
{
	memset(s, 0, sizeof(*s));
	struct inst_info *in = &s->info;
	in->service = service;
	in->ptr = ptr;
	const char *id = NULL, *host = NULL, *url = NULL;
	int64_t port = 0;
	in->has_host = cJSON_GetObjectItemCaseSensitive(obj, "host") != NULL;
	in->has_port = cJSON_GetObjectItemCaseSensitive(obj, "port") != NULL;
	in->has_url = cJSON_GetObjectItemCaseSensitive(obj, "url") != NULL;
	s->id_given = cJSON_GetObjectItemCaseSensitive(obj, "id") != NULL;

	get_nonempty(cfg, obj, ptr, "id", false, &id);
	bool host_ok = false, port_ok = false, url_ok = false;
	if (cfg_get_string(cfg, obj, ptr, "host", false, &host) == 1) {
		host_ok = valid_host(host);
		if (!host_ok) {
			char *q = qs(host);
			cfg_error(cfg, cfg_ptr_key(cfg, ptr, "host"),
				  "must be a host name or address, got %s", q);
			free(q);
		}
	}
	port_ok = cfg_get_int(cfg, obj, ptr, "port", false, 1, 65535, &port) == 1;
	char *url_host = NULL;
	int url_port = 0;
	if (cfg_get_string(cfg, obj, ptr, "url", false, &url) == 1) {
		struct strbuf why = SB_INIT;
		url_ok = url_check(url, &url_host, &url_port, &why) == 0;
		if (!url_ok)
			cfg_error(cfg, cfg_ptr_key(cfg, ptr, "url"), "%s", why.buf);
		sb_release(&why);
	}

	if (host_ok)
		s->host = xstrdup(host);
	else if (url_ok && !in->has_host)
		s->host = xstrdup(url_host);
	else
		s->host = xstrdup("");
	if (port_ok)
		in->port = (int)port;
	else if (url_ok && !in->has_port)
		in->port = url_port;
	in->host = s->host;
	in->url = url_ok ? url : NULL;
	free(url_host);

	if (id) {
		s->id = xstrdup(id);
	} else if (!s->id_given) {
		if (url_ok)
			s->id = xstrdup(url);
		else if (host_ok && port_ok)
			s->id = xasprintf(strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, (int)port);
		else if (!in->has_url && !(in->has_host && in->has_port))
			cfg_error(cfg, ptr,
				  "missing required key 'id' (or \"url\", or \"host\" and "
				  "\"port\", to derive it from)");
	}
	in->id = s->id ? s->id : "";
}

/* The message tail naming where an id was first defined. */
static char *dup_where(const struct topology *t, const char *other_ptr, bool target)
{
	if (!*other_ptr)
		return xstrdup("also given by an earlier target");
	if (target && t->path && *t->path)
		return xasprintf("also in %s at %s", t->path, other_ptr);
	return xasprintf("also at %s", other_ptr);
}

struct id_ref {
	size_t service, instance;
};

static struct topo_instance *ref_instance(const struct topology *t, const struct id_ref *r)
{
	return &t->services[r->service].instances[r->instance];
}

/* Report an id that is taken; true if it is. */
static bool id_taken(struct topology *t, struct cfg *cfg, const struct inst_src *s,
		     bool target)
{
	if (!s->id)
		return false;
	const struct id_ref *r = ht_get(t->instance_ids, s->id);
	if (!r)
		return false;
	char *q = qs(s->id);
	char *where = dup_where(t, ref_instance(t, r)->pointer, target);
	const char *ptr = s->id_given ? cfg_ptr_key(cfg, s->info.ptr, "id") : s->info.ptr;
	cfg_error(cfg, ptr, "duplicate instance id %s, %s", q, where);
	free(where);
	free(q);
	return true;
}

/* Append an instance (its fields taken from s and spec) to service si. */
static struct topo_instance *add_instance(struct topology *t, size_t si, struct inst_src *s,
					  struct check_spec *spec, const char *ptr)
{
	struct topo_service *svc = &t->services[si];
	ALLOC_GROW(svc->instances, svc->ninstances + 1, svc->ainstances);
	struct topo_instance *in = &svc->instances[svc->ninstances];
	memset(in, 0, sizeof(*in));
	in->id = s->id ? s->id : xstrdup("");
	in->host = s->host;
	in->port = s->info.port;
	in->check = *spec;
	in->service = si;
	in->pointer = xstrdup(ptr);
	s->id = s->host = NULL;
	if (!ht_has(t->instance_ids, in->id)) {
		struct id_ref *r = xmalloc(sizeof(*r));
		r->service = si;
		r->instance = svc->ninstances;
		ht_put(t->instance_ids, in->id, r);
	}
	svc->ninstances++;
	if (svc->quorum_all)
		svc->quorum = (int)svc->ninstances;
	return in;
}

/* ---- services --------------------------------------------------------- */

static void recovery_defaults(struct topo_recovery *r)
{
	r->timeout_ms = 30000;
	r->backoff_ms = 1000;
	r->backoff_max_ms = 60000;
	r->budget = 5;
	r->budget_window_ms = 600000;
	r->grace_ms = 5000;
	r->reset_ms = 60000;
}

static size_t add_service(struct topology *t, const char *name, const char *ptr)
{
	ALLOC_GROW(t->services, t->nservices + 1, t->aservices);
	struct topo_service *svc = &t->services[t->nservices];
	memset(svc, 0, sizeof(*svc));
	svc->name = xstrdup(name);
	svc->pointer = xstrdup(ptr);
	svc->rise = DEFAULT_RISE;
	svc->fall = DEFAULT_FALL;
	svc->quorum_all = true;
	recovery_defaults(&svc->recovery);
	ht_put(t->service_names, name, (void *)(uintptr_t)(t->nservices + 1));
	if (t->deps)
		graph_add_node(t->deps, name);
	return t->nservices++;
}

static void parse_recovery(struct cfg *cfg, const cJSON *obj, const char *sptr,
			   struct topo_recovery *r)
{
	cJSON *rec = NULL;
	if (cfg_get_object(cfg, obj, sptr, "recovery", false, &rec) != 1)
		return;
	const char *rptr = cfg_ptr_key(cfg, sptr, "recovery");
	cfg_check_keys(cfg, rec, rptr, recovery_keys);
	get_ms(cfg, rec, rptr, "timeout", false, false, &r->timeout_ms);
	bool backoff = get_ms(cfg, rec, rptr, "backoff", false, true, &r->backoff_ms) == 1;
	int max = get_ms(cfg, rec, rptr, "backoff_max", false, true, &r->backoff_max_ms);
	if (max == 1 && backoff && r->backoff_max_ms < r->backoff_ms) {
		char a[DUR_BUFSZ], b[DUR_BUFSZ];
		cfg_error(cfg, cfg_ptr_key(cfg, rptr, "backoff_max"),
			  "must not be below backoff (%s), got %s",
			  dur_format(r->backoff_ms * NS_PER_MS, a, sizeof(a)),
			  dur_format(r->backoff_max_ms * NS_PER_MS, b, sizeof(b)));
	} else if (max == 0 && r->backoff_max_ms < r->backoff_ms) {
		r->backoff_max_ms = r->backoff_ms;
	}
	get_small_int(cfg, rec, rptr, "budget", 1, MAX_THRESHOLD, &r->budget);
	get_ms(cfg, rec, rptr, "window", false, false, &r->budget_window_ms);
	get_ms(cfg, rec, rptr, "grace", false, true, &r->grace_ms);
	get_ms(cfg, rec, rptr, "reset", false, true, &r->reset_ms);
}

static void parse_instances(struct topology *t, struct cfg *cfg, size_t si, const cJSON *obj,
			    const char *sptr, const cJSON *check, const char *cptr)
{
	/* The service's check alone first, so that its mistakes come before
	 * the instances' (and are found with no instance at all); repeats
	 * of them from each instance are dropped with the duplicate lines. */
	struct check_spec base;
	check_spec_init(&base);
	resolve_check(cfg, NULL, check, cptr, NULL, NULL, &base);
	check_spec_release(&base);
	cJSON *arr = NULL;
	if (cfg_get_array(cfg, obj, sptr, "instances", false, &arr) != 1)
		return;
	const char *aptr = cfg_ptr_key(cfg, sptr, "instances");
	size_t i = 0;
	const cJSON *e;
	cJSON_ArrayForEach (e, arr) {
		const char *iptr = cfg_ptr_index(cfg, aptr, i++);
		cJSON *io = NULL;
		if (cfg_get_object(cfg, e, iptr, NULL, true, &io) != 1)
			continue;
		cfg_check_keys(cfg, io, iptr, inst_keys);
		struct inst_src s;
		read_instance(cfg, io, iptr, t->services[si].name, &s);
		cJSON *over = NULL;
		cfg_get_object(cfg, io, iptr, "check", false, &over);
		struct check_spec spec;
		check_spec_init(&spec);
		const char *optr = over ? cfg_ptr_key(cfg, iptr, "check") : NULL;
		resolve_check(cfg, &s.info, check, cptr, over, optr, &spec);
		id_taken(t, cfg, &s, false);
		add_instance(t, si, &s, &spec, iptr);
		inst_src_release(&s);
	}
}

static void parse_service(struct topology *t, struct cfg *cfg, const char *name,
			  const cJSON *obj, const char *sptr)
{
	cfg_check_keys(cfg, obj, sptr, svc_keys);
	size_t si = add_service(t, name, sptr);
	struct topo_service *svc = &t->services[si];
	get_small_int(cfg, obj, sptr, "rise", 1, MAX_THRESHOLD, &svc->rise);
	get_small_int(cfg, obj, sptr, "fall", 1, MAX_THRESHOLD, &svc->fall);

	cJSON *check = NULL;
	const char *cptr = cfg_ptr_key(cfg, sptr, "check");
	if (cfg_get_object(cfg, obj, sptr, "check", false, &check) == 1) {
		svc->check_def = cJSON_Duplicate(check, true);
		if (!svc->check_def)
			die("out of memory");
	}
	parse_instances(t, cfg, si, obj, sptr, check, cptr);
	svc = &t->services[si];

	int64_t quorum = 0;
	if (cfg_get_int(cfg, obj, sptr, "quorum", false, 1, INT64_MAX, &quorum) == 1) {
		cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, "instances");
		int64_t n = cJSON_IsArray(arr) ? cJSON_GetArraySize(arr) : 0;
		if (quorum > n) {
			cfg_error(cfg, cfg_ptr_key(cfg, sptr, "quorum"),
				  "must be at most %" PRId64 " (the number of instances), "
				  "got %" PRId64, n, quorum);
		} else {
			svc->quorum = (int)quorum;
			svc->quorum_all = false;
		}
	}

	struct topo_recovery *r = &svc->recovery;
	cfg_get_command(cfg, obj, sptr, "start", false, &r->start, &r->start_shell);
	cfg_get_command(cfg, obj, sptr, "stop", false, &r->stop, &r->stop_shell);
	cfg_get_command(cfg, obj, sptr, "restart", false, &r->restart, &r->restart_shell);
	parse_recovery(cfg, obj, sptr, r);
}

/* depends_on of service si (its object obj), once every service is known. */
static void parse_depends(struct topology *t, struct cfg *cfg, size_t si, const cJSON *obj,
			  const char *const *names)
{
	struct topo_service *svc = &t->services[si];
	cJSON *deps = NULL;
	if (cfg_get_array(cfg, obj, svc->pointer, "depends_on", false, &deps) != 1)
		return;
	const char *dptr = cfg_ptr_key(cfg, svc->pointer, "depends_on");
	svc->depends_on = xcalloc((size_t)cJSON_GetArraySize(deps) + 1, sizeof(char *));
	size_t i = 0;
	const cJSON *d;
	cJSON_ArrayForEach (d, deps) {
		const char *eptr = cfg_ptr_index(cfg, dptr, i++);
		const char *name = NULL;
		if (cfg_get_string(cfg, d, eptr, NULL, true, &name) != 1)
			continue;
		char *q = qs(name);
		if (topo_service_index(t, name) < 0) {
			const char *near = suggest_closest(name, names, t->nservices);
			char *nq = near ? qs(near) : NULL;
			if (nq)
				cfg_error(cfg, eptr, "unknown service %s; did you mean %s?", q, nq);
			else
				cfg_error(cfg, eptr, "unknown service %s", q);
			free(nq);
		} else {
			size_t k = 0;
			while (k < svc->ndeps && strcmp(svc->depends_on[k], name) != 0)
				k++;
			if (k < svc->ndeps)
				cfg_error(cfg, eptr, "%s is listed twice", q);
			else
				svc->depends_on[svc->ndeps++] = xstrdup(name);
		}
		free(q);
	}
}

/*
 * build_deps: (re)build t->deps from every service's depends_on, node i
 * being service i; record unknown names and a cycle, the cycle at the
 * depends_on of the service it is written from.
 */
static void build_deps(struct topology *t, struct cfg *cfg)
{
	graph_free(t->deps, NULL);
	t->deps = graph_new();
	for (size_t i = 0; i < t->nservices; i++)
		graph_add_node(t->deps, t->services[i].name);
	for (size_t i = 0; i < t->nservices; i++) {
		struct topo_service *svc = &t->services[i];
		for (size_t k = 0; k < svc->ndeps; k++) {
			int d = topo_service_index(t, svc->depends_on[k]);
			if (d < 0) {
				char *q = qs(svc->depends_on[k]);
				const char *dptr = NULL;
				if (*svc->pointer)
					dptr = cfg_ptr_key(cfg, svc->pointer, "depends_on");
				cfg_error(cfg, dptr, "unknown service %s", q);
				free(q);
				continue;
			}
			graph_add_edge_idx(t->deps, i, (size_t)d, NULL, 1);
		}
	}
	size_t *order = xcalloc(t->nservices + 1, sizeof(*order));
	struct strbuf msg = SB_INIT;
	if (graph_reverse_topo(t->deps, order, &msg) < 0) {
		/* Name it where it starts: the longest service name that fits. */
		static const char lead[] = "dependency cycle: ";
		const char *ptr = "/services";
		size_t best = 0, nlead = strlen(lead);
		bool led = strncmp(msg.buf, lead, nlead) == 0;
		for (size_t i = 0; led && i < t->nservices; i++) {
			const struct topo_service *svc = &t->services[i];
			size_t n = strlen(svc->name);
			const char *at = msg.buf + nlead;
			if (strncmp(at, svc->name, n) == 0 && strncmp(at + n, " -> ", 4) == 0 &&
			    n >= best && *svc->pointer) {
				best = n;
				ptr = cfg_ptr_key(cfg, svc->pointer, "depends_on");
			}
		}
		cfg_error(cfg, ptr, "%s", msg.buf);
	}
	sb_release(&msg);
	free(order);
}

static void parse_root(struct topology *t, struct cfg *cfg, const cJSON *root)
{
	cfg_check_keys(cfg, root, "", top_keys);
	const char *name = NULL;
	if (cfg_get_string(cfg, root, "", "name", false, &name) == 1) {
		free(t->name);
		t->name = xstrdup(name);
	}
	cJSON *svcs = NULL;
	if (cfg_get_object(cfg, root, "", "services", true, &svcs) != 1)
		return;
	size_t n = (size_t)cJSON_GetArraySize(svcs);
	if (!n) {
		cfg_error(cfg, "/services", "must name at least one service");
		return;
	}
	check_duplicates(cfg, svcs, "/services", "service");
	const cJSON **objs = xcalloc(n, sizeof(*objs));
	for (const cJSON *s = svcs->child; s; s = s->next) {
		const char *sname = s->string ? s->string : "";
		const char *sptr = cfg_ptr_key(cfg, "/services", sname);
		if (topo_service_index(t, sname) >= 0)
			continue; /* a duplicate, reported above */
		if (!*sname) {
			cfg_error(cfg, sptr, "a service name must not be empty");
			continue;
		}
		cJSON *obj = NULL;
		if (cfg_get_object(cfg, s, sptr, NULL, true, &obj) != 1)
			continue;
		objs[t->nservices] = obj;
		parse_service(t, cfg, sname, obj, sptr);
	}
	const char **names = xcalloc(t->nservices + 1, sizeof(*names));
	for (size_t i = 0; i < t->nservices; i++)
		names[i] = t->services[i].name;
	for (size_t i = 0; i < t->nservices; i++)
		parse_depends(t, cfg, i, objs[i], names);
	free(names);
	free(objs);
	build_deps(t, cfg);
}

/* Hand the errors of cfg to err, each distinct line once. Returns -1 if
 * there were any, else 0. */
static int take_errors(struct cfg *cfg, struct strbuf *err)
{
	if (!cfg->nerrors)
		return 0;
	struct ht *seen = ht_new();
	const char *p = cfg->errors.buf, *end = p + cfg->errors.len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (!ht_get_b(seen, p, len)) {
			ht_put_b(seen, p, len, (void *)1);
			if (err) {
				sb_add(err, p, len);
				sb_addch(err, '\n');
			}
		}
		p += len + 1;
	}
	ht_free(seen, NULL);
	return -1;
}

/* ---- the interface ---------------------------------------------------- */

void topo_init(struct topology *t)
{
	memset(t, 0, sizeof(*t));
	t->name = xstrdup("");
	t->path = xstrdup("");
	t->deps = graph_new();
	t->service_names = ht_new();
	t->instance_ids = ht_new();
}

int topo_parse(const char *name, const cJSON *doc, struct topology *t, struct strbuf *err)
{
	topo_init(t);
	free(t->path);
	t->path = xstrdup(name ? name : "-");
	struct cfg cfg;
	cfg_init(&cfg, t->path);
	if (!doc) {
		cfg_error(&cfg, NULL, "no document");
	} else {
		cfg.root = (cJSON *)doc;
		const cJSON *root = cfg_root_object(&cfg);
		cfg.root = NULL;
		if (root)
			parse_root(t, &cfg, root);
	}
	int r = take_errors(&cfg, err);
	cfg_free(&cfg);
	if (r < 0)
		topo_free(t);
	return r;
}

int topo_load(const char *path, struct topology *t, struct strbuf *err)
{
	struct cfg cfg;
	struct strbuf e = SB_INIT;
	memset(t, 0, sizeof(*t));
	if (cfg_load(path, &cfg, &e) < 0) {
		if (err) {
			sb_add(err, e.buf, e.len);
			sb_addch(err, '\n');
		}
		sb_release(&e);
		cfg_free(&cfg);
		return -1;
	}
	sb_release(&e);
	int r = topo_parse(cfg.file, cfg.root, t, err);
	cfg_free(&cfg);
	return r;
}

int topo_add_target(struct topology *t, const cJSON *rec, struct strbuf *err)
{
	static const char file[] = "target";
	if (!cJSON_IsObject(rec)) {
		char *g = got(rec);
		if (err)
			sb_addf(err, "a target must be an object, got %s", g);
		free(g);
		return -1;
	}
	struct cfg cfg;
	cfg_init(&cfg, file);
	cfg_check_keys(&cfg, rec, "", target_keys);
	const char *service = NULL;
	get_nonempty(&cfg, rec, "", "service", true, &service);
	struct inst_src s;
	read_instance(&cfg, rec, "", service ? service : "", &s);
	int si = service ? topo_service_index(t, service) : -1;
	const cJSON *base = NULL;
	const char *base_ptr = NULL;
	if (si >= 0 && t->services[si].check_def) {
		base = t->services[si].check_def;
		base_ptr = cfg_ptr_key(&cfg, t->services[si].pointer, "check");
	}
	cJSON *over = NULL;
	cfg_get_object(&cfg, rec, "", "check", false, &over);
	struct check_spec spec;
	check_spec_init(&spec);
	if (service)
		resolve_check(&cfg, &s.info, base, base_ptr, over, over ? "/check" : NULL, &spec);
	id_taken(t, &cfg, &s, true);

	if (cfg.nerrors) {
		/* One line: "FILE: " off each error, joined by "; ". */
		size_t skip = strlen(file) + 2;
		const char *p = cfg.errors.buf, *end = p + cfg.errors.len;
		bool first = true;
		while (err && p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
			if (len >= skip) {
				sb_addstr(err, first ? "" : "; ");
				sb_add(err, p + skip, len - skip);
				first = false;
			}
			p += len + 1;
		}
		check_spec_release(&spec);
		inst_src_release(&s);
		cfg_free(&cfg);
		return -1;
	}
	if (si < 0)
		si = (int)add_service(t, service, "");
	add_instance(t, (size_t)si, &s, &spec, "");
	inst_src_release(&s);
	cfg_free(&cfg);
	return 0;
}

int topo_finish(struct topology *t, struct strbuf *err)
{
	struct cfg cfg;
	cfg_init(&cfg, t->path && *t->path ? t->path : "-");
	build_deps(t, &cfg);
	int r = take_errors(&cfg, err);
	cfg_free(&cfg);
	return r;
}

void topo_free(struct topology *t)
{
	for (size_t i = 0; i < t->nservices; i++) {
		struct topo_service *svc = &t->services[i];
		for (size_t k = 0; k < svc->ninstances; k++) {
			struct topo_instance *in = &svc->instances[k];
			free(in->id);
			free(in->host);
			free((char *)in->pointer);
			check_spec_release(&in->check);
		}
		free(svc->instances);
		for (size_t k = 0; k < svc->ndeps; k++)
			free(svc->depends_on[k]);
		free(svc->depends_on);
		struct topo_recovery *r = &svc->recovery;
		argv_free(r->restart);
		argv_free(r->start);
		argv_free(r->stop);
		free(r->restart_shell);
		free(r->start_shell);
		free(r->stop_shell);
		free(svc->name);
		free(svc->pointer);
		cJSON_Delete(svc->check_def);
	}
	free(t->services);
	graph_free(t->deps, NULL);
	ht_free(t->service_names, NULL);
	ht_free(t->instance_ids, free);
	free(t->name);
	free(t->path);
	memset(t, 0, sizeof(*t));
}

int topo_service_index(const struct topology *t, const char *name)
{
	if (!t->service_names)
		return -1;
	uintptr_t v = (uintptr_t)ht_get(t->service_names, name);
	return v ? (int)(v - 1) : -1;
}

struct topo_instance *topo_find_instance(const struct topology *t, const char *id)
{
	const struct id_ref *r = t->instance_ids ? ht_get(t->instance_ids, id) : NULL;
	return r ? ref_instance(t, r) : NULL;
}

size_t topo_instance_vars(const struct topology *t, const struct topo_instance *in,
			  struct proc_var vars[TOPO_NVARS], char portbuf[TOPO_PORTBUF])
{
	struct inst_info info = { 0 };
	info.service = t->services[in->service].name;
	info.id = in->id;
	info.host = in->host;
	info.port = in->port;
	return fill_vars(&info, vars, portbuf, TOPO_PORTBUF);
}
