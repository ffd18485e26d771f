/*
 * run.h: one run of an experiment, as the files of `ofs-chaos run`
 * share it: run.c drives the phases, provider.c and health_probe.c run
 * activities, report.c writes the records, the journal, the verdict and
 * the Markdown report.
 */
#ifndef OFS_CHAOS_RUN_H
#define OFS_CHAOS_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include <cJSON.h>

#include "chaos.h"
#include "journal.h"
#include "jw.h"
#include "topology.h"

/* How the run ended (the verdict's "status"). */
enum run_status {
	RUN_COMPLETED,
	RUN_DEVIATED,
	RUN_GATE_FAILED,
	RUN_ABORTED,
	RUN_INTERRUPTED,
};

/* One hypothesis check's result: held, not held, or not checked. */
enum tri { TRI_UNSET = -1, TRI_NO = 0, TRI_YES = 1 };

struct run {
	struct experiment *exp;
	const char *file;          /* the experiment file as given */
	struct topology *topo;     /* NULL when none was given */
	struct ledger *ledger;
	struct fault_ctx fc;
	char run_id[24];
	bool quiet;                /* only the verdict on stdout */
	bool dry_run;
	bool abort_on_deviation;
	int64_t interval_ns;
	int64_t rto_ns;            /* 0: none */
	enum rollback_strategy rollback_strategy;

	/* what happened */
	cJSON *outputs;            /* activity name -> last output */
	cJSON *records;            /* every record written, for the report */
	struct journal *journal;
	char *journal_path;
	enum run_status status;
	bool deviated;
	const char *why;           /* the reason for the status, static */
	struct strbuf why_detail;  /* more about it: the probe that failed */
	enum tri before, after;
	int during_checks, during_deviations;
	struct strbuf during_why;  /* the first deviation during the method */
	bool abort_now;            /* --abort-on-deviation: stop the method */
	int64_t start_ns, end_ns;  /* wall clock */
	int64_t first_fault_mono;  /* 0 until something was injected */
	double recovery_s;         /* < 0: not measured */
	int faults_injected;
	bool rollbacks_ran;
	int rollbacks_failed;
	int undo_failed;
	int stop_signal;           /* the signal that stopped the run, or 0 */
	int64_t next_during_mono;  /* when the next during check is due; 0: none */
	bool in_during;            /* a during check is running (no nesting) */
	cJSON *live;               /* this run's inject records still live */
};

/* The options of `run` (pick passes its own). */
struct run_opts {
	bool quiet, dry_run, force, abort_on_deviation;
	int64_t interval_ns, rto_ns;
	bool rto_set;
	const char *journal, *report, *report_file, *topology;
	int rollbacks; /* -1: the experiment's */
	const char **vars;
	size_t nvars;
};

/* run_file: load, check and run one experiment file: what `run` does
 * after parsing its options. Returns the exit status. */
int run_file(const char *file, const struct run_opts *o);

/*
 * run_experiment: the phases, from the gate to the undo of the faults
 * (the verdict and report are the caller's). Returns the exit status.
 */
int run_experiment(struct run *run);

/*
 * run_wait: wait ns nanoseconds while serving the run: undo timed faults
 * that are due, check the hypothesis during the method when it is time.
 * Returns 0, or -1 when a stopping signal arrived (the wait is cut).
 */
int run_wait(struct run *run, int64_t ns);
/* run_service: the same servicing without waiting. */
void run_service(struct run *run);

/* provider_run: run the substituted provider prov of activity a into r.
 * 0 when it ran (r->failed says whether it did its job), -1 when a
 * stopping signal cut it short. */
int provider_run(struct run *run, const struct activity *a, const cJSON *prov,
		 struct act_result *r);
/* prov_timeout_ms: a provider's "timeout" (seconds, duration string or a
 * [connect, read] pair), or def_ms. */
int64_t prov_timeout_ms(const cJSON *prov, int64_t def_ms);
/* health_probe_run: check the topology's instances once, judge them,
 * output {"state","services":{NAME:{state,healthy,instances,reason}}}. */
int health_probe_run(const struct topology *topo, const cJSON *prov, struct act_result *r);
/* health_probe_held: the implied tolerance of a health probe without
 * one: the judged state is one of "expect" (default "healthy"). */
int health_probe_held(const cJSON *prov, const cJSON *output, struct strbuf *why);

/* report.c: records go to stdout (unless quiet), the journal and the
 * run's in-memory list. rec is consumed. */
void report_record(struct run *run, cJSON *rec);
/* report_new: a record object of type with ts and run id filled in. */
cJSON *report_new(struct run *run, const char *type);
/* report_verdict: write the chaos.verdict record (always on stdout). */
void report_verdict(struct run *run, const char *report_path);
/* report_markdown: write the Markdown report to path; -1 with err. */
int report_markdown(struct run *run, const char *path, struct strbuf *err);
const char *run_status_name(enum run_status s);

#endif
