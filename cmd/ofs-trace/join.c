/*
 * join.c: `ofs-trace join SPANS LOGS [LOGS ...]`: attach log records to
 * the spans they were written in (matched by trace_id and span_id), so
 * one record shows what an operation did and what it said while doing
 * it. Per span, in span input order: a trace.join record with the span's
 * ids, service and name and its logs in ts order (equal times keep input
 * order); then one trace.join_summary counting the logs that matched no
 * span (no ids, or a span not in SPANS). Spans are held in memory; logs
 * only while they wait for their span's record.
 */
#include "common.h"

#include "hash.h"
#include "jsonl.h"
#include "logsrc.h"
#include "out.h"
#include "record.h"
#include "timefmt.h"
#include "trace.h"
#include "tracectx.h"

enum { JOPT_STRICT = 1000 };

const struct opt join_opts[] = {
	{ 'o', 'o', "output", "file", "write to file (.gz: compressed)", "@file", 0 },
	{ JOPT_STRICT, 0, "strict", NULL, "stop at the first bad input line", NULL, 0 },
	{ 0 },
};

struct jlog {
	int64_t ts_ns;
	size_t seq;
	char *text;
};

struct jspan {
	uint8_t key[24]; /* trace_id then span_id */
	char *service, *name;
	struct jlog *logs;
	size_t nlogs, alloc;
};

struct joiner {
	struct jspan *spans;
	size_t nspans, alloc;
	struct ht *index; /* key -> index + 1 */
	size_t logs, matched, seq;
};

static void add_span(struct span *s, void *ctx)
{
	struct joiner *j = ctx;
	uint8_t key[24];
	memcpy(key, s->trace_id, 16);
	memcpy(key + 16, s->span_id, 8);
	if (ht_get_b(j->index, key, sizeof(key)))
		return; /* the server half of a shared Zipkin id: one record per id */
	ALLOC_GROW(j->spans, j->nspans + 1, j->alloc);
	struct jspan *js = &j->spans[j->nspans++];
	memset(js, 0, sizeof(*js));
	memcpy(js->key, key, sizeof(key));
	js->service = xstrdup(s->service);
	js->name = xstrdup(s->name);
	ht_put_b(j->index, key, sizeof(key), (void *)(uintptr_t)j->nspans);
}

static int hex_field(const cJSON *v, const char *key, uint8_t *out, size_t n)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(v, key);
	if (!cJSON_IsString(f) || strlen(f->valuestring) != 2 * n)
		return -1;
	return span_hex_id(f->valuestring, out, n);
}

static void add_log(struct joiner *j, const struct logrec *r)
{
	j->logs++;
	uint8_t key[24];
	if (hex_field(r->v, "trace_id", key, 16) < 0 || hex_field(r->v, "span_id", key + 16, 8) < 0)
		return;
	uintptr_t at = (uintptr_t)ht_get_b(j->index, key, sizeof(key));
	if (!at)
		return;
	struct jspan *js = &j->spans[at - 1];
	ALLOC_GROW(js->logs, js->nlogs + 1, js->alloc);
	js->logs[js->nlogs++] = (struct jlog){ r->ts_ns, j->seq++, xmemdup(r->text, r->len + 1) };
	j->matched++;
}

static int cmp_logs(const void *a, const void *b)
{
	const struct jlog *x = a, *y = b;
	if (x->ts_ns != y->ts_ns)
		return x->ts_ns < y->ts_ns ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int cmd_join(int argc, char **argv)
{
	struct opt_parser p;
	const char *outfile = NULL;
	bool strict = false;
	opt_begin(&p, argc, argv);
	int c;
	while ((c = opt_next(&p)) != OPT_DONE) {
		if (c == 'o')
			outfile = p.arg;
		else if (c == JOPT_STRICT)
			strict = true;
	}
	char **ops;
	int n = opt_operands(&p, &ops);
	if (n < 2)
		opt_usage_error(&p, "a span file and a log file are required");
	int nstdin = 0;
	for (int i = 0; i < n; i++)
		nstdin += !strcmp(ops[i], "-");
	if (nstdin > 1)
		opt_usage_error(&p, "standard input ('-') can be read only once");

	struct joiner j = { 0 };
	j.index = ht_new();
	int status = EXIT_OK;
	bool stop = span_read_file(ops[0], strict, add_span, &j) < 0 && strict;
	for (int i = 1; i < n && !stop; i++) {
		struct strbuf err = SB_INIT;
		struct logsrc *s = logsrc_open(ops[i], strict, &err);
		if (!s) {
			error("%s", err.buf);
			status = EXIT_USAGE; /* a missing input file, as jsonl_exit_status says */
			sb_release(&err);
			continue;
		}
		sb_release(&err);
		struct logrec r;
		int rc;
		while ((rc = logsrc_next(s, &r)) == 1)
			add_log(&j, &r);
		if (rc < 0 && strict)
			stop = true;
		logsrc_close(s);
	}

	struct out *o = out_open(outfile);
	struct strbuf sb = SB_INIT;
	struct jw w;
	char hex[33];
	for (size_t i = 0; i < j.nspans; i++) {
		struct jspan *js = &j.spans[i];
		if (js->nlogs > 1)
			qsort(js->logs, js->nlogs, sizeof(*js->logs), cmp_logs);
		jw_init(&w, &sb);
		/* No trace fields from the environment: these are the span's. */
		rec_begin_ctx(&w, "trace.join", ts_now_ns(), NULL);
		jw_kv_str(&w, "trace_id", tc_hex(js->key, 16, hex));
		jw_kv_str(&w, "span_id", tc_hex(js->key + 16, 8, hex));
		jw_kv_str(&w, "service", js->service);
		jw_kv_str(&w, "name", js->name);
		jw_key(&w, "logs");
		jw_arr_begin(&w);
		for (size_t k = 0; k < js->nlogs; k++) {
			jw_raw(&w, js->logs[k].text, strlen(js->logs[k].text));
			free(js->logs[k].text);
		}
		jw_arr_end(&w);
		rec_end(&w, o);
		free(js->logs);
		free(js->service);
		free(js->name);
	}
	jw_init(&w, &sb);
	rec_begin(&w, "trace.join_summary");
	jw_kv_int(&w, "spans", (int64_t)j.nspans);
	jw_kv_int(&w, "logs", (int64_t)j.logs);
	jw_kv_int(&w, "matched", (int64_t)j.matched);
	jw_kv_int(&w, "unmatched", (int64_t)(j.logs - j.matched));
	rec_end(&w, o);
	out_close(o);
	sb_release(&sb);
	free(j.spans);
	ht_free(j.index, NULL);
	opt_end(&p);
	return jsonl_exit_status(status);
}
