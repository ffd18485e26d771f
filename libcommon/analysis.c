/*
 * analysis.c: a metric's analysis run as a state machine (rules and
 * comparisons in analysis.h).
 *
 * The counters are the whole state, so the phase and the reason are
 * recomputed from them after each measurement rather than patched,
 * which keeps the sentence a user reads in step with the numbers a
 * status record carries.
 */
#include "common.h"

#include "analysis.h"

const char *an_result_name(enum an_result r)
{
	switch (r) {
	case AN_SUCCESSFUL:
		return "successful";
	case AN_FAILED:
		return "failed";
	case AN_INCONCLUSIVE:
		return "inconclusive";
	case AN_ERROR:
		return "error";
	case AN_NODATA:
		return "nodata";
	}
	return "unknown";
}

enum an_result an_evaluate(enum an_cond success, enum an_cond failure)
{
	if (success == AN_COND_ERROR || failure == AN_COND_ERROR)
		return AN_ERROR;
	if (success == AN_COND_NONE && failure == AN_COND_NONE)
		return AN_SUCCESSFUL;
	if (failure == AN_COND_TRUE)
		return AN_FAILED;
	if (failure == AN_COND_NONE)
		return success == AN_COND_TRUE ? AN_SUCCESSFUL : AN_FAILED;
	/* failure is false: decided by success when it is defined. */
	if (success == AN_COND_FALSE)
		return AN_INCONCLUSIVE;
	return AN_SUCCESSFUL;
}

static const char *const nodata_names[] = {
	[AN_NODATA_INCONCLUSIVE] = "inconclusive",
	[AN_NODATA_FAIL] = "fail",
	[AN_NODATA_PASS] = "pass",
	[AN_NODATA_WAIT] = "wait",
};

const char *an_nodata_name(enum an_nodata p)
{
	return (unsigned)p < ARRAY_SIZE(nodata_names) ? nodata_names[p] : "unknown";
}

int an_nodata_parse(const char *s, enum an_nodata *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(nodata_names); i++)
		if (!strcmp(s, nodata_names[i])) {
			*out = (enum an_nodata)i;
			return 0;
		}
	return -1;
}

static const char *const phase_names[] = {
	[AN_PHASE_RUNNING] = "running",
	[AN_PHASE_SUCCESSFUL] = "successful",
	[AN_PHASE_FAILED] = "failed",
	[AN_PHASE_INCONCLUSIVE] = "inconclusive",
	[AN_PHASE_ERROR] = "error",
};

const char *an_phase_name(enum an_phase p)
{
	return (unsigned)p < ARRAY_SIZE(phase_names) ? phase_names[p] : "unknown";
}

void an_config_default(struct an_config *cfg)
{
	cfg->count = 1;
	cfg->failure_limit = 0;
	cfg->inconclusive_limit = 0;
	cfg->consecutive_error_limit = 4;
	cfg->nodata = AN_NODATA_INCONCLUSIVE;
}

/* "measurement" or "measurements" to follow n. */
static const char *noun(int n)
{
	return n == 1 ? "measurement" : "measurements";
}

void an_run_init(struct an_run *run, const struct an_config *cfg)
{
	memset(run, 0, sizeof(*run));
	run->cfg = *cfg;
	run->phase = AN_PHASE_RUNNING;
	sb_init(&run->reason, 64);
	if (cfg->count > 0)
		sb_addf(&run->reason, "0 of %d %s taken", cfg->count, noun(cfg->count));
	else
		sb_addstr(&run->reason, "0 measurements taken");
}

void an_run_release(struct an_run *run)
{
	sb_release(&run->reason);
}

static bool over(int n, int limit)
{
	return limit >= 0 && n > limit;
}

static void add_limit(struct strbuf *sb, int limit, bool parens)
{
	if (limit < 0)
		sb_addstr(sb, parens ? " (no limit)" : ", no limit");
	else
		sb_addf(sb, parens ? " (limit %d)" : ", limit %d", limit);
}

