/*
 * traces.c: assembling spans into linked, skew-corrected traces (see
 * traces.h). Kept apart from the commands so that tree, show,
 * critical-path, deps and select --traces all see the same parent links,
 * the same handling of Zipkin shared ids and orphans, and the same clock
 * skew correction.
 */
#include "common.h"

#include "hash.h"
#include "jsonl.h"
#include "record.h"
#include "timefmt.h"
#include "span.h"
#include "traces.h"

void traces_init(struct trace_set *set, size_t max_traces)
{
	memset(set, 0, sizeof(*set));
	set->by_id = ht_new();
	set->max_traces = max_traces;
}

static void trace_unlink(struct trace *t)
{
	for (size_t i = 0; i < t->nnodes; i++) {
		free(t->nodes[i].kids);
		t->nodes[i].kids = NULL;
		t->nodes[i].nkids = t->nodes[i].akids = 0;
	}
	t->nroots = 0;
	t->linked = false;
}

static void trace_free(struct trace *t)
{
	trace_unlink(t);
	for (size_t i = 0; i < t->nnodes; i++)
		span_release(&t->nodes[i].span);
	free(t->nodes);
	free(t->roots);
	free(t);
}

void traces_free(struct trace_set *set)
{
	for (size_t i = 0; i < set->ntraces; i++)
		trace_free(set->traces[i]);
	free(set->traces);
	ht_free(set->by_id, NULL);
	memset(set, 0, sizeof(*set));
}

struct trace *traces_find(const struct trace_set *set, const uint8_t id[16])
{
	return ht_get_b(set->by_id, id, 16);
}

struct trace *traces_add(struct trace_set *set, const struct span *s)
{
	struct trace *t = traces_find(set, s->trace_id);
	if (!t) {
		if (set->max_traces && set->ntraces >= set->max_traces) {
			set->dropped++;
			return NULL;
		}
		t = xcalloc(1, sizeof(*t));
		memcpy(t->trace_id, s->trace_id, 16);
		ht_put_b(set->by_id, t->trace_id, 16, t);
		ALLOC_GROW(set->traces, set->ntraces + 1, set->atraces);
		set->traces[set->ntraces++] = t;
	}
	if (t->linked)
		trace_unlink(t);
	ALLOC_GROW(t->nodes, t->nnodes + 1, t->anodes);
	struct tnode *n = &t->nodes[t->nnodes++];
	memset(n, 0, sizeof(*n));
	span_copy(&n->span, s);
	return t;
}

/* Order of children and roots: corrected start, then input order. */
static const struct trace *sort_trace;

static int by_start(const void *a, const void *b)
{
	const struct tnode *x = &sort_trace->nodes[*(const size_t *)a];
	const struct tnode *y = &sort_trace->nodes[*(const size_t *)b];
	if (x->start_ns != y->start_ns)
		return x->start_ns < y->start_ns ? -1 : 1;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	return i < j ? -1 : i > j;
}

static void shift_subtree(struct trace *t, size_t i, int64_t by)
{
	struct tnode *n = &t->nodes[i];
	n->shift_ns += by;
	n->start_ns += by;
	n->end_ns += by;
	for (size_t k = 0; k < n->nkids; k++)
		shift_subtree(t, n->kids[k], by);
}

/*
 * Zipkin's rule: only a SERVER span under a CLIENT span of another
 * process is corrected, only when it does not fit inside the client, and
 * not when it lasts longer than the client (then nothing can be said).
 * The server is moved so that the network latency on both sides is equal.
 */
static void correct_skew(struct trace *t, size_t i)
{
	struct tnode *n = &t->nodes[i];
	if (n->parent != TRACE_NONE && n->span.kind == SPAN_SERVER) {
		const struct tnode *c = &t->nodes[n->parent];
		bool remote = n->shared || strcmp(c->span.service, n->span.service);
		int64_t cdur = c->end_ns - c->start_ns, sdur = n->end_ns - n->start_ns;
		bool fits = n->start_ns >= c->start_ns && n->end_ns <= c->end_ns;
		if (c->span.kind == SPAN_CLIENT && remote && !fits && sdur <= cdur) {
			int64_t latency = (cdur - sdur) / 2;
			int64_t skew = n->start_ns - latency - c->start_ns;
			if (skew)
				shift_subtree(t, i, -skew);
		}
	}
	for (size_t k = 0; k < t->nodes[i].nkids; k++)
		correct_skew(t, t->nodes[i].kids[k]);
}

static void add_kid(struct tnode *p, size_t k)
{
	ALLOC_GROW(p->kids, p->nkids + 1, p->akids);
	p->kids[p->nkids++] = k;
}

static void sort_kids(struct trace *t)
{
	sort_trace = t;
	for (size_t i = 0; i < t->nnodes; i++)
		if (t->nodes[i].nkids > 1)
			qsort(t->nodes[i].kids, t->nodes[i].nkids, sizeof(size_t), by_start);
	if (t->nroots > 1)
		qsort(t->roots, t->nroots, sizeof(size_t), by_start);
	sort_trace = NULL;
}

/* would_cycle: true if making p the parent of i closes a loop. */
static bool would_cycle(const struct trace *t, size_t i, size_t p)
{
	for (size_t steps = 0; p != TRACE_NONE && steps <= t->nnodes; steps++) {
		if (p == i)
			return true;
		p = t->nodes[p].parent;
	}
	return false;
}

