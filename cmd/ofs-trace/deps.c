/*
 * deps.c: `ofs-trace deps`, the service dependency graph the traces
 * show, by the rules of Zipkin's DependencyLinker: a link is made at
 * every SERVER or CONSUMER span (child: its service; parent: the service
 * of its nearest ancestor that is a remote span, or its remote endpoint
 * when it has no such ancestor), and at every CLIENT or PRODUCER span
 * that has no children but names its peer (an uninstrumented service
 * such as a database). Records trace.dep {parent, child, calls, errors,
 * p99_ms}, or the graph as DOT or Mermaid (graph.h).
 */
#include "common.h"

#include "graph.h"
#include "jw.h"
#include "out.h"
#include "record.h"
#include "sketch.h"
#include "strbuf.h"
#include "trace.h"
#include "traces.h"

enum { DP_STRICT = 1000 };

const struct opt deps_opts[] = {
	{ 'o', 'o', "output", "format", "jsonl (default), dot or mermaid", "jsonl dot mermaid", 0 },
	{ DP_STRICT, 0, "strict", NULL, "stop at the first bad input line", NULL, 0 },
	{ 0 },
};

struct dep {
	uint64_t calls, errors;
	struct sketch *lat;
};

static void free_dep(void *p)
{
	struct dep *d = p;
	sketch_free(d->lat);
	free(d);
}

static bool is_remote(enum span_kind k)
{
	return k == SPAN_SERVER || k == SPAN_CLIENT || k == SPAN_PRODUCER || k == SPAN_CONSUMER;
}

static void add_link(struct graph *g, const char *parent, const char *child,
		     const struct tnode *n)
{
	struct graph_edge *e = graph_add_edge(g, parent, child, NULL, 1);
	struct dep *d = e->data;
	if (!d) {
		d = xcalloc(1, sizeof(*d));
		d->lat = sketch_new(0);
		e->data = d;
	}
	d->calls++;
	if (span_is_error(&n->span))
		d->errors++;
	sketch_add(d->lat, trace_ms(n->end_ns - n->start_ns));
}

static void link_trace(struct graph *g, const struct trace *t)
{
	for (size_t i = 0; i < t->nnodes; i++) {
		const struct tnode *n = &t->nodes[i];
		const struct span *s = &n->span;
		const char *svc = *s->service ? s->service : NULL;
		const char *peer = s->peer_service && *s->peer_service ? s->peer_service : NULL;
		if (s->kind == SPAN_SERVER || s->kind == SPAN_CONSUMER) {
			const char *parent = peer;
			size_t a = n->parent;
			while (a != TRACE_NONE && !is_remote(t->nodes[a].span.kind))
				a = t->nodes[a].parent;
			if (a != TRACE_NONE && *t->nodes[a].span.service)
				parent = t->nodes[a].span.service;
			if (parent && svc)
				add_link(g, parent, svc, n);
		} else if ((s->kind == SPAN_CLIENT || s->kind == SPAN_PRODUCER) && !n->nkids) {
			if (svc && peer)
				add_link(g, svc, peer, n);
		}
	}
}

int cmd_deps(int argc, char **argv)
{
	struct opt_parser p;
	bool strict = false;
	int fmt = 0; /* 0 jsonl, 1 dot, 2 mermaid */
	int c;
	opt_begin(&p, argc, argv);
	while ((c = opt_next(&p)) != OPT_DONE) {
		switch (c) {
		case 'o':
			if (!strcmp(p.arg, "jsonl"))
				fmt = 0;
			else if (!strcmp(p.arg, "dot"))
				fmt = 1;
			else if (!strcmp(p.arg, "mermaid"))
				fmt = 2;
			else
				opt_usage_error(&p, "-o: unknown format '%s' (want jsonl, dot or mermaid)",
						p.arg);
			break;
		case DP_STRICT:
			strict = true;
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
	struct graph *g = graph_new();
	for (size_t i = 0; i < set.ntraces; i++) {
		traces_link(set.traces[i]);
		link_trace(g, set.traces[i]);
	}
	struct strbuf sb = SB_INIT;
	struct out *o = out_stdout();
	if (fmt == 0) {
		struct jw w;
		for (size_t i = 0; i < g->nedges; i++) {
			const struct graph_edge *e = &g->edges[i];
			const struct dep *d = e->data;
			jw_init(&w, &sb);
			rec_begin(&w, "trace.dep");
			jw_kv_str(&w, "parent", g->nodes[e->from].name);
			jw_kv_str(&w, "child", g->nodes[e->to].name);
			jw_kv_int(&w, "calls", (int64_t)d->calls);
			jw_kv_int(&w, "errors", (int64_t)d->errors);
			jw_kv_double(&w, "p99_ms", sketch_quantile(d->lat, 0.99));
			rec_end(&w, o);
		}
	} else {
		if (fmt == 1)
			graph_to_dot(g, &sb);
		else
			graph_to_mermaid(g, &sb);
		out_write(o, sb.buf, sb.len);
	}
	sb_release(&sb);
	graph_free(g, free_dep);
	traces_free(&set);
	return traces_status(rc);
}
