/*
 * measure.c: ofs-deploy's analysis runs: every metric of an analysis
 * measured on its own schedule, each result judged by the metric's
 * conditions and fed to its Argo-style run (analysis.h), until every
 * metric has ended; then one phase and one sentence for the strategy to
 * act on (go on, roll back, or stop for a person).
 *
 * Schedule: a metric's first measurement is due initialDelay after the
 * run starts, then one every interval. A haproxy rate (errorRate,
 * requestRate) is a difference from the look before, and its baseline
 * is taken when the run starts, so its first measurement is due at
 * max(initialDelay, interval): the first value covers a whole interval
 * instead of the instant after the baseline. A late measurement does
 * not make the ones after it bunch up: the next is due an interval after
 * the due time, or an interval from now if that has passed. Metrics are
 * measured one after another in one thread, so a slow one (an http
 * timeout) delays the others by that much.
 *
 * Ends: a metric ends when its run leaves "running" (a limit passed, its
 * count taken). When one ends other than successful, the analysis is
 * decided (failed > error > inconclusive > successful), and the metrics
 * still running end at once through an_terminate, as Argo terminates
 * the run; a metric whose count is <= 0 therefore measures once per
 * interval until a limit is passed, another metric decides, or a promote
 * arrives. Between measurements the loop waits in dp_sleep (or asks
 * dp_control when a measurement is already due): an abort ends every
 * running metric failed ("aborted by a person"); a promote ends them
 * with an_terminate; a signal abandons the run (no final records: it
 * did not finish) and returns AN_PHASE_ERROR with "interrupted".
 *
 * Records, all "deploy.analysis": one per measurement (analysis, metric,
 * value unless there was none, result, phase after it, the run's
 * measured/failed/inconclusive/errors counts, error on an error) and
 * one per metric when it ends ("final": true, phase, the counts and
 * reason).
 */
#include "common.h"

#include "analysis.h"
#include "deploy.h"
#include "jw.h"
#include "measure.h"
#include "strbuf.h"
#include "timefmt.h"

/* An interval below this is taken as this, so a zero never spins. */
#define MIN_INTERVAL_NS (100 * 1000000LL)

/* How a metric left "running", besides its own measurements. */
enum end_kind { END_NONE, END_SELF, END_ABORT, END_PROMOTE, END_SIBLING };

struct mrun {
	const struct dp_metric *m;
	struct dp_prov *prov;
	struct an_run run;
	int64_t due_ns;
	enum end_kind end;
	int end_order;        /* 1, 2, ... in the order metrics ended */
	struct strbuf detail; /* the last measurement: "value 0.5, failureCondition ..." */
	struct strbuf reason; /* the final reason */
};

static int64_t interval_of(const struct dp_metric *m)
{
	return m->interval_ns > MIN_INTERVAL_NS ? m->interval_ns : MIN_INTERVAL_NS;
}

static int64_t first_due(const struct dp_metric *m, int64_t start_ns)
{
	int64_t delay = m->initial_delay_ns > 0 ? m->initial_delay_ns : 0;
	if (dp_prov_is_delta(m) && delay < interval_of(m))
		delay = interval_of(m);
	return start_ns + delay;
}

/* ---- records ---------------------------------------------------------- */

static void counts(struct jw *w, const struct an_run *run)
{
	jw_kv_int(w, "measured", run->measured);
	jw_kv_int(w, "failed", run->failed);
	jw_kv_int(w, "inconclusive", run->inconclusive);
	jw_kv_int(w, "errors", run->errors);
}

/* One measurement's record; value is used when got == 1, error when -1. */
static void emit_measurement(struct dp_deploy *d, const struct dp_analysis *a,
			     const struct mrun *mr, int got, double value, enum an_result r,
			     const char *error)
{
	struct strbuf sb = SB_INIT;
	struct jw w;
	jw_init(&w, &sb);
	dp_rec_begin(d, &w, "deploy.analysis");
	jw_kv_str(&w, "analysis", a->name);
	jw_kv_str(&w, "metric", mr->m->name);
	if (got == 1)
		jw_kv_double(&w, "value", value);
	jw_kv_str(&w, "result", an_result_name(r));
	jw_kv_str(&w, "phase", an_phase_name(mr->run.phase));
	counts(&w, &mr->run);
	if (got < 0)
		jw_kv_str(&w, "error", error);
	dp_emit(d, &w);
	sb_release(&sb);
}

static void emit_final(struct dp_deploy *d, const struct dp_analysis *a, const struct mrun *mr)
{
	struct strbuf sb = SB_INIT;
	struct jw w;
	jw_init(&w, &sb);
	dp_rec_begin(d, &w, "deploy.analysis");
	jw_kv_str(&w, "analysis", a->name);
	jw_kv_str(&w, "metric", mr->m->name);
	jw_kv_bool(&w, "final", true);
	jw_kv_str(&w, "phase", an_phase_name(mr->run.phase));
	counts(&w, &mr->run);
	jw_kv_str(&w, "reason", mr->reason.buf);
	dp_emit(d, &w);
	sb_release(&sb);
}

