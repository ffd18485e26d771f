/*
 * stats.c: `ofs-trace stats`, latency and error figures per service and
 * operation (optionally per value of one attribute, --by): count,
 * errors, error rate, throughput and percentiles, as trace.stats records
 * or a text table.
 *
 * Percentiles come from a mergeable sketch (sketch.h) so memory does not
 * grow with the input; while a group has few spans (up to EXACT_MAX) the
 * durations are also kept as they are, and its percentiles are then the
 * exact values of rank ceil(q * n). With --window D the input is read as
 * a stream and figures are emitted for every D of span end time, so
 * memory is bounded by the groups of one window.
 */
#include "common.h"
#include <math.h>

#include "hash.h"
#include "jw.h"
#include "out.h"
#include "record.h"
#include "sketch.h"
#include "strbuf.h"
#include "timefmt.h"
#include "trace.h"
#include "traces.h"
#include "units.h"

#define EXACT_MAX 1024

enum { ST_BY = 1000, ST_WINDOW, ST_STRICT };

const struct opt stats_opts[] = {
	{ ST_BY, 0, "by", "key",
	  "also group by this attribute (or instance, kind, status, peer_service)", NULL, 0 },
	{ 'o', 'o', "output", "format", "jsonl (default) or text", "jsonl text", 0 },
	{ ST_STRICT, 0, "strict", NULL, "stop at the first bad input line", NULL, 0 },
	{ ST_WINDOW, 0, "window", "duration",
	  "emit figures for every window of this length of span end time", NULL, 0 },
	{ 0 },
};

struct group {
	char *service, *name, *by;
	uint64_t count, errors;
	struct sketch *sk;
	double *exact; /* NULL once count passed EXACT_MAX */
	size_t nexact, aexact;
};

struct stats_run {
	const char *by;
	bool text;
	int64_t window_ns;
	struct ht *groups;
	int64_t first_ns, last_ns; /* observed time: earliest start, latest end */
	int64_t win_start;         /* current window, when windowed */
	bool have_window;
	struct out *o;
	struct strbuf sb;
	bool header_done;
};

static void free_group(void *p)
{
	struct group *g = p;
	free(g->service);
	free(g->name);
	free(g->by);
	sketch_free(g->sk);
	free(g->exact);
	free(g);
}

