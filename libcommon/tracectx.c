/*
 * tracectx.c: W3C Trace Context parsing, formatting and propagation
 * (see tracectx.h).
 *
 * tracestate is handled as a list of member ranges pointing into the
 * caller's string, so validating never allocates; only tc_tracestate_put
 * and tc_from_env build a new, normalised string. Validation stops after
 * 33 members, which bounds the duplicate-key check however long the
 * input is.
 */
#include "common.h"

#include "rnd.h"
#include "strbuf.h"
#include "tracectx.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1; /* uppercase too: the recommendation allows only lowercase */
}

/* Decode 2n lowercase hex digits at s into out; -1 if any is not one. */
static int unhex(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static int all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

int tc_parse_traceparent(const char *s, struct tc *out)
{
	size_t len = strlen(s);
	uint8_t version, trace_id[16], span_id[8], flags;
	if (len < TC_TRACEPARENT_LEN)
		return -1;
	if (unhex(s, &version, 1) < 0 || version == 0xff)
		return -1;
	if (version == 0 && len != TC_TRACEPARENT_LEN)
		return -1;
	if (len > TC_TRACEPARENT_LEN && s[TC_TRACEPARENT_LEN] != '-')
		return -1;
	if (s[2] != '-' || s[35] != '-' || s[52] != '-')
		return -1;
	if (unhex(s + 3, trace_id, 16) < 0 || unhex(s + 36, span_id, 8) < 0 ||
	    unhex(s + 53, &flags, 1) < 0)
		return -1;
	if (all_zero(trace_id, 16) || all_zero(span_id, 8))
		return -1;
	memcpy(out->trace_id, trace_id, 16);
	memcpy(out->span_id, span_id, 8);
	out->flags = flags;
	return 0;
}

char *tc_hex(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
	return out;
}

char *tc_format_traceparent(const struct tc *c, char out[TC_TRACEPARENT_BUFSZ])
{
	uint8_t flags = c->flags & TC_FLAGS_KNOWN;
	out[0] = '0';
	out[1] = '0';
	out[2] = '-';
	tc_hex(c->trace_id, 16, out + 3);
	out[35] = '-';
	tc_hex(c->span_id, 8, out + 36);
	out[52] = '-';
	tc_hex(&flags, 1, out + 53);
	return out;
}

/* ---- tracestate ------------------------------------------------------- */

struct member {
	const char *key;
	size_t klen;
	const char *val;
	size_t vlen;
};

static int key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
	       c == '*' || c == '/';
}

/* first(c) && len in 1..max && every later char a key_char. */
static int key_part(const char *s, size_t len, int digit_first, size_t max)
{
	if (!len || len > max)
		return 0;
	if (!((s[0] >= 'a' && s[0] <= 'z') || (digit_first && s[0] >= '0' && s[0] <= '9')))
		return 0;
	for (size_t i = 1; i < len; i++)
		if (!key_char(s[i]))
			return 0;
	return 1;
}

static int valid_key(const char *k, size_t len)
{
	const char *at = memchr(k, '@', len);
	if (!at)
		return key_part(k, len, 1, 256);
	size_t tlen = (size_t)(at - k);
	return key_part(k, tlen, 1, 241) && key_part(at + 1, len - tlen - 1, 0, 14);
}

static int valid_value(const char *v, size_t len)
{
	if (!len || len > 256 || v[len - 1] == ' ')
		return 0;
	for (size_t i = 0; i < len; i++)
		if (v[i] < 0x20 || v[i] > 0x7e || v[i] == ',' || v[i] == '=')
			return 0;
	return 1;
}

