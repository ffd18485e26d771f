/*
 * report.c: `ofs-split report`, the go/no-go gate over the split.compare
 * records `ofs-split send` wrote: per endpoint, how many requests were
 * compared, how many differed, how often the candidate failed where the
 * primary did not, how their latencies compare, which fields differ
 * most, and whether that is good enough to go on with the migration.
 *
 * Records of other types in the stream (split.summary, split.breaker,
 * anything) are passed over quietly, so the whole output of send can be
 * piped in. Memory grows with the number of endpoints and of distinct
 * differing field pointers, not with the number of requests, except for
 * the latencies kept for exact percentiles: up to REPORT_EXACT_MAX values
 * per endpoint and side, after which that endpoint's percentiles come
 * from libcommon's sketch (within 1 %) and say so ("percentiles_exact").
 *
 * What counts: compared is matched + mismatched + ignored; a request was
 * sent when its candidate is an object (not null, as for skipped ones);
 * a candidate error is a sent request whose candidate did not answer
 * (an "error" member, or no status above 0) or answered 5xx where the
 * primary answered below 500; a primary error is a primary that did not
 * answer or answered 5xx. Latencies are those of answers only (a
 * connection refused in 0.4 ms is no latency), percentiles the nearest
 * rank: the value of rank ceil(q * n), rounded to the microsecond.
 *
 * The verdict: an endpoint is no-go when it has no compared request or
 * fewer than --min-requests, when its mismatch rate (of the compared
 * requests) is above --max-mismatch, when its candidate error rate (of
 * the requests sent to the candidate) is above --max-errors, or, if
 * --max-latency-ratio is given, when the candidate's p99 latency is more
 * than that many times the primary's. The run is go when every endpoint
 * is go and there is at least one; the exit status says it (0 go, 1
 * no-go) so a CI step can gate on it; with no endpoint at all there is
 * no evidence, and that is no-go too. Other statuses come first, as in
 * ofs-replay verify: 4 after a read error, 2 when an input could not be
 * opened, 3 when lines were rejected (the report of the rest is still
 * written; --strict stops at the first and writes none). Writing
 * happens in report_out.c.
 */
#include "common.h"
#include <math.h>

#include "cmds.h"
#include "config.h"
#include "hash.h"
#include "jget.h"
#include "jsonl.h"
#include "opt.h"
#include "report.h"
#include "sketch.h"
#include "units.h"

enum {
	RO_MAX_ERRORS = 256,
	RO_MAX_LATENCY_RATIO,
	RO_MAX_MISMATCH,
	RO_MIN_REQUESTS,
	RO_STRICT,
};

const struct opt report_opts[] = {
	{ RO_MAX_ERRORS, 0, "max-errors", "pct",
	  "no-go above this candidate error rate, in percent of requests sent to it (default 1)",
	  NULL, 0 },
	{ RO_MAX_LATENCY_RATIO, 0, "max-latency-ratio", "x",
	  "no-go if the candidate's p99 latency is over x times the primary's (default off)", NULL,
	  0 },
	{ RO_MAX_MISMATCH, 0, "max-mismatch", "pct",
	  "no-go above this mismatch rate, in percent of compared requests (default 1)", NULL, 0 },
	{ RO_MIN_REQUESTS, 0, "min-requests", "n",
	  "no-go for an endpoint with fewer compared requests (default 1)", NULL, 0 },
	{ 'o', 'o', "output", "format", "jsonl (default) or text", "jsonl text", 0 },
	{ RO_STRICT, 0, "strict", NULL, "stop at the first bad input line", NULL, 0 },
	{ 0 },
};

/* ---- options --------------------------------------------------------- */

/* A number with an optional unit suffix ('%' or 'x'); -1 if not one. */
static int parse_number(const char *arg, char suffix, double *v)
{
	size_t n = strlen(arg);
	if (n > 1 && arg[n - 1] == suffix) {
		char *copy = xstrndup(arg, n - 1);
		int rc = num_parse_double(copy, v, NULL);
		free(copy);
		return rc;
	}
	return num_parse_double(arg, v, NULL);
}

static double opt_percent(const struct opt_parser *p, const char *name)
{
	double v;
	if (parse_number(p->arg, '%', &v) < 0 || v < 0 || v > 100)
		opt_usage_error(p, "--%s: must be a percentage 0..100, got '%s'", name, p->arg);
	return v;
}

