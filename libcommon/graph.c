/*
 * graph.c: named directed graphs, deterministic topological orders with
 * named cycles, reachability, and DOT and Mermaid output (see graph.h).
 *
 * Names map to node indexes through a hash table, and (from, to) pairs to
 * edge indexes through a second one keyed by the two indexes as bytes, so
 * adding a duplicate edge costs one lookup. Kahn's algorithm takes the
 * ready node with the smallest index from a binary heap, which makes the
 * order depend only on the order in which the graph was built.
 */
#include "common.h"

#include "graph.h"
#include "hash.h"
#include "strbuf.h"

struct graph *graph_new(void)
{
	struct graph *g = xcalloc(1, sizeof(*g));
	g->names = ht_new();
	g->pairs = ht_new();
	return g;
}

void graph_free(struct graph *g, void (*free_data)(void *))
{
	if (!g)
		return;
	for (size_t i = 0; i < g->nnodes; i++) {
		struct graph_node *n = &g->nodes[i];
		if (free_data && n->data)
			free_data(n->data);
		free(n->name);
		free(n->out);
		free(n->in);
	}
	for (size_t i = 0; i < g->nedges; i++) {
		if (free_data && g->edges[i].data)
			free_data(g->edges[i].data);
		free(g->edges[i].label);
	}
	free(g->nodes);
	free(g->edges);
	ht_free(g->names, NULL);
	ht_free(g->pairs, NULL);
	free(g);
}

ssize_t graph_find(const struct graph *g, const char *name)
{
	uintptr_t v = (uintptr_t)ht_get(g->names, name);
	return v ? (ssize_t)(v - 1) : -1;
}

size_t graph_add_node(struct graph *g, const char *name)
{
	ssize_t found = graph_find(g, name);
	if (found >= 0)
		return (size_t)found;
	ALLOC_GROW(g->nodes, g->nnodes + 1, g->anodes);
	struct graph_node *n = &g->nodes[g->nnodes];
	memset(n, 0, sizeof(*n));
	n->name = xstrdup(name);
	ht_put(g->names, name, (void *)(uintptr_t)(g->nnodes + 1));
	return g->nnodes++;
}

struct graph_edge *graph_find_edge(const struct graph *g, size_t from, size_t to)
{
	size_t key[2] = { from, to };
	uintptr_t v = (uintptr_t)ht_get_b(g->pairs, key, sizeof(key));
	return v ? &g->edges[v - 1] : NULL;
}

struct graph_edge *graph_add_edge_idx(struct graph *g, size_t from, size_t to,
				      const char *label, double weight)
{
	if (from >= g->nnodes || to >= g->nnodes)
		die("graph_add_edge_idx: node index out of range");
	struct graph_edge *e = graph_find_edge(g, from, to);
	if (e) {
		e->count++;
		e->weight += weight;
		if (!e->label && label)
			e->label = xstrdup(label);
		return e;
	}
	ALLOC_GROW(g->edges, g->nedges + 1, g->aedges);
	e = &g->edges[g->nedges];
	memset(e, 0, sizeof(*e));
	e->from = from;
	e->to = to;
	e->label = label ? xstrdup(label) : NULL;
	e->weight = weight;
	e->count = 1;
	size_t key[2] = { from, to };
	ht_put_b(g->pairs, key, sizeof(key), (void *)(uintptr_t)(g->nedges + 1));

	struct graph_node *f = &g->nodes[from];
	ALLOC_GROW(f->out, f->nout + 1, f->aout);
	f->out[f->nout++] = g->nedges;
	struct graph_node *t = &g->nodes[to];
	ALLOC_GROW(t->in, t->nin + 1, t->ain);
	t->in[t->nin++] = g->nedges;
	g->nedges++;
	return e;
}

struct graph_edge *graph_add_edge(struct graph *g, const char *from, const char *to,
				  const char *label, double weight)
{
	size_t f = graph_add_node(g, from);
	size_t t = graph_add_node(g, to);
	return graph_add_edge_idx(g, f, t, label, weight);
}

/* ---- topological order ------------------------------------------------ */

/* A min-heap of node indexes. */
struct heap {
	size_t *v;
	size_t n;
};

static void heap_push(struct heap *h, size_t x)
{
	size_t i = h->n++;
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (h->v[p] <= x)
			break;
		h->v[i] = h->v[p];
		i = p;
	}
	h->v[i] = x;
}