static char *by_value(const struct span *s, const char *key)
{
	if (!strcmp(key, "service"))
		return xstrdup(s->service);
	if (!strcmp(key, "name"))
		return xstrdup(s->name);
	if (!strcmp(key, "instance"))
		return xstrdup(s->instance ? s->instance : "");
	if (!strcmp(key, "kind"))
		return xstrdup(span_kind_name(s->kind));
	if (!strcmp(key, "status"))
		return xstrdup(span_is_error(s) ? "error" : span_status_name(s->status));
	if (!strcmp(key, "peer_service"))
		return xstrdup(s->peer_service ? s->peer_service : "");
	const cJSON *v = span_attr_get(s, key);
	if (!v || cJSON_IsNull(v))
		return xstrdup("");
	if (cJSON_IsString(v))
		return xstrdup(v->valuestring);
	char *txt = cJSON_PrintUnformatted(v);
	char *r = xstrdup(txt ? txt : "");
	cJSON_free(txt);
	return r;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static int cmp_group(const void *a, const void *b)
{
	const struct group *x = *(struct group *const *)a, *y = *(struct group *const *)b;
	int c = strcmp(x->service, y->service);
	if (!c)
		c = strcmp(x->name, y->name);
	if (!c)
		c = strcmp(x->by, y->by);
	return c;
}

/* Milliseconds rounded to the microsecond: sketch answers carry noise
 * digits that mean nothing. */
static double round_ms(double v)
{
	return isfinite(v) ? round(v * 1000.0) / 1000.0 : v;
}

static double quantile(struct group *g, double q)
{
	if (g->exact && g->nexact == g->count && g->count)
		return g->exact[sketch_rank(q, g->count) - 1];
	return sketch_quantile(g->sk, q);
}

static void emit_text_header(struct stats_run *r)
{
	sb_addf(&r->sb, "%-16s %-24s %s%8s %6s %8s %10s %10s %10s %10s %10s\n", "SERVICE", "NAME",
		r->by ? "BY               " : "", "COUNT", "ERR%", "RATE/S", "P50MS", "P90MS",
		"P99MS", "MAXMS", "MEANMS");
}

static void emit(struct stats_run *r, int64_t from, int64_t to, bool windowed)
{
	size_t n = ht_len(r->groups), k = 0;
	struct group **list = xcalloc(n ? n : 1, sizeof(*list));
	struct ht_iter it;
	for (ht_iter(&it, r->groups); ht_next(&it);)
		list[k++] = it.value;
	qsort(list, n, sizeof(*list), cmp_group);
	double secs = (double)(to - from) / 1e9;
	char ts[TS_BUFSZ];
	if (r->text && !r->header_done && n) {
		emit_text_header(r);
		r->header_done = true;
	}
	if (r->text && windowed && n) {
		sb_addf(&r->sb, "# window %s", ts_format(from, ts));
		sb_addf(&r->sb, " %s\n", ts_format(to, ts));
		out_write(r->o, r->sb.buf, r->sb.len);
		sb_reset(&r->sb);
	}
	for (k = 0; k < n; k++) {
		struct group *g = list[k];
		if (g->exact)
			qsort(g->exact, g->nexact, sizeof(double), cmp_double);
		double rate = secs > 0 ? (double)g->count / secs : NAN;
		double erate = g->count ? (double)g->errors / (double)g->count : 0.0;
		if (r->text) {
			sb_addf(&r->sb, "%-16s %-24s ", g->service, g->name);
			if (r->by)
				sb_addf(&r->sb, "%-16s ", g->by);
			sb_addf(&r->sb, "%8" PRIu64 " %6.2f %8.2f %10.3f %10.3f %10.3f %10.3f %10.3f\n",
				g->count, erate * 100, isfinite(rate) ? rate : 0.0,
				quantile(g, 0.5), quantile(g, 0.9), quantile(g, 0.99),
				sketch_max(g->sk), sketch_mean(g->sk));
			out_write(r->o, r->sb.buf, r->sb.len);
			sb_reset(&r->sb);
			continue;
		}
		struct jw w;
		jw_init(&w, &r->sb);
		rec_begin(&w, "trace.stats");
		jw_kv_str(&w, "service", g->service);
		jw_kv_str(&w, "name", g->name);
		if (r->by)
			jw_kv_str(&w, "by", g->by);
		if (windowed) {
			jw_kv_str(&w, "window_start", ts_format(from, ts));
			jw_kv_str(&w, "window_end", ts_format(to, ts));
		}
		jw_kv_int(&w, "count", (int64_t)g->count);
		jw_kv_int(&w, "errors", (int64_t)g->errors);
		jw_kv_double(&w, "error_rate", erate);
		jw_kv_double(&w, "throughput_per_s", rate);
		jw_kv_double(&w, "p50_ms", round_ms(quantile(g, 0.5)));
		jw_kv_double(&w, "p90_ms", round_ms(quantile(g, 0.9)));
		jw_kv_double(&w, "p95_ms", round_ms(quantile(g, 0.95)));
		jw_kv_double(&w, "p99_ms", round_ms(quantile(g, 0.99)));
		jw_kv_double(&w, "max_ms", round_ms(sketch_max(g->sk)));
		jw_kv_double(&w, "mean_ms", round_ms(sketch_mean(g->sk)));
		rec_end(&w, r->o);
	}
	free(list);
	ht_free(r->groups, free_group);
	r->groups = ht_new();
}

static void add_span(struct span *s, void *ctx)
{
	struct stats_run *r = ctx;
	if (r->window_ns) {
		int64_t ws = s->end_ns - (((s->end_ns % r->window_ns) + r->window_ns) % r->window_ns);
		if (!r->have_window) {
			r->win_start = ws;
			r->have_window = true;
		} else if (ws > r->win_start) {
			emit(r, r->win_start, r->win_start + r->window_ns, true);
			r->win_start = ws;
		}
		/* A span ending in an earlier window than the current one is late:
		 * it counts in the current window, as nothing of the past is kept. */
	}
	if (s->start_ns < r->first_ns)
		r->first_ns = s->start_ns;
	if (s->end_ns > r->last_ns)
		r->last_ns = s->end_ns;
	char *by = r->by ? by_value(s, r->by) : xstrdup("");
	struct strbuf key = SB_INIT;
	sb_addstr(&key, s->service);
	sb_addch(&key, '\0');
	sb_addstr(&key, s->name);
	sb_addch(&key, '\0');
	sb_addstr(&key, by);
	struct group *g = ht_get_b(r->groups, key.buf, key.len);
	if (!g) {
		g = xcalloc(1, sizeof(*g));
		g->service = xstrdup(s->service);
		g->name = xstrdup(s->name);
		g->by = by;
		by = NULL;
		g->sk = sketch_new(0);
		ht_put_b(r->groups, key.buf, key.len, g);
		g->exact = xcalloc(16, sizeof(double));
		g->aexact = 16;
	}
	free(by);
	sb_release(&key);
	double ms = span_duration_ms(s);
	g->count++;
	if (span_is_error(s))
		g->errors++;
	sketch_add(g->sk, ms);
	if (g->exact && g->nexact < EXACT_MAX) {
		ALLOC_GROW(g->exact, g->nexact + 1, g->aexact);
		g->exact[g->nexact++] = ms;
	} else if (g->exact) {
		free(g->exact);
		g->exact = NULL;
		g->nexact = g->aexact = 0;
	}
}

int cmd_stats(int argc, char **argv)
{
	struct opt_parser p;
	struct stats_run r;
	bool strict = false;
	struct strbuf err = SB_INIT;
	memset(&r, 0, sizeof(r));
	sb_init(&r.sb, 0);
	int c;
	opt_begin(&p, argc, argv);
	while ((c = opt_next(&p)) != OPT_DONE) {
		switch (c) {
		case ST_BY:
			if (!*p.arg)
				opt_usage_error(&p, "--by: empty key");
			r.by = p.arg;
			break;
		case 'o':
			if (!strcmp(p.arg, "text"))
				r.text = true;
			else if (!strcmp(p.arg, "jsonl"))
				r.text = false;
			else
				opt_usage_error(&p, "-o: unknown format '%s' (want jsonl or text)",
						p.arg);
			break;
		case ST_STRICT:
			strict = true;
			break;
		case ST_WINDOW:
			if (dur_parse(p.arg, &r.window_ns, &err) < 0)
				opt_usage_error(&p, "--window: %s", err.buf);
			if (r.window_ns <= 0)
				opt_usage_error(&p, "--window: must be more than 0");
			break;
		default:
			break;
		}
	}
	sb_release(&err);
	char **files;
	int nfiles = opt_operands(&p, &files);
	r.groups = ht_new();
	r.first_ns = INT64_MAX;
	r.last_ns = INT64_MIN;
	r.o = out_stdout();
	if (r.window_ns)
		out_set_line_flush(r.o, true);
	int rc = traces_each_span(files, nfiles, strict, add_span, &r);
	opt_end(&p);
	if (r.window_ns) {
		if (r.have_window)
			emit(&r, r.win_start, r.win_start + r.window_ns, true);
	} else if (ht_len(r.groups)) {
		emit(&r, r.first_ns, r.last_ns, false);
	}
	ht_free(r.groups, free_group);
	sb_release(&r.sb);
	return traces_status(rc);
}
