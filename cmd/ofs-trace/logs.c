/*
 * logs.c: `ofs-trace logs [file ...]`: many JSONL log streams merged into
 * one timeline by "ts", filtered by trace (or correlation) id, level,
 * time window and text, the way lnav merges files but in a pipeline.
 *
 * Each input is expected to be sorted by ts already (what a process
 * writing its log is); the merge is a k-way merge over a binary heap that
 * holds one pending record per input, so memory grows with the number of
 * files, not their size. A line out of order within its file is passed
 * through where it stands (it comes out as soon as it heads its file),
 * never dropped. Equal times keep the order of the operands.
 *
 * The log source reader (logsrc.h), shared with join, lives here too: it
 * reads native records and converts OTLP LogsData on the fly.
 */
#include "common.h"

#include "jsonl.h"
#include "logsrc.h"
#include "out.h"
#include "record.h"
#include "span.h"
#include "timefmt.h"
#include "trace.h"
#include "units.h"

/* ---- the log source ---------------------------------------------------- */

struct pending {
	struct strbuf text;
	int64_t ts_ns;
	cJSON *v;
};

struct logsrc {
	struct jsonl_reader *r;
	bool strict;
	bool started;
	bool document;   /* the input was one multi-line JSON document */
	bool done;
	struct pending *q; /* records made from the current line or document */
	size_t nq, qpos, qalloc;
	const char *service; /* scratch while converting OTLP */
};

int logsrc_level_rank(const char *level)
{
	static const struct {
		const char *name;
		int rank;
	} levels[] = { { "trace", 0 }, { "debug", 0 }, { "info", 1 },  { "information", 1 },
		       { "warn", 2 },  { "warning", 2 }, { "error", 3 }, { "fatal", 4 },
		       { "critical", 4 } };
	if (!level)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(levels); i++)
		if (!strcasecmp(level, levels[i].name))
			return levels[i].rank;
	return -1;
}

struct logsrc *logsrc_open(const char *path, bool strict, struct strbuf *err)
{
	struct jsonl_reader *r = jsonl_open(path, strict ? JSONL_STRICT : 0, err);
	if (!r)
		return NULL;
	struct logsrc *s = xcalloc(1, sizeof(*s));
	s->r = r;
	s->strict = strict;
	return s;
}

static void clear_queue(struct logsrc *s)
{
	for (size_t i = 0; i < s->nq; i++) {
		sb_release(&s->q[i].text);
		cJSON_Delete(s->q[i].v);
	}
	s->nq = s->qpos = 0;
}

void logsrc_close(struct logsrc *s)
{
	if (!s)
		return;
	clear_queue(s);
	free(s->q);
	jsonl_close(s->r);
	free(s);
}

static struct pending *queue_add(struct logsrc *s)
{
	ALLOC_GROW(s->q, s->nq + 1, s->qalloc);
	struct pending *p = &s->q[s->nq++];
	sb_init(&p->text, 0);
	p->ts_ns = 0;
	p->v = NULL;
	return p;
}

/* An OTLP int64 or time: a decimal string or a number. */
static int otlp_int(const cJSON *v, int64_t *out)
{
	if (cJSON_IsNumber(v)) {
		*out = (int64_t)v->valuedouble;
		return 0;
	}
	if (!cJSON_IsString(v) || !*v->valuestring)
		return -1;
	char *end;
	errno = 0;
	long long x = strtoll(v->valuestring, &end, 10);
	if (errno || *end)
		return -1;
	*out = x;
	return 0;
}

/* An OTLP AnyValue as plain JSON. */
static void any_value(struct jw *w, const cJSON *av)
{
	const cJSON *x;
	if ((x = cJSON_GetObjectItemCaseSensitive(av, "stringValue")) && cJSON_IsString(x)) {
		jw_str(w, x->valuestring);
	} else if ((x = cJSON_GetObjectItemCaseSensitive(av, "boolValue"))) {
		jw_bool(w, cJSON_IsTrue(x));
	} else if ((x = cJSON_GetObjectItemCaseSensitive(av, "intValue"))) {
		int64_t i;
		if (otlp_int(x, &i) == 0)
			jw_int(w, i);
		else
			jw_cjson(w, x);
	} else if ((x = cJSON_GetObjectItemCaseSensitive(av, "doubleValue"))) {
		jw_cjson(w, x);
	} else if ((x = cJSON_GetObjectItemCaseSensitive(av, "arrayValue"))) {
		jw_arr_begin(w);
		const cJSON *e;
		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(x, "values"))
			any_value(w, e);
		jw_arr_end(w);
	} else if ((x = cJSON_GetObjectItemCaseSensitive(av, "kvlistValue"))) {
		jw_obj_begin(w);
		const cJSON *e;
		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(x, "values")) {
			const cJSON *k = cJSON_GetObjectItemCaseSensitive(e, "key");
			if (!cJSON_IsString(k))
				continue;
			jw_key(w, k->valuestring);
			any_value(w, cJSON_GetObjectItemCaseSensitive(e, "value"));
		}
		jw_obj_end(w);
	} else if ((x = cJSON_GetObjectItemCaseSensitive(av, "bytesValue")) && cJSON_IsString(x)) {
		jw_str(w, x->valuestring);
	} else {
		jw_null(w);
	}
}

