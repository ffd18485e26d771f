/*
 * ctx.c: `ofs-trace ctx new|child|parse [traceparent]`: W3C trace
 * context for scripts. new prints a fresh root traceparent; child prints
 * a child of $TRACEPARENT or of the argument (a new root when the
 * environment holds none, as the recommendation says); parse prints one
 * trace.ctx record saying what a header holds or why it is invalid, and
 * exits 1 when it is, so `ofs-trace ctx parse "$tp" >/dev/null` is a test.
 */
#include "common.h"

#include "jw.h"
#include "out.h"
#include "timefmt.h"
#include "trace.h"
#include "tracectx.h"

const struct opt ctx_opts[] = {
	{ 0 },
};

static int is_lower_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static int is_any_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
		      (s[i] >= 'A' && s[i] <= 'F')))
			return 0;
	return 1;
}

static int all_zero(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != '0')
			return 0;
	return 1;
}

/* Why tc_parse_traceparent rejects s: the first rule broken, in field order. */
static const char *why_invalid(const char *s)
{
	size_t len = strlen(s);
	if (!len)
		return "empty";
	if (len < 2 || !is_any_hex(s, 2))
		return "version must be 2 hex digits";
	if (!is_lower_hex(s, 2))
		return "version must be lowercase hex";
	if (!memcmp(s, "ff", 2))
		return "version ff is invalid";
	if (len < TC_TRACEPARENT_LEN)
		return "too short";
	if (s[2] != '-' || s[35] != '-' || s[52] != '-')
		return "fields must be separated by '-'";
	static const struct {
		size_t off, n;
		const char *name;
	} fields[] = { { 3, 32, "trace-id" }, { 36, 16, "parent-id" }, { 53, 2, "trace-flags" } };
	static char reason[64];
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
		const char *f = s + fields[i].off;
		if (!is_any_hex(f, fields[i].n)) {
			snprintf(reason, sizeof(reason), "%s must be %zu hex digits", fields[i].name,
				 fields[i].n);
			return reason;
		}
		if (!is_lower_hex(f, fields[i].n)) {
			snprintf(reason, sizeof(reason), "%s must be lowercase", fields[i].name);
			return reason;
		}
		if (i < 2 && all_zero(f, fields[i].n)) {
			snprintf(reason, sizeof(reason), "%s is all zeros", fields[i].name);
			return reason;
		}
	}
	if (!memcmp(s, "00", 2) && len > TC_TRACEPARENT_LEN)
		return "version 00 must be exactly 55 characters";
	if (len > TC_TRACEPARENT_LEN && s[TC_TRACEPARENT_LEN] != '-')
		return "data after the flags must start with '-'";
	return "invalid";
}

static void print_line(const char *s)
{
	struct strbuf sb = SB_INIT;
	sb_addstr(&sb, s);
	out_record(out_stdout(), &sb);
	sb_release(&sb);
}

static int ctx_parse(const char *tp)
{
	struct tc c = { 0 };
	bool valid = tp && tc_parse_traceparent(tp, &c) == 0;
	struct strbuf sb = SB_INIT;
	struct jw w;
	char ts[TS_BUFSZ], hex[33];
	jw_init(&w, &sb);
	/* Not rec_begin: the trace fields here are the parsed header's, not
	 * the environment's (which may be another header altogether). */
	jw_obj_begin(&w);
	jw_kv_str(&w, "type", "trace.ctx");
	jw_kv_str(&w, "ts", ts_format_now(ts));
	jw_kv_str(&w, "traceparent", tp);
	if (valid) {
		char ver[3] = { tp[0], tp[1], 0 };
		jw_kv_str(&w, "version", ver);
		jw_kv_str(&w, "trace_id", tc_hex(c.trace_id, 16, hex));
		jw_kv_str(&w, "span_id", tc_hex(c.span_id, 8, hex));
		jw_kv_str(&w, "flags", tc_hex(&c.flags, 1, hex));
		jw_kv_bool(&w, "sampled", c.flags & TC_FLAG_SAMPLED);
		jw_kv_bool(&w, "valid", true);
		jw_key(&w, "reason");
		jw_null(&w);
	} else {
		static const char *const nulls[] = { "version", "trace_id", "span_id", "flags" };
		for (size_t i = 0; i < ARRAY_SIZE(nulls); i++) {
			jw_key(&w, nulls[i]);
			jw_null(&w);
		}
		jw_kv_bool(&w, "sampled", false);
		jw_kv_bool(&w, "valid", false);
		jw_kv_str(&w, "reason", tp ? why_invalid(tp) : "no traceparent given and TRACEPARENT is unset");
	}
	jw_obj_end(&w);
	out_record(out_stdout(), &sb);
	sb_release(&sb);
	return valid ? EXIT_OK : EXIT_NO;
}

int cmd_ctx(int argc, char **argv)
{
	struct opt_parser p;
	opt_begin(&p, argc, argv);
	while (opt_next(&p) != OPT_DONE)
		;
	char **ops;
	int n = opt_operands(&p, &ops);
	if (n < 1)
		opt_usage_error(&p, "an action is required: new, child or parse");
	const char *action = ops[0];
	const char *arg = n > 1 ? ops[1] : NULL;
	if (n > 2)
		opt_usage_error(&p, "unexpected operand '%s'", ops[2]);
	int status = EXIT_OK;
	char buf[TC_TRACEPARENT_BUFSZ];
	struct tc c = { 0 };
	if (!strcmp(action, "new")) {
		if (arg)
			opt_usage_error(&p, "unexpected operand '%s'", arg);
		tc_new_root(&c);
		print_line(tc_format_traceparent(&c, buf));
	} else if (!strcmp(action, "child")) {
		if (arg) {
			if (tc_parse_traceparent(arg, &c) < 0) {
				error("invalid traceparent '%s': %s", arg, why_invalid(arg));
				opt_end(&p);
				return EXIT_NO;
			}
			tc_new_child(&c, &c);
		} else if (tc_from_env(&c) == 1) {
			tc_new_child(&c, &c);
		} else {
			tc_new_root(&c);
		}
		print_line(tc_format_traceparent(&c, buf));
	} else if (!strcmp(action, "parse")) {
		const char *env = getenv("TRACEPARENT");
		status = ctx_parse(arg ? arg : env && *env ? env : NULL);
	} else {
		opt_usage_error(&p, "unknown action '%s': must be new, child or parse", action);
	}
	tc_free(&c);
	opt_end(&p);
	return status;
}
