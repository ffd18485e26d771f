/*
 * test_graph.c: unit tests for graph.c. Graphs are written as a string of
 * space-separated items, "from>to" for an edge (read: from depends on
 * to) and a bare name for a node, added in order.
 */
#include "common.h"

#include "graph.h"
#include "strbuf.h"
#include "tap.h"

static struct graph *build(const char *spec)
{
	struct graph *g = graph_new();
	char *copy = xstrdup(spec), *save = NULL;
	for (char *tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		char *gt = strchr(tok, '>');
		if (gt) {
			*gt = '\0';
			graph_add_edge(g, tok, gt + 1, NULL, 1);
		} else {
			graph_add_node(g, tok);
		}
	}
	free(copy);
	return g;
}

/* "a b c" for an order, or the error text. */
static void order_text(const struct graph *g, bool reverse, struct strbuf *out)
{
	size_t *order = xmalloc((g->nnodes ? g->nnodes : 1) * sizeof(*order));
	struct strbuf err = SB_INIT;
	int r = reverse ? graph_reverse_topo(g, order, &err) : graph_topo_order(g, order, &err);
	if (r < 0) {
		sb_addstr(out, err.buf);
	} else {
		for (size_t i = 0; i < g->nnodes; i++)
			sb_addf(out, "%s%s", i ? " " : "", g->nodes[order[i]].name);
	}
	sb_release(&err);
	free(order);
}

#define SHOP                                                                           \
	"frontend>orders frontend>catalog orders>payments orders>inventory payments>db " \
	"inventory>db catalog>db"

static const struct {
	const char *name, *spec, *topo, *reverse;
} order_cases[] = {
	{ "empty graph", "", "", "" },
	{ "isolated nodes keep insertion order", "c a b", "c a b", "c a b" },
	{ "a chain", "a>b b>c", "a b c", "c b a" },
	{ "the shop", SHOP, "frontend orders catalog payments inventory db",
	  "db catalog payments inventory orders frontend" },
	{ "ties go by insertion order, not by name", "z>m y>m x", "z y m x", "m z y x" },
	{ "duplicate edges count once", "a>b a>b b>c a>b", "a b c", "c b a" },
	{ "two-node cycle", "orders>payments payments>orders",
	  "dependency cycle: orders -> payments -> orders",
	  "dependency cycle: orders -> payments -> orders" },
	{ "self-loop", "a a>a", "dependency cycle: a -> a", "dependency cycle: a -> a" },
	{ "cycle downstream of an acyclic part",
	  "x>orders orders>payments payments>shipping shipping>orders",
	  "dependency cycle: orders -> payments -> shipping -> orders",
	  "dependency cycle: orders -> payments -> shipping -> orders" },
	{ "cycle upstream of an acyclic part",
	  "orders>payments payments>shipping shipping>orders shipping>db",
	  "dependency cycle: orders -> payments -> shipping -> orders",
	  "dependency cycle: orders -> payments -> shipping -> orders" },
	{ "the shortest cycle is named", "a>b b>c c>d d>a c>a", "dependency cycle: a -> b -> c -> a",
	  "dependency cycle: a -> b -> c -> a" },
	{ "the cycle is written from its earliest node", "p q>r r>p p>q",
	  "dependency cycle: p -> q -> r -> p", "dependency cycle: p -> q -> r -> p" },
	{ "of two cycles, the one with the earliest node", "d>e e>d a>b b>c c>b",
	  "dependency cycle: d -> e -> d", "dependency cycle: d -> e -> d" },
};

