/*
 * saga.h: one saga's state, as its journal says it is.
 *
 * The journal (STATE/saga/ID.jsonl) is the truth: one record per
 * transition, appended and fsync'd before the transition is acted on.
 * saga_load replays it into struct saga, so the engine (engine.c), the
 * status and list commands, and graph's overlay all read one state the
 * same way. A step with a `started` record and no end has an unknown
 * outcome (the process died during the call): it is STEP_STARTED here,
 * and the engine runs it again with the same idempotency key.
 */
#ifndef OFS_SAGA_SAGA_H
#define OFS_SAGA_SAGA_H

#include <stdbool.h>
#include <stdint.h>

#include <cJSON.h>

#include "def.h"
#include "strbuf.h"

enum saga_phase {
	PHASE_RUNNING,	    /* going forward */
	PHASE_PARKED,	    /* waiting for a signal or a deadline */
	PHASE_COMPENSATING, /* going backward */
	PHASE_COMPLETED,    /* every step succeeded */
	PHASE_COMPENSATED,  /* every started step was compensated */
	PHASE_STUCK,	    /* a compensation, or a step after the pivot, gave up */
};
/* "running", "parked", ... in enum order, NULL-terminated. */
extern const char *const saga_phase_names[];

enum step_state {
	STEP_PENDING,	/* not started */
	STEP_STARTED,	/* an attempt is under way (or its outcome is unknown) */
	STEP_RETRYING,	/* an attempt failed; another is due at retry_at */
	STEP_SUCCEEDED,
	STEP_FAILED,	/* failed for good */
	STEP_PARKED,	/* a wait step waiting */
};
extern const char *const step_state_names[];

enum comp_state {
	COMP_NONE,	/* not started */
	COMP_STARTED,
	COMP_RETRYING,
	COMP_SUCCEEDED,
	COMP_FAILED,	/* gave up: the saga is stuck */
};
extern const char *const comp_state_names[];

struct step_rt {
	enum step_state st;
	int attempts;	  /* attempts started */
	int key_attempt;  /* the attempt number in the idempotency key */
	int64_t retry_at; /* epoch ns, STEP_RETRYING */
	char *error;	  /* the last failure, or NULL */
	bool last_unknown; /* the last failed call may have taken effect */
	int64_t deadline; /* a parked wait step's deadline (epoch ns), 0: none */
	enum comp_state cst;
	int c_attempts;
	int c_key_attempt;
	int64_t c_retry_at;
	char *c_error;
	bool registered; /* started once: its compensation is due on backward recovery */
	int base, c_base; /* attempts made before the last resume of a stuck saga */
};

struct saga {
	char *id;
	char *path; /* the journal */
	struct saga_def def;
	cJSON *data;	/* the definition's data, the input, saga_id */
	cJSON *outputs; /* step name -> output */
	cJSON *signals; /* signal name -> data, delivered and not yet consumed */
	enum saga_phase phase;
	bool pivot_passed;
	bool aborted;
	int64_t seq;	       /* the last record's sequence number */
	int64_t started_ns, updated_ns;
	struct step_rt *steps; /* one per def.steps */
	size_t *order;	       /* steps in the order they were first started */
	size_t norder;
	char *reason;	       /* why it compensated or is stuck, or NULL */
	bool stuck_backward;   /* stuck while compensating (else going forward) */
	size_t lines;	       /* records in the journal file (a snapshot counts one) */
};

/*
 * saga_load: replay the journal path (the saga id is its base name)
 * into *s. Returns 0, or -1 with the reason in err (missing file, a
 * corrupt line, a first record that is not saga.started); *s is then
 * empty but must still be freed with saga_free.
 */
int saga_load(const char *path, struct saga *s, struct strbuf *err);

/*
 * saga_apply: apply one journal record (a parsed object) to *s, as
 * saga_load does for each line; the engine calls it for what it appends.
 * Returns 0, or -1 with the reason in err.
 */
int saga_apply(struct saga *s, const cJSON *rec, struct strbuf *err);

/*
 * saga_snapshot: write the fields of a saga.snapshot record for *s into
 * the open object of w: everything saga_apply needs to rebuild the state
 * without the records before it (definition, data, outputs, signals,
 * every step's attempts, keys, retry times and errors). A long journal
 * is replaced by one snapshot (engine.c), as its first record.
 */
struct jw;
void saga_snapshot(const struct saga *s, struct jw *w);

/* saga_free: release what *s holds. */
void saga_free(struct saga *s);

/* saga_ended: completed or compensated: nothing more will happen. */
bool saga_ended(const struct saga *s);

/* saga_dir: STATE/saga (created 0700 when create), or NULL with err. */
char *saga_dir(bool create, struct strbuf *err);

/* saga_journal_path: DIR/ID.jsonl for a saga id (checked: die if the id
 * is not a valid one). Caller frees. */
char *saga_journal_path(const char *dir, const char *id);

/* saga_exists: whether the journal path holds at least one complete
 * record (a start killed before its first record was whole left none). */
bool saga_exists(const char *path);

/* saga_list_ids: the ids of the journals in dir, sorted, NULL-terminated
 * (a missing dir has none), their number in *n; NULL with err on a read
 * error. Free with saga_ids_free. */
char **saga_list_ids(const char *dir, size_t *n, struct strbuf *err);
void saga_ids_free(char **ids);

/* saga_id_valid: 1..128 letters, digits, '_', '.', '-'. */
bool saga_id_valid(const char *id);

#endif
