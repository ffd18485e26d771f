/*
 * prop.h: what the propagation commands (exec, span, log) share: where a
 * span or log record goes, appending it there in one write, and turning
 * a key=value argument into a JSON value. Defined in log.c.
 */
#ifndef OFS_TRACE_PROP_H
#define OFS_TRACE_PROP_H

#include <stddef.h>

#include <cJSON.h>

#include "jw.h"
#include "span.h"
#include "strbuf.h"

/* prop_dest: out if set, else $OFS_TRACE_FILE if set and not empty, else
 * NULL (nowhere). The string is not owned. */
const char *prop_dest(const char *out);

/*
 * prop_append: append len bytes (one or more whole lines) to path with a
 * single write(2) on an O_APPEND descriptor, creating the file (0666 less
 * the umask), so records of nested or concurrent writers never
 * interleave. Returns 0, or -1 with a message in err: cannot write 'x': ...
 */
int prop_append(const char *path, const char *data, size_t len, struct strbuf *err);

/* prop_is_json_scalar: s is exactly a JSON number, true, false or null. */
int prop_is_json_scalar(const char *s);

/* prop_put_value: write s as the JSON value it spells (prop_is_json_scalar)
 * or else as a string. */
void prop_put_value(struct jw *w, const char *s);

/* prop_value_json: the same as a new cJSON item (caller owns it). */
cJSON *prop_value_json(const char *s);

/*
 * prop_emit_span: write s as one native span record (and a newline) to
 * dest, or to stdout when dest is NULL. Returns 0, or -1 with a message
 * in err when the file cannot be written.
 */
int prop_emit_span(const struct span *s, const char *dest, struct strbuf *err);

/* prop_free_attrs: free the keys and values of attrs[0..n) and attrs. */
void prop_free_attrs(struct span_attr *attrs, size_t n);

#endif
