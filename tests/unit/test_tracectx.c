/*
 * test_tracectx.c: unit tests for tracectx.c: every class of valid and
 * invalid traceparent, tracestate validation and updates (32-member
 * limit, move to front), new and child contexts, and the environment
 * carriers.
 */
#include "common.h"

#include "strbuf.h"
#include "tap.h"
#include "tracectx.h"

#define TID "4bf92f3577b34da6a3ce929d0e0e4736"
#define SID "00f067aa0ba902b7"
#define ZERO_TID "00000000000000000000000000000000"
#define ZERO_SID "0000000000000000"

static const uint8_t tid_bytes[16] = { 0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
				       0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36 };
static const uint8_t sid_bytes[8] = { 0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7 };

static const struct {
	const char *in;
	int flags;
	const char *formatted; /* what tc_format_traceparent writes back */
} tp_ok[] = {
	{ "00-" TID "-" SID "-01", 0x01, "00-" TID "-" SID "-01" },
	{ "00-" TID "-" SID "-00", 0x00, "00-" TID "-" SID "-00" },
	{ "00-" TID "-" SID "-03", 0x03, "00-" TID "-" SID "-03" },
	{ "00-" TID "-" SID "-ff", 0xff, "00-" TID "-" SID "-03" },
	{ "00-" TID "-" SID "-08", 0x08, "00-" TID "-" SID "-00" },
	{ "01-" TID "-" SID "-01", 0x01, "00-" TID "-" SID "-01" },
	{ "01-" TID "-" SID "-01-extra", 0x01, "00-" TID "-" SID "-01" },
	{ "cc-" TID "-" SID "-01-what-the-future-will-be-like", 0x01, "00-" TID "-" SID "-01" },
	{ "fe-" TID "-" SID "-00-", 0x00, "00-" TID "-" SID "-00" },
};

static const struct {
	const char *in;
	const char *why;
} tp_bad[] = {
	{ "", "empty" },
	{ "ff-" TID "-" SID "-01", "version ff" },
	{ "00-" ZERO_TID "-" SID "-01", "all-zero trace-id" },
	{ "00-" TID "-" ZERO_SID "-01", "all-zero parent-id" },
	{ "00-4BF92F3577B34DA6A3CE929D0E0E4736-" SID "-01", "uppercase trace-id" },
	{ "00-" TID "-00F067AA0BA902B7-01", "uppercase parent-id" },
	{ "00-" TID "-" SID "-0A", "uppercase flags" },
	{ "0A-" TID "-" SID "-01", "uppercase version" },
	{ "00-" TID "-" SID "-01-extra", "version 00 with trailing data" },
	{ "00-" TID "-" SID "-01-", "version 00 with a trailing dash" },
	{ "00-" TID "-" SID "-01 ", "version 00 with a trailing space" },
	{ " 00-" TID "-" SID "-01", "a leading space" },
	{ "01-" TID "-" SID "-01x", "higher version followed by neither end nor dash" },
	{ "01-" TID "-" SID "-1", "higher version shorter than 55" },
	{ "00-" TID "-" SID "-1", "one flags digit" },
	{ "00-" TID "-" SID "-011", "three flags digits" },
	{ "00-4bf92f3577b34da6a3ce929d0e0e473-" SID "-01", "trace-id of 31 digits" },
	{ "00-" TID "6-" SID "-01", "trace-id of 33 digits" },
	{ "00-" TID "-00f067aa0ba902b-01", "parent-id of 15 digits" },
	{ "00-" TID "-00f067aa0ba902b7a-1", "parent-id of 17 digits" },
	{ "0-" TID "-" SID "-011", "one version digit" },
	{ "000-" TID "-" SID "-1", "three version digits" },
	{ "00_" TID "_" SID "_01", "wrong separators" },
	{ "00-" TID "-" SID "--1", "dash in the flags" },
	{ "00-4bf92f3577b34da6a3ce929d0e0e473g-" SID "-01", "non-hex trace-id" },
	{ "00-" TID "-00f067aa0ba902bz-01", "non-hex parent-id" },
	{ "00-" TID "-" SID "-0g", "non-hex flags" },
	{ "g0-" TID "-" SID "-01", "non-hex version" },
	{ "00-" TID SID "-01---", "missing separator" },
};