static size_t heap_pop(struct heap *h)
{
	size_t top = h->v[0], x = h->v[--h->n], i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= h->n)
			break;
		if (c + 1 < h->n && h->v[c + 1] < h->v[c])
			c++;
		if (x <= h->v[c])
			break;
		h->v[i] = h->v[c];
		i = c;
	}
	if (h->n)
		h->v[i] = x;
	return top;
}

/* The edges along which the walk goes (forward: out, else in), and the
 * node at their far end. */
static const size_t *step_edges(const struct graph_node *n, bool forward, size_t *count)
{
	*count = forward ? n->nout : n->nin;
	return forward ? n->out : n->in;
}

static size_t far_end(const struct graph *g, size_t e, bool forward)
{
	return forward ? g->edges[e].to : g->edges[e].from;
}

/*
 * Name a cycle among the nodes Kahn could not place (done[i] == 0). Each
 * of them has an unplaced node behind it (against the walk direction),
 * so walking backwards from the first one must repeat a node, which lies
 * on a cycle. A breadth-first search along the edges from that node
 * finds a shortest way back to it.
 */
static void describe_cycle(const struct graph *g, const unsigned char *done, bool forward,
			   struct strbuf *err)
{
	size_t n = g->nnodes, start = 0;
	while (start < n && done[start])
		start++;
	if (start == n)
		return;

	/* Walk backwards, against the walk direction, until a repeat. */
	unsigned char *seen = xcalloc(n, 1);
	size_t x = start;
	while (!seen[x]) {
		seen[x] = 1;
		size_t cnt;
		const size_t *es = step_edges(&g->nodes[x], !forward, &cnt);
		size_t next = x;
		for (size_t i = 0; i < cnt; i++) {
			size_t y = far_end(g, es[i], !forward);
			if (!done[y]) {
				next = y;
				break;
			}
		}
		x = next;
	}

	/* Shortest cycle through x, following real edge direction. */
	size_t *prev = xmalloc(n * sizeof(*prev));
	size_t *queue = xmalloc(n * sizeof(*queue));
	memset(seen, 0, n);
	size_t qh = 0, qt = 0, last = SIZE_MAX;
	queue[qt++] = x;
	seen[x] = 1;
	while (qh < qt && last == SIZE_MAX) {
		size_t u = queue[qh++];
		const struct graph_node *nu = &g->nodes[u];
		for (size_t i = 0; i < nu->nout; i++) {
			size_t v = g->edges[nu->out[i]].to;
			if (done[v])
				continue;
			if (v == x) {
				last = u;
				break;
			}
			if (!seen[v]) {
				seen[v] = 1;
				prev[v] = u;
				queue[qt++] = v;
			}
		}
	}

	sb_addstr(err, "dependency cycle: ");
	if (last == SIZE_MAX) { /* cannot happen: x lies on a cycle */
		sb_addstr(err, g->nodes[x].name);
		goto out;
	}
	/* The path x .. last, then back to x; start at its earliest node. */
	size_t len = 0;
	for (size_t v = last; ; v = prev[v]) {
		queue[len++] = v; /* reversed: last .. x */
		if (v == x)
			break;
	}
	size_t low = 0;
	for (size_t i = 1; i < len; i++)
		if (queue[i] < queue[low])
			low = i;
	for (size_t k = 0; k <= len; k++) {
		/* Forward order is queue[len-1], ..., queue[0]. */
		size_t i = (low + len - k % len) % len;
		if (k)
			sb_addstr(err, " -> ");
		sb_addstr(err, g->nodes[queue[i]].name);
	}
out:
	free(seen);
	free(prev);
	free(queue);
}

static int kahn(const struct graph *g, size_t *order, struct strbuf *err, bool forward)
{
	size_t n = g->nnodes;
	size_t *indeg = xcalloc(n, sizeof(*indeg));
	unsigned char *done = xcalloc(n, 1);
	struct heap h = { xmalloc((n ? n : 1) * sizeof(size_t)), 0 };
	for (size_t i = 0; i < g->nedges; i++)
		indeg[far_end(g, i, forward)]++;
	for (size_t i = 0; i < n; i++)
		if (!indeg[i])
			heap_push(&h, i);
	size_t placed = 0;
	while (h.n) {
		size_t u = heap_pop(&h);
		done[u] = 1;
		order[placed++] = u;
		size_t cnt;
		const size_t *es = step_edges(&g->nodes[u], forward, &cnt);
		for (size_t i = 0; i < cnt; i++) {
			size_t v = far_end(g, es[i], forward);
			if (!--indeg[v])
				heap_push(&h, v);
		}
	}
	int r = 0;
	if (placed < n) {
		r = -1;
		if (err)
			describe_cycle(g, done, forward, err);
	}
	free(indeg);
	free(done);
	free(h.v);
	return r;
}

