/*
 * tree.c: `ofs-trace tree` and `ofs-trace show`, the two views of one
 * trace as a tree: tree writes one trace.node record per span in
 * depth-first order (with the self time each span spent outside its
 * children) and a trace.skew record per clock-skew correction; show draws
 * a text waterfall for people. Both take their structure from traces.c,
 * so shared Zipkin ids, orphans and skew are handled the same way.
 */
#include "common.h"

#include "jw.h"
#include "out.h"
#include "record.h"
#include "strbuf.h"
#include "trace.h"
#include "traces.h"

enum { TR_TRACE = 1000, TR_STRICT };

const struct opt tree_opts[] = {
	{ 'o', 'o', "output", "file", "write the records to file (.gz: compressed)", "@file", 0 },
	{ TR_STRICT, 0, "strict", NULL, "stop at the first bad input line", NULL, 0 },
	{ TR_TRACE, 0, "trace", "id", "only this trace", NULL, 0 },
	{ 0 },
};

const struct opt show_opts[] = {
	{ TR_STRICT, 0, "strict", NULL, "stop at the first bad input line", NULL, 0 },
	{ 0 },
};

static int by_start_ns(const void *a, const void *b)
{
	const int64_t *x = a, *y = b;
	if (x[0] != y[0])
		return x[0] < y[0] ? -1 : 1;
	return (x[1] > y[1]) - (x[1] < y[1]);
}

/* self_ns: the node's duration minus the union of its children's
 * intervals clipped to it. */
static int64_t self_ns(const struct trace *t, const struct tnode *n)
{
	int64_t dur = n->end_ns - n->start_ns;
	if (!n->nkids)
		return dur;
	int64_t *iv = xcalloc(2 * n->nkids, sizeof(*iv));
	size_t m = 0;
	for (size_t k = 0; k < n->nkids; k++) {
		const struct tnode *c = &t->nodes[n->kids[k]];
		int64_t s = c->start_ns < n->start_ns ? n->start_ns : c->start_ns;
		int64_t e = c->end_ns > n->end_ns ? n->end_ns : c->end_ns;
		if (e > s) {
			iv[2 * m] = s;
			iv[2 * m + 1] = e;
			m++;
		}
	}
	qsort(iv, m, 2 * sizeof(*iv), by_start_ns);
	int64_t covered = 0, cs = 0, ce = 0;
	bool open = false;
	for (size_t k = 0; k < m; k++) {
		int64_t s = iv[2 * k], e = iv[2 * k + 1];
		if (open && s <= ce) {
			if (e > ce)
				ce = e;
			continue;
		}
		if (open)
			covered += ce - cs;
		cs = s;
		ce = e;
		open = true;
	}
	if (open)
		covered += ce - cs;
	free(iv);
	return dur - covered;
}

static void write_node(struct out *o, struct strbuf *sb, const struct trace *t, size_t i,
		       int depth)
{
	const struct tnode *n = &t->nodes[i];
	char hex[33];
	struct jw w;
	jw_init(&w, sb);
	trace_rec_begin(&w, "trace.node");
	jw_kv_str(&w, "trace_id", trace_hex(t->trace_id, 16, hex));
	jw_kv_str(&w, "span_id", trace_hex(n->span.span_id, 8, hex));
	if (n->parent != TRACE_NONE)
		jw_kv_str(&w, "parent_span_id",
			  trace_hex(t->nodes[n->parent].span.span_id, 8, hex));
	else if (n->span.has_parent)
		jw_kv_str(&w, "parent_span_id", trace_hex(n->span.parent_id, 8, hex));
	else
		jw_kv_str(&w, "parent_span_id", NULL);
	jw_kv_int(&w, "depth", depth);
	jw_kv_str(&w, "service", n->span.service);
	jw_kv_str(&w, "name", n->span.name);
	jw_kv_str(&w, "kind", span_kind_name(n->span.kind));
	jw_kv_double(&w, "start_offset_ms", trace_ms(n->start_ns - t->start_ns));
	jw_kv_double(&w, "duration_ms", trace_ms(n->end_ns - n->start_ns));
	jw_kv_double(&w, "self_ms", trace_ms(self_ns(t, n)));
	jw_kv_str(&w, "status", span_is_error(&n->span) ? "error"
							: span_status_name(n->span.status));
	jw_kv_bool(&w, "orphan", n->orphan);
	if (n->shared)
		jw_kv_bool(&w, "shared", true);
	rec_end(&w, o);
	for (size_t k = 0; k < n->nkids; k++)
		write_node(o, sb, t, n->kids[k], depth + 1);
}

static void write_skews(struct out *o, struct strbuf *sb, const struct trace *t)
{
	char hex[33];
	struct jw w;
	for (size_t i = 0; i < t->nnodes; i++) {
		const struct tnode *n = &t->nodes[i];
		/* Report where a correction was made, not every moved descendant. */
		if (!n->shift_ns ||
		    (n->parent != TRACE_NONE && t->nodes[n->parent].shift_ns == n->shift_ns))
			continue;
		jw_init(&w, sb);
		trace_rec_begin(&w, "trace.skew");
		jw_kv_str(&w, "trace_id", trace_hex(t->trace_id, 16, hex));
		jw_kv_str(&w, "span_id", trace_hex(n->span.span_id, 8, hex));
		jw_kv_str(&w, "service", n->span.service);
		jw_kv_double(&w, "shift_ms", trace_ms(n->shift_ns));
		rec_end(&w, o);
	}
}

