/*
 * test_analysis.c: unit tests for analysis.c, every expectation
 * computed by hand from the rules in analysis.h: the sixteen
 * success/failure condition combinations, then runs written as a
 * string of results (S successful, F failed, I inconclusive, E error,
 * N no data) with the phase after each one (r running, s successful,
 * f failed, i inconclusive, e error), the exact reason at the end and
 * the counters; the limits' off-by-one boundaries are explicit cases.
 */
#include "common.h"

#include "analysis.h"
#include "strbuf.h"
#include "tap.h"

static const struct {
	enum an_cond success, failure;
	enum an_result want;
} eval_cases[] = {
	{ AN_COND_NONE, AN_COND_NONE, AN_SUCCESSFUL },	/* neither defined */
	{ AN_COND_NONE, AN_COND_FALSE, AN_SUCCESSFUL },
	{ AN_COND_NONE, AN_COND_TRUE, AN_FAILED },
	{ AN_COND_NONE, AN_COND_ERROR, AN_ERROR },
	{ AN_COND_FALSE, AN_COND_NONE, AN_FAILED },
	{ AN_COND_FALSE, AN_COND_FALSE, AN_INCONCLUSIVE }, /* neither true */
	{ AN_COND_FALSE, AN_COND_TRUE, AN_FAILED },
	{ AN_COND_FALSE, AN_COND_ERROR, AN_ERROR },
	{ AN_COND_TRUE, AN_COND_NONE, AN_SUCCESSFUL },
	{ AN_COND_TRUE, AN_COND_FALSE, AN_SUCCESSFUL },
	{ AN_COND_TRUE, AN_COND_TRUE, AN_FAILED },	/* both true */
	{ AN_COND_TRUE, AN_COND_ERROR, AN_ERROR },
	{ AN_COND_ERROR, AN_COND_NONE, AN_ERROR },
	{ AN_COND_ERROR, AN_COND_FALSE, AN_ERROR },
	{ AN_COND_ERROR, AN_COND_TRUE, AN_ERROR },
	{ AN_COND_ERROR, AN_COND_ERROR, AN_ERROR },
};

static const char *cond_name(enum an_cond c)
{
	static const char *const names[] = { "none", "false", "true", "error" };
	return names[c];
}

static void test_evaluate(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(eval_cases); i++) {
		char name[64];
		snprintf(name, sizeof(name), "success %s, failure %s",
			 cond_name(eval_cases[i].success), cond_name(eval_cases[i].failure));
		is_str(an_result_name(an_evaluate(eval_cases[i].success, eval_cases[i].failure)),
		       an_result_name(eval_cases[i].want), name);
	}
}

/* count, failureLimit, inconclusiveLimit, consecutiveErrorLimit, no data */
#define CFG(c, f, i, e, n) { (c), (f), (i), (e), AN_NODATA_##n }
#define DEF CFG(1, 0, 0, 4, INCONCLUSIVE)

