/*
 * tracectx.h: W3C Trace Context (traceparent and tracestate).
 *
 * A cron run, a deploy or a saga joins the caller's trace through the
 * TRACEPARENT and TRACESTATE environment variables and hands them on to
 * every child it starts, so ofs-trace can group what one run did. The
 * parser is strict, as the W3C recommendation asks: lowercase hex only,
 * exact lengths, no all-zero ids; whatever it rejects means "start a new
 * trace" and never "guess".
 */
#ifndef OFS_TRACECTX_H
#define OFS_TRACECTX_H

#include <stddef.h>
#include <stdint.h>

/* "00-" 32 hex "-" 16 hex "-" 2 hex, and the NUL. */
#define TC_TRACEPARENT_LEN 55
#define TC_TRACEPARENT_BUFSZ 56
/* trace-flags bits: sampled, and random trace-id (level 2). */
#define TC_FLAG_SAMPLED 0x01
#define TC_FLAG_RANDOM 0x02
/* Only these flag bits are written; others are read but sent as 0. */
#define TC_FLAGS_KNOWN (TC_FLAG_SAMPLED | TC_FLAG_RANDOM)
/* At most this many tracestate members are kept. */
#define TC_TRACESTATE_MAX 32

struct tc {
	uint8_t trace_id[16];
	uint8_t span_id[8]; /* the parent-id field: the caller's span */
	uint8_t flags;
	char *tracestate; /* owned, may be NULL; freed by tc_free */
};

/*
 * tc_parse_traceparent: read a traceparent header value (NUL-terminated).
 * Valid: version, trace-id, parent-id and flags as 2, 32, 16 and 2
 * lowercase hex digits joined by '-'; version ff, an all-zero trace-id
 * or parent-id, uppercase and wrong lengths are invalid. Version 00 must
 * be exactly 55 characters; a higher version is read from its first 55
 * characters, after which there must be the end or a '-'. On success
 * sets trace_id, span_id and flags (flags as given, unknown bits
 * included) and returns 0; out->tracestate is not touched. Returns -1
 * and leaves *out unchanged if invalid.
 */
int tc_parse_traceparent(const char *s, struct tc *out);

/*
 * tc_format_traceparent: write the version 00 header of c into out
 * (55 characters and NUL) and return out. Flag bits other than
 * TC_FLAGS_KNOWN are written as 0, as the recommendation requires.
 */
char *tc_format_traceparent(const struct tc *c, char out[TC_TRACEPARENT_BUFSZ]);

/*
 * tc_hex: write the n bytes at p as 2n lowercase hex digits and a NUL
 * into out (which must hold 2n + 1 bytes); returns out. A trace_id gives
 * 32 digits, a span_id 16: the form records carry.
 */
char *tc_hex(const uint8_t *p, size_t n, char *out);

/*
 * tc_tracestate_valid: 1 if s is a valid tracestate value, else 0.
 * Members are key=value separated by ',', with optional spaces and tabs
 * around each; empty members are allowed (and ignored); at most 32
 * non-empty members; keys unique. A key is a simple key, or
 * tenant@vendor. Both are made of lowercase letters, digits and the
 * characters _ - * and slash: a simple key starts with a letter or digit
 * and has 1-256 characters; a tenant starts with a letter or digit and
 * has 1-241; a vendor starts with a letter and has 1-14. A value is 1 to
 * 256 printable ASCII characters (0x20-0x7e) other than
 * ',' and '=', not ending in a space. "" is valid (no members).
 */
int tc_tracestate_valid(const char *s);

/*
 * tc_tracestate_put: a newly allocated tracestate (caller frees) with
 * key=value as the first member, any earlier member with that key
 * removed, then old's other members in order, at most 32 in all (the
 * right-most are dropped). The result is normalised: members joined by
 * ',' with no blanks or empty members. old may be NULL. old is read
 * leniently: more than 32 members are cut down and a repeated key keeps
 * its first member, but an old with a malformed member is discarded
 * whole. Returns NULL if key or value is invalid.
 */
char *tc_tracestate_put(const char *old, const char *key, const char *value);

/*
 * tc_new_root: start a new trace: random trace_id and span_id (from
 * rnd_bytes, never all zero), flags TC_FLAG_SAMPLED (01), no tracestate.
 * Overwrites *c without freeing it: call tc_free first if it owned one.
 */
void tc_new_root(struct tc *c);

/*
 * tc_new_child: the context for work done under parent: the same
 * trace_id and flags, a fresh random span_id, and a copy of parent's
 * tracestate (owned by child). child may be parent itself; otherwise
 * child is overwritten without being freed.
 */
void tc_new_child(const struct tc *parent, struct tc *child);

/*
 * tc_from_env: read TRACEPARENT (and TRACESTATE) from the environment.
 * Returns 1 when TRACEPARENT is set and valid: *out holds it, with the
 * tracestate normalised as by tc_tracestate_put, or NULL if TRACESTATE
 * is unset, empty or invalid. Returns 0 when TRACEPARENT is unset or
 * empty and -1 when it is invalid; in both cases *out is zeroed (no
 * tracestate) and the caller starts a new trace with tc_new_root, as
 * the recommendation says (TRACESTATE is then ignored). *out is
 * overwritten without being freed.
 */
int tc_from_env(struct tc *out);

/*
 * tc_to_env: set TRACEPARENT to c's header for child processes, and
 * TRACESTATE to c->tracestate, or unset TRACESTATE when c has none (so
 * a stale one is never passed on). Changes this process's environment.
 * Returns 0, or -1 with errno set if setenv/unsetenv fail.
 */
int tc_to_env(const struct tc *c);

/* tc_free: free c's tracestate and set it to NULL; the ids stay. */
void tc_free(struct tc *c);

#endif
