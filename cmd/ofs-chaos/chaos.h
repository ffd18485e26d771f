/*
 * chaos.h: what the files of ofs-chaos share.
 *
 * An experiment (experiment.c) is a validated JSON document, in the
 * Chaos Toolkit format or in ofs's extension of it, plus a list of
 * activities pointing into it. run.c drives it: the steady-state
 * hypothesis as a gate, the method (actions and probes, native faults
 * among them), the hypothesis during and after, rollbacks, the undo of
 * every fault still live, the verdict. Values reach activities through
 * substitution (libcommon/subst.c): `${name}` from the configuration and
 * `${out:ACTIVITY/POINTER}` from an earlier activity's output.
 * Tolerances (libcommon/tolerance.c) judge probe outputs. Providers
 * (provider.c) run process and http activities and ofs-health style
 * checks; native faults (fault*.c) inject and undo, every one written
 * to the fault ledger (ledger.c) before it acts, so `recover` can undo
 * what a killed run left behind. The TCP fault proxy (proxy*.c,
 * toxic*.c) is a separate command that faults drive through its control
 * socket (proxy_ctl.c).
 */
#ifndef OFS_CHAOS_H
#define OFS_CHAOS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "config.h"
#include "opt.h"
#include "strbuf.h"
#include "subst.h"
#include "tolerance.h"
#include "topology.h"

/* Option ids of the long-only options (short ones use their letter). */
enum {
	COPT_ABORT_ON_DEVIATION = 256,
	COPT_ALL,
	COPT_CONTROL,
	COPT_DAYS,
	COPT_DRY_RUN,
	COPT_FORCE,
	COPT_HOURS,
	COPT_INTERVAL,
	COPT_JOURNAL,
	COPT_LISTEN,
	COPT_MAX_BLAST,
	COPT_NO_ROLLBACKS,
	COPT_OPT_OUT,
	COPT_REPORT,
	COPT_REPORT_FILE,
	COPT_ROLLBACKS,
	COPT_RTO,
	COPT_SEED,
	COPT_TOPOLOGY,
	COPT_UPSTREAM,
	COPT_VAR,
	COPT_NAME,
	COPT_LIVE,
	COPT_TIMEOUT,
	COPT_CATALOG,
	COPT_AT,
	COPT_TOXIC,
};

