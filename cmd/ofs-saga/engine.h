/*
 * engine.h: driving sagas: many at once, from one thread.
 *
 * The engine takes saga ids, holds each saga's lock while it drives it,
 * and moves every saga forward (or backward) until it completes, is
 * compensated, parks at a wait step, or gets stuck. HTTP calls of all
 * the sagas share one libcurl multi client and commands one process
 * pool, so `--concurrency 50` means fifty sagas in flight with no
 * thread per saga. Every transition is appended to the saga's journal
 * (fsync'd) before it is acted on and is printed on stdout as a record.
 */
#ifndef OFS_SAGA_ENGINE_H
#define OFS_SAGA_ENGINE_H

#include <stdbool.h>

#include <cJSON.h>

/* What to append under the lock before driving a saga. */
enum engine_pre {
	PRE_NONE,
	PRE_SIGNAL, /* saga.signalled (sig, data) */
	PRE_ABORT,  /* saga.aborted */
};

struct engine;

/*
 * engine_new: an engine driving at most concurrency sagas at once over
 * the journals in dir. skip_busy: a saga another process holds is
 * passed over quietly (resume --all) instead of being an error;
 * unstick: a stuck saga gets a fresh budget of attempts (saga.resumed).
 */
struct engine *engine_new(const char *dir, int concurrency, bool skip_busy, bool unstick);

/* engine_lock_wait: how long to wait for a saga another process drives
 * (default 0: not at all). signal and abort wait, so nothing is lost. */
void engine_lock_wait(struct engine *e, int ms);

/* engine_add_new: queue a saga to create first: started is its
 * saga.started record (one line, copied), written when it is opened. */
void engine_add_new(struct engine *e, const char *id, const char *started);

/* engine_add: queue saga id, with pre to append first (sig and data are
 * copied; data may be NULL). */
void engine_add(struct engine *e, const char *id, enum engine_pre pre, const char *sig,
		const cJSON *data);

/*
 * engine_run: drive every queued saga. Returns the exit status: 0 when
 * every saga completed or parked, 1 when one was compensated (or a
 * signal or abort was refused because it had ended), 4 when one is
 * stuck or could not be driven (busy, unreadable journal), the worst
 * winning; 128+N after SIGINT/SIGTERM/SIGHUP, once the calls in flight
 * have ended and been journalled.
 */
int engine_run(struct engine *e);

void engine_free(struct engine *e);

#endif
