/*
 * fault.h: what the files of ofs-chaos's native faults share among
 * themselves (fault.c, fault_KIND.c, pidfind.c, ledger.c, inject.c,
 * recover.c). chaos.h holds the interfaces the rest of the tool uses;
 * this header holds the machinery behind them: the table of fault
 * kinds, one injection in progress, validation helpers, the process
 * targets (found through libcommon's pid.h), and the ledger's readers
 * beyond ledger_live.
 *
 * An injection goes: fault_inject validates the substituted provider
 * strictly, finds the kind, and calls its inject function with a
 * struct fault_op. The kind resolves and plans everything without side
 * effects, prepares what is safe to prepare (a backup, a worker held
 * before it starts), fills op->undo with everything needed to undo the
 * fault without this process, then calls fault_commit, which writes the
 * inject record to the ledger (or, in dry-run mode, stops there). Only
 * then does the kind act.
 */
#ifndef OFS_CHAOS_FAULT_H
#define OFS_CHAOS_FAULT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <cJSON.h>

#include "chaos.h"
#include "config.h"
#include "strbuf.h"
#include "topology.h"

/* How often a restarting instance is checked (kill's wait_restart, undo). */
#define FAULT_CHECK_EVERY_MS 250

/* ---- validation ------------------------------------------------------- */

/* A validation walk: strict after substitution (a "${" is then an error). */
struct fv {
	struct cfg *cfg;
	bool strict;
};

/*
 * fault_check: validate the fault provider prov at ptr (fault_validate is
 * fault_check with strict false). Returns the errors recorded.
 */
int fault_check(struct cfg *cfg, const cJSON *prov, const char *ptr, bool strict);

/*
 * The getters of config.h, except that a string holding "${" is taken as
 * a value to be substituted later (returns 0, as an absent key, unless
 * the walk is strict). Return values as cfg_get_*.
 */
int fv_deferred(const struct fv *v, const cJSON *obj, const char *key);
int fv_string(struct fv *v, const cJSON *obj, const char *ptr, const char *key, bool required,
	      const char **out);
int fv_int(struct fv *v, const cJSON *obj, const char *ptr, const char *key, bool required,
	   int64_t min, int64_t max, int64_t *out);
/* A duration above 0. */
int fv_duration(struct fv *v, const cJSON *obj, const char *ptr, const char *key,
		bool required, int64_t *ns);
/* A size: a size_parse string ("256M") or a whole number of bytes; above 0. */
int fv_size(struct fv *v, const cJSON *obj, const char *ptr, const char *key, bool required,
	    uint64_t *bytes);
int fv_enum(struct fv *v, const cJSON *obj, const char *ptr, const char *key, bool required,
	    const char *const *names, int *out);
/* A command: a non-empty argv array of strings or a non-empty shell string. */
int fv_command(struct fv *v, const cJSON *obj, const char *ptr, const char *key,
	       bool required);

/*
 * Readers of a provider that was validated strictly: they cannot fail.
 * fget_str: the string or NULL; fget_int, fget_dur (ns), fget_size: the
 * value or def when absent.
 */
const char *fget_str(const cJSON *obj, const char *key);
int64_t fget_int(const cJSON *obj, const char *key, int64_t def);
int64_t fget_dur(const cJSON *obj, const char *key, int64_t def);
uint64_t fget_size(const cJSON *obj, const char *key, uint64_t def);

/* ---- one injection ---------------------------------------------------- */

struct fault_op {
	struct fault_ctx *fc;
	const cJSON *prov;      /* the substituted, validated provider */
	const char *kind;
	char uid[20];
	struct strbuf target;   /* the record's target, set by the kind */
	cJSON *undo;            /* object: everything its undo needs (owned) */
	cJSON *out;             /* object: the kind's details for the output (owned) */
	int64_t duration_ns;    /* "duration", 0 when none */
	int64_t until_ns;       /* set by fault_commit when there is a duration */
	bool recorded;          /* the inject record is in the ledger */
};

/*
 * fault_commit: write op's inject record (with op->undo and, when a
 * duration was given, "until" = now + duration) to the ledger and fsync
 * it. Returns 0: go on and act; 1: dry-run mode, do nothing more; -1
 * with err set when the record could not be written (act on nothing).
 */
int fault_commit(struct fault_op *op, struct strbuf *err);