/* "S of M measurements successful[, F failed (limit L)][, I inconclusive (limit L)]" */
static void summary(struct an_run *run)
{
	struct strbuf *sb = &run->reason;
	sb_addf(sb, "%d of %d %s successful", run->successful, run->measured,
		noun(run->measured));
	if (run->failed) {
		sb_addf(sb, ", %d failed", run->failed);
		add_limit(sb, run->cfg.failure_limit, true);
	}
	if (run->inconclusive) {
		sb_addf(sb, ", %d inconclusive", run->inconclusive);
		add_limit(sb, run->cfg.inconclusive_limit, true);
	}
}

/* The phase and reason from the counters, for a run still running. */
static void assess(struct an_run *run)
{
	const struct an_config *cfg = &run->cfg;
	struct strbuf *sb = &run->reason;
	sb_reset(sb);
	if (over(run->failed, cfg->failure_limit)) {
		run->phase = AN_PHASE_FAILED;
		sb_addf(sb, "%d of %d %s failed", run->failed, run->measured, noun(run->measured));
		add_limit(sb, cfg->failure_limit, false);
		return;
	}
	if (over(run->inconclusive, cfg->inconclusive_limit)) {
		run->phase = AN_PHASE_INCONCLUSIVE;
		sb_addf(sb, "%d of %d %s inconclusive", run->inconclusive, run->measured,
			noun(run->measured));
		add_limit(sb, cfg->inconclusive_limit, false);
		return;
	}
	if (over(run->consecutive_errors, cfg->consecutive_error_limit)) {
		run->phase = AN_PHASE_ERROR;
		sb_addf(sb, "%d consecutive measurement error%s", run->consecutive_errors,
			run->consecutive_errors == 1 ? "" : "s");
		add_limit(sb, cfg->consecutive_error_limit, false);
		return;
	}
	if (cfg->count > 0 && run->measured >= cfg->count) {
		run->phase = run->successful ? AN_PHASE_SUCCESSFUL : AN_PHASE_INCONCLUSIVE;
		summary(run);
		return;
	}
	if (cfg->count > 0)
		sb_addf(sb, "%d of %d %s taken", run->measured, cfg->count, noun(cfg->count));
	else
		sb_addf(sb, "%d %s taken", run->measured, noun(run->measured));
	if (run->consecutive_errors) {
		sb_addf(sb, ", %d consecutive error%s", run->consecutive_errors,
			run->consecutive_errors == 1 ? "" : "s");
		add_limit(sb, cfg->consecutive_error_limit, true);
	}
	if (run->nodata && cfg->nodata == AN_NODATA_WAIT)
		sb_addf(sb, ", %d without data", run->nodata);
}

enum an_phase an_feed(struct an_run *run, enum an_result r)
{
	if (run->phase != AN_PHASE_RUNNING)
		return run->phase;
	if (r == AN_NODATA) {
		run->nodata++;
		switch (run->cfg.nodata) {
		case AN_NODATA_FAIL:
			r = AN_FAILED;
			break;
		case AN_NODATA_PASS:
			r = AN_SUCCESSFUL;
			break;
		case AN_NODATA_WAIT:
			run->consecutive_errors = 0;
			assess(run);
			return run->phase;
		case AN_NODATA_INCONCLUSIVE:
		default:
			r = AN_INCONCLUSIVE;
			break;
		}
	}
	switch (r) {
	case AN_ERROR:
		run->errors++;
		run->consecutive_errors++;
		break;
	case AN_SUCCESSFUL:
		run->successful++;
		break;
	case AN_FAILED:
		run->failed++;
		break;
	case AN_INCONCLUSIVE:
	default:
		run->inconclusive++;
		break;
	}
	if (r != AN_ERROR) {
		run->consecutive_errors = 0;
		run->measured++;
	}
	assess(run);
	return run->phase;
}

enum an_phase an_terminate(struct an_run *run)
{
	if (run->phase != AN_PHASE_RUNNING)
		return run->phase;
	sb_reset(&run->reason);
	if (!run->measured) {
		run->phase = AN_PHASE_SUCCESSFUL;
		sb_addstr(&run->reason, "terminated before any measurement");
		return run->phase;
	}
	run->phase = run->successful ? AN_PHASE_SUCCESSFUL : AN_PHASE_INCONCLUSIVE;
	summary(run);
	return run->phase;
}
