/*
 * main.c: ofs-scale's command table and option tables.
 *
 * The tables are the one declaration of the command line: parsing,
 * --help, usage messages, completions and the man page SYNOPSIS check
 * all come from them (opt.h).
 */
#include "common.h"

#include "cmds.h"
#include "main.h"
#include "opt.h"

#define POLICY_OPT(help) { 'p', 'p', "policy", "file", help, "@file", 0 }
#define STRICT_OPT \
	{ SOPT_STRICT, 0, "strict", NULL, "stop at the first bad input line", NULL, 0 }

static const struct opt decide_opts[] = {
	POLICY_OPT("a policy file (repeatable: each service takes the first that matches it)"),
	{ SOPT_APPLY, 0, "apply", NULL, "run the policy's hook once for every change", NULL, 0 },
	{ SOPT_DRY_RUN, 0, "dry-run", NULL,
	  "with --apply: print each hook command as a scale.apply record and run none", NULL, 0 },
	{ SOPT_FORECAST, 0, "forecast", "file",
	  "scale.forecast records for the policies' predictive mode", "@file", 0 },
	{ SOPT_NO_STATE, 0, "no-state", NULL,
	  "neither read nor write the state kept between runs (windows, idle times)", NULL, 0 },
	{ SOPT_POLL, 0, "poll", NULL,
	  "read the metrics from the policies' HTTP sources instead of samples", NULL, 0 },
	STRICT_OPT,
	{ SOPT_WATCH, 0, "watch", NULL, "with --poll: decide again every period until killed",
	  NULL, 0 },
	{ 0 },
};

static const struct opt forecast_opts[] = {
	{ SOPT_HOLDOUT, 0, "holdout", "duration",
	  "fit on all but the last duration of the history and report the error on it", NULL, 0 },
	{ SOPT_HORIZON, 0, "horizon", "duration", "how far ahead to forecast (default 1d)", NULL,
	  0 },
	{ SOPT_METHOD, 0, "method", "method", "holt-winters (default) or linear",
	  "holt-winters linear", 0 },
	{ SOPT_METRIC, 0, "metric", "name", "the metric to forecast (default: every metric)",
	  NULL, 0 },
	{ SOPT_SEASON, 0, "season", "season", "daily (default), weekly or none",
	  "daily weekly none", 0 },
	{ SOPT_SERVICE, 0, "service", "pattern",
	  "forecast only the services matching this fnmatch(3) pattern", NULL, 0 },
	{ SOPT_STEP, 0, "step", "duration", "the step of the series and forecast (default 1h)",
	  NULL, 0 },
	STRICT_OPT,
	{ 0 },
};

static const struct opt size_opts[] = {
	POLICY_OPT("the policy whose catalogue, budget and headroom to use"),
	{ SOPT_DEMAND, 0, "demand", "metric=value,...",
	  "the demand to meet (default: the peak of each service in the samples)", NULL, 0 },
	{ SOPT_HEADROOM, 0, "headroom", "percent",
	  "extra capacity above the demand (default: the policy's, else 20%)", NULL, 0 },
	STRICT_OPT,
	{ 0 },
};

static const struct opt plan_opts[] = {
	POLICY_OPT("a policy file (repeatable)"),
	{ SOPT_GROWTH, 0, "growth", "percent", "demand growth per month (default 0%)", NULL, 0 },
	{ SOPT_MONTHS, 0, "months", "n", "how many months to plan (default 12)", NULL, 0 },
	STRICT_OPT,
	{ 0 },
};

static const struct opt simulate_opts[] = {
	POLICY_OPT("the policy to simulate"),
	{ SOPT_DELAY, 0, "delay", "duration",
	  "provisioning delay: from a scale-up until the new replicas are ready (default 30s)",
	  NULL, 0 },
	{ SOPT_DURATION, 0, "duration", "duration",
	  "length of the run: a spike's (default 10m), or where to cut a trace", NULL, 0 },
	{ SOPT_MARK, 0, "mark", "duration",
	  "time to capacity to meet; exit 1 when a spike takes longer (default 2m)", NULL, 0 },
	{ SOPT_METRIC, 0, "metric", "name", "the metric of the trace (default: the policy's first)",
	  NULL, 0 },
	{ SOPT_REPLICAS, 0, "replicas", "n",
	  "replicas at the start (default: 4 for a spike; for a trace, what its first "
	  "demand needs at the target)",
	  NULL, 0 },
	{ SOPT_SPIKE, 0, "spike", "factor",
	  "a synthetic trace: steady demand, then this many times it (3x) one minute in", NULL,
	  0 },
	STRICT_OPT,
	{ 0 },
};

static const struct opt idle_opts[] = {
	POLICY_OPT("a policy file (repeatable)"),
	{ SOPT_FOR, 0, "for", "duration",
	  "how long utilisation must stay under the threshold (default: the policy's, else 1h)",
	  NULL, 0 },
	{ SOPT_THRESHOLD, 0, "threshold", "percent",
	  "utilisation of the target below which a service is idle (default: the policy's, "
	  "else 10%)",
	  NULL, 0 },
	STRICT_OPT,
	{ 0 },
};

static const struct opt validate_opts[] = {
	{ 0 },
};

static const struct opt_cmd cmds[] = {
	{ "decide", cmd_decide, "[file ...]",
	  "one scaling decision per service and period, explained; --apply makes it", decide_opts },
	{ "forecast", cmd_forecast, "[file ...]",
	  "predict demand with Holt-Winters or a linear trend", forecast_opts },
	{ "size", cmd_size, "[file ...]",
	  "the cheapest mix of instance types that meets the demand", size_opts },
	{ "plan", cmd_plan, "[file ...]",
	  "when each service reaches its maximum or the budget, and the cost per month",
	  plan_opts },
	{ "simulate", cmd_simulate, "[file]",
	  "run a demand trace or a spike through a policy, offline", simulate_opts },
	{ "idle", cmd_idle, "[file ...]",
	  "services whose utilisation stayed under a threshold", idle_opts },
	{ "validate", cmd_validate, "policy ...", "check policy files and change nothing",
	  validate_opts },
	{ 0 },
};

static const struct opt_tool tool = {
	"ofs-scale",
	"HPA-compatible scaling decisions, forecasts, cost-aware sizing and simulation",
	NULL,
	cmds,
	NULL,
};

int cmd_main(int argc, char **argv)
{
	return opt_dispatch(&tool, argc, argv);
}