void traces_link(struct trace *t)
{
	if (t->linked)
		return;
	struct ht *ids = ht_new();
	/* Pass 1: the owner of each span id. A server half of a shared id
	 * (flagged, or a SERVER next to a CLIENT with the same id) does not
	 * own it: its client half does. */
	for (size_t i = 0; i < t->nnodes; i++) {
		struct tnode *n = &t->nodes[i];
		n->parent = TRACE_NONE;
		n->orphan = false;
		n->shift_ns = 0;
		n->start_ns = n->span.start_ns;
		n->end_ns = n->span.end_ns;
		n->shared = n->span.shared;
		void **slot = ht_ref_b(ids, n->span.span_id, 8);
		if (!slot) {
			if (!n->shared)
				ht_put_b(ids, n->span.span_id, 8, (void *)(uintptr_t)(i + 1));
			continue;
		}
		size_t j = (size_t)(uintptr_t)*slot - 1;
		struct tnode *o = &t->nodes[j];
		if (!n->shared && n->span.kind == SPAN_CLIENT && o->span.kind == SPAN_SERVER &&
		    !o->span.shared) {
			o->shared = true;
			*slot = (void *)(uintptr_t)(i + 1);
		} else if (!n->shared && n->span.kind == SPAN_SERVER &&
			   o->span.kind == SPAN_CLIENT) {
			n->shared = true;
		}
	}
	/* Shared server halves that came before their client: none owned the
	 * id then, so look again. */
	for (size_t i = 0; i < t->nnodes; i++) {
		struct tnode *n = &t->nodes[i];
		if (n->shared || ht_get_b(ids, n->span.span_id, 8))
			continue;
		ht_put_b(ids, n->span.span_id, 8, (void *)(uintptr_t)(i + 1));
	}
	/* The server halves, for children that belong to them. */
	struct ht *servers = ht_new();
	for (size_t i = 0; i < t->nnodes; i++)
		if (t->nodes[i].shared && !ht_get_b(servers, t->nodes[i].span.span_id, 8))
			ht_put_b(servers, t->nodes[i].span.span_id, 8, (void *)(uintptr_t)(i + 1));
	/* Pass 2: parents. */
	for (size_t i = 0; i < t->nnodes; i++) {
		struct tnode *n = &t->nodes[i];
		size_t p = TRACE_NONE;
		size_t owner = (size_t)(uintptr_t)ht_get_b(ids, n->span.span_id, 8) - 1;
		if (n->shared && owner != TRACE_NONE && owner != i)
			p = owner;
		else if (n->span.has_parent) {
			size_t q = (size_t)(uintptr_t)ht_get_b(ids, n->span.parent_id, 8) - 1;
			/* Under a shared id, work of the server's own service hangs
			 * below the server half, as in Zipkin. */
			size_t sq = (size_t)(uintptr_t)ht_get_b(servers, n->span.parent_id, 8) - 1;
			if (sq != TRACE_NONE && sq != i &&
			    !strcmp(t->nodes[sq].span.service, n->span.service))
				q = sq;
			if (q == TRACE_NONE || q == i)
				n->orphan = true;
			else
				p = q;
		}
		if (p != TRACE_NONE && would_cycle(t, i, p)) {
			p = TRACE_NONE;
			n->orphan = true;
		}
		n->parent = p;
		if (p == TRACE_NONE) {
			ALLOC_GROW(t->roots, t->nroots + 1, t->aroots);
			t->roots[t->nroots++] = i;
		} else {
			add_kid(&t->nodes[p], i);
		}
	}
	ht_free(ids, NULL);
	ht_free(servers, NULL);
	sort_kids(t);
	for (size_t r = 0; r < t->nroots; r++)
		correct_skew(t, t->roots[r]);
	sort_kids(t);
	t->start_ns = INT64_MAX;
	t->end_ns = INT64_MIN;
	for (size_t i = 0; i < t->nnodes; i++) {
		if (t->nodes[i].start_ns < t->start_ns)
			t->start_ns = t->nodes[i].start_ns;
		if (t->nodes[i].end_ns > t->end_ns)
			t->end_ns = t->nodes[i].end_ns;
	}
	if (!t->nnodes)
		t->start_ns = t->end_ns = 0;
	t->linked = true;
}

static void keep_span(struct span *s, void *ctx)
{
	traces_add(ctx, s);
}

int traces_read(struct trace_set *set, char **files, int nfiles, bool strict)
{
	return traces_each_span(files, nfiles, strict, keep_span, set);
}

int traces_each_span(char **files, int nfiles, bool strict, span_fn *fn, void *ctx)
{
	static char *stdin_only[] = { (char *)"-" };
	if (nfiles == 0) {
		files = stdin_only;
		nfiles = 1;
	}
	int rc = 0;
	for (int i = 0; i < nfiles; i++) {
		if (span_read_file(files[i], strict, fn, ctx) < 0) {
			rc = -1;
			if (strict)
				break;
		}
	}
	return rc;
}

char *trace_hex(const uint8_t *id, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[id[i] >> 4];
		out[2 * i + 1] = digits[id[i] & 15];
	}
	out[2 * n] = '\0';
	return out;
}

int trace_parse_id(const char *hex, uint8_t out[16])
{
	return span_hex_id(hex, out, 16);
}

double trace_ms(int64_t ns)
{
	return (double)ns / 1e6;
}

void trace_rec_begin(struct jw *w, const char *type)
{
	rec_begin_ctx(w, type, ts_now_ns(), NULL);
}

int traces_status(int rc)
{
	int s = jsonl_exit_status(EXIT_OK);
	if (rc < 0 && s == EXIT_OK)
		s = EXIT_SYSTEM;
	return s;
}
