/*
 * analysis.h: one metric's analysis run (Argo Rollouts' semantics) as a
 * state machine fed measurement results.
 *
 * A deploy measures something (an error rate, a latency, a health
 * check) every interval and must decide, after each measurement,
 * whether to go on, promote, roll back or stop for a person. The caller
 * takes the measurement and evaluates its conditions; this module turns
 * the sequence of results into a phase and a sentence. Pure
 * computation: no I/O, no clocks, the caller owns the interval.
 *
 * One measurement (an_evaluate), from the success and failure
 * conditions: a condition that could not be evaluated makes an error;
 * both true: failed; neither defined: successful (a value was obtained);
 * only a success condition: successful when true, failed when false;
 * only a failure condition: failed when true, successful when false;
 * both defined and both false: inconclusive.
 *
 * The run (an_feed), with the comparisons written out. Argo's
 * documentation and code disagree by one on the error limit; these are
 * the code's comparisons, all strictly greater than:
 *  - failed:       failed > failureLimit (default 0: the first failure);
 *  - inconclusive: inconclusive > inconclusiveLimit (default 0);
 *  - error:        consecutive errors > consecutiveErrorLimit (default
 *                  4: the fifth error in a row, not the fourth);
 * checked after every measurement in that order, so a run stops at once
 * when a limit is passed. A negative limit means no limit.
 *  - successful:   count measurements taken (count > 0) with no limit
 *                  passed and at least one successful; with none
 *                  successful the run is inconclusive instead (Argo
 *                  calls that successful; a run that never saw a good
 *                  value should not promote on its own).
 * Errors are not measurements: they neither consume count nor appear in
 * "of N"; any other result resets the consecutive-error streak. A
 * measurement with no value follows the no-data policy: fail, pass or
 * inconclusive count it as that result; wait does not count it at all
 * (the run stays running; the caller's deadline bounds the wait).
 * count <= 0 runs until a limit is passed or an_terminate (Argo's
 * background analysis). Once a run has left "running" it never changes.
 */
#ifndef OFS_ANALYSIS_H
#define OFS_ANALYSIS_H

#include <stdbool.h>

#include "strbuf.h"

/* The result of one measurement. */
enum an_result {
	AN_SUCCESSFUL,
	AN_FAILED,
	AN_INCONCLUSIVE,
	AN_ERROR,  /* the measurement could not be taken or evaluated */
	AN_NODATA, /* taken, but no value (no traffic); see the policy */
};
/* an_result_name: "successful", "failed", "inconclusive", "error",
 * "nodata" (static strings). */
const char *an_result_name(enum an_result r);

/* A condition's value on one measurement. */
enum an_cond {
	AN_COND_NONE,  /* not defined */
	AN_COND_FALSE,
	AN_COND_TRUE,
	AN_COND_ERROR, /* defined, but evaluating it failed */
};

/* an_evaluate: one measurement's result from its two conditions (rules
 * above); never AN_NODATA. */
enum an_result an_evaluate(enum an_cond success, enum an_cond failure);

/* What a measurement without a value counts as. */
enum an_nodata {
	AN_NODATA_INCONCLUSIVE, /* the default: pause for a person */
	AN_NODATA_FAIL,
	AN_NODATA_PASS,
	AN_NODATA_WAIT,		/* not counted; measure again */
};
/* an_nodata_name: "inconclusive", "fail", "pass", "wait". */
const char *an_nodata_name(enum an_nodata p);
/* an_nodata_parse: the reverse of an_nodata_name; -1 if unknown. */
int an_nodata_parse(const char *s, enum an_nodata *out);

/* The phase of a run. */
enum an_phase {
	AN_PHASE_RUNNING,
	AN_PHASE_SUCCESSFUL,
	AN_PHASE_FAILED,
	AN_PHASE_INCONCLUSIVE,
	AN_PHASE_ERROR,
};
/* an_phase_name: "running", "successful", "failed", "inconclusive",
 * "error" (static strings). */
const char *an_phase_name(enum an_phase p);

struct an_config {
	int count;		     /* measurements to take; <= 0: until terminated */
	int failure_limit;	     /* < 0: no limit */
	int inconclusive_limit;	     /* < 0: no limit */
	int consecutive_error_limit; /* < 0: no limit */
	enum an_nodata nodata;
};
/* an_config_default: count 1, failureLimit 0, inconclusiveLimit 0,
 * consecutiveErrorLimit 4, no data inconclusive (Argo's defaults). */
void an_config_default(struct an_config *cfg);

/* A run; initialise with an_run_init, free with an_run_release. */
struct an_run {
	struct an_config cfg;
	enum an_phase phase;
	int measured;	   /* successful + failed + inconclusive */
	int successful, failed, inconclusive;
	int errors, consecutive_errors;
	int nodata;	   /* measurements without a value, whatever the policy */
	struct strbuf reason; /* human sentence for the phase, never empty */
};

/* an_run_init: a running run under a copy of cfg. */
void an_run_init(struct an_run *run, const struct an_config *cfg);
/* an_run_release: free the reason; run must be initialised again before reuse. */
void an_run_release(struct an_run *run);

/*
 * an_feed: add one measurement's result and return the phase after it;
 * the reason is rewritten, e.g. "2 of 5 measurements taken",
 * "3 of 4 measurements failed, limit 2",
 * "2 of 3 measurements inconclusive, limit 1",
 * "5 consecutive measurement errors, limit 4",
 * "4 of 5 measurements successful, 1 failed (limit 1)" ("1 of 1
 * measurement", "1 consecutive measurement error"). A run that is
 * no longer running ignores the result (nothing changes). Never fails.
 */
enum an_phase an_feed(struct an_run *run, enum an_result r);

/*
 * an_terminate: end a running run early (promotion ends a background
 * analysis): successful if some measurement was, or if none was taken
 * (Argo: nothing went wrong before the end), otherwise inconclusive.
 * A finished run is left as it is. Returns the phase.
 */
enum an_phase an_terminate(struct an_run *run);

#endif
