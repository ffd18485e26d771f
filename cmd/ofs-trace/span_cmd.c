/*
 * span_cmd.c: `ofs-trace span --name n --start t --end t ...`: write one
 * span for work already done (a CI step timed by the shell, a cron job's
 * phase), as a child of $TRACEPARENT or a new root. The record goes to
 * --out, else $OFS_TRACE_FILE, else stdout; --print-traceparent prints
 * the new span's traceparent on stdout instead, so a script can hand it
 * to what it starts next (the record then goes only to a file, if any).
 */
#include "common.h"

#include "out.h"
#include "prop.h"
#include "timefmt.h"
#include "trace.h"
#include "tracectx.h"

enum {
	SOPT_ATTR = 1000,
	SOPT_END,
	SOPT_KIND,
	SOPT_NAME,
	SOPT_OUT,
	SOPT_PRINT_TP,
	SOPT_SERVICE,
	SOPT_START,
	SOPT_STATUS,
};

const struct opt span_opts[] = {
	{ SOPT_ATTR, 0, "attr", "key=value", "an attribute (repeatable; numbers and true/false "
					     "stay JSON)",
	  NULL, 0 },
	{ SOPT_END, 0, "end", "time", "when it ended: RFC 3339, epoch seconds or now", NULL, 0 },
	{ SOPT_KIND, 0, "kind", "kind", "internal (default), server, client, producer or consumer",
	  "internal server client producer consumer", 0 },
	{ SOPT_NAME, 0, "name", "name", "the span's name (the operation)", NULL, 0 },
	{ SOPT_OUT, 0, "out", "file", "append the span here (default $OFS_TRACE_FILE, else stdout)",
	  "@file", 0 },
	{ SOPT_PRINT_TP, 0, "print-traceparent", NULL, "print the new span's traceparent on stdout",
	  NULL, 0 },
	{ SOPT_SERVICE, 0, "service", "name", "the span's service (default $OFS_SERVICE, else "
					      "ofs-trace)",
	  NULL, 0 },
	{ SOPT_START, 0, "start", "time", "when it started: RFC 3339, epoch seconds or now", NULL,
	  0 },
	{ SOPT_STATUS, 0, "status", "status", "ok (default), error or unset", "ok error unset", 0 },
	{ 0 },
};

/* A time: "now", RFC 3339, or epoch seconds with up to 9 fraction digits. */
static int parse_when(const char *s, int64_t *ns)
{
	if (!strcmp(s, "now")) {
		*ns = ts_now_ns();
		return 0;
	}
	if (ts_parse(s, strlen(s), ns) == 0)
		return 0;
	const char *p = s;
	int64_t sec = 0, frac = 0;
	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (sec > (INT64_MAX / 1000000000 - 9) / 10)
			return -1;
		sec = sec * 10 + (*p - '0');
	}
	if (*p == '.') {
		int digits = 0;
		for (p++; *p >= '0' && *p <= '9'; p++)
			if (digits++ < 9)
				frac = frac * 10 + (*p - '0');
		if (!digits)
			return -1;
		for (; digits < 9; digits++)
			frac *= 10;
	}
	if (*p)
		return -1;
	*ns = sec * 1000000000 + frac;
	return 0;
}

