/*
 * vscan.h: a one-pass JSON validator that also finds the values at a
 * few JSON pointers, without building a tree.
 *
 * ofs-replay verify reads two large record sets and needs, for every
 * line, only to know that it is one valid JSON object and what its key
 * is; ofs-split route needs the same to place a record in its variant. A
 * cJSON parse of every line (allocation per node) would cost most of the
 * run.
 * vscan_line checks the RFC 8259 grammar (strings with valid escapes and
 * UTF-8, no control characters, numbers without leading zeros, literals,
 * nesting at most VSCAN_MAX_DEPTH) and records where the values at up to
 * VSCAN_MAX_PTRS pointers begin and end. Nothing is allocated.
 */
#ifndef OFS_VSCAN_H
#define OFS_VSCAN_H

#include <stdbool.h>
#include <stddef.h>

#include "strbuf.h"

#define VSCAN_MAX_PTRS 8
#define VSCAN_MAX_DEPTH 512

/* A parsed JSON pointer: its reference tokens, unescaped (~1 is /, ~0 ~). */
struct vptr {
	char *text;   /* as given, "/id" */
	char **segs;  /* owned */
	size_t *lens;
	size_t n;
};

/*
 * vptr_parse: parse text ("" is the whole document, else "/a/b"). Returns
 * 0, or -1 with a reason appended to err. vptr_free releases segs.
 */
int vptr_parse(struct vptr *p, const char *text, struct strbuf *err);
void vptr_free(struct vptr *p);
/*
 * vptr_index: if token i of p (i < p->n) is an array index (decimal, no
 * leading zero, at most 9 digits so that it fits an int), set *idx to it
 * and return true; else false.
 */
bool vptr_index(const struct vptr *p, size_t i, size_t *idx);

/* Where one pointer's value lies in the line: p NULL when absent. kind is
 * the value's first byte class: 's' string (span includes the quotes),
 * 'n' number, 'o' object, 'a' array, 't' true, 'f' false, 'z' null. */
struct vspan {
	const char *p;
	size_t len;
	char kind;
};

/*
 * vscan_line: validate s (len bytes) as exactly one JSON object with
 * optional blanks around it, filling spans[i] for ptrs[i] (nptrs at most
 * VSCAN_MAX_PTRS). Returns 0, or -1 with a reason for "FILE:LINE: reason"
 * in why (at most whyn bytes): "invalid JSON at column 7 near 'x'",
 * "invalid JSON: unexpected end of line at column 12", "not a JSON
 * object", "invalid UTF-8 at column 3", "nesting deeper than 512".
 */
int vscan_line(const char *s, size_t len, const struct vptr *ptrs, size_t nptrs,
	       struct vspan *spans, char *why, size_t whyn);

/*
 * vscan_unescape: append the text of the JSON string literal at s (len
 * bytes including the quotes, already validated) to out, escapes decoded
 * (\uXXXX and surrogate pairs to UTF-8).
 */
void vscan_unescape(const char *s, size_t len, struct strbuf *out);

#endif