static double opt_ratio(const struct opt_parser *p)
{
	double v;
	if (parse_number(p->arg, 'x', &v) < 0 || !(v > 0))
		opt_usage_error(p, "--max-latency-ratio: must be a number more than 0, got '%s'",
				p->arg);
	return v;
}

static uint64_t opt_count(const struct opt_parser *p)
{
	long long v;
	if (num_parse_int(p->arg, 1, LLONG_MAX, &v, NULL) < 0)
		opt_usage_error(p, "--min-requests: must be a whole number 1 or more, got '%s'",
				p->arg);
	return (uint64_t)v;
}

/* ---- gathering ------------------------------------------------------- */

static struct report_ep *ep_get(struct report *rep, const char *name)
{
	struct report_ep *e = ht_get(rep->eps, name);
	if (e)
		return e;
	e = xcalloc(1, sizeof(*e));
	e->name = xstrdup(name);
	for (int s = 0; s < 2; s++) {
		e->lat[s].sk = sketch_new(0);
		e->lat[s].exact = true;
	}
	e->fields = ht_new();
	ht_put(rep->eps, name, e);
	return e;
}

static void ep_free(void *p)
{
	struct report_ep *e = p;
	if (!e)
		return;
	for (int s = 0; s < 2; s++) {
		sketch_free(e->lat[s].sk);
		free(e->lat[s].v);
	}
	ht_free(e->fields, NULL);
	for (size_t i = 0; i < e->nreasons; i++)
		free(e->reasons[i]);
	free(e->reasons);
	free(e->name);
	free(e);
}

static void lat_add(struct report_lat *l, double ms)
{
	sketch_add(l->sk, ms);
	if (!l->exact)
		return;
	if (l->n == REPORT_EXACT_MAX) {
		free(l->v);
		l->v = NULL;
		l->n = l->alloc = 0;
		l->exact = false;
		return;
	}
	ALLOC_GROW(l->v, l->n + 1, l->alloc);
	l->v[l->n++] = ms;
}

/* A side that answered: an object with a status above 0 and no error. */
static bool answered(const cJSON *side)
{
	if (!cJSON_IsObject(side))
		return false;
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(side, "error");
	if (err && !cJSON_IsNull(err))
		return false;
	return jget_num(side, "status", 0) > 0;
}

static void add_latency(struct report_lat *l, const cJSON *side)
{
	if (!answered(side))
		return;
	const cJSON *ms = cJSON_GetObjectItemCaseSensitive(side, "latency_ms");
	if (cJSON_IsNumber(ms) && isfinite(ms->valuedouble) && ms->valuedouble >= 0)
		lat_add(l, ms->valuedouble);
}

static void count_fields(struct report_ep *e, const cJSON *rec)
{
	const cJSON *fields = cJSON_GetObjectItemCaseSensitive(rec, "fields"), *f;
	if (!cJSON_IsArray(fields))
		return;
	cJSON_ArrayForEach(f, fields)
	{
		const char *ptr = jget_str(f, "pointer");
		if (!ptr || cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "noise")))
			continue;
		void **ref = ht_ref(e->fields, ptr);
		if (ref)
			*ref = (void *)((uintptr_t)*ref + 1);
		else
			ht_put(e->fields, ptr, (void *)(uintptr_t)1);
	}
}

/* The results a split.compare record can hold, in this order. */
enum { RES_MATCHED, RES_MISMATCHED, RES_IGNORED, RES_SKIPPED, RES_ERROR, RES_N };
static const char *const results[RES_N] = { "matched", "mismatched", "ignored", "skipped",
					    "error" };

/* The non-empty string member key of rec, or NULL with the reason in why. */
static const char *required_str(const cJSON *rec, const char *key, struct strbuf *why)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(rec, key);
	if (!m)
		sb_addf(why, "split.compare: /%s: missing", key);
	else if (!cJSON_IsString(m))
		sb_addf(why, "split.compare: /%s: must be a string, got %s", key, cfg_type_name(m));
	else if (!*m->valuestring)
		sb_addf(why, "split.compare: /%s: must not be empty", key);
	else
		return m->valuestring;
	return NULL;
}

