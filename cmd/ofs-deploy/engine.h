/*
 * engine.h: the engine's own parts (engine.c, store.c, fleet.c, the
 * strategies, the commands); the drivers only see deploy.h.
 */
#ifndef OFS_DEPLOY_ENGINE_H
#define OFS_DEPLOY_ENGINE_H

#include <cJSON.h>

#include "deploy.h"

/* Outcomes of a finished deploy (deploy.done "outcome"). */
#define DP_PROMOTED "promoted"
#define DP_ROLLED_BACK "rolled_back"
#define DP_ROLLBACK_FAILED "rollback_failed"

/* ---- engine.c ---- */

/* dp_deploy_init: an empty deploy of service (copied) numbered no. */
void dp_deploy_init(struct dp_deploy *d, const char *service, int no);
/* dp_deploy_release: close the journal, free drivers' state and instances. */
void dp_deploy_release(struct dp_deploy *d);
/* dp_drivers: pick the runner and router spec names. */
void dp_drivers(struct dp_deploy *d, const struct dp_spec *spec);
/* dp_inst_add: a new instance of revision/version, state STARTING, id
 * SERVICE-DEPLOY-N (the deploy's number); owned by d. */
struct dp_inst *dp_inst_add(struct dp_deploy *d, int revision, const char *version);
/* dp_inst_write: an instance's fields into an object (for records and
 * current.json); in_record: inside a deploy.instance record, whose
 * "revision" is the deploy's, so the instance's is "instance_revision".
 * dp_inst_read the reverse (fields it lacks keep defaults); returns 0 or
 * -1 when the id is missing. */
void dp_inst_write(struct jw *w, const struct dp_inst *in, bool in_record);
int dp_inst_read(const cJSON *o, struct dp_inst *in);
void dp_inst_free(struct dp_inst *in);
/* dp_inst_find: by id, or NULL. */
struct dp_inst *dp_inst_find(struct dp_deploy *d, const char *id);
/* dp_inst_emit: a deploy.instance record of in's state now, with an
 * optional "reason". */
void dp_inst_emit(struct dp_deploy *d, const struct dp_inst *in, const char *reason);
/* dp_step_emit: a deploy.step record: step (1..), steps, action, phase,
 * and a free text; extra (may be NULL) adds fields. */
void dp_step_emit(struct dp_deploy *d, int step, int steps, const char *action,
		  const char *phase, const char *detail, void (*extra)(struct jw *, void *),
		  void *ctx);
/* dp_emit_copy: dp_emit, also appending the line to copy (if not NULL). */
void dp_emit_copy(struct dp_deploy *d, struct jw *w, struct strbuf *copy);
/* The process-wide control path for dp_control (set by the commands). */
void dp_control_reset(struct dp_deploy *d);

/* ---- store.c: the service's state directory ---- */

/* dp_store_dir: $STATE/deploy/SERVICE (allocated), created 0700 when
 * create; NULL with err. */
char *dp_store_dir(const char *service, bool create, struct strbuf *err);
/* dp_store_path: DIR/rel (allocated). */
char *dp_store_path(const struct dp_deploy *d, const char *rel);
/* dp_store_lock: take DIR/lock waiting wait_ms (0 once, -1 forever); fd or -1. */
int dp_store_lock(const char *dir, int wait_ms, struct strbuf *err);

/* What current.json says. */
struct dp_current {
	int revision;        /* 0: nothing deployed yet */
	int deploy;          /* the deploy that left it */
	char *version;
	int next_deploy;     /* the number the next deploy gets */
	struct dp_inst **inst;
	size_t ninst;
};
int dp_current_load(const char *dir, struct dp_current *cur, struct strbuf *err);
void dp_current_release(struct dp_current *cur);
/* dp_current_save: write d's live instances and revision rev as current.json. */
int dp_current_save(struct dp_deploy *d, int rev, const char *version, struct strbuf *err);
/* dp_revision_save: keep spec's bytes as revisions/N.json (once). */
int dp_revision_save(const char *dir, int rev, const struct dp_spec *spec, struct strbuf *err);
/* dp_revision_load: load revision N's spec. */
int dp_revision_load(const char *dir, int rev, struct dp_spec *spec, struct strbuf *err);