/* ---- one measurement ---------------------------------------------------- */

/* The detail of a judged value: which condition decided, as written. */
static void value_detail(struct strbuf *sb, const struct dp_metric *m, double v,
			 enum an_cond succ, enum an_cond fail, enum an_result r)
{
	char num[32];
	num[jw_format_double(v, num)] = '\0';
	sb_addf(sb, "value %s", num);
	if (r == AN_FAILED && fail == AN_COND_TRUE)
		sb_addf(sb, ", failureCondition %s", m->failure.text);
	else if (r == AN_FAILED && succ == AN_COND_FALSE)
		sb_addf(sb, ", successCondition %s not met", m->success.text);
	else if (r == AN_INCONCLUSIVE)
		sb_addf(sb, ", neither successCondition %s nor failureCondition %s",
			m->success.text, m->failure.text);
	else if (r == AN_ERROR)
		sb_addstr(sb, ", a condition could not be evaluated");
}

/* Measure mr once, feed its run, write the record; end it if it left running. */
static void measure_one(struct dp_deploy *d, const struct dp_analysis *a, struct mrun *mr,
			int *nended)
{
	struct strbuf err = SB_INIT;
	double v = 0;
	int got = dp_prov_measure(mr->prov, &v, &err);
	enum an_result r;

	sb_reset(&mr->detail);
	if (got == 1) {
		enum an_cond succ = dp_cond_eval(&mr->m->success, v);
		enum an_cond fail = dp_cond_eval(&mr->m->failure, v);
		r = an_evaluate(succ, fail);
		value_detail(&mr->detail, mr->m, v, succ, fail, r);
	} else if (got == 0) {
		r = AN_NODATA;
		sb_addstr(&mr->detail, "no data");
	} else {
		r = AN_ERROR;
		sb_addf(&mr->detail, "error: %s", err.buf);
	}
	an_feed(&mr->run, r);
	emit_measurement(d, a, mr, got, v, r, err.buf);
	sb_release(&err);
	if (mr->run.phase != AN_PHASE_RUNNING) {
		mr->end = END_SELF;
		mr->end_order = ++*nended;
		sb_addstr(&mr->reason, mr->run.reason.buf);
		emit_final(d, a, mr);
	}
}

/* ---- ending metrics from outside ---------------------------------------- */

/* end_running: end every running metric by kind (abort, promote, or a
 * sibling's decision, named by decider) and write its final record. */
static void end_running(struct dp_deploy *d, const struct dp_analysis *a, struct mrun *mr,
			size_t n, enum end_kind kind, const struct mrun *decider, int *nended)
{
	for (size_t i = 0; i < n; i++) {
		struct mrun *x = &mr[i];
		if (x->run.phase != AN_PHASE_RUNNING)
			continue;
		if (kind == END_ABORT) {
			/* analysis.h has no abort: a person's verdict is a failure */
			x->run.phase = AN_PHASE_FAILED;
			sb_addstr(&x->reason, "aborted by a person");
		} else {
			an_terminate(&x->run);
			if (kind == END_PROMOTE)
				sb_addstr(&x->reason, "ended by a promote: ");
			else
				sb_addf(&x->reason, "ended early: metric '%s' %s: ", decider->m->name,
					an_phase_name(decider->run.phase));
			sb_addstr(&x->reason, x->run.reason.buf);
		}
		x->end = kind;
		x->end_order = ++*nended;
		emit_final(d, a, x);
	}
}

/* ---- the verdict ---------------------------------------------------------- */

static int badness(enum an_phase p)
{
	switch (p) {
	case AN_PHASE_FAILED:
		return 4;
	case AN_PHASE_ERROR:
		return 3;
	case AN_PHASE_INCONCLUSIVE:
		return 2;
	case AN_PHASE_SUCCESSFUL:
		return 1;
	case AN_PHASE_RUNNING:
		break;
	}
	return 0;
}

/* "metric 'NAME': REASON (DETAIL)" */
static void metric_reason(struct strbuf *sb, const struct mrun *mr)
{
	sb_addf(sb, "metric '%s': %s", mr->m->name, mr->reason.buf);
	if (mr->detail.len)
		sb_addf(sb, " (%s)", mr->detail.buf);
}

/*
 * verdict: the combined phase, and in reason the sentence of the metric
 * that decided it: the first to end in that phase (one that ended by its
 * own measurements before one ended from outside). A successful
 * analysis names every metric, joined by "; ".
 */
static enum an_phase verdict(const struct mrun *mr, size_t n, bool aborted, struct strbuf *reason)
{
	enum an_phase phase = AN_PHASE_SUCCESSFUL;
	const struct mrun *best = NULL;