/* Count one split.compare record. Returns 0, or -1 with the reason in why. */
static int add_compare(struct report *rep, const cJSON *rec, struct strbuf *why)
{
	const char *endpoint = required_str(rec, "endpoint", why);
	const char *result = endpoint ? required_str(rec, "result", why) : NULL;
	if (!result)
		return -1;
	int res = 0;
	while (res < RES_N && strcmp(result, results[res]))
		res++;
	if (res == RES_N) {
		sb_addf(why,
			"split.compare: /result: must be matched, mismatched, ignored, skipped or "
			"error, got '%s'",
			result);
		return -1;
	}

	struct report_ep *e = ep_get(rep, endpoint);
	e->requests++;
	switch (res) {
	case RES_MATCHED:
		e->matched++;
		break;
	case RES_MISMATCHED:
		e->mismatched++;
		count_fields(e, rec);
		break;
	case RES_IGNORED:
		e->ignored++;
		break;
	case RES_SKIPPED:
		e->skipped++;
		break;
	default:
		e->failed++;
		break;
	}

	const cJSON *pri = cJSON_GetObjectItemCaseSensitive(rec, "primary");
	const cJSON *can = cJSON_GetObjectItemCaseSensitive(rec, "candidate");
	double pstatus = cJSON_IsObject(pri) && answered(pri) ? jget_num(pri, "status", 0) : 0;
	if (cJSON_IsObject(pri) && (!answered(pri) || pstatus >= 500))
		e->primary_errors++;
	if (cJSON_IsObject(can)) {
		e->sent++;
		if (!answered(can) || (jget_num(can, "status", 0) >= 500 && pstatus < 500))
			e->errors++;
	}
	add_latency(&e->lat[REPORT_PRIMARY], pri);
	add_latency(&e->lat[REPORT_CANDIDATE], can);
	return 0;
}

/* ---- judging --------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Percentile of rank ceil(q * n) (nearest rank), rounded to the microsecond. */
static double lat_quantile(const struct report_lat *l, double q)
{
	uint64_t n = sketch_count(l->sk);
	if (!n)
		return NAN;
	double v = l->exact ? l->v[sketch_rank(q, n) - 1] : sketch_quantile(l->sk, q);
	return round(v * 1000.0) / 1000.0;
}

static void add_reason(char ***list, size_t *n, size_t *alloc, struct strbuf *sb)
{
	ALLOC_GROW(*list, *n + 1, *alloc);
	(*list)[(*n)++] = sb_detach(sb, NULL);
}

static int cmp_field(const void *pa, const void *pb)
{
	const struct report_field *a = pa, *b = pb;
	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	return strcmp(a->pointer, b->pointer);
}

static void top_fields(struct report_ep *e)
{
	size_t n = ht_len(e->fields), i = 0;
	struct report_field *all = xcalloc(n ? n : 1, sizeof(*all));
	struct ht_iter it;
	for (ht_iter(&it, e->fields); ht_next(&it);)
		all[i++] = (struct report_field){ it.key, (uint64_t)(uintptr_t)it.value };
	qsort(all, n, sizeof(*all), cmp_field);
	e->ntop = n < REPORT_TOP_FIELDS ? n : REPORT_TOP_FIELDS;
	memcpy(e->top, all, e->ntop * sizeof(*all));
	free(all);
}

/* Is n of total more than max_pct percent? Compared as n * 100 against
 * max_pct * total, so that no rounded rate decides. */
static bool over(uint64_t n, uint64_t total, double max_pct)
{
	return (double)n * 100.0 > max_pct * (double)total;
}

/* "WHAT 12.5% > 1%" */
static void rate_reason(struct strbuf *sb, const char *what, uint64_t n, uint64_t total,
			double max_pct)
{
	sb_addstr(sb, what);
	report_num(sb, (double)n * 100.0 / (double)total, 2, max_pct);
	sb_addstr(sb, "% > ");
	report_num(sb, max_pct, 2, NAN);
	sb_addch(sb, '%');
}

