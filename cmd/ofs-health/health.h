/*
 * health.h: what the files of ofs-health share: the parsed options, the
 * run-time view of the topology (instances flattened, with this round's
 * results, hysteresis and recovery bookkeeping), and the functions each
 * file provides to the commands.
 *
 * One struct health holds a whole run. inputs.c fills it from -f and the
 * target operands, round.c runs one round of checks and judges it,
 * emit.c and formats.c write what a round found, watch.c repeats rounds
 * with hysteresis and recover.c restarts what is down.
 */
#ifndef OFS_HEALTH_H
#define OFS_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "check.h"
#include "jw.h"
#include "judge.h"
#include "out.h"
#include "strbuf.h"
#include "topology.h"

/* Option ids of the long-only options (short ones use their letter). */
enum {
	HOPT_JITTER = 256,
	HOPT_PROM_FILE,
	HOPT_SERVICE,
	HOPT_SHARD,
	HOPT_STRICT,
	HOPT_TIMEOUT,
	HOPT_INTERVAL,
	HOPT_FAST_INTERVAL,
	HOPT_ROUNDS,
	HOPT_RECOVER,
	HOPT_RTO,
	HOPT_DRY_RUN,
	HOPT_NO_CHECK,
};

enum health_format {
	FMT_JSONL,
	FMT_TEXT,
	FMT_PROM,
	FMT_NAGIOS,
	FMT_DOT,
	FMT_MERMAID,
};

struct health_opts {
	const char *topology;  /* -f, or NULL */
	char **targets;        /* target-file operands (owned by the parser) */
	int ntargets;
	enum health_format format;
	int concurrency;
	int64_t jitter_ms;     /* -1: the command's default */
	int64_t timeout_ms;    /* 0: each check's own */
	const char *prom_file;
	const char **services; /* --service names (array owned here) */
	size_t nservices;
	int shard_k, shard_n;  /* 0/0: no sharding */
	bool strict, quiet, verbose;
	/* watch */
	bool watch;
	int64_t interval_ms, fast_ms, rto_ms;
	long rounds;           /* 0: until a signal */
	bool recover, dry_run;
	/* graph */
	bool no_check;
};

/* One instance during a run. */
struct health_inst {
	struct topo_instance *ti;
	size_t service;
	bool selected;            /* within --service and --shard */
	/* this round */
	bool checked;             /* a result arrived */
	bool ignored;             /* a failure ignored during the grace period */
	struct check_result res;
	enum judge_inst jstate;   /* what the judge sees */
	const char *jreason;
	/* watch */
	struct judge_hyst hyst;
	struct strbuf fail_reason;/* the latest failure's reason */
	int64_t detect_ns;        /* wall time of the round that first saw the failure, or 0 */
	/* recovery */
	int restarts;             /* in this incident */
	int64_t last_restart_ms;  /* monotonic */
	int64_t backoff_ms;       /* wait before the next restart of this instance */
	int64_t grace_until_ms;   /* monotonic; failures ignored until then */
	bool recovered;           /* became healthy this round after restarts */
};

/* One service during a run. */
struct health_svc {
	struct topo_service *ts;
	bool reported;            /* judged and written (has selected instances, or named) */
	size_t *deps;             /* service indexes */
	size_t ndeps;
	size_t first, ninst;      /* its instances: h->inst[first .. first + ninst) */
	struct judge_instance *jins;
	struct judge_verdict verdict;
	bool prev_set;
	enum judge_state prev;
	/* recovery */
	int64_t *restart_log;     /* monotonic ms of restarts within the window */
	size_t nlog, alog;
	bool gaveup;
	int64_t healthy_since_ms; /* monotonic, 0 when not healthy */
};

struct health {
	const struct health_opts *o;
	struct topology topo;
	bool topo_loaded;
	struct health_inst *inst;
	size_t ninst;
	struct health_svc *svc;
	size_t nsvc;
	size_t *order;            /* service indexes, dependencies first */
	char shard[48];           /* "K/N" or "" */
	long round;
	int64_t round_start_ns;   /* wall clock */
	int64_t round_start_ms;   /* monotonic */
	double round_ms;          /* how long the checks took */
	size_t nchecks;           /* checks run this round */
	bool interrupted;         /* a signal cut the round short */
	struct out *out;
	struct strbuf sb;
	struct jw w;
};

/* main.c: option parsing shared by check, watch and graph. */
void health_opts_parse(struct health_opts *o, int argc, char **argv, bool watch, bool graph);
void health_opts_free(struct health_opts *o);

/*
 * inputs.c: health_load: read -f and the target files (stdin when there
 * are neither), apply --service and --shard, order the services. Problems
 * are printed; returns EXIT_OK, or EXIT_USAGE (invalid topology or
 * targets, unknown --service: nothing may be probed) or EXIT_REJECTED
 * with --strict at the first bad target line.
 */
int health_load(struct health *h, const struct health_opts *o);
/* health_free: release everything health_load made (also after it
 * failed). */
void health_free(struct health *h);

/* round.c: health_round: run one round of checks on the selected
 * instances (round number h->round + 1). Returns 0, or -1 if a
 * termination signal cut it short (unfinished checks are then
 * "unknown: interrupted"). */
int health_round(struct health *h);
/* health_take_raw: let the judge see each check's own result (check,
 * graph and the first round of watch). */
void health_take_raw(struct health *h);
/* health_judge: judge the reported services from the instances' jstate. */
void health_judge(struct health *h);
/* health_exit_status: 0 when every reported service is healthy, else 1
 * (nagios: the plugin code). */
int health_exit_status(const struct health *h, enum health_format f);
/* health_count: reported services per state into counts[JUDGE_NSTATES];
 * returns how many services were reported. */
size_t health_count(const struct health *h, size_t counts[JUDGE_NSTATES]);

/* emit.c: the records (nothing with -q): health.check of every selected
 * instance in topology order, health.service of every reported service
 * in dependency order, health.round, and one health.transition (in the
 * text formats a line, see health_event_line). */
void emit_checks(struct health *h);
void emit_services(struct health *h);
void emit_round(struct health *h);
void emit_transition(struct health *h, const char *scope, size_t service,
		     const struct health_inst *in, const char *from, const char *to,
		     const char *reason);

/* formats.c: the other output formats. health_output writes one round
 * in o->format (nothing with -q) and the --prom-file; returns 0 or -1 if
 * the prom file could not be written (reported). */
int health_output(struct health *h);
/* health_write_prom_file: write --prom-file, if given, atomically (mode
 * 0644); 0, or -1 after reporting the error. */
int health_write_prom_file(struct health *h);
/* health_event_line: a watch event as text (format text, or stderr in
 * formats that cannot carry records). */
void health_event_line(struct health *h, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* check_cmd.c: health_rejected_status: the status after bad target
 * lines: 0 and 1 become 3 (nagios: OK becomes UNKNOWN). */
int health_rejected_status(int status, enum health_format f);

/* recover.c: after each judged round of watch --recover: recovery.done
 * for restarted instances that are healthy again, resets after a
 * healthy period, then restarts, dependencies first. */
void recover_round(struct health *h);

/* The commands. */
int cmd_check(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_graph(int argc, char **argv);
int cmd_validate(int argc, char **argv);

#endif