int graph_topo_order(const struct graph *g, size_t *order, struct strbuf *err)
{
	return kahn(g, order, err, true);
}

int graph_reverse_topo(const struct graph *g, size_t *order, struct strbuf *err)
{
	return kahn(g, order, err, false);
}

/* ---- reachability ----------------------------------------------------- */

static size_t reach(const struct graph *g, size_t node, size_t *out, bool forward)
{
	size_t n = g->nnodes;
	if (node >= n)
		return 0;
	unsigned char *seen = xcalloc(n, 1);
	size_t *stack = xmalloc(n * sizeof(*stack));
	size_t sp = 0;
	stack[sp++] = node;
	seen[node] = 1;
	while (sp) {
		size_t u = stack[--sp], cnt;
		const size_t *es = step_edges(&g->nodes[u], forward, &cnt);
		for (size_t i = 0; i < cnt; i++) {
			size_t v = far_end(g, es[i], forward);
			if (!seen[v]) {
				seen[v] = 1;
				stack[sp++] = v;
			}
		}
	}
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (seen[i] && i != node)
			out[k++] = i;
	free(seen);
	free(stack);
	return k;
}

size_t graph_dependents_of(const struct graph *g, size_t node, size_t *out)
{
	return reach(g, node, out, false);
}

size_t graph_dependencies_of(const struct graph *g, size_t node, size_t *out)
{
	return reach(g, node, out, true);
}

/* ---- output ----------------------------------------------------------- */

static void dot_quote(struct strbuf *out, const char *s)
{
	sb_addch(out, '"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\') {
			sb_addch(out, '\\');
			sb_addch(out, *s);
		} else if (*s == '\n') {
			sb_addstr(out, "\\n");
		} else {
			sb_addch(out, *s);
		}
	}
	sb_addch(out, '"');
}

void graph_to_dot(const struct graph *g, struct strbuf *out)
{
	sb_addstr(out, "digraph {\n");
	for (size_t i = 0; i < g->nnodes; i++) {
		sb_addstr(out, "  ");
		dot_quote(out, g->nodes[i].name);
		sb_addstr(out, ";\n");
	}
	for (size_t i = 0; i < g->nedges; i++) {
		const struct graph_edge *e = &g->edges[i];
		sb_addstr(out, "  ");
		dot_quote(out, g->nodes[e->from].name);
		sb_addstr(out, " -> ");
		dot_quote(out, g->nodes[e->to].name);
		if (e->label) {
			sb_addstr(out, " [label=");
			dot_quote(out, e->label);
			sb_addch(out, ']');
		}
		sb_addstr(out, ";\n");
	}
	sb_addstr(out, "}\n");
}

static void mermaid_quote(struct strbuf *out, const char *s)
{
	sb_addch(out, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		switch (c) {
		case '"': sb_addstr(out, "#quot;"); break;
		case '#': sb_addstr(out, "#35;"); break;
		case '&': sb_addstr(out, "#amp;"); break;
		case '<': sb_addstr(out, "#lt;"); break;
		case '>': sb_addstr(out, "#gt;"); break;
		case '|': sb_addstr(out, "#124;"); break;
		case '`': sb_addstr(out, "#96;"); break;
		case '\n': sb_addstr(out, "<br>"); break;
		default: sb_addch(out, c < 0x20 || c == 0x7f ? ' ' : c); break;
		}
	}
	sb_addch(out, '"');
}

void graph_to_mermaid(const struct graph *g, struct strbuf *out)
{
	sb_addstr(out, "flowchart LR\n");
	for (size_t i = 0; i < g->nnodes; i++) {
		sb_addf(out, "  n%zu[", i);
		mermaid_quote(out, g->nodes[i].name);
		sb_addstr(out, "]\n");
	}
	for (size_t i = 0; i < g->nedges; i++) {
		const struct graph_edge *e = &g->edges[i];
		sb_addf(out, "  n%zu -->", e->from);
		if (e->label) {
			sb_addch(out, '|');
			mermaid_quote(out, e->label);
			sb_addch(out, '|');
		}
		sb_addf(out, " n%zu\n", e->to);
	}
}
