/*
 * jschema.h: a JSON Schema subset, loaded strictly and applied to records.
 *
 * ofs-replay checks records against JSON Schemas (`schema check`) and
 * decides whether two schemas are compatible (`schema compat`). Both need
 * to know exactly which keywords a schema uses, so the loader accepts the
 * subset below and refuses everything else, naming the JSON pointer of the
 * keyword it does not support: a schema is never half applied.
 *
 * Supported: boolean schemas; type (a name or an array of names, with
 * "integer" meaning a number with no fraction); properties, required,
 * additionalProperties (boolean or schema); enum, const; minimum, maximum,
 * exclusiveMinimum, exclusiveMaximum (numbers, the draft 6+ form);
 * minLength, maxLength (in Unicode code points); pattern (a POSIX
 * extended regular expression compiled with regcomp(3), unanchored, not
 * ECMA 262); items (one schema); minItems, maxItems; $ref to
 * "#/definitions/NAME" or "#/$defs/NAME" (and "#" itself), with the
 * definitions they point into. Annotations are accepted and have no
 * effect: $schema, $id, id, $comment, title, description, default,
 * examples, deprecated, readOnly, writeOnly.
 */
#ifndef OFS_JSCHEMA_H
#define OFS_JSCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

#include "strbuf.h"

/* How deep $ref chains and nested schemas are followed at most. */
#define JSCHEMA_MAX_DEPTH 128

struct jschema;

/*
 * jschema_load: parse len bytes of text (strict JSON, see config.h) named
 * name in messages and check it against the subset. Returns the schema
 * (free with jschema_free), or NULL with one line per problem appended to
 * err: "NAME:LINE:COL: invalid JSON: ..." or "NAME: /pointer: message".
 */
struct jschema *jschema_load(const char *name, const char *text, size_t len,
			     struct strbuf *err);

/*
 * jschema_from_json: the same for an already parsed tree, which the
 * schema takes over (it is freed by jschema_free, or here on failure).
 */
struct jschema *jschema_from_json(const char *name, cJSON *root, struct strbuf *err);

void jschema_free(struct jschema *s);

/* jschema_root: the schema document (owned by s). */
const cJSON *jschema_root(const struct jschema *s);

/*
 * jschema_resolve: follow $ref from node (a subschema of s) until a
 * schema without $ref; NULL if a chain is longer than JSCHEMA_MAX_DEPTH
 * (a cycle). The loader has checked every target exists.
 */
const cJSON *jschema_resolve(const struct jschema *s, const cJSON *node);

/*
 * One violation: the instance's pointer ("" is the whole record), the
 * schema pointer of the keyword that failed, the keyword, and a message.
 * The strings are valid only during the callback.
 */
struct jschema_error {
	const char *instance;
	const char *schema;
	const char *keyword;
	const char *message;
};
typedef void jschema_error_fn(const struct jschema_error *e, void *user);

/*
 * jschema_validate: check inst against s, calling fn (may be NULL) for
 * each violation, in document order. Returns the number of violations.
 * Never fails otherwise; a $ref cycle that does not consume the instance
 * is a violation at the pointer where the depth ran out.
 */
size_t jschema_validate(const struct jschema *s, const cJSON *inst, jschema_error_fn *fn,
			void *user);

/* jschema_utf8_len: the number of code points in s (invalid bytes count once). */
size_t jschema_utf8_len(const char *s, size_t len);

#endif
