/*
 * mask.h: masking rules for personal data in captured exchanges, applied
 * by `record` and `import` before a record is written.
 *
 * A rule is KIND:TARGET:
 *   header:NAME          remove header NAME (any case) from request and response
 *   hash-header:NAME     replace each value of header NAME by its hash
 *   json:SELECTOR        remove the JSON body fields selected
 *   hash-json:SELECTOR   replace the JSON body fields selected by their hash
 * SELECTOR is a JSON pointer (RFC 6901, "/customer/email", "/items/0/card")
 * or a JSONPath of jsonpath.h ("$..email", "$.items[*].card"). JSON rules
 * apply to request, response and replayed bodies that parse as JSON (a
 * body that does not, or was not valid UTF-8, is left as it is); a body
 * that a rule changed is written back compactly (cJSON's printing).
 *
 * The hash is "sha256:" followed by the lower-case hex SHA-256 of the salt
 * followed by the value: for a header, its value; for a JSON string, its
 * text (without quotes); for any other JSON value, its compact JSON text.
 * The salt comes from --mask-salt, else the environment's OFS_REPLAY_SALT,
 * else it is empty. Content-Length headers are not adjusted.
 */
#ifndef OFS_REPLAY_MASK_H
#define OFS_REPLAY_MASK_H

#include <stddef.h>

#include "exchange.h"
#include "strbuf.h"

struct mask_rule;

struct mask_set {
	struct mask_rule *v;
	size_t n, alloc;
	char *salt; /* owned; NULL means empty */
};

/* MASK_SET_INIT: no rules, no salt. */
#define MASK_SET_INIT { NULL, 0, 0, NULL }

/*
 * mask_add: parse one rule and add it. Returns 0, or -1 with the reason
 * appended to err ("unknown kind 'foo': use header, hash-header, json or
 * hash-json").
 */
int mask_add(struct mask_set *m, const char *spec, struct strbuf *err);
/* mask_set_salt: use salt (copied) for hashing. */
void mask_set_salt(struct mask_set *m, const char *salt);
/* mask_apply: apply every rule, in the order given, to x. */
void mask_apply(const struct mask_set *m, struct exchange *x);
/* mask_hash: append "sha256:HEX" of salt + s[0..len) to out. */
void mask_hash(const struct mask_set *m, const char *s, size_t len, struct strbuf *out);
/* mask_release: free the rules and the salt. */
void mask_release(struct mask_set *m);

#endif