int cmd_tree(int argc, char **argv)
{
	struct opt_parser p;
	const char *outfile = NULL;
	bool strict = false, only = false;
	uint8_t want[16];
	int c;
	opt_begin(&p, argc, argv);
	while ((c = opt_next(&p)) != OPT_DONE) {
		switch (c) {
		case 'o':
			outfile = p.arg;
			break;
		case TR_STRICT:
			strict = true;
			break;
		case TR_TRACE:
			if (trace_parse_id(p.arg, want) < 0)
				opt_usage_error(&p, "--trace: not a trace id '%s'", p.arg);
			only = true;
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
	struct out *o = out_open(outfile);
	struct strbuf sb = SB_INIT;
	for (size_t i = 0; i < set.ntraces; i++) {
		struct trace *t = set.traces[i];
		if (only && memcmp(t->trace_id, want, 16))
			continue;
		traces_link(t);
		for (size_t r = 0; r < t->nroots; r++)
			write_node(o, &sb, t, t->roots[r], 0);
		write_skews(o, &sb, t);
	}
	sb_release(&sb);
	out_close(o);
	traces_free(&set);
	return traces_status(rc);
}

/* The waterfall: one line per span. */
#define BAR_WIDTH 40

static bool misfit(const struct trace *t, const struct tnode *n)
{
	if (n->parent == TRACE_NONE || n->span.kind == SPAN_PRODUCER ||
	    n->span.kind == SPAN_CONSUMER)
		return false;
	const struct tnode *p = &t->nodes[n->parent];
	return n->start_ns < p->start_ns || n->end_ns > p->end_ns;
}

static void show_node(struct strbuf *sb, const struct trace *t, size_t i, int depth)
{
	const struct tnode *n = &t->nodes[i];
	int64_t total = t->end_ns - t->start_ns;
	int from = 0, to = BAR_WIDTH;
	if (total > 0) {
		from = (int)((double)(n->start_ns - t->start_ns) * BAR_WIDTH / (double)total);
		to = (int)((double)(n->end_ns - t->start_ns) * BAR_WIDTH / (double)total + 0.999);
	}
	if (from >= BAR_WIDTH)
		from = BAR_WIDTH - 1;
	if (to <= from)
		to = from + 1;
	if (to > BAR_WIDTH)
		to = BAR_WIDTH;
	sb_addf(sb, "%10.3fms |", trace_ms(n->start_ns - t->start_ns));
	for (int k = 0; k < BAR_WIDTH; k++)
		sb_addch(sb, k >= from && k < to ? '#' : ' ');
	sb_addstr(sb, "| ");
	for (int k = 0; k < depth; k++)
		sb_addstr(sb, "  ");
	sb_addf(sb, "%s %s %.3fms %s", n->span.service, n->span.name,
		trace_ms(n->end_ns - n->start_ns),
		span_is_error(&n->span) ? "error" : span_status_name(n->span.status));
	if (n->orphan)
		sb_addstr(sb, " (orphan)");
	if (n->shift_ns && (n->parent == TRACE_NONE ||
			    t->nodes[n->parent].shift_ns != n->shift_ns))
		sb_addf(sb, " clock skew: shifted %+.3fms", trace_ms(n->shift_ns));
	else if (misfit(t, n))
		sb_addstr(sb, " clock skew");
	sb_addch(sb, '\n');
	for (size_t k = 0; k < n->nkids; k++)
		show_node(sb, t, n->kids[k], depth + 1);
}

int cmd_show(int argc, char **argv)
{
	struct opt_parser p;
	bool strict = false;
	int c;
	opt_begin(&p, argc, argv);
	while ((c = opt_next(&p)) != OPT_DONE)
		if (c == TR_STRICT)
			strict = true;
	char **ops;
	int nops = opt_operands(&p, &ops);
	if (nops < 1)
		opt_usage_error(&p, "missing TRACE_ID");
	uint8_t want[16];
	if (trace_parse_id(ops[0], want) < 0)
		opt_usage_error(&p, "not a trace id '%s'", ops[0]);
	char *idarg = ops[0];
	struct trace_set set;
	traces_init(&set, 0);
	int rc = traces_read(&set, ops + 1, nops - 1, strict);
	opt_end(&p);
	struct trace *t = traces_find(&set, want);
	int status = traces_status(rc);
	if (!t) {
		error("no trace '%s' in the input", idarg);
		traces_free(&set);
		return status ? status : EXIT_NO;
	}
	traces_link(t);
	struct strbuf sb = SB_INIT;
	char hex[33];
	sb_addf(&sb, "trace %s: %zu spans, %.3fms\n", trace_hex(t->trace_id, 16, hex), t->nnodes,
		trace_ms(t->end_ns - t->start_ns));
	for (size_t r = 0; r < t->nroots; r++)
		show_node(&sb, t, t->roots[r], 0);
	out_write(out_stdout(), sb.buf, sb.len);
	sb_release(&sb);
	traces_free(&set);
	return status;
}