static const struct {
	const char *name;
	struct an_config cfg;
	const char *results, *phases, *reason;
	int measured, successful, failed, inconclusive, errors, nodata;
} run_cases[] = {
	{ "defaults: one success", DEF, "S", "s", "1 of 1 measurement successful", 1, 1, 0, 0, 0, 0 },
	{ "defaults: the first failure fails (1 > 0)", DEF, "F", "f",
	  "1 of 1 measurement failed, limit 0", 1, 0, 1, 0, 0, 0 },
	{ "failureLimit 2: the third failure fails", CFG(5, 2, 0, 4, INCONCLUSIVE), "FSFSF", "rrrrf",
	  "3 of 5 measurements failed, limit 2", 5, 2, 3, 0, 0, 0 },
	{ "failureLimit 2: two failures still succeed", CFG(5, 2, 0, 4, INCONCLUSIVE), "FSFSS",
	  "rrrrs", "3 of 5 measurements successful, 2 failed (limit 2)", 5, 3, 2, 0, 0, 0 },
	{ "failure stops the run early; later results are ignored", CFG(5, 1, 0, 4, INCONCLUSIVE),
	  "FFSSS", "rffff", "2 of 2 measurements failed, limit 1", 2, 0, 2, 0, 0, 0 },
	{ "inconclusiveLimit 1: the second pauses", CFG(3, 0, 1, 4, INCONCLUSIVE), "III", "rii",
	  "2 of 2 measurements inconclusive, limit 1", 2, 0, 0, 2, 0, 0 },
	{ "inconclusiveLimit 1: one is tolerated", CFG(3, 0, 1, 4, INCONCLUSIVE), "SIS", "rrs",
	  "2 of 3 measurements successful, 1 inconclusive (limit 1)", 3, 2, 0, 1, 0, 0 },
	{ "within limits but nothing successful: inconclusive", CFG(3, 0, 5, 4, INCONCLUSIVE), "III",
	  "rri", "0 of 3 measurements successful, 3 inconclusive (limit 5)", 3, 0, 0, 3, 0, 0 },
	{ "four errors in a row are within limit 4", CFG(3, 0, 0, 4, INCONCLUSIVE), "EEEE", "rrrr",
	  "0 of 3 measurements taken, 4 consecutive errors (limit 4)", 0, 0, 0, 0, 4, 0 },
	{ "the fifth error in a row is an error (5 > 4)", CFG(3, 0, 0, 4, INCONCLUSIVE), "EEEEE",
	  "rrrre", "5 consecutive measurement errors, limit 4", 0, 0, 0, 0, 5, 0 },
	{ "a success resets the error streak; errors do not use up count",
	  CFG(3, 0, 0, 4, INCONCLUSIVE), "EEEESEEEESS", "rrrrrrrrrrs",
	  "3 of 3 measurements successful", 3, 3, 0, 0, 8, 0 },
	{ "consecutiveErrorLimit 0: the first error", CFG(3, 0, 0, 0, INCONCLUSIVE), "E", "e",
	  "1 consecutive measurement error, limit 0", 0, 0, 0, 0, 1, 0 },
	{ "no data, inconclusive (the default)", CFG(3, 0, 0, 4, INCONCLUSIVE), "N", "i",
	  "1 of 1 measurement inconclusive, limit 0", 1, 0, 0, 1, 0, 1 },
	{ "no data, fail", CFG(3, 0, 0, 4, FAIL), "SN", "rf", "1 of 2 measurements failed, limit 0",
	  2, 1, 1, 0, 0, 1 },
	{ "no data, pass", CFG(2, 0, 0, 4, PASS), "NN", "rs", "2 of 2 measurements successful", 2, 2,
	  0, 0, 0, 2 },
	{ "no data, wait: not counted", CFG(2, 0, 0, 4, WAIT), "NNS", "rrr",
	  "1 of 2 measurements taken, 2 without data", 1, 1, 0, 0, 0, 2 },
	{ "no data, wait: then enough data", CFG(2, 0, 0, 4, WAIT), "NNSNS", "rrrrs",
	  "2 of 2 measurements successful", 2, 2, 0, 0, 0, 3 },
	{ "no data, wait: an answer resets the error streak", CFG(2, 0, 0, 1, WAIT), "ENE", "rrr",
	  "0 of 2 measurements taken, 1 consecutive error (limit 1), 1 without data", 0, 0, 0, 0, 2,
	  1 },
	{ "two errors in a row pass limit 1", CFG(2, 0, 0, 1, WAIT), "EE", "re",
	  "2 consecutive measurement errors, limit 1", 0, 0, 0, 0, 2, 0 },
	{ "count 0 runs on", CFG(0, 1, 0, 4, INCONCLUSIVE), "SSSSSSF", "rrrrrrr",
	  "7 measurements taken", 7, 6, 1, 0, 0, 0 },
	{ "count 0 stops on the limit", CFG(0, 1, 0, 4, INCONCLUSIVE), "SSSSSSFF", "rrrrrrrf",
	  "2 of 8 measurements failed, limit 1", 8, 6, 2, 0, 0, 0 },
	{ "no failure limit, nothing successful", CFG(3, -1, 0, 4, INCONCLUSIVE), "FFF", "rri",
	  "0 of 3 measurements successful, 3 failed (no limit)", 3, 0, 3, 0, 0, 0 },
	{ "no failure limit, one successful", CFG(3, -1, 0, 4, INCONCLUSIVE), "FSF", "rrs",
	  "1 of 3 measurements successful, 2 failed (no limit)", 3, 1, 2, 0, 0, 0 },
	{ "no error limit", CFG(1, 0, 0, -1, INCONCLUSIVE), "EEEEEEEEEE", "rrrrrrrrrr",
	  "0 of 1 measurement taken, 10 consecutive errors (no limit)", 0, 0, 0, 0, 10, 0 },
	{ "no inconclusive limit", CFG(2, 0, -1, 4, INCONCLUSIVE), "IS", "rs",
	  "1 of 2 measurements successful, 1 inconclusive (no limit)", 2, 1, 0, 1, 0, 0 },
	{ "failed and inconclusive within limits", CFG(4, 1, 1, 4, INCONCLUSIVE), "FISS", "rrrs",
	  "2 of 4 measurements successful, 1 failed (limit 1), 1 inconclusive (limit 1)", 4, 2, 1,
	  1, 0, 0 },
	{ "failure is checked before inconclusive", CFG(4, 0, 0, 4, INCONCLUSIVE), "F", "f",
	  "1 of 1 measurement failed, limit 0", 1, 0, 1, 0, 0, 0 },
	{ "nothing yet", CFG(5, 0, 0, 4, INCONCLUSIVE), "", "", "0 of 5 measurements taken", 0, 0, 0,
	  0, 0, 0 },
};

static enum an_result letter_result(char c)
{
	switch (c) {
	case 'S':
		return AN_SUCCESSFUL;
	case 'F':
		return AN_FAILED;
	case 'I':
		return AN_INCONCLUSIVE;
	case 'E':
		return AN_ERROR;
	default:
		return AN_NODATA;
	}
}

