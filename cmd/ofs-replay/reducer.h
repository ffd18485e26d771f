/*
 * reducer.h: how events change an aggregate's state, for ofs-replay fold.
 *
 * An operation is one of set, merge (an RFC 7386 merge patch), increment,
 * append, delete and ignore, applied at a target path (a JSON pointer,
 * RFC 6901, into the state; "" or absent: the whole state) with an
 * operand taken from the event. It comes either from a reducer spec,
 * which maps event types to rules:
 *
 *   {"order.created": {"op": "set", "from": "/data"},
 *    "item.added": {"op": "append", "path": "/items", "from": "/item"},
 *    "order.paid": {"op": "increment", "path": "/paid", "from": "/amount"},
 *    "order.cancelled": {"op": "delete"}}
 *
 * or from the event itself: {"op": "merge", "path": "/x", "data": {...}}
 * (the operand is "data"; increment's defaults to 1).
 *
 * A spec is validated completely before any event is read; every problem
 * is reported as "FILE: /POINTER: message" (config.h).
 */
#ifndef OFS_REPLAY_REDUCER_H
#define OFS_REPLAY_REDUCER_H

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

#include "config.h"
#include "hash.h"
#include "strbuf.h"

enum red_op { RED_SET, RED_MERGE, RED_INCREMENT, RED_APPEND, RED_DELETE, RED_IGNORE };

/* A JSON pointer split into its unescaped tokens. */
struct red_path {
	char **tok;
	size_t n;
};

struct red_rule {
	enum red_op op;
	struct red_path path; /* target in the state; n == 0: the whole state */
	struct red_path from; /* operand in the event */
	bool has_from;
	double by;            /* increment's constant (when no from) */
};

struct reducer {
	struct ht *rules; /* event type -> struct red_rule * (owned) */
};

/* red_op_name: "set", "merge", ... */
const char *red_op_name(enum red_op op);

/*
 * red_path_parse: split the pointer s ("" or "/a/b~1c") into p (owned:
 * red_path_free). Returns 0, or -1 with a reason in err for a pointer
 * that does not start with '/' or holds a '~' not followed by 0 or 1.
 */
int red_path_parse(const char *s, struct red_path *p, struct strbuf *err);
void red_path_free(struct red_path *p);

/*
 * reducer_from_json: validate root as a reducer spec named file in
 * messages and fill r. Returns 0, or -1 with every problem appended to
 * err as "FILE: /POINTER: message\n" lines; r is then empty (freeing it
 * is still harmless). root stays the caller's.
 */
int reducer_from_json(const cJSON *root, const char *file, struct reducer *r, struct strbuf *err);
/* reducer_load: cfg_load(path) then reducer_from_json; syntax errors as
 * "FILE:LINE:COL: invalid JSON: ...", a missing file as "cannot open". */
int reducer_load(const char *path, struct reducer *r, struct strbuf *err);
void reducer_free(struct reducer *r);

/* reducer_find: the rule for event type (len bytes), or NULL. */
const struct red_rule *reducer_find(const struct reducer *r, const char *type, size_t len);

/*
 * red_rule_from_event: an operation carried by the event ("op", "path",
 * "data"), filled into rule (free with red_rule_release); the operand is
 * "/data". Returns 1, 0 when the event has no "op", -1 with a reason in
 * err when it is malformed.
 */
int red_rule_from_event(const cJSON *ev, struct red_rule *rule, struct strbuf *err);
void red_rule_release(struct red_rule *rule);

/*
 * red_apply: apply rule to *state (a tree owned by the caller, NULL for
 * an aggregate without state: it starts as {}) with the operand taken
 * from ev. The operand is moved out of ev (detached), so ev must not be
 * used for it again. *deleted is set for a delete of the whole
 * aggregate (the state is then freed and *state NULL). Returns 0, or -1
 * with a reason in err (state unchanged): "no operand at /item",
 * "/count is not a number", "/items is not an array", ...
 */
int red_apply(const struct red_rule *rule, cJSON **state, cJSON *ev, bool *deleted,
	      struct strbuf *err);

/* red_merge_patch: RFC 7386: target (may be NULL) patched by patch; both
 * are consumed and the result returned: target itself when both are
 * objects (members keep their places), else a new object or patch. */
cJSON *red_merge_patch(cJSON *target, cJSON *patch);

#endif