static void test_orders(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(order_cases); i++) {
		struct graph *g = build(order_cases[i].spec);
		struct strbuf sb = SB_INIT;
		char name[160];
		order_text(g, false, &sb);
		snprintf(name, sizeof(name), "topo: %s", order_cases[i].name);
		is_str(sb.buf, order_cases[i].topo, name);
		sb_reset(&sb);
		order_text(g, true, &sb);
		snprintf(name, sizeof(name), "reverse topo: %s", order_cases[i].name);
		is_str(sb.buf, order_cases[i].reverse, name);
		sb_release(&sb);
		graph_free(g, NULL);
	}

	/* A failing order with no error buffer still fails. */
	struct graph *g = build("a>b b>a");
	size_t order[2];
	is_int(graph_topo_order(g, order, NULL), -1, "a cycle fails without an error buffer");
	graph_free(g, NULL);

	/* A long chain, added from the end, in one pass (no recursion). */
	g = graph_new();
	char a[32], b[32];
	for (int i = 20000; i > 0; i--) {
		snprintf(a, sizeof(a), "s%d", i - 1);
		snprintf(b, sizeof(b), "s%d", i);
		graph_add_edge(g, a, b, NULL, 0);
	}
	size_t *big = xmalloc(g->nnodes * sizeof(*big));
	int sorted = graph_topo_order(g, big, NULL) == 0;
	for (size_t i = 0; sorted && i < g->nnodes; i++) {
		snprintf(a, sizeof(a), "s%zu", i);
		sorted = strcmp(g->nodes[big[i]].name, a) == 0;
	}
	ok(sorted, "a 20000-node chain sorts");
	graph_add_edge(g, "s20000", "s0", NULL, 0);
	struct strbuf err = SB_INIT;
	is_int(graph_topo_order(g, big, &err), -1, "closing the chain makes a cycle");
	ok(err.len > 20000 * 3 && strncmp(err.buf, "dependency cycle: s19999 -> s20000 -> s0 -> s1 ->", 49) == 0,
	   "and the whole 20001-node cycle is named from its earliest node");
	sb_release(&err);
	free(big);
	graph_free(g, NULL);
}

static int freed;
static void count_free(void *p)
{
	freed++;
	free(p);
}

static void test_building(void)
{
	struct graph *g = graph_new();
	is_int((long long)graph_add_node(g, "orders"), 0, "the first node is 0");
	is_int((long long)graph_add_node(g, "payments"), 1, "the second node is 1");
	is_int((long long)graph_add_node(g, "orders"), 0, "naming a node again finds it");
	is_int((long long)graph_find(g, "payments"), 1, "find by name");
	is_int((long long)graph_find(g, "nope"), -1, "find of an unknown name is -1");

	struct graph_edge *e = graph_add_edge(g, "orders", "payments", NULL, 2.5);
	ok(e && e->from == 0 && e->to == 1 && e->count == 1 && !e->label, "a new edge");
	e = graph_add_edge(g, "orders", "payments", "calls", 1);
	ok(e->count == 2 && e->weight == 3.5 && e->label && strcmp(e->label, "calls") == 0,
	   "a duplicate edge merges: count 2, weights summed, the label filled in");
	e = graph_add_edge(g, "orders", "payments", "other", 0);
	is_str(e->label, "calls", "the first label is kept");
	is_int((long long)g->nedges, 1, "still one edge");
	e = graph_add_edge(g, "payments", "orders", NULL, 0);
	is_int((long long)g->nedges, 2, "the opposite direction is another edge");
	ok(graph_find_edge(g, 0, 1) == &g->edges[0] && graph_find_edge(g, 1, 0) == &g->edges[1],
	   "find_edge by node indexes");
	ok(graph_find_edge(g, 1, 1) == NULL, "find_edge of an absent edge is NULL");
	e = graph_add_edge(g, "new", "orders", NULL, 0);
	is_int((long long)graph_find(g, "new"), 2, "add_edge adds unknown nodes");
	ok(g->nodes[0].nin == 2 && g->nodes[0].nout == 1, "in and out lists are kept");

	g->nodes[0].data = xstrdup("node data");
	e->data = xstrdup("edge data");
	freed = 0;
	graph_free(g, count_free);
	is_int(freed, 2, "graph_free frees node and edge data through the callback");
	graph_free(NULL, NULL);
}

