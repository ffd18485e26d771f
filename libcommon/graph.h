/*
 * graph.h: directed graphs of named nodes, for service dependencies,
 * saga step ordering and trace-derived call graphs.
 *
 * An edge from -> to reads "from depends on to" (from calls to). Nodes
 * are numbered 0, 1, ... in the order they were first named, and every
 * answer that has to choose between equals (topological ties, node and
 * edge listings) chooses by that order, so output is deterministic.
 * Adding an edge that exists already merges it into the existing one.
 *
 * The structs are visible for reading (iterate nodes[0..nnodes), a
 * node's out[] and in[] edge indexes); change them only through these
 * functions. The graph owns the name and label copies; node and edge
 * data pointers belong to the caller.
 */
#ifndef OFS_GRAPH_H
#define OFS_GRAPH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct strbuf;
struct ht;

struct graph_edge {
	size_t from, to; /* node indexes */
	char *label;     /* NULL for none; the first label given is kept */
	double weight;   /* the sum of the weights given for this edge */
	uint64_t count;  /* how many times the edge was added */
	void *data;      /* the caller's */
};

struct graph_node {
	char *name;
	void *data;            /* the caller's */
	size_t *out, nout, aout; /* edges leaving (this node depends on), by edge index */
	size_t *in, nin, ain;    /* edges arriving (depending on this node) */
};

struct graph {
	struct graph_node *nodes;
	size_t nnodes, anodes;
	struct graph_edge *edges; /* in insertion order */
	size_t nedges, aedges;
	struct ht *names; /* name -> node index + 1 */
	struct ht *pairs; /* (from, to) -> edge index + 1 */
};

/* graph_new: an empty graph; free with graph_free. */
struct graph *graph_new(void);

/* graph_free: free the graph, its names and labels. If free_data is not
 * NULL it is called on every non-NULL node and edge data pointer.
 * g may be NULL. */
void graph_free(struct graph *g, void (*free_data)(void *));

/* graph_add_node: the index of the node called name, adding it (with a
 * copy of name) if it is new. */
size_t graph_add_node(struct graph *g, const char *name);

/* graph_find: the index of the node called name, or -1. */
ssize_t graph_find(const struct graph *g, const char *name);

/* graph_add_edge: add from -> to, adding the nodes if new. A new edge
 * gets count 1, the weight, and a copy of label (may be NULL); an
 * existing one gets count + 1, weight added, and the label if it had
 * none. Returns the edge, valid until the next graph_add_edge, so the
 * caller can update its data. Self-edges are allowed (a cycle). */
struct graph_edge *graph_add_edge(struct graph *g, const char *from, const char *to,
				  const char *label, double weight);

/* graph_add_edge_idx: the same with node indexes (< nnodes). */
struct graph_edge *graph_add_edge_idx(struct graph *g, size_t from, size_t to,
				      const char *label, double weight);

/* graph_find_edge: the edge from -> to (node indexes), or NULL. */
struct graph_edge *graph_find_edge(const struct graph *g, size_t from, size_t to);

/*
 * graph_topo_order: fill order[0..nnodes) (the caller's array) with every
 * node so that for each edge from -> to, from comes first: dependents
 * before their dependencies (a shutdown order). Kahn's algorithm; among
 * nodes that are ready at the same time the earliest added goes first.
 * Returns 0, or -1 if the graph has a cycle: then err (if not NULL) gets
 * "dependency cycle: a -> b -> a", a shortest cycle through a node of
 * the first cycle found, written from its earliest-added node in the
 * direction of the edges, and order is unspecified.
 */
int graph_topo_order(const struct graph *g, size_t *order, struct strbuf *err);

/* graph_reverse_topo: the same with every edge reversed: dependencies
 * before the nodes that depend on them (the start-up and recovery
 * order), ties again by insertion order. Not simply the reverse of
 * graph_topo_order, whose ties fall the other way. Same errors. */
int graph_reverse_topo(const struct graph *g, size_t *order, struct strbuf *err);

/* graph_dependents_of: the nodes that depend on node directly or
 * transitively (those with a path to it), in insertion order, written to
 * out (room for nnodes); returns how many. node itself is never listed,
 * even when it lies on a cycle. */
size_t graph_dependents_of(const struct graph *g, size_t node, size_t *out);

/* graph_dependencies_of: the nodes node depends on, directly or
 * transitively (those it has a path to); as graph_dependents_of. */
size_t graph_dependencies_of(const struct graph *g, size_t node, size_t *out);

/*
 * graph_to_dot: append a Graphviz digraph to out: every node, then every
 * edge, in insertion order, with edge labels where present. Names are
 * double-quoted DOT ids (" and \ backslash-escaped, newline as \n), so
 * any name, including spaces, dashes and UTF-8, round-trips.
 */
void graph_to_dot(const struct graph *g, struct strbuf *out);

/*
 * graph_to_mermaid: append a Mermaid flowchart (left to right) to out.
 * Nodes get the ids n0, n1, ... with the name as a quoted label; edge
 * labels are quoted too. Inside labels " # & < > | and ` are written
 * as Mermaid entity codes (#quot; #35; #amp; #lt; #gt; #124; #96;), a
 * newline as <br> and other control characters as spaces.
 */
void graph_to_mermaid(const struct graph *g, struct strbuf *out);

#endif