int cmd_span(int argc, char **argv)
{
	struct opt_parser p;
	const char *name = NULL, *service = NULL, *out = NULL, *start = NULL, *end = NULL;
	bool print_tp = false;
	enum span_kind kind = SPAN_INTERNAL;
	enum span_status st = SPAN_OK;
	struct span s;
	memset(&s, 0, sizeof(s));
	opt_begin(&p, argc, argv);
	int c;
	while ((c = opt_next(&p)) != OPT_DONE) {
		switch (c) {
		case SOPT_ATTR: {
			const char *eq = strchr(p.arg, '=');
			if (!eq || eq == p.arg)
				opt_usage_error(&p, "invalid --attr '%s': must be key=value", p.arg);
			s.attrs = xrealloc(s.attrs, (s.nattrs + 1) * sizeof(*s.attrs));
			s.attrs[s.nattrs].key = xstrndup(p.arg, (size_t)(eq - p.arg));
			s.attrs[s.nattrs].value = prop_value_json(eq + 1);
			s.nattrs++;
			break;
		}
		case SOPT_END: end = p.arg; break;
		case SOPT_KIND: {
			static const struct {
				const char *w;
				enum span_kind k;
			} kinds[] = { { "internal", SPAN_INTERNAL }, { "server", SPAN_SERVER },
				      { "client", SPAN_CLIENT },     { "producer", SPAN_PRODUCER },
				      { "consumer", SPAN_CONSUMER } };
			size_t i;
			for (i = 0; i < ARRAY_SIZE(kinds) && strcmp(kinds[i].w, p.arg); i++)
				;
			if (i == ARRAY_SIZE(kinds))
				opt_usage_error(&p, "invalid --kind '%s'", p.arg);
			kind = kinds[i].k;
			break;
		}
		case SOPT_NAME: name = p.arg; break;
		case SOPT_OUT: out = p.arg; break;
		case SOPT_PRINT_TP: print_tp = true; break;
		case SOPT_SERVICE: service = p.arg; break;
		case SOPT_START: start = p.arg; break;
		case SOPT_STATUS:
			if (!strcmp(p.arg, "ok"))
				st = SPAN_OK;
			else if (!strcmp(p.arg, "error"))
				st = SPAN_ERROR;
			else if (!strcmp(p.arg, "unset"))
				st = SPAN_UNSET;
			else
				opt_usage_error(&p, "invalid --status '%s': must be ok, error or unset",
						p.arg);
			break;
		}
	}
	char **ops;
	if (opt_operands(&p, &ops) > 0)
		opt_usage_error(&p, "unexpected operand '%s'", ops[0]);
	if (!name || !*name)
		opt_usage_error(&p, "--name is required");
	if (!start || !end)
		opt_usage_error(&p, "--start and --end are required");
	if (parse_when(start, &s.start_ns) < 0)
		opt_usage_error(&p, "invalid --start '%s': want RFC 3339, epoch seconds or now", start);
	if (parse_when(end, &s.end_ns) < 0)
		opt_usage_error(&p, "invalid --end '%s': want RFC 3339, epoch seconds or now", end);
	if (s.end_ns < s.start_ns)
		opt_usage_error(&p, "--end '%s' is before --start '%s'", end, start);
	if (!service) {
		const char *env = getenv("OFS_SERVICE");
		service = env && *env ? env : "ofs-trace";
	}

	struct tc parent = { 0 }, self;
	if (tc_from_env(&parent) == 1) {
		tc_new_child(&parent, &self);
		memcpy(s.parent_id, parent.span_id, sizeof(s.parent_id));
		s.has_parent = true;
	} else {
		tc_new_root(&self);
	}
	memcpy(s.trace_id, self.trace_id, sizeof(s.trace_id));
	memcpy(s.span_id, self.span_id, sizeof(s.span_id));
	s.service = (char *)service;
	s.name = (char *)name;
	s.kind = kind;
	s.status = st;

	int status = EXIT_OK;
	const char *dest = prop_dest(out);
	if (dest || !print_tp) {
		struct strbuf err = SB_INIT;
		if (prop_emit_span(&s, dest, &err) < 0) {
			error("%s", err.buf);
			status = EXIT_SYSTEM;
		}
		sb_release(&err);
	}
	if (print_tp) {
		char tp[TC_TRACEPARENT_BUFSZ];
		struct strbuf sb = SB_INIT;
		sb_addstr(&sb, tc_format_traceparent(&self, tp));
		out_record(out_stdout(), &sb);
		sb_release(&sb);
	}
	prop_free_attrs(s.attrs, s.nattrs);
	tc_free(&parent);
	tc_free(&self);
	opt_end(&p);
	return status;
}
