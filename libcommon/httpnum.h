/*
 * httpnum.h: one number out of an HTTP JSON answer, as metric sources
 * and analysis gates read them (a Prometheus query URL and a JSONPath).
 *
 * A 2xx body is JSON; the value is the first match of a JSONPath (or
 * the whole body without one): a number, or a string holding one, as
 * Prometheus answers ("0.05" in value[1]). No match, null, an empty
 * array or object, Prometheus' "NaN", or a blank body is "no data", not
 * an error: a query over no traffic answers so. Every result is one of
 * three: 1 with the value, 0 for no data, -1 with one line appended to
 * err that names what failed ("cannot get 'URL': connection refused",
 * "http 503 from 'URL'").
 */
#ifndef OFS_HTTPNUM_H
#define OFS_HTTPNUM_H

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

#include "jsonpath.h"
#include "strbuf.h"

/* hn_blank: whether the len bytes at s are only blanks (space, tab, CR, LF). */
bool hn_blank(const char *s, size_t len);

/*
 * hn_node: the JSON node n as a measurement. where names n in messages
 * ("the value at '$.x' in the response from 'URL'"). Returns 1 with *v
 * set, 0 for no data, -1 with the reason appended to err.
 */
int hn_node(const cJSON *n, const char *where, double *v, struct strbuf *err);

/*
 * hn_text: the measurement in text (len bytes, NUL-terminated at len)
 * that came from what ("the response from 'URL'"): the first match of
 * jp (compiled from path, which only names it in messages) or, when jp
 * is NULL, the whole text. Blank text is no data; text that is not JSON
 * or a value that is not finite is an error. Returns as hn_node.
 */
int hn_text(const char *text, size_t len, const struct jp *jp, const char *path,
	    const char *what, double *v, struct strbuf *err);

/*
 * hn_fetch: GET url (Accept: application/json) within timeout_ms (the
 * connect timeout too when shorter than the default), and put the body
 * into body (appended). Returns 0 for a 2xx answer of at most
 * HTTP_DEFAULT_MAX_BODY bytes, else -1 with the reason in err.
 */
int hn_fetch(const char *url, long timeout_ms, struct strbuf *body, struct strbuf *err);

/*
 * hn_get: hn_fetch, then hn_text over the body with what "the response
 * from 'URL'". Returns 1 with *v, 0 for no data, -1 with err.
 */
int hn_get(const char *url, const struct jp *jp, const char *path, long timeout_ms, double *v,
	   struct strbuf *err);

#endif