static const char *const ts_ok[] = {
	"",
	"a=1",
	"rojo=00f067aa0ba902b7,congo=t61rcWkgMzE",
	" a=1 , b=2 ",
	"\ta=1\t,\tb=2",
	"a=1,,b=2",
	",",
	"a=1,",
	" , ,a=1",
	"tenant@vendor=x",
	"0abc=1",
	"a_-*/=1",
	"t0_-*/@v0_-*/=1",
	"a=with spaces inside",
	"a= leading space",
	"a=!\"#$%&'()*+-./:;<>?@[\\]^_`{|}~",
};

static const struct {
	const char *in;
	const char *why;
} ts_bad[] = {
	{ "a", "member without '='" },
	{ "=1", "empty key" },
	{ "a=", "empty value" },
	{ "a=1,b", "second member without '='" },
	{ "A=1", "uppercase key" },
	{ "_a=1", "key starting with '_'" },
	{ "a b=1", "space in a key" },
	{ "a=1,a=2", "repeated key" },
	{ "a=b=c", "'=' in a value" },
	{ "a=x\x01", "control character in a value" },
	{ "a=x\x7f", "DEL in a value" },
	{ "a=\xc3\xa9", "non-ASCII value" },
	{ "a=x\ty", "tab inside a value" },
	{ "@v=1", "empty tenant" },
	{ "t@=1", "empty vendor" },
	{ "t@1v=1", "vendor starting with a digit" },
	{ "t@v@w=1", "two '@'" },
	{ "T@v=1", "uppercase tenant" },
};

/* "k0=v0,k1=v1,...": n members, numbered from first. */
static char *members(int first, int n)
{
	struct strbuf sb = SB_INIT;
	for (int i = first; i < first + n; i++)
		sb_addf(&sb, "%sk%d=v%d", i > first ? "," : "", i, i);
	return sb_detach(&sb, NULL);
}