static char phase_letter(enum an_phase p)
{
	return "rsfie"[p];
}

static void test_runs(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(run_cases); i++) {
		const __typeof__(run_cases[0]) *c = &run_cases[i];
		struct an_run run;
		an_run_init(&run, &c->cfg);
		char phases[32] = "";
		size_t n = strlen(c->results);
		for (size_t k = 0; k < n && k + 1 < sizeof(phases); k++) {
			enum an_phase p = an_feed(&run, letter_result(c->results[k]));
			phases[k] = phase_letter(p);
			if (p != run.phase)
				phases[k] = '?';
		}
		is_str(phases, c->phases, c->name);
		is_str(run.reason.buf, c->reason, c->name);
		ok(run.measured == c->measured && run.successful == c->successful &&
			   run.failed == c->failed && run.inconclusive == c->inconclusive &&
			   run.errors == c->errors && run.nodata == c->nodata,
		   "%s: counters %d %d/%d/%d, %d errors, %d no data (got %d %d/%d/%d, %d, %d)",
		   c->name, c->measured, c->successful, c->failed, c->inconclusive, c->errors,
		   c->nodata, run.measured, run.successful, run.failed, run.inconclusive,
		   run.errors, run.nodata);
		an_run_release(&run);
	}
}

static const struct {
	const char *name;
	struct an_config cfg;
	const char *results;
	const char *phase, *reason;
} terminate_cases[] = {
	{ "background run with successes", CFG(0, 0, 0, 4, INCONCLUSIVE), "SS", "successful",
	  "2 of 2 measurements successful" },
	{ "background run never measured", CFG(0, 0, 0, 4, INCONCLUSIVE), "", "successful",
	  "terminated before any measurement" },
	{ "only errors so far count as never measured", CFG(0, 0, 0, 4, INCONCLUSIVE), "EE",
	  "successful", "terminated before any measurement" },
	{ "only inconclusive so far", CFG(0, 0, 3, 4, INCONCLUSIVE), "I", "inconclusive",
	  "0 of 1 measurement successful, 1 inconclusive (limit 3)" },
	{ "a failed run stays failed", DEF, "F", "failed", "1 of 1 measurement failed, limit 0" },
	{ "a bounded run ended early", CFG(5, 0, 0, 4, INCONCLUSIVE), "SS", "successful",
	  "2 of 2 measurements successful" },
};

static void test_terminate(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(terminate_cases); i++) {
		const __typeof__(terminate_cases[0]) *c = &terminate_cases[i];
		struct an_run run;
		an_run_init(&run, &c->cfg);
		for (const char *r = c->results; *r; r++)
			an_feed(&run, letter_result(*r));
		enum an_phase p = an_terminate(&run);
		is_str(an_phase_name(p), c->phase, c->name);
		is_str(run.reason.buf, c->reason, c->name);
		is_str(an_phase_name(an_feed(&run, AN_FAILED)), c->phase,
		       "  a terminated run ignores later results");
		an_run_release(&run);
	}
}

static void test_names(void)
{
	struct an_config cfg;
	an_config_default(&cfg);
	ok(cfg.count == 1 && cfg.failure_limit == 0 && cfg.inconclusive_limit == 0 &&
		   cfg.consecutive_error_limit == 4 && cfg.nodata == AN_NODATA_INCONCLUSIVE,
	   "defaults: count 1, limits 0 and 0, 4 consecutive errors, no data inconclusive");
	struct an_run run;
	an_run_init(&run, &cfg);
	is_str(run.reason.buf, "0 of 1 measurement taken", "a new run says so");
	ok(run.phase == AN_PHASE_RUNNING, "a new run is running");
	an_run_release(&run);

	static const char *const phases[] = { "running", "successful", "failed", "inconclusive",
					      "error" };
	for (int p = 0; p < 5; p++)
		is_str(an_phase_name((enum an_phase)p), phases[p], "phase name");
	is_str(an_phase_name((enum an_phase)9), "unknown", "unknown phase name");
	static const char *const results[] = { "successful", "failed", "inconclusive", "error",
					       "nodata" };
	for (int r = 0; r < 5; r++)
		is_str(an_result_name((enum an_result)r), results[r], "result name");
	static const char *const policies[] = { "inconclusive", "fail", "pass", "wait" };
	for (int k = 0; k < 4; k++) {
		enum an_nodata got = AN_NODATA_WAIT;
		is_str(an_nodata_name((enum an_nodata)k), policies[k], "no-data policy name");
		ok(an_nodata_parse(policies[k], &got) == 0 && (int)got == k,
		   "no-data policy '%s' parses", policies[k]);
	}
	enum an_nodata got = AN_NODATA_PASS;
	ok(an_nodata_parse("skip", &got) == -1 && got == AN_NODATA_PASS,
	   "an unknown no-data policy is refused, output untouched");
}

int main(void)
{
	test_evaluate();
	test_runs();
	test_terminate();
	test_names();
	return tap_done();
}