/* One kind of fault. */
struct fault_kind {
	const char *name;
	const char *const *keys;   /* keys allowed besides "type" and "kind" */
	/* record what is wrong with the kind's keys */
	void (*validate)(struct fv *v, const cJSON *prov, const char *ptr);
	/* as fault_target */
	int (*target)(const cJSON *prov, const struct topology *topo, struct strbuf *target);
	/* plan, fault_commit, act: 0 done, 1 dry run (stopped at the commit),
	 * -1 with err (the fault is then not in force) */
	int (*inject)(struct fault_op *op, struct strbuf *err);
	/* undo what undo (the record's "undo") describes; 0 (note says what
	 * was done when it is worth saying: "nothing to undo: ...") or -1
	 * with err. Idempotent. */
	int (*undo)(struct fault_ctx *fc, const cJSON *rec, const cJSON *undo, struct strbuf *note,
		    struct strbuf *err);
};

extern const struct fault_kind fault_kind_kill, fault_kind_pause, fault_kind_stress,
	fault_kind_corrupt, fault_kind_exec, fault_kind_proxy;

/* fault_kind_find: the kind called name, or NULL. */
const struct fault_kind *fault_kind_find(const char *name);

/*
 * fault_undo_note: fault_undo, also saying in note (when it is worth
 * saying) what the undo found: "nothing to undo: process 4242 is gone".
 * The note is the "reason" of the undone record.
 */
int fault_undo_note(struct fault_ctx *fc, const cJSON *inject_rec, struct strbuf *note,
		    struct strbuf *err);

/* ---- process targets (pidfind.c) ------------------------------------- */

/* One process a kill or pause acts on. */
struct ftarget {
	pid_t pid;
	uint64_t start;                  /* its start time (/proc/PID/stat field 22) */
	const struct topo_instance *in;  /* NULL for a pid or pid_file target */
};

/* ftarget_validate: the target keys of a kill or pause at ptr. */
void ftarget_validate(struct fv *v, const cJSON *prov, const char *ptr, const char *kind);
/* ftarget_name: fault_target for kill and pause. */
int ftarget_name(const cJSON *prov, const struct topology *topo, struct strbuf *target);
/*
 * ftarget_resolve: the processes a kill or pause acts on (*out, *n; the
 * caller frees *out), the record's target ("instance:ID", "service:NAME"
 * for pick all, "pid:N") in target, and the output's "instance",
 * "service", "pid" (or "instances" and "pids") added to out. -1 with err
 * when a target cannot be found; nothing is changed either way.
 */
int ftarget_resolve(struct fault_ctx *fc, const cJSON *prov, struct ftarget **out, size_t *n,
		    struct strbuf *target, cJSON *details, struct strbuf *err);

/* ---- signals by name (fault_kill.c) ----------------------------------- */

/* fsig_parse: "KILL", "SIGKILL", "kill", "9" or 9 as a node: the number,
 * or 0 when unknown (a hint in err). */
int fsig_parse(const cJSON *node, struct strbuf *err);
/* fsig_name: "KILL" for 9; "SIG34" style for one without a name. */
const char *fsig_name(int sig, char buf[16]);

/* ---- the ledger beyond chaos.h (ledger.c) ----------------------------- */

/*
 * ledger_at: a handle on the ledger under dir (NULL: state_dir()/chaos)
 * that creates nothing: for readers (ledger, recover --dry-run). Reading
 * a ledger that does not exist gives no records. NULL with err when the
 * state directory cannot be found.
 */
struct ledger *ledger_at(const char *dir, struct strbuf *err);
/* ledger_history: every record of the ledger, oldest first (caller
 * deletes). NULL with err on a corrupt ledger. */
cJSON *ledger_history(struct ledger *l, struct strbuf *err);
/* ledger_path: the ledger file. */
const char *ledger_path(const struct ledger *l);

/* ---- small shared helpers (fault.c) ----------------------------------- */

/* fault_add_tail: append ": " and the last non-empty line of text (at most
 * 200 bytes), which usually says why a command failed; nothing if empty. */
void fault_add_tail(struct strbuf *sb, const struct strbuf *text);
/* fault_sleep_ms: sleep; returns -1 early when a stopping signal arrived. */
int fault_sleep_ms(int64_t ms);

#endif