/* What a deploy's journal says (replayed). */
struct dp_replay {
	int deploy, revision, from_revision;
	char *kind;          /* "run" or "rollback" */
	char *phase;         /* last deploy.step phase */
	int step;            /* last step started */
	bool done;
	char *outcome;       /* deploy.done's */
	bool rolling_back;
	int64_t start_ns;
	char *trace_id;      /* hex */
	char *reason;        /* last rollback's or pause's reason */
	struct dp_inst **inst;
	size_t ninst, ainst;
	int next_index;
};
int dp_replay_load(const char *path, struct dp_replay *r, struct strbuf *err);
void dp_replay_release(struct dp_replay *r);
/* dp_latest_deploy: the highest N of deploys/N.jsonl, 0 if none. */
int dp_latest_deploy(const char *dir);
/* dp_history_append: one line to history.jsonl (fsync). */
int dp_history_append(const char *dir, const char *line, size_t len, struct strbuf *err);

/* ---- fleet.c: the moves every strategy is made of ---- */

/* live: not stopped. */
size_t dp_count(struct dp_deploy *d, int revision, bool want_rev, unsigned states);
#define DP_S(x) (1u << (x))
#define DP_LIVE (DP_S(DP_STARTING) | DP_S(DP_READY) | DP_S(DP_SERVING) | DP_S(DP_DRAINING))
/* dp_reconcile: after a crash: instances whose process is gone become
 * stopped, draining ones finish draining and stop. */
int dp_reconcile(struct dp_deploy *d, struct strbuf *err);
/* dp_grow: make `want` live instances of revision (spec) exist and be
 * ready (start the missing ones, wait for the starting ones). Returns 0,
 * -1 when a driver failed to start one, -2 when one did not become
 * ready (the new revision's fault: a reason to roll back). */
int dp_grow(struct dp_deploy *d, const struct dp_spec *spec, int revision, int want,
	    int64_t min_ready_ns, struct strbuf *err);
/* dp_route: every ready or serving instance of revision `to` serves with
 * pct % of the traffic, the rest (of other revisions, serving or ready)
 * the remaining; pct 100 drains all others, pct 0 drains `to`'s. */
int dp_route(struct dp_deploy *d, int to, int pct, struct strbuf *err);
/* dp_route_all: every ready or serving live instance serves, equal weights. */
int dp_route_all(struct dp_deploy *d, struct strbuf *err);
/* dp_retire: drain, release and stop up to n serving/ready instances of
 * a revision other than keep (n < 0: all), oldest first. */
int dp_retire(struct dp_deploy *d, int keep, int n, struct strbuf *err);

/* ---- strategies ---- */
/* Each returns 0 promoted, 1 must roll back (reason set), 2 paused for a
 * person (inconclusive: reason), -1 error (err), 3 interrupted. */
enum dp_flow { DP_DONE = 0, DP_FAIL = 1, DP_PAUSED = 2, DP_ERROR = -1, DP_INTERRUPTED = 3 };
enum dp_flow dp_rolling(struct dp_deploy *d, struct strbuf *reason);
enum dp_flow dp_bluegreen(struct dp_deploy *d, int from_step, struct strbuf *reason);
enum dp_flow dp_canary(struct dp_deploy *d, int from_step, struct strbuf *reason);
/* dp_restore: move everything back to revision rev (spec), no analysis. */
int dp_restore(struct dp_deploy *d, const struct dp_spec *spec, int rev, struct strbuf *err);

/* ---- run.c ---- */
/* dp_finish_stopped: take over the stopped (killed, interrupted) deploy of
 * service and finish it: its strategy (rollback false) or a rollback;
 * control ("promote", "abort", NULL) is handed to it as if it had been
 * running. Returns the exit status. */
int dp_finish_stopped(const char *service, int wait_ms, bool quiet, bool rollback,
		      const char *control);
/* dp_rollback_done: roll back the finished deploys of service to revision
 * `to` (0: the one before the current) as a new deploy. */
int dp_rollback_done(const char *service, int to, int wait_ms, bool quiet);

#endif