static int ows(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * Read the next non-empty member at *p into *m and advance *p. Returns 1
 * for a member, 0 at the end of the string, -1 for an invalid member.
 */
static int next_member(const char **p, struct member *m)
{
	const char *s = *p;
	for (;;) {
		if (!*s)
			return 0;
		const char *comma = strchr(s, ',');
		const char *end = comma ? comma : s + strlen(s);
		const char *b = s, *e = end;
		s = comma ? comma + 1 : end;
		while (b < e && ows(*b))
			b++;
		while (e > b && ows(e[-1]))
			e--;
		if (b == e)
			continue;
		const char *eq = memchr(b, '=', (size_t)(e - b));
		if (!eq)
			return -1;
		m->key = b;
		m->klen = (size_t)(eq - b);
		m->val = eq + 1;
		m->vlen = (size_t)(e - eq - 1);
		*p = s;
		return valid_key(m->key, m->klen) && valid_value(m->val, m->vlen) ? 1 : -1;
	}
}

static int same_key(const struct member *a, const char *key, size_t klen)
{
	return a->klen == klen && !memcmp(a->key, key, klen);
}

static int has_key(const struct member *list, size_t n, const char *key, size_t klen)
{
	for (size_t i = 0; i < n; i++)
		if (same_key(&list[i], key, klen))
			return 1;
	return 0;
}

int tc_tracestate_valid(const char *s)
{
	struct member list[TC_TRACESTATE_MAX], m;
	size_t n = 0;
	int r;
	while ((r = next_member(&s, &m)) > 0) {
		if (n == TC_TRACESTATE_MAX || has_key(list, n, m.key, m.klen))
			return 0;
		list[n++] = m;
	}
	return r == 0;
}

/*
 * Fill list (room for TC_TRACESTATE_MAX) from first (if not NULL) and
 * then the members of s, skipping repeated keys and members beyond the
 * limit. Returns the count, or -1 if s is not valid member syntax.
 */
static int collect(const struct member *first, const char *s, struct member *list)
{
	size_t n = 0;
	struct member m;
	int r;
	if (first)
		list[n++] = *first;
	while (s && (r = next_member(&s, &m)) != 0) {
		if (r < 0)
			return -1;
		if (n < TC_TRACESTATE_MAX && !has_key(list, n, m.key, m.klen))
			list[n++] = m;
	}
	return (int)n;
}

static char *join(const struct member *list, size_t n)
{
	struct strbuf sb = SB_INIT;
	for (size_t i = 0; i < n; i++) {
		if (i)
			sb_addch(&sb, ',');
		sb_add(&sb, list[i].key, list[i].klen);
		sb_addch(&sb, '=');
		sb_add(&sb, list[i].val, list[i].vlen);
	}
	return sb_detach(&sb, NULL);
}

char *tc_tracestate_put(const char *old, const char *key, const char *value)
{
	struct member list[TC_TRACESTATE_MAX];
	struct member first = { key, strlen(key), value, strlen(value) };
	if (!valid_key(first.key, first.klen) || !valid_value(first.val, first.vlen))
		return NULL;
	int n = collect(&first, old, list);
	if (n < 0)
		n = 1; /* old is invalid: keep only the new member */
	return join(list, (size_t)n);
}

/* A normalised copy of a valid, non-empty tracestate; else NULL. */
static char *tracestate_normalise(const char *s)
{
	struct member list[TC_TRACESTATE_MAX];
	if (!s || !tc_tracestate_valid(s))
		return NULL;
	int n = collect(NULL, s, list);
	return n > 0 ? join(list, (size_t)n) : NULL;
}

/* ---- contexts --------------------------------------------------------- */

static void random_id(uint8_t *p, size_t n)
{
	do
		rnd_bytes(p, n);
	while (all_zero(p, n));
}

void tc_new_root(struct tc *c)
{
	random_id(c->trace_id, sizeof(c->trace_id));
	random_id(c->span_id, sizeof(c->span_id));
	c->flags = TC_FLAG_SAMPLED;
	c->tracestate = NULL;
}

void tc_new_child(const struct tc *parent, struct tc *child)
{
	if (child != parent) {
		memcpy(child->trace_id, parent->trace_id, sizeof(child->trace_id));
		child->flags = parent->flags;
		child->tracestate = parent->tracestate ? xstrdup(parent->tracestate) : NULL;
	}
	random_id(child->span_id, sizeof(child->span_id));
}

int tc_from_env(struct tc *out)
{
	const char *tp = getenv("TRACEPARENT");
	memset(out, 0, sizeof(*out));
	if (!tp || !*tp)
		return 0;
	if (tc_parse_traceparent(tp, out) < 0) {
		memset(out, 0, sizeof(*out));
		return -1;
	}
	out->tracestate = tracestate_normalise(getenv("TRACESTATE"));
	return 1;
}

int tc_to_env(const struct tc *c)
{
	char tp[TC_TRACEPARENT_BUFSZ];
	if (setenv("TRACEPARENT", tc_format_traceparent(c, tp), 1) < 0)
		return -1;
	if (c->tracestate && *c->tracestate)
		return setenv("TRACESTATE", c->tracestate, 1);
	return unsetenv("TRACESTATE");
}

void tc_free(struct tc *c)
{
	free(c->tracestate);
	c->tracestate = NULL;
}
