/*
 * critpath.c: `ofs-trace critical-path`, which says where the time of a
 * request went: per trace the sections of the path that decided its
 * length (trace.critical), and with --top the operations that are most
 * often and longest on that path across traces (trace.critical_top).
 *
 * The method is Jaeger UI's, step for step: clip children to parents,
 * drop follows-from children, and walk back from the root's end through
 * last-finishing children. It is written as a pure function over an
 * assembled trace (critpath_compute) so that hand-computed cases can
 * test it exactly.
 */
#include "common.h"

#include "critpath.h"
#include "hash.h"
#include "jw.h"
#include "out.h"
#include "record.h"
#include "strbuf.h"
#include "trace.h"
#include "traces.h"
#include "units.h"

enum { CP_TRACE = 1000, CP_TOP, CP_STRICT };

const struct opt critical_path_opts[] = {
	{ 'o', 'o', "output", "file", "write the records to file (.gz: compressed)", "@file", 0 },
	{ CP_STRICT, 0, "strict", NULL, "stop at the first bad input line", NULL, 0 },
	{ CP_TOP, 0, "top", "n",
	  "instead of one record per trace, the n operations with most critical time", NULL, 0 },
	{ CP_TRACE, 0, "trace", "id", "only this trace", NULL, 0 },
	{ 0 },
};

/* Per-node working state of one computation. */
struct cp_node {
	int64_t start, end; /* clipped */
	bool alive;
	size_t *kids;       /* alive children, latest end first */
	size_t nkids;
};

static bool is_async(const struct tnode *kid, const struct tnode *parent)
{
	if (kid->span.kind == SPAN_CONSUMER)
		return true;
	return kid->span.kind == SPAN_PRODUCER && kid->end_ns > parent->end_ns;
}

static void clip(const struct trace *t, struct cp_node *w, size_t i)
{
	const struct tnode *n = &t->nodes[i];
	w[i].kids = xcalloc(n->nkids ? n->nkids : 1, sizeof(size_t));
	for (size_t k = 0; k < n->nkids; k++) {
		size_t c = n->kids[k];
		const struct tnode *kid = &t->nodes[c];
		if (is_async(kid, n))
			continue;
		if (kid->end_ns <= w[i].start || kid->start_ns >= w[i].end)
			continue;
		w[c].alive = true;
		w[c].start = kid->start_ns < w[i].start ? w[i].start : kid->start_ns;
		w[c].end = kid->end_ns > w[i].end ? w[i].end : kid->end_ns;
		w[i].kids[w[i].nkids++] = c;
		clip(t, w, c);
	}
}

/* Stable sort of one child list by clipped end, latest first: insertion
 * sort keeps equal ends in start order, as Jaeger's stable sort does. */
static void sort_by_end(struct cp_node *w, size_t *kids, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		size_t k = kids[i], j = i;
		while (j > 0 && w[kids[j - 1]].end < w[k].end) {
			kids[j] = kids[j - 1];
			j--;
		}
		kids[j] = k;
	}
}

static void push(struct crit_section **v, size_t *n, size_t *a, size_t node, int64_t s, int64_t e)
{
	if (s == e)
		return;
	ALLOC_GROW(*v, *n + 1, *a);
	(*v)[*n].node = node;
	(*v)[*n].start_ns = s;
	(*v)[*n].end_ns = e;
	(*n)++;
}

size_t critpath_compute(const struct trace *t, size_t root, struct crit_section **out)
{
	*out = NULL;
	if (root == TRACE_NONE || root >= t->nnodes)
		return 0;
	struct cp_node *w = xcalloc(t->nnodes, sizeof(*w));
	w[root].alive = true;
	w[root].start = t->nodes[root].start_ns;
	w[root].end = t->nodes[root].end_ns;
	clip(t, w, root);
	for (size_t i = 0; i < t->nnodes; i++)
		if (w[i].alive)
			sort_by_end(w, w[i].kids, w[i].nkids);

	struct crit_section *v = NULL;
	size_t n = 0, a = 0;
	size_t cur = root;
	bool returning = false;
	int64_t point = 0;
	for (;;) {
		int64_t upto = returning ? point : w[cur].end;
		size_t lfc = TRACE_NONE;
		for (size_t k = 0; k < w[cur].nkids; k++) {
			size_t c = w[cur].kids[k];
			if (!returning || w[c].end < point) {
				lfc = c;
				break;
			}
		}
		if (lfc != TRACE_NONE) {
			push(&v, &n, &a, cur, w[lfc].end, upto);
			cur = lfc;
			returning = false;
			continue;
		}
		push(&v, &n, &a, cur, w[cur].start, upto);
		if (cur == root)
			break;
		point = w[cur].start;
		returning = true;
		cur = t->nodes[cur].parent;
	}
	for (size_t i = 0; i < t->nnodes; i++)
		free(w[i].kids);
	free(w);
	/* Found from the end backwards: reverse into time order. */
	for (size_t i = 0; i < n / 2; i++) {
		struct crit_section tmp = v[i];
		v[i] = v[n - 1 - i];
		v[n - 1 - i] = tmp;
	}
	*out = v;
	return n;
}

size_t critpath_root(const struct trace *t)
{
	for (size_t r = 0; r < t->nroots; r++)
		if (!t->nodes[t->roots[r]].orphan)
			return t->roots[r];
	return t->nroots ? t->roots[0] : TRACE_NONE;
}

/* --top accumulation per service and operation. */
struct cp_top {
	char *service, *name;
	uint64_t traces;
	int64_t ns;
	const void *last_trace; /* to count each trace once */
};