/* Rates, percentiles and the verdict of one endpoint. */
static void judge_ep(const struct report *rep, struct report_ep *e)
{
	struct strbuf sb = SB_INIT;
	e->compared = e->matched + e->mismatched + e->ignored;
	e->mismatch_rate = e->compared ? (double)e->mismatched / (double)e->compared : NAN;
	e->error_rate = e->sent ? (double)e->errors / (double)e->sent : NAN;
	for (int s = 0; s < 2; s++) {
		struct report_lat *l = &e->lat[s];
		if (l->exact && l->n)
			qsort(l->v, l->n, sizeof(double), cmp_double);
		l->p50 = lat_quantile(l, 0.5);
		l->p99 = lat_quantile(l, 0.99);
	}
	double pp = e->lat[REPORT_PRIMARY].p99, cp = e->lat[REPORT_CANDIDATE].p99;
	e->p99_ratio = isnan(pp) || isnan(cp) ? NAN : pp > 0 ? cp / pp : cp > 0 ? INFINITY : 1.0;
	if (e->fields)
		top_fields(e);

	if (!e->compared) {
		sb_addstr(&sb, "no compared requests");
		add_reason(&e->reasons, &e->nreasons, &e->areasons, &sb);
	} else if (e->compared < rep->min_requests) {
		sb_addf(&sb, "only %" PRIu64 " compared request%s, need %" PRIu64, e->compared,
			e->compared == 1 ? "" : "s", rep->min_requests);
		add_reason(&e->reasons, &e->nreasons, &e->areasons, &sb);
	}
	if (e->compared && over(e->mismatched, e->compared, rep->max_mismatch)) {
		rate_reason(&sb, "mismatch rate ", e->mismatched, e->compared, rep->max_mismatch);
		add_reason(&e->reasons, &e->nreasons, &e->areasons, &sb);
	}
	if (e->sent && over(e->errors, e->sent, rep->max_errors)) {
		rate_reason(&sb, "candidate error rate ", e->errors, e->sent, rep->max_errors);
		add_reason(&e->reasons, &e->nreasons, &e->areasons, &sb);
	}
	if (rep->max_latency_ratio > 0 && !isnan(e->p99_ratio) &&
	    e->p99_ratio > rep->max_latency_ratio) {
		sb_addstr(&sb, "candidate p99 ");
		report_num(&sb, cp, 3, NAN);
		if (isfinite(e->p99_ratio)) {
			sb_addstr(&sb, " ms is ");
			report_num(&sb, e->p99_ratio, 2, rep->max_latency_ratio);
			sb_addstr(&sb, "x primary's ");
		} else {
			sb_addstr(&sb, " ms against primary's ");
		}
		report_num(&sb, pp, 3, NAN);
		sb_addstr(&sb, " ms > ");
		report_num(&sb, rep->max_latency_ratio, 2, NAN);
		sb_addch(&sb, 'x');
		add_reason(&e->reasons, &e->nreasons, &e->areasons, &sb);
	}
	e->go = e->nreasons == 0;
	sb_release(&sb);
}

static int cmp_ep(const void *a, const void *b)
{
	return strcmp((*(struct report_ep *const *)a)->name, (*(struct report_ep *const *)b)->name);
}

/* Judge every endpoint, sort them by name, add up the totals and reach
 * the run's verdict. */
static void report_judge(struct report *rep)
{
	size_t n = ht_len(rep->eps), i = 0;
	rep->sorted = xcalloc(n ? n : 1, sizeof(*rep->sorted));
	struct ht_iter it;
	for (ht_iter(&it, rep->eps); ht_next(&it);)
		rep->sorted[i++] = it.value;
	rep->nsorted = n;
	qsort(rep->sorted, n, sizeof(*rep->sorted), cmp_ep);

	struct report_ep *t = &rep->total;
	struct strbuf sb = SB_INIT;
	rep->go = n > 0;
	if (!n) {
		sb_addstr(&sb, "no compared requests");
		add_reason(&rep->reasons, &rep->nreasons, &rep->areasons, &sb);
	}
	for (i = 0; i < n; i++) {
		struct report_ep *e = rep->sorted[i];
		judge_ep(rep, e);
		t->requests += e->requests;
		t->matched += e->matched;
		t->mismatched += e->mismatched;
		t->ignored += e->ignored;
		t->skipped += e->skipped;
		t->failed += e->failed;
		t->sent += e->sent;
		t->errors += e->errors;
		t->primary_errors += e->primary_errors;
		if (!e->go)
			rep->go = false;
		for (size_t k = 0; k < e->nreasons; k++) {
			sb_addf(&sb, "%s: %s", e->name, e->reasons[k]);
			add_reason(&rep->reasons, &rep->nreasons, &rep->areasons, &sb);
		}
	}
	t->compared = t->matched + t->mismatched + t->ignored;
	t->mismatch_rate = t->compared ? (double)t->mismatched / (double)t->compared : NAN;
	t->error_rate = t->sent ? (double)t->errors / (double)t->sent : NAN;
	sb_release(&sb);
}

