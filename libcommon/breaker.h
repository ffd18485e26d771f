/*
 * breaker.h: a circuit breaker (closed, open, half-open), so a tool that
 * calls a failing dependency again and again stops hammering it, fails
 * fast, and probes it now and then to notice recovery.
 *
 * Closed: every call is allowed and its outcome goes into a count-based
 * sliding window of the last `window` calls. Once the window holds at
 * least min_calls outcomes, a failure rate (or slow-call rate) at or
 * above its threshold opens the breaker. Open: calls are refused until
 * open_ms has passed; then the next breaker_allow moves it to half-open.
 * Half-open: half_open_calls trial calls are allowed, the rest refused;
 * when all of them have been recorded their failure and slow rates decide:
 * below both thresholds closes the breaker (with a fresh window), else
 * it opens again. Consecutive re-opens may wait longer each time
 * (doubling up to open_max_ms). Defaults follow Resilience4j, scaled
 * down for ofs's smaller call volumes.
 *
 * Time is passed in as now_ms (any monotonic millisecond clock, e.g.
 * mono_ms()), so the breaker never reads a clock and tests are exact.
 */
#ifndef OFS_BREAKER_H
#define OFS_BREAKER_H

#include <stdbool.h>
#include <stdint.h>

#include "strbuf.h"

enum breaker_state { BREAKER_CLOSED, BREAKER_OPEN, BREAKER_HALF_OPEN };

#define BREAKER_MAX_WINDOW 100000

struct breaker_config {
	int window;            /* calls remembered, 1..BREAKER_MAX_WINDOW; default 20 */
	int min_calls;         /* outcomes needed before judging, 1..window; default 10 */
	double failure_rate;   /* percent in (0, 100]: open at or above it; default 50 */
	double slow_ms;        /* a call lasting this long or longer is slow; default 60000 */
	double slow_rate;      /* percent in (0, 100]: open at or above it; 100 = off (default) */
	int64_t open_ms;       /* time refused in open before half-open, > 0; default 30000 */
	int64_t open_max_ms;   /* 0: always open_ms (default); else each consecutive
	                          re-open doubles the wait, up to this (>= open_ms) */
	int half_open_calls;   /* trial calls in half-open, >= 1; default 3 */
};

/* breaker_config_init: fill cfg with the defaults above. */
void breaker_config_init(struct breaker_config *cfg);

/* A change of state, as reported to the callback and kept as the last one. */
struct breaker_transition {
	enum breaker_state from, to;
	int64_t at_ms;           /* the now_ms of the call that caused it */
	uint64_t seq;            /* 1 for the breaker's first transition, then 2, ... */
	char reason[160];        /* e.g. "failure rate 60.0% >= 50.0% over 10 calls" */
};

typedef void breaker_notify_fn(const struct breaker_transition *t, void *user);

struct breaker;

/*
 * breaker_new: a closed breaker with cfg (NULL: the defaults), copied.
 * Returns NULL and appends the reason to err if cfg is invalid, e.g.
 * "breaker min_calls must be 1..20 (the window), got 30". Free with
 * breaker_free (NULL is ignored).
 */
struct breaker *breaker_new(const struct breaker_config *cfg, struct strbuf *err);
void breaker_free(struct breaker *b);

/*
 * breaker_on_transition: call fn(t, user) on every change of state,
 * from inside breaker_allow or breaker_record. fn must not call back
 * into the same breaker. NULL fn turns it off.
 */
void breaker_on_transition(struct breaker *b, breaker_notify_fn *fn, void *user);

/*
 * breaker_allow: may a call be made now? Closed: yes. Open: no, unless
 * open_ms has passed since it opened, which moves it to half-open.
 * Half-open: yes for each of the half_open_calls trial permits, then no
 * until they are recorded. Every allowed call must be followed by one
 * breaker_record, or a half-open breaker waits for it for ever. A refusal
 * is counted (see breaker_get_stats).
 */
bool breaker_allow(struct breaker *b, int64_t now_ms);

/*
 * breaker_record: the outcome of an allowed call, which took
 * duration_ms. May open or close the breaker. A result recorded while
 * open (a call allowed before it opened) is ignored.
 */
void breaker_record(struct breaker *b, int64_t now_ms, bool success, double duration_ms);

/* breaker_state: the current state; reading it changes nothing. */
enum breaker_state breaker_state(const struct breaker *b);
/* breaker_state_name: "closed", "open" or "half-open" (static strings). */
const char *breaker_state_name(enum breaker_state s);

/* breaker_last_transition: the latest change of state, or NULL if none. */
const struct breaker_transition *breaker_last_transition(const struct breaker *b);

struct breaker_stats {
	enum breaker_state state;
	int calls;               /* outcomes in the window (closed) or trial (half-open) */
	int failures;
	int slow;
	uint64_t rejected;       /* calls refused by breaker_allow, ever */
	int64_t retry_at_ms;     /* open: when half-open becomes possible; else 0 */
};

/* breaker_get_stats: fill *st with the breaker's counters. */
void breaker_get_stats(const struct breaker *b, struct breaker_stats *st);

#endif