/* The subcommands (main.c dispatches to them). */
int cmd_run(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_recover(int argc, char **argv);
int cmd_ledger(int argc, char **argv);
int cmd_inject(int argc, char **argv);
int cmd_proxy(int argc, char **argv);
int cmd_pick(int argc, char **argv);

/* Option tables of the commands defined outside main.c. */

extern const struct opt recover_opts[];
extern const struct opt ledger_opts[];
extern const struct opt inject_opts[];
extern const struct opt proxy_opts[];
extern const struct opt pick_opts[];

/* ---- the experiment model (experiment.c) ------------------------------- */

enum act_type { ACT_PROBE, ACT_ACTION };

/* Provider kinds. Chaos Toolkit's python providers are refused at load. */
enum prov_type {
	PROV_PROCESS, /* {"type":"process","path","arguments","timeout","env","cwd"} */
	PROV_HTTP,    /* {"type":"http","url","method","headers","arguments","timeout",
		       *  "verify_tls","expected_status"} */
	PROV_FAULT,   /* ofs: {"type":"fault","kind":"kill"|"pause"|"proxy"|"stress"|
		       *  "corrupt"|"exec", ...} (fault.c documents each kind) */
	PROV_HEALTH,  /* ofs: {"type":"health","service"|"instance", "timeout"}: checks
		       *  with the topology's checks and judges like ofs-health */
	PROV_SLEEP,   /* ofs: {"type":"sleep","duration"}: a wait as an activity */
};

/*
 * One activity, fully validated. A {"ref":"NAME"} in the document is
 * resolved at load to a copy of the declared activity it names (name,
 * provider, tolerance...), with pointer set to where the ref stands.
 * provider points into the experiment's tree and is NOT substituted:
 * run.c substitutes a copy before each run (subst_apply).
 */
struct activity {
	const char *name;          /* never NULL; unique among declared activities */
	enum act_type type;
	enum prov_type prov;
	const cJSON *provider;     /* the provider object, in the tree */
	const cJSON *tolerance;    /* NULL when none; validated by tol_validate */
	int64_t pause_before_ns;   /* "pauses": {"before": s, "after": s} */
	int64_t pause_after_ns;
	bool background;           /* run alongside the next activities (method only) */
	const char *pointer;       /* JSON pointer of its place: "/method/2" */
};

enum rollback_strategy {
	RB_DEFAULT,  /* run rollbacks unless the gate failed (nothing was injected) */
	RB_ALWAYS,   /* run them whatever happened */
	RB_NEVER,    /* never (native faults are still undone) */
	RB_DEVIATED, /* only when the hypothesis deviated */
};

enum hyp_strategy {
	HYP_DEFAULT,             /* before and after the method */
	HYP_BEFORE_ONLY,         /* "before-method-only" */
	HYP_AFTER_ONLY,          /* "after-method-only" */
	HYP_DURING_ONLY,         /* "during-method-only" */
	HYP_CONTINUOUSLY,        /* before, during (every interval) and after */
};

struct experiment {
	struct cfg cfg;            /* owns the tree; cfg.file names it in messages */
	const char *title;
	const char *description;   /* may be "" */
	const char *hyp_title;     /* "" when no hypothesis */
	struct activity *hypothesis;  /* the probes of the steady-state hypothesis */
	size_t nhypothesis;
	struct activity *method;
	size_t nmethod;
	struct activity *rollbacks;
	size_t nrollbacks;
	cJSON *configuration;      /* owned: name -> resolved value (env looked up) */
	enum rollback_strategy rollback_strategy;
	enum hyp_strategy hyp_strategy;
	int64_t rto_ns;            /* ofs "rto"; 0: none */
	int64_t interval_ns;       /* ofs "interval": hypothesis polling; default 1 s */
	const char *topology;      /* ofs "topology" path (resolved against the
				    * experiment's directory), or NULL */
	const char *const *tags;   /* NULL-terminated; owned by the experiment */
	/* ---- added by part B (experiment.c) ---- */
	bool fail_fast;            /* CTK runtime.hypothesis.fail_fast: stop the method
				    * at the first deviation during it (like
				    * --abort-on-deviation) */
	/* ---- end of part B's additions ---- */
	/* private */
	void *priv;
};

/*
 * experiment_load: read path ("-" is stdin), parse, resolve the
 * configuration (env lookups with their defaults; a missing variable
 * without a default is an error), resolve refs, and validate everything:
 * keys, types, providers (fault kinds through fault_validate), tolerances
 * (tol_validate), that every `${name}` names a configuration key and every
 * `${out:NAME/...}` an activity declared before the place it is used.
 * overrides is a NULL-terminated list of "NAME=VALUE" (--var) laid over
 * the configuration (a value that parses as JSON is taken as that JSON,
 * else as a string). On failure returns -1 with every problem appended
 * to err, one per line ending in '\n', as
 *   "exp.json: /method/1/provider/kind: unknown fault kind 'kil'; did you mean 'kill'?"
 * and *e is empty (experiment_free is harmless). Nothing is run.
 */
int experiment_load(const char *path, const char *const *overrides, struct experiment *e,
		    struct strbuf *err);
/* experiment_free: release everything (twice is harmless). */
void experiment_free(struct experiment *e);
/* activity_type_name: "probe" or "action"; prov_type_name: "process", ... */
const char *activity_type_name(enum act_type t);
const char *prov_type_name(enum prov_type t);
const char *rollback_strategy_name(enum rollback_strategy s);
const char *hyp_strategy_name(enum hyp_strategy s);

/* ---- substitution and tolerances ---------------------------------------- */

/* subst_apply and subst_check (subst.h), tol_validate and tol_check
 * (tolerance.h) live in libcommon, so that ofs-deploy's analysis gates
 * and ofs-saga use the same rules; both headers are included above. */

/* ---- providers (provider.c, health_probe.c) --------------------------- */

struct fault_ctx;

/* What one activity run produced. */
struct act_result {
	cJSON *output;          /* owned; NULL when the provider failed to run */
	bool failed;            /* the provider could not do its job */
	struct strbuf error;    /* why, when failed */
};
void act_result_init(struct act_result *r);
void act_result_release(struct act_result *r);

/* ---- the fault ledger (ledger.c) -------------------------------------- */

/*
 * The ledger is $OFS_STATE_DIR/chaos/ledger.jsonl, a journal (journal.h)
 * of chaos.fault records: {"op":"inject", "uid", "run", "pid",
 * "pid_start" (the run's /proc start time), "experiment", "kind",
 * "target", "undo": {...}, "until"?} written and fsync'd before a fault
 * is injected, then {"op":"undone"|"undo_failed", "uid", "reason"?}.
 * A fault is live from its inject record until an undone record.
 * Appends take $OFS_STATE_DIR/chaos/ledger.lock for the moment of the
 * write, so concurrent runs share the ledger safely.
 */
struct ledger;
/* ledger_open: open (creating 0700 dirs and the 0600 file) the ledger
 * under dir (NULL: state_dir()/chaos). NULL with err set on failure. */
struct ledger *ledger_open(const char *dir, struct strbuf *err);
void ledger_close(struct ledger *l);
/* ledger_dir: the directory the ledger lives in (backups go there too). */
const char *ledger_dir(const struct ledger *l);
/* ledger_new_uid: a fresh uid ("f-" + 16 hex digits). */
void ledger_new_uid(char out[20]);
/* ledger_append: append one chaos.fault record (rec is an object with
 * "op" and "uid" at least; type and ts are added). 0 or -1 with err. */
int ledger_append(struct ledger *l, const cJSON *rec, struct strbuf *err);
/* ledger_live: the inject records of faults still live, oldest first, as
 * a new array the caller deletes. NULL with err on a corrupt ledger. */
cJSON *ledger_live(struct ledger *l, struct strbuf *err);
/* ledger_owner_alive: whether the run that injected rec (an inject
 * record) is still running: its pid exists with the same start time. */
bool ledger_owner_alive(const cJSON *rec);

/* ---- native faults (fault.c and fault_KIND.c) -------------------------- */

struct fault_ctx {
	struct ledger *ledger;
	const struct topology *topo; /* for instance targets; may be NULL */
	const char *run_id;          /* this run's id, recorded in the ledger */
	const char *experiment;      /* its title */
	bool dry_run;                /* say what would be done; change nothing */
};

/*
 * fault_validate: record with cfg_error what is wrong with the fault
 * provider prov at ptr (its kind and that kind's keys). Strings holding
 * `${` are accepted where numbers or durations are expected (they are
 * checked again after substitution by fault_inject). Returns errors
 * recorded.
 */
int fault_validate(struct cfg *cfg, const cJSON *prov, const char *ptr);
/*
 * fault_target: the target of a substituted fault provider as one string
 * ("instance:payments-1", "pid:4242", "file:/etc/app.conf",
 * "proxy:/run/p.sock/latency-1", "stress:cpu", "exec:NAME"), or -1 when
 * it cannot be known yet. Used to refuse a run whose targets have live
 * faults in the ledger.
 */
int fault_target(const cJSON *prov, const struct topology *topo, struct strbuf *target);
/*
 * fault_inject: inject the (substituted) fault. Writes the inject record
 * to the ledger first (with everything needed to undo it without this
 * process), then acts. On success returns 0 and sets *output to an
 * object describing what was done: at least {"uid","kind","target"} and
 * the kind's details ({"instance","pid","signal"} for kill, ...). On
 * failure returns -1 with err set; a fault that was recorded but could
 * not be injected is marked undone in the ledger. In dry-run mode nothing
 * is recorded nor changed and *output says {"dry_run":true,...}.
 */
int fault_inject(struct fault_ctx *fc, const cJSON *prov, cJSON **output, struct strbuf *err);
/*
 * fault_undo: undo the fault of an inject record (from ledger_live or
 * from this run) and append "undone" (or "undo_failed" with the reason)
 * to the ledger. Idempotent: undoing what is already undone in the world
 * (a process already resumed, a file already restored) succeeds. Returns
 * 0 or -1 with err set.
 */
int fault_undo(struct fault_ctx *fc, const cJSON *inject_rec, struct strbuf *err);
/*
 * fault_due: for an inject record with "until" (pause and stress with a
 * duration), the CLOCK_REALTIME ns when it must be undone; 0 if none.
 */
int64_t fault_due(const cJSON *inject_rec);

/* ---- proxy control (proxy_ctl.c) --------------------------------------- */

/*
 * proxy_ctl_request: send one JSON command line (request, without '\n')
 * to the control socket of an `ofs-chaos proxy` at sock_path and read
 * its one-line reply into reply (without '\n'). Waits at most timeout_ms
 * for the whole exchange. Returns 0 when a reply came (whether "ok" is
 * true or not), -1 with err set ("cannot connect to proxy control
 * 'PATH': Connection refused", "... timed out after 2000 ms").
 */
int proxy_ctl_request(const char *sock_path, const char *request, int timeout_ms,
		      struct strbuf *reply, struct strbuf *err);

#endif