static const char *severity_level(int n, const char *text)
{
	if (n >= 1 && n <= 8)
		return "debug";
	if (n >= 9 && n <= 12)
		return "info";
	if (n >= 13 && n <= 16)
		return "warn";
	if (n >= 17 && n <= 20)
		return "error";
	if (n >= 21 && n <= 24)
		return "fatal";
	static const char *const names[] = { "debug", "info", "warn", "error", "fatal" };
	int rank = logsrc_level_rank(text);
	return rank >= 0 ? names[rank] : NULL;
}

static void put_hex_id(struct jw *w, const char *key, const cJSON *v, size_t n)
{
	uint8_t id[16];
	char hex[33];
	if (cJSON_IsString(v) && strlen(v->valuestring) == 2 * n &&
	    span_hex_id(v->valuestring, id, n) == 0)
		jw_kv_str(w, key, tc_hex(id, n, hex));
}

/* One OTLP logRecord as a native log record; -1 without a time. */
static int convert_record(struct logsrc *s, const cJSON *lr)
{
	int64_t ts;
	if (otlp_int(cJSON_GetObjectItemCaseSensitive(lr, "timeUnixNano"), &ts) < 0 || !ts)
		if (otlp_int(cJSON_GetObjectItemCaseSensitive(lr, "observedTimeUnixNano"), &ts) < 0)
			return -1;
	struct pending *p = queue_add(s);
	p->ts_ns = ts;
	struct jw w;
	jw_init(&w, &p->text);
	rec_begin_ctx(&w, "log", ts, NULL);
	put_hex_id(&w, "trace_id", cJSON_GetObjectItemCaseSensitive(lr, "traceId"), 16);
	put_hex_id(&w, "span_id", cJSON_GetObjectItemCaseSensitive(lr, "spanId"), 8);
	const cJSON *sn = cJSON_GetObjectItemCaseSensitive(lr, "severityNumber");
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(lr, "severityText");
	const char *level = severity_level(cJSON_IsNumber(sn) ? sn->valueint : 0,
					   cJSON_IsString(st) ? st->valuestring : NULL);
	if (level)
		jw_kv_str(&w, "level", level);
	if (s->service)
		jw_kv_str(&w, "service", s->service);
	const cJSON *body = cJSON_GetObjectItemCaseSensitive(lr, "body");
	jw_key(&w, "msg");
	if (body)
		any_value(&w, body);
	else
		jw_str(&w, "");
	if (cJSON_IsString(st))
		jw_kv_str(&w, "severity_text", st->valuestring);
	const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(lr, "attributes");
	if (cJSON_GetArraySize(attrs) > 0) {
		jw_key(&w, "attributes");
		jw_obj_begin(&w);
		const cJSON *a;
		cJSON_ArrayForEach(a, attrs) {
			const cJSON *k = cJSON_GetObjectItemCaseSensitive(a, "key");
			if (!cJSON_IsString(k))
				continue;
			jw_key(&w, k->valuestring);
			any_value(&w, cJSON_GetObjectItemCaseSensitive(a, "value"));
		}
		jw_obj_end(&w);
	}
	jw_obj_end(&w);
	p->v = cJSON_ParseWithLength(p->text.buf, p->text.len);
	if (!p->v)
		die("internal error: a converted log record is not JSON");
	return 0;
}

static const char *resource_service(const cJSON *rl)
{
	const cJSON *a;
	cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(
				      cJSON_GetObjectItemCaseSensitive(rl, "resource"), "attributes")) {
		const cJSON *k = cJSON_GetObjectItemCaseSensitive(a, "key");
		const cJSON *sv = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(a, "value"), "stringValue");
		if (cJSON_IsString(k) && !strcmp(k->valuestring, "service.name") && cJSON_IsString(sv))
			return sv->valuestring;
	}
	return NULL;
}

/* Queue the records one parsed value holds; returns -1 (and queues
 * nothing) with a reason when it holds none. */