static char *repeat(char c, size_t n)
{
	char *s = xmalloc(n + 1);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void test_traceparent(void)
{
	char out[TC_TRACEPARENT_BUFSZ];
	for (size_t i = 0; i < ARRAY_SIZE(tp_ok); i++) {
		struct tc c;
		memset(&c, 0x55, sizeof(c));
		c.tracestate = NULL;
		if (!ok(tc_parse_traceparent(tp_ok[i].in, &c) == 0, "traceparent '%s' is valid",
			tp_ok[i].in))
			continue;
		ok(!memcmp(c.trace_id, tid_bytes, 16) && !memcmp(c.span_id, sid_bytes, 8) &&
			   c.flags == tp_ok[i].flags && !c.tracestate,
		   "  its ids and flags %02x are read", tp_ok[i].flags);
		is_str(tc_format_traceparent(&c, out), tp_ok[i].formatted, "  and written back");
	}
	for (size_t i = 0; i < ARRAY_SIZE(tp_bad); i++) {
		struct tc c, before;
		memset(&c, 0x55, sizeof(c));
		c.tracestate = NULL;
		before = c;
		ok(tc_parse_traceparent(tp_bad[i].in, &c) == -1 && !memcmp(&c, &before, sizeof(c)),
		   "traceparent invalid: %s", tp_bad[i].why);
	}

	char hex[7];
	static const uint8_t bytes[3] = { 0x00, 0xab, 0xff };
	is_str(tc_hex(bytes, 3, hex), "00abff", "tc_hex writes lowercase hex");
	is_str(tc_hex(bytes, 0, hex), "", "tc_hex of no bytes is empty");
	char tid[33];
	is_str(tc_hex(tid_bytes, 16, tid), TID, "tc_hex of a trace_id is its 32 digits");
}

static void test_tracestate_valid(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(ts_ok); i++)
		ok(tc_tracestate_valid(ts_ok[i]) == 1, "tracestate '%s' is valid", ts_ok[i]);
	for (size_t i = 0; i < ARRAY_SIZE(ts_bad); i++)
		ok(tc_tracestate_valid(ts_bad[i].in) == 0, "tracestate invalid: %s", ts_bad[i].why);

	char *s = members(0, 32);
	ok(tc_tracestate_valid(s), "32 members are valid");
	free(s);
	s = members(0, 33);
	ok(!tc_tracestate_valid(s), "33 members are invalid");
	free(s);
	char *m32 = members(0, 32);
	s = xasprintf(",%s,,", m32);
	ok(tc_tracestate_valid(s), "empty members do not count towards 32");
	free(s);
	free(m32);

	/* pre, then n copies of c, then post. */
	static const struct {
		const char *pre;
		char c;
		size_t n;
		const char *post;
		int want;
		const char *name;
	} limits[] = {
		{ "", 'k', 256, "=1", 1, "a 256-character key" },
		{ "", 'k', 257, "=1", 0, "a 257-character key" },
		{ "a=", 'v', 256, "", 1, "a 256-character value" },
		{ "a=", 'v', 257, "", 0, "a 257-character value" },
		{ "", 't', 241, "@vvvvvvvvvvvvvv=1", 1, "a 241-character tenant, 14-character vendor" },
		{ "", 't', 242, "@v=1", 0, "a 242-character tenant" },
		{ "t@", 'v', 15, "=1", 0, "a 15-character vendor" },
		{ "a=x", ' ', 3, "", 1, "spaces after a value (optional whitespace)" },
		{ "a=", ' ', 3, "", 0, "a value of spaces only" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(limits); i++) {
		char *mid = repeat(limits[i].c, limits[i].n);
		s = xasprintf("%s%s%s", limits[i].pre, mid, limits[i].post);
		ok(tc_tracestate_valid(s) == limits[i].want, "%s is %s", limits[i].name,
		   limits[i].want ? "valid" : "invalid");
		free(mid);
		free(s);
	}
}

static void test_tracestate_put(void)
{
	static const struct {
		const char *old, *key, *value, *want;
	} cases[] = {
		{ NULL, "a", "1", "a=1" },
		{ "", "a", "1", "a=1" },
		{ "b=2,c=3", "a", "1", "a=1,b=2,c=3" },
		{ "b=2,a=0,c=3", "a", "1", "a=1,b=2,c=3" },
		{ "c=3,b=2,a=0", "a", "1", "a=1,c=3,b=2" },
		{ "a=0", "a", "1", "a=1" },
		{ " b=2 ,, \tc=3 ,", "a", "1", "a=1,b=2,c=3" },
		{ "b=2,b=3", "a", "1", "a=1,b=2" },
		{ "b=2,oops", "a", "1", "a=1" },
		{ "B=2", "a", "1", "a=1" },
		{ "b=2", "ofs@acme", "x y", "ofs@acme=x y,b=2" },
		{ "b=2", "A", "1", NULL },
		{ "b=2", "a", "", NULL },
		{ "b=2", "a", "x,y", NULL },
		{ "b=2", "a", "x=y", NULL },
		{ "b=2", "a", "trailing ", NULL },
		{ "b=2", "", "1", NULL },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *got = tc_tracestate_put(cases[i].old, cases[i].key, cases[i].value);
		char name[160];
		snprintf(name, sizeof(name), "put %s=%s into '%s'", cases[i].key, cases[i].value,
			 cases[i].old ? cases[i].old : "(null)");
		is_str(got, cases[i].want, name);
		free(got);
	}

	char *old = members(0, 32), *want, *got;
	got = tc_tracestate_put(old, "new", "1");
	char *m31 = members(0, 31);
	want = xasprintf("new=1,%s", m31);
	is_str(got, want, "a new key on 32 members drops the right-most (k31)");
	free(got);
	free(want);
	free(m31);

	got = tc_tracestate_put(old, "k31", "x");
	m31 = members(0, 31);
	want = xasprintf("k31=x,%s", m31);
	is_str(got, want, "an existing key moves to the front and nothing is dropped");
	free(got);
	free(want);
	free(m31);
	free(old);

	old = members(0, 40);
	got = tc_tracestate_put(old, "new", "1");
	m31 = members(0, 31);
	want = xasprintf("new=1,%s", m31);
	is_str(got, want, "an old list of 40 members is cut to 32 with the new one first");
	ok(tc_tracestate_valid(got), "the result is valid");
	free(got);
	free(want);
	free(m31);
	free(old);
}

static void test_contexts(void)
{
	struct tc a, b, c;
	static const uint8_t zero[16];
	tc_new_root(&a);
	tc_new_root(&b);
	ok(memcmp(a.trace_id, zero, 16) && memcmp(a.span_id, zero, 8),
	   "a new root has non-zero ids");
	ok(a.flags == TC_FLAG_SAMPLED && !a.tracestate, "a new root is sampled with no tracestate");
	ok(memcmp(a.trace_id, b.trace_id, 16), "two roots have different trace ids");

	a.flags = 0;
	a.tracestate = xstrdup("a=1");
	tc_new_child(&a, &c);
	ok(!memcmp(c.trace_id, a.trace_id, 16), "a child keeps the trace id");
	ok(memcmp(c.span_id, a.span_id, 8) && memcmp(c.span_id, zero, 8),
	   "a child has a fresh span id");
	ok(c.flags == 0, "a child keeps the flags (unsampled here)");
	ok(c.tracestate && c.tracestate != a.tracestate && !strcmp(c.tracestate, "a=1"),
	   "a child owns a copy of the tracestate");
	tc_free(&c);
	ok(!c.tracestate, "tc_free clears the tracestate");

	uint8_t span[8];
	char *ts = a.tracestate;
	memcpy(span, a.span_id, 8);
	tc_new_child(&a, &a);
	ok(memcmp(span, a.span_id, 8) && a.tracestate == ts,
	   "tc_new_child in place changes only the span id");
	tc_free(&a);
}

static void test_env(void)
{
	struct tc c;
	char out[TC_TRACEPARENT_BUFSZ];

	unsetenv("TRACEPARENT");
	setenv("TRACESTATE", "a=1", 1);
	ok(tc_from_env(&c) == 0 && !c.tracestate, "no TRACEPARENT: 0, tracestate ignored");
	setenv("TRACEPARENT", "", 1);
	ok(tc_from_env(&c) == 0 && !c.tracestate, "an empty TRACEPARENT counts as unset");

	setenv("TRACEPARENT", "00-" TID "-" SID "-01", 1);
	setenv("TRACESTATE", " b=2 ,,a=1", 1);
	if (ok(tc_from_env(&c) == 1, "a valid TRACEPARENT: 1")) {
		is_str(tc_format_traceparent(&c, out), "00-" TID "-" SID "-01", "  its context is read");
		is_str(c.tracestate, "b=2,a=1", "  with TRACESTATE normalised");
		tc_free(&c);
	}
	setenv("TRACESTATE", "b=2,b=3", 1);
	ok(tc_from_env(&c) == 1 && !c.tracestate, "an invalid TRACESTATE is dropped");
	tc_free(&c);

	setenv("TRACEPARENT", "00-" TID "-" SID "-01-", 1);
	setenv("TRACESTATE", "a=1", 1);
	memset(&c, 0x55, sizeof(c));
	int r = tc_from_env(&c);
	static const struct tc zero;
	ok(r == -1 && !memcmp(&c, &zero, sizeof(c)),
	   "an invalid TRACEPARENT: -1, context zeroed, TRACESTATE dropped");

	tc_new_root(&c);
	c.tracestate = xstrdup("ofs=1");
	c.flags = 0xff;
	ok(tc_to_env(&c) == 0, "tc_to_env succeeds");
	const char *tp = getenv("TRACEPARENT");
	char tid[33], sid[17];
	char *want = xasprintf("00-%s-%s-03", tc_hex(c.trace_id, 16, tid), tc_hex(c.span_id, 8, sid));
	is_str(tp, want, "TRACEPARENT is set, unknown flag bits cleared");
	is_str(getenv("TRACESTATE"), "ofs=1", "TRACESTATE is set");
	free(want);

	struct tc back;
	ok(tc_from_env(&back) == 1 && !memcmp(back.trace_id, c.trace_id, 16) &&
		   !memcmp(back.span_id, c.span_id, 8) && back.flags == 3 &&
		   !strcmp(back.tracestate, "ofs=1"),
	   "tc_from_env reads back what tc_to_env wrote");
	tc_free(&back);
	tc_free(&c);

	ok(tc_to_env(&c) == 0 && !getenv("TRACESTATE"),
	   "without a tracestate a stale TRACESTATE is unset");
	unsetenv("TRACEPARENT");
}

int main(void)
{
	test_traceparent();
	test_tracestate_valid();
	test_tracestate_put();
	test_contexts();
	test_env();
	return tap_done();
}
