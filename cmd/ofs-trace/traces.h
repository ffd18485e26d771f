/*
 * traces.h: spans assembled into traces, the shape every analysis
 * command of ofs-trace (tree, show, critical-path, deps, select --traces)
 * works on.
 *
 * Spans are grouped by trace id in the order their traces first appear
 * and linked to their parents by span id. Zipkin's shared ids (a client
 * and a server span carrying the same id) are told apart: the server
 * half gets its own node whose parent is the client half. A span whose
 * parent is not in the input is an orphan and becomes a root. Clock skew
 * is corrected the way Zipkin does it: a SERVER span that does not fit
 * inside its remote CLIENT parent has its whole subtree shifted so that
 * it sits in the middle of the client's interval; the shift is kept per
 * node so that callers can report it.
 */
#ifndef OFS_TRACE_TRACES_H
#define OFS_TRACE_TRACES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "span.h"

#define TRACE_NONE ((size_t)-1)

/* One span in its trace. Indexes refer to trace.nodes. */
struct tnode {
	struct span span;  /* owned copy */
	size_t parent;     /* TRACE_NONE for roots */
	size_t *kids;      /* by corrected start, then input order */
	size_t nkids, akids;
	bool orphan;       /* had a parent id that is not in the input */
	bool shared;       /* server half of a shared Zipkin id */
	int64_t shift_ns;  /* skew correction added to this node's times */
	int64_t start_ns;  /* corrected times */
	int64_t end_ns;
};

struct trace {
	uint8_t trace_id[16];
	struct tnode *nodes; /* in input order */
	size_t nnodes, anodes;
	size_t *roots;       /* by corrected start */
	size_t nroots, aroots;
	int64_t start_ns;    /* earliest corrected start */
	int64_t end_ns;      /* latest corrected end */
	bool linked;
};

struct trace_set {
	struct trace **traces; /* in order of first appearance */
	size_t ntraces, atraces;
	struct ht *by_id;      /* 16-byte trace id -> struct trace * */
	size_t max_traces;     /* 0: no limit */
	size_t dropped;        /* spans not kept because max_traces was reached */
};

/* traces_init: an empty set; max_traces 0 means no limit. */
void traces_init(struct trace_set *set, size_t max_traces);
/* traces_free: release every trace and span of the set. */
void traces_free(struct trace_set *set);
/* traces_add: keep a copy of s in its trace (s stays the caller's).
 * Returns the trace, or NULL when max_traces would be exceeded (counted
 * in set->dropped). Adding to a linked trace unlinks it. */
struct trace *traces_add(struct trace_set *set, const struct span *s);
/* traces_find: the trace with that id, or NULL. */
struct trace *traces_find(const struct trace_set *set, const uint8_t id[16]);
/* traces_link: build parents, children, roots, shared-id nodes and the
 * skew-corrected times of t. Idempotent; no errors. */
void traces_link(struct trace *t);

/*
 * traces_read: read every span of files[0..nfiles) (none: stdin) into
 * set. Bad lines are reported by the span reader and counted for
 * jsonl_exit_status. Returns 0, or -1 when strict reading stopped or a
 * file could not be read.
 */
int traces_read(struct trace_set *set, char **files, int nfiles, bool strict);

/* traces_each_span: call fn for every span of files[0..nfiles) (none:
 * stdin), streaming. Returns 0 or -1 as traces_read. */
int traces_each_span(char **files, int nfiles, bool strict, span_fn *fn, void *ctx);

/* trace_hex: lowercase hex of n id bytes into out (2n + 1 bytes); out. */
char *trace_hex(const uint8_t *id, size_t n, char *out);

/* trace_parse_id: a trace id given on the command line (32 hex digits,
 * or 16 for a Zipkin 64-bit id) into 16 bytes; 0 or -1. */
int trace_parse_id(const char *hex, uint8_t out[16]);

/* trace_ms: a nanosecond count as milliseconds, rounded to the
 * nanosecond so that the decimal text stays short. */
double trace_ms(int64_t ns);

/* trace_rec_begin: rec_begin for records about a trace: they carry
 * their own trace_id, so the process's own trace context is left out. */
struct jw;
void trace_rec_begin(struct jw *w, const char *type);

/* traces_status: a command's exit status after reading with result rc
 * (traces_read or traces_each_span): 3 after bad lines, 4 after read
 * errors or a file that could not be read, else 0. */
int traces_status(int rc);

#endif