	for (size_t i = 0; i < n; i++)
		if (badness(mr[i].run.phase) > badness(phase))
			phase = mr[i].run.phase;
	if (aborted) {
		sb_addstr(reason, "aborted by a person");
		return phase;
	}
	if (phase == AN_PHASE_SUCCESSFUL) {
		for (size_t i = 0; i < n; i++) {
			if (i)
				sb_addstr(reason, "; ");
			metric_reason(reason, &mr[i]);
		}
		return phase;
	}
	for (size_t i = 0; i < n; i++) {
		const struct mrun *x = &mr[i];
		if (x->run.phase != phase)
			continue;
		if (!best || (x->end == END_SELF && best->end != END_SELF) ||
		    ((x->end == END_SELF) == (best->end == END_SELF) &&
		     x->end_order < best->end_order))
			best = x;
	}
	metric_reason(reason, best);
	return phase;
}

/* ---- the loop ------------------------------------------------------------- */

/* The earliest due time of a running metric, or -1 when none runs. */
static int64_t next_due(const struct mrun *mr, size_t n)
{
	int64_t due = -1;
	for (size_t i = 0; i < n; i++)
		if (mr[i].run.phase == AN_PHASE_RUNNING && (due < 0 || mr[i].due_ns < due))
			due = mr[i].due_ns;
	return due;
}

/* What cut the wait short before the next measurement, or DP_WAKE_TIMEOUT. */
static enum dp_wake wait_for(struct dp_deploy *d, int64_t due_ns)
{
	int64_t left = due_ns - mono_ns();
	if (dp_interrupted())
		return DP_WAKE_SIGNAL;
	return left > 0 ? dp_sleep(d, left) : dp_control(d);
}

/*
 * measure_due: measure every running metric that is due, in order. If
 * one ends other than successful, end the others (Argo terminates the
 * run). Returns false when a signal arrived meanwhile.
 */
static bool measure_due(struct dp_deploy *d, const struct dp_analysis *a, struct mrun *mr,
			size_t n, int *nended)
{
	for (size_t i = 0; i < n; i++) {
		struct mrun *x = &mr[i];
		if (x->run.phase != AN_PHASE_RUNNING || x->due_ns > mono_ns())
			continue;
		measure_one(d, a, x, nended);
		if (dp_interrupted())
			return false;
		int64_t now = mono_ns();
		x->due_ns += interval_of(x->m);
		if (x->due_ns <= now)
			x->due_ns = now + interval_of(x->m);
		if (x->run.phase != AN_PHASE_RUNNING && x->run.phase != AN_PHASE_SUCCESSFUL) {
			end_running(d, a, mr, n, END_SIBLING, x, nended);
			break;
		}
	}
	return true;
}

enum an_phase dp_analysis_run(struct dp_deploy *d, const struct dp_analysis *a,
			      struct strbuf *reason)
{
	size_t n = a->nmetric;
	struct mrun *mr = xcalloc(n ? n : 1, sizeof(*mr));
	int64_t start = mono_ns();
	int nended = 0;
	bool aborted = false, interrupted = false;
	enum an_phase phase;

	sb_reset(reason);
	for (size_t i = 0; i < n; i++) {
		mr[i].m = &a->metric[i];
		an_run_init(&mr[i].run, &a->metric[i].an);
		sb_init(&mr[i].detail, 0);
		sb_init(&mr[i].reason, 0);
		mr[i].prov = dp_prov_new(d, &a->metric[i]);
		mr[i].due_ns = first_due(&a->metric[i], start);
	}
	while (!interrupted && next_due(mr, n) >= 0) {
		enum dp_wake wake = wait_for(d, next_due(mr, n));
		if (wake == DP_WAKE_SIGNAL) {
			interrupted = true;
		} else if (wake == DP_WAKE_ABORT) {
			aborted = true;
			end_running(d, a, mr, n, END_ABORT, NULL, &nended);
		} else if (wake == DP_WAKE_PROMOTE) {
			end_running(d, a, mr, n, END_PROMOTE, NULL, &nended);
		} else if (!measure_due(d, a, mr, n, &nended)) {
			interrupted = true;
		}
	}
	if (interrupted) {
		phase = AN_PHASE_ERROR;
		sb_addstr(reason, "interrupted");
	} else if (!n) {
		phase = AN_PHASE_SUCCESSFUL;
		sb_addf(reason, "analysis '%s' has no metrics", a->name);
	} else {
		phase = verdict(mr, n, aborted, reason);
	}
	for (size_t i = 0; i < n; i++) {
		dp_prov_free(mr[i].prov);
		an_run_release(&mr[i].run);
		sb_release(&mr[i].detail);
		sb_release(&mr[i].reason);
	}
	free(mr);
	return phase;
}