/* ---- the command ----------------------------------------------------- */

/* Read one input. Returns 0, or -1 when --strict stopped at a bad line. */
static int read_input(struct report *rep, const char *path, bool strict, bool *open_failed)
{
	struct strbuf err = SB_INIT, why = SB_INIT;
	struct jsonl_reader *r = jsonl_open(path, strict ? JSONL_STRICT : 0, &err);
	if (!r) {
		error("%s", err.buf);
		sb_release(&err);
		*open_failed = true;
		return 0;
	}
	int got, rc = 0;
	cJSON *rec;
	while ((got = jsonl_next(r, &rec)) > 0) {
		const char *type = jget_str(rec, "type");
		if (type && !strcmp(type, "split.compare")) {
			sb_reset(&why);
			if (add_compare(rep, rec, &why) < 0 && jsonl_reject(r, "%s", why.buf) < 0)
				got = -1;
		}
		cJSON_Delete(rec);
		if (got < 0)
			break;
	}
	/* -1 is --strict stopping at a bad line, or a read error (which
	 * jsonl_exit_status turns into status 4 at the end). */
	if (got < 0 && strict && jsonl_bad(r))
		rc = -1;
	jsonl_close(r);
	sb_release(&err);
	sb_release(&why);
	return rc;
}

static void report_free(struct report *rep)
{
	ht_free(rep->eps, ep_free);
	free(rep->sorted);
	for (size_t i = 0; i < rep->nreasons; i++)
		free(rep->reasons[i]);
	free(rep->reasons);
}

int cmd_report(int argc, char **argv)
{
	struct report rep;
	memset(&rep, 0, sizeof(rep));
	rep.max_mismatch = 1;
	rep.max_errors = 1;
	rep.min_requests = 1;
	bool strict = false;
	struct opt_parser p;
	int c;
	opt_begin(&p, argc, argv);
	while ((c = opt_next(&p)) != OPT_DONE) {
		switch (c) {
		case RO_MAX_ERRORS:
			rep.max_errors = opt_percent(&p, "max-errors");
			break;
		case RO_MAX_LATENCY_RATIO:
			rep.max_latency_ratio = opt_ratio(&p);
			break;
		case RO_MAX_MISMATCH:
			rep.max_mismatch = opt_percent(&p, "max-mismatch");
			break;
		case RO_MIN_REQUESTS:
			rep.min_requests = opt_count(&p);
			break;
		case 'o':
			if (!strcmp(p.arg, "text"))
				rep.text = true;
			else if (!strcmp(p.arg, "jsonl"))
				rep.text = false;
			else
				opt_usage_error(&p, "-o: unknown format '%s' (want jsonl or text)",
						p.arg);
			break;
		case RO_STRICT:
			strict = true;
			break;
		default:
			break;
		}
	}
	char **files;
	int nfiles = opt_operands(&p, &files);
	static char *stdin_only[] = { "-" };
	if (!nfiles) {
		files = stdin_only;
		nfiles = 1;
	}
	rep.eps = ht_new();
	bool open_failed = false, stopped = false;
	for (int i = 0; i < nfiles && !stopped; i++)
		if (read_input(&rep, files[i], strict, &open_failed) < 0)
			stopped = true;
	opt_end(&p);

	int status = EXIT_REJECTED;
	if (!stopped) {
		report_judge(&rep);
		if (rep.text)
			report_write_text(&rep);
		else
			report_write_jsonl(&rep);
		/* Precedence: a read error (4, from jsonl_exit_status), a file
		 * that could not be opened (2), rejected lines (3), then the
		 * answer (1 no-go, 0 go), as in ofs-replay verify. */
		status = open_failed	     ? EXIT_USAGE
			 : jsonl_total_bad() ? EXIT_REJECTED
			 : rep.go	     ? EXIT_OK
					     : EXIT_NO;
	}
	report_free(&rep);
	return jsonl_exit_status(status);
}