static int take_value(struct logsrc *s, cJSON *v, const char *text, size_t len,
		      const char **why)
{
	if (!cJSON_IsObject(v)) {
		*why = "not a JSON object";
		return -1;
	}
	const cJSON *rls = cJSON_GetObjectItemCaseSensitive(v, "resourceLogs");
	if (rls) {
		size_t before = s->nq, bad = 0;
		const cJSON *rl, *sl, *lr;
		cJSON_ArrayForEach(rl, rls) {
			s->service = resource_service(rl);
			cJSON_ArrayForEach(sl, cJSON_GetObjectItemCaseSensitive(rl, "scopeLogs"))
				cJSON_ArrayForEach(lr, cJSON_GetObjectItemCaseSensitive(sl, "logRecords"))
					if (convert_record(s, lr) < 0)
						bad++;
		}
		s->service = NULL;
		if (bad)
			warn("%s:%zu: %zu OTLP log records without a time were dropped",
			     jsonl_name(s->r), jsonl_lineno(s->r), bad);
		cJSON_Delete(v);
		if (s->nq == before && bad) {
			*why = "no OTLP log record with a time";
			return -1;
		}
		return 0;
	}
	const cJSON *ts = cJSON_GetObjectItemCaseSensitive(v, "ts");
	int64_t ns;
	if (!cJSON_IsString(ts) || ts_parse(ts->valuestring, strlen(ts->valuestring), &ns) < 0) {
		cJSON_Delete(v);
		*why = "missing or invalid 'ts'";
		return -1;
	}
	struct pending *p = queue_add(s);
	sb_add(&p->text, text, len);
	p->ts_ns = ns;
	p->v = v;
	return 0;
}

/* Read the rest of the input as one document (first holds its first line). */
static int read_document(struct logsrc *s, const char *first, size_t flen)
{
	struct strbuf doc = SB_INIT;
	sb_add(&doc, first, flen);
	const char *line;
	size_t len;
	int rc;
	while ((rc = jsonl_next_line(s->r, &line, &len)) == 1) {
		sb_addch(&doc, '\n');
		sb_add(&doc, line, len);
	}
	s->document = true;
	s->done = true;
	if (rc < 0) {
		sb_release(&doc);
		return -1;
	}
	cJSON *v = cJSON_ParseWithLength(doc.buf, doc.len);
	const char *why = "invalid JSON";
	int out = v ? take_value(s, v, doc.buf, doc.len, &why) : -1;
	sb_release(&doc);
	if (out < 0 && jsonl_reject(s->r, "%s", why) < 0)
		return -1;
	return 0;
}

int logsrc_next(struct logsrc *s, struct logrec *out)
{
	for (;;) {
		if (s->qpos < s->nq) {
			struct pending *p = &s->q[s->qpos++];
			out->text = p->text.buf;
			out->len = p->text.len;
			out->ts_ns = p->ts_ns;
			out->v = p->v;
			return 1;
		}
		clear_queue(s);
		if (s->done)
			return 0;
		const char *line;
		size_t len;
		int rc = jsonl_next_line(s->r, &line, &len);
		if (rc <= 0) {
			s->done = true;
			return rc;
		}
		cJSON *v = cJSON_ParseWithLength(line, len);
		if (!v && !s->started && (line[0] == '{' || line[0] == '[')) {
			/* A pretty-printed document: its first line alone is not JSON. */
			s->started = true;
			if (read_document(s, line, len) < 0)
				return -1;
			continue;
		}
		s->started = true;
		const char *why = "invalid JSON";
		if ((!v || take_value(s, v, line, len, &why) < 0) &&
		    jsonl_reject(s->r, "%s", why) < 0) {
			s->done = true;
			return -1;
		}
	}
}

/* ---- the merge ------------------------------------------------------------ */

enum {
	LGOPT_GREP = 1000,
	LGOPT_LEVEL,
	LGOPT_SINCE,
	LGOPT_STRICT,
	LGOPT_TRACE,
	LGOPT_UNTIL,
};

const struct opt logs_opts[] = {
	{ LGOPT_GREP, 0, "grep", "text", "keep records whose text contains this", NULL, 0 },
	{ LGOPT_LEVEL, 0, "level", "level", "keep this level and above", "debug info warn error fatal",
	  0 },
	{ 'o', 'o', "output", "file", "write to file (.gz: compressed)", "@file", 0 },
	{ LGOPT_SINCE, 0, "since", "time", "keep records from this time (RFC 3339, or a duration "
					   "ago: 15m)",
	  NULL, 0 },
	{ LGOPT_STRICT, 0, "strict", NULL, "stop at the first bad input line", NULL, 0 },
	{ LGOPT_TRACE, 0, "trace", "id", "keep records of this trace (trace_id or correlation_id)",
	  NULL, 0 },
	{ LGOPT_UNTIL, 0, "until", "time", "keep records before this time (RFC 3339, or a duration "
					   "ago)",
	  NULL, 0 },
	{ 0 },
};

struct filter {
	const char *trace;
	int min_level; /* -1: any */
	bool have_since, have_until;
	int64_t since, until;
	const char *grep;
};