static void free_top(void *p)
{
	struct cp_top *x = p;
	free(x->service);
	free(x->name);
	free(x);
}

static int by_ns(const void *a, const void *b)
{
	const struct cp_top *x = *(struct cp_top *const *)a, *y = *(struct cp_top *const *)b;
	if (x->ns != y->ns)
		return x->ns > y->ns ? -1 : 1;
	int c = strcmp(x->service, y->service);
	return c ? c : strcmp(x->name, y->name);
}

static void write_critical(struct out *o, const struct trace *t, const struct crit_section *v,
			   size_t n)
{
	struct strbuf sb = SB_INIT;
	struct jw w;
	char hex[33];
	jw_init(&w, &sb);
	trace_rec_begin(&w, "trace.critical");
	jw_kv_str(&w, "trace_id", trace_hex(t->trace_id, 16, hex));
	jw_key(&w, "sections");
	jw_arr_begin(&w);
	int64_t total = 0;
	for (size_t i = 0; i < n; i++) {
		const struct tnode *nd = &t->nodes[v[i].node];
		jw_obj_begin(&w);
		jw_kv_str(&w, "span_id", trace_hex(nd->span.span_id, 8, hex));
		jw_kv_str(&w, "service", nd->span.service);
		jw_kv_str(&w, "name", nd->span.name);
		jw_kv_double(&w, "start_offset_ms", trace_ms(v[i].start_ns - t->start_ns));
		jw_kv_double(&w, "end_offset_ms", trace_ms(v[i].end_ns - t->start_ns));
		jw_kv_double(&w, "ms", trace_ms(v[i].end_ns - v[i].start_ns));
		jw_obj_end(&w);
		total += v[i].end_ns - v[i].start_ns;
	}
	jw_arr_end(&w);
	jw_kv_double(&w, "total_ms", trace_ms(total));
	rec_end(&w, o);
	sb_release(&sb);
}

int cmd_critical_path(int argc, char **argv)
{
	struct opt_parser p;
	const char *outfile = NULL, *want = NULL;
	bool strict = false;
	long long top = 0;
	struct strbuf err = SB_INIT;
	uint8_t want_id[16] = { 0 };
	int c;
	opt_begin(&p, argc, argv);
	while ((c = opt_next(&p)) != OPT_DONE) {
		switch (c) {
		case 'o':
			outfile = p.arg;
			break;
		case CP_STRICT:
			strict = true;
			break;
		case CP_TOP:
			if (num_parse_int(p.arg, 1, INT_MAX, &top, &err) < 0)
				opt_usage_error(&p, "--top: %s", err.buf);
			break;
		case CP_TRACE:
			want = p.arg;
			if (trace_parse_id(want, want_id) < 0)
				opt_usage_error(&p, "--trace: not a trace id '%s'", want);
			break;
		default:
			break;
		}
	}
	char **files;
	int nfiles = opt_operands(&p, &files);
	struct trace_set set;
	traces_init(&set, 0);
	int rc = traces_read(&set, files, nfiles, strict);
	opt_end(&p);
	sb_release(&err);

	struct out *o = out_open(outfile);
	struct ht *tops = ht_new();
	int64_t all_ns = 0;
	for (size_t i = 0; i < set.ntraces; i++) {
		struct trace *t = set.traces[i];
		if (want && memcmp(t->trace_id, want_id, 16))
			continue;
		traces_link(t);
		struct crit_section *v;
		size_t n = critpath_compute(t, critpath_root(t), &v);
		if (!top) {
			write_critical(o, t, v, n);
			free(v);
			continue;
		}
		for (size_t k = 0; k < n; k++) {
			const struct span *s = &t->nodes[v[k].node].span;
			struct strbuf key = SB_INIT;
			sb_addstr(&key, s->service);
			sb_addch(&key, '\0');
			sb_addstr(&key, s->name);
			struct cp_top *x = ht_get_b(tops, key.buf, key.len);
			if (!x) {
				x = xcalloc(1, sizeof(*x));
				x->service = xstrdup(s->service);
				x->name = xstrdup(s->name);
				ht_put_b(tops, key.buf, key.len, x);
			}
			sb_release(&key);
			if (x->last_trace != t) {
				x->traces++;
				x->last_trace = t;
			}
			x->ns += v[k].end_ns - v[k].start_ns;
			all_ns += v[k].end_ns - v[k].start_ns;
		}
		free(v);
	}
	if (top) {
		size_t nt = ht_len(tops), k = 0;
		struct cp_top **list = xcalloc(nt ? nt : 1, sizeof(*list));
		struct ht_iter it;
		for (ht_iter(&it, tops); ht_next(&it);)
			list[k++] = it.value;
		qsort(list, nt, sizeof(*list), by_ns);
		struct strbuf sb = SB_INIT;
		struct jw w;
		for (k = 0; k < nt && k < (size_t)top; k++) {
			jw_init(&w, &sb);
			trace_rec_begin(&w, "trace.critical_top");
			jw_kv_str(&w, "service", list[k]->service);
			jw_kv_str(&w, "name", list[k]->name);
			jw_kv_int(&w, "traces", (int64_t)list[k]->traces);
			jw_kv_double(&w, "ms_total", trace_ms(list[k]->ns));
			jw_kv_double(&w, "share",
				     all_ns ? (double)list[k]->ns / (double)all_ns : 0.0);
			rec_end(&w, o);
		}
		sb_release(&sb);
		free(list);
	}
	ht_free(tops, free_top);
	out_close(o);
	traces_free(&set);
	return traces_status(rc);
}
