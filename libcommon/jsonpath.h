/*
 * jsonpath.h: a JSONPath subset over cJSON trees, for tolerances that
 * look inside a probe's output and for analysis gates that pick numbers
 * out of a response.
 *
 * Syntax (whitespace is allowed inside brackets and filters only):
 *   $                  the root; every path starts with it
 *   .name  ['name']    a member of an object ("name" in double quotes too;
 *                      quoted names take \\ \' \" \/ \b \f \n \r \t \uHHHH);
 *                      a dotted name is letters, digits, '_', '-' and
 *                      non-ASCII characters
 *   [N]                an array element, N < 0 counting from the end
 *   .*  [*]            every member of an object or element of an array
 *   ..name  ..*  ..[S] recursive descent: S applied to the node and to
 *                      every node below it, in document order
 *   [a,b,...]          a union of indexes, names, slices, '*' and filters
 *   [start:end:step]   a slice as in Python (each part optional; step not 0)
 *   [?(EXPR)] or [?EXPR]
 *                      the elements of an array (or members of an object)
 *                      for which EXPR holds. EXPR is TEST, EXPR && EXPR,
 *                      EXPR || EXPR (&& binds tighter), !TEST, or (EXPR);
 *                      TEST is @PATH (exists) or @PATH OP VALUE or
 *                      VALUE OP @PATH, where @PATH is '@' followed by
 *                      .name, ['name'] and [N] steps, OP one of == != < <=
 *                      > >=, and VALUE a JSON number, a quoted string,
 *                      true, false or null. == and != compare any JSON
 *                      values deeply (a number equals a number, never a
 *                      string); < <= > >= hold only between two numbers or
 *                      two strings (byte order). A @PATH that selects
 *                      nothing makes every comparison false.
 * Matches come in document order, duplicates kept ([0,0] matches twice).
 */
#ifndef OFS_JSONPATH_H
#define OFS_JSONPATH_H

#include <stddef.h>

#include <cJSON.h>

#include "strbuf.h"

/* Evaluation stops with an error past this many matches at any step, or
 * past JP_MAX_VISITS nodes visited: a path over a hostile document must
 * not take unbounded time or memory. */
#define JP_MAX_MATCHES 100000
#define JP_MAX_VISITS 10000000
/* Parentheses in filters nest at most this deep. */
#define JP_MAX_DEPTH 32

struct jp;

/* The nodes a path matched: pointers into the document evaluated. */
struct jp_matches {
	const cJSON **v;
	size_t n;
	size_t alloc;
};

/*
 * jp_compile: parse src. Returns the compiled path (free it with
 * jp_free) or NULL, appending to err (if not NULL) "column N: REASON"
 * where N is the 1-based column (in characters) of the problem, and
 * setting *col (if not NULL) to N. The caller adds what was being
 * parsed: "invalid JSONPath '$.a[': column 5: ...".
 */
struct jp *jp_compile(const char *src, struct strbuf *err, size_t *col);

/*
 * jp_eval: the nodes of doc that p selects, appended to m (initialise it
 * with zeros; release it with jp_matches_release). Returns 0, or -1 with
 * a reason in err (if not NULL) when a limit above is reached, in which
 * case nothing is appended. The matches point into doc: they live as
 * long as doc does. p is not changed, so one path may be evaluated over
 * many documents.
 */
int jp_eval(const struct jp *p, const cJSON *doc, struct jp_matches *m, struct strbuf *err);

/* jp_matches_release: free the list and leave it empty. */
void jp_matches_release(struct jp_matches *m);

/* jp_free: free a compiled path (NULL is harmless). */
void jp_free(struct jp *p);

#endif
