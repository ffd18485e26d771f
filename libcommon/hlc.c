/*
 * hlc.c: reading and comparing hybrid logical clock stamps and vector
 * clocks (hlc.h). Pure functions over cJSON values: the reconciler calls
 * them for every pair of updates it weighs, so nothing here allocates.
 */
#include "common.h"

#include "hlc.h"

/* A whole number 0 .. 2^53 (exact in a double). */
static int whole(double d, int64_t *out)
{
	if (!(d >= 0 && d <= 9007199254740992.0) || d != (double)(int64_t)d)
		return -1;
	*out = (int64_t)d;
	return 0;
}

static int set_node(struct hlc *out, const char *s, size_t n, struct strbuf *err)
{
	if (n == 0 || n > HLC_NODE_MAX) {
		if (err)
			sb_addf(err, "hlc: node must be 1..%d bytes", HLC_NODE_MAX);
		return -1;
	}
	memcpy(out->node, s, n);
	out->node[n] = '\0';
	return 0;
}

/* Decimal digits s[0..n) without sign, at most 16 of them. */
static int digits(const char *s, size_t n, int64_t *out)
{
	if (n == 0 || n > 16)
		return -1;
	int64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

static int parse_string(const char *s, struct hlc *out, struct strbuf *err)
{
	const char *d1 = strchr(s, '.');
	const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	if (!d2 || digits(s, (size_t)(d1 - s), &out->l) < 0 ||
	    digits(d1 + 1, (size_t)(d2 - d1 - 1), &out->c) < 0) {
		if (err)
			sb_addf(err, "hlc: expected \"L.C.NODE\" (L and C decimal), got \"%.40s\"", s);
		return -1;
	}
	return set_node(out, d2 + 1, strlen(d2 + 1), err);
}

int hlc_parse(const cJSON *v, struct hlc *out, struct strbuf *err)
{
	if (cJSON_IsString(v))
		return parse_string(v->valuestring, out, err);
	if (!cJSON_IsObject(v)) {
		if (err)
			sb_addstr(err, "hlc: must be an object {\"l\",\"c\",\"node\"} or a string \"L.C.NODE\"");
		return -1;
	}
	const cJSON *l = cJSON_GetObjectItemCaseSensitive(v, "l");
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(v, "c");
	const cJSON *node = cJSON_GetObjectItemCaseSensitive(v, "node");
	if (!cJSON_IsNumber(l) || whole(l->valuedouble, &out->l) < 0) {
		if (err)
			sb_addstr(err, "hlc: 'l' must be a whole number >= 0");
		return -1;
	}
	out->c = 0;
	if (c && (!cJSON_IsNumber(c) || whole(c->valuedouble, &out->c) < 0)) {
		if (err)
			sb_addstr(err, "hlc: 'c' must be a whole number >= 0");
		return -1;
	}
	if (!cJSON_IsString(node)) {
		if (err)
			sb_addstr(err, "hlc: 'node' must be a string");
		return -1;
	}
	return set_node(out, node->valuestring, strlen(node->valuestring), err);
}

int hlc_cmp(const struct hlc *a, const struct hlc *b)
{
	if (a->l != b->l)
		return a->l < b->l ? -1 : 1;
	if (a->c != b->c)
		return a->c < b->c ? -1 : 1;
	int k = strcmp(a->node, b->node);
	return (k > 0) - (k < 0);
}

void hlc_format(struct strbuf *sb, const struct hlc *h)
{
	sb_addf(sb, "%" PRId64 ".%" PRId64 ".%s", h->l, h->c, h->node);
}

int vc_valid(const cJSON *v, struct strbuf *err)
{
	if (!cJSON_IsObject(v)) {
		if (err)
			sb_addstr(err, "vc: must be an object of node counters");
		return -1;
	}
	for (const cJSON *e = v->child; e; e = e->next) {
		int64_t n;
		if (!cJSON_IsNumber(e) || whole(e->valuedouble, &n) < 0) {
			if (err)
				sb_addf(err, "vc: '%.40s' must be a whole number >= 0", e->string);
			return -1;
		}
		for (const cJSON *f = v->child; f != e; f = f->next)
			if (!strcmp(f->string, e->string)) {
				if (err)
					sb_addf(err, "vc: duplicate node '%.40s'", e->string);
				return -1;
			}
	}
	return 0;
}

static double count_of(const cJSON *v, const char *node)
{
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(v, node);
	return e ? e->valuedouble : 0;
}

enum vc_order vc_compare(const cJSON *a, const cJSON *b)
{
	int less = 0, more = 0; /* some counter of a is smaller / larger */
	for (const cJSON *e = a->child; e; e = e->next) {
		double o = count_of(b, e->string);
		less |= e->valuedouble < o;
		more |= e->valuedouble > o;
	}
	for (const cJSON *e = b->child; e; e = e->next)
		if (!cJSON_GetObjectItemCaseSensitive(a, e->string))
			less |= e->valuedouble > 0;
	if (less && more)
		return VC_CONCURRENT;
	return less ? VC_BEFORE : more ? VC_AFTER : VC_EQUAL;
}

const char *vc_order_name(enum vc_order o)
{
	static const char *const names[] = { "equal", "before", "after", "concurrent" };
	return names[o];
}