static bool field_is(const cJSON *v, const char *key, const char *want)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(v, key);
	return cJSON_IsString(f) && !strcasecmp(f->valuestring, want);
}

static bool keep(const struct filter *f, const struct logrec *r)
{
	if (f->have_since && r->ts_ns < f->since)
		return false;
	if (f->have_until && r->ts_ns >= f->until)
		return false;
	if (f->min_level >= 0) {
		const cJSON *l = cJSON_GetObjectItemCaseSensitive(r->v, "level");
		if (!cJSON_IsString(l) || logsrc_level_rank(l->valuestring) < f->min_level)
			return false;
	}
	if (f->trace && !field_is(r->v, "trace_id", f->trace) &&
	    !field_is(r->v, "correlation_id", f->trace))
		return false;
	if (f->grep && !strstr(r->text, f->grep))
		return false;
	return true;
}

struct head {
	struct logsrc *src;
	struct logrec rec;
	size_t idx; /* operand order breaks ties */
};

static bool before(const struct head *a, const struct head *b)
{
	return a->rec.ts_ns < b->rec.ts_ns || (a->rec.ts_ns == b->rec.ts_ns && a->idx < b->idx);
}

static void sift_down(struct head *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		if (l < n && before(&h[l], &h[m]))
			m = l;
		if (l + 1 < n && before(&h[l + 1], &h[m]))
			m = l + 1;
		if (m == i)
			return;
		struct head t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

static int64_t parse_time_opt(struct opt_parser *p)
{
	int64_t ns, d;
	if (ts_parse(p->arg, strlen(p->arg), &ns) == 0)
		return ns;
	struct strbuf err = SB_INIT;
	if (dur_parse(p->arg, &d, &err) < 0)
		opt_usage_error(p, "%s: want RFC 3339 or a duration ago: %s", p->name, err.buf);
	sb_release(&err);
	return ts_now_ns() - d;
}

int cmd_logs(int argc, char **argv)
{
	struct opt_parser p;
	struct filter f = { .min_level = -1 };
	const char *outfile = NULL;
	bool strict = false;
	opt_begin(&p, argc, argv);
	int c;
	while ((c = opt_next(&p)) != OPT_DONE) {
		switch (c) {
		case LGOPT_GREP: f.grep = p.arg; break;
		case LGOPT_LEVEL:
			f.min_level = logsrc_level_rank(p.arg);
			if (f.min_level < 0)
				opt_usage_error(&p, "invalid --level '%s': want debug, info, warn, error or "
						    "fatal",
						p.arg);
			break;
		case 'o': outfile = p.arg; break;
		case LGOPT_SINCE:
			f.since = parse_time_opt(&p);
			f.have_since = true;
			break;
		case LGOPT_STRICT: strict = true; break;
		case LGOPT_TRACE: f.trace = p.arg; break;
		case LGOPT_UNTIL:
			f.until = parse_time_opt(&p);
			f.have_until = true;
			break;
		}
	}
	char **files;
	int nfiles = opt_operands(&p, &files);
	static char *stdin_only[] = { (char *)"-", NULL };
	if (!nfiles) {
		files = stdin_only;
		nfiles = 1;
	}
	struct head *heap = xcalloc((size_t)nfiles, sizeof(*heap));
	size_t n = 0;
	int status = EXIT_OK;
	bool stop = false;
	for (int i = 0; i < nfiles; i++) {
		struct strbuf err = SB_INIT;
		struct logsrc *s = logsrc_open(files[i], strict, &err);
		if (!s) {
			error("%s", err.buf);
			status = EXIT_USAGE; /* a missing input file, as jsonl_exit_status says */
			sb_release(&err);
			continue;
		}
		sb_release(&err);
		int rc = logsrc_next(s, &heap[n].rec);
		if (rc == 1) {
			heap[n].src = s;
			heap[n].idx = (size_t)i;
			n++;
		} else {
			if (rc < 0 && strict)
				stop = true;
			logsrc_close(s);
		}
	}
	for (size_t i = n / 2; i-- > 0;)
		sift_down(heap, n, i);
	struct out *o = out_open(outfile);
	struct strbuf line = SB_INIT;
	while (n && !stop) {
		if (keep(&f, &heap[0].rec)) {
			sb_add(&line, heap[0].rec.text, heap[0].rec.len);
			out_record(o, &line);
		}
		int rc = logsrc_next(heap[0].src, &heap[0].rec);
		if (rc != 1) {
			if (rc < 0 && strict)
				stop = true;
			logsrc_close(heap[0].src);
			heap[0] = heap[--n];
		}
		sift_down(heap, n, 0);
	}
	for (size_t i = 0; i < n; i++)
		logsrc_close(heap[i].src);
	out_close(o);
	sb_release(&line);
	free(heap);
	opt_end(&p);
	return jsonl_exit_status(status);
}