static void test_reachability(void)
{
	struct graph *g = build(SHOP " orders>orders-cache orders-cache>orders lonely");
	size_t out[16];
	static const struct {
		const char *node;
		bool dependents;
		const char *want;
	} cases[] = {
		{ "db", true, "frontend orders catalog payments inventory orders-cache" },
		{ "payments", true, "frontend orders orders-cache" },
		{ "frontend", true, "" },
		{ "orders", false, "payments inventory db orders-cache" },
		{ "frontend", false, "orders catalog payments inventory db orders-cache" },
		{ "orders", true, "frontend orders-cache" },
		{ "db", false, "" },
		{ "lonely", true, "" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t node = (size_t)graph_find(g, cases[i].node);
		size_t n = cases[i].dependents ? graph_dependents_of(g, node, out)
					       : graph_dependencies_of(g, node, out);
		struct strbuf sb = SB_INIT;
		for (size_t k = 0; k < n; k++)
			sb_addf(&sb, "%s%s", k ? " " : "", g->nodes[out[k]].name);
		char name[96];
		snprintf(name, sizeof(name), "%s of %s", cases[i].dependents ? "dependents" : "dependencies",
			 cases[i].node);
		is_str(sb.buf, cases[i].want, name);
		sb_release(&sb);
	}
	graph_free(g, NULL);
}

static void test_output(void)
{
	struct graph *g = graph_new();
	graph_add_edge(g, "order service", "payments-v2", "calls", 1);
	graph_add_edge(g, "say \"hi\"", "back\\slash", NULL, 0);
	graph_add_edge(g, "café ☕", "order service", "#1 <fast> & a|b", 0);
	graph_add_node(g, "two\nlines");
	graph_add_edge(g, "payments-v2", "say \"hi\"", "`x` \"q\"", 0);

	struct strbuf sb = SB_INIT;
	graph_to_dot(g, &sb);
	is_str(sb.buf,
	       "digraph {\n"
	       "  \"order service\";\n"
	       "  \"payments-v2\";\n"
	       "  \"say \\\"hi\\\"\";\n"
	       "  \"back\\\\slash\";\n"
	       "  \"café ☕\";\n"
	       "  \"two\\nlines\";\n"
	       "  \"order service\" -> \"payments-v2\" [label=\"calls\"];\n"
	       "  \"say \\\"hi\\\"\" -> \"back\\\\slash\";\n"
	       "  \"café ☕\" -> \"order service\" [label=\"#1 <fast> & a|b\"];\n"
	       "  \"payments-v2\" -> \"say \\\"hi\\\"\" [label=\"`x` \\\"q\\\"\"];\n"
	       "}\n",
	       "DOT output quotes names and labels");

	sb_reset(&sb);
	graph_to_mermaid(g, &sb);
	is_str(sb.buf,
	       "flowchart LR\n"
	       "  n0[\"order service\"]\n"
	       "  n1[\"payments-v2\"]\n"
	       "  n2[\"say #quot;hi#quot;\"]\n"
	       "  n3[\"back\\slash\"]\n"
	       "  n4[\"café ☕\"]\n"
	       "  n5[\"two<br>lines\"]\n"
	       "  n0 -->|\"calls\"| n1\n"
	       "  n2 --> n3\n"
	       "  n4 -->|\"#35;1 #lt;fast#gt; #amp; a#124;b\"| n0\n"
	       "  n1 -->|\"#96;x#96; #quot;q#quot;\"| n2\n",
	       "Mermaid output uses ids and escaped quoted labels");

	sb_reset(&sb);
	struct graph *empty = graph_new();
	graph_to_dot(empty, &sb);
	graph_to_mermaid(empty, &sb);
	is_str(sb.buf, "digraph {\n}\nflowchart LR\n", "an empty graph");
	graph_free(empty, NULL);
	sb_release(&sb);
	graph_free(g, NULL);
}

int main(void)
{
	test_orders();
	test_building();
	test_reachability();
	test_output();
	return tap_done();
}
