/*
 * select.c: `ofs-trace select`, the spans that match every filter given
 * (service, operation, error, minimum duration, attribute value), written
 * as native span records. With --traces the unit is the trace: every
 * span of each trace that has at least one matching span is written,
 * which needs the traces in memory; --max-traces bounds that (default
 * 100000 traces; spans of further traces are counted and reported, not
 * kept). Without --traces it streams.
 */
#include "common.h"

#include "hash.h"
#include "jw.h"
#include "out.h"
#include "strbuf.h"
#include "trace.h"
#include "traces.h"
#include "units.h"

#define SELECT_MAX_TRACES 100000

enum { SE_SERVICE = 1000, SE_NAME, SE_ERROR, SE_MIN_DURATION, SE_ATTR, SE_TRACES,
       SE_MAX_TRACES, SE_STRICT };

const struct opt select_opts[] = {
	{ SE_ATTR, 0, "attr", "key=value", "keep spans whose attribute key has this value", NULL,
	  0 },
	{ SE_ERROR, 0, "error", NULL, "keep failed spans", NULL, 0 },
	{ SE_MAX_TRACES, 0, "max-traces", "n",
	  "with --traces: keep at most n traces in memory (default 100000)", NULL, 0 },
	{ SE_MIN_DURATION, 0, "min-duration", "duration", "keep spans lasting at least this",
	  NULL, 0 },
	{ SE_NAME, 0, "name", "op", "keep spans of this operation", NULL, 0 },
	{ 'o', 'o', "output", "file", "write to file (.gz: compressed)", "@file", 0 },
	{ SE_SERVICE, 0, "service", "s", "keep spans of this service", NULL, 0 },
	{ SE_STRICT, 0, "strict", NULL, "stop at the first bad input line", NULL, 0 },
	{ SE_TRACES, 0, "traces", NULL, "keep whole traces that have a matching span", NULL, 0 },
	{ 0 },
};

struct select_run {
	const char *service, *name, *attr_key, *attr_value;
	bool error;
	int64_t min_ns;
	struct out *o;
	struct strbuf sb;
	struct trace_set set;
	struct ht *hit; /* with --traces: trace ids that matched */
};

static bool attr_matches(const struct span *s, const char *key, const char *want)
{
	const cJSON *v = span_attr_get(s, key);
	if (!strcmp(key, "instance"))
		return s->instance && !strcmp(s->instance, want);
	if (!strcmp(key, "kind"))
		return !strcmp(span_kind_name(s->kind), want);
	if (!strcmp(key, "peer_service"))
		return s->peer_service && !strcmp(s->peer_service, want);
	if (!v)
		return false;
	if (cJSON_IsString(v))
		return !strcmp(v->valuestring, want);
	char *txt = cJSON_PrintUnformatted(v);
	bool eq = txt && !strcmp(txt, want);
	cJSON_free(txt);
	return eq;
}

static bool matches(const struct select_run *r, const struct span *s)
{
	if (r->service && strcmp(s->service, r->service))
		return false;
	if (r->name && strcmp(s->name, r->name))
		return false;
	if (r->error && !span_is_error(s))
		return false;
	if (r->min_ns && s->end_ns - s->start_ns < r->min_ns)
		return false;
	if (r->attr_key && !attr_matches(s, r->attr_key, r->attr_value))
		return false;
	return true;
}

static void write_span(struct select_run *r, const struct span *s)
{
	struct jw w;
	jw_init(&w, &r->sb);
	span_write_native(&w, s);
	out_record(r->o, &r->sb);
}

static void stream_span(struct span *s, void *ctx)
{
	struct select_run *r = ctx;
	if (matches(r, s))
		write_span(r, s);
}

static void keep_span(struct span *s, void *ctx)
{
	struct select_run *r = ctx;
	if (traces_add(&r->set, s) && matches(r, s))
		ht_put_b(r->hit, s->trace_id, 16, (void *)1);
}

int cmd_select(int argc, char **argv)
{
	struct opt_parser p;
	struct select_run r;
	const char *outfile = NULL;
	bool strict = false, traces = false;
	long long max_traces = SELECT_MAX_TRACES;
	struct strbuf err = SB_INIT;
	memset(&r, 0, sizeof(r));
	int c;
	opt_begin(&p, argc, argv);
	while ((c = opt_next(&p)) != OPT_DONE) {
		switch (c) {
		case SE_SERVICE:
			r.service = p.arg;
			break;
		case SE_NAME:
			r.name = p.arg;
			break;
		case SE_ERROR:
			r.error = true;
			break;
		case SE_MIN_DURATION:
			if (dur_parse(p.arg, &r.min_ns, &err) < 0)
				opt_usage_error(&p, "--min-duration: %s", err.buf);
			break;
		case SE_ATTR: {
			const char *eq = strchr(p.arg, '=');
			if (!eq || eq == p.arg)
				opt_usage_error(&p, "--attr: want key=value, got '%s'", p.arg);
			r.attr_key = xstrndup(p.arg, (size_t)(eq - p.arg));
			r.attr_value = eq + 1;
			break;
		}
		case SE_TRACES:
			traces = true;
			break;
		case SE_MAX_TRACES:
			if (num_parse_int(p.arg, 1, LLONG_MAX, &max_traces, &err) < 0)
				opt_usage_error(&p, "--max-traces: %s", err.buf);
			break;
		case 'o':
			outfile = p.arg;
			break;
		case SE_STRICT:
			strict = true;
			break;
		default:
			break;
		}
	}
	sb_release(&err);
	char **files;
	int nfiles = opt_operands(&p, &files);
	sb_init(&r.sb, 0);
	r.o = out_open(outfile);
	int rc;
	if (!traces) {
		rc = traces_each_span(files, nfiles, strict, stream_span, &r);
	} else {
		traces_init(&r.set, (size_t)max_traces);
		r.hit = ht_new();
		rc = traces_each_span(files, nfiles, strict, keep_span, &r);
		for (size_t i = 0; i < r.set.ntraces; i++) {
			struct trace *t = r.set.traces[i];
			if (!ht_get_b(r.hit, t->trace_id, 16))
				continue;
			for (size_t k = 0; k < t->nnodes; k++)
				write_span(&r, &t->nodes[k].span);
		}
		if (r.set.dropped)
			warn("--max-traces %lld reached: %zu spans of further traces were not "
			     "examined",
			     max_traces, r.set.dropped);
		ht_free(r.hit, NULL);
		traces_free(&r.set);
	}
	opt_end(&p);
	out_close(r.o);
	sb_release(&r.sb);
	free((char *)r.attr_key);
	return traces_status(rc);
}
